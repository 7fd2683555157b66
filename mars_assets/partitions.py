"""Partitions shared by every layer: rover (static) × sol (dynamic).

Multi-partition keys order their dimensions alphabetically by name, so the string form
of rover ``curiosity`` × sol ``1000`` is ``"curiosity|1000"``. Sols are added to the
dynamic dimension from manifests, photo listings and the landing folder
(:func:`mars_assets.partitions.add_sols`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

#: Vehicles, lower case, sorted: the rovers as the Mars Rover Photos API v1 spells them in routes,
#: and ``ingenuity`` (the Mars Helicopter: its frames come from the Mars 2020 feed; its sols are
#: Perseverance's mission sols). The v1 API never served Ingenuity.
ROVERS: tuple[str, ...] = ("curiosity", "ingenuity", "opportunity", "perseverance", "spirit")

SOL_PARTITIONS_NAME = "sol"

rover_partitions = dg.StaticPartitionsDefinition(list(ROVERS))
sol_partitions = dg.DynamicPartitionsDefinition(name=SOL_PARTITIONS_NAME)
rover_sol_partitions = dg.MultiPartitionsDefinition({"rover": rover_partitions, "sol": sol_partitions})


def rover_sol_key(rover: str, sol: int) -> dg.MultiPartitionKey:
    """The partition key of one rover × sol (``rover`` lower case, ``sol`` ≥ 0)."""
    return dg.MultiPartitionKey({"rover": rover, "sol": str(int(sol))})


def rover_sol_of_key(key: str | dg.MultiPartitionKey) -> tuple[str, int]:
    """``(rover, sol)`` of a partition key (``MultiPartitionKey`` or its ``"curiosity|1000"`` form)."""
    if not isinstance(key, dg.MultiPartitionKey):
        key = rover_sol_partitions.get_partition_key_from_str(key)
    dims = key.keys_by_dimension
    return dims["rover"], int(dims["sol"])


def rover_sol_of(context: dg.AssetExecutionContext) -> tuple[str, int]:
    """``(rover, sol)`` of the single partition the asset is materializing."""
    return rover_sol_of_key(context.partition_key)


def ingest_backfill_policy() -> dg.BackfillPolicy:
    """The backfill policy of every ingest asset: runs of at most ``MARS_BATCH_SOLS`` rover × sol
    partitions (:meth:`mars_assets.settings.Settings.batch_sols_from_env`), so a backfill of a
    whole mission makes ⌈partitions ÷ batch⌉ runs, and the demo, ``mars-assets run`` and the
    sensors cut their ranges the same way (:func:`batch_ranges`)."""
    from mars_assets.settings import Settings

    return dg.BackfillPolicy.multi_run(max_partitions_per_run=Settings.batch_sols_from_env())


def batch_ranges(order: Sequence[str], rover: str, sols: Iterable[int], batch: int) -> list[dg.PartitionKeyRange]:
    """Partition key ranges of ``rover`` covering exactly ``sols``, each at most ``batch`` partitions.

    ``order`` is the dynamic ``sol`` dimension's keys in their order (the order sols were added:
    ``instance.get_dynamic_partitions("sol")``, plus any added in the same sensor tick); a range
    spans keys in that order, so ranges are cut where it skips a sol that is not wanted. Raises
    ValueError for a sol not in ``order``.
    """
    index = {key: i for i, key in enumerate(order)}
    wanted = sorted({str(int(s)) for s in sols}, key=lambda k: index.get(k, -1))
    if missing := [k for k in wanted if k not in index]:
        raise ValueError(f"sols not in the {SOL_PARTITIONS_NAME!r} partitions yet: {', '.join(missing[:5])}")
    ranges: list[list[str]] = []
    for key in wanted:
        run = ranges[-1] if ranges else None
        if run is None or len(run) >= batch or index[key] != index[run[-1]] + 1:
            ranges.append([key])
        else:
            run.append(key)
    return [
        dg.PartitionKeyRange(str(rover_sol_key(rover, int(r[0]))), str(rover_sol_key(rover, int(r[-1]))))
        for r in ranges
    ]


def ranged_run_requests(
    order: Sequence[str], wanted: Mapping[str, Iterable[int]], batch: int, run_key: str, tags: dict | None = None
) -> list[dg.RunRequest]:
    """One RunRequest per :func:`batch_ranges` range of each rover's ``wanted`` sols, with the
    range's run tags; its run key is ``run_key`` + the range (so one state is requested once)."""
    requests = []
    for rover, sols in sorted(wanted.items()):
        for keys in batch_ranges(order, rover, sols, batch):
            requests.append(
                dg.RunRequest(run_key=f"{run_key}:{keys.start}..{keys.end}", tags={**range_tags(keys), **(tags or {})})
            )
    return requests


def range_tags(keys: dg.PartitionKeyRange) -> dict[str, str]:
    """The run tags of a ranged run over ``keys`` (what a backfill puts on its runs)."""
    return {"dagster/asset_partition_range_start": keys.start, "dagster/asset_partition_range_end": keys.end}


def add_sols(instance: dg.DagsterInstance, sols: Iterable[int]) -> list[str]:
    """Add sols missing from the dynamic ``sol`` dimension, in ascending order.

    Returns the keys that were added (strings); sols already present are left alone.
    """
    existing = set(instance.get_dynamic_partitions(SOL_PARTITIONS_NAME))
    new = [str(s) for s in sorted({int(s) for s in sols}) if str(s) not in existing]
    if new:
        instance.add_dynamic_partitions(SOL_PARTITIONS_NAME, new)
    return new
