"""Asset jobs: reference data, one rover × sol, the whole-warehouse tables, the gold rebuild."""

import dagster as dg

from mars_assets.defs.automation.selections import INGEST_ASSETS, PHOTO_ASSETS

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

#: Rover × sol partitions: photos, images, image statistics and quality (ranged runs of MARS_BATCH_SOLS).
rover_sol_job = dg.define_asset_job(
    "rover_sol_job",
    selection=INGEST_ASSETS,
    description="Photos, images, image statistics and quality flags of rover × sol partitions (a range per run).",
)

#: Photo metadata only (``mars-assets run --no-images``): no image steps at mission size.
photos_job = dg.define_asset_job(
    "photos_job",
    selection=PHOTO_ASSETS,
    description="Bronze responses, silver photos and quarantine of rover × sol partitions (a range per run).",
)

#: Whole-warehouse tables: silver rovers/cameras, gold, the DuckDB catalog, the dashboards.
warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.groups("gold", "catalog", "dashboards")
    | dg.AssetSelection.assets(["silver", "rovers"], ["silver", "cameras"]),
    description="Silver rovers and cameras, gold tables, the DuckDB catalog and the dashboards.",
)

#: Full rebuild of gold (dbt), the catalog and the dashboards (the weekly schedule's job).
gold_rebuild_job = dg.define_asset_job(
    "gold_rebuild_job",
    selection=dg.AssetSelection.groups("gold", "catalog", "dashboards"),
    description="Full rebuild of gold (dbt), the catalog and the dashboards.",
)
