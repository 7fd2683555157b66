"""``dashboards/mission``: the mission dashboard: photos per sol, camera usage, distance
(``<root>/dashboards/mission/index.html``)."""

import dagster as dg

from mars_assets.dashboards import build_mission_dashboard, queries
from mars_assets.lib.dashboards import dashboard_asset, publish, read_or_none
from mars_assets.resources import Warehouse


@dashboard_asset(
    "mission",
    [
        ("gold", "mission_summary"),
        ("gold", "camera_usage"),
        ("gold", "sol_activity"),
        ("gold", "photo_gaps"),
        ("silver", "photos"),
    ],
    "dashboards/mission/index.html: photos per sol (manifest and warehouse), mission length, camera usage "
    "shares, photos per camera and sol, cumulative distance; rover dropdowns, camera legends.",
)
def mission_dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    """Gold models (rover × sol rows) read whole; silver photos only through a DuckDB count per
    rover × camera × sol, binned to at most ``queries.HEATMAP_COLUMNS`` columns."""
    inputs = {
        "gold.mission_summary": read_or_none(warehouse, "gold", "mission_summary"),
        "gold.camera_usage": read_or_none(warehouse, "gold", "camera_usage"),
        "gold.sol_activity": read_or_none(warehouse, "gold", "sol_activity"),
        "gold.photo_gaps": read_or_none(warehouse, "gold", "photo_gaps"),
        "silver.photos by camera and sol": queries.camera_sols(warehouse),
    }
    page = build_mission_dashboard(
        mission_summary=inputs["gold.mission_summary"],
        camera_usage=inputs["gold.camera_usage"],
        sol_activity=inputs["gold.sol_activity"],
        photo_gaps=inputs["gold.photo_gaps"],
        camera_sols=inputs["silver.photos by camera and sol"],
    )
    return publish(warehouse, page, inputs, counts={"silver.photos": queries.row_count(warehouse, "silver", "photos")})
