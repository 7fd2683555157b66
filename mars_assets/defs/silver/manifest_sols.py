"""``silver/manifest_sols``: per rover × sol, what the mission manifest says was taken."""

import dagster as dg

from mars_assets.lib.silver import bronze_bodies, table_metadata, write_silver
from mars_assets.partitions import ROVERS
from mars_assets.resources import Warehouse
from mars_assets.sources.photos_api import parse_manifest


@dg.asset(
    key=["silver", "manifest_sols"],
    group_name="silver",
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "manifests"])],
    automation_condition=dg.AutomationCondition.eager(),
    metadata=table_metadata("manifest_sols"),
    description="Per rover × sol from the mission manifests: earth_date, total_photos, cameras.",
)
def silver_manifest_sols(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    rows = []
    for rover in ROVERS:
        for _name, body in bronze_bodies(warehouse, f"bronze/manifests/rover={rover}"):
            rows.extend(parse_manifest(body)[1])
    return write_silver(context, warehouse, "manifest_sols", rows)
