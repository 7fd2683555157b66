{{ config(meta={'dagster': {'ref': {'name': 'camera_travel'}}}) }}
-- camera_travel: one row per silver full frame; during_drive null exactly when unknown_reason is
-- set; a photo during a drive names a leg of silver traverse whose clock window holds the photo's
-- clock, and no other row names a leg. Rows returned = failures, with the problem.
with rows_per_rover as (
    select rover, count(*) as silver_rows, 0 as gold_rows
    from {{ source('silver', 'photos') }}
    where {{ is_full_frame() }}
    group by rover
    union all
    select rover, 0, count(*) from {{ ref('camera_travel') }} group by rover
)
select rover, null as photo_id, 'row count differs from silver full frames' as problem
from rows_per_rover
group by rover
having sum(silver_rows) <> sum(gold_rows)
union all
select t.rover, t.photo_id,
       case
           when (t.during_drive is null) <> (t.unknown_reason is not null) then 'during_drive and unknown_reason disagree'
           when t.during_drive and l.feature_index is null then 'leg not in silver traverse'
           when t.during_drive and not (t.sclk between l.sclk_start and l.sclk_end) then 'clock outside the leg window'
           when not coalesce(t.during_drive, false) and t.leg_feature_index is not null then 'a leg named off a drive'
       end as problem
from {{ ref('camera_travel') }} t
left join {{ source('silver', 'traverse') }} l
  on l.rover = t.rover and l.feature_index = t.leg_feature_index and l.part = t.leg_part
where (t.during_drive is null) <> (t.unknown_reason is not null)
   or (t.during_drive and (l.feature_index is null or not (t.sclk between l.sclk_start and l.sclk_end)))
   or (not coalesce(t.during_drive, false) and t.leg_feature_index is not null)
