{{ config(location=gold_location(this.name)) }}
-- One row per rover x sol x camera category with full-frame photos (macro is_full_frame, the rule
-- photo_gaps and sol_activity count by): engineering, science, entry-descent-landing
-- (camera_categories), or uncategorized for a camera camera_categories does not list (kept and
-- counted, named by the WARN test assert_every_photo_camera_has_a_category).
with photos as (
    select p.rover, p.sol, p.camera, coalesce(c.category, 'uncategorized') as category
    from {{ source('silver', 'photos') }} p
    left join {{ ref('camera_categories') }} c on c.rover = p.rover and c.camera = upper(p.camera)
    where {{ is_full_frame('p.sample_type') }}
)
select
    rover,
    sol,
    category,
    count(*) as photos,
    list(distinct camera order by camera) as cameras
from photos
group by rover, sol, category
order by rover, sol, category
