"""``silver/traverse``: the MMGIS traverse legs, one row per rover × sol × fromRMC × toRMC."""

import dagster as dg

from mars_assets.lib.silver import table_metadata, write_layer
from mars_assets.resources import Warehouse
from mars_assets.sources.mmgis import parse_traverse


@dg.asset(
    key=["silver", "traverse"],
    group_name="silver",
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "waypoints"])],
    automation_condition=dg.AutomationCondition.eager(),
    metadata=table_metadata("traverse"),
    description="MMGIS traverse legs: one row per rover × sol × fromRMC × toRMC with its length in metres "
    "and its LineString as WKT (lon lat). Empty when no traverse layer was fetched.",
)
def silver_traverse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    return write_layer(context, warehouse, "traverse", parse_traverse)
