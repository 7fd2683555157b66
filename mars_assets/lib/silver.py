"""Silver conventions: reading bronze back, quarantine rows, and writing a table in the asset body."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pyarrow as pa

from mars_assets.metadata import column_schema
from mars_assets.resources import Warehouse
from mars_assets.schemas import SILVER_SCHEMAS
from mars_assets.sources.photos_api import PhotosApiSource

#: Characters of a quarantined record kept in its ``raw`` column.
RAW_LIMIT = 4000


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def quarantine_row(rover: str | None, sol: int | None, key: str | None, source: str, reason: str, raw: Any) -> dict:
    """A row of a ``*_quarantine`` table (mars_assets.schemas.QUARANTINE_SCHEMA)."""
    return {
        "rover": rover,
        "sol": sol,
        "record_key": key,
        "source": source,
        "reason": reason,
        "raw": json.dumps(raw, default=str)[:RAW_LIMIT] if raw is not None else None,
        "quarantined_at": now(),
    }


def bronze_bodies(warehouse: Warehouse, prefix: str) -> list[tuple[str, Any]]:
    """``(name, decoded JSON)`` of the bronze response bodies under ``prefix`` (not .meta or _index)."""
    out = []
    for name in warehouse.list_objects(prefix):
        if name.endswith(".json") and not name.endswith(".meta.json") and not name.startswith("_"):
            out.append((name, json.loads(warehouse.read_object(f"{prefix}/{name}"))))
    return out


def bronze_source(warehouse: Warehouse, prefix: str) -> str:
    """The source recorded beside a partition's bronze pages (the v1 API when none is recorded)."""
    names = [n for n in warehouse.list_objects(prefix) if n.endswith(".meta.json")]
    if not names:
        return PhotosApiSource.name
    return json.loads(warehouse.read_object(f"{prefix}/{names[0]}")).get("source", PhotosApiSource.name)


@functools.cache
def storage_schema(table: str) -> pa.Schema:
    """The schema silver ``table`` is written with: its contract without the column descriptions
    (those are for the UI and the docs, not repeated in every Parquet file)."""
    schema = SILVER_SCHEMAS[table]
    return pa.schema([f.remove_metadata() for f in schema], metadata=schema.metadata)


def table_metadata(table: str) -> dict[str, Any]:
    """Definition metadata of the silver table asset ``table``: its column schema for the UI."""
    return {"dagster/column_schema": column_schema(SILVER_SCHEMAS[table])}


def write_silver(
    warehouse: Warehouse,
    table: str,
    rows: list[dict] | pa.Table,
    partition: Mapping[str, Any] | None = None,
    **metadata: Any,
) -> dg.MaterializeResult:
    """Write silver ``table`` (or one rover × sol partition of it) typed by its schema; the
    materialization records the row count, the object path and ``metadata``."""
    data = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=storage_schema(table))
    path = warehouse.write_table("silver", table, data, partition)
    return dg.MaterializeResult(
        asset_key=["silver", table],
        metadata={"dagster/row_count": data.num_rows, "path": dg.MetadataValue.path(path), **metadata},
    )
