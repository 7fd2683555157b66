"""Silver tables as Delta Lake tables, written with delta-rs (the ``deltalake`` package).

Each silver table is one Delta table at ``<root>/silver/<table>/``: Parquet data files and a
``_delta_log/`` of JSON commits (protocol: https://github.com/delta-io/delta/blob/master/PROTOCOL.md).
A write is one commit, all or nothing; a writer killed before its commit leaves only
unreferenced data files, which readers never see and vacuum removes.

Layout: rover × sol tables (PARTITIONED_TABLES) are partitioned by ``rover`` only (folders
``rover=<rover>/``); ``sol`` is a column, with per-file min/max statistics in the log, so a
read of one sol skips the other files. A commit of many sols writes one file per rover, so
the number of files grows with commits, not with sols, and compaction merges small ones.
Partitioning by sol would give a folder and a file per sol: the many-small-files read this
layout exists to avoid.

Replacing a rover × sol range is ``mode="overwrite"`` with a predicate naming exactly those
partitions: rows of other sols are kept, rows outside the predicate are refused. Two writers
of different partitions both commit (delta-rs retries a commit that does not conflict, on S3
with conditional writes, no lock service); two writers of the same partition conflict, and
the loser writes again over the winner (COMMIT_ATTEMPTS), so the table ends with one writer's
rows, never a mix.

Every commit carries ``dagster_run_id``, ``dagster_asset_key`` and ``dagster_partitions`` in
its commit info (``DeltaTable.history()``).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, PostCommitHookProperties, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from mars_assets.resources.s3 import sql_string

#: Tables written per rover × sol; partitioned by rover, sol a column.
PARTITIONED_TABLES = frozenset(
    {"photos", "photo_quarantine", "images", "image_stats", "image_quarantine", "image_quality"}
)
PARTITION_BY = ["rover"]
#: Table properties set when a table is created: a checkpoint every 10 commits keeps the log
#: short to read (a commit on S3 costs 0.4–0.7 s; with 10 about half of that).
TABLE_CONFIGURATION = {"delta.checkpointInterval": "10"}
#: Writes of one commit retried after a conflicting concurrent commit (same partition), with a
#: random wait of up to BACKOFF_SECONDS × 2^attempt between them.
COMMIT_ATTEMPTS = 8
BACKOFF_SECONDS = 0.05
#: Vacuum keeps files removed less than this long ago (Delta's own default: 7 days), so time
#: travel to versions of the last week keeps working and in-flight readers are safe.
DEFAULT_RETENTION_HOURS = 168
#: Commit info key of a write's unique id (to find its own version among concurrent commits).
COMMIT_ID = "mars_commit_id"
#: Newest commits searched for a write's own (more writers than this at once would be unusual).
HISTORY_SEARCH = 200
#: Files compaction aims at (bytes).
TARGET_FILE_SIZE = 128 << 20
#: Parquet of every write and compaction: zstd (compaction's default; snappy files were 1.75×
#: larger), and row groups small enough that a one-sol read still skips most of a compacted
#: file by its row-group statistics (rows stay in sol order: writes and compaction keep it).
WRITER_PROPERTIES = WriterProperties(compression="ZSTD", max_row_group_size=16_384)


class TableLayoutError(RuntimeError):
    """A silver table folder holds Parquet files but no Delta log (the pre-Delta layout)."""


class SchemaChangeError(RuntimeError):
    """New rows change the type of a stored column: a breaking change (see overwrite_schema)."""


def sol_ranges(sols: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted sols as inclusive ``(first, last)`` runs of consecutive sols."""
    runs: list[list[int]] = []
    for sol in sorted(set(sols)):
        if runs and sol == runs[-1][1] + 1:
            runs[-1][1] = sol
        else:
            runs.append([sol, sol])
    return [(a, b) for a, b in runs]


def _by_rover(partitions: Iterable[tuple[str, int]]) -> dict[str, list[tuple[int, int]]]:
    sols: dict[str, list[int]] = {}
    for rover, sol in partitions:
        sols.setdefault(rover, []).append(int(sol))
    return {rover: sol_ranges(s) for rover, s in sorted(sols.items())}


def partition_predicate(partitions: Iterable[tuple[str, int]]) -> str:
    """The Delta predicate of exactly these rover × sol partitions, e.g.
    ``(rover = 'curiosity' AND sol BETWEEN 0 AND 9) OR (rover = 'spirit' AND sol = 3)``.
    Raises ValueError for no partitions (a predicate must name something)."""
    terms = []
    for rover, runs in _by_rover(partitions).items():
        for a, b in runs:
            sol = f"sol = {a}" if a == b else f"sol BETWEEN {a} AND {b}"
            terms.append(f"(rover = {sql_string(rover)} AND {sol})")
    if not terms:
        raise ValueError("no partitions to replace")
    return " OR ".join(terms)


