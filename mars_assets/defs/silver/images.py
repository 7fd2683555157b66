"""``silver/images``, ``silver/image_stats``, ``silver/image_quarantine``: every bronze image, its
statistics (mars_assets.imaging) and what could not be had or decoded, per rover × sol."""

import dagster as dg

from mars_assets.lib.image_batches import ImageBatcher, TimedSubmit, stats_problems
from mars_assets.lib.silver import table_metadata, write_silver
from mars_assets.partitions import rover_sol_of_key, rover_sol_partitions
from mars_assets.resources import Warehouse
from mars_assets.resources.compute import ImageStatsCompute

TABLES = ("images", "image_stats", "image_quarantine")


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
    backfill_policy=dg.BackfillPolicy.single_run(),
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
    partitions: a backfill runs as a single run). Each partition is written whole. Statistics are
    computed on the worker processes of ``image_stats_compute``."""
    totals = dict.fromkeys(TABLES, 0)
    problems = 0
    with image_stats_compute.session() as submit:
        timed = TimedSubmit(submit)
        batcher = ImageBatcher(warehouse, timed)
        for part in batcher.run([rover_sol_of_key(k) for k in context.partition_keys]):
            where = {"rover": part.rover, "sol": part.sol}
            for table, rows in zip(TABLES, (part.images, part.stats, part.bad), strict=True):
                write_silver(warehouse, table, rows, where)
                totals[table] += len(rows)
            problems += len(stats_problems(part.stats)) + (len(part.stats) != len(part.images))
    for table, rows in totals.items():
        yield dg.MaterializeResult(
            asset_key=["silver", table],
            metadata={
                "dagster/row_count": rows,
                "partitions": len(context.partition_keys),
                "stats_wait_seconds": round(timed.waited, 3),
                "stats_workers": image_stats_compute.effective_workers,
            },
        )
    yield dg.AssetCheckResult(
        check_name="statistics_in_range",
        asset_key=["silver", "image_stats"],
        passed=problems == 0,
        metadata={"stats_rows": totals["image_stats"], "problems": problems},
    )
