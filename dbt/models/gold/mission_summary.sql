{{ config(location=gold_location(this.name)) }}
-- One row per rover: mission dates, the sols with photos in the warehouse, photo totals.
with photos as (
    select rover,
           count(*) as photos,
           count(distinct sol) as active_sols,
           min(sol) as first_sol_with_photos,
           max(sol) as last_sol_with_photos,
           list(distinct camera order by camera) as cameras_used
    from {{ source('silver', 'photos') }}
    where {{ is_full_frame() }}  -- full frames only, as the v1 API's totals
    group by rover
)
select
    r.rover,
    r.rover_name,
    r.status,
    r.launch_date,
    r.landing_date,
    p.first_sol_with_photos,
    p.last_sol_with_photos,
    -- span of sols with photos, inclusive
    p.last_sol_with_photos - p.first_sol_with_photos + 1 as mission_span_sols,
    -- the same span in Earth days (1 sol = {{ var('seconds_per_sol') }} s)
    round((p.last_sol_with_photos - p.first_sol_with_photos + 1) * {{ var('seconds_per_sol') }} / 86400, 1)
        as mission_span_earth_days,
    -- mission length to the source's last sol: sols since landing, and Earth days since landing
    r.max_sol + 1 as mission_length_sols,
    date_diff('day', r.landing_date, r.max_date) as mission_length_earth_days,
    r.max_sol as source_max_sol,
    r.max_date as source_max_date,
    r.total_photos as source_total_photos,
    coalesce(p.photos, 0) as photos,
    coalesce(p.active_sols, 0) as active_sols,
    coalesce(p.cameras_used, []) as cameras_used,
    coalesce(len(p.cameras_used), 0) as cameras_used_count
from {{ source('silver', 'rovers') }} r
left join photos p using (rover)
order by r.rover
