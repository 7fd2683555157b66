"""Scale out on Celery (issue 19), end to end on loopback: PostgreSQL storage, a moto S3 warehouse,
Redis, `dagster dev` (webserver + daemon + code server) with ``MARS_EXECUTOR=celery`` and two
`dagster-celery worker` processes — ``w1`` on the ``nasa_api`` and ``cpu`` queues, ``w2`` on ``cpu``
(benchmarks.loopback_cluster). Two backfills of 40 rover × sol image-statistics partitions each,
launched through GraphQL: one plain, one with ``w2`` SIGKILLed mid-step. Both must complete with
the rows the project's default executor writes for the same partitions (slow: ~2.5 min). First, the
executor's configuration without any server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from benchmarks.loopback_cluster import loopback_cluster, placements, submitted_queues
from mars_assets.defs.automation.selections import IMAGE_ASSETS
from mars_assets.demo import bundled_snapshot
from mars_assets.executors import (
    CPU_QUEUE,
    NASA_QUEUE,
    QUEUE_TAG,
    celery_settings,
    executor_def,
    worker_app,
    worker_settings,
)
from mars_assets.partitions import add_sols, rover_sol_key
from mars_assets.resources import Warehouse
from mars_assets.settings import Settings
from mars_assets_tests.test_secrets import files_with, instance_text, text_hits

PLAIN, KILLED = list(range(2000, 2040)), list(range(2100, 2140))  # Curiosity sols of the two backfills
ASSETS = (["bronze", "images"], ["silver", "images"], ["silver", "image_stats"], ["silver", "image_quarantine"])
BATCH = 10  # MARS_BATCH_SOLS: 40 partitions make 4 runs, 8 steps
#: Redis gives a dead worker's task to another after this many seconds (the steps here take ~3 s)
VISIBILITY_TIMEOUT = 20
BRONZE_STEP, SILVER_STEP = "bronze__images", "silver_images"


def image_job() -> dg.JobDefinition:
    """The image assets as one job of the code location configured from the environment (the
    default executor when MARS_EXECUTOR is unset): reconstructable, for dagster.execute_job."""
    from mars_assets.definitions import build_definitions

    jobs = dg.Definitions(jobs=[dg.define_asset_job("images_job", selection=IMAGE_ASSETS)])
    return dg.Definitions.merge(build_definitions(), jobs).resolve_job_def("images_job")


def land_images(landing: Path, sols: list[int]) -> None:
    """Three images a sol in the landing zone, named as MSL Mastcam products of that sol: the
    snapshot's 1022×1022 Navcam frame and two of its MSL browse JPEGs."""
    frame = (bundled_snapshot() / "images/mars-raw-utils/NRB_670586006EDR_S0871444NCAM00545M_.jpg").read_bytes()
    browse = sorted((bundled_snapshot() / "images/msl_deep_mars_browse").glob("*.JPG"))
    landing.mkdir(parents=True, exist_ok=True)
    for sol in sols:
        blobs = [frame, browse[sol % len(browse)].read_bytes(), browse[(sol * 7) % len(browse)].read_bytes()]
        for j, blob in enumerate(blobs, 1):
            (landing / f"{sol:04d}ML000000011010003{j}E01_DRCL.JPG").write_bytes(blob)


def silver_rows(warehouse: Warehouse, sols: list[int]) -> dict[str, list[dict]]:
    """images (without ingested_at) and image_stats rows of ``sols``, sorted by rover, sol, image."""
    out = {}
    for table in ("images", "image_stats"):
        t = warehouse.read_table("silver", table, where="sol between ? and ?", params=[min(sols), max(sols)])
        t = t.drop_columns([c for c in ("ingested_at",) if c in t.column_names])
        out[table] = t.sort_by([("rover", "ascending"), ("sol", "ascending"), ("image_id", "ascending")]).to_pylist()
    return out


