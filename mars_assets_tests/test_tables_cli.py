"""Silver history from Dagster runs and the command line: time travel to the version a rerun
replaced (plain DuckDB and ``mars-assets tables``), ``mars-assets sql``, ``migrate`` of the
pre-Delta layout and ``tables overwrite-schema``. Real Dagster instance, real delta-rs and DuckDB."""

from __future__ import annotations

import io
import json
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from mars_assets.cli import main
from mars_assets.defs.bronze.photos import photos as photos_asset
from mars_assets.demo import bundled_snapshot
from mars_assets.lib.silver import storage_schema
from mars_assets.partitions import add_sols, rover_sol_key
from mars_assets.resources import UpstreamSources, Warehouse
from mars_assets.resources.s3 import load_extensions, sql_string

PAGE = "bronze/photos/rover=curiosity/sol=1"


def cli(*args: str, capsys) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def materialize_sol1(wh: Warehouse, instance: dg.DagsterInstance, photos: list[dict]) -> str:
    """Bronze page of curiosity sol 1 with ``photos``, then silver/photos of that partition; the run id."""
    wh.write_objects(PAGE, {"page-0001.json": json.dumps({"photos": photos}).encode()})
    result = dg.materialize(
        [photos_asset],
        partition_key=rover_sol_key("curiosity", 1),
        resources={"warehouse": wh, "sources": UpstreamSources()},
        instance=instance,
        selection=[dg.AssetKey(["silver", "photos"]), dg.AssetKey(["silver", "photo_quarantine"])],
    )
    assert result.success
    return result.run_id


@pytest.fixture
def rerun(tmp_path):
    """silver/photos of curiosity sol 1 materialized twice, the second time from changed bronze."""
    photos = json.loads((bundled_snapshot() / "api/photos/curiosity_sol0001.json").read_text())["photos"]
    wh = Warehouse(root=str(tmp_path / "it's a warehouse"))
    with dg.instance_for_test() as instance:
        add_sols(instance, [1])
        first = materialize_sol1(wh, instance, photos)
        second = materialize_sol1(wh, instance, photos[:5])
        events = instance.fetch_materializations(dg.AssetKey(["silver", "photos"]), limit=10).records
        versions = sorted(e.asset_materialization.metadata["delta_version"].value for e in events)
    return {"wh": wh, "runs": (first, second), "full": len(photos), "versions": versions}


def test_a_rerun_with_changed_input_leaves_the_previous_version_readable_by_plain_duckdb(rerun):
    wh = rerun["wh"]
    assert wh.read_table("silver", "photos").num_rows == 5
    assert rerun["versions"] == [0, 1]  # each materialization shows the version it made
    con = duckdb.connect()
    load_extensions(con, s3=False)
    con.execute(f"ATTACH {sql_string(wh.table_uri('silver', 'photos'))} AS photos (TYPE delta)")
    assert con.sql("select count(*) from photos AT (VERSION => 0)").fetchone() == (rerun["full"],)
    assert con.sql("select count(*) from photos AT (VERSION => 1)").fetchone() == (5,)
    history = {h["version"]: h for h in wh.open_delta("photos").history()}
    assert history[0]["dagster_run_id"] == rerun["runs"][0] and history[1]["dagster_run_id"] == rerun["runs"][1]
    assert history[1]["dagster_partitions"] == "curiosity 1" and history[1]["dagster_asset_key"] == "silver/photos"


def test_the_cli_lists_versions_and_reads_the_replaced_one(rerun, capsys):
    root = rerun["wh"].root_path()
    lines = cli("tables", "history", "silver.photos", "--warehouse", root, capsys=capsys).splitlines()
    assert lines[0].split("\t")[:4] == ["version", "timestamp", "operation", "dagster_run_id"]
    assert [row.split("\t")[3] for row in lines[1:]] == [rerun["runs"][1], rerun["runs"][0]]  # newest first
    old = cli("tables", "read", "silver.photos", "--version", "0", "--warehouse", root, capsys=capsys)
    assert pacsv.read_csv(io.BytesIO(old.encode())).num_rows == rerun["full"]
    now = cli("tables", "read", "silver.photos", "--version", "1", "--where", "sol = 1", "--limit", "3",
              "--warehouse", root, capsys=capsys)  # fmt: skip
    assert pacsv.read_csv(io.BytesIO(now.encode())).num_rows == 3


