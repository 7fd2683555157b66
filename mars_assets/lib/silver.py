"""Silver conventions: reading bronze back, quarantine rows, and writing a table in the asset body."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import Any

import dagster as dg
import pyarrow as pa

from mars_assets.metadata import column_schema
from mars_assets.partitions import ROVERS
from mars_assets.resources import Warehouse
from mars_assets.resources.delta_tables import describe_partitions
from mars_assets.schemas import SILVER_SCHEMAS
from mars_assets.sources.photos_api import PhotosApiSource, parse_manifest, parse_rover, parse_rovers_listing, photos_of

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


def _bodies(warehouse: Warehouse, prefix: str, names: list[str]) -> list[tuple[str, Any]]:
    return [
        (name, json.loads(warehouse.read_object(f"{prefix}/{name}")))
        for name in names
        if name.endswith(".json") and not name.endswith(".meta.json") and not name.startswith("_")
    ]


def bronze_bodies(warehouse: Warehouse, prefix: str) -> list[tuple[str, Any]]:
    """``(name, decoded JSON)`` of the bronze response bodies under ``prefix`` (not .meta or _index)."""
    return _bodies(warehouse, prefix, warehouse.list_objects(prefix))


def bronze_pages(warehouse: Warehouse, prefix: str) -> tuple[str, list[tuple[str, Any]]]:
    """The source recorded beside a partition's bronze pages (the v1 API when none is recorded)
    and the pages' ``(name, decoded JSON)``, from one listing of ``prefix``."""
    names = warehouse.list_objects(prefix)
    metas = [n for n in names if n.endswith(".meta.json")]
    source = PhotosApiSource.name
    if metas:
        source = json.loads(warehouse.read_object(f"{prefix}/{metas[0]}")).get("source", source)
    return source, _bodies(warehouse, prefix, names)


@functools.cache
def storage_schema(table: str) -> pa.Schema:
    """The schema silver ``table`` is written with: its contract without the column descriptions
    (those are for the UI and the docs, not repeated in every Parquet file)."""
    schema = SILVER_SCHEMAS[table]
    return pa.schema([f.remove_metadata() for f in schema], metadata=schema.metadata)


def table_metadata(table: str) -> dict[str, Any]:
    """Definition metadata of the silver table asset ``table``: its column schema for the UI."""
    return {"dagster/column_schema": column_schema(SILVER_SCHEMAS[table])}


def commit_metadata(context: dg.AssetExecutionContext, table: str, partitions: list[tuple[str, int]] | None) -> dict:
    """What a silver commit records about its write (Delta commit info): run, asset, partitions,
    and the table schema's metadata (e.g. ``mars_assets.image_stats_version``), which Delta's
    data files do not keep."""
    schema_metadata = storage_schema(table).metadata or {}
    return {
        **{k.decode(): v.decode() for k, v in schema_metadata.items()},
        "dagster_run_id": context.run.run_id,
        "dagster_asset_key": f"silver/{table}",
        "dagster_partitions": describe_partitions(partitions) if partitions is not None else "all",
    }


def write_silver(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    table: str,
    rows: list[dict] | pa.Table,
    partitions: list[tuple[str, int]] | None = None,
    **metadata: Any,
) -> dg.MaterializeResult:
    """Write silver ``table`` typed by its schema: replace the rover × sol ``partitions`` (the
    whole table when None) in one Delta commit that names the run. The materialization records
    the rows written, the table version it made, the table's files and bytes at that version,
    and ``metadata``."""
    data = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=storage_schema(table))
    commit = warehouse.write_silver_table(table, data, partitions, commit_metadata(context, table, partitions))
    return dg.MaterializeResult(
        asset_key=["silver", table],
        metadata={
            "dagster/row_count": data.num_rows,
            "dagster/uri": warehouse.table_uri("silver", table),
            "delta_version": commit.version,
            "table_files": commit.files,
            "table_bytes": dg.MetadataValue.int(commit.bytes),
            **metadata,
        },
    )


#: Rejected features shown in the warning of a run (all are counted in metadata).
SHOWN_REJECTS = 5


def parse_layers(warehouse: Warehouse, layer: str, parse) -> tuple[list[dict], list[dict]]:
    """Rows and rejects of every rover's bronze MMGIS ``layer`` ("waypoints" or "traverse")."""
    rows, rejects = [], []
    for rover in ROVERS:
        for name, body in bronze_bodies(warehouse, f"bronze/waypoints/rover={rover}"):
            if f"_{layer}" in name:
                ok, bad = parse(rover, body)
                rows += ok
                rejects += [{**r, "rover": rover, "object": name} for r in bad]
    return rows, rejects


def write_layer(context: dg.AssetExecutionContext, warehouse: Warehouse, table: str, parse) -> dg.MaterializeResult:
    """Parse the bronze layer of silver ``table``, write it, warn about rejected features."""
    rows, rejects = parse_layers(warehouse, table, parse)
    if rejects:
        context.log.warning(f"{len(rejects)} {table} features rejected: {rejects[:SHOWN_REJECTS]}")
    return write_silver(context, warehouse, table, rows, rejected_features=len(rejects))


#: The opening of a v1 photos page, up to its first photo object.
_PHOTOS_OPENING = re.compile(r'\s*\{\s*"photos"\s*:\s*\[\s*')


def first_photo(raw: bytes) -> Any:
    """The first photo object of a v1 photos page, decoding only that object (a whole mission's
    pages are ~1 GB of JSON); a page of another shape is decoded whole. None without photos.
    Raises ValueError for a body that is not JSON."""
    text = raw.decode("utf-8", errors="replace")
    if m := _PHOTOS_OPENING.match(text):
        if text[m.end() : m.end() + 1] == "]":
            return None
        return json.JSONDecoder().raw_decode(text, m.end())[0]
    body = json.loads(text)
    if not isinstance(body, dict) or not {"photos", "latest_photos"} & body.keys():
        return None  # a JPL feed page: it carries no rover object
    photos = photos_of(body)
    return photos[0] if photos else None


def rover_records(warehouse: Warehouse) -> list[tuple[dict, str]]:
    """Every rover object seen in bronze (listing, manifests, photo pages) with where it came from.

    Of each sol's first photo page only its first photo is decoded (:func:`first_photo`): the
    rover object every v1 photo embeds is the same within a response.
    """
    found = []
    for _n, body in bronze_bodies(warehouse, "bronze/rovers"):
        found += [(r, "rovers_listing") for r in parse_rovers_listing(body)]
    for rover in ROVERS:
        for _n, body in bronze_bodies(warehouse, f"bronze/manifests/rover={rover}"):
            found.append((parse_manifest(body)[0], "manifest"))
    for path in warehouse.list_objects("bronze/photos"):
        if path.endswith("page-0001.json"):
            photo = first_photo(warehouse.read_object(f"bronze/photos/{path}"))
            if isinstance(photo, dict) and photo.get("rover"):
                found.append((parse_rover(photo["rover"]), "photos"))
    return found