def materialize_default(base: str) -> None:
    """Both sets of partitions on the project's default executor, in a process of its own: one
    dagster.execute_job (multiprocess) run over their range, a local warehouse and a SQLite
    instance in ``base``. Raises AssertionError when the run fails."""
    home = Path(base, "home")
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        add_sols(instance, PLAIN + KILLED)
        tags = {
            "dagster/asset_partition_range_start": str(rover_sol_key("curiosity", PLAIN[0])),
            "dagster/asset_partition_range_end": str(rover_sol_key("curiosity", KILLED[-1])),
        }
        with dg.execute_job(dg.reconstructable(image_job), instance=instance, tags=tags) as result:
            assert result.success


class DefaultRun:
    """:func:`materialize_default` running in the background while the cluster starts and works."""

    def __init__(self, base: Path) -> None:
        self.base, self._rows = base, None
        env = {**os.environ, "MARS_WAREHOUSE": str(base / "wh"), "MARS_LANDING": str(base / "landing")}
        env.update(MARS_IMAGE_WORKERS="1", MARS_EXECUTOR="default")
        code = f"from {__name__} import materialize_default; materialize_default({str(base)!r})"
        with (base / "default.log").open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=subprocess.STDOUT)

    def rows(self, sols: list[int]) -> dict[str, list[dict]]:
        """The default executor's silver rows of ``sols`` (waits for the run)."""
        assert self.proc.wait(timeout=300) == 0, (self.base / "default.log").read_text()[-3000:]
        return silver_rows(Warehouse(root=str(self.base / "wh")), sols)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("default")
    land_images(base / "landing", PLAIN + KILLED)
    run = DefaultRun(base)
    yield run
    if run.proc.poll() is None:
        run.proc.kill()
        run.proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster")
    land_images(base / "landing", PLAIN + KILLED)
    env = {
        "MARS_BATCH_SOLS": str(BATCH),
        "MARS_IMAGE_WORKERS": "1",
        "MARS_MAX_IMAGE_DOWNLOADS": "0",
        "MARS_CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    }
    with loopback_cluster(base, env=env) as c:
        with c.instance() as instance:
            add_sols(instance, PLAIN + KILLED)
        yield c


def partitions(sols: list[int]) -> list[str]:
    return [str(rover_sol_key("curiosity", s)) for s in sols]


def backfill_runs(instance: dg.DagsterInstance, backfill_id: str) -> list[dg.RunRecord]:
    return list(instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id})))


def assert_rows_equal_and_unique(cluster, default: dict[str, list[dict]], sols: list[int]) -> None:
    rows = silver_rows(cluster.warehouse(), sols)
    for table in ("images", "image_stats"):
        keys = [(r["rover"], r["sol"], r["image_id"]) for r in rows[table]]
        assert len(keys) == len(set(keys)) == 3 * len(sols), table  # three images a sol, none twice
        assert rows[table] == default[table], table


def test_default_executor_stays_and_celery_is_chosen_by_the_environment_without_its_secret(monkeypatch):
    """No MARS_EXECUTOR: Dagster's default executor. MARS_EXECUTOR=celery: dagster-celery's for
    every job and the implicit asset job of backfills, configured with the broker variable's name:
    the broker password is in no job snapshot."""
    from dagster._serdes import serialize_value

    from mars_assets.definitions import build_definitions

    monkeypatch.delenv("MARS_EXECUTOR", raising=False)
    assert Settings.from_env().executor == "default" and executor_def(Settings.from_env()) is None
    password = "celery-canary-" + "5f0c1e2d3b4a"
    monkeypatch.setenv("MARS_EXECUTOR", "celery")
    monkeypatch.setenv("MARS_CELERY_BROKER", f"redis://:{password}@127.0.0.1:6379/0")
    defs = build_definitions(Settings.from_env())
    jobs = [defs.resolve_job_def(n) for n in ("rover_sol_job", "photos_job")] + [
        defs.resolve_implicit_global_asset_job_def()
    ]
    assert {j.executor_def.name for j in jobs} == {"celery"}
    snapshots = "".join(serialize_value(j.get_job_snapshot()) for j in jobs)
    assert "dagster-celery/queue" in snapshots and password not in snapshots


