"""``silver/waypoints``: the MMGIS rover localizations, one row per waypoint."""

import dagster as dg

from mars_assets.lib.silver import table_metadata, write_layer
from mars_assets.resources import Warehouse
from mars_assets.sources.mmgis import parse_waypoints


@dg.asset(
    key=["silver", "waypoints"],
    group_name="silver",
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "waypoints"])],
    automation_condition=dg.AutomationCondition.eager(),
    metadata=table_metadata("waypoints"),
    description="MMGIS rover localizations: one row per waypoint (lon/lat in degrees, distances in metres).",
)
def silver_waypoints(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    return write_layer(context, warehouse, "waypoints", parse_waypoints)
