{{ config(meta={'dagster': {'ref': {'name': 'photos_by_camera_category'}}}) }}
-- The categories split each rover x sol's full frames without losing or repeating one: the sum
-- over categories equals silver's full-frame count of the sol (a camera listed twice in
-- camera_categories, or a photo dropped by the join, fails here). Rows returned = failures.
with silver as (
    select rover, sol, count(*) as photos
    from {{ source('silver', 'photos') }}
    where {{ is_full_frame() }}
    group by rover, sol
),
gold as (
    select rover, sol, sum(photos) as photos
    from {{ ref('photos_by_camera_category') }}
    group by rover, sol
)
select rover, sol, s.photos as silver_photos, g.photos as gold_photos
from silver s
full outer join gold g using (rover, sol)
where s.photos is distinct from g.photos
