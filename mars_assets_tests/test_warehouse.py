"""The warehouse layout contract, on a real local folder with real DuckDB and delta-rs."""

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mars_assets.resources import Warehouse
from mars_assets.resources.delta_tables import TableLayoutError


def table(n, offset=0, sol=7):
    return pa.table({"photo_id": list(range(offset, offset + n)), "rover": ["curiosity"] * n, "sol": [sol] * n})


def test_silver_table_is_a_delta_table_partitioned_by_rover(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write_silver_table("photos", table(3), [("curiosity", 7)], {"dagster_run_id": "r1"})
    assert (tmp_path / "silver/photos/_delta_log/00000000000000000000.json").is_file()
    files = list((tmp_path / "silver/photos").glob("rover=curiosity/*.parquet"))
    assert len(files) == 1 and pq.read_schema(files[0]).names == ["photo_id", "sol"]  # rover is in the path


def test_rerun_of_partition_replaces_rows(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write_silver_table("photos", table(5), [("curiosity", 7)], {})
    wh.write_silver_table("photos", table(2, offset=100), [("curiosity", 7)], {})
    wh.write_silver_table("photos", table(4, sol=8), [("curiosity", 8)], {})
    got = wh.read_table("silver", "photos")
    assert got.num_rows == 6
    by_sol = duckdb.sql("select sol, count(*) from got group by sol order by sol").fetchall()
    assert by_sol == [(7, 2), (8, 4)]
    assert wh.read_table("silver", "photos", {"rover": "curiosity", "sol": 8}).num_rows == 4


def test_catalog_has_a_view_per_written_table(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write_silver_table("photos", table(5), [("curiosity", 7)], {})
    (tmp_path / "gold/mission_summary").mkdir(parents=True)
    pq.write_table(pa.table({"rover": ["curiosity"], "photos": [5]}), tmp_path / "gold/mission_summary/part-0.parquet")
    made = wh.refresh_catalog([("silver", "photos"), ("gold", "mission_summary"), ("silver", "never_written")])
    assert made == ["silver.photos", "gold.mission_summary"]
    con = wh.open_catalog()  # the views over Delta need the delta extension: loaded by open_catalog
    assert con.sql("select count(*), min(sol), any_value(rover) from silver.photos").fetchone() == (5, 7, "curiosity")
    assert con.sql("select photos from gold.mission_summary").fetchone() == (5,)


def test_a_silver_folder_in_the_old_layout_names_the_migrate_command(tmp_path):
    old = tmp_path / "silver/photos/rover=curiosity/sol=7"
    old.mkdir(parents=True)
    pq.write_table(pa.table({"photo_id": [1]}), old / "part-0.parquet")
    wh = Warehouse(root=str(tmp_path))
    with pytest.raises(TableLayoutError, match="mars-assets migrate"):
        wh.read_table("silver", "photos")
    with pytest.raises(TableLayoutError, match="mars-assets migrate"):
        wh.write_silver_table("photos", table(1), [("curiosity", 7)], {})


def test_write_objects_replaces_the_prefix(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write_objects("bronze/photos/rover=spirit/sol=1", {"page-0001.json": b"{}", "page-0002.json": b"{}"})
    wh.write_objects("bronze/photos/rover=spirit/sol=1", {"page-0001.json": b'{"photos": []}'})
    assert wh.list_objects("bronze/photos/rover=spirit/sol=1") == ["page-0001.json"]
    assert wh.read_object("bronze/photos/rover=spirit/sol=1/page-0001.json") == b'{"photos": []}'
