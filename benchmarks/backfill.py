"""Benchmark of a partitioned backfill of image statistics (issue 7).

Run from the repository root::

    .venv/bin/python -m benchmarks.backfill                     # 240 partitions x 10 images, ~1-2 min
    .venv/bin/python -m benchmarks.backfill --partitions 400 --images 6
    .venv/bin/python -m benchmarks.backfill --planned-events subset   # one planned event per asset
    .venv/bin/python -m benchmarks.backfill --storage postgres        # Dagster on PostgreSQL
    .venv/bin/python -m benchmarks.backfill --storage postgres --event-batch-size 1000

What it does, in a temporary DAGSTER_HOME and local warehouse:

1. writes bronze images for ``--partitions`` Curiosity sols, ``--images`` files per
   sol, cycling through the real full-frame rover images of the snapshot
   (``mars_assets/snapshot/images/mars-raw-utils``: a 1022x1022 Navcam JPEG and four
   Perseverance PNGs up to 1648x1200), laid out exactly as ``bronze_images`` stores them;
2. adds the sols to the dynamic partitions of a real Dagster instance;
3. times the backfill: ``silver_images`` (silver images + image_stats + image_quarantine)
   materialized over all those partitions in ONE run, as its
   ``BackfillPolicy.single_run()`` makes the backfill daemon launch it (a run tagged
   with the partition range), through ``dagster.materialize``: run start, reading bronze,
   statistics on the worker processes, Parquet writes, event log, run end;
4. times the image computation alone: the same images through a started, warm
   ``ImageStatsPool`` with the same worker count (what no orchestration can avoid), handed
   over as the asset hands them over (``ImageFile``: the workers read the bronze files), and,
   for reference, as bytes pickled from this process. The share uses the faster of the two.

It prints both and the share of the backfill's wall time spent outside image
computation, ``1 - compute / backfill`` (target: <= 10 %), plus the time the asset
itself spent waiting for statistics (metadata ``stats_wait_seconds``), the CPU time of
the run's own process, and the run's wall time split into phases by the timestamps of
its stored events (run creation with its planned-materialization events; the step body;
the materialization events after it). The figure is printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import dagster as dg

from mars_assets.demo.loopback import free_port

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SNAPSHOT = Path(__file__).resolve().parents[1] / "mars_assets" / "snapshot" / "images" / "mars-raw-utils"


def _write_bronze(warehouse, sols: list[int], per_sol: int, frames: list[Path]) -> list[tuple[str, bytes]]:
    """Bronze image objects + _index.json per sol; returns every (object path, blob) in
    backfill order."""
    blobs = [p.read_bytes() for p in frames]
    digests = [hashlib.sha256(b).hexdigest() for b in blobs]
    out = []
    k = 0
    for sol in sols:
        objects, index = {}, []
        for j in range(per_sol):
            f = k % len(frames)
            k += 1
            name = f"bench_{sol:05d}_{j:02d}{frames[f].suffix.lower()}"
            data = objects[name] = blobs[f]
            index.append(
                {
                    "object": name,
                    "product_id": frames[f].stem,
                    "camera": "NAVCAM_LEFT",
                    "source": "landing",
                    "uri": f"landing/{name}",
                    "status": "stored",
                    "reason": None,
                    "sha256": digests[f],
                }
            )  # bronze_images hashes at ingest
            out.append((f"bronze/images/rover=curiosity/sol={sol}/{name}", data))
        objects["_index.json"] = json.dumps(index).encode()
        warehouse.write_objects(f"bronze/images/rover=curiosity/sol={sol}", objects)
    return out


def _phases(instance, run_id: str, t_start: float, t_end: float) -> list[tuple[str, float, int]]:
    """Wall time of the backfill run by phase, from the timestamps of its stored events:
    (phase, seconds, events stored in it). ``t_start``/``t_end`` are perf_counter values
    around dagster.materialize; event timestamps are wall-clock seconds."""
    logs = instance.all_logs(run_id)
    kinds = [(e.timestamp, e.dagster_event.event_type_value if e.dagster_event else "LOG") for e in logs]
    wall0 = time.time() - (time.perf_counter() - t_start)  # wall clock at t_start
    step_start = next(t for t, k in kinds if k == "STEP_START")
    first_mat = next(t for t, k in kinds if k == "ASSET_MATERIALIZATION")
    end = wall0 + (t_end - t_start)

    def count(a: float, b: float) -> int:
        return sum(a <= t < b for t, _ in kinds)

    return [
        ("run creation (planned events), run and step start", step_start - wall0, count(wall0, step_start)),
        ("step body: read bronze, statistics, write Parquet", first_mat - step_start, count(step_start, first_mat)),
        ("after the body: materialization events, check, run end", end - first_mat, count(first_mat, end + 1)),
    ]


@contextlib.contextmanager
def postgres_server(base: Path):
    """A throwaway PostgreSQL server on 127.0.0.1 (data in ``base``), stopped on exit;
    yields its URL. Needs the PostgreSQL server binaries (Debian: ``postgresql``);
    as root, the server runs as the ``postgres`` user (it refuses root)."""
    bindir = Path(
        subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        or "/usr/lib/postgresql/15/bin"
    )
    if not (bindir / "initdb").exists():
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not candidates:
            raise SystemExit("--storage postgres needs the PostgreSQL server binaries (initdb, pg_ctl)")
        bindir = candidates[-1].parent
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = base / "pgdata"
    base.mkdir(parents=True, exist_ok=True)
    base.parent.chmod(0o711)  # the temporary folder: the postgres user must reach base
    base.chmod(0o777)
    port = free_port()

    def run(cmd: list[str]) -> None:
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            raise SystemExit(f"{Path(cmd[len(as_user)]).name} failed ({res.returncode}): {res.stderr.strip()}")

    run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "mars", "-E", "UTF8"])
    run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "pg.log"),
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=on",
            "start",
        ]
    )
    try:
        run(
            [
                str(bindir / "createdb") if (bindir / "createdb").exists() else "createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "mars",
                "dagster",
            ]
        )
        yield f"postgresql+psycopg2://mars@127.0.0.1:{port}/dagster"  # SQLAlchemy 2.1 defaults to psycopg 3
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partitions", type=int, default=240, help="rover x sol partitions (default 240)")
    ap.add_argument("--images", type=int, default=10, help="images per partition (default 10, the download cap)")
    ap.add_argument("--workers", type=int, default=0, help="worker processes (default 0 = every core)")
    ap.add_argument(
        "--planned-events",
        choices=("per-partition", "subset"),
        default="per-partition",
        help="how Dagster records the run's planned materializations: one event per asset "
        "partition (its default) or one per asset for the whole range (Dagster's "
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS; a failed run then leaves its "
        "partitions missing rather than failed)",
    )
    ap.add_argument(
        "--storage",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the Dagster instance's run and event storage: SQLite files in DAGSTER_HOME (the "
        "laptop default) or a throwaway PostgreSQL server on 127.0.0.1 through "
        "dagster-postgres (the production setup; needs the `bench` extra and the "
        "PostgreSQL server binaries)",
    )
    ap.add_argument(
        "--event-batch-size",
        type=int,
        default=0,
        metavar="N",
        help="Dagster's DAGSTER_EVENT_BATCH_SIZE: store a run's planned and materialization "
        "events in batches of up to N (default 0: one write per event, Dagster's default). "
        "dagster-postgres writes a batch of materializations in one INSERT; the SQLite "
        "storage still writes them one by one",
    )
    args = ap.parse_args(argv)
    if args.event_batch_size:
        os.environ["DAGSTER_EVENT_BATCH_SIZE"] = str(args.event_batch_size)
    if args.planned_events == "subset":
        os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = "1"

    with tempfile.TemporaryDirectory(prefix="mars-backfill-bench-") as tmp, contextlib.ExitStack() as stack:
        tmp_path = Path(tmp)
        home = tmp_path / "home"
        home.mkdir()
        instance_yaml = "telemetry:\n  enabled: false\n"
        if args.storage == "postgres":
            url = stack.enter_context(postgres_server(tmp_path / "pg"))
            instance_yaml += f"storage:\n  postgres:\n    postgres_url: {url}\n"
        (home / "dagster.yaml").write_text(instance_yaml)
        os.environ["DAGSTER_HOME"] = str(home)
        from mars_assets.assets.silver import silver_images
        from mars_assets.imaging import ImageFile, ImageStatsPool
        from mars_assets.partitions import add_sols, rover_sol_key
        from mars_assets.settings import Settings

        settings = Settings(
            warehouse=str(tmp_path / "warehouse"), landing=str(tmp_path / "landing"), image_workers=args.workers
        )
        warehouse = settings.warehouse_resource(resolved=True)
        frames = sorted(SNAPSHOT.glob("*"))
        sols = list(range(1, args.partitions + 1))
        t0 = time.perf_counter()
        written = _write_bronze(warehouse, sols, args.images, frames)
        blobs = [b for _, b in written]
        files = [ImageFile.at(warehouse.local_file(p)) for p, _ in written]
        print(
            f"machine   {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
            f"Python {platform.python_version()}, dagster {dg.__version__}"
        )
        print(
            f"input     {args.partitions} partitions x {args.images} images = {len(blobs)} images, "
            f"{sum(map(len, blobs)) / 2**20:.0f} MiB ({len(frames)} real frames cycled); "
            f"bronze written in {time.perf_counter() - t0:.1f} s"
        )

        resources = settings.resources()
        resources.pop("dbt")
        with dg.DagsterInstance.get() as instance:
            add_sols(instance, sols)
            start, end = rover_sol_key("curiosity", sols[0]), rover_sol_key("curiosity", sols[-1])
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            result = dg.materialize(
                [silver_images],
                instance=instance,
                resources=resources,
                run_config=QUIET,
                tags={"dagster/asset_partition_range_start": str(start), "dagster/asset_partition_range_end": str(end)},
            )
            backfill_s = time.perf_counter() - t0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu_run = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
            assert result.success
            phases = _phases(instance, result.run_id, t0, t0 + backfill_s)
            mats = {str(m.asset_key.path): m for m in result.get_asset_materialization_events()}
            meta = next(m.materialization.metadata for k, m in mats.items() if "image_stats" in k)
            rows = meta["dagster/row_count"].value
            stats_s = meta["stats_wait_seconds"].value
            n_parts = meta["partitions"].value

        workers = ImageStatsPool(args.workers or None).workers
        compute = {}
        with ImageStatsPool(workers) as pool:
            pool.start()
            pool.statistics(blobs[: 4 * workers])  # warm
            t0 = time.perf_counter()
            pool.statistics(files)
            compute["files"] = time.perf_counter() - t0
            # a distinct bytes object per image, as the run once read them: a repeated object
            # would be pickled once per chunk (pickle's memo), not once per image
            copies = [b[:-1] + b[-1:] for b in blobs]
            t0 = time.perf_counter()
            pool.statistics(copies)
            compute["bytes"] = time.perf_counter() - t0
            del copies
        compute_s = min(compute.values())

    print(
        f"backfill  one run, {n_parts} partitions, {rows} image_stats rows: {backfill_s:6.1f} s wall "
        f"({rows / backfill_s:.1f} images/s)"
    )
    print(f"  inside the run, waiting for statistics: {stats_s:6.1f} s")
    print(f"  CPU time of the run's own process (events, reading, hashing, Parquet; not the workers): {cpu_run:.1f} s")
    print(
        f"  phases ({args.storage} storage, {args.planned_events} planned events, event batch size "
        f"{args.event_batch_size}), from the run's event log:"
    )
    for name, seconds, events in phases:
        print(f"    {name:58s} {seconds:6.1f} s  {events:5d} events")
    print(f"compute   the same {len(blobs)} images on a warm {workers}-process pool, one call:")
    print(
        f"  read by the workers from the bronze files (ImageFile, as the asset hands them over): "
        f"{compute['files']:6.1f} s ({len(blobs) / compute['files']:.1f} images/s)"
    )
    print(
        f"  as bytes in this process, pickled to the workers:                                  "
        f"{compute['bytes']:6.1f} s ({len(blobs) / compute['bytes']:.1f} images/s)"
    )
    share = 1 - compute_s / backfill_s
    print(
        f"share of backfill wall time outside image computation (against the faster of the two): {share:6.1%}  "
        f"(target <= 10%: "
        f"{'met' if share <= 0.10 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
