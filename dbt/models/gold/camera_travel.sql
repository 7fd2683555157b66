{{ config(location=gold_location(this.name)) }}
-- One row per full-frame photo (macro is_full_frame): was it taken during a drive? A photo is
-- during a drive when its spacecraft clock (silver photos.sclk, SCLK seconds) lies in a traverse
-- leg's [sclk_start, sclk_end] (MMGIS SCLK_START / SCLK_END, silver traverse), bounds included.
-- during_drive is false only when it can be known: the photo's clock is known, the rover's legs
-- carry clocks, the photo is not after the last leg's end (the layer may not reach it yet) and
-- no leg without a clock may lie at that time. Otherwise it is null and unknown_reason says why.
-- Curiosity: the MSL traverse layer has no SCLK, so its photos get no_leg_clock; a window made of
-- the legs' sols would say "some time that sol or between two localizations" (a sol is 88,775 s;
-- the real M20 layer's first 150 drive windows: median 2,839 s, 95th percentile 15,158 s), not a
-- drive's time, so none is made up. The layer is taken to start at the rover's first drive (M20:
-- sol 14): a photo before its first leg is not during a drive.
with photos as (
    -- one reference only: photo_row is the row's key in the pick below
    select row_number() over () as photo_row, photo_id, rover, sol, camera, sclk
    from {{ source('silver', 'photos') }}
    where {{ is_full_frame() }}
),
legs as (
    -- every leg, counted or not (a leg without a sol or a duplicate still had its drive window)
    select rover, feature_index, part, sol, sclk_start, sclk_end, reason is null as counted,
           coalesce(sclk_start <= sclk_end, false) as clocked
    from {{ source('silver', 'traverse') }}
),
coverage as (
    select rover,
           count(*) filter (where clocked) as clocked_legs,
           max(sclk_end) filter (where clocked) as last_sclk_end
    from legs
    group by rover
),
windows as (
    -- each clocked leg once per 86,400-clock-second bucket it touches: an equi-join key for the
    -- interval join (M20 windows are minutes to hours, at most ~4 sols: one to five buckets a leg)
    select rover, feature_index, part, sol, sclk_start, sclk_end, counted,
           unnest(range(cast(floor(sclk_start / 86400) as bigint), cast(floor(sclk_end / 86400) as bigint) + 1)) as bucket
    from legs
    where clocked
),
unclocked as (
    -- a leg without a clock lies, in the layer's (mission) order, after the clocked legs before it
    -- and before the clocked legs after it: its drive may be at any clock in between
    select rover, after_sclk, before_sclk
    from (
        select rover, clocked,
               coalesce(max(case when clocked then sclk_end end) over before_it, '-infinity'::double) as after_sclk,
               coalesce(min(case when clocked then sclk_start end) over after_it, 'infinity'::double) as before_sclk
        from legs
        window before_it as (partition by rover order by feature_index, part rows between unbounded preceding and 1 preceding),
               after_it as (partition by rover order by feature_index, part rows between 1 following and unbounded following)
    ) as ordered
    where not clocked
),
matched as (
    -- the narrowest window holding the photo's clock (M20 draws a drive with mid-drive stops as
    -- nested legs from one start); ties: the counted leg, then layer order
    select p.photo_row, p.photo_id, p.rover, p.sol, p.camera, p.sclk,
           w.feature_index, w.part, w.sol as leg_sol, w.sclk_start, w.sclk_end
    from photos p
    left join windows w
      on w.rover = p.rover
     and w.bucket = cast(floor(p.sclk / 86400) as bigint)
     and p.sclk between w.sclk_start and w.sclk_end
    qualify row_number() over (
        partition by p.photo_row
        order by w.sclk_end - w.sclk_start, not w.counted, w.feature_index, w.part
    ) = 1
),
judged as (
    select m.*,
           case
               when m.feature_index is not null then null
               when c.rover is null then 'no_traverse'
               when c.clocked_legs = 0 then 'no_leg_clock'
               when m.sclk is null then 'no_photo_clock'
               when m.sclk > c.last_sclk_end then 'after_last_leg'
               when exists (
                   select 1 from unclocked u
                   where u.rover = m.rover and m.sclk > u.after_sclk and m.sclk < u.before_sclk
               ) then 'leg_without_clock'
           end as unknown_reason
    from matched m
    left join coverage c on c.rover = m.rover
)
select
    j.photo_id,
    j.rover,
    j.sol,
    j.camera,
    coalesce(cc.category, 'uncategorized') as category,
    j.sclk,
    case when j.feature_index is not null then true when j.unknown_reason is null then false end as during_drive,
    j.feature_index as leg_feature_index,
    j.part as leg_part,
    j.leg_sol,
    j.sclk_start as leg_sclk_start,
    j.sclk_end as leg_sclk_end,
    j.unknown_reason
from judged j
left join {{ ref('camera_categories') }} cc on cc.rover = j.rover and cc.camera = upper(j.camera)
order by j.rover, j.sol, j.sclk nulls last, j.photo_id
