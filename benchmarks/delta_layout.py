"""Benchmark of the silver layouts: one Parquet file per rover × sol against Delta Lake tables.

Run from the repository root::

    .venv/bin/python -m benchmarks.delta_layout             # 1,000 and 4,000 sols, local and S3, ~8-10 min
    .venv/bin/python -m benchmarks.delta_layout --quick     # a small smoke run, ~1.5 min
    .venv/bin/python -m benchmarks.delta_layout --no-s3 --partitions 4000 --batch 500   # local only

For each ``--partitions`` N it generates N Curiosity sols (0..N-1) of synthetic silver photos
rows, ``--rows-per-partition`` each, in ``storage_schema("photos")`` (deterministic values
shaped like the JPL MSL feed's), and writes the same rows three ways, in a temporary folder
and in a bucket of a moto S3 server it starts on loopback (``--no-s3``: local only, ``--s3``:
S3 only):

  old     the pre-Delta layout, a copy of its writer: one zstd Parquet file per partition,
          ``rover=curiosity/sol=<s>/part-0.parquet`` without the rover and sol columns;
  one     every row in a single zstd Parquet file (the reference of a whole-table read);
  delta   Warehouse.write_silver_table("photos", ...) in commits of ``--batch`` partitions,
          read again after delta_tables.maintain() (compaction); and, for the first N only,
          its first ``--per-commit`` partitions written one Delta commit each.

It times the writes and, with DuckDB on a new connection each time, the reads: count(*), the
whole table fetched to Arrow, and one sol (the old layout's glob with hive partitioning as the
old Warehouse.relation_sql read it, the single file, ``delta_scan``). A read figure is the
best of ``--reps`` (fewer once a read has taken READ_BUDGET). It prints the figures and the
ratios: whole-table read against the single file (Delta's target: within 2×), commits per
run, write seconds per partition. Timings are printed, never asserted. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import deltalake
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from mars_assets.demo.loopback import free_port
from mars_assets.lib.silver import storage_schema
from mars_assets.resources import Warehouse, delta_tables
from mars_assets.resources.s3 import s3_filesystem, sql_string
from mars_assets.settings import Settings

ROVER = "curiosity"
LANDING = dt.datetime(2012, 8, 6, 5, 17, 57, tzinfo=dt.UTC)
SOL_SECONDS = 88775.244
#: Curiosity's cameras: v1 name, full name, JPL product-id prefix and URL folder.
CAMERAS = [
    ("FHAZ", "Front Hazard Avoidance Camera", "FLB", "fcam"),
    ("RHAZ", "Rear Hazard Avoidance Camera", "RLB", "rcam"),
    ("MAST", "Mast Camera", "ML0", "mcam"),
    ("CHEMCAM", "Chemistry and Camera Complex", "CR0", "ccam"),
    ("MAHLI", "Mars Hand Lens Imager", "MH0", "mhli"),
    ("NAVCAM", "Navigation Camera", "NLB", "ncam"),
]
#: Seconds of reads after which a read is not repeated (the old layout on moto takes tens of seconds).
READ_BUDGET = 10.0
BUCKET = "mars-bench"
START = time.perf_counter()


def photos(n_sols: int, per_sol: int) -> pa.Table:
    """``per_sol`` photo rows for each of sols 0..n_sols-1, sorted by sol, in the silver schema."""
    rng = np.random.default_rng(20261201)
    n = n_sols * per_sol
    sol = np.repeat(np.arange(n_sols, dtype=np.int64), per_sol)
    cam = rng.integers(0, len(CAMERAS), n)
    frac = np.sort(rng.uniform(0.3, 0.7, (n_sols, per_sol)), axis=1).ravel()  # daytime, in sol fractions
    taken = LANDING.timestamp() + (sol + frac) * SOL_SECONDS
    sclk = (397_502_000 + (taken - LANDING.timestamp())).astype(np.int64)
    site = 1 + sol // 40
    drive = (sol % 40) * 12 + rng.integers(0, 12, n)
    lmst = frac * 86400
    products = [
        f"{CAMERAS[c][2]}_{t}EDR_F{s:07d}{CAMERAS[c][3].upper()}00{j % 1000:03d}M_"
        for c, t, s, j in zip(cam.tolist(), sclk.tolist(), (site * 1000 + drive).tolist(), range(n), strict=True)
    ]
    folder = [f"{s:05d}/opgs/edr/{CAMERAS[c][3]}" for s, c in zip(sol.tolist(), cam.tolist(), strict=True)]
    ingested = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
    cols = {
        "photo_id": 1_000_000 + np.arange(n, dtype=np.int64),
        "rover": [ROVER] * n,
        "sol": sol,
        "earth_date": pa.array(
            (LANDING.date() + dt.timedelta(days=d) for d in (sol * SOL_SECONDS // 86400).astype(int).tolist()),
            pa.date32(),
        ),
        "camera": [CAMERAS[c][0] for c in cam.tolist()],
        "camera_id": pa.nulls(n, pa.int32()),
        "camera_full_name": [CAMERAS[c][1] for c in cam.tolist()],
        "img_src": [
            f"https://mars.nasa.gov/msl-raw-images/proj/msl/redops/ods/surface/sol/{f}/{p}.JPG"
            for f, p in zip(folder, products, strict=True)
        ],
        "product_id": products,
        "source": ["jpl_msl"] * n,
        "ingested_at": pa.array([ingested] * n, pa.timestamp("us", tz="UTC")),
        "sample_type": np.where(rng.uniform(size=n) < 0.8, "full", "thumbnail").tolist(),
        "date_taken_utc": pa.array((taken * 1e6).astype(np.int64), pa.timestamp("us", tz="UTC")),
        "date_taken_mars": [
            f"Sol-{s:05d}M{int(x // 3600):02d}:{int(x % 3600 // 60):02d}:{x % 60:06.3f}"
            for s, x in zip(sol.tolist(), lmst.tolist(), strict=True)
        ],
        "site": site,
        "drive": drive,
        "width": pa.array(np.where(cam == 2, 1344, 1024), pa.int32()),
        "height": pa.array(np.where(cam == 2, 1200, 1024), pa.int32()),
        "img_src_small": pa.nulls(n, pa.string()),
        "img_src_medium": pa.nulls(n, pa.string()),
        "img_src_full_res": pa.nulls(n, pa.string()),
        "camera_known": [True] * n,
    }
    schema = storage_schema("photos")
    return pa.Table.from_arrays([pa.array(cols[f.name], f.type) for f in schema], schema=schema)


def write_old_layout(fs: pafs.FileSystem, folder: str, data: pa.Table, n_sols: int, per_sol: int) -> None:
    """The pre-Delta writer, minimal: one file per rover × sol, partition columns in the path."""
    body = data.drop_columns(["rover", "sol"])
    for sol in range(n_sols):
        part = f"{folder}/rover={ROVER}/sol={sol}"
        if isinstance(fs, pafs.LocalFileSystem):
            fs.create_dir(part, recursive=True)
        pq.write_table(body.slice(sol * per_sol, per_sol), f"{part}/part-0.parquet", filesystem=fs, compression="zstd")


def files_of(fs: pafs.FileSystem, folder: str) -> tuple[int, int]:
    """(Parquet files, bytes) under ``folder``, the Delta log left out."""
    infos = fs.get_file_info(pafs.FileSelector(folder, recursive=True))
    sizes = [i.size for i in infos if i.path.endswith(".parquet") and "_delta_log" not in i.path]
    return len(sizes), sum(sizes)


def read_times(wh: Warehouse, rel: str, parts: int, per_sol: int, reps: int) -> dict[str, float]:
    """Best seconds of count(*), the whole table to Arrow and one sol (the middle one), each
    query on a new connection (nothing cached from the previous repeat), opening not timed."""
    queries = {
        "count": (f"select count(*) from {rel}", lambda r: r.fetchone()[0], parts * per_sol),
        "full": (f"select * from {rel}", lambda r: r.fetch_arrow_table().num_rows, parts * per_sol),
        "sol": (f"select * from {rel} where sol = {parts // 2}", lambda r: r.fetch_arrow_table().num_rows, per_sol),
    }
    out = {}
    for name, (sql, fetch, expect) in queries.items():
        times: list[float] = []
        while len(times) < reps and sum(times) < READ_BUDGET:
            with contextlib.closing(wh.connect()) as con:
                t0 = time.perf_counter()
                got = fetch(con.execute(sql))
                times.append(time.perf_counter() - t0)
            if got != expect:
                raise SystemExit(f"{rel}: {name} read {got} rows, expected {expect}")
        out[name] = min(times)
    return out


def write_delta(wh: Warehouse, data: pa.Table, n_sols: int, per_sol: int, batch: int) -> tuple[float, int]:
    """Write sols 0..n_sols-1 through the Warehouse, ``batch`` partitions a commit: (seconds, commits)."""
    t0 = time.perf_counter()
    for first in range(0, n_sols, batch):
        parts = [(ROVER, s) for s in range(first, min(first + batch, n_sols))]
        meta = {
            "dagster_run_id": "bench",
            "dagster_asset_key": "silver/photos",
            "dagster_partitions": delta_tables.describe_partitions(parts),
        }
        wh.write_silver_table("photos", data.slice(first * per_sol, len(parts) * per_sol), parts, meta)
    return time.perf_counter() - t0, math.ceil(n_sols / batch)


def warehouse(root: str, endpoint: str | None) -> Warehouse:
    """The Warehouse resource of a local folder, or of an S3 prefix on ``endpoint``."""
    if endpoint is None:
        return Warehouse(root=root)
    return Settings(warehouse=root, s3_endpoint=endpoint, s3_region="us-east-1").warehouse_resource(resolved=True)


def say(msg: str) -> None:
    print(f"  [{time.perf_counter() - START:6.1f} s] {msg}", flush=True)


def run_case(base: str, endpoint: str | None, fs: pafs.FileSystem, n_sols: int, per_commit: int, args, label: str):
    """Every layout of one backend and N sols under ``base``: a list of result rows."""
    per_sol, reps, batch = args.rows_per_partition, args.reps, args.batch
    data = photos(n_sols, per_sol)
    fs_base = base.removeprefix("s3://")
    wh = warehouse(f"{base}/delta", endpoint)
    out = []

    say(f"{label}: old layout: writing {n_sols} files")
    t0 = time.perf_counter()
    write_old_layout(fs, f"{fs_base}/old/silver/photos", data, n_sols, per_sol)
    row = {"layout": "old: file per sol", "write": time.perf_counter() - t0, "parts": n_sols}
    row["files"], row["bytes"] = files_of(fs, f"{fs_base}/old/silver/photos")
    glob = sql_string(f"{base}/old/silver/photos/**/*.parquet")
    rel = f"read_parquet({glob}, hive_partitioning = true, union_by_name = true)"  # the old relation_sql
    say(f"{label}: old layout: reading")
    out.append(row | read_times(wh, rel, n_sols, per_sol, reps))

    say(f"{label}: one file: writing, reading")
    if endpoint is None:
        fs.create_dir(f"{fs_base}/one", recursive=True)
    t0 = time.perf_counter()
    pq.write_table(data, f"{fs_base}/one/photos.parquet", filesystem=fs, compression="zstd")
    row = {"layout": "one file", "write": time.perf_counter() - t0, "parts": n_sols}
    row["files"], row["bytes"] = files_of(fs, f"{fs_base}/one")
    rel = f"read_parquet({sql_string(f'{base}/one/photos.parquet')})"
    out.append(row | read_times(wh, rel, n_sols, per_sol, reps))

    say(f"{label}: delta: writing {n_sols} partitions, {batch} a commit")
    write_s, commits = write_delta(wh, data, n_sols, per_sol, batch)
    files = delta_tables.table_files(wh.open_delta("photos"))
    row = {"layout": f"delta, {batch}/commit", "write": write_s, "parts": n_sols, "commits": commits}
    row["files"], row["bytes"] = files
    say(f"{label}: delta: reading")
    out.append(row | read_times(wh, wh.relation_sql("silver", "photos"), n_sols, per_sol, reps))

    say(f"{label}: delta: maintain (compaction), reading")
    t0 = time.perf_counter()
    m = delta_tables.maintain(wh.table_uri("silver", "photos"), wh.storage_options())
    row = {"layout": "delta, compacted", "write": None, "parts": n_sols, "files": m.files, "bytes": m.bytes}
    row["maintain"] = (time.perf_counter() - t0, files[0], files_of(fs, f"{fs_base}/delta/silver/photos")[0])
    out.append(row | read_times(wh, wh.relation_sql("silver", "photos"), n_sols, per_sol, reps))

    if per_commit:
        k = min(per_commit, n_sols)
        say(f"{label}: delta: writing the first {k} partitions, one commit each, reading")
        wh1 = warehouse(f"{base}/delta-1", endpoint)
        write_s, commits = write_delta(wh1, data.slice(0, k * per_sol), k, per_sol, 1)
        row = {"layout": f"delta, 1/commit, {k} sols", "write": write_s, "parts": k, "commits": commits}
        row["files"], row["bytes"] = delta_tables.table_files(wh1.open_delta("photos"))
        out.append(row | read_times(wh1, wh1.relation_sql("silver", "photos"), k, per_sol, reps))
    return out


@contextlib.contextmanager
def moto_s3():
    """A moto S3 server on a free loopback port with one bucket; yields its endpoint URL.

    Its own process, not moto's ThreadedMotoServer: deltalake's DeltaTable.history(), which
    every silver write calls, holds the GIL during its S3 requests, so a server thread of this
    process could not answer them (the request times out after 180 s)."""
    import boto3

    os.environ.update(AWS_ACCESS_KEY_ID="bench-key-id", AWS_SECRET_ACCESS_KEY="bench-secret", AWS_REGION="us-east-1")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    port = free_port()
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def report(backend: str, n_sols: int, per_sol: int, res: list[dict]) -> list[str]:
    """The figures of one backend and N as text lines."""
    old, one, delta, compacted = res[:4]
    lines = [
        f"{backend}: {n_sols} partitions x {per_sol} rows = {n_sols * per_sol} rows",
        f"  {'layout':26s} {'files':>6s} {'MiB':>6s} {'write s':>8s} {'s/part':>8s} {'commits':>7s} "
        f"{'count s':>8s} {'full s':>8s} {'1 sol s':>8s} {'full/one':>8s}",
    ]
    for r in res:
        write = (
            f"{r['write']:8.2f} {r['write'] / r['parts']:8.4f}" if r["write"] is not None else f"{'-':>8s} {'-':>8s}"
        )
        ratio = f"{r['full'] / one['full']:7.2f}x" if r["parts"] == n_sols else f"{'-':>8s}"
        lines.append(
            f"  {r['layout']:26s} {r['files']:6d} {r['bytes'] / 2**20:6.2f} {write} {r.get('commits', ''):>7} "
            f"{r['count']:8.3f} {r['full']:8.3f} {r['sol']:8.3f} {ratio}"
        )
    seconds, before, in_folder = compacted["maintain"]
    lines += [
        f"  maintain: {seconds:.2f} s, {before} -> {compacted['files']} files in the table "
        f"({in_folder} in the folder: vacuum keeps replaced files 7 days)",
        f"  whole-table read / one file: delta {delta['full'] / one['full']:.2f}x "
        f"(target <= 2x: {'met' if delta['full'] <= 2 * one['full'] else 'NOT met'}), compacted "
        f"{compacted['full'] / one['full']:.2f}x, old layout {old['full'] / one['full']:.1f}x; "
        f"commits per run {delta['commits']}",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partitions", default="1000,4000", help="comma-separated sol counts (default 1000,4000)")
    ap.add_argument("--rows-per-partition", type=int, default=100, help="photo rows per sol (default 100)")
    ap.add_argument("--batch", type=int, default=200, help="partitions per Delta commit (default 200)")
    ap.add_argument("--per-commit", type=int, default=50, help="partitions written one commit each (default 50)")
    ap.add_argument("--reps", type=int, default=3, help="repeats of each read, the best taken (default 3)")
    ap.add_argument("--s3", action=argparse.BooleanOptionalAction, help="only S3 / only local (default: both)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 60 and 150 sols of 20 rows, commits of 50")
    args = ap.parse_args(argv)
    if args.quick:
        args.partitions, args.rows_per_partition, args.batch, args.per_commit, args.reps = "60,150", 20, 50, 10, 2
    sizes = [int(x) for x in args.partitions.split(",")]
    backends = [b for b, on in (("local", args.s3 is not True), ("s3", args.s3 is not False)) if on]
    print(
        f"machine   {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; Python "
        f"{platform.python_version()}, duckdb {duckdb.__version__}, deltalake {deltalake.__version__}, "
        f"pyarrow {pa.__version__}"
    )
    print(
        f"input     sols {args.partitions} x {args.rows_per_partition} photo rows; Delta commits of {args.batch}; "
        f"{args.per_commit} sols one commit each; reads: best of {args.reps} (fewer past {READ_BUDGET:.0f} s)"
    )
    lines = []
    with tempfile.TemporaryDirectory(prefix="mars-delta-bench-") as tmp, contextlib.ExitStack() as stack:
        for backend in backends:
            if backend == "local":
                root, endpoint, fs = str(Path(tmp).resolve()), None, pafs.LocalFileSystem()
            else:
                endpoint = stack.enter_context(moto_s3())
                root = f"s3://{BUCKET}"
                key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
                fs = s3_filesystem(key, secret, None, "us-east-1", endpoint.removeprefix("http://"), "http", False)
            for i, n in enumerate(sizes):
                say(f"{backend}, {n} partitions: generating rows")
                per_commit = args.per_commit if i == 0 else 0
                res = run_case(f"{root}/n{n}", endpoint, fs, n, per_commit, args, f"{backend} {n}")
                lines += report(backend, n, args.rows_per_partition, res)
    print(f"done in {time.perf_counter() - START:.0f} s\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
