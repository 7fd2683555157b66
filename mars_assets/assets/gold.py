"""The DuckDB catalog: views over the silver Parquet beside the views dbt makes for gold.

Gold itself is the dbt project (:mod:`mars_assets.assets.dbt`); nothing here computes it.
"""

import dagster as dg

from mars_assets.assets.dbt import CATALOG_POOL
from mars_assets.partitions import EAGER_OVER_PARTITIONS
from mars_assets.resources import Warehouse

SILVER_TABLES = (
    "photos",
    "photo_quarantine",
    "rovers",
    "cameras",
    "manifest_sols",
    "waypoints",
    "traverse",
    "landing_files",
    "images",
    "image_stats",
    "image_quarantine",
)
GOLD_MODELS = ("mission_summary", "camera_usage", "sol_activity", "photo_gaps", "image_stats_daily")


@dg.asset(
    key=["catalog", "warehouse_duckdb"],
    group_name="catalog",
    kinds={"duckdb"},
    pool=CATALOG_POOL,
    automation_condition=EAGER_OVER_PARTITIONS,
    deps=[dg.AssetKey(["silver", t]) for t in SILVER_TABLES] + [dg.AssetKey(["gold", m]) for m in GOLD_MODELS],
    description="<root>/warehouse.duckdb: a view silver.<table> over the Parquet of every silver table "
    "(dbt keeps gold.<model>). It runs after dbt: one writer of the file at a time.",
)
def warehouse_catalog(warehouse: Warehouse) -> dg.MaterializeResult:
    views = warehouse.refresh_catalog([("silver", t) for t in SILVER_TABLES])
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(warehouse.catalog_path()), "views": views})
