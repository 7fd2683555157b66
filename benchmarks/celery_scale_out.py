"""Benchmark: image statistics over two Celery workers against the default executor (issue 19).

Run from the repository root::

    .venv/bin/python -m benchmarks.celery_scale_out                 # 40 partitions x 10 images; ~4 min
    .venv/bin/python -m benchmarks.celery_scale_out --partitions 80 --images 10 --batch 10

What it does, twice, on the same images and machine, each time in a fresh loopback deployment
(benchmarks.loopback_cluster: PostgreSQL storage, a moto S3 warehouse, ``dagster dev``):

1. ``default``: ``MARS_EXECUTOR=default`` (Dagster's multiprocess executor; image statistics on
   ``--default-image-workers`` processes a run, 0 = every core; ``--default-max-runs`` runs at once,
   2 as in the shipped dagster.yaml);
2. ``celery``: ``MARS_EXECUTOR=celery``, Redis and two workers (``w1`` on nasa_api and cpu, ``w2``
   on cpu), each running one step at a time with ``--celery-image-workers`` processes (default 1: the
   two workers together use as many cores as one default run; ``--celery-max-runs`` runs at once, 4 as
   in deploy/dagster.yaml: a run only waits for its steps there).

Each time it writes bronze images for ``--partitions`` Curiosity sols (``--images`` a sol, cycling
through the snapshot's real full frames, as benchmarks.backfill does), launches one backfill of the
silver image assets (silver images, image_stats, image_quarantine) through GraphQL with
``MARS_BATCH_SOLS=--batch`` (so ⌈partitions ÷ batch⌉ runs, at most 4 at once) and prints:

* images/s over the runs' window (first run start to last run end, from the run records; the
  backfill daemon's 30 s tick before and after is printed apart, it is the same for both);
* the ratio celery ÷ default (target >= 0.9: the engine costs under 10 %);
* the step bodies' seconds (STEP_START to STEP_SUCCESS of silver_images: reading bronze, statistics,
  Delta commits), summed and a step; the window's rest is run and step start-up and events;
* per worker: the steps it ran, their images and busy seconds (STEP_START to STEP_SUCCESS), and
  images per busy second, the throughput a cluster multiplies by its number of workers.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg

from benchmarks.backfill import SNAPSHOT, _write_bronze
from benchmarks.loopback_cluster import loopback_cluster, placements

ASSETS = (["silver", "images"], ["silver", "image_stats"], ["silver", "image_quarantine"])
STATS = dg.AssetKey(["silver", "image_stats"])


def _step_images(instance, run_id: str) -> int:
    """Rows the run's image_stats materialization reports (dagster/row_count), 0 without one."""
    for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = e.dagster_event.step_materialization_data.materialization
        if mat.asset_key == STATS and "dagster/row_count" in mat.metadata:
            return int(mat.metadata["dagster/row_count"].value)
    return 0


def _busy(instance, run_id: str, step_key: str) -> float:
    """Seconds from the step's last STEP_START to its STEP_SUCCESS."""
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    events = [e for e in instance.all_logs(run_id, of_type=kinds) if e.step_key == step_key]
    starts = [e.timestamp for e in events if e.dagster_event.event_type == dg.DagsterEventType.STEP_START]
    ends = [e.timestamp for e in events if e.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS]
    return ends[-1] - starts[-1] if starts and ends else 0.0


