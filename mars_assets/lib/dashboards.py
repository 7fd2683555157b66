"""Dashboard assets' helpers: read the inputs, publish a page, describe it in metadata.

The four dashboard assets (mars_assets/defs/dashboards/) each read gold/silver through the
:class:`~mars_assets.resources.Warehouse` (a folder or S3) and write one page with
``Warehouse.write_objects``: mission, traverse, images, data health. Whatever grows with the
photos (silver photos, image_stats, the quarantine tables) is aggregated in DuckDB
(:mod:`mars_assets.dashboards.queries`); only tables of rover × sol size (gold, waypoints,
traverse legs) are read whole. The pages embed plotly.js and open with no network. Each
materialization records the input row counts and columns, a markdown preview of the key
numbers, the points the page plots and the path/URL of the page.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import dagster as dg
import pyarrow as pa

from mars_assets.dashboards import (
    Dashboard,
    SelectedImage,
    page_points,
    select_images,
    thumbnail_data_uri,
)
from mars_assets.defs.automation.conditions import EAGER_OVER_PARTITIONS
from mars_assets.imaging import decode_image, log_magnitude_spectrum
from mars_assets.resources import Warehouse

GROUP = "dashboards"
#: Images picked per end (highest / lowest) of each metric for the images dashboard.
IMAGES_PER_END = 1
#: Side of the log-magnitude spectrum shown per selected image (pixels).
SPECTRUM_SIZE = 96
#: Check executions read per check for the data-health page.
CHECK_HISTORY = 2000


def read_or_none(warehouse: Warehouse, layer: str, table: str) -> pa.Table | None:
    """The whole table as Arrow, None before it is written. Only for tables of rover × sol size
    (gold models, waypoints, traverse legs): photo-sized ones go through ``queries``."""
    return warehouse.read_table(layer, table) if warehouse.has_table(layer, table) else None


def input_metadata(
    inputs: Mapping[str, pa.Table | None], counts: Mapping[str, int] | None = None
) -> dict[str, dg.MetadataValue]:
    """Row counts (``rows <layer>.<table>``) and an ``inputs`` markdown table with the columns.

    ``counts``: rows of tables the page only reads through aggregates (``rows <name>`` too,
    listed as aggregated in DuckDB)."""
    meta: dict[str, dg.MetadataValue] = {}
    lines = ["| input | rows | columns |", "|---|---:|---|"]
    for name, table in inputs.items():
        n = table.num_rows if table is not None else 0
        meta[f"rows {name}"] = dg.MetadataValue.int(n)
        cols = ", ".join(f"{f.name} ({f.type})" for f in table.schema) if table is not None else "(not written yet)"
        lines.append(f"| {name} | {n:,} | {cols} |")
    for name, n in (counts or {}).items():
        meta[f"rows {name}"] = dg.MetadataValue.int(n)
        lines.append(f"| {name} | {n:,} | (aggregated in DuckDB) |")
    meta["inputs"] = dg.MetadataValue.md("\n".join(lines))
    return meta


def publish(
    warehouse: Warehouse,
    dashboard: Dashboard,
    inputs: Mapping[str, pa.Table | None],
    extra: Mapping[str, dg.MetadataValue] | None = None,
    counts: Mapping[str, int] | None = None,
) -> dg.MaterializeResult:
    """Write ``dashboard`` to ``dashboards/<name>/index.html`` and describe it in metadata:
    path, url, bytes, charts, key numbers, ``points`` (data points over all its traces) and
    ``largest trace`` (points of the biggest one), the inputs (``input_metadata``) and ``extra``."""
    data = dashboard.html.encode("utf-8")
    uri = warehouse.write_objects(f"dashboards/{dashboard.name}", {"index.html": data})[0]
    url = uri if uri.startswith("s3://") else Path(uri).resolve().as_uri()
    points = [n for _, _, n in page_points(dashboard.html)]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(uri),
            "url": dg.MetadataValue.url(url),
            "bytes": dg.MetadataValue.int(len(data)),
            "charts": dg.MetadataValue.int(dashboard.charts),
            "points": dg.MetadataValue.int(sum(points)),
            "largest trace": dg.MetadataValue.int(max(points, default=0)),
            "preview": dg.MetadataValue.md(dashboard.preview_markdown()),
            **input_metadata(inputs, counts),
            **(extra or {}),
        }
    )


def dashboard_asset(name: str, deps: Iterable[tuple[str, str]], description: str):
    """``@dg.asset`` of the dashboard ``dashboards/<name>`` (its page: ``dashboards/<name>/index.html``)."""
    return dg.asset(
        key=["dashboards", name],
        group_name=GROUP,
        kinds={"plotly", "html"},
        automation_condition=EAGER_OVER_PARTITIONS,
        deps=[dg.AssetKey(list(d)) for d in deps],
        description=description,
    )


def selected_images(
    warehouse: Warehouse, image_stats: pa.Table | None, per_end: int = IMAGES_PER_END
) -> list[SelectedImage]:
    """The images picked by :func:`mars_assets.dashboards.select_images` from ``image_stats``
    (the whole table, or just the candidates of :func:`queries.image_candidates`; a row there
    more than once counts once), read from bronze (``bronze/images/rover=<r>/sol=<s>/<image_id>``),
    each with a JPEG thumbnail and a ``SPECTRUM_SIZE``² log-magnitude spectrum. An image whose
    bytes cannot be read or decoded keeps its statistics with no thumbnail and no spectrum."""
    if image_stats is None or not image_stats.num_rows:
        return []
    unique = {(r["rover"], r["sol"], r["image_id"]): r for r in image_stats.to_pylist()}
    out = []
    for row, labels in select_images(list(unique.values()), per_end=per_end):
        thumb = spectrum = None
        try:
            data = warehouse.read_object(f"bronze/images/rover={row['rover']}/sol={row['sol']}/{row['image_id']}")
            image = decode_image(data)
            thumb, spectrum = thumbnail_data_uri(image), log_magnitude_spectrum(image, size=SPECTRUM_SIZE)
        except (OSError, ValueError):
            pass
        out.append(SelectedImage(labels=labels, stats=row, spectrum=spectrum, thumbnail=thumb))
    return out


def check_results(instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]) -> list[dict]:
    """The latest evaluation of every check in ``check_keys`` that ran, per partition.

    One dict per check: ``asset`` (``layer/table``), ``check``, ``passed`` / ``failed``
    (partitions — or the one unpartitioned run — whose latest evaluation passed / failed),
    ``latest`` (``passed``, ``failed`` or ``planned``), ``partition`` and ``evaluated_at`` (UTC,
    ISO seconds) of the newest execution, ``description`` of its evaluation. Checks never
    executed are left out.
    """
    storage = instance.event_log_storage
    out = []
    for key in sorted(check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        latest_per_partition: dict = {}
        for rec in storage.get_asset_check_execution_history(key, limit=CHECK_HISTORY):  # newest first
            latest_per_partition.setdefault(rec.partition, rec)
        if not latest_per_partition:
            continue

        def outcome(rec) -> str:
            ev = rec.event.asset_check_evaluation if rec.event is not None else None
            if ev is None:
                return "planned"
            return "passed" if ev.passed else "failed"

        newest = max(latest_per_partition.values(), key=lambda r: r.id)
        outcomes = [outcome(r) for r in latest_per_partition.values()]
        ev = newest.event.asset_check_evaluation if newest.event is not None else None
        out.append(
            {
                "asset": key.asset_key.to_user_string(),
                "check": key.name,
                "passed": outcomes.count("passed"),
                "failed": outcomes.count("failed"),
                "latest": outcome(newest),
                "partition": newest.partition,
                "evaluated_at": dt.datetime.fromtimestamp(newest.create_timestamp, dt.UTC)
                .replace(tzinfo=None)
                .isoformat(timespec="seconds"),
                "description": (ev.description if ev is not None else None) or "",
            }
        )
    return out


def all_check_keys(context: dg.AssetExecutionContext) -> set[dg.AssetCheckKey]:
    """Every asset check of the code location: the job's asset graph is scoped to the job, the
    graph it was cut from (``source_asset_graph``) holds every asset's checks."""
    graph = context.job_def.asset_layer.asset_graph
    return set(getattr(graph, "source_asset_graph", graph).asset_check_keys)
