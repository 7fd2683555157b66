{{ config(location=gold_location(this.name)) }}
-- One row per rover x sol with photos or waypoints: photos, cameras, distance driven.
with photos as (
    -- full frames only (macro is_full_frame), as the v1 API and its manifests count photos
    select rover, sol, min(earth_date) as earth_date, count(*) as photos,
           list(distinct camera order by camera) as cameras
    from {{ source('silver', 'photos') }}
    where {{ is_full_frame() }}
    group by rover, sol
),
waypoint_drives as (
    -- MMGIS dist_m: metres driven up to each localization (a mid-drive one, mid_drive, holds 0 or
    -- the part of the drive up to it, so summing every row counts each metre once); dist_total_m:
    -- odometry since landing
    select rover, sol, sum(coalesce(dist_m, 0)) as distance_m, max(dist_total_m) as odometry_m
    from {{ source('silver', 'waypoints') }}
    group by rover, sol
),
legs as (
    -- MMGIS traverse legs that count (reason null: a sol known, not a duplicate); distance_m is a
    -- leg's new metres (a leg to a mid-drive localization is not counted again by the next)
    select rover, sol, from_sol, distance_m
    from {{ source('silver', 'traverse') }}
    where reason is null and sol is not null
),
traverse_drives as (
    select rover, sol, sum(distance_m) as traverse_m
    from legs
    group by rover, sol
),
traverse_sols as (
    -- sols a leg accounts for: after the sol of its start localization up to the sol it ends on
    select distinct rover, unnest(range(least(coalesce(from_sol + 1, sol), sol), sol + 1)) as sol, true as covered
    from legs
),
drives as (
    -- a sol a traverse leg accounts for takes the legs' metres (0 when its drive ends a later
    -- sol), any other the waypoints' dist_m: never both, so the cumulative counts each drive once
    select rover, sol,
           case when c.covered then coalesce(t.traverse_m, 0) else coalesce(w.distance_m, 0) end as distance_m,
           case when c.covered then 'traverse' else 'waypoints' end as distance_source,
           w.odometry_m
    from waypoint_drives w
    full outer join traverse_drives t using (rover, sol)
    left join traverse_sols c using (rover, sol)
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
