"""Sensors, schedules and declarative automation on a real Dagster instance."""

import datetime
import io
import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from mars_assets.cli import run_demo
from mars_assets.definitions import build_definitions
from mars_assets.defs.automation import schedules, sensors
from mars_assets.demo import ReplayServer, bundled_snapshot
from mars_assets.partitions import ROVERS, rover_sol_key
from mars_assets.resources import LandingZone, UpstreamSources, Warehouse
from mars_assets.resources.automation import AutomationLimits
from mars_assets.sources.photos_api import PhotosApiSource
from mars_assets.sources.registry import LIVE_DEFAULTS
from mars_assets_tests.conftest import make_small_archive, open_catalog


def v1_resources(server, max_runs: int = 25) -> dict:
    """Sensor resources with every rover the v1 API served on the Photos API v1 (the replayed
    snapshot's shape); Ingenuity, which v1 never served, on its feed at the server (which holds
    no Ingenuity frame: its latest-sol call is one request that finds none)."""
    unused = "http://127.0.0.1:9/unused"
    return {
        "sources": UpstreamSources(
            by_rover={r: "photos_api_v1" for r in ROVERS if r in PhotosApiSource.rovers},
            photos_api_url=server.photos_api_url,
            api_key="K",
            jpl_mars2020_url=server.jpl_mars2020_url,
            jpl_msl_url=unused,
        ),
        "automation": AutomationLimits(max_runs_per_tick=max_runs),
    }


def keys(result, existing: list[str] | None = None) -> list[str]:
    """The partition keys the ranged run requests of ``result`` cover: a range spans the ``sol``
    dimension in its order, the ``existing`` keys then the ones ``result`` adds."""
    added = [k for request in result.dynamic_partitions_requests or [] for k in request.partition_keys]
    order = [*(existing or []), *added]
    out = []
    for r in result.run_requests:
        (rover, a), (_, b) = (r.tags[f"dagster/asset_partition_range_{end}"].split("|") for end in ("start", "end"))
        out += [f"{rover}|{s}" for s in order[order.index(a) : order.index(b) + 1]]
    return out


def test_new_sol_sensor_adds_partitions_and_requests_changed_sols(tmp_path):
    archive = make_small_archive(tmp_path / "a", photos=(), images=())
    with ReplayServer(archive) as server, dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=v1_resources(server, max_runs=2500))
        first = sensors.new_sol_sensor(ctx)
        assert len(keys(first)) == 2281  # every Curiosity manifest sol
        assert len(first.run_requests) == 23  # in ranged runs of MARS_BATCH_SOLS (100)
        assert first.dynamic_partitions_requests[0].partition_keys[:3] == ["0", "1", "2"]
        assert len(server.requests) == 4 + 1  # one manifest call per v1 rover, one latest call for Ingenuity
        instance.add_dynamic_partitions("sol", list(first.dynamic_partitions_requests[0].partition_keys))

        again = sensors.new_sol_sensor(
            dg.build_sensor_context(
                instance=instance, cursor=first.cursor, resources=v1_resources(server, max_runs=2500)
            )
        )
        assert isinstance(again, dg.SkipReason) and "no new sols" in again.skip_message

        manifest = next((archive / "api/manifests").iterdir())
        body = json.loads(manifest.read_text())
        entry = next(e for e in body["photo_manifest"]["photos"] if e["sol"] == 1000)
        entry["total_photos"] += 1
        body["photo_manifest"]["photos"].append(
            {"sol": 2541, "earth_date": "2019-09-29", "total_photos": 7, "cameras": ["NAVCAM"]}
        )
        manifest.write_text(json.dumps(body))
        changed = sensors.new_sol_sensor(
            dg.build_sensor_context(
                instance=instance, cursor=first.cursor, resources=v1_resources(server, max_runs=2500)
            )
        )
        assert keys(changed, instance.get_dynamic_partitions("sol")) == ["curiosity|1000", "curiosity|2541"]
    assert changed.dynamic_partitions_requests[0].partition_keys == ["2541"]


