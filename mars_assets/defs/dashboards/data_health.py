"""``dashboards/data_health``: the data-health dashboard: gaps, quarantines, asset checks
(``<root>/dashboards/data_health/index.html``)."""

import dagster as dg

from mars_assets.dashboards import build_health_dashboard, queries
from mars_assets.lib.dashboards import all_check_keys, check_results, dashboard_asset, publish, read_or_none
from mars_assets.resources import Warehouse


@dashboard_asset(
    "data_health",
    [
        ("gold", "photo_gaps"),
        ("silver", "photo_quarantine"),
        ("silver", "image_quarantine"),
        ("silver", "landing_files"),
        ("gold", "image_quality_daily"),
    ],
    "dashboards/data_health/index.html: manifest sols by gap status, quarantined inputs with reasons "
    "(silver *_quarantine tables and quarantined landing files), images kept with quality flags, latest "
    "asset-check results.",
)
def data_health_dashboard(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """photo_gaps (one row per manifest sol) is read whole; the quarantined inputs are counted
    in DuckDB per silver table × reason group × rover (queries.quarantine_summary)."""
    quarantine = queries.quarantine_summary(warehouse)
    inputs = {
        "gold.photo_gaps": read_or_none(warehouse, "gold", "photo_gaps"),
        "silver quarantine by table, reason and rover": quarantine,
        "gold.image_quality_daily by rover and camera": queries.quality_by_camera(warehouse),
    }
    counts = {
        f"silver.{t}": queries.row_count(warehouse, "silver", t)
        for t in ("photo_quarantine", "image_quarantine", "landing_files")
    }
    try:
        checks: list[dict] | None = check_results(context.instance, all_check_keys(context))
    except Exception as exc:  # the page is still useful without them
        context.log.warning(f"asset check results not available: {exc!r}")
        checks = None
    page = build_health_dashboard(
        photo_gaps=inputs["gold.photo_gaps"],
        quarantine=quarantine if quarantine is not None else [],
        check_results=checks,
        image_quality=inputs["gold.image_quality_daily by rover and camera"],
    )
    extra = {
        "asset checks": dg.MetadataValue.int(len(checks) if checks is not None else 0),
        "asset checks failing": dg.MetadataValue.int(sum(c["latest"] == "failed" for c in checks or [])),
    }
    return publish(warehouse, page, inputs, extra, counts)


#: Every dashboard asset (definitions.py lists these).