def describe_partitions(partitions: Iterable[tuple[str, int]]) -> str:
    """A short text of rover × sol partitions, e.g. ``curiosity 0-9,12; spirit 3``."""
    return "; ".join(
        f"{rover} " + ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
        for rover, runs in _by_rover(partitions).items()
    )


@dataclass(frozen=True)
class Commit:
    """What one write committed: the version it made, its rows, and the table's data files and
    bytes at that version."""

    version: int
    rows: int
    files: int
    bytes: int


def open_table(uri: str, storage_options: Mapping[str, str], version: int | str | dt.datetime | None = None):
    """The Delta table at ``uri`` (as of ``version``: a number, an ISO timestamp or a datetime), or
    None when there is none (a folder of the old layout is the caller's check: Warehouse.has_table)."""
    try:
        table = DeltaTable(uri, storage_options=dict(storage_options))
    except TableNotFoundError:
        return None
    if version is not None:
        table.load_as_version(version)
    return table


def delta_compatible(data: pa.Table) -> pa.Table:
    """``data`` with zoned timestamps labelled ``UTC`` (the same instants): Delta stores timestamps
    in UTC and delta-rs refuses other zone names, such as the ``Etc/UTC`` of DuckDB's results."""
    fields = [
        f.with_type(pa.timestamp(f.type.unit, "UTC")) if pa.types.is_timestamp(f.type) and f.type.tz else f
        for f in data.schema
    ]
    schema = pa.schema(fields, metadata=data.schema.metadata)
    return data if schema.equals(data.schema) else data.cast(schema)


def _check_schema(table: DeltaTable, data: pa.Schema, name: str) -> None:
    from deltalake import Schema

    stored = {f.name: str(f.type) for f in table.schema().fields}
    changed = [
        f"{f.name} {stored[f.name]} -> {f.type}"
        for f in Schema.from_arrow(data).fields
        if f.name in stored and stored[f.name] != str(f.type)
    ]
    if changed:
        raise SchemaChangeError(
            f"silver.{name}: new rows change stored column types ({', '.join(changed)}); "
            f"run `mars-assets tables overwrite-schema silver.{name}` to rewrite the table in the new schema "
            "(one commit; older versions stay readable)"
        )


def write_table(
    uri: str,
    data: pa.Table,
    *,
    name: str,
    storage_options: Mapping[str, str],
    partitions: list[tuple[str, int]] | None,
    commit_metadata: Mapping[str, str],
) -> Commit:
    """Replace the rows of ``partitions`` (rover × sol) of the table at ``uri`` with ``data`` in
    one commit, or the whole table when ``partitions`` is None. New columns are merged into the
    table's schema; a changed column type raises SchemaChangeError. Rows outside ``partitions``
    make delta-rs raise (DeltaError) and nothing is committed. A commit that lost to a concurrent
    writer of the same rows is written again (COMMIT_ATTEMPTS, jittered backoff), then raises
    CommitFailedError."""
    opts = dict(storage_options)
    data = delta_compatible(data)
    table = open_table(uri, opts)
    if table is not None:
        _check_schema(table, data.schema, name)
    commit_id = uuid.uuid4().hex
    kwargs: dict[str, Any] = {
        "mode": "overwrite",
        "schema_mode": "merge",
        "commit_properties": CommitProperties(custom_metadata={**commit_metadata, COMMIT_ID: commit_id}),
        "post_commithook_properties": PostCommitHookProperties(create_checkpoint=True),
        "writer_properties": WRITER_PROPERTIES,
    }
    if name in PARTITIONED_TABLES:
        kwargs["partition_by"] = PARTITION_BY
        if partitions is not None:
            kwargs["predicate"] = partition_predicate(partitions)
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            if table is None:  # the first write creates the table
                write_deltalake(uri, data, storage_options=opts, configuration=TABLE_CONFIGURATION, **kwargs)
                table = DeltaTable(uri, storage_options=opts)
                version = next(h["version"] for h in table.history(HISTORY_SEARCH) if h.get(COMMIT_ID) == commit_id)
                table.load_as_version(version)
            else:  # the table object then stands at this write's own version
                write_deltalake(table, data, **kwargs)
            break
        except CommitFailedError:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))
            table = open_table(uri, opts)  # the other writer's commit, maybe its creation of the table
    files, size = table_files(table)
    return Commit(version=table.version(), rows=data.num_rows, files=files, bytes=size)


def table_files(table: DeltaTable) -> tuple[int, int]:
    """(data files, bytes) of the table's current version."""
    actions = pa.table(table.get_add_actions(flatten=True))
    sizes = actions.column("size_bytes").to_pylist() if actions.num_rows else []
    return len(sizes), int(sum(sizes))