def test_unknown_executor_or_celery_without_a_broker_is_refused(monkeypatch):
    monkeypatch.delenv("MARS_CELERY_BROKER", raising=False)
    with pytest.raises(ValueError, match="MARS_CELERY_BROKER"):
        executor_def(Settings(executor="celery"))
    with pytest.raises(ValueError, match="MARS_EXECUTOR must be one of"):
        executor_def(Settings(executor="dask"))


def test_steps_that_call_nasa_route_to_nasa_api_and_cpu_work_to_cpu():
    """The op tags dagster-celery routes by: every NASA/JPL-calling step on nasa_api, image
    statistics on cpu, every untagged step on cpu (the Celery default queue)."""
    from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

    from mars_assets.defs.bronze import images, manifests, photos, rovers, waypoints
    from mars_assets.defs.silver import images as silver

    assert QUEUE_TAG == DAGSTER_CELERY_QUEUE_TAG
    nasa = [photos.photos, rovers.bronze_rovers, manifests.bronze_manifests, waypoints.bronze_waypoints]
    for asset in [*nasa, images.bronze_images]:
        assert asset.op.tags[QUEUE_TAG] == NASA_QUEUE, asset.key
    assert silver.silver_images.op.tags[QUEUE_TAG] == CPU_QUEUE
    assert celery_settings(60)["task_default_queue"] == CPU_QUEUE


def test_worker_app_reads_the_environment_only_when_configured(monkeypatch):
    """Building the workers' app reads nothing; its configuration (broker from the environment,
    late acknowledgement, the Redis visibility timeout) is read when first used."""
    monkeypatch.delenv("MARS_CELERY_BROKER", raising=False)
    monkeypatch.delenv("MARS_CELERY_BACKEND", raising=False)
    app = worker_app()  # no broker set: still builds
    with pytest.raises(ValueError, match="MARS_CELERY_BROKER"):
        worker_settings(Settings.from_env())  # what the app would read now
    monkeypatch.setenv("MARS_CELERY_BROKER", "redis://127.0.0.1:6399/3")
    monkeypatch.setenv("MARS_CELERY_VISIBILITY_TIMEOUT", "45")
    conf = app.conf  # read here, with the broker set
    assert conf.broker_url == conf.result_backend == "redis://127.0.0.1:6399/3"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 45
    assert "execute_plan" in app.tasks


#: The second backfill's id, once launched (by the first test as soon as its runs are done, so the
#: daemon tick that completes the first backfill starts the second: one 30 s tick less to wait).
SECOND: dict[str, str] = {}


def second_backfill(cluster) -> str:
    if "id" not in SECOND:
        SECOND["id"] = cluster.launch_backfill(partitions(KILLED), ASSETS)
    return SECOND["id"]


