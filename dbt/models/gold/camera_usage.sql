{{ config(location=gold_location(this.name)) }}
-- One row per rover x camera with photos: volume, share and photos per active sol (full frames only).
with per_camera as (
    select rover, camera,
           any_value(camera_full_name) as camera_full_name,
           count(*) as photos,
           count(distinct sol) as active_sols
    from {{ source('silver', 'photos') }}
    where {{ is_full_frame() }}
    group by rover, camera
)
select
    pc.rover,
    pc.camera,
    pc.camera_full_name,
    pc.photos,
    pc.photos / sum(pc.photos) over (partition by pc.rover) as share_of_rover_photos,
    pc.active_sols,
    pc.photos / pc.active_sols as photos_per_active_sol,
    coalesce(c.listed_by_rover, false) as listed_by_rover
from per_camera pc
left join {{ source('silver', 'cameras') }} c using (rover, camera)
order by pc.rover, pc.photos desc, pc.camera
