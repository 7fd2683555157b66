"""``maintenance/silver_tables``: compaction, log cleanup and vacuum of every silver Delta table."""

import dagster as dg

from mars_assets.resources import Warehouse
from mars_assets.resources.delta_tables import DEFAULT_RETENTION_HOURS
from mars_assets.schemas import SILVER_SCHEMAS


class MaintenanceConfig(dg.Config):
    """``retention_hours``: data files replaced longer ago than this are deleted (vacuum); time
    travel to versions older than that stops working. Delta's default: 168 h (7 days)."""

    retention_hours: int = DEFAULT_RETENTION_HOURS


@dg.asset(
    key=["maintenance", "silver_tables"],
    group_name="maintenance",
    kinds={"deltalake"},
    deps=[dg.AssetKey(["silver", t]) for t in SILVER_SCHEMAS],
    description="Every silver Delta table: small files compacted (one commit), a checkpoint, expired log "
    "files removed, data files replaced more than retention_hours ago vacuumed. Metadata: what was freed.",
)
def silver_tables_maintenance(
    context: dg.AssetExecutionContext, config: MaintenanceConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    tables = {}
    for table in SILVER_SCHEMAS:
        done = warehouse.maintain_silver_table(table, config.retention_hours)
        if done is not None:
            tables[table] = done
            context.log.info(
                f"silver.{table}: version {done.version}, {done.files_compacted} files compacted into "
                f"{done.files_written}, {done.files_vacuumed} vacuumed ({done.bytes_vacuumed:,} bytes)"
            )
    return dg.MaterializeResult(
        metadata={
            "retention_hours": config.retention_hours,
            "tables": len(tables),
            "files_compacted": sum(m.files_compacted for m in tables.values()),
            "files_vacuumed": sum(m.files_vacuumed for m in tables.values()),
            "bytes_vacuumed": dg.MetadataValue.int(sum(m.bytes_vacuumed for m in tables.values())),
            "data_files": sum(m.files for m in tables.values()),
            "data_bytes": dg.MetadataValue.int(sum(m.bytes for m in tables.values())),
            "per_table": dg.MetadataValue.json({t: m.__dict__ for t, m in tables.items()}),
        }
    )