def measure(base: Path, executor: str, args: argparse.Namespace) -> dict:
    """One backfill in a fresh deployment; returns its figures."""
    workers = args.default_image_workers if executor == "default" else args.celery_image_workers
    env = {"MARS_BATCH_SOLS": str(args.batch), "MARS_IMAGE_WORKERS": str(workers), "MARS_MAX_IMAGE_DOWNLOADS": "0"}
    sols = list(range(1, args.partitions + 1))
    max_runs = args.default_max_runs if executor == "default" else args.celery_max_runs
    with loopback_cluster(base, executor=executor, env=env, max_concurrent_runs=max_runs) as cluster:
        _write_bronze(cluster.warehouse(), sols, args.images, sorted(SNAPSHOT.glob("*")))
        with cluster.instance() as instance:
            from mars_assets.partitions import add_sols, rover_sol_key

            add_sols(instance, sols)
            t0 = time.time()
            backfill_id = cluster.launch_backfill([str(rover_sol_key("curiosity", s)) for s in sols], ASSETS)
            status = cluster.wait_backfill(backfill_id, timeout=1800)
            t1 = time.time()
            runs = list(instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id})))
            run_ids = [r.dagster_run.run_id for r in runs]
            per_run = {rid: _step_images(instance, rid) for rid in run_ids}
            bodies = sum(_busy(instance, rid, "silver_images") for rid in run_ids)
            per_worker: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])  # steps, images, busy s
            for p in placements(instance, run_ids):
                w = per_worker[p.worker]
                w[0] += 1
                w[1] += per_run[p.run_id]
                w[2] += _busy(instance, p.run_id, p.step_key)
    first = min(r.start_time for r in runs)
    last = max(r.end_time for r in runs)
    return {
        "status": status.get("status"),
        "runs": len(runs),
        "images": sum(per_run.values()),
        "window": last - first,
        "before": first - t0,
        "after": t1 - last,
        "bodies": bodies,
        "workers": dict(per_worker),
        "image_workers": workers,
        "max_runs": max_runs,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partitions", type=int, default=40, help="rover x sol partitions (default 40)")
    ap.add_argument("--images", type=int, default=10, help="images per partition (default 10)")
    ap.add_argument("--batch", type=int, default=10, help="MARS_BATCH_SOLS: partitions per run (default 10)")
    ap.add_argument("--default-image-workers", type=int, default=0, help="default run's processes (0 = cores)")
    ap.add_argument("--celery-image-workers", type=int, default=1, help="processes per Celery worker (default 1)")
    ap.add_argument("--default-max-runs", type=int, default=2, help="runs at once, default (2: dagster.yaml)")
    ap.add_argument("--celery-max-runs", type=int, default=4, help="runs at once, celery (4: deploy/dagster.yaml)")
    args = ap.parse_args(argv)
    print(
        f"machine   {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"Python {platform.python_version()}, dagster {dg.__version__}"
    )
    print(
        f"input     {args.partitions} partitions x {args.images} images ({len(list(SNAPSHOT.glob('*')))} real "
        f"full frames cycled), MARS_BATCH_SOLS={args.batch}"
    )
    results = {}
    for executor in ("default", "celery"):
        with tempfile.TemporaryDirectory(prefix=f"mars-scale-out-{executor}-") as tmp:
            r = results[executor] = measure(Path(tmp), executor, args)
        rate = r["images"] / r["window"] if r["window"] else 0.0
        print(
            f"{executor:8s}  {r['status']}, {r['runs']} runs, {r['images']} images in {r['window']:6.1f} s "
            f"of runs: {rate:6.1f} images/s  ({r['max_runs']} runs at once, image workers "
            f"{r['image_workers'] or 'every core'}; daemon "
            f"wait {r['before']:.0f} s before the first run, {r['after']:.0f} s after the last)"
        )
        print(
            f"  step bodies (STEP_START to STEP_SUCCESS of silver_images): {r['bodies']:6.1f} s summed, "
            f"{r['bodies'] / max(r['runs'], 1):5.1f} s a step"
        )
        for name, (steps, images, busy) in sorted(r["workers"].items()):
            per = images / busy if busy else 0.0
            print(f"  worker {name}: {steps} steps, {images} images, {busy:6.1f} s busy: {per:6.1f} images/s")
    d, c = results["default"], results["celery"]
    ratio = (c["images"] / c["window"]) / (d["images"] / d["window"]) if d["window"] and c["window"] else 0.0
    print(f"ratio     celery / default images/s: {ratio:.2f}  (target >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
