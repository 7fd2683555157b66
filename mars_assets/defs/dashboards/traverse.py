"""``dashboards/traverse``: the traverse map: each rover's path and its distance per sol
(``<root>/dashboards/traverse/index.html``)."""

import dagster as dg

from mars_assets.dashboards import build_traverse_dashboard
from mars_assets.lib.dashboards import dashboard_asset, publish, read_or_none
from mars_assets.resources import Warehouse


@dashboard_asset(
    "traverse",
    [("silver", "waypoints"), ("silver", "traverse"), ("gold", "sol_activity")],
    "dashboards/traverse/index.html: each rover's path (lon/lat) from MMGIS waypoints and traverse legs, "
    "coloured by sol, beside its distance per sol.",
)
def traverse_dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    """Waypoints and traverse legs (one row per localization / drive leg: thousands over a whole
    mission) and gold sol_activity are read whole; the page thins them (dashboards.traverse)."""
    inputs = {
        "silver.waypoints": read_or_none(warehouse, "silver", "waypoints"),
        "silver.traverse": read_or_none(warehouse, "silver", "traverse"),
        "gold.sol_activity": read_or_none(warehouse, "gold", "sol_activity"),
    }
    page = build_traverse_dashboard(
        waypoints=inputs["silver.waypoints"],
        traverse=inputs["silver.traverse"],
        sol_activity=inputs["gold.sol_activity"],
    )
    return publish(warehouse, page, inputs)
