"""``silver/images``, ``silver/image_stats``, ``silver/image_quarantine``: every bronze image, its
statistics (mars_assets.imaging) and what could not be had or decoded, per rover × sol."""

import dagster as dg

from mars_assets.executors import CPU_TAGS
from mars_assets.lib.image_batches import TABLES, ImageBatcher, PartitionCommits, TimedSubmit, stats_problems
from mars_assets.lib.silver import table_metadata
from mars_assets.partitions import ingest_backfill_policy, rover_sol_of_key, rover_sol_partitions
from mars_assets.resources import Warehouse
from mars_assets.resources.compute import ImageStatsCompute


def _spec(table: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        ["silver", table],
        kinds={"parquet"},
        deps=[["bronze", "images"]],
        automation_condition=dg.AutomationCondition.eager(),
        metadata=table_metadata(table),
        description=description,
    )


@dg.multi_asset(
    specs=[
        _spec(
            "images", "One row per image file in bronze: product id, camera, source, size, width/height/mode, SHA-256."
        ),
        _spec(
            "image_stats",
            "Per image: per-channel and grayscale intensity statistics, 256-bin histograms and 2-D FFT "
            "magnitude-spectrum summaries (mars_assets.imaging).",
        ),
        _spec("image_quarantine", "Images that could not be had or decoded, with the reason."),
    ],
    partitions_def=rover_sol_partitions,
    group_name="silver",
    can_subset=False,
    op_tags=CPU_TAGS,
    backfill_policy=ingest_backfill_policy(),
    check_specs=[
        dg.AssetCheckSpec(
            "statistics_in_range",
            asset=["silver", "image_stats"],
            description="One statistics row per image; brightness_norm and hf_energy_fraction in [0, 1]; "
            "256-bin gray histogram summing to width × height.",
        ),
    ],
)
def silver_images(context: dg.AssetExecutionContext, warehouse: Warehouse, image_stats_compute: ImageStatsCompute):
    """Images, statistics and quarantine of every rover × sol of the run (one run can hold many
    partitions: a backfill runs MARS_BATCH_SOLS partitions a run). Finished partitions are committed together,
    one Delta commit per table for up to COMMIT_PARTITIONS partitions or COMMIT_IMAGES images.
    Statistics are computed on the worker processes of ``image_stats_compute``."""
    commits = PartitionCommits(context, warehouse)
    problems = 0
    with image_stats_compute.session() as submit:
        timed = TimedSubmit(submit)
        batcher = ImageBatcher(warehouse, timed)
        for part in batcher.run([rover_sol_of_key(k) for k in context.partition_keys]):
            commits.add(part)
            problems += len(stats_problems(part.stats)) + (len(part.stats) != len(part.images))
    commits.flush()
    for table in TABLES:
        yield dg.MaterializeResult(
            asset_key=["silver", table],
            metadata={
                **commits.metadata(table),
                "partitions": len(context.partition_keys),
                "stats_wait_seconds": round(timed.waited, 3),
                "stats_workers": image_stats_compute.effective_workers,
            },
        )
    yield dg.AssetCheckResult(
        check_name="statistics_in_range",
        asset_key=["silver", "image_stats"],
        passed=problems == 0,
        metadata={"stats_rows": commits.rows["image_stats"], "problems": problems},
    )
