"""Dashboards: self-contained plotly HTML pages written to ``<root>/dashboards/<name>/index.html``.

Four assets in the group ``dashboards``, each reading gold/silver through the
:class:`~mars_assets.resources.Warehouse` (a folder or S3) and writing one page with
``Warehouse.write_objects``: mission, traverse, images, data health. The pages embed
plotly.js and open with no network. Each materialization records the input row counts and
columns, a markdown preview of the key numbers and the path/URL of the page.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import dagster as dg
import pyarrow as pa

from mars_assets.dashboards import (
    Dashboard,
    SelectedImage,
    build_health_dashboard,
    build_images_dashboard,
    build_mission_dashboard,
    build_traverse_dashboard,
    select_images,
    thumbnail_data_uri,
)
from mars_assets.imaging import decode_image, log_magnitude_spectrum
from mars_assets.partitions import EAGER_OVER_PARTITIONS
from mars_assets.resources import Warehouse

GROUP = "dashboards"
#: Images picked per end (highest / lowest) of each metric for the images dashboard.
IMAGES_PER_END = 1
#: Side of the log-magnitude spectrum shown per selected image (pixels).
SPECTRUM_SIZE = 96
#: Check executions read per check for the data-health page.
CHECK_HISTORY = 2000


def _read(warehouse: Warehouse, layer: str, table: str) -> pa.Table | None:
    return warehouse.read_table(layer, table) if warehouse.has_table(layer, table) else None


def page_path(name: str) -> str:
    """The page of dashboard ``name`` relative to the warehouse root: ``dashboards/<name>/index.html``."""
    return f"dashboards/{name}/index.html"


def camera_sols(warehouse: Warehouse) -> pa.Table | None:
    """Photos per rover × sol × camera (columns rover, sol, camera, photos) from silver photos;
    None when silver photos has not been written."""
    if not warehouse.has_table("silver", "photos"):
        return None
    with warehouse.connect() as con:
        return con.execute(
            "select rover, sol, coalesce(camera, '?') as camera, count(*) as photos "
            f"from {warehouse.relation_sql('silver', 'photos')} group by all order by all"
        ).fetch_arrow_table()


def _input_metadata(inputs: Mapping[str, pa.Table | None]) -> dict[str, dg.MetadataValue]:
    """Row counts (``rows <layer>.<table>``) and an ``inputs`` markdown table with the columns."""
    meta: dict[str, dg.MetadataValue] = {}
    lines = ["| input | rows | columns |", "|---|---:|---|"]
    for name, table in inputs.items():
        n = table.num_rows if table is not None else 0
        meta[f"rows {name}"] = dg.MetadataValue.int(n)
        cols = ", ".join(f"{f.name} ({f.type})" for f in table.schema) if table is not None else "(not written yet)"
        lines.append(f"| {name} | {n:,} | {cols} |")
    meta["inputs"] = dg.MetadataValue.md("\n".join(lines))
    return meta


def _publish(
    warehouse: Warehouse,
    dashboard: Dashboard,
    inputs: Mapping[str, pa.Table | None],
    extra: Mapping[str, dg.MetadataValue] | None = None,
) -> dg.MaterializeResult:
    """Write ``dashboard`` to ``dashboards/<name>/index.html`` and describe it in metadata."""
    data = dashboard.html.encode("utf-8")
    uri = warehouse.write_objects(f"dashboards/{dashboard.name}", {"index.html": data})[0]
    url = uri if uri.startswith("s3://") else Path(uri).resolve().as_uri()
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(uri),
            "url": dg.MetadataValue.url(url),
            "bytes": dg.MetadataValue.int(len(data)),
            "charts": dg.MetadataValue.int(dashboard.charts),
            "preview": dg.MetadataValue.md(dashboard.preview_markdown()),
            **_input_metadata(inputs),
            **(extra or {}),
        }
    )


def _asset(name: str, deps: Iterable[tuple[str, str]], description: str):
    return dg.asset(
        key=["dashboards", name],
        group_name=GROUP,
        kinds={"plotly", "html"},
        automation_condition=EAGER_OVER_PARTITIONS,
        deps=[dg.AssetKey(list(d)) for d in deps],
        description=description,
    )


@_asset(
    "mission_dashboard",
    [
        ("gold", "mission_summary"),
        ("gold", "camera_usage"),
        ("gold", "sol_activity"),
        ("gold", "photo_gaps"),
        ("silver", "photos"),
    ],
    "dashboards/mission/index.html: photos per sol (manifest and warehouse), mission length, camera usage "
    "shares, photos per camera and sol, cumulative distance; rover dropdowns, camera legends.",
)
def mission_dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    inputs = {
        "gold.mission_summary": _read(warehouse, "gold", "mission_summary"),
        "gold.camera_usage": _read(warehouse, "gold", "camera_usage"),
        "gold.sol_activity": _read(warehouse, "gold", "sol_activity"),
        "gold.photo_gaps": _read(warehouse, "gold", "photo_gaps"),
        "silver.photos by camera and sol": camera_sols(warehouse),
    }
    page = build_mission_dashboard(
        mission_summary=inputs["gold.mission_summary"],
        camera_usage=inputs["gold.camera_usage"],
        sol_activity=inputs["gold.sol_activity"],
        photo_gaps=inputs["gold.photo_gaps"],
        camera_sols=inputs["silver.photos by camera and sol"],
    )
    return _publish(warehouse, page, inputs)


@_asset(
    "traverse_dashboard",
    [("silver", "waypoints"), ("silver", "traverse"), ("gold", "sol_activity")],
    "dashboards/traverse/index.html: each rover's path (lon/lat) from MMGIS waypoints and traverse legs, "
    "coloured by sol, beside its distance per sol.",
)
def traverse_dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    inputs = {
        "silver.waypoints": _read(warehouse, "silver", "waypoints"),
        "silver.traverse": _read(warehouse, "silver", "traverse"),
        "gold.sol_activity": _read(warehouse, "gold", "sol_activity"),
    }
    page = build_traverse_dashboard(
        waypoints=inputs["silver.waypoints"],
        traverse=inputs["silver.traverse"],
        sol_activity=inputs["gold.sol_activity"],
    )
    return _publish(warehouse, page, inputs)


def selected_images(
    warehouse: Warehouse, image_stats: pa.Table | None, per_end: int = IMAGES_PER_END
) -> list[SelectedImage]:
    """The images picked by :func:`mars_assets.dashboards.select_images`, read from bronze
    (``bronze/images/rover=<r>/sol=<s>/<image_id>``), each with a JPEG thumbnail and a
    ``SPECTRUM_SIZE``² log-magnitude spectrum. An image whose bytes cannot be read or decoded
    keeps its statistics with no thumbnail and no spectrum."""
    if image_stats is None or not image_stats.num_rows:
        return []
    out = []
    for row, labels in select_images(image_stats.to_pylist(), per_end=per_end):
        thumb = spectrum = None
        try:
            data = warehouse.read_object(f"bronze/images/rover={row['rover']}/sol={row['sol']}/{row['image_id']}")
            image = decode_image(data)
            thumb, spectrum = thumbnail_data_uri(image), log_magnitude_spectrum(image, size=SPECTRUM_SIZE)
        except (OSError, ValueError):
            pass
        out.append(SelectedImage(labels=labels, stats=row, spectrum=spectrum, thumbnail=thumb))
    return out


@_asset(
    "images_dashboard",
    [("silver", "image_stats"), ("gold", "image_stats_daily")],
    "dashboards/images/index.html: the extreme images by brightness, sharpness and spectral slope with "
    "thumbnail, RGB histograms, log-magnitude and radial power spectra; per-camera trends over sols.",
)
def images_dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    inputs = {
        "silver.image_stats": _read(warehouse, "silver", "image_stats"),
        "gold.image_stats_daily": _read(warehouse, "gold", "image_stats_daily"),
    }
    picks = selected_images(warehouse, inputs["silver.image_stats"])
    page = build_images_dashboard(
        image_stats=inputs["silver.image_stats"], image_stats_daily=inputs["gold.image_stats_daily"], selected=picks
    )
    shown = ", ".join(f"{p.stats['image_id']} ({'/'.join(p.labels)})" for p in picks)
    return _publish(warehouse, page, inputs, {"selected images": dg.MetadataValue.text(shown or "none")})


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


@_asset(
    "data_health_dashboard",
    [
        ("gold", "photo_gaps"),
        ("silver", "photo_quarantine"),
        ("silver", "image_quarantine"),
        ("silver", "landing_files"),
    ],
    "dashboards/data_health/index.html: manifest sols by gap status, quarantined inputs with reasons "
    "(silver *_quarantine tables and quarantined landing files), latest asset-check results.",
)
def data_health_dashboard(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    inputs = {
        "gold.photo_gaps": _read(warehouse, "gold", "photo_gaps"),
        "silver.photo_quarantine": _read(warehouse, "silver", "photo_quarantine"),
        "silver.image_quarantine": _read(warehouse, "silver", "image_quarantine"),
        "silver.landing_files": _read(warehouse, "silver", "landing_files"),
    }
    try:
        checks: list[dict] | None = check_results(context.instance, all_check_keys(context))
    except Exception as exc:  # the page is still useful without them
        context.log.warning(f"asset check results not available: {exc!r}")
        checks = None
    page = build_health_dashboard(
        photo_gaps=inputs["gold.photo_gaps"],
        photo_quarantine=inputs["silver.photo_quarantine"],
        image_quarantine=inputs["silver.image_quarantine"],
        landing_files=inputs["silver.landing_files"],
        check_results=checks,
    )
    extra = {
        "asset checks": dg.MetadataValue.int(len(checks) if checks is not None else 0),
        "asset checks failing": dg.MetadataValue.int(sum(c["latest"] == "failed" for c in checks or [])),
    }
    return _publish(warehouse, page, inputs, extra)


#: Every dashboard asset (definitions.py lists these).
DASHBOARD_ASSETS = [mission_dashboard, traverse_dashboard, images_dashboard, data_health_dashboard]
