{{ config(meta={'dagster': {'ref': {'name': 'photo_gaps'}}}) }}
-- photo_gaps has exactly one row per manifest entry, and VALID only when counts agree.
select m.rover, m.sol, g.gap_status
from {{ source('silver', 'manifest_sols') }} m
left join {{ ref('photo_gaps') }} g using (rover, sol)
where g.sol is null
   or (g.gap_status = 'VALID' and (g.silver_photos <> m.total_photos or g.silver_cameras <> len(m.cameras)))
