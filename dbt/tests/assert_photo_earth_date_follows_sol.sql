{{ config(meta={'dagster': {'ref': {'name': 'sol_activity'}}}) }}
-- Domain rule of the Photos API v1: a photo's earth_date is computed from its sol,
-- earth_date = landing_date + floor(sol × 88775.244 / 86400) days. Checked on every
-- silver photo and on every sol of sol_activity. Rows returned = failures.
select p.rover, p.sol, p.photo_id, p.earth_date, r.landing_date
from {{ source('silver', 'photos') }} p
join {{ source('silver', 'rovers') }} r using (rover)
where p.earth_date <> {{ earth_date_of_sol('r.landing_date', 'p.sol') }}
union all
select s.rover, s.sol, null, s.earth_date, r.landing_date
from {{ ref('sol_activity') }} s
join {{ source('silver', 'rovers') }} r using (rover)
where s.earth_date <> {{ earth_date_of_sol('r.landing_date', 's.sol') }}
