"""``silver/landing_files``: every image file in the landing zone and where its product id routes it."""

import datetime as dt

import dagster as dg

from mars_assets.lib.silver import table_metadata, write_silver
from mars_assets.resources import LandingZone, Warehouse
from mars_assets.sources.product_ids import parse_product_id


@dg.asset(
    key=["silver", "landing_files"],
    group_name="silver",
    kinds={"parquet"},
    metadata=table_metadata("landing_files"),
    description="Every image file in the landing zone with the rover, sol and camera its product id "
    "gives; a file whose sol cannot be known is status 'quarantined' with the reason.",
)
def silver_landing_files(
    context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse
) -> dg.MaterializeResult:
    rows = []
    for f in landing.list_images():
        pid = parse_product_id(f.path)
        routed = pid.rover is not None and pid.sol is not None
        rows.append(
            {
                "path": f.path,
                "bytes": f.size,
                "modified_at": dt.datetime.fromtimestamp(f.mtime, dt.UTC),
                "product_id": pid.product_id,
                "rover": pid.rover,
                "sol": pid.sol,
                "sol_source": pid.sol_source if pid.sol is not None else None,
                "camera": pid.camera,
                "status": "routed" if routed else "quarantined",
                "reason": None if routed else pid.reason,
            }
        )
    return write_silver(context, warehouse, "landing_files", rows)
