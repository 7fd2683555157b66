"""``silver/traverse``: the MMGIS traverse legs, one row per drive leg, with the sol each was given
(by the layer, or by matching its end points to the waypoints: see mars_assets.sources.mmgis_legs)."""

import collections
from collections.abc import Iterator

import dagster as dg

from mars_assets.defs.silver.waypoints import drift_check, drift_spec, layer_copies, log_copies, waypoint_rows
from mars_assets.lib.silver import SHOWN_REJECTS, table_metadata, write_silver
from mars_assets.partitions import ROVERS
from mars_assets.resources import Warehouse
from mars_assets.sources.drift import Drift
from mars_assets.sources.mmgis import layer_drift, newest_copy, parse_traverse


@dg.asset(
    key=["silver", "traverse"],
    group_name="silver",
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "waypoints"])],
    automation_condition=dg.AutomationCondition.eager(),
    metadata=table_metadata("traverse"),
    description="MMGIS traverse legs: one row per drive leg with its sol (from the layer, or from the waypoints "
    "its ends lie on: sol_source), length and counted distance in metres, and its line as WKT (lon lat). A leg "
    "without a sol is kept with its reason. Empty when no traverse layer was fetched.",
    check_specs=[drift_spec("traverse")],
)
def silver_traverse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> Iterator:
    waypoints, _, _ = waypoint_rows(warehouse)
    drifts: list[tuple[str, Drift | None]] = []
    rows: list[dict] = []
    rejects: list[dict] = []
    copies: dict[str, list[dict]] = {}
    for rover in ROVERS:
        found = layer_copies(warehouse, rover, "traverse")
        if not found:
            continue
        drifts += [(f"{rover} {name}", layer_drift(rover, "traverse", b)) for name, b in found]
        body, used = newest_copy(found)
        if len(found) > 1:
            copies[rover] = used
        ok, bad = parse_traverse(rover, body, waypoints.get(rover, []))
        rows += ok
        rejects += [{**r, "rover": rover} for r in bad]
    if rejects:
        context.log.warning(f"{len(rejects)} traverse features rejected: {rejects[:SHOWN_REJECTS]}")
    unmatched = [r for r in rows if r["reason"]]
    if unmatched:
        shown = [{k: r[k] for k in ("rover", "feature_index", "reason")} for r in unmatched[:SHOWN_REJECTS]]
        context.log.warning(f"{len(unmatched)} traverse legs kept but not counted: {shown}")
    sources = collections.Counter(f"{r['rover']}/{r['sol_source']}" for r in rows)
    yield write_silver(
        context,
        warehouse,
        "traverse",
        rows,
        rejected_features=len(rejects),
        legs_not_counted=len(unmatched),
        legs_by_sol_source=dg.MetadataValue.json(dict(sorted(sources.items()))),
        **log_copies(context, "traverse", copies),
    )
    yield drift_check("traverse", drifts)
