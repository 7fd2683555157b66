"""Shared fixtures: the bundled snapshot, small snapshot folders, the loopback replay server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from filelock import FileLock

from mars_assets.demo import ReplayServer, bundled_snapshot
from mars_assets.demo.loopback import default_signals, free_port  # noqa: F401 (used by the tests)
from mars_assets.resources.s3 import load_extensions

#: Images copied into the small snapshot: two MSL browse products (sols 3 and 50), one
#: Mars 2020 Mastcam-Z PNG (sol 38) and one MSL Navcam frame whose name has no sol.
SMALL_IMAGES = (
    "msl_deep_mars_browse/0003ML0000000110100031E01_DRCL.JPG",
    "msl_deep_mars_browse/0050ML0002300290102177E01_DRCL.JPG",
    "mars-raw-utils/ZL0_0038_0670307360_057ECM_N0031392ZCAM08007_1100LUJ.png",
    "mars-raw-utils/NRB_670586006EDR_S0871444NCAM00545M_.jpg",
)
SMALL_PHOTOS = ("curiosity_sol0001.json", "spirit_sol0001.json", "perseverance_sol0000.json")


def open_catalog(path) -> duckdb.DuckDBPyConnection:
    """The warehouse catalog file read-only, with the delta extension its silver views need."""
    con = duckdb.connect(str(path), read_only=True)
    load_extensions(con, s3=False)
    return con


def stop_process_group(proc: subprocess.Popen, grace: float) -> None:
    """Stop a server started with ``start_new_session=True`` and its children: SIGTERM to
    the process group, SIGKILL if it has not exited after ``grace`` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(autouse=True)
def _restore_environ():
    """Put ``os.environ`` back after every test. Code under test sets variables in its own
    process (the CLI sets DAGSTER_HOME; the dbt asset sets the S3 settings dbt-duckdb reads),
    and a test must not depend on what an earlier test in the same worker left there."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


#: The full demo's warehouse folder: an apostrophe and spaces, as a user's folder may have.
FULL_DEMO_WAREHOUSE = "it's a warehouse"


@pytest.fixture(scope="session")
def full_demo(tmp_path_factory, worker_id):
    """`mars-assets demo` on the whole bundled snapshot, run once per test session as a user
    runs it (a subprocess): (warehouse, DAGSTER_HOME, stdout). Tests must not modify it.
    Under pytest-xdist the workers share one run (the xdist docs' file-lock pattern).
    The warehouse path holds an apostrophe and spaces (``it's a warehouse``): every path
    reaches SQL as a parameter or an escaped literal, so the counts the tests check hold there."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    root = shared / "full_demo"
    with FileLock(str(shared / "full_demo.lock")):
        done = root / "stdout.txt"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            home = root / "dagster_home"
            r = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mars_assets.cli",
                    "demo",
                    "--warehouse",
                    str(root / FULL_DEMO_WAREHOUSE),
                    "--dagster-home",
                    str(home),
                ],
                capture_output=True,
                text=True,
                timeout=900,
                cwd=root,
                env={**os.environ, "DAGSTER_HOME": str(home)},
            )
            assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
            done.write_text(r.stdout)
    return root / FULL_DEMO_WAREHOUSE, root / "dagster_home", done.read_text()


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    """pytest-xdist's worker id ("gw0", ...), or "master" without xdist (fallback fixture)."""
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


@pytest.fixture(scope="session")
def snapshot_root() -> Path:
    return bundled_snapshot()


def make_small_archive(dest: Path, photos=SMALL_PHOTOS, images=SMALL_IMAGES) -> Path:
    """A snapshot folder in the standard layout with a subset of the bundled data."""
    src = bundled_snapshot()
    (dest / "api" / "photos").mkdir(parents=True)
    (dest / "api" / "manifests").mkdir()
    (dest / "images").mkdir()
    for name in photos:
        shutil.copy(src / "api" / "photos" / name, dest / "api" / "photos" / name)
    for p in (src / "api" / "manifests").iterdir():
        shutil.copy(p, dest / "api" / "manifests" / p.name)
    for p in (src / "api").glob("rovers_*.json"):
        shutil.copy(p, dest / "api" / p.name)
    for rel in images:
        (dest / "images" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / "images" / rel, dest / "images" / rel)
    shutil.copytree(src / "traverse", dest / "traverse")
    return dest


@pytest.fixture
def small_archive(tmp_path: Path) -> Path:
    return make_small_archive(tmp_path / "archive")


@pytest.fixture
def replay(snapshot_root: Path):
    with ReplayServer(snapshot_root) as server:
        yield server


#: moto's request log (werkzeug, one line per request) of the session's S3 endpoint.
S3_LOG = "moto-requests.log"
_S3_LOGS: dict[str, Path] = {}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """A real S3 HTTP endpoint on loopback (moto's server) in a process of its own, started and
    stopped here; its request log is ``<its folder>/S3_LOG`` (see s3_request_log). Not a thread of
    the test process: delta-rs keeps the GIL while it waits for S3 (DeltaTable.history in
    deltalake 1.6), so a server thread could never answer it."""
    log = tmp_path_factory.mktemp("moto") / S3_LOG
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        _S3_LOGS[endpoint] = log
        yield endpoint
    finally:
        stop_process_group(proc, grace=10)


@pytest.fixture
def s3_request_log(s3_endpoint) -> Path:
    """The moto server's request log (werkzeug lines ``"GET /bucket/key HTTP/1.1" 200 -``)."""
    return _S3_LOGS[s3_endpoint]


S3_KEY_ID = "AKIAMARSASSETSTEST01"
S3_SECRET = "mars-assets-test-secret-0123456789abcdefXYZ"


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch, tmp_path):
    """Environment of a user pointing mars_assets at the loopback endpoint, with a fresh bucket."""
    import uuid

    import boto3

    bucket = f"mars-{uuid.uuid4().hex[:12]}"
    env = {
        "MARS_S3_ENDPOINT": s3_endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_REGION": "us-east-1",
        "MARS_CATALOG": str(tmp_path / "catalog.duckdb"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    ).create_bucket(Bucket=bucket)
    return {**env, "bucket": bucket}


@pytest.fixture
def seen_keys(monkeypatch):
    """The api_key values the replay server received (proof that the key was sent)."""
    seen: list[str] = []
    original = ReplayServer._route

    def route(self, path, query):
        seen.extend(query.get("api_key", []))
        return original(self, path, query)

    monkeypatch.setattr(ReplayServer, "_route", route)
    return seen
