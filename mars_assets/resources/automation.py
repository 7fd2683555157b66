"""How much the sensors and schedules ask for at a time (a Dagster resource, from Settings)."""

import dagster as dg
from pydantic import Field


class AutomationLimits(dg.ConfigurableResource):
    """``max_runs_per_tick``: run requests a sensor tick makes at most (``MARS_MAX_RUNS_PER_TICK``);
    ``first_tick_sols``: newest sols requested when the new-sol sensor first sees a feed
    (``MARS_FIRST_TICK_SOLS``); ``recent_sols``: sols per rover the daily schedule re-ingests
    (``MARS_RECENT_SOLS``)."""

    max_runs_per_tick: int = Field(default=25, ge=1)
    first_tick_sols: int = Field(default=3, ge=0)
    recent_sols: int = Field(default=3, ge=1)
