{{ config(meta={'dagster': {'ref': {'name': 'image_quality_daily'}}}) }}
-- The counts of one rover x camera x sol fit together: every per-flag count is at most the
-- frames with any flag, which are at most the images; a near-duplicate group holds its first
-- frame (duplicate_of = image_id, in the same rover x camera x sol) and its copies, so the
-- frames in groups are the groups plus the copies, and a group has at least two frames.
-- Rows returned = failures.
select *
from {{ ref('image_quality_daily') }}
where images_flagged > images
   or greatest(images_black, images_blank, images_saturated, images_low_information, images_truncated,
               images_small_frame) > images_flagged
   or (images_black + images_blank + images_saturated + images_low_information + images_truncated
       + images_small_frame) < images_flagged
   or images_in_duplicate_groups <> duplicate_groups + duplicate_copies
   or images_in_duplicate_groups < 2 * duplicate_groups
   or images_in_duplicate_groups + images_unhashed > images
