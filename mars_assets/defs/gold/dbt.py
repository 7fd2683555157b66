"""``gold/<model>``: each model of ``dbt/models/gold/<model>.sql`` (dbt-duckdb) as an asset.

Each model is written as Parquet to ``<root>/gold/<model>/part-0.parquet`` with a view
``gold.<model>`` in the catalog; each dbt source is linked to its silver asset through
``meta.dagster.asset_key``; dbt tests are asset checks. Built lazily (``@dg.definitions``):
the manifest is prepared when the definitions load, not when this module is imported.
"""

import json
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from mars_assets.lib.dbt import CATALOG_POOL, GoldTranslator, dbt_project, ensure_manifest, process_env
from mars_assets.lib.silver import storage_schema
from mars_assets.resources import Warehouse

#: The silver tables the gold models read (dbt/models/gold/_sources.yml).
SOURCE_TABLES = (
    "photos",
    "rovers",
    "cameras",
    "manifest_sols",
    "waypoints",
    "traverse",
    "images",
    "image_stats",
    "image_quality",
)


def run_dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    """``dbt build`` of the selected gold models and their tests, on the configured warehouse root.

    The root and catalog path go in ``--vars`` as JSON (dbt quotes them into SQL as literals:
    see dbt/macros); S3 settings only in the dbt process's environment.
    """
    for key in context.selected_asset_keys:
        warehouse.ensure_dir(f"gold/{key.path[-1]}")  # DuckDB's COPY does not create folders
    for table in SOURCE_TABLES:  # a source never materialized (e.g. `run --no-images`) reads as empty
        if not warehouse.has_table("silver", table):
            context.log.info(f"silver.{table} has not been written yet: gold reads it as an empty table")
            empty = storage_schema(table).empty_table()
            warehouse.write_silver_table(table, empty, None, {"dagster_run_id": context.run.run_id, "empty": "true"})
    Path(warehouse.catalog_path()).parent.mkdir(parents=True, exist_ok=True)
    dbt_vars = json.dumps({"warehouse_root": warehouse.root_path(), "catalog_path": warehouse.catalog_path()})
    with process_env(warehouse.dbt_env()):
        invocation = dbt.cli(["build", "--vars", dbt_vars], context=context)
    yield from invocation.stream()


def gold_assets() -> dg.AssetsDefinition:
    """The ``@dbt_assets`` of every gold model, from the (prepared) manifest."""
    project = dbt_project()

    @dbt_assets(
        manifest=ensure_manifest(project),
        project=project,
        dagster_dbt_translator=GoldTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
        pool=CATALOG_POOL,
        name="gold_dbt_models",
    )
    def gold_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
        """``dbt build`` of the selected gold models and their tests."""
        yield from run_dbt_build(context, dbt, warehouse)

    return gold_dbt_models


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[gold_assets()])
