"""``silver/image_quality``: quality flags, perceptual hash and near-duplicate group of every image
with statistics, per rover × sol (mars_assets.imaging.quality; docs/IMAGE_QUALITY.md)."""

import time

import dagster as dg

from mars_assets.executors import CPU_TAGS
from mars_assets.imaging.quality import FLAGS
from mars_assets.lib.image_quality import (
    CHECK_NAME,
    frames_markdown,
    full_frames,
    hash_all,
    quality_check,
    quality_rows,
    read_stats,
    totals,
)
from mars_assets.lib.silver import table_metadata, write_silver
from mars_assets.partitions import ingest_backfill_policy, rover_sol_of_key, rover_sol_partitions
from mars_assets.resources import Warehouse


@dg.asset(
    key=["silver", "image_quality"],
    deps=[["silver", "image_stats"]],
    partitions_def=rover_sol_partitions,
    group_name="silver",
    kinds={"parquet"},
    op_tags=CPU_TAGS,
    backfill_policy=ingest_backfill_policy(),
    automation_condition=dg.AutomationCondition.eager(),
    metadata=table_metadata("image_quality"),
    description="Per image of silver image_stats: quality flags (black, blank, saturated, low_information, "
    "truncated, small_frame), 64-bit perceptual hash and near-duplicate group within its rover × camera × sol.",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=["silver", "image_quality"],
            description="WARN: no frame of the run's partitions is flagged or a near duplicate; the metadata "
            "counts frames per flag and duplicates, in all and per partition.",
        )
    ],
)
def silver_image_quality(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Flags from the partitions' image_stats rows, one small decode per image for its hash, one
    Delta commit replacing every partition of the run (up to MARS_BATCH_SOLS a run)."""
    started = time.perf_counter()
    partitions = [rover_sol_of_key(k) for k in context.partition_keys]
    stats = read_stats(warehouse, partitions)
    frames = full_frames(warehouse)
    hashed = time.perf_counter()
    hashes = hash_all(warehouse, stats)
    hash_seconds = time.perf_counter() - hashed
    rows = quality_rows(stats, hashes, frames)
    counts = totals(rows)
    result = write_silver(
        context,
        warehouse,
        "image_quality",
        rows,
        partitions,
        flagged=counts["flagged"],
        **{f"flag {name}": counts[name] for name in FLAGS},
        **{"frames in duplicate groups": counts["in_duplicate_groups"], "unhashed": counts["unhashed"]},
        **{"rover × sol partitions": len(partitions)},
        full_frames=dg.MetadataValue.md(frames_markdown(frames)),
        hash_seconds=round(hash_seconds, 3),
        seconds=round(time.perf_counter() - started, 3),
    )
    yield result
    yield quality_check(rows, partitions)
