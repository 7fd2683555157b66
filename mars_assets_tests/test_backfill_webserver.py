"""End to end: `dagster dev` (webserver + daemon) on 127.0.0.1 with a temporary DAGSTER_HOME;
a partitioned backfill of image statistics over 24 rover × sol partitions launched through
the GraphQL API runs to COMPLETED_SUCCESS. Processes are always cleaned up."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from mars_assets.cli import run_demo
from mars_assets.sources.snapshot import bundled_snapshot
from mars_assets_tests.conftest import make_small_archive

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on UnauthorizedError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status numPartitions } ... on PythonError { message } } }"""


def graphql(port: int, query: str, variables: dict) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", method="POST",
                                 data=json.dumps({"query": query, "variables": variables}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    assert "errors" not in body, body
    return body["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _default_signals():
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def test_graphql_backfill_of_image_statistics_over_24_partitions(tmp_path):
    browse = sorted((bundled_snapshot() / "images/msl_deep_mars_browse").glob("*.JPG"))
    by_sol: dict[str, Path] = {}
    for p in browse:
        by_sol.setdefault(p.name[:4], p)
    images = [f"msl_deep_mars_browse/{p.name}" for p in list(by_sol.values())[:24]]
    archive = make_small_archive(tmp_path / "archive", photos=(), images=images)
    wh, home = tmp_path / "warehouse", tmp_path / "home"
    assert run_demo(archive, str(wh), wh / "landing", str(home), out=io.StringIO()) == 0
    partitions = [f"curiosity|{int(s)}" for s in by_sol][:24]
    (wh / "silver/image_stats").rename(tmp_path / "old_stats")  # the backfill must rebuild it

    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "MARS_WAREHOUSE": str(wh), "MARS_LANDING": str(wh / "landing"),
           "MARS_PHOTOS_API_URL": "http://127.0.0.1:9/none", "MARS_MMGIS_URL": "http://127.0.0.1:9/none"}
    proc = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
                             "-p", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=_default_signals)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "webserver did not start"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).close()
                break
            except OSError:
                time.sleep(1)
        launched = graphql(port, LAUNCH, {"params": {
            "partitionNames": partitions, "fromFailure": False,
            "assetSelection": [{"path": ["silver", "image_stats"]}, {"path": ["silver", "images"]},
                               {"path": ["silver", "image_quarantine"]}]}})["launchPartitionBackfill"]
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
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    with dg.DagsterInstance.from_config(str(home)) as instance:
        materialized = instance.get_materialized_partitions(dg.AssetKey(["silver", "image_stats"]))
    assert set(partitions) <= {str(k) for k in materialized}
    rows = duckdb.sql(f"select count(*), count(distinct sol) from read_parquet('{wh}/silver/image_stats/**/*.parquet', "
                      "hive_partitioning = true)").fetchone()
    assert rows == (24, 24)
