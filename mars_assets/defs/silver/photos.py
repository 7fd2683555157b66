"""``silver/photos`` and ``silver/photo_quarantine``: typed photo rows of one rover × sol, and its checks."""

import dagster as dg
import pyarrow as pa

from mars_assets.lib.silver import (
    bronze_pages,
    now,
    quarantine_row,
    storage_schema,
    table_metadata,
    write_silver,
)
from mars_assets.partitions import rover_sol_of, rover_sol_partitions
from mars_assets.resources import Warehouse
from mars_assets.sources.registry import PHOTO_SOURCES

PHOTOS = dg.AssetKey(["silver", "photos"])
QUARANTINE = dg.AssetKey(["silver", "photo_quarantine"])


def manifest_check(warehouse: Warehouse, rover: str, sol: int, photos: int, cameras: list[str]) -> dg.AssetCheckResult:
    """Compare one partition's photos with the manifest's entry for the sol (if any)."""
    entry = None
    if warehouse.has_table("silver", "manifest_sols"):
        found = warehouse.read_table("silver", "manifest_sols", where="rover = ? and sol = ?", params=[rover, int(sol)])
        entry = found.to_pylist()[0] if found.num_rows else None
    if entry is None:
        return dg.AssetCheckResult(
            check_name="matches_manifest",
            asset_key=PHOTOS,
            passed=True,
            metadata={"manifest_covers_sol": False, "photos": photos},
        )
    ok = entry["total_photos"] == photos and sorted(entry["cameras"]) == cameras
    return dg.AssetCheckResult(
        check_name="matches_manifest",
        asset_key=PHOTOS,
        passed=ok,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "manifest_covers_sol": True,
            "photos": photos,
            "manifest_total_photos": entry["total_photos"],
            "cameras": ", ".join(cameras),
            "manifest_cameras": ", ".join(entry["cameras"]),
        },
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            PHOTOS,
            kinds={"parquet"},
            deps=[["bronze", "photos"], ["silver", "manifest_sols"]],
            automation_condition=dg.AutomationCondition.eager(),
            metadata=table_metadata("photos"),
            description="One row per photo (Photos API v1 fields, typed; img_src in https; product_id from "
            "the file name; JPL feed fields where the source has them), deduplicated on photo_id.",
        ),
        dg.AssetSpec(
            QUARANTINE,
            kinds={"parquet"},
            deps=[["bronze", "photos"]],
            automation_condition=dg.AutomationCondition.eager(),
            metadata=table_metadata("photo_quarantine"),
            description="Photo records that could not be typed, or belong to another rover × sol, with the reason.",
        ),
    ],
    partitions_def=rover_sol_partitions,
    group_name="silver",
    can_subset=False,
    check_specs=[
        dg.AssetCheckSpec(
            "matches_manifest",
            asset=PHOTOS,
            description="Where the manifest covers the sol, the photo count and camera set equal the "
            "manifest's total_photos and cameras.",
        ),
        dg.AssetCheckSpec(
            "no_quarantined_photos",
            asset=QUARANTINE,
            description="Every photo record of the partition could be typed.",
        ),
    ],
)
def silver_photos(context: dg.AssetExecutionContext, warehouse: Warehouse):
    rover, sol = rover_sol_of(context)
    prefix = f"bronze/photos/rover={rover}/sol={sol}"
    source, pages = bronze_pages(warehouse, prefix)
    parsed = PHOTO_SOURCES[source].parse_pages(pages, ingested_at=now())
    bad = [quarantine_row(rover, sol, r["record_key"], r["origin"], r["reason"], r["raw"]) for r in parsed.rejects]
    rows: dict[int, dict] = {}
    duplicates = 0
    for row in parsed.rows:
        if row["rover"] != rover or row["sol"] != sol:
            reason = f"photo of {row['rover']} sol {row['sol']} in the {rover} sol {sol} response"
            bad.append(quarantine_row(rover, sol, str(row["photo_id"]), source, reason, row))
            continue
        duplicates += row["photo_id"] in rows
        rows[row["photo_id"]] = row
    photos = pa.Table.from_pylist(sorted(rows.values(), key=lambda r: r["photo_id"]), schema=storage_schema("photos"))
    cams = sorted(set(photos.column("camera").to_pylist()))
    part = [(rover, sol)]
    yield write_silver(
        context,
        warehouse,
        "photos",
        photos,
        part,
        source=source,
        cameras=cams,
        duplicates_dropped=duplicates,
        filtered_not_full_frame=parsed.filtered,
    )
    yield write_silver(context, warehouse, "photo_quarantine", bad, part)
    yield manifest_check(warehouse, rover, sol, photos.num_rows, cams)
    yield dg.AssetCheckResult(
        check_name="no_quarantined_photos",
        asset_key=QUARANTINE,
        passed=not bad,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"quarantined": len(bad)},
    )
