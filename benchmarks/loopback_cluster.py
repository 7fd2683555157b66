"""The deployment of deploy/docker-compose.yml on loopback, for the Celery scale-out test and benchmark.

:class:`LoopbackCluster` starts, each in a process group of its own and stopped on exit:
PostgreSQL (Dagster's run/event/schedule storage through dagster-postgres, configured by
``deploy/dagster.yaml``), a moto S3 endpoint (the warehouse), Redis (the Celery broker and result
backend, with a password), ``dagster dev`` (webserver, daemon and code server) and Celery workers
(``dagster-celery worker start -A mars_assets.celery_app -q ...``). Credentials reach the processes
through their environment only. Redis and PostgreSQL come from Debian (``redis-server``,
``postgresql``), installed with apt-get when missing and run as root (:func:`ensure_servers`).

With ``executor="default"`` no broker or worker is started: the same deployment on Dagster's
default executor, for comparisons.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import yaml

from benchmarks.backfill import postgres_server
from mars_assets.demo.loopback import default_signals, free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
S3_KEY_ID, S3_SECRET = "AKIAMARSCLUSTER00001", "mars-cluster-secret-" + "0123456789abcdefghij"
LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on UnauthorizedError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status numPartitions } ... on PythonError { message } } }"""
LOCATIONS = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
DONE = ("COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")
#: Debian packages of the servers, by a binary each provides.
SERVER_PACKAGES = {"redis-server": "redis-server", "pg_ctl": "postgresql"}


def _have(binary: str) -> bool:
    return bool(shutil.which(binary)) or any(Path("/usr/lib/postgresql").glob(f"*/bin/{binary}"))


