"""What the dashboard assets read from the warehouse: aggregations in DuckDB, sized by sols.

The page builders of this package are pure (tables in, HTML out); these functions feed them.
Each runs one query in DuckDB over :meth:`Warehouse.relation_sql` (``delta_scan`` of a silver
Delta table, ``read_parquet`` of a gold model) on a :meth:`Warehouse.connect` connection and
returns a small Arrow table: its rows are bounded by rover × sol (× camera) groups, by a
binning of sols into at most a fixed number of columns, or by a cap — never by the number of
photos. Caps and widths are bound as query parameters. Each returns None when its table has
not been written yet.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from mars_assets.resources import Warehouse

#: Most rover × sol columns of the mission heatmap: beyond it sols are binned into runs of
#: equal width (one width for every rover), so the heatmap has at most about this many columns.
HEATMAP_COLUMNS = 400
#: Images plotted one dot each on the images page; beyond it a deterministic sample of this
#: many (by a hash of rover, sol and image id). The key numbers still cover every image.
IMAGE_SAMPLE = 2000
#: Points per rover × camera series of the image trends; beyond it that rover's sols are binned.
TREND_POINTS = 250
#: Quarantine reason groups (silver table × URL-masked reason) kept by name; the others are
#: summed into one ``(N other reasons)`` group per table.
REASON_GROUPS = 30
#: Characters of a quarantine reason kept in its group name (dashboards.common.reason_category).
REASON_WIDTH = 72
#: Columns of silver image_stats the overview scatter plots.
SAMPLE_COLUMNS = ("rover", "sol", "camera", "image_id", "product_id")
SAMPLE_METRICS = ("brightness_norm", "hf_energy_fraction", "sharpness", "spectral_slope")


def _query(warehouse: Warehouse, sql: str, params: list[Any] | None = None) -> pa.Table:
    con = warehouse.connect()
    try:
        return con.execute(sql, params or []).fetch_arrow_table()
    finally:
        con.close()


def row_count(warehouse: Warehouse, layer: str, table: str) -> int:
    """``count(*)`` of a table (0 when not written)."""
    if not warehouse.has_table(layer, table):
        return 0
    return _query(warehouse, f"select count(*) as n from {warehouse.relation_sql(layer, table)}")["n"][0].as_py()


def camera_sols(warehouse: Warehouse, max_columns: int = HEATMAP_COLUMNS) -> pa.Table | None:
    """Photos per rover × camera × run of sols, from silver photos.

    Columns ``rover``, ``sol`` (first sol of the run), ``sol_last`` (last sol of the run,
    inclusive), ``camera`` (``?`` for null), ``photos``. With at most ``max_columns`` rover ×
    sol pairs holding photos every run is one sol (``sol_last = sol``); else every run is
    ``ceil(sum of the rovers' sol spans / max_columns)`` sols wide, starting at a multiple of the
    width, so there are at most ``max_columns`` + one per rover runs with photos.
    """
    if not warehouse.has_table("silver", "photos"):
        return None
    sql = f"""
        with per_sol as (
            select rover, sol, coalesce(camera, '?') as camera, count(*) as photos
            from {warehouse.relation_sql("silver", "photos")}
            group by all
        ),
        spans as (
            select rover, count(distinct sol) as sols, max(sol) - min(sol) + 1 as span from per_sol group by rover
        ),
        width as (
            select case when sum(sols) <= $1 then 1 else cast(ceil(sum(span) / $1) as bigint) end as w from spans
        )
        select rover, sol // w * w as sol, sol // w * w + w - 1 as sol_last, camera,
               cast(sum(photos) as bigint) as photos
        from per_sol, width
        group by all
        order by rover, sol, camera
    """
    return _query(warehouse, sql, [max_columns])


def image_sample(warehouse: Warehouse, cap: int = IMAGE_SAMPLE) -> pa.Table | None:
    """At most ``cap`` images of silver image_stats (all of them when there are fewer): the key
    columns (SAMPLE_COLUMNS) and the metrics the overview plots (SAMPLE_METRICS), chosen by
    ``hash(rover, sol, image_id)`` (the same images from run to run), sorted by rover, sol, id."""
    if not warehouse.has_table("silver", "image_stats"):
        return None
    cols = ", ".join((*SAMPLE_COLUMNS, *SAMPLE_METRICS))
    sql = f"""
        select * from (
            select {cols} from {warehouse.relation_sql("silver", "image_stats")}
            order by hash(rover, sol, image_id) limit $1
        ) order by rover, sol, image_id
    """
    return _query(warehouse, sql, [cap])


def image_totals(warehouse: Warehouse) -> dict[str, Any] | None:
    """Aggregates over every image of silver image_stats: ``images``, ``cameras`` (distinct
    rover × camera), ``mean_brightness_norm`` (0..1), ``mean_hf_energy_fraction`` (0..1),
    ``median_spectral_slope`` (null slopes left out; 0 when none), and ``daily_groups`` (rows of
    gold image_stats_daily, 0 before it is built)."""
    if not warehouse.has_table("silver", "image_stats"):
        return None
    sql = f"""
        select count(*) as images,
               count(distinct rover || '/' || coalesce(camera, '?')) as cameras,
               avg(brightness_norm) as mean_brightness_norm,
               avg(hf_energy_fraction) as mean_hf_energy_fraction,
               coalesce(median(spectral_slope), 0) as median_spectral_slope
        from {warehouse.relation_sql("silver", "image_stats")}
    """
    out = _query(warehouse, sql).to_pylist()[0]
    out["daily_groups"] = row_count(warehouse, "gold", "image_stats_daily")
    return out


def image_candidates(warehouse: Warehouse, metrics: tuple[str, ...], per_end: int = 1) -> pa.Table | None:
    """Every column of the images at both ends of each metric of ``metrics`` (names of
    image_stats columns): per metric the ``per_end`` highest (ties: lower rover, sol, image id
    first) and lowest (ties: higher first), the order :func:`mars_assets.dashboards.select_images`
    ranks them in, so it picks the same images from these rows as from the whole table. At most
    ``2 × per_end × len(metrics)`` rows (an image can appear more than once)."""
    if not warehouse.has_table("silver", "image_stats") or not metrics:
        return None
    rel = warehouse.relation_sql("silver", "image_stats")
    known = set(_query(warehouse, f"select * from {rel} limit 0").column_names)
    parts = []
    for column in metrics:
        if column not in known:
            raise ValueError(f"silver.image_stats has no column {column!r}")
        for order in (f'"{column}" desc, rover, sol, image_id', f'"{column}" asc, rover desc, sol desc, image_id desc'):
            parts.append(f'(select * from {rel} where "{column}" is not null order by {order} limit $1)')
    return _query(warehouse, " union all ".join(parts), [per_end])


def image_trends(warehouse: Warehouse, max_points: int = TREND_POINTS) -> pa.Table | None:
    """Gold image_stats_daily with each rover's sols binned to at most about ``max_points`` runs.

    Columns ``rover``, ``camera``, ``sol`` (first sol of the run), ``sol_last`` (inclusive),
    ``images``, ``mean_brightness_norm`` and ``mean_hf_energy_fraction`` (means over the run's
    images, weighted by each sol's images). A rover with at most ``max_points`` sols keeps one
    run per sol."""
    if not warehouse.has_table("gold", "image_stats_daily"):
        return None
    sql = f"""
        with daily as (select * from {warehouse.relation_sql("gold", "image_stats_daily")}),
        width as (
            select rover,
                   case when count(distinct sol) <= $1 then 1
                        else cast(ceil((max(sol) - min(sol) + 1) / $1) as bigint) end as w
            from daily group by rover
        )
        select d.rover, d.camera, d.sol // w * w as sol, d.sol // w * w + w - 1 as sol_last,
               cast(sum(d.images) as bigint) as images,
               sum(d.mean_brightness_norm * d.images)
                   / sum(case when d.mean_brightness_norm is not null then d.images end) as mean_brightness_norm,
               sum(d.mean_hf_energy_fraction * d.images)
                   / sum(case when d.mean_hf_energy_fraction is not null then d.images end)
                   as mean_hf_energy_fraction
        from daily d join width using (rover)
        group by all
        order by d.rover, d.camera, sol
    """
    return _query(warehouse, sql, [max_points])


def _quarantine_sources(warehouse: Warehouse) -> list[str]:
    """One SELECT per quarantine table written: table, rover, sol, record_key, reason."""
    parts = []
    for table in ("photo_quarantine", "image_quarantine"):
        if warehouse.has_table("silver", table):
            parts.append(
                f"select '{table}' as tbl, rover, sol, record_key, reason "
                f"from {warehouse.relation_sql('silver', table)}"
            )
    if warehouse.has_table("silver", "landing_files"):
        parts.append(
            "select 'landing_files' as tbl, rover, sol, coalesce(nullif(product_id, ''), path) as record_key, "
            "coalesce(status, 'None') || ': ' || coalesce(reason, 'None') as reason "
            f"from {warehouse.relation_sql('silver', 'landing_files')} where status is distinct from 'routed'"
        )
    return parts


def quarantine_summary(
    warehouse: Warehouse, max_groups: int = REASON_GROUPS, width: int = REASON_WIDTH
) -> pa.Table | None:
    """Quarantined inputs per silver table × reason group × rover, counted in DuckDB.

    The inputs: rows of photo_quarantine and image_quarantine, and landing files whose status
    is not ``routed`` (reason ``<status>: <reason>``). A reason group is the reason with URLs
    replaced by ``<url>``, trimmed and cut to ``width`` characters (``…`` marking a cut), as
    :func:`mars_assets.dashboards.common.reason_category` does. The ``max_groups`` largest
    (table, group) pairs keep their name; the others of a table become ``(N other reasons)``.

    Columns ``table``, ``category``, ``rover`` (null when unknown), ``inputs`` (count),
    ``sols`` (the first 9 distinct sols, sorted) and ``example`` (one record key). None when no
    quarantine table has been written.
    """
    parts = _quarantine_sources(warehouse)
    if not parts:
        return None
    sql = f"""
        with q as ({" union all ".join(parts)}),
        masked as (
            select *, regexp_replace(
                regexp_replace(coalesce(nullif(reason, ''), '(no reason given)'), 'https?://\\S+', '<url>', 'g'),
                '^\\s+|\\s+$', '', 'g') as text
            from q
        ),
        c as (
            select tbl, rover, sol, record_key,
                   case when length(text) <= $2 then text else left(text, $2 - 1) || '…' end as category
            from masked
        ),
        g as (select tbl, category, count(*) as n from c group by all),
        ranked as (select tbl, category, row_number() over (order by n desc, tbl, category) as rank from g),
        others as (select tbl, count(*) as kinds from ranked where rank > $1 group by tbl)
        select c.tbl as "table",
               case when r.rank <= $1 then c.category else printf('(%d other reasons)', o.kinds) end as category,
               c.rover,
               count(*) as inputs,
               list_slice(list(distinct c.sol order by c.sol) filter (where c.sol is not null), 1, 9) as sols,
               min(c.record_key) as example
        from c join ranked r using (tbl, category) left join others o using (tbl)
        group by all
        order by inputs desc, "table", category, c.rover
    """
    return _query(warehouse, sql, [max_groups, width])


#: The counts of gold image_quality_daily summed per rover × camera for the quality sections.
QUALITY_COUNTS = (
    "images",
    "images_flagged",
    "images_black",
    "images_blank",
    "images_saturated",
    "images_low_information",
    "images_truncated",
    "images_small_frame",
    "images_in_duplicate_groups",
    "duplicate_groups",
    "duplicate_copies",
    "images_unhashed",
)


def quality_by_camera(warehouse: Warehouse) -> pa.Table | None:
    """Gold image_quality_daily summed per rover × camera (``camera`` ``?`` for null): the
    QUALITY_COUNTS columns (BIGINT), sorted by rover, camera. None before the model is built.
    (dbt-duckdb writes an empty model as one all-null row, which its view hides: left out here.)"""
    if not warehouse.has_table("gold", "image_quality_daily"):
        return None
    sums = ", ".join(f"cast(sum({c}) as bigint) as {c}" for c in QUALITY_COUNTS)
    sql = f"""
        select rover, coalesce(camera, '?') as camera, {sums}
        from {warehouse.relation_sql("gold", "image_quality_daily")}
        where rover is not null
        group by all order by rover, camera
    """
    return _query(warehouse, sql)
