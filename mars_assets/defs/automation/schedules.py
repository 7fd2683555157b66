"""Schedules: re-ingest the newest sols daily, rebuild gold and maintain silver weekly (crons from Settings)."""

import dagster as dg

from mars_assets.defs import jobs
from mars_assets.defs.automation.selections import INGEST_ASSETS
from mars_assets.partitions import SOL_PARTITIONS_NAME, ranged_run_requests
from mars_assets.resources import Warehouse
from mars_assets.resources.automation import AutomationLimits
from mars_assets.settings import Settings

CRONS = Settings.crons_from_env()


@dg.schedule(
    cron_schedule=CRONS.ingest,
    target=INGEST_ASSETS,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: re-ingest each rover's most recent sols from the manifest (new photos keep "
    "arriving for a few sols after they are taken).",
)
def daily_recent_sols(context: dg.ScheduleEvaluationContext, warehouse: Warehouse, automation: AutomationLimits):
    if not warehouse.has_table("silver", "manifest_sols"):
        return dg.SkipReason("silver.manifest_sols has not been built yet")
    with warehouse.connect() as con:
        recent = con.execute(
            "select rover, sol from (select rover, sol, row_number() over "
            f"(partition by rover order by sol desc) as n from {warehouse.relation_sql('silver', 'manifest_sols')}) "
            "where n <= ? order by rover, sol",
            [automation.recent_sols],
        ).fetchall()
    date = context.scheduled_execution_time.date().isoformat()
    wanted: dict[str, list[int]] = {}
    for r, s in recent:
        wanted.setdefault(r, []).append(s)
    order = context.instance.get_dynamic_partitions(SOL_PARTITIONS_NAME)
    known = set(order)
    wanted = {r: [s for s in sols if str(s) in known] for r, sols in wanted.items()}
    return ranged_run_requests(order, wanted, Settings.batch_sols_from_env(), f"daily:{date}")


#: The seed rebuilt its gold tables on Sundays at 14:23 (the default of MARS_GOLD_CRON).
weekly_gold_rebuild = dg.ScheduleDefinition(
    name="weekly_gold_rebuild",
    cron_schedule=CRONS.gold,
    job=jobs.gold_rebuild_job,  # an attribute: the job is defined once, in defs/jobs.py
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Weekly full gold rebuild ({CRONS.gold}, MARS_GOLD_CRON).",
)

#: Weekly compaction and vacuum of the silver Delta tables (MARS_MAINTENANCE_CRON).
weekly_silver_maintenance = dg.ScheduleDefinition(
    name="weekly_silver_maintenance",
    cron_schedule=CRONS.maintenance,
    target=dg.AssetSelection.assets(["maintenance", "silver_tables"]),
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Weekly compaction, log cleanup and vacuum of every silver Delta table ({CRONS.maintenance}).",
)
