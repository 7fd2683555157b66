"""Sensors: new sols upstream, files landing, gaps against the manifests.

Sensors are cheap (one call per rover, one folder listing, one DuckDB query), cursor-based
and bounded per tick (``AutomationLimits.max_runs_per_tick`` run requests), well under
Dagster's 60 s sensor limit; a tick that finds nothing says why (``SkipReason``). Run keys
make a request for the same state idempotent.
"""

import hashlib
import json

import dagster as dg

from mars_assets.defs.automation.selections import IMAGE_ASSETS, INGEST_ASSETS
from mars_assets.partitions import ROVERS, SOL_PARTITIONS_NAME, ranged_run_requests, sol_partitions
from mars_assets.resources import LandingZone, UpstreamSources, Warehouse
from mars_assets.resources.automation import AutomationLimits
from mars_assets.settings import Settings
from mars_assets.sources.http import ApiError
from mars_assets.sources.product_ids import parse_product_id


def new_sols_request(context, sols: set[int]) -> list[dg.AddDynamicPartitionsRequest]:
    """The request adding ``sols`` missing from the ``sol`` dimension (empty when none is)."""
    existing = set(context.instance.get_dynamic_partitions(SOL_PARTITIONS_NAME))
    new = [str(s) for s in sorted(sols) if str(s) not in existing]
    return [sol_partitions.build_add_request(new)] if new else []


def batched(context, wanted: dict[str, list[int]], run_key: str, tags: dict | None = None) -> dg.SensorResult:
    """Ranged run requests of at most ``MARS_BATCH_SOLS`` partitions for ``wanted`` (rover → sols),
    adding the sols the ``sol`` dimension lacks in the same tick (appended in ascending order)."""
    adds = new_sols_request(context, {s for sols in wanted.values() for s in sols})
    order = [
        *context.instance.get_dynamic_partitions(SOL_PARTITIONS_NAME),
        *(k for a in adds for k in a.partition_keys),
    ]
    requests = ranged_run_requests(order, wanted, Settings.batch_sols_from_env(), run_key, tags)
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=adds)


def _changed_manifest_sols(totals: dict[int, int], known: dict, room: int) -> list[int]:
    """Sols whose manifest total changed since the cursor ``known`` (updated), at most ``room``."""
    sols = []
    for sol, total in sorted(totals.items()):
        if known.get(str(sol)) == total:
            continue
        if len(sols) >= room:
            break  # the rest next tick: the cursor records only what was requested
        sols.append(sol)
        known[str(sol)] = total
    return sols


def _sols_after(latest: int, known: dict, first_tick: int, room: int) -> list[int]:
    """The sols after the last one seen (``known["latest"]``, updated), at most ``room``."""
    sols = []
    for sol in range(max(known.get("latest", latest - first_tick) + 1, 0), latest + 1):
        if len(sols) >= room:
            break
        sols.append(sol)
        known["latest"] = sol
    return sols


def _room(automation: AutomationLimits) -> int:
    """Partitions one tick may request: ``max_runs_per_tick`` runs of ``MARS_BATCH_SOLS`` each."""
    return automation.max_runs_per_tick * Settings.batch_sols_from_env()


def _state_key(prefix: str, state: object) -> str:
    """A run key naming ``state`` (e.g. the cursor it was requested for): same state, same key."""
    return f"{prefix}:{hashlib.sha1(json.dumps(state, sort_keys=True).encode()).hexdigest()[:12]}"


