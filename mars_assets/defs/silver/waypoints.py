"""``silver/waypoints``: the MMGIS rover localizations, one row per waypoint (one per RMC when the
bronze folder of a rover holds several dated copies of the layer: they are merged, newest first)."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from mars_assets.lib.silver import SHOWN_REJECTS, bronze_bodies, table_metadata, write_silver
from mars_assets.partitions import ROVERS
from mars_assets.resources import Warehouse
from mars_assets.sources.drift import Drift, summarize
from mars_assets.sources.mmgis import layer_drift, merge_waypoint_copies, parse_waypoints

DRIFT_CHECK = "schema_drift"


def layer_copies(warehouse: Warehouse, rover: str, layer: str) -> list[tuple[str, Any]]:
    """``(object name, decoded body)`` of every bronze copy of the rover's MMGIS ``layer``
    ("waypoints" or "traverse") under ``bronze/waypoints/rover=<rover>/``."""
    return [(n, b) for n, b in bronze_bodies(warehouse, f"bronze/waypoints/rover={rover}") if f"_{layer}" in n]


def waypoint_rows(
    warehouse: Warehouse, drifts: list[tuple[str, Drift | None]] | None = None
) -> tuple[dict[str, list[dict]], list[dict], dict[str, list[dict]]]:
    """Every rover's waypoint rows from bronze: ``({rover: rows}, rejects, {rover: copies used})``.

    Several copies of a rover's layer are merged by :func:`merge_waypoint_copies` (one feature per
    RMC, the copy reaching the latest sol winning); the third value says, per copy, its sol
    reach, features and how many of them were kept — never a silent pick. ``drifts``, when
    given, gets ``(object name, schema drift)`` of each copy read (:func:`drift_check`).
    """
    rows: dict[str, list[dict]] = {}
    rejects: list[dict] = []
    copies: dict[str, list[dict]] = {}
    for rover in ROVERS:
        found = layer_copies(warehouse, rover, "waypoints")
        if not found:
            continue
        if drifts is not None:
            drifts += [(f"{rover} {name}", layer_drift(rover, "waypoints", body)) for name, body in found]
        body, copies[rover] = merge_waypoint_copies(found) if len(found) > 1 else (found[0][1], [])
        ok, bad = parse_waypoints(rover, body)
        rows[rover] = ok
        rejects += [{**r, "rover": rover} for r in bad]
    return rows, rejects, copies


def log_copies(context: dg.AssetExecutionContext, layer: str, copies: dict[str, list[dict]]) -> dict[str, Any]:
    """Log which copies of ``layer`` were used when a rover had several; metadata saying so."""
    for rover, used in copies.items():
        context.log.info(f"{rover}: {len(used)} copies of the {layer} layer: {used}")
    return {"layer_copies": dg.MetadataValue.json(copies)} if copies else {}


def drift_check(asset: str, drifts: list[tuple[str, Drift | None]]) -> dg.AssetCheckResult:
    """The ``schema_drift`` result of silver ``asset`` ("waypoints" or "traverse"): WARN when a
    bronze copy of the layer has feature fields its mission's layer is not known to carry, lacks
    some or has them with another JSON type (:mod:`mars_assets.sources.drift`); the metadata
    names the keys with counts per layer and the copies."""
    passed, md = summarize(drifts)
    return dg.AssetCheckResult(
        check_name=DRIFT_CHECK,
        asset_key=["silver", asset],
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={**md, "by_source": dg.MetadataValue.json(md["by_source"]), "copies": len(drifts)},
    )


def drift_spec(asset: str) -> dg.AssetCheckSpec:
    """The ``schema_drift`` check of silver ``asset`` (see :func:`drift_check`)."""
    return dg.AssetCheckSpec(
        DRIFT_CHECK,
        asset=["silver", asset],
        description=f"Each bronze copy of the MMGIS {asset} layer carries the feature properties its mission's "
        "layer is known to have, with their JSON types (mars_assets.sources.drift); names unknown, missing "
        "and retyped keys.",
    )


@dg.asset(
    key=["silver", "waypoints"],
    group_name="silver",
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "waypoints"])],
    automation_condition=dg.AutomationCondition.eager(),
    metadata=table_metadata("waypoints"),
    description="MMGIS rover localizations: one row per waypoint (lon/lat in degrees, distances in metres), "
    "with the layer's final/drive_type flag (mid-drive localizations flagged).",
    check_specs=[drift_spec("waypoints")],
)
def silver_waypoints(context: dg.AssetExecutionContext, warehouse: Warehouse) -> Iterator:
    drifts: list[tuple[str, Drift | None]] = []
    by_rover, rejects, copies = waypoint_rows(warehouse, drifts)
    if rejects:
        context.log.warning(f"{len(rejects)} waypoints features rejected: {rejects[:SHOWN_REJECTS]}")
    rows = [r for rover_rows in by_rover.values() for r in rover_rows]
    yield write_silver(
        context,
        warehouse,
        "waypoints",
        rows,
        rejected_features=len(rejects),
        mid_drive_localizations=sum(1 for r in rows if r["mid_drive"]),
        **log_copies(context, "waypoints", copies),
    )
    yield drift_check("waypoints", drifts)
