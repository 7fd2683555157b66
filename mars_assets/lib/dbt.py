"""The dbt project of gold (``dbt/``, dbt-duckdb): its manifest, CLI resource and translator.

The manifest is prepared (``dbt parse``) when the gold definitions are first built and it is
missing or older than a file of the dbt project, so a fresh clone, CI and ``dagster
definitions validate`` need no separate step; importing this module runs nothing. Processes
that build the definitions at the same time (pytest-xdist workers, a code server beside the
daemon) parse once, under a file lock, and the manifest appears by an atomic rename.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject
from filelock import FileLock

from mars_assets.defs.automation.conditions import EAGER_OVER_PARTITIONS

#: dbt and the catalog step write the DuckDB catalog file: one at a time (dagster.yaml).
CATALOG_POOL = "duckdb_catalog"


def dbt_project_dir() -> Path:
    """``$MARS_DBT_PROJECT_DIR``, else the repository's ``dbt/`` folder."""
    return Path(os.environ.get("MARS_DBT_PROJECT_DIR") or Path(__file__).resolve().parents[2] / "dbt")


def dbt_project() -> DbtProject:
    project_dir = dbt_project_dir()
    return DbtProject(project_dir=project_dir, profiles_dir=project_dir)


def dbt_executable() -> str:
    """The ``dbt`` beside this interpreter (a venv not on PATH), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable())


def _newest_source_mtime(project_dir: Path) -> float:
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        files += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in files if p.exists())


def _manifest_is_current(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project.project_dir)


def ensure_manifest(project: DbtProject | None = None) -> Path:
    """Run ``dbt parse`` unless ``target/manifest.json`` is newer than every project file.

    Safe when several processes call it at once: the parse runs under the file lock
    ``target/.manifest.lock`` into a private target folder, and its ``manifest.json`` is moved
    into place with ``os.replace`` (atomic), so a reader sees the old file or the whole new
    one. Raises ``dagster_dbt.DbtCliInvocationError`` if ``dbt parse`` fails.
    """
    project = project or dbt_project()
    if _manifest_is_current(project):
        return project.manifest_path
    target = project.manifest_path.parent  # absolute; DbtProject.target_path is relative to the project
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target / ".manifest.lock")):
        if not _manifest_is_current(project):  # another process may have parsed meanwhile
            scratch = Path(tempfile.mkdtemp(prefix="parse-", dir=target))
            try:
                # what DbtProject.preparer.prepare does, with this environment's dbt executable
                DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
                    ["parse", "--quiet"], target_path=scratch
                ).wait()
                os.replace(scratch / "manifest.json", project.manifest_path)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return project.manifest_path


@contextmanager
def process_env(extra: Mapping[str, str]) -> Iterator[None]:
    """``extra`` in ``os.environ`` only while the block runs, then the previous values back.

    dagster-dbt 0.29's ``DbtCliResource.cli`` builds the dbt subprocess's environment from
    ``os.environ`` and takes no ``env`` argument: wrap just the call that starts dbt, so the
    S3 settings (credentials in ``DBT_ENV_SECRET_*``, which dbt scrubs from its logs) reach
    that process and do not stay behind in this one.
    """
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class GoldTranslator(DagsterDbtTranslator):
    """dbt models become ``gold/<model>`` in the group ``gold``; sources keep their meta asset keys."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "model":
            return dg.AssetKey(["gold", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return EAGER_OVER_PARTITIONS  # gold follows silver: rebuild when an upstream partition materializes

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            return "gold"
        return super().get_group_name(dbt_resource_props)
