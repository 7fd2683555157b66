"""``silver/waypoints``: the MMGIS rover localizations, one row per waypoint."""

import dagster as dg

from mars_assets.lib.silver import bronze_bodies, table_metadata, write_silver
from mars_assets.partitions import ROVERS
from mars_assets.resources import Warehouse
from mars_assets.sources.mmgis import parse_waypoints

#: Rejected features shown in the warning of a run (all are counted in metadata).
SHOWN_REJECTS = 5


def parse_layers(warehouse: Warehouse, layer: str, parse) -> tuple[list[dict], list[dict]]:
    """Rows and rejects of every rover's bronze MMGIS ``layer`` ("waypoints" or "traverse")."""
    rows, rejects = [], []
    for rover in ROVERS:
        for name, body in bronze_bodies(warehouse, f"bronze/waypoints/rover={rover}"):
            if f"_{layer}" in name:
                ok, bad = parse(rover, body)
                rows += ok
                rejects += [{**r, "rover": rover, "object": name} for r in bad]
    return rows, rejects


def write_layer(context: dg.AssetExecutionContext, warehouse: Warehouse, table: str, parse) -> dg.MaterializeResult:
    """Parse the bronze layer of silver ``table``, write it, warn about rejected features."""
    rows, rejects = parse_layers(warehouse, table, parse)
    if rejects:
        context.log.warning(f"{len(rejects)} {table} features rejected: {rejects[:SHOWN_REJECTS]}")
    return write_silver(warehouse, table, rows, rejected_features=len(rejects))


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