def test_new_sol_sensor_follows_the_jpl_feeds_latest_sol(tmp_path):
    """Live defaults: Perseverance and Curiosity from the JPL feeds (one latest-sol call each),
    Spirit and Opportunity from v1 manifests; a new sol in a feed is requested on the next tick."""
    archive = make_small_archive(tmp_path / "a", photos=(), images=())
    shutil.copytree(Path(__file__).parent / "fixtures/jpl", archive / "jpl")

    def resources(server) -> dict:
        sources = UpstreamSources(
            by_rover=dict(LIVE_DEFAULTS),
            photos_api_url=server.photos_api_url,
            api_key="K",
            jpl_mars2020_url=server.jpl_mars2020_url,
            jpl_msl_url=server.jpl_msl_url,
        )
        return {"sources": sources, "automation": AutomationLimits()}

    with dg.instance_for_test() as instance:
        with ReplayServer(archive) as server:
            first = sensors.new_sol_sensor(dg.build_sensor_context(instance=instance, resources=resources(server)))
            jpl_keys = [
                k
                for k in keys(first, instance.get_dynamic_partitions("sol"))
                if k.split("|")[0] in ("perseverance", "curiosity")
            ]
            assert sorted(jpl_keys) == [
                "curiosity|2999",
                "curiosity|3000",
                "curiosity|3001",
                "perseverance|100",
                "perseverance|101",
                "perseverance|99",
            ]  # no v1 manifest read
            instance.add_dynamic_partitions("sol", list(first.dynamic_partitions_requests[0].partition_keys))
            again = sensors.new_sol_sensor(
                dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources(server))
            )
            assert isinstance(again, dg.SkipReason), again
        body = json.loads((archive / "jpl/mars2020/sol0101.json").read_text())
        for img in body["images"]:
            img["sol"] = 102
        (archive / "jpl/mars2020/sol0102.json").write_text(json.dumps(body))
        with ReplayServer(archive) as server:  # a new sol appeared upstream
            third = sensors.new_sol_sensor(
                dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources(server))
            )
            assert keys(third, instance.get_dynamic_partitions("sol")) == ["perseverance|102"]
    assert third.dynamic_partitions_requests[0].partition_keys == ["102"]


def test_new_sol_sensor_caps_runs_per_tick_and_continues_next_tick(tmp_path):
    archive = make_small_archive(tmp_path / "a", photos=(), images=())
    with ReplayServer(archive) as server, dg.instance_for_test() as instance:
        first = sensors.new_sol_sensor(dg.build_sensor_context(instance=instance, resources=v1_resources(server, 5)))
        one = keys(first)
        instance.add_dynamic_partitions("sol", list(first.dynamic_partitions_requests[0].partition_keys))
        second = sensors.new_sol_sensor(
            dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=v1_resources(server, 5))
        )
        two = keys(second, instance.get_dynamic_partitions("sol"))
    assert len(first.run_requests) == len(second.run_requests) == 5  # runs of MARS_BATCH_SOLS (100) sols
    assert len(one) == len(two) == 500 and not set(one) & set(two)


def test_landing_sensor_takes_each_file_exactly_once(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    images = sorted((bundled_snapshot() / "images/msl_deep_mars_browse").glob("00[05]*.JPG"))
    for src in images[:2]:
        shutil.copy(src, landing / src.name)
    resources = {"landing": LandingZone(root=str(landing)), "automation": AutomationLimits()}
    with dg.instance_for_test() as instance:
        first = sensors.landing_zone_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert keys(first) == ["curiosity|3"]
        idle = sensors.landing_zone_sensor(
            dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources)
        )
        assert isinstance(idle, dg.SkipReason)
        time.sleep(0.05)
        late = next(p for p in images if p.name.startswith("0050"))
        shutil.copy2(late, landing / late.name)  # copy2 keeps the old mtime: ctime still moves
        later = sensors.landing_zone_sensor(
            dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources)
        )
    assert keys(later) == ["curiosity|50"]
    assert later.dynamic_partitions_requests[0].partition_keys == ["50"]


@pytest.fixture(scope="module")
def gap_warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gaps")
    archive = make_small_archive(tmp / "a", photos=("curiosity_sol0000.json", "curiosity_sol0001.json"), images=())
    wh = tmp / "w"
    assert run_demo(archive, str(wh), wh / "landing", str(tmp / "h"), out=io.StringIO()) == 0
    return wh, tmp / "h"


