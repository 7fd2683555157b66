"""The code location: the ``defs/`` folder plus resources configured from the environment."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from mars_assets.executors import executor_def
from mars_assets.settings import Settings


def build_definitions(settings: Settings | None = None, resources: dict | None = None) -> dg.Definitions:
    """Every definition of ``mars_assets/defs`` with resources from ``settings`` (default: the
    environment); ``resources`` replaces some of them (tests: a client with test-sized waits).
    The executor of every job is the settings' (``MARS_EXECUTOR``, mars_assets.executors)."""
    settings = settings or Settings.from_env()
    folder = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    configured = {**settings.resources(), **(resources or {})}
    return dg.Definitions.merge(folder, dg.Definitions(resources=configured, executor=executor_def(settings)))


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
