{{ config(location=gold_location(this.name)) }}
-- One row per rover x sol with photos or waypoints: photos, cameras, distance driven.
with photos as (
    select rover, sol, min(earth_date) as earth_date, count(*) as photos,
           list(distinct camera order by camera) as cameras
    from {{ source('silver', 'photos') }}
    group by rover, sol
),
waypoint_drives as (
    -- MMGIS dist_m is the length of each drive in metres; dist_total_m the odometry since landing
    select rover, sol, sum(coalesce(dist_m, 0)) as distance_m, max(dist_total_m) as odometry_m
    from {{ source('silver', 'waypoints') }}
    group by rover, sol
),
traverse_drives as (
    -- MMGIS traverse legs (several per sol), length in metres
    select rover, sol, sum(length_m) as traverse_m
    from {{ source('silver', 'traverse') }}
    group by rover, sol
),
drives as (
    -- the traverse legs where the rover has a traverse layer, else the waypoints' dist_m
    select rover, sol,
           coalesce(t.traverse_m, w.distance_m, 0) as distance_m,
           case when t.traverse_m is not null then 'traverse' else 'waypoints' end as distance_source,
           w.odometry_m
    from waypoint_drives w
    full outer join traverse_drives t using (rover, sol)
),
sols as (
    select rover, sol from photos union select rover, sol from drives
),
joined as (
    select s.rover, s.sol,
           coalesce(p.earth_date, {{ earth_date_of_sol('r.landing_date', 's.sol') }}) as earth_date,
           coalesce(p.photos, 0) as photos,
           coalesce(p.cameras, []) as cameras,
           coalesce(d.distance_m, 0) as distance_m,
           d.distance_source,
           d.odometry_m
    from sols s
    join {{ source('silver', 'rovers') }} r using (rover)
    left join photos p using (rover, sol)
    left join drives d using (rover, sol)
)
select
    rover, sol, earth_date, photos, cameras,
    round(distance_m, 3) as distance_m,
    round(sum(distance_m) over (partition by rover order by sol rows unbounded preceding), 3) as cumulative_distance_m,
    odometry_m,
    distance_source,
    case when distance_m = 0 then 'Stationary'
         when distance_m < 5 then 'Minimal'
         when distance_m < 20 then 'Short'
         else 'Long travel' end as day_type
from joined
order by rover, sol
