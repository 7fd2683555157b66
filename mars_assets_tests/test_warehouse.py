"""The warehouse layout contract, on a real local folder with real DuckDB."""

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from mars_assets.resources import Warehouse


def table(n, offset=0):
    return pa.table({"photo_id": list(range(offset, offset + n)), "rover": ["curiosity"] * n, "sol": [7] * n})


def test_partition_path_follows_the_hive_layout_without_partition_columns(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    path = wh.write_table("silver", "photos", table(3), {"rover": "curiosity", "sol": 7})
    assert path == f"{tmp_path}/silver/photos/rover=curiosity/sol=7/part-0.parquet"
    assert pq.read_schema(path).names == ["photo_id"]  # rover and sol live in the path


def test_rerun_of_partition_replaces_rows(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write_table("silver", "photos", table(5), {"rover": "curiosity", "sol": 7})
    wh.write_table("silver", "photos", table(2, offset=100), {"rover": "curiosity", "sol": 7})
    wh.write_table("silver", "photos", table(4), {"rover": "curiosity", "sol": 8})
    got = wh.read_table("silver", "photos")
    assert got.num_rows == 6
    by_sol = duckdb.sql("select sol, count(*) from got group by sol order by sol").fetchall()
    assert by_sol == [(7, 2), (8, 4)]


def test_temporary_files_are_invisible_to_readers(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write_table("silver", "photos", table(5), {"rover": "curiosity", "sol": 7})
    folder = tmp_path / "silver/photos/rover=curiosity/sol=7"
    (folder / ".part-0.parquet.deadbeef.tmp").write_bytes(b"half a file")  # a crashed writer's leftover
    assert wh.read_table("silver", "photos").num_rows == 5


def test_catalog_has_a_view_per_written_table(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write_table("silver", "photos", table(5), {"rover": "curiosity", "sol": 7})
    wh.write_table("gold", "mission_summary", pa.table({"rover": ["curiosity"], "photos": [5]}))
    made = wh.refresh_catalog([("silver", "photos"), ("gold", "mission_summary"), ("silver", "never_written")])
    assert made == ["silver.photos", "gold.mission_summary"]
    con = duckdb.connect(wh.catalog_path(), read_only=True)
    assert con.sql("select count(*), min(sol), any_value(rover) from silver.photos").fetchone() == (5, 7, "curiosity")
    assert con.sql("select photos from gold.mission_summary").fetchone() == (5,)


def test_write_objects_replaces_the_prefix(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    wh.write_objects("bronze/photos/rover=spirit/sol=1", {"page-0001.json": b"{}", "page-0002.json": b"{}"})
    wh.write_objects("bronze/photos/rover=spirit/sol=1", {"page-0001.json": b'{"photos": []}'})
    assert wh.list_objects("bronze/photos/rover=spirit/sol=1") == ["page-0001.json"]
    assert wh.read_object("bronze/photos/rover=spirit/sol=1/page-0001.json") == b'{"photos": []}'
