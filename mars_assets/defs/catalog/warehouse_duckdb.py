"""``catalog/warehouse_duckdb``: the DuckDB catalog, views over the silver tables beside dbt's gold views."""

import dagster as dg

from mars_assets.defs.automation.conditions import EAGER_OVER_PARTITIONS
from mars_assets.lib.dbt import CATALOG_POOL
from mars_assets.resources import Warehouse
from mars_assets.schemas import SILVER_SCHEMAS

GOLD_MODELS = (
    "mission_summary",
    "camera_usage",
    "sol_activity",
    "photo_gaps",
    "image_stats_daily",
    "camera_categories",
    "photos_by_camera_category",
    "camera_travel",
    "image_quality_daily",
)


@dg.asset(
    key=["catalog", "warehouse_duckdb"],
    group_name="catalog",
    kinds={"duckdb"},
    pool=CATALOG_POOL,
    automation_condition=EAGER_OVER_PARTITIONS,
    deps=[dg.AssetKey(["silver", t]) for t in SILVER_SCHEMAS] + [dg.AssetKey(["gold", m]) for m in GOLD_MODELS],
    description="<root>/warehouse.duckdb: a view silver.<table> (delta_scan) over every silver Delta table "
    "(dbt keeps gold.<model>). It runs after dbt: one writer of the file at a time.",
)
def warehouse_catalog(warehouse: Warehouse) -> dg.MaterializeResult:
    views = warehouse.refresh_catalog([("silver", t) for t in SILVER_SCHEMAS])
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(warehouse.catalog_path()), "views": views})