@dg.sensor(
    target=INGEST_ASSETS,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="One cheap call per rover to the rover's source (mars_assets.sources.registry): the "
    "manifest where the source has one, else the latest sol. Adds new sols to the sol partitions and "
    "requests ingest runs for new sols and for sols whose manifest total_photos changed.",
)
def new_sol_sensor(context: dg.SensorEvaluationContext, sources: UpstreamSources, automation: AutomationLimits):
    """Cursor (JSON): ``{rover: {sol: total_photos}}`` for manifest sources and ``{rover:
    {"latest": sol}}`` for the others. A feed rover seen for the first time gets its
    ``first_tick_sols`` newest sols requested; later ticks request every sol after the last
    one seen. At most ``max_runs_per_tick`` runs a tick; the rest follow on the next ticks."""
    seen: dict[str, dict] = json.loads(context.cursor) if context.cursor else {}
    wanted: dict[str, list[int]] = {}
    notes = []
    for rover in ROVERS:
        source = sources.photo_source(rover)
        known = seen.setdefault(rover, {})
        room = _room(automation) - sum(map(len, wanted.values()))
        try:
            totals = source.manifest_totals(rover)
            if totals is not None:
                sols = _changed_manifest_sols(totals, known, room)
            else:
                sols = _sols_after(source.latest_sol(rover), known, automation.first_tick_sols, room)
        except ApiError as exc:
            notes.append(f"{rover}: {source.name} HTTP {exc.status}")
            continue
        if sols:
            wanted[rover] = sols
    if not wanted:
        unavailable = f" (unavailable: {', '.join(notes)})" if notes else ""
        return dg.SkipReason("no new sols and no changed photo counts" + unavailable)
    cursor = json.dumps(seen, separators=(",", ":"))
    result = batched(context, wanted, _state_key("new_sols", seen))
    return dg.SensorResult(
        run_requests=result.run_requests, dynamic_partitions_requests=result.dynamic_partitions_requests, cursor=cursor
    )


@dg.sensor(
    target=IMAGE_ASSETS,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Watches the landing zone: files that landed since the cursor become bronze images and "
    "image statistics of their rover × sol. Cursor = (landed time, path) of the last file taken, so no "
    "file is taken twice or skipped.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZone, automation: AutomationLimits):
    cursor = tuple(json.loads(context.cursor)) if context.cursor else (0.0, "")
    files = sorted(
        (f for f in landing.list_images() if (f.landed_at, f.path) > cursor), key=lambda f: (f.landed_at, f.path)
    )
    if not files:
        return dg.SkipReason(f"no file landed since {cursor[1] or 'the start'}")
    partitions: dict[tuple[str, int], list[str]] = {}
    last = cursor
    for f in files:
        pid = parse_product_id(f.path)
        key = (pid.rover, pid.sol)
        if pid.sol is not None and key not in partitions and len(partitions) >= _room(automation):
            break  # this file and later ones next tick
        if pid.sol is not None:
            partitions.setdefault(key, []).append(f.path)
        last = (f.landed_at, f.path)
    wanted: dict[str, list[int]] = {}
    for r, s in sorted(partitions):
        wanted.setdefault(r, []).append(s)
    result = batched(context, wanted, f"landing:{last[0]}|{last[1]}")
    return dg.SensorResult(
        run_requests=result.run_requests,
        dynamic_partitions_requests=result.dynamic_partitions_requests,
        cursor=json.dumps(list(last)),
    )


@dg.sensor(
    target=INGEST_ASSETS,
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="The self-healing loop: reads gold.photo_gaps and requests the partitions that are "
    "MISSING_SOL or mismatched against the manifest, in ranged runs of MARS_BATCH_SOLS partitions "
    "(at most max_runs_per_tick runs a tick).",
)
def photo_gap_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse, automation: AutomationLimits):
    if not warehouse.has_table("gold", "photo_gaps"):
        return dg.SkipReason("gold.photo_gaps has not been built yet")
    with warehouse.connect() as con:
        gaps = con.execute(
            "select rover, sol, gap_status, manifest_photos, silver_photos "
            f"from {warehouse.relation_sql('gold', 'photo_gaps')} where gap_status <> 'VALID' "
            "order by rover, sol limit ?",
            [_room(automation)],
        ).fetchall()
    if not gaps:
        return dg.SkipReason("every manifest sol is VALID")
    wanted: dict[str, list[int]] = {}
    for r, s, *_ in gaps:
        wanted.setdefault(r, []).append(s)
    statuses = ",".join(sorted({g[2] for g in gaps}))
    return batched(context, wanted, _state_key("gap", gaps), tags={"mars_assets/gap_status": statuses})
