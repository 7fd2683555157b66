"""Automation: sensors (new sols, landing zone, gaps) and schedules.

Sensors are cheap (one call per rover, one folder listing, one DuckDB query), cursor-based
and bounded per tick (``MAX_RUNS_PER_TICK`` run requests), well under Dagster's 60 s sensor
limit; a tick that finds nothing says why (``SkipReason``). Run keys make a request for
the same state idempotent.
"""

import json
import os

import dagster as dg

from mars_assets.partitions import ROVERS, SOL_PARTITIONS_NAME, rover_sol_key, sol_partitions
from mars_assets.resources import ApiError, LandingZone, PhotosApiClient, Warehouse
from mars_assets.resources.jpl import JplMars2020Client, JplMslClient
from mars_assets.resources.sources import PhotoSources
from mars_assets.sources.photos_api import parse_manifest
from mars_assets.sources.product_ids import parse_product_id

MAX_RUNS_PER_TICK = int(os.environ.get("MARS_MAX_RUNS_PER_TICK", "25"))

INGEST_ASSETS = dg.AssetSelection.assets(
    ["bronze", "photos"],
    ["silver", "photos"],
    ["silver", "photo_quarantine"],
    ["bronze", "images"],
    ["silver", "images"],
    ["silver", "image_stats"],
    ["silver", "image_quarantine"],
)
IMAGE_ASSETS = dg.AssetSelection.assets(
    ["bronze", "images"], ["silver", "images"], ["silver", "image_stats"], ["silver", "image_quarantine"]
)


def _new_sols(context, sols: set[int]) -> list[dg.AddDynamicPartitionsRequest]:
    existing = set(context.instance.get_dynamic_partitions(SOL_PARTITIONS_NAME))
    new = [str(s) for s in sorted(sols) if str(s) not in existing]
    return [sol_partitions.build_add_request(new)] if new else []


#: Sols requested the first time the sensor sees a JPL feed (its newest sol and the ones before).
FIRST_TICK_SOLS = int(os.environ.get("MARS_FIRST_TICK_SOLS", "3"))


@dg.sensor(
    target=INGEST_ASSETS,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="One cheap call per rover: the manifest (Photos API v1 sources) or the latest sol "
    "(JPL raw-image feeds). Adds new sols to the sol partitions and requests ingest runs for "
    "new sols and for sols whose manifest total_photos changed.",
)
def new_sol_sensor(
    context: dg.SensorEvaluationContext,
    photos_api: PhotosApiClient,
    photo_sources: PhotoSources,
    jpl_mars2020: JplMars2020Client,
    jpl_msl: JplMslClient,
):
    """Cursor (JSON): ``{rover: {sol: total_photos}}`` for manifest rovers and
    ``{rover: {"latest": sol}}`` for JPL-feed rovers. A JPL rover seen for the first time gets
    its ``FIRST_TICK_SOLS`` newest sols requested; later ticks request every sol after the last
    one seen. At most ``MAX_RUNS_PER_TICK`` runs a tick; the rest follow on the next ticks."""
    seen: dict[str, dict[str, int]] = json.loads(context.cursor) if context.cursor else {}
    requests, all_sols, notes = [], set(), []
    feeds = {"jpl_mars2020": jpl_mars2020, "jpl_msl": jpl_msl}
    for rover in ROVERS:
        source = photo_sources.source_for(rover)
        known = seen.setdefault(rover, {})
        if source in feeds:
            try:
                latest = feeds[source].latest_sol()
            except ApiError as exc:
                notes.append(f"{rover}: {source} HTTP {exc.status}")
                continue
            last = known.get("latest", latest - FIRST_TICK_SOLS)
            for sol in range(max(last + 1, 0), latest + 1):
                if len(requests) >= MAX_RUNS_PER_TICK:
                    break
                all_sols.add(sol)
                requests.append(
                    dg.RunRequest(partition_key=rover_sol_key(rover, sol), run_key=f"{source}:{rover}|{sol}")
                )
                known["latest"] = sol
            continue
        try:
            _rover, entries = parse_manifest(json.loads(photos_api.manifest(rover).body))
        except ApiError as exc:
            notes.append(f"{rover}: manifest HTTP {exc.status}")
            continue
        for e in entries:
            sol, total = e["sol"], e["total_photos"]
            if known.get(str(sol)) == total:
                continue
            if len(requests) >= MAX_RUNS_PER_TICK:
                break  # the rest next tick: the cursor records only what was requested
            all_sols.add(sol)
            requests.append(
                dg.RunRequest(partition_key=rover_sol_key(rover, sol), run_key=f"manifest:{rover}|{sol}|{total}")
            )
            known[str(sol)] = total
    if not requests:
        return dg.SkipReason(
            "no new sols and no changed photo counts" + (f" (unavailable: {', '.join(notes)})" if notes else "")
        )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=_new_sols(context, all_sols),
        cursor=json.dumps(seen, separators=(",", ":")),
    )


