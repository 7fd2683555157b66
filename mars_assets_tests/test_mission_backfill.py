"""A 300-sol mission through `mars-assets run --no-images`'s path (ranged runs of MARS_BATCH_SOLS
partitions of ``photos_job``, the path a UI backfill of the photo assets takes), on loopback: row
counts per sol, gold.photo_gaps VALID for every sol, the number of runs, and one sol served broken
failing alone until the gap sensor requests it again (slow: ~1 min).

The mission is synthetic (mars_assets.demo.synthetic: recorded NASA v1 photos given new ids and sols).
"""

from __future__ import annotations

import io

import dagster as dg
import pytest

from mars_assets.cli import run_sols
from mars_assets.definitions import build_definitions
from mars_assets.defs.automation import sensors
from mars_assets.demo import ReplayServer, Snapshot
from mars_assets.demo.synthetic import write_mission
from mars_assets.partitions import rover_sol_key, rover_sol_partitions
from mars_assets.resources import Warehouse
from mars_assets.resources.automation import AutomationLimits
from mars_assets.settings import Settings
from mars_assets_tests.conftest import open_catalog

pytestmark = pytest.mark.slow

SOLS, BATCH, BROKEN = 300, 100, 150
PHOTOS = dg.AssetKey(["silver", "photos"])


def catalog(wh, sql: str):
    con = open_catalog(str(wh / "warehouse.duckdb"))
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def ingest_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return [r for r in instance.get_runs() if r.job_name == "photos_job"]


@pytest.fixture(scope="module")
def mission(tmp_path_factory):
    """`mars-assets run --rover curiosity --sols 0-299 --no-images` on a 300-sol synthetic
    Curiosity mission served on loopback, whose sol 150 is served broken."""
    tmp = tmp_path_factory.mktemp("mission")
    archive = tmp / "archive"
    info = write_mission(archive, sols=SOLS, photos_per_sol=3, broken_sols=[BROKEN])
    wh, home = tmp / "wh", tmp / "home"
    with pytest.MonkeyPatch.context() as env, ReplayServer(Snapshot.open(archive)) as server:
        for name, value in {
            "MARS_BATCH_SOLS": str(BATCH),
            "MARS_MAX_IMAGE_DOWNLOADS": "0",
            "MARS_SOURCES": "curiosity=photos_api_v1",
            "MARS_PHOTOS_API_URL": server.photos_api_url,
            "MARS_MMGIS_URL": server.mmgis_url,
            "MARS_LANDING": str(wh / "landing"),
        }.items():
            env.setenv(name, value)
        out = io.StringIO()
        code = run_sols(["curiosity"], list(range(SOLS)), str(wh), str(home), out=out, images=False)
    return {"archive": archive, "info": info, "wh": wh, "home": home, "code": code, "out": out.getvalue()}


def test_every_served_sol_lands_with_its_photos_in_three_runs(mission):
    info, wh = mission["info"], mission["wh"]
    assert mission["code"] == 1  # the broken sol's run failed, and says so
    per_sol = dict(catalog(wh, "select sol, count(*) from silver.photos where rover = 'curiosity' group by sol"))
    expected = {s: n for s, n in info.photos_per_sol.items() if s != BROKEN}
    assert per_sol == expected and len(per_sol) == SOLS - 1
    with dg.DagsterInstance.from_config(str(mission["home"])) as instance:
        runs = ingest_runs(instance)
    assert len(runs) == -(-SOLS // BATCH)  # ⌈sols ÷ batch⌉
    assert "3 ingest runs" in mission["out"]


def test_the_broken_sol_fails_alone_and_the_gap_sensor_heals_it(mission):
    wh, info = mission["wh"], mission["info"]
    statuses = dict(catalog(wh, "select sol, gap_status from gold.photo_gaps where rover = 'curiosity'"))
    assert statuses[BROKEN] == "MISSING_SOL"
    assert {s for s, g in statuses.items() if g != "VALID"} == {BROKEN}
    keys = [str(rover_sol_key("curiosity", s)) for s in (BROKEN - 1, BROKEN, BROKEN + 1)]
    with dg.DagsterInstance.from_config(str(mission["home"])) as instance:
        status = instance.get_status_by_partition(PHOTOS, keys, rover_sol_partitions)
        assert [status[k].value for k in keys] == ["MATERIALIZED", "FAILED", "MATERIALIZED"]

        # the upstream recovers; the gap sensor asks for exactly the broken sol, once
        write_mission(mission["archive"], sols=SOLS, photos_per_sol=3)
        resources = {"warehouse": Warehouse(root=str(wh)), "automation": AutomationLimits()}
        with dg.build_sensor_context(instance=instance, resources=resources) as ctx:
            result = sensors.photo_gap_sensor(ctx)
        assert [r.tags["dagster/asset_partition_range_start"] for r in result.run_requests] == [keys[1]]
        assert [r.tags["dagster/asset_partition_range_end"] for r in result.run_requests] == [keys[1]]

        with ReplayServer(Snapshot.open(mission["archive"])) as server:
            settings = Settings(warehouse=str(wh), landing=str(wh / "landing"), max_image_downloads=0)
            defs = build_definitions(settings.replaying(server))
            for request in result.run_requests:
                run = defs.resolve_job_def("photos_job").execute_in_process(instance=instance, tags=request.tags)
                assert run.success
            assert defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance).success
        status = instance.get_status_by_partition(PHOTOS, keys, rover_sol_partitions)
        assert [status[k].value for k in keys] == ["MATERIALIZED"] * 3
    statuses = dict(catalog(wh, "select sol, gap_status from gold.photo_gaps where rover = 'curiosity'"))
    assert set(statuses) == set(range(SOLS)) and set(statuses.values()) == {"VALID"}
    assert catalog(wh, f"select count(*) from silver.photos where sol = {BROKEN}") == [(info.photos_per_sol[BROKEN],)]
