"""Gold: the dbt project in ``dbt/`` (dbt-duckdb) as Dagster assets.

Each dbt model is the asset ``gold/<model>``, written as Parquet to
``<root>/gold/<model>/part-0.parquet`` with a view ``gold.<model>`` in
``<root>/warehouse.duckdb``; each dbt source is linked to its Python silver asset
through ``meta.dagster.asset_key``; dbt tests are asset checks.

The dbt manifest is prepared (``dbt parse``) when this module is imported and the
manifest is missing or older than a file of the dbt project, so a fresh clone, CI and
``dagster definitions validate`` need no separate step. Processes that import this module
at the same time (pytest-xdist workers, a code server beside the daemon) parse once, under
a file lock, and the manifest appears by an atomic rename, so no process reads half of it.
"""

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from filelock import FileLock

from mars_assets.partitions import EAGER_OVER_PARTITIONS
from mars_assets.resources import Warehouse

DBT_PROJECT_DIR = Path(os.environ.get("MARS_DBT_PROJECT_DIR") or Path(__file__).resolve().parents[2] / "dbt")
CATALOG_POOL = "duckdb_catalog"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _newest_source_mtime(project_dir: Path) -> float:
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        files += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in files if p.exists())


def _manifest_is_current(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project.project_dir)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Run ``dbt parse`` unless ``target/manifest.json`` is newer than every project file.

    Safe when several processes call it at once: the parse runs under the file lock
    ``target/.manifest.lock`` into a private target folder, and its ``manifest.json`` is
    moved into place with ``os.replace`` (atomic), so a reader sees the old file or the
    whole new one. Raises ``dagster_dbt.DbtCliInvocationError`` if ``dbt parse`` fails.
    """
    if _manifest_is_current(project):
        return project.manifest_path
    target = project.manifest_path.parent  # absolute; DbtProject.target_path is relative to the project
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target / ".manifest.lock")):
        if not _manifest_is_current(project):  # another process may have parsed meanwhile
            scratch = Path(tempfile.mkdtemp(prefix="parse-", dir=target))
            try:
                # what DbtProject.preparer.prepare does, with this environment's dbt executable
                dbt_resource().cli(["parse", "--quiet"], target_path=scratch).wait()
                os.replace(scratch / "manifest.json", project.manifest_path)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return project.manifest_path


def dbt_executable() -> str:
    """The ``dbt`` beside this interpreter (a venv not on PATH), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


ensure_manifest()


class GoldTranslator(DagsterDbtTranslator):
    """dbt models become ``gold/<model>`` in the group ``gold``; sources keep their meta asset keys."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "model":
            return dg.AssetKey(["gold", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        # gold follows silver: rebuild when an upstream partition materializes
        return EAGER_OVER_PARTITIONS

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "gold" if dbt_resource_props["resource_type"] == "model" else super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=GoldTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool=CATALOG_POOL,
    name="gold_dbt_models",
)
def gold_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    """``dbt build`` of the selected gold models and their tests, on the configured warehouse root."""
    for key in context.selected_asset_keys:
        warehouse.ensure_dir(f"gold/{key.path[-1]}")  # DuckDB's COPY does not create folders
    Path(warehouse.catalog_path()).parent.mkdir(parents=True, exist_ok=True)
    os.environ.update(warehouse.dbt_env())  # dbt-duckdb reads S3 settings from its environment
    dbt_vars = json.dumps({"warehouse_root": warehouse.root_path(), "catalog_path": warehouse.catalog_path()})
    yield from dbt.cli(["build", "--vars", dbt_vars], context=context).stream()