def ensure_servers() -> None:
    """Install the Debian packages of Redis and PostgreSQL when their binaries are missing
    (apt-get, as root; ``apt-get update`` first if the install fails). Raises RuntimeError when
    they are missing and cannot be installed."""
    missing = sorted({pkg for binary, pkg in SERVER_PACKAGES.items() if not _have(binary)})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(f"needs the Debian packages {' '.join(missing)}: apt-get install -y {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if subprocess.run(install, env=env, capture_output=True).returncode:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"apt-get install {' '.join(missing)} failed: {done.stderr[-500:]}")


class LoopbackCluster:
    """The running deployment: ``port`` (webserver), ``home`` (DAGSTER_HOME), ``env`` (what every
    process got), ``workers`` (name -> process), ``bucket`` and ``logs`` (one file per process)."""

    def __init__(self, base: Path, env: dict[str, str], port: int, bucket: str) -> None:
        self.base, self.env, self.port, self.bucket = base, env, port, bucket
        self.home, self.logs = Path(env["DAGSTER_HOME"]), base / "logs"
        self.workers: dict[str, subprocess.Popen] = {}
        self._procs: list[subprocess.Popen] = []

    def spawn(self, name: str, cmd: Sequence[str]) -> subprocess.Popen:
        """Start ``cmd`` in a new session with the cluster's environment, output to ``logs/<name>.log``."""
        self.logs.mkdir(exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                list(cmd),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=default_signals,
            )
        self._procs.append(proc)
        return proc

    def stop(self, grace: float = 20) -> None:
        """SIGTERM to every process group, SIGKILL to those still there after ``grace`` seconds."""
        for proc in reversed(self._procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in reversed(self._procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # children left behind by a stopped leader
            proc.wait()

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker's whole process group (the CLI, the Celery main process, its pool): a
        machine lost, nothing shut down cleanly."""
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait()

    def graphql(self, query: str, variables: Mapping | None = None) -> dict:
        """POST a GraphQL query to the webserver; returns ``data``. Raises AssertionError on errors."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            method="POST",
            data=json.dumps({"query": query, "variables": dict(variables or {})}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            body = json.loads(r.read())
        assert "errors" not in body, body
        return body["data"]

    def launch_backfill(self, partitions: Sequence[str], assets: Sequence[Sequence[str]]) -> str:
        """Launch a partition backfill of ``assets`` (key paths) over ``partitions`` through GraphQL."""
        params = {"partitionNames": list(partitions), "fromFailure": False, "assetSelection": []}
        params["assetSelection"] = [{"path": list(a)} for a in assets]
        launched = self.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched["backfillId"]

    def backfill_status(self, backfill_id: str) -> dict:
        return self.graphql(STATUS, {"id": backfill_id})["partitionBackfillOrError"]

    def wait_backfill(self, backfill_id: str, timeout: float) -> dict:
        """Poll until the backfill is done (or ``timeout`` seconds); returns its last status."""
        deadline, status = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            status = self.backfill_status(backfill_id)
            if status.get("status") in DONE:
                break
            time.sleep(1)
        return status

    def _wait_ready(self, dev: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert dev.poll() is None, f"dagster dev exited: {self.log_tail('dagster-dev')}"
            assert time.monotonic() < deadline, f"code location not loaded: {self.log_tail('dagster-dev')}"
            try:
                entries = self.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
                    assert not errors, errors
                    return
            except OSError:
                pass
            time.sleep(1)

    def start_worker(self, name: str, queues: Sequence[str], concurrency: int = 1) -> subprocess.Popen:
        """``dagster-celery worker start -A mars_assets.celery_app -q <queue,...> -n <name>`` (node
        name ``<name>@<host>``), ``concurrency`` prefork processes."""
        cmd = [str(BIN / "dagster-celery"), "worker", "start", "-A", "mars_assets.celery_app", "-n", name]
        # one -q with a comma-separated list: the CLI passes each -q on as celery's -Q, of which celery keeps the last
        cmd += ["-q", ",".join(queues), "--", f"--concurrency={concurrency}"]
        self.workers[name] = self.spawn(f"worker-{name}", cmd)
        return self.workers[name]

    def wait_workers(self, timeout: float) -> None:
        """Until every started worker answers a Celery ping."""
        from celery import Celery

        app = Celery(broker=self.env["MARS_CELERY_BROKER"])
        deadline = time.monotonic() + timeout
        wanted = set(self.workers)  # a worker that died at start-up is an error, not left out
        try:
            while True:
                seen = {k.split("@")[0] for reply in app.control.ping(timeout=1) for k in reply}
                if wanted <= seen:
                    return
                dead = [n for n, p in self.workers.items() if p.poll() is not None]
                assert not dead and time.monotonic() < deadline, {n: self.log_tail(f"worker-{n}") for n in wanted}
        finally:
            app.close()

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    @contextlib.contextmanager
    def instance(self):
        """A DagsterInstance on the cluster's PostgreSQL storage (its connection variables are set
        in os.environ only while it connects)."""
        import dagster as dg

        saved = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("DAGSTER_POSTGRES_")})
        try:
            instance = dg.DagsterInstance.from_config(str(self.home))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        with instance:
            yield instance

    def warehouse(self):
        """The cluster's S3 warehouse as a :class:`~mars_assets.resources.Warehouse` (credentials passed in)."""
        from dagster_aws.s3 import S3Resource

        from mars_assets.resources import Warehouse

        e = self.env
        s3 = S3Resource(
            endpoint_url=e["MARS_S3_ENDPOINT"],
            region_name=e["AWS_REGION"],
            use_ssl=False,
            aws_access_key_id=e["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"],
        )
        return Warehouse(root=e["MARS_WAREHOUSE"], s3=s3, s3_url_style="path", catalog=e["MARS_CATALOG"])


class Placement(NamedTuple):
    """One step started in a Celery worker (dagster-celery's engine event "Executing steps ... in
    celery worker", whose metadata names the worker node)."""

    run_id: str
    step_key: str
    worker: str  # the node name without its host: w1, w2 ...
    timestamp: float


def placements(instance, run_ids: Sequence[str]) -> list[Placement]:
    """Every step start in a Celery worker of ``run_ids``, in time order."""
    import dagster as dg

    out = []
    for run_id in run_ids:
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            worker = e.dagster_event.engine_event_data.metadata.get("Celery worker")
            if worker is not None:
                out.append(Placement(run_id, e.step_key, str(worker.value).split("@")[0], e.timestamp))
    return sorted(out, key=lambda p: p.timestamp)


def submitted_queues(instance, run_ids: Sequence[str]) -> dict[str, set[str]]:
    """Step key -> the queues its Celery tasks were submitted to (the executor's engine events)."""
    import dagster as dg

    found: dict[str, set[str]] = {}
    for run_id in run_ids:
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            if e.message.startswith("Submitting celery task") and e.step_key:
                found.setdefault(e.step_key, set()).add(e.message.rsplit('to queue "', 1)[-1].rstrip('".'))
    return found


def _wait_port(port: int, proc: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


def _instance_yaml(max_concurrent_runs: int) -> str:
    conf = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    conf["concurrency"]["runs"]["max_concurrent_runs"] = max_concurrent_runs
    return yaml.safe_dump(conf, sort_keys=False)


@contextlib.contextmanager
def loopback_cluster(
    base: Path,
    executor: str = "celery",
    workers: Mapping[str, Sequence[str]] | None = None,
    env: Mapping[str, str] | None = None,
    max_concurrent_runs: int = 4,
) -> Iterator[LoopbackCluster]:
    """Start the deployment in ``base`` (``executor`` "celery" or "default"; ``workers`` name ->
    queues, default two: ``w1`` on nasa_api and cpu, ``w2`` on cpu); ``env`` adds to every process's
    environment (MARS_* settings). Yields the :class:`LoopbackCluster`; everything is stopped on exit.
    Raises RuntimeError when a server cannot start."""
    import boto3

    ensure_servers()
    base.mkdir(parents=True, exist_ok=True)
    workers = {"w1": ("nasa_api", "cpu"), "w2": ("cpu",)} if workers is None else workers
    home, bucket, port = base / "dagster_home", f"mars-{uuid.uuid4().hex[:12]}", free_port()
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(_instance_yaml(max_concurrent_runs))
    (base / "landing").mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        # the postgres user must reach its data folder: a folder of its own under /tmp, not below ``base``
        pg_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mars-cluster-pg-")))
        pg = urlsplit(stack.enter_context(postgres_server(pg_dir / "pg")))
        s3_port, redis_port = free_port(), free_port()
        redis_password = uuid.uuid4().hex
        full_env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the worker CLI runs `celery`
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_HOST": "127.0.0.1",
            "DAGSTER_POSTGRES_PORT": str(pg.port),
            "DAGSTER_POSTGRES_USER": pg.username or "mars",
            "DAGSTER_POSTGRES_PASSWORD": "trust-auth-on-loopback",
            "DAGSTER_POSTGRES_DB": pg.path.lstrip("/"),
            "MARS_EXECUTOR": executor,
            "MARS_WAREHOUSE": f"s3://{bucket}/warehouse",
            "MARS_LANDING": str(base / "landing"),
            "MARS_CATALOG": str(base / "warehouse.duckdb"),
            "MARS_S3_ENDPOINT": f"http://127.0.0.1:{s3_port}",
            "AWS_ACCESS_KEY_ID": S3_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_REGION": "us-east-1",
            "MARS_PHOTOS_API_URL": "http://127.0.0.1:9/none",
            "MARS_MMGIS_URL": "http://127.0.0.1:9/none",
            **(env or {}),
        }
        full_env.pop("AWS_SESSION_TOKEN", None)
        if executor == "celery":
            full_env["MARS_CELERY_BROKER"] = f"redis://:{redis_password}@127.0.0.1:{redis_port}/0"
        cluster = LoopbackCluster(base, full_env, port, bucket)
        stack.callback(cluster.stop)
        moto = cluster.spawn("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)])
        if executor == "celery":
            redis_cmd = ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""]
            redis = cluster.spawn("redis", [*redis_cmd, "--appendonly", "no", "--requirepass", redis_password])
            _wait_port(redis_port, redis, 30, "redis-server")
        _wait_port(s3_port, moto, 60, "moto server")
        boto3.client(
            "s3",
            endpoint_url=full_env["MARS_S3_ENDPOINT"],
            region_name="us-east-1",
            aws_access_key_id=S3_KEY_ID,
            aws_secret_access_key=S3_SECRET,
        ).create_bucket(Bucket=bucket)
        # create the PostgreSQL schema once, before the processes that open the instance start
        # together: each would create it, and the losers of that race exit ("type jobs already exists")
        migrate = subprocess.run(
            [str(BIN / "dagster"), "instance", "migrate"], env=full_env, capture_output=True, text=True, timeout=300
        )
        if migrate.returncode:
            raise RuntimeError(f"dagster instance migrate failed:\n{migrate.stdout[-2000:]}\n{migrate.stderr[-2000:]}")
        dev = cluster.spawn(
            "dagster-dev",
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        )
        if executor == "celery":
            for name, queues in workers.items():
                cluster.start_worker(name, queues)
        cluster._wait_ready(dev, timeout=240)
        if executor == "celery":
            cluster.wait_workers(timeout=120)
        yield cluster
