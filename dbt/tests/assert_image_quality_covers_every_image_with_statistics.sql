{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'image_quality_daily'}}}) }}
-- Every image with statistics has its quality row: per rover x camera x sol, gold
-- image_quality_daily counts as many images as silver image_stats holds. WARN, not error:
-- silver image_quality follows image_stats in the same run, so a difference means its step
-- failed or has not run yet, and an error would skip the gold models downstream of this test.
-- Rows returned = the groups that differ.
with stats as (
    select rover, camera, sol, count(*) as images
    from {{ source('silver', 'image_stats') }}
    group by rover, camera, sol
)
select coalesce(s.rover, q.rover) as rover, coalesce(s.camera, q.camera) as camera,
       coalesce(s.sol, q.sol) as sol, s.images as image_stats_rows, q.images as image_quality_rows
from stats s
full outer join {{ ref('image_quality_daily') }} q
    on s.rover = q.rover and s.sol = q.sol and s.camera is not distinct from q.camera
where s.images is distinct from q.images