def test_sql_runs_statements_on_the_tables_with_the_extensions_loaded(rerun, capsys, monkeypatch):
    root = rerun["wh"].root_path()
    out = cli("sql", "select count(*) as n from silver.photos; select 7 as seven", "--warehouse", root, capsys=capsys)
    cells = [line.strip("│ ") for line in out.splitlines() if line.startswith("│")]
    assert cells == ["n", "int64", "5", "seven", "int32", "7"]  # no catalog yet: views made in memory
    monkeypatch.setattr("sys.stdin", io.StringIO("select max(sol) as top from silver.photos;"))
    out = cli("sql", "--warehouse", root, capsys=capsys)
    assert [line.strip("│ ") for line in out.splitlines() if line.startswith("│")] == ["top", "int64", "1"]


def test_migrate_converts_the_pre_delta_layout_and_removes_its_files(tmp_path, capsys):
    root = tmp_path / "old"
    for sol, ids in ((1, [1, 2, 3]), (2, [4])):
        folder = root / f"silver/photos/rover=curiosity/sol={sol}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"photo_id": ids, "camera": ["MAST"] * len(ids)}), folder / "part-0.parquet")
    (root / "silver/rovers").mkdir(parents=True)
    pq.write_table(pa.table({"rover": ["curiosity"]}), root / "silver/rovers/part-0.parquet")
    assert main(["tables", "history", "silver.photos", "--warehouse", str(root)]) == 2  # one line naming the fix
    assert "mars-assets migrate" in capsys.readouterr().err
    out = cli("migrate", "--warehouse", str(root), capsys=capsys)
    assert "2 tables migrated" in out
    wh = Warehouse(root=str(root))
    photos = wh.read_table("silver", "photos")
    assert sorted(zip(photos["sol"].to_pylist(), photos["photo_id"].to_pylist(), strict=True)) == [
        (1, 1),
        (1, 2),
        (1, 3),
        (2, 4),
    ]
    assert set(photos.schema.names) == set(storage_schema("photos").names)  # the full contract, nulls where absent
    assert not list(root.rglob("part-0.parquet"))
    assert "nothing to migrate" in cli("migrate", "--warehouse", str(root), capsys=capsys)


def test_overwrite_schema_rewrites_a_table_whose_stored_types_are_out_of_date(tmp_path, capsys):
    wh = Warehouse(root=str(tmp_path))
    outdated = pa.table({"rover": ["curiosity"], "sol": [1], "photo_id": ["17"]})  # photo_id stored as text
    wh.write_silver_table("photos", outdated, [("curiosity", 1)], {"dagster_run_id": "old"})
    assert "version 1" in cli(
        "tables", "overwrite-schema", "silver.photos", "--warehouse", str(tmp_path), capsys=capsys
    )
    now = wh.read_table("silver", "photos")
    assert now.schema.field("photo_id").type == pa.int64() and now["photo_id"].to_pylist() == [17]
    assert set(now.schema.names) == set(storage_schema("photos").names)
    old = pa.table(wh.open_delta("photos", 0).to_pyarrow_table())
    assert old.schema.field("photo_id").type == pa.string()  # the version before stays readable, as it was


def test_tables_commands_name_what_is_wrong(tmp_path, capsys):
    assert main(["tables", "history", "silver.nope", "--warehouse", str(tmp_path)]) == 2
    assert "not a silver table" in capsys.readouterr().err
    assert main(["tables", "history", "silver.photos", "--warehouse", str(Path(tmp_path))]) == 2
    assert "has not been written" in capsys.readouterr().err


def test_the_maintenance_asset_compacts_vacuums_and_reports_what_it_freed(rerun):
    from mars_assets.defs.maintenance.silver_tables import silver_tables_maintenance

    wh = rerun["wh"]
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [silver_tables_maintenance],
            resources={"warehouse": wh},
            instance=instance,
            run_config={"ops": {"maintenance__silver_tables": {"config": {"retention_hours": 0}}}},
        )
    assert result.success
    meta = result.asset_materializations_for_node("maintenance__silver_tables")[0].metadata
    assert meta["tables"].value == 2  # photos and photo_quarantine
    assert meta["files_vacuumed"].value >= 1 and meta["bytes_vacuumed"].value > 0  # the replaced sol-1 file
    assert meta["retention_hours"].value == 0
    assert wh.read_table("silver", "photos").num_rows == 5
