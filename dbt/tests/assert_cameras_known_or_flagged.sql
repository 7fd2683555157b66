{{ config(meta={'dagster': {'ref': {'name': 'camera_usage'}}}) }}
-- No camera outside the rover's known set without being flagged: every camera with photos
-- appears in camera_usage, and one the rover does not list carries listed_by_rover = false
-- (silver.cameras keeps it with the flag; nothing is dropped). Rows returned = failures.
with seen as (
    -- cameras with full frames: camera_usage counts those only (macro is_full_frame)
    select distinct rover, camera from {{ source('silver', 'photos') }} where {{ is_full_frame() }}
)
select s.rover, s.camera, cu.listed_by_rover, c.listed_by_rover as silver_flag
from seen s
left join {{ ref('camera_usage') }} cu using (rover, camera)
left join {{ source('silver', 'cameras') }} c using (rover, camera)
where cu.camera is null or c.camera is null or cu.listed_by_rover is distinct from c.listed_by_rover