@dg.sensor(
    target=IMAGE_ASSETS,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Watches the landing zone: files that landed since the cursor become bronze images and "
    "image statistics of their rover × sol. Cursor = (landed time, path) of the last file "
    "taken, so no file is taken twice or skipped.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
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
        if pid.sol is not None and key not in partitions and len(partitions) >= MAX_RUNS_PER_TICK:
            break  # this file and later ones next tick
        if pid.sol is not None:
            partitions.setdefault(key, []).append(f.path)
        last = (f.landed_at, f.path)
    requests = [
        dg.RunRequest(partition_key=rover_sol_key(r, s), run_key=f"landing:{r}|{s}|{last[0]}|{len(paths)}")
        for (r, s), paths in sorted(partitions.items())
    ]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=_new_sols(context, {s for _, s in partitions}),
        cursor=json.dumps(list(last)),
    )


@dg.sensor(
    target=INGEST_ASSETS,
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="The self-healing loop: reads gold.photo_gaps and requests the partitions that are "
    "MISSING_SOL or mismatched against the manifest (at most MAX_RUNS_PER_TICK a tick).",
)
def photo_gap_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    if not warehouse.has_table("gold", "photo_gaps"):
        return dg.SkipReason("gold.photo_gaps has not been built yet")
    with warehouse.connect() as con:
        gaps = con.execute(
            f"select rover, sol, gap_status, manifest_photos, silver_photos "
            f"from {warehouse.relation_sql('gold', 'photo_gaps')} where gap_status <> 'VALID' "
            "order by rover, sol limit ?",
            [MAX_RUNS_PER_TICK],
        ).fetchall()
    if not gaps:
        return dg.SkipReason("every manifest sol is VALID")
    requests = [
        dg.RunRequest(
            partition_key=rover_sol_key(r, s), run_key=f"gap:{r}|{s}|{m}|{n}", tags={"mars_assets/gap_status": status}
        )
        for r, s, status, m, n in gaps
    ]
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=_new_sols(context, {g[1] for g in gaps}))


RECENT_SOLS = int(os.environ.get("MARS_RECENT_SOLS", "3"))


@dg.schedule(
    cron_schedule=os.environ.get("MARS_INGEST_CRON", "0 6 * * *"),
    target=INGEST_ASSETS,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: re-ingest each rover's most recent sols from the manifest (new photos keep "
    "arriving for a few sols after they are taken).",
)
def daily_recent_sols(context: dg.ScheduleEvaluationContext, warehouse: Warehouse):
    if not warehouse.has_table("silver", "manifest_sols"):
        return dg.SkipReason("silver.manifest_sols has not been built yet")
    with warehouse.connect() as con:
        recent = con.execute(
            f"select rover, sol from (select rover, sol, row_number() over "
            f"(partition by rover order by sol desc) as n from {warehouse.relation_sql('silver', 'manifest_sols')}) "
            "where n <= ? order by rover, sol",
            [RECENT_SOLS],
        ).fetchall()
    date = context.scheduled_execution_time.date().isoformat()
    return [dg.RunRequest(partition_key=rover_sol_key(r, s), run_key=f"daily:{date}:{r}|{s}") for r, s in recent]


#: The seed rebuilt its gold tables on Sundays at 14:23.
GOLD_CRON = os.environ.get("MARS_GOLD_CRON", "23 14 * * 0")
gold_rebuild_job = dg.define_asset_job(
    "gold_rebuild_job",
    selection=dg.AssetSelection.groups("gold", "catalog", "dashboards"),
    description="Full rebuild of gold (dbt), the catalog and the dashboards.",
)
weekly_gold_rebuild = dg.ScheduleDefinition(
    name="weekly_gold_rebuild",
    cron_schedule=GOLD_CRON,
    job=gold_rebuild_job,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Weekly full gold rebuild ({GOLD_CRON}, MARS_GOLD_CRON).",
)

SENSORS = [new_sol_sensor, landing_zone_sensor, photo_gap_sensor]
SCHEDULES = [daily_recent_sols, weekly_gold_rebuild]