def wait_runs_done(cluster, backfill_id: str, runs: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with cluster.instance() as instance:
        while time.monotonic() < deadline:
            records = backfill_runs(instance, backfill_id)
            if len(records) == runs and all(r.dagster_run.is_finished for r in records):
                return
            time.sleep(1)


def step_events(instance, run_id: str, kind: dg.DagsterEventType, step_key: str) -> list:
    return [e for e in instance.all_logs(run_id, of_type={kind}) if e.step_key == step_key]


@pytest.mark.slow
def test_backfill_spreads_over_two_celery_workers_with_the_default_executors_rows(default_run, cluster):
    """40 partitions, 4 runs: COMPLETED_SUCCESS; bronze steps on the nasa_api queue (only w1 serves
    it), image statistics on cpu and run by both workers; rows equal the default executor's; the
    Redis password and the S3 secret are in no log, no file of the instance folder, no run or event."""
    backfill_id = cluster.launch_backfill(partitions(PLAIN), ASSETS)
    wait_runs_done(cluster, backfill_id, len(PLAIN) // BATCH, timeout=200)
    second_backfill(cluster)
    status = cluster.wait_backfill(backfill_id, timeout=60)
    with cluster.instance() as instance:
        runs = backfill_runs(instance, backfill_id)
        run_ids = [r.dagster_run.run_id for r in runs]
        placed = placements(instance, run_ids)
        queues = submitted_queues(instance, run_ids)
        recorded = instance_text(instance)
    assert status["status"] == "COMPLETED_SUCCESS", (status, cluster.log_tail("dagster-dev"))
    assert status["numPartitions"] == len(PLAIN)
    assert len(runs) == len(PLAIN) // BATCH and all(r.dagster_run.is_success for r in runs)
    assert queues == {BRONZE_STEP: {NASA_QUEUE}, SILVER_STEP: {CPU_QUEUE}}
    assert {p.worker for p in placed if p.step_key == BRONZE_STEP} == {"w1"}
    assert {p.worker for p in placed} == {"w1", "w2"}  # the CPU work spread over both workers
    assert len(placed) == 2 * len(runs)  # each step ran once
    assert_rows_equal_and_unique(cluster, default_run.rows(PLAIN), PLAIN)

    redis_password = cluster.env["MARS_CELERY_BROKER"].split(":")[2].split("@")[0]
    for secret in (redis_password, cluster.env["AWS_SECRET_ACCESS_KEY"]):
        assert not text_hits(secret, recorded)
        assert files_with(secret, cluster.logs, cluster.home) == []


@pytest.mark.slow
def test_worker_killed_mid_step_loses_and_duplicates_nothing(default_run, cluster):
    """w2 SIGKILLed (its whole process group) inside an image-statistics step (after its
    STEP_START): the task, acknowledged late, goes back to the broker and w1 runs it in the same
    run; the backfill completes with no run failed or retried, rows equal to the default
    executor's, none twice."""
    backfill_id = second_backfill(cluster)
    victim, killed_at, deadline = None, 0.0, time.monotonic() + 180
    with cluster.instance() as instance:
        while victim is None:
            assert time.monotonic() < deadline, "w2 was never seen inside an image-statistics step"
            run_ids = [r.dagster_run.run_id for r in backfill_runs(instance, backfill_id)]
            for p in placements(instance, run_ids):
                if p.worker != "w2" or p.step_key != SILVER_STEP:
                    continue
                started = step_events(instance, p.run_id, dg.DagsterEventType.STEP_START, SILVER_STEP)
                if started and not step_events(instance, p.run_id, dg.DagsterEventType.STEP_SUCCESS, SILVER_STEP):
                    cluster.kill_worker("w2")
                    victim, killed_at = p, time.time()
                    break
            time.sleep(0.1)
        status = cluster.wait_backfill(backfill_id, timeout=240)
        runs = backfill_runs(instance, backfill_id)
        placed = [p for p in placements(instance, [victim.run_id]) if p.step_key == SILVER_STEP]
        starts = step_events(instance, victim.run_id, dg.DagsterEventType.STEP_START, SILVER_STEP)
        success = step_events(instance, victim.run_id, dg.DagsterEventType.STEP_SUCCESS, SILVER_STEP)
    assert status["status"] == "COMPLETED_SUCCESS", (status, cluster.log_tail("dagster-dev"))
    assert len(runs) == len(KILLED) // BATCH and all(r.dagster_run.is_success for r in runs)  # none retried
    assert [p.worker for p in placed] == ["w2", "w1"]  # started on w2, redelivered to w1
    assert len(starts) == 2 and placed[1].timestamp > killed_at
    assert len(success) == 1 and success[0].timestamp > killed_at
    assert_rows_equal_and_unique(cluster, default_run.rows(KILLED), KILLED)


def test_landing_fixture_names_parse_as_the_partitions_they_fill(tmp_path):
    """The landing files the backfills read are named so bronze routes each to its rover × sol."""
    from mars_assets.sources.product_ids import parse_product_id

    land_images(tmp_path, [2000])
    parsed = [parse_product_id(p.stem) for p in sorted(tmp_path.iterdir())]
    assert [(p.rover, p.sol) for p in parsed] == [("curiosity", 2000)] * 3
