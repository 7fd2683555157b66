{{ config(location=gold_location(this.name)) }}
-- One row per rover x sol in the manifest: the manifest's photo count and cameras against silver.
-- gap_status: MISSING_SOL (manifest has photos, silver none), PHOTO_COUNT_MISMATCH,
-- CAMERA_COUNT_MISMATCH, VALID. The gap sensor requests exactly the non-VALID partitions.
-- Only full frames count (macro is_full_frame): the manifest is the v1 API's, which kept only those.
with silver as (
    select rover, sol, count(*) as silver_photos, count(distinct camera) as silver_cameras
    from {{ source('silver', 'photos') }}
    where {{ is_full_frame() }}
    group by rover, sol
)
select
    m.rover,
    m.sol,
    m.earth_date,
    m.total_photos as manifest_photos,
    len(m.cameras) as manifest_cameras,
    coalesce(s.silver_photos, 0) as silver_photos,
    coalesce(s.silver_cameras, 0) as silver_cameras,
    case
        when coalesce(s.silver_photos, 0) = 0 and m.total_photos > 0 then 'MISSING_SOL'
        when s.silver_photos <> m.total_photos then 'PHOTO_COUNT_MISMATCH'
        when s.silver_cameras <> len(m.cameras) then 'CAMERA_COUNT_MISMATCH'
        else 'VALID'
    end as gap_status
from {{ source('silver', 'manifest_sols') }} m
left join silver s using (rover, sol)
order by m.rover, m.sol
