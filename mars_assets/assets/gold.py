"""Gold: analytics tables computed with DuckDB SQL over the silver Parquet, and the catalog.

The SQL reads silver through ``read_parquet(..., hive_partitioning = true)`` on an
in-memory connection; the results are written as Parquet by the warehouse IO manager.
"""


import dagster as dg
import pyarrow as pa

from mars_assets.resources import Warehouse

SILVER_TABLES = ("photos", "photo_quarantine", "rovers", "cameras", "manifest_sols", "waypoints",
                 "landing_files", "images", "image_stats", "image_quarantine")
GOLD_TABLES = ("mission_summary", "photos_per_camera", "photos_per_sol")

GOLD_SQL = {
    "mission_summary": """
        with p as (
            select rover, count(*) as photos, count(distinct sol) as active_sols,
                   min(sol) as first_sol, max(sol) as last_sol, list(distinct camera order by camera) as cameras_used
            from silver_photos group by rover)
        select r.rover, r.rover_name, r.landing_date, r.launch_date, r.status,
               p.first_sol, p.last_sol, coalesce(p.photos, 0) as photos, coalesce(p.active_sols, 0) as active_sols,
               coalesce(p.cameras_used, []) as cameras_used,
               r.max_sol as source_max_sol, r.total_photos as source_total_photos
        from silver_rovers r left join p using (rover)
        order by r.rover""",
    "photos_per_camera": """
        select rover, camera, any_value(camera_full_name) as camera_full_name, count(*) as photos,
               count(*) / sum(count(*)) over (partition by rover) as share_of_rover_photos,
               count(distinct sol) as active_sols
        from silver_photos group by rover, camera order by rover, photos desc, camera""",
    "photos_per_sol": """
        with p as (
            select rover, sol, min(earth_date) as earth_date, count(*) as photos,
                   list(distinct camera order by camera) as cameras
            from silver_photos group by rover, sol)
        select p.rover, p.sol, p.earth_date, p.photos, p.cameras,
               m.total_photos as manifest_photos,
               case when m.sol is null then null else p.photos = m.total_photos end as matches_manifest
        from p left join silver_manifest_sols m using (rover, sol)
        order by p.rover, p.sol""",
}


def run_gold_sql(warehouse: Warehouse, name: str) -> pa.Table:
    """Compute one gold table. Raises ValueError when a silver input has never been written."""
    needed = ("photos", "rovers", "manifest_sols")
    missing = [t for t in needed if not warehouse.has_table("silver", t)]
    if missing:
        raise ValueError(f"gold.{name} needs silver tables not yet written: {', '.join(missing)}")
    with warehouse.connect() as con:
        for t in needed:
            con.execute(f"create view silver_{t} as select * from {warehouse.relation_sql('silver', t)}")
        return con.sql(GOLD_SQL[name]).arrow().read_all()


@dg.multi_asset(
    outs={
        name: dg.AssetOut(key=["gold", name], io_manager_key="warehouse_io_manager", kinds={"duckdb", "parquet"},
                          description=desc)
        for name, desc in {
            "mission_summary": "Per rover: dates, first/last sol with photos, photos, active sols, cameras used.",
            "photos_per_camera": "Per rover × camera: photos, share of the rover's photos, active sols.",
            "photos_per_sol": "Per rover × sol: photos, cameras, and the manifest's count where it covers the sol.",
        }.items()
    },
    deps=[dg.AssetKey(["silver", t]) for t in ("photos", "rovers", "manifest_sols")],
    group_name="gold", can_subset=True,
)
def gold_tables(context: dg.AssetExecutionContext, warehouse: Warehouse):
    for name in GOLD_TABLES:
        if name in context.op_execution_context.selected_output_names:
            yield dg.Output(run_gold_sql(warehouse, name), output_name=name)


@dg.asset(key=["catalog", "warehouse_duckdb"], group_name="catalog", kinds={"duckdb"}, pool="duckdb_catalog",
          deps=[dg.AssetKey(["silver", t]) for t in SILVER_TABLES] + [dg.AssetKey(["gold", t]) for t in GOLD_TABLES],
          description="<root>/warehouse.duckdb: a view <layer>.<table> over the Parquet of every table. "
                      "Only this step writes the file (one writer at a time).")
def warehouse_catalog(warehouse: Warehouse) -> dg.MaterializeResult:
    views = warehouse.refresh_catalog([("silver", t) for t in SILVER_TABLES] + [("gold", t) for t in GOLD_TABLES])
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(warehouse.catalog_path()), "views": views})
