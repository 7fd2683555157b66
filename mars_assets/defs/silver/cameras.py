"""``silver/cameras``: one row per rover × camera, listed by the rover or seen in photos."""

import dagster as dg

from mars_assets.defs.automation.conditions import EAGER_OVER_PARTITIONS
from mars_assets.lib.silver import rover_records, table_metadata, write_silver
from mars_assets.resources import Warehouse


@dg.asset(
    key=["silver", "cameras"],
    group_name="silver",
    kinds={"parquet"},
    deps=[dg.AssetKey(["silver", "rovers"]), dg.AssetKey(["silver", "photos"])],
    automation_condition=EAGER_OVER_PARTITIONS,
    metadata=table_metadata("cameras"),
    description="One row per rover × camera: the cameras each rover lists plus every camera seen in "
    "photos (an unknown camera is kept with listed_by_rover = false).",
)
def silver_cameras(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    cams: dict[tuple[str, str], dict] = {}
    for rec, _origin in rover_records(warehouse):
        for c in rec["cameras"]:
            cams.setdefault(
                (rec["rover"], c["name"]),
                {
                    "rover": rec["rover"],
                    "camera": c["name"],
                    "camera_full_name": c["full_name"],
                    "camera_id": None,
                    "listed_by_rover": True,
                    "photos_seen": False,
                },
            )
    if warehouse.has_table("silver", "photos"):
        with warehouse.connect() as con:
            seen = con.sql(
                "select rover, camera, any_value(camera_full_name), min(camera_id) "
                f"from {warehouse.relation_sql('silver', 'photos')} group by all"
            ).fetchall()
        for rover, camera, full, cid in seen:
            row = cams.setdefault(
                (rover, camera),
                {
                    "rover": rover,
                    "camera": camera,
                    "camera_full_name": full,
                    "camera_id": None,
                    "listed_by_rover": False,
                },
            )
            row.update(camera_id=cid, photos_seen=True)
    return write_silver(context, warehouse, "cameras", sorted(cams.values(), key=lambda r: (r["rover"], r["camera"])))
