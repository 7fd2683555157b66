"""The code location: assets, checks, jobs and resources (configured from the environment)."""

from __future__ import annotations

import dagster as dg

from mars_assets import automation
from mars_assets.assets import bronze, dashboards, dbt, gold, silver
from mars_assets.partitions import rover_sol_partitions
from mars_assets.settings import Settings

ALL_ASSETS = [
    bronze.bronze_rovers,
    bronze.bronze_manifests,
    bronze.bronze_waypoints,
    bronze.bronze_photos,
    bronze.bronze_images,
    silver.silver_photos,
    silver.silver_manifest_sols,
    silver.silver_rovers,
    silver.silver_cameras,
    silver.silver_waypoints,
    silver.silver_traverse,
    silver.silver_landing_files,
    silver.silver_images,
    dbt.gold_dbt_models,
    gold.warehouse_catalog,
    *dashboards.DASHBOARD_ASSETS,
]

#: Reference data: rovers, manifests, waypoints, the landing-zone listing (unpartitioned).
reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets(
        ["bronze", "rovers"],
        ["bronze", "manifests"],
        ["bronze", "waypoints"],
        ["silver", "manifest_sols"],
        ["silver", "waypoints"],
        ["silver", "traverse"],
        ["silver", "landing_files"],
    ),
    description="Rovers listing, manifests, MMGIS waypoints and the landing-zone listing.",
)

#: One rover × sol: photos, images, image statistics.
rover_sol_job = dg.define_asset_job(
    "rover_sol_job",
    selection=dg.AssetSelection.assets(*[a for a in ALL_ASSETS if a.partitions_def == rover_sol_partitions]),
    description="Photos, images and image statistics of one rover × sol partition.",
)

#: Whole-warehouse tables: silver rovers/cameras, gold, the DuckDB catalog, the dashboard.
warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.groups("gold", "catalog", "dashboards")
    | dg.AssetSelection.assets(["silver", "rovers"], ["silver", "cameras"]),
    description="Silver rovers and cameras, gold tables, the DuckDB catalog and the dashboard.",
)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Definitions with resources from ``settings`` (default: the environment)."""
    return dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[reference_job, rover_sol_job, warehouse_job, automation.gold_rebuild_job],
        sensors=automation.SENSORS,
        schedules=automation.SCHEDULES,
        resources=(settings or Settings.from_env()).resources(),
    )


defs = build_definitions()
