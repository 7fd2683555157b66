"""Benchmark of a whole-mission ingest on loopback with emulated upstream latency (issue 17).

Run from the repository root::

    .venv/bin/python -m benchmarks.mission          # quick: 30 sols at 0 s, 16 at 0.5 s, 4 at 2 s; ~5 min
    .venv/bin/python -m benchmarks.mission --full   # 2,000 full-size sols (~1.5 M photos) at 0 and 0.5 s, 500 at 2 s
    .venv/bin/python -m benchmarks.mission --sols 100 --latency 0 0.5 --latency-sols 40

What it does, in temporary folders:

1. writes a SYNTHETIC Curiosity mission with :func:`mars_assets.demo.synthetic.write_mission`:
   every sol is a sample of the recorded v1 page of sol 1000 (856 real photos; NASA/JPL-Caltech)
   with new photo ids, the new sol, its earth_date and rewritten img_src, 599-899 photos a sol
   (full size), and a manifest that lists exactly what is served;
2. per scenario (one per ``--latency``), serves it with ``mars-assets serve-archive --latency L``
   in a subprocess (rate limit lifted: this measures latency, not api.nasa.gov's 1,000/h) and
   ingests it the way a user would, ``mars-assets run --rover curiosity --sols 0-N`` in a
   subprocess, with ``MARS_SOURCES=curiosity=photos_api_v1``, the server's URLs,
   ``MARS_MAX_IMAGE_DOWNLOADS=0`` and a fresh ``DAGSTER_HOME`` and ``MARS_WAREHOUSE``;
3. prints per scenario: sols, photos, wall time of the command, silver photo rows (DuckDB
   ``delta_scan``) per minute of it and of the ingest runs alone, photo_gaps VALID sols, runs
   created (Dagster API on the instance), the command's wall split by its runs (start-up,
   reference_job, ingest runs, warehouse_job, from the run records), requests made (the
   server's ``/_stats``), the CPU time of the command's process tree and the load average, the
   upstream floor ``sols × latency ÷ concurrency`` (concurrency: ``MARS_SOURCE_CONCURRENCY``
   or the photos_api_v1 adapter's resolved ``concurrency``, else 1) and wall ÷ floor, peak RSS
   of the ingest (``wait4`` of the command: its largest process; and the whole process tree,
   sampled every 0.5 s from /proc), the share of wall time outside step bodies
   (``1 − covered by steps ÷ wall``; steps from ``instance.get_run_step_stats``, overlapping
   steps counted once), and the ``warehouse_job``'s step times (gold, catalog, dashboards).

Latency scenarios ingest ``--latency-sols`` sols (at 0.5 s; at latency L, that × 0.5 ÷ L, so
every scenario has the same upstream floor): JPL's MSL feed answers in 0.2-0.7 s, the Mars
2020 feed in 20-23 s, emulated here 10× faster (2 s) on fewer sols. Figures are printed, never
asserted; at sizes below the full mission it prints the extrapolation at the measured rate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks.backfill import postgres_server

ROOT = Path(__file__).resolve().parents[1]
FULL_SOLS = 2000
QUICK = {"sols": 30, "latency_sols": 16}  # ~5 min on 2 cores at 2026-12 speed (~1 s a sol); see README
FULL = {"sols": FULL_SOLS, "latency_sols": FULL_SOLS}


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("mars-assets")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mars_assets.cli"]


def _label(latency: float) -> str:
    if latency == 0:
        return "no upstream latency"
    if latency >= 1:
        return f"M20-like: 20 s answers scaled to {latency:g} s (÷{20 / latency:g})"
    return f"MSL-like: {latency:g} s answers"


@contextlib.contextmanager
def _server(archive: Path, latency: float, log: Path):
    """``mars-assets serve-archive`` in a process group of its own; yields its printed variables."""
    cmd = [*_cli(), "serve-archive", "--archive", str(archive), "--port", "0", "--latency", str(latency)]
    out = log.open("w")
    proc = subprocess.Popen(
        [*cmd, "--rate-limit", "1000000000"], stdout=subprocess.PIPE, stderr=out, text=True, start_new_session=True
    )
    urls: dict[str, str] = {}
    try:
        while "MARS_REPLAY_STATS" not in urls:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"serve-archive exited ({proc.wait()}); see {log}")
            key, _, value = line.strip().partition("=")
            urls[key] = value
        yield urls
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            urls["exit"] = proc.communicate(timeout=20)[0].strip()
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()


def _tree_rss_kib(pid: int) -> int:
    """Resident set of ``pid`` and its descendants now, KiB (from /proc; 0 when gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(d.name))
            rss[int(d.name)] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def _ingest(cmd: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float, int, int, float]:
    """Run ``cmd``; returns (exit code, wall s, start as ``time.time()``, peak RSS KiB of its
    largest process, peak tree RSS KiB, CPU s of its process tree)."""
    with log.open("w") as out:
        t0, started = time.perf_counter(), time.time()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
        peak_tree, done = 0, threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not done.wait(0.5):
                peak_tree = max(peak_tree, _tree_rss_kib(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, started, usage.ru_maxrss, peak_tree, usage.ru_utime + usage.ru_stime


def _covered(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of ``intervals``."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def _instance_figures(home: Path) -> dict:
    """Runs by job and status, seconds covered by runs and by steps, warehouse_job step times."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records()
        runs, steps, jobs, wh_steps = {}, [], {}, {}
        for rec in records:
            run = rec.dagster_run
            key = f"{run.job_name} {run.status.value.lower()}"
            runs[key] = runs.get(key, 0) + 1
            stats = [s for s in instance.get_run_step_stats(run.run_id) if s.start_time and s.end_time]
            steps += [(s.start_time, s.end_time) for s in stats]
            if rec.start_time and rec.end_time:
                a, b = jobs.get(run.job_name, (rec.start_time, rec.end_time))
                jobs[run.job_name] = (min(a, rec.start_time), max(b, rec.end_time))
            if run.job_name == "warehouse_job":
                wh_steps = {s.step_key: s.end_time - s.start_time for s in stats}
    ingest = jobs.get("photos_job") or jobs.get("rover_sol_job")
    return {
        "runs": runs,
        "steps_s": _covered(steps),
        "ingest_span_s": ingest[1] - ingest[0] if ingest else 0.0,
        "jobs": jobs,
        "warehouse_steps": wh_steps,
        "n_runs": len(records),
    }


def _warehouse_figures(warehouse: Path, sols: int) -> tuple[int, int, str]:
    """(silver photo rows, sols with rows, photo_gaps status counts of the ingested sols)."""
    import duckdb

    from mars_assets.resources.s3 import load_extensions

    con = duckdb.connect()
    load_extensions(con, s3=False)
    try:
        rows, n_sols = con.sql(
            f"select count(*), count(distinct sol) from delta_scan('{warehouse}/silver/photos')"
        ).fetchone()
    except duckdb.Error:
        rows, n_sols = 0, 0
    gaps = warehouse / "gold" / "photo_gaps" / "part-0.parquet"
    status = "no gold.photo_gaps"
    if gaps.exists():
        counts = con.sql(
            f"select gap_status, count(*) from read_parquet('{gaps}') where sol < {sols} group by 1 order by 1"
        ).fetchall()
        status = ", ".join(f"{s} {n}" for s, n in counts)
    return rows, n_sols, status


def _concurrency(env: dict[str, str], url: str) -> tuple[int, str]:
    """Sols in flight allowed for photos_api_v1, and where the figure comes from."""
    raw = env.get("MARS_SOURCE_CONCURRENCY", "")
    for item in filter(None, (p.strip() for p in raw.split(","))):
        name, _, value = item.rpartition("=")
        if name in ("", "photos_api_v1") and value.isdigit():
            return int(value), f"MARS_SOURCE_CONCURRENCY={raw}"
    try:
        from mars_assets.sources.photos_api import PhotosApiSource

        value = getattr(PhotosApiSource(base_url=url, api_key=env.get("NASA_API_KEY", "DEMO_KEY")), "concurrency", 0)
        if value:
            return int(value), "the photos_api_v1 adapter's concurrency"
    except Exception as exc:  # noqa: BLE001 - an adapter mid-change: the benchmark still runs
        return 1, f"1 (adapter: {type(exc).__name__})"
    return 1, "1 (the adapter has no concurrency)"


#: Dagster's production settings on PostgreSQL (README "Automation"): materialization events of a
#: ranged run written in one INSERT, one planned event per asset for the run's range.
POSTGRES_ENV = {"DAGSTER_EVENT_BATCH_SIZE": "1000", "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}


def _instance_yaml(home: Path, postgres_url: str | None) -> None:
    """The shipped dagster.yaml in ``home``, plus a ``storage: postgres`` block when given a URL."""
    text = (Path(__file__).resolve().parent.parent / "dagster.yaml").read_text()
    if postgres_url:
        text += f"\nstorage:\n  postgres:\n    postgres_url: {postgres_url}\n"
    (home / "dagster.yaml").write_text(text)


def _new_database(url: str, name: str) -> str:
    """``url`` with a fresh database ``name`` created on its server (each scenario its own instance)."""
    import psycopg2

    con = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    con.close()
    return url.rsplit("/", 1)[0] + f"/{name}"


def scenario(archive: Path, info, latency: float, sols: int, tmp: Path, postgres_url: str | None = None) -> dict:
    """One ingest of sols ``0..sols-1`` against a server answering ``latency`` s late, on a Dagster
    instance in SQLite (the default) or on PostgreSQL at ``postgres_url``; its figures."""
    storage = "postgres" if postgres_url else "sqlite"
    work = tmp / f"{storage}-latency-{latency:g}"
    home, warehouse = work / "dagster_home", work / "warehouse"
    home.mkdir(parents=True)
    if postgres_url:
        postgres_url = _new_database(postgres_url, f"mission_{latency:g}".replace(".", "_"))
    _instance_yaml(home, postgres_url)
    with _server(archive, latency, work / "server.log") as urls:
        env = {k: v for k, v in os.environ.items() if k not in ("MARS_LANDING", "MARS_ARCHIVE", "MARS_CATALOG")}
        env.update(POSTGRES_ENV if postgres_url else {})
        env.update(
            MARS_SOURCES="curiosity=photos_api_v1",
            MARS_PHOTOS_API_URL=urls["MARS_PHOTOS_API_URL"],
            MARS_MMGIS_URL=urls["MARS_MMGIS_URL"],
            MARS_JPL_MARS2020_URL=urls["MARS_PHOTOS_API_URL"].split("/mars-photos")[0] + "/rss/api/",
            MARS_JPL_MSL_URL=urls["MARS_PHOTOS_API_URL"].split("/mars-photos")[0] + "/api/v1/raw_image_items/",
            MARS_MAX_IMAGE_DOWNLOADS="0",
            DAGSTER_HOME=str(home),
            MARS_WAREHOUSE=str(warehouse),
        )
        cmd = [*_cli(), "run", "--rover", "curiosity", "--sols", f"0-{sols - 1}", "--no-images"]
        load = os.getloadavg()[0]
        code, wall, started, rss_kib, tree_kib, cpu = _ingest(cmd, env, work / "ingest.log")
        load = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
        with urllib.request.urlopen(urls["MARS_REPLAY_STATS"]) as r:
            served = json.loads(r.read())
        concurrency, conc_from = _concurrency(env, urls["MARS_PHOTOS_API_URL"])
    rows, n_sols, gaps = _warehouse_figures(warehouse, sols)
    fig = _instance_figures(home)
    tail = (work / "ingest.log").read_text().strip().splitlines()[-3:]
    return dict(
        storage=storage, latency=latency, sols=sols, photos=sum(info.photos_per_sol[s] for s in range(sols)),
        code=code, wall=wall,
        started=started, cpu=cpu, load=load,
        rss_mib=rss_kib / 1024, tree_mib=tree_kib / 1024, served=served, exit=urls.get("exit", ""),
        concurrency=concurrency, conc_from=conc_from, rows=rows, n_sols=n_sols, gaps=gaps, tail=tail, **fig,
    )  # fmt: skip


def _phases(r: dict) -> str:
    """The command's wall split by its runs (first start to last end of each job), from run records."""
    t, end, parts = r["started"], r["started"] + r["wall"], []
    for job, (a, b) in sorted(r["jobs"].items(), key=lambda kv: kv[1]):
        parts += [f"{'start-up' if not parts else 'between'} {a - t:.1f}", f"{job} {b - a:.1f}"]
        t = b
    return ", ".join([*parts, f"exit {end - t:.1f} s"])


def report(r: dict) -> None:
    wall, lat, span = r["wall"], r["latency"], r["ingest_span_s"]

    def line(label: str, text: str) -> None:
        print(f"  {label:<24} {text}")

    print(f"\n== {_label(lat)}, Dagster on {r['storage']}: sols 0-{r['sols'] - 1}, {r['photos']:,} photos served ==")
    if r["code"]:
        line("FAILED", f"mars-assets run exited {r['code']}: " + " | ".join(r["tail"]))
    line("wall time", f"{wall:.1f} s of mars-assets run: {_phases(r)}")
    line("CPU time", f"{r['cpu']:.1f} s user+sys of its process tree; load average {r['load']} (1 min, 2 cores)")
    line("silver photo rows", f"{r['rows']:,} over {r['n_sols']} sols; gold.photo_gaps of those sols: {r['gaps']}")
    per_min = r["rows"] / wall * 60 if wall else 0
    per_span = f"{r['rows'] / span * 60:,.0f}" if span else "-"
    line("rows per minute", f"{per_min:,.0f} of the wall; {per_span} of the ingest runs ({span:.1f} s first to last)")
    line("runs created", f"{r['n_runs']} ({', '.join(f'{k} {n}' for k, n in sorted(r['runs'].items()))})")
    line("requests made", f"{r['served']['requests']} (statuses {r['served']['statuses']}; {r['exit']})")
    if lat:
        floor = r["sols"] * lat / r["concurrency"]
        line(
            "upstream floor",
            f"{floor:.1f} s = {r['sols']} sols x {lat:g} s / {r['concurrency']} [{r['conc_from']}]; "
            f"wall / floor {wall / floor:.2f}, ingest runs / floor {span / floor:.2f}",
        )
    line("peak RSS", f"{r['rss_mib']:.0f} MiB largest process; {r['tree_mib']:.0f} MiB process tree (sampled 2/s)")
    steps = r["steps_s"]
    line("outside step bodies", f"{1 - steps / wall:.1%} of the wall (steps cover {steps:.1f} s of {wall:.1f} s)")
    if r["warehouse_steps"]:
        line("warehouse_job steps", ", ".join(f"{k} {v:.1f} s" for k, v in r["warehouse_steps"].items()))
    if r["sols"] < FULL_SOLS and span:
        per_sol = span / r["sols"]
        line(
            "extrapolated",
            f"{per_sol:.2f} s a sol in ingest runs: 300 sols {300 * per_sol / 60:.1f} min, "
            f"{FULL_SOLS} sols {FULL_SOLS * per_sol / 60:.1f} min",
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help=f"{FULL_SOLS} sols in every scenario (~1.5 M photos)")
    ap.add_argument("--sols", type=int, help=f"sols of the no-latency scenario (default {QUICK['sols']})")
    ap.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.5, 2.0], metavar="S", help="default 0 0.5 2")
    ap.add_argument(
        "--latency-sols",
        type=int,
        help=f"sols of a 0.5 s scenario, × 0.5 / L at latency L (default {QUICK['latency_sols']})",
    )
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (logs, warehouses, instances)")
    ap.add_argument(
        "--storage",
        nargs="+",
        choices=("sqlite", "postgres"),
        default=["sqlite", "postgres"],
        help="Dagster storage of each scenario, side by side (postgres: a throwaway local server; "
        "needs the PostgreSQL server binaries and the `bench` extra)",
    )
    args = ap.parse_args(argv)
    size = FULL if args.full else QUICK
    sols = args.sols or size["sols"]
    latency_sols = args.latency_sols or size["latency_sols"]
    plan = [(lat, sols if lat == 0 else max(1, min(sols, round(latency_sols * 0.5 / lat)))) for lat in args.latency]
    from mars_assets.demo.synthetic import write_mission

    with contextlib.ExitStack() as stack:
        if args.keep:
            tmp = args.keep.resolve()
            tmp.mkdir(parents=True, exist_ok=True)
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mars-mission-bench-")))
        t0 = time.perf_counter()
        info = write_mission(tmp / "mission", sols=max(n for _, n in plan))
        print(
            f"machine   {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
            f"Python {platform.python_version()}; MARS_BATCH_SOLS={os.environ.get('MARS_BATCH_SOLS', '(default)')}"
        )
        print(
            f"mission   SYNTHETIC Curiosity sols 0-{info.sols[-1]}, {info.photos:,} photos (from recorded sol "
            f"{info.template_sol}), written in {time.perf_counter() - t0:.1f} s"
        )
        print("plan      " + "; ".join(f"{_label(lat)} on {n} sols" for lat, n in plan))
        results = []
        pg_url = stack.enter_context(postgres_server(tmp / "pg")) if "postgres" in args.storage else None
        for storage in args.storage:
            for lat, n in plan:
                results.append(scenario(info.folder, info, lat, n, tmp, pg_url if storage == "postgres" else None))
                report(results[-1])
        loopback = {r["storage"]: r["ingest_span_s"] / r["sols"] for r in results if r["latency"] == 0 and r["sols"]}
        print(
            "\nsummary  storage  latency  sols     photos   wall s  rows/min wall  rows/min runs  runs  requests  "
            "wall/floor  runs/bound  peak MiB"
        )
        for r in results:
            floor = r["sols"] * r["latency"] / r["concurrency"]
            bound = max(floor, loopback.get(r["storage"], 0) * r["sols"])
            span = r["ingest_span_s"]
            ratio = f"{r['wall'] / floor:.2f}" if floor else "-"
            bounded = f"{span / bound:.2f}" if bound and r["latency"] else "-"
            print(
                f"         {r['storage']:8} {r['latency']:7g} {r['sols']:5} {r['photos']:10,} {r['wall']:8.1f} "
                f"{r['rows'] / r['wall'] * 60:14,.0f} {r['rows'] / span * 60 if span else 0:14,.0f} {r['n_runs']:5} "
                f"{r['served']['requests']:9} {ratio:>11} {bounded:>11} {max(r['rss_mib'], r['tree_mib']):9.0f}"
            )
        print(
            "wall/floor: the command's wall over sols x latency / concurrency; runs/bound: the ingest runs (first "
            "start to last end) over max(that floor, the no-latency scenario's ingest time a sol x sols)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
