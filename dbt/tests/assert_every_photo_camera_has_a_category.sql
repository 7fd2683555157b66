{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'camera_categories'}}}) }}
-- Every camera in silver photos (any sample type) has a category in camera_categories. WARN, not
-- error: new camera names appear upstream (NASA_SOURCES: keep them, never drop the photo), gold
-- keeps their photos as 'uncategorized', and an error would skip every gold model downstream of
-- this check in `dbt build`. The rows returned name each camera to add to camera_categories.sql.
select p.rover, p.camera, count(*) as photos, min(p.sol) as first_sol, max(p.sol) as last_sol
from {{ source('silver', 'photos') }} p
left join {{ ref('camera_categories') }} c on c.rover = p.rover and c.camera = upper(p.camera)
where c.category is null
group by p.rover, p.camera
