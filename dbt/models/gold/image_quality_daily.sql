{{ config(location=gold_location(this.name)) }}
-- One row per rover x camera x sol with images in silver image_quality: images, frames per
-- quality flag (mars_assets.imaging.quality.FLAGS; docs/IMAGE_QUALITY.md has the thresholds)
-- and the near-duplicate groups (frames of one rover x camera x sol within 10 bits of phash).
select
    rover,
    camera,
    sol,
    count(*) as images,
    count(*) filter (where len(flags) > 0) as images_flagged,
    count(*) filter (where flag_black) as images_black,
    count(*) filter (where flag_blank) as images_blank,
    count(*) filter (where flag_saturated) as images_saturated,
    count(*) filter (where flag_low_information) as images_low_information,
    count(*) filter (where flag_truncated) as images_truncated,
    count(*) filter (where flag_small_frame) as images_small_frame,
    count(*) filter (where duplicate_of is not null) as images_in_duplicate_groups,
    count(distinct duplicate_of) as duplicate_groups,
    count(*) filter (where duplicate_of is not null and duplicate_of <> image_id) as duplicate_copies,
    count(*) filter (where phash is null) as images_unhashed,
    max(quality_version) as quality_version
from {{ source('silver', 'image_quality') }}
group by rover, camera, sol
order by rover, camera, sol