def test_gap_sensor_requests_exactly_the_gap_partitions(gap_warehouse):
    wh_root, home = gap_warehouse
    wh = Warehouse(root=str(wh_root))
    sol1_gone = wh.read_table("silver", "photos", {"rover": "curiosity", "sol": 1}).slice(0, 0)
    wh.write_silver_table("photos", sol1_gone, [("curiosity", 1)], {"dagster_run_id": "test"})
    d = build_definitions(build_settings(wh_root))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert d.resolve_job_def("warehouse_job").execute_in_process(instance=instance).success
        with dg.build_sensor_context(
            instance=instance,
            resources={"warehouse": Warehouse(root=str(wh_root)), "automation": AutomationLimits(max_runs_per_tick=5)},
        ) as ctx:
            res = sensors.photo_gap_sensor(ctx)
        existing = instance.get_dynamic_partitions("sol")
    con = open_catalog(str(wh_root / "warehouse.duckdb"))
    gaps = [
        f"{r}|{s}"
        for r, s in con.sql(
            "select rover, sol from gold.photo_gaps where gap_status <> 'VALID' order by rover, sol limit 500"
        ).fetchall()
    ]
    con.close()
    # sol 0 is VALID; sol 1 lost its rows; the next manifest sols were never recorded; 5 runs a tick
    assert keys(res, existing) == gaps and len(res.run_requests) == 5
    assert gaps[0] == "curiosity|1" and "curiosity|0" not in gaps
    assert res.run_requests[0].tags["mars_assets/gap_status"] == "MISSING_SOL"


def build_settings(wh_root):
    from mars_assets.settings import Settings

    return Settings(warehouse=str(wh_root), landing=str(wh_root / "landing"))


def test_daily_schedule_requests_each_rovers_recent_sols(gap_warehouse):
    wh_root, _ = gap_warehouse
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sol", ["2538", "2539", "2540"])  # the sensors add them
        with dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime.datetime(2026, 11, 23, 6),
            resources={"warehouse": Warehouse(root=str(wh_root)), "automation": AutomationLimits()},
        ) as ctx:
            result = schedules.daily_recent_sols(ctx)
    recent = ["2538", "2539", "2540"]
    assert keys(dg.SensorResult(run_requests=result), recent) == ["curiosity|2538", "curiosity|2539", "curiosity|2540"]
    assert len(result) == 1 and result[0].run_key == "daily:2026-11-23:curiosity|2538..curiosity|2540"


def test_weekly_gold_rebuild_defaults_to_the_seeds_sunday_1423():
    assert build_definitions().resolve_schedule_def("weekly_gold_rebuild").cron_schedule == "23 14 * * 0"


def test_declarative_automation_requests_downstream_of_a_new_partition(gap_warehouse):
    """After bronze photos of a partition materialize, silver photos of that partition is requested."""
    wh_root, _ = gap_warehouse
    d = build_definitions(build_settings(wh_root))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sol", ["0"])
        instance.report_runless_asset_event(dg.AssetMaterialization(["silver", "manifest_sols"]))
        first = dg.evaluate_automation_conditions(defs=d, instance=instance)
        key = rover_sol_key("curiosity", 0)
        assert not any(str(p) == str(key) for r in first.results for p in first.get_requested_partitions(r.key) or [])
        instance.report_runless_asset_event(dg.AssetMaterialization(["bronze", "photos"], partition=key))
        result = dg.evaluate_automation_conditions(defs=d, instance=instance, cursor=first.cursor)
    requested = {
        (k.to_user_string(), str(p))
        for k, parts in ((r.key, result.get_requested_partitions(r.key)) for r in result.results)
        for p in parts or []
    }
    assert ("silver/photos", "curiosity|0") in requested


def test_definitions_carry_sensors_schedules_and_no_project_deprecations():
    import subprocess
    import sys

    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning);"
        "warnings.filterwarnings('ignore', module='sqlglotrs');"
        "import mars_assets.definitions as d; "
        "defs = d.build_definitions(); "
        "print(sorted(s.name for s in defs.sensors), sorted(s.name for s in defs.schedules))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__))
    )
    assert r.returncode == 0, r.stderr
    assert "landing_zone_sensor" in r.stdout and "weekly_gold_rebuild" in r.stdout
