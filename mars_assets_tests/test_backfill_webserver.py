"""End to end: `dagster dev` (webserver + daemon) on 127.0.0.1 with a temporary DAGSTER_HOME;
a partitioned backfill of bronze images and image statistics over 24 rover × sol partitions
launched through the GraphQL API runs to COMPLETED_SUCCESS in one run. Processes are always
cleaned up."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from mars_assets.demo import bundled_snapshot
from mars_assets.partitions import add_sols
from mars_assets_tests.conftest import default_signals, free_port, stop_process_group

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on UnauthorizedError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status numPartitions } ... on PythonError { message } } }"""


def graphql(port: int, query: str, variables: dict) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        method="POST",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    assert "errors" not in body, body
    return body["data"]


def test_graphql_backfill_of_image_statistics_over_24_partitions(tmp_path):
    """24 rover × sol partitions, nothing materialized yet: image files in the landing zone
    and the sols in the instance. One backfill of bronze images and image statistics (both
    BackfillPolicy.single_run) through GraphQL, run by the daemon."""
    browse = sorted((bundled_snapshot() / "images/msl_deep_mars_browse").glob("*.JPG"))
    by_sol: dict[str, Path] = {}
    for p in browse:
        by_sol.setdefault(p.name[:4], p)
    chosen = list(by_sol.items())[:24]
    wh, home = tmp_path / "warehouse", tmp_path / "home"
    (wh / "landing").mkdir(parents=True)
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")  # run queue and pools, as mars-assets does
    for _sol, p in chosen:
        shutil.copy(p, wh / "landing" / p.name)
    partitions = [f"curiosity|{int(s)}" for s, _ in chosen]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        add_sols(instance, [int(s) for s, _ in chosen])

    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MARS_WAREHOUSE": str(wh),
        "MARS_LANDING": str(wh / "landing"),
        "MARS_PHOTOS_API_URL": "http://127.0.0.1:9/none",
        "MARS_MMGIS_URL": "http://127.0.0.1:9/none",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "webserver did not start"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).close()
                break
            except OSError:
                time.sleep(1)
        launched = graphql(
            port,
            LAUNCH,
            {
                "params": {
                    "partitionNames": partitions,
                    "fromFailure": False,
                    "assetSelection": [
                        {"path": ["bronze", "images"]},
                        {"path": ["silver", "image_stats"]},
                        {"path": ["silver", "images"]},
                        {"path": ["silver", "image_quarantine"]},
                    ],
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        status = None
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            status = graphql(port, STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]
            if status.get("status") in ("COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
                break
            time.sleep(2)
        assert status["status"] == "COMPLETED_SUCCESS", status
        assert status["numPartitions"] == 24
    finally:
        stop_process_group(proc, grace=30)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        for key in (["bronze", "images"], ["silver", "image_stats"]):
            materialized = instance.get_materialized_partitions(dg.AssetKey(key))
            assert set(partitions) <= {str(k) for k in materialized}, key
        runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": launched["backfillId"]}))
    assert len(runs) == 1  # both assets single-run: one run for the whole backfill
    rows = duckdb.sql(
        f"select count(*), count(distinct sol) from read_parquet('{wh}/silver/image_stats/**/*.parquet', "
        "hive_partitioning = true)"
    ).fetchone()
    assert rows == (24, 24)
