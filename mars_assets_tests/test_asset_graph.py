"""The asset graph materialized in process on a small snapshot: real HTTP on loopback,
real Parquet and DuckDB, a real (temporary) Dagster instance."""

import io
import json

import dagster as dg
import pytest

from mars_assets.cli import run_demo
from mars_assets.definitions import build_definitions
from mars_assets.demo import ReplayServer
from mars_assets.imaging import STATS_VERSION
from mars_assets.partitions import add_sols, rover_sol_key
from mars_assets.resources import Warehouse
from mars_assets.settings import Settings
from mars_assets_tests.conftest import make_small_archive, open_catalog


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One demo on the small snapshot, shared by the read-only tests of this module."""
    tmp_path = tmp_path_factory.mktemp("small_demo")
    small_archive = make_small_archive(tmp_path / "archive")
    wh, home = tmp_path / "warehouse", tmp_path / "dagster_home"
    out = io.StringIO()
    code = run_demo(small_archive, wh, wh / "landing", str(home), out=out)
    assert code == 0, out.getvalue()
    return wh, home, out.getvalue()


def counts(root):
    con = open_catalog(str(root / "warehouse.duckdb"))
    try:
        views = [
            v
            for (v,) in con.sql("select schema_name||'.'||view_name from duckdb_views() where not internal").fetchall()
        ]
        return {v: con.sql(f"select count(*) from {v}").fetchone()[0] for v in views}
    finally:
        con.close()


def test_small_snapshot_fills_every_layer(demo_run):
    wh, _home, out = demo_run
    c = counts(wh)
    assert c["silver.photos"] == 16 + 77 + 54
    assert c["silver.images"] == c["silver.image_stats"] == 4  # the 4th (NRB_…) by its spacecraft clock
    assert c["silver.image_quality"] == c["gold.image_quality_daily"] == 4  # a quality row per image, 4 sols
    # every image_stats commit says which version of the statistics it wrote, and names its run
    commits = Warehouse(root=str(wh)).open_delta("image_stats").history()
    assert commits and all(c["mars_assets.image_stats_version"] == STATS_VERSION for c in commits)
    assert all(c["dagster_run_id"] and c["dagster_asset_key"] == "silver/image_stats" for c in commits)
    assert c["silver.landing_files"] == 4
    assert c["silver.waypoints"] == 586 + 1304
    assert c["gold.mission_summary"] == 5  # curiosity, ingenuity, opportunity, perseverance, spirit
    assert (wh / "dashboards/mission/index.html").stat().st_size > 100_000
    assert "wall time" in out


def test_photo_gaps_is_valid_for_the_recorded_sol_and_missing_elsewhere(demo_run):
    wh, _home, _ = demo_run
    con = open_catalog(str(wh / "warehouse.duckdb"))
    rows = dict(con.sql("select sol, gap_status from gold.photo_gaps where rover = 'curiosity'").fetchall())
    assert rows[1] == "VALID"
    assert rows[0] == rows[1000] == "MISSING_SOL"  # not in this small snapshot
    assert len(rows) == 2281  # one row per manifest sol
    assert con.sql("select count(*) from gold.photo_gaps where rover <> 'curiosity'").fetchone() == (0,)


def test_gold_is_built_by_dbt_with_checks_in_the_instance(demo_run):
    wh, home, out = demo_run
    assert (wh / "gold/sol_activity/part-0.parquet").exists()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for model in ("mission_summary", "camera_usage", "sol_activity", "photo_gaps", "image_stats_daily"):
            assert instance.get_latest_materialization_event(dg.AssetKey(["gold", model])) is not None
        record = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(
                dg.AssetKey(["gold", "photo_gaps"]),
                "accepted_values_photo_gaps_gap_status__MISSING_SOL__PHOTO_COUNT_MISMATCH__CAMERA_COUNT_MISMATCH__VALID",
            )
        )
        assert record is not None and record.event.asset_check_evaluation.passed


def test_clock_only_image_gets_its_sol_from_the_spacecraft_clock(demo_run):
    """The landed Navcam file's name carries the clock, not the sol: routed with the clock's sol
    (3076: the rover sat at site 87, drive 1444, the name's, from sol 3076 to 3079 in the
    MMGIS waypoints), nothing quarantined."""
    wh, _home, _ = demo_run
    con = open_catalog(str(wh / "warehouse.duckdb"))
    assert con.sql("select count(*) from silver.landing_files where status <> 'routed'").fetchall() == [(0,)]
    rows = con.sql(
        "select rover, sol, sol_source, camera from silver.landing_files where product_id like 'NRB_670586006%'"
    ).fetchall()
    assert rows == [("curiosity", 3076, "clock", "NAVCAM")]


def test_demo_records_materializations_and_checks_in_the_instance(demo_run):
    _wh, home, _ = demo_run
    with dg.DagsterInstance.from_config(str(home)) as instance:
        order = instance.get_dynamic_partitions("sol")
        assert order[:3] == ["0", "1", "3"] and "2" in order  # the snapshot's sols first, then the manifest's
        mat = instance.get_latest_materialization_event(dg.AssetKey(["silver", "photos"]))
        assert mat is not None
        record = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey(["silver", "photos"]), "matches_manifest")
        )
        assert record is not None and record.event.asset_check_evaluation.passed


def test_photo_count_mismatch_fails_the_manifest_check(small_archive, tmp_path):
    """Drop photos from a recorded sol: the partition's matches_manifest check must fail."""
    f = small_archive / "api/photos/curiosity_sol0001.json"
    body = json.loads(f.read_text())
    body["photos"] = body["photos"][:10]
    f.write_text(json.dumps(body))
    wh = tmp_path / "w"
    with ReplayServer(small_archive) as server, dg.instance_for_test() as instance:
        defs = build_definitions(Settings(warehouse=str(wh), landing=str(wh / "landing")).replaying(server))
        assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success
        add_sols(instance, [1])
        result = defs.resolve_job_def("rover_sol_job").execute_in_process(
            instance=instance, partition_key=rover_sol_key("curiosity", 1)
        )
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["matches_manifest"].passed is False
    assert checks["matches_manifest"].metadata["sols_differing"].value == 1
    assert "curiosity sol 1: 10 photos" in checks["matches_manifest"].metadata["differing"].value
    assert "vs manifest 16" in checks["matches_manifest"].metadata["differing"].value
    assert checks["statistics_in_range"].passed
    assert Warehouse(root=str(wh)).read_table("silver", "photos").num_rows == 10


def test_demo_twice_leaves_the_same_row_counts(demo_run):
    """The module's demo run again, on its own warehouse and instance (last in the module: the
    other tests have read the first run)."""
    wh, home, _ = demo_run
    first = counts(wh)
    versions = Warehouse(root=str(wh)).open_delta("photos").version()
    assert run_demo(wh.parent / "archive", wh, wh / "landing", str(home), out=io.StringIO()) == 0
    assert counts(wh) == first
    assert Warehouse(root=str(wh)).open_delta("photos").version() > versions  # it did write again