def history(table: DeltaTable, limit: int | None = None) -> list[dict[str, Any]]:
    """The table's commits, newest first: version, UTC timestamp, operation, the Dagster run id,
    asset key and partitions of the write, rows and files added and removed."""
    out = []
    for h in table.history(limit):
        metrics = h.get("operationMetrics") or {}
        out.append(
            {
                "version": h.get("version"),
                "timestamp": dt.datetime.fromtimestamp(h["timestamp"] / 1000, dt.UTC).isoformat(timespec="seconds"),
                "operation": h.get("operation"),
                "dagster_run_id": h.get("dagster_run_id"),
                "dagster_asset_key": h.get("dagster_asset_key"),
                "dagster_partitions": h.get("dagster_partitions"),
                "rows_added": metrics.get("num_added_rows", metrics.get("numOutputRows")),
                "files_added": metrics.get("num_added_files", metrics.get("numFilesAdded")),
                "files_removed": metrics.get("num_removed_files", metrics.get("numFilesRemoved")),
            }
        )
    return out


def conform(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """``data`` in ``schema``: columns cast to its types (ArrowInvalid when a value cannot be),
    columns it lacks dropped, its columns missing from ``data`` null."""
    cols = [
        data.column(f.name).cast(f.type) if f.name in data.column_names else pa.nulls(data.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(cols, schema=schema)


def overwrite_schema(
    uri: str, schema: pa.Schema, *, name: str, storage_options: Mapping[str, str], commit_metadata: Mapping[str, str]
) -> Commit:
    """Rewrite the whole table in ``schema`` in one commit (Delta's ``overwriteSchema``): columns
    cast to their new types, columns not in ``schema`` dropped, new ones null. Older versions
    keep their files and stay readable until vacuumed. Raises pyarrow's ArrowInvalid when a
    value cannot be cast (nothing is committed)."""
    opts = dict(storage_options)
    table = open_table(uri, opts)
    if table is None:
        raise TableNotFoundError(f"no Delta table silver.{name}")
    new = conform(pa.table(table.to_pyarrow_table()), schema)
    commit_id = uuid.uuid4().hex
    write_deltalake(
        uri,
        new,
        mode="overwrite",
        schema_mode="overwrite",
        partition_by=PARTITION_BY if name in PARTITIONED_TABLES else None,
        storage_options=opts,
        writer_properties=WRITER_PROPERTIES,
        commit_properties=CommitProperties(
            custom_metadata={**commit_metadata, "mars_operation": "overwrite-schema", COMMIT_ID: commit_id}
        ),
    )
    table = DeltaTable(uri, storage_options=opts)
    table.load_as_version(next(h["version"] for h in table.history(HISTORY_SEARCH) if h.get(COMMIT_ID) == commit_id))
    files, size = table_files(table)
    return Commit(version=table.version(), rows=new.num_rows, files=files, bytes=size)


@dataclass(frozen=True)
class Maintenance:
    """What maintain() did to one table."""

    version: int
    files_compacted: int
    files_written: int
    files_vacuumed: int
    bytes_vacuumed: int
    files: int
    bytes: int


def maintain(
    uri: str, storage_options: Mapping[str, str], retention_hours: int = DEFAULT_RETENTION_HOURS, sizes=None
) -> Maintenance | None:
    """Compact small files (one commit), checkpoint, remove expired log files, then vacuum data
    files removed by a commit, or never committed, more than ``retention_hours`` ago. ``sizes``
    maps a data file's path (relative to the table) to its size, to count the bytes vacuum
    frees. None when there is no table."""
    opts = dict(storage_options)
    table = open_table(uri, opts)
    if table is None:
        return None
    metrics = table.optimize.compact(target_size=TARGET_FILE_SIZE, writer_properties=WRITER_PROPERTIES)
    table.create_checkpoint()
    table.cleanup_metadata()
    # full: also the files no commit references (a writer killed before its commit), not only
    # those later commits replaced; both only when older than the retention
    vacuum = {"retention_hours": retention_hours, "enforce_retention_duration": False, "full": True}
    doomed = table.vacuum(dry_run=True, **vacuum)
    if sizes:  # the log still lists files an earlier vacuum deleted: count only those still there
        present = {path: sizes(path) for path in doomed}
        doomed = [path for path, size in present.items() if size is not None]
    freed = sum(present[path] for path in doomed) if sizes else 0
    if doomed:
        table.vacuum(dry_run=False, **vacuum)
    table = DeltaTable(uri, storage_options=opts)
    files, size = table_files(table)
    return Maintenance(
        version=table.version(),
        files_compacted=int(metrics.get("numFilesRemoved", 0)),
        files_written=int(metrics.get("numFilesAdded", 0)),
        files_vacuumed=len(doomed),
        bytes_vacuumed=int(freed),
        files=files,
        bytes=size,
    )
