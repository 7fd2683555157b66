"""Partitions shared by every layer: rover (static) × sol (dynamic).

Multi-partition keys order their dimensions alphabetically by name, so the string form
of rover ``curiosity`` × sol ``1000`` is ``"curiosity|1000"``. Sols are added to the
dynamic dimension from manifests, photo listings and the landing folder
(:func:`mars_assets.partitions.add_sols`).
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

#: Rover names as the Mars Rover Photos API v1 spells them in routes (case-insensitive there).
ROVERS: tuple[str, ...] = ("curiosity", "opportunity", "perseverance", "spirit")

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


def add_sols(instance: dg.DagsterInstance, sols: Iterable[int]) -> list[str]:
    """Add sols missing from the dynamic ``sol`` dimension, in ascending order.

    Returns the keys that were added (strings); sols already present are left alone.
    """
    existing = set(instance.get_dynamic_partitions(SOL_PARTITIONS_NAME))
    new = [str(s) for s in sorted({int(s) for s in sols}) if str(s) not in existing]
    if new:
        instance.add_dynamic_partitions(SOL_PARTITIONS_NAME, new)
    return new
