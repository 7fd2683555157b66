"""The code is where the UI says it is: a module of mars_assets/defs per asset key, every table
asset with its column schema, the dg CLI reading the project, and a tree that passes ruff."""

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

import mars_assets.defs
from mars_assets.definitions import build_definitions

ROOT = Path(__file__).resolve().parent.parent
DG = Path(sys.executable).parent / "dg"


def assets_by_module() -> dict[str, list[dg.AssetsDefinition]]:
    """``{module path below defs/ ("silver/photos"): assets defined at its top level}``."""
    out: dict[str, list[dg.AssetsDefinition]] = {}
    for info in pkgutil.walk_packages(mars_assets.defs.__path__, "mars_assets.defs."):
        module = importlib.import_module(info.name)
        found = [v for v in vars(module).values() if isinstance(v, dg.AssetsDefinition)]
        rel = info.name.removeprefix("mars_assets.defs.").replace(".", "/")
        out[rel] = [a for a in found if a.op.compute_fn.decorated_fn.__module__ == info.name]
    return out


def test_each_asset_is_defined_in_the_module_named_by_its_key():
    defined: set[str] = set()
    for module, assets in assets_by_module().items():
        for a in assets:
            keys = [k.to_user_string() for k in a.keys]
            assert module in keys, f"defs/{module}.py defines {keys}: its path must be one of its keys"
            defined |= set(keys)
    every = {k.to_user_string() for k in build_definitions().resolve_asset_graph().get_all_asset_keys()}
    gold = {k for k in every if k.startswith("gold/")}
    assert every - gold == defined  # every non-dbt asset found, none twice
    dbt_models = {f"gold/{p.stem}" for p in (ROOT / "dbt/models/gold").glob("*.sql")}
    assert gold == dbt_models  # gold/<model> is dbt/models/gold/<model>.sql, loaded by defs/gold/dbt.py


def _table_assets():
    graph = build_definitions().resolve_asset_graph()
    return [graph.get(k) for k in graph.get_all_asset_keys() if k.path[0] in ("silver", "gold")]


def test_every_silver_and_gold_table_asset_shows_its_columns_with_descriptions():
    nodes = _table_assets()
    assert len(nodes) == 12 + 9
    for node in nodes:
        schema = node.metadata.get("dagster/column_schema")
        name = node.key.to_user_string()
        assert isinstance(schema, dg.TableSchema) and schema.columns, f"{name} has no column schema"
        for col in schema.columns:
            assert col.description and col.description.strip(), f"{name}.{col.name} has no description"
            assert col.type and col.type != "?", f"{name}.{col.name} has no type"


def test_dg_lists_every_asset_and_checks_the_project(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    listed = subprocess.run(
        [str(DG), "list", "defs", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    import json

    shown = {a["asset_key"] for a in json.loads(listed.stdout)["assets"]}
    every = {k.to_user_string() for k in build_definitions().resolve_asset_graph().get_all_asset_keys()}
    assert shown == every
    checked = subprocess.run([str(DG), "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]


def test_no_module_of_the_package_is_much_over_400_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "mars_assets").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 420
    }
    assert long == {}


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_tree_passes_ruff(args):
    r = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_gold_yml_gives_every_column_a_type():
    models = yaml.safe_load((ROOT / "dbt/models/gold/_gold__models.yml").read_text())["models"]
    assert {m["name"] for m in models} == {p.stem for p in (ROOT / "dbt/models/gold").glob("*.sql")}
    assert all(c.get("data_type") for m in models for c in m["columns"])
