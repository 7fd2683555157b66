"""``mars-assets``: run the main job on a recorded snapshot, serve a snapshot, open the UI.

    mars-assets demo [--archive DIR] [--warehouse DIR] [--landing DIR]
    mars-assets serve-archive [--archive DIR] [--port N] [--latency SECONDS] [--rate-limit N]
    mars-assets ui [--archive DIR] [--port N]
    mars-assets run --rover perseverance --sols 1200-1202 [--warehouse DIR|s3://...] [--no-images]
    mars-assets tables history|read|overwrite-schema silver.<table> ...   (mars_assets.tables_cli)
    mars-assets sql ["select ..."]
    mars-assets migrate

``demo`` starts the loopback replay server for the snapshot, drops the snapshot's images
into the landing zone, and materializes every asset through the real HTTP client into a
persistent Dagster instance (``$DAGSTER_HOME``, default ``./.dagster_home``), so ``ui``
afterwards shows each run, materialization, partition and check. ``run`` ingests sols
from the configured live sources (JPL feeds by default for Perseverance, Ingenuity and Curiosity).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from mars_assets import tables_cli
from mars_assets.demo import ArchiveLayoutError, Snapshot, default_archive
from mars_assets.resources.delta_tables import SchemaChangeError, TableLayoutError
from mars_assets.resources.warehouse import WarehouseAccessError
from mars_assets.runs import ingest, job_runner, reap_dead_runs


def _dagster_home(path: str | None) -> Path:
    home = Path(path or os.environ.get("DAGSTER_HOME") or ".dagster_home").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    shipped = Path(__file__).resolve().parent.parent / "dagster.yaml"
    if not (home / "dagster.yaml").exists():
        if shipped.exists():
            shutil.copyfile(shipped, home / "dagster.yaml")
        else:  # installed without the repository: the essentials
            (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def land_snapshot_images(snapshot: Snapshot, landing: Path) -> int:
    """Copy the snapshot's images into the landing zone (flat, by file name); returns files copied."""
    landing.mkdir(parents=True, exist_ok=True)
    copied = 0
    for src in snapshot.image_files:
        dst = landing / src.name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)
            copied += 1
    return copied


def run_demo(
    archive: Path, warehouse: str | Path, landing: Path, dagster_home: str | None = None, out=sys.stdout
) -> int:
    """The main job on ``archive``; returns a process exit code (0 when every run succeeded).

    ``warehouse`` is a folder or ``s3://bucket/prefix`` (S3 settings from the environment,
    see :mod:`mars_assets.settings`). Raises WarehouseAccessError before any work when the
    root cannot be used.
    """
    import dagster as dg

    from mars_assets.definitions import build_definitions
    from mars_assets.demo import ReplayServer
    from mars_assets.partitions import add_sols
    from mars_assets.settings import Settings

    started = time.perf_counter()
    snapshot = Snapshot.open(archive)
    settings = dataclasses.replace(Settings.from_env(), warehouse=str(warehouse), landing=str(landing))
    wh = settings.warehouse_resource(resolved=True)
    wh.check_access()
    home = _dagster_home(dagster_home)
    print(f"archive   {snapshot.root}\nwarehouse {warehouse}\nlanding   {landing}\ninstance  {home}", file=out)
    print(f"landed {land_snapshot_images(snapshot, landing)} new image files", file=out)
    failures: list[str] = []
    with ReplayServer(snapshot) as server, dg.DagsterInstance.get() as instance:
        print(f"replaying the snapshot at {server.photos_api_url}", file=out)
        settings = settings.replaying(server)
        defs = build_definitions(settings)

        reap_dead_runs(instance, out)
        run = job_runner(defs, instance, failures)
        run("reference_job")
        partitions: set[tuple[str, int]] = {(r, s) for r, sols in snapshot.sols().items() for s in sols}
        if wh.has_table("silver", "landing_files"):
            routed = wh.read_table("silver", "landing_files", where="status = 'routed'")
            partitions |= {(r["rover"], r["sol"]) for r in routed.select(["rover", "sol"]).to_pylist()}
        manifest_sols = []
        if wh.has_table("silver", "manifest_sols"):
            manifest_sols = wh.read_table("silver", "manifest_sols").column("sol").to_pylist()
        # the snapshot's sols first: a rover's sols are then adjacent in the dimension, one range a batch
        add_sols(instance, sorted({s for _, s in partitions}))
        add_sols(instance, manifest_sols)
        by_rover: dict[str, list[int]] = {}
        for rover, sol in sorted(partitions):
            by_rover.setdefault(rover, []).append(sol)
        print(f"materializing {len(partitions)} rover × sol partitions", file=out)
        runs = ingest(run, instance, by_rover, out)
        print(f"{runs} ingest runs", file=out)
        run("warehouse_job")

    print_summary(wh, out)
    print(f"wall time {time.perf_counter() - started:.1f} s", file=out)
    return _failed(failures)


def _failed(failures: list[str]) -> int:
    """1 with one line on stderr naming the failed runs (their logs are in the instance), else 0."""
    if not failures:
        return 0
    print(f"mars-assets: {len(failures)} run(s) failed: {', '.join(failures)} (see `mars-assets ui`)", file=sys.stderr)
    return 1


def print_summary(wh, out) -> None:
    """Rows of every catalog view, photos per rover, quarantined landing files, the dashboards.

    Reads only the views that exist (after a failed run some may not); a catalog that cannot be
    read is one line, not a traceback.
    """
    import duckdb

    from mars_assets.dashboards import DASHBOARDS

    try:
        con = wh.open_catalog()
    except duckdb.Error as exc:
        print(f"catalog {wh.catalog_path()} not readable: {exc}", file=out)
        return
    try:
        views = [
            name
            for (name,) in con.sql(
                "select schema_name || '.' || view_name from duckdb_views() where not internal order by 1"
            ).fetchall()
        ]
        print("\ntable                      rows", file=out)
        for name in views:
            print(f"{name:<24} {con.sql(f'select count(*) from {name}').fetchone()[0]:>6}", file=out)
        print("", file=out)
        if "gold.mission_summary" in views:
            rows = con.sql("select rover, photos, active_sols, cameras_used from gold.mission_summary").fetchall()
            for rover, photos, sols, cameras in rows:
                print(f"{rover:<13} {photos:>5} photos over {sols} sols, cameras {', '.join(cameras)}", file=out)
        if "silver.landing_files" in views:
            sql = "select reason, count(*) from silver.landing_files where status <> 'routed' group by 1"
            for reason, n in con.sql(sql).fetchall():
                print(f"landing files quarantined ({n}): {reason}", file=out)
    except duckdb.Error as exc:
        print(f"catalog {wh.catalog_path()}: {exc}", file=out)
    finally:
        con.close()
    print("", file=out)
    for slug, _title, _desc in DASHBOARDS:
        print(f"dashboard {wh.path(f'dashboards/{slug}/index.html')}", file=out)
    print(f"timelapse {wh.path('dashboards/timelapse/index.html')}", file=out)
    print(f"catalog   duckdb {wh.catalog_path()}", file=out)


def parse_sols(text: str) -> list[int]:
    """``"1200-1202,1210"`` → ``[1200, 1201, 1202, 1210]`` (raises ValueError)."""
    sols: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, _, hi = part.partition("-")
        a, b = int(lo), int(hi or lo)
        if a < 0 or b < a:
            raise ValueError(f"bad sol range {part!r}")
        sols.update(range(a, b + 1))
    return sorted(sols)


def run_sols(
    rovers: list[str],
    sols: list[int],
    warehouse: str,
    dagster_home: str | None = None,
    out=sys.stdout,
    images: bool = True,
) -> int:
    """Ingest ``sols`` of ``rovers`` from the configured live sources (see mars_assets.settings),
    then rebuild gold. ``images=False`` ingests the photo metadata only (``photos_job``).
    Returns 0 when every run succeeded."""
    import dagster as dg

    from mars_assets.definitions import build_definitions
    from mars_assets.settings import Settings

    started = time.perf_counter()
    settings = Settings.from_env()
    settings = dataclasses.replace(
        settings, warehouse=warehouse, landing=os.environ.get("MARS_LANDING") or settings.landing
    )
    settings.warehouse_resource(resolved=True).check_access()
    _dagster_home(dagster_home)
    defs = build_definitions(settings)
    failures = []
    with dg.DagsterInstance.get() as instance:
        reap_dead_runs(instance, out)
        run = job_runner(defs, instance, failures)
        run("reference_job")
        for rover in rovers:
            print(f"{rover}: sols {sols[0]}..{sols[-1]} from {dict(settings.sources)[rover]}", file=out)
        runs = ingest(run, instance, dict.fromkeys(rovers, sols), out, "rover_sol_job" if images else "photos_job")
        print(f"{runs} ingest runs", file=out)
        run("warehouse_job")
    print(f"wall time {time.perf_counter() - started:.1f} s", file=out)
    return _failed(failures)


def serve_archive(
    archive: Path, port: int, latency: float = 0.0, rate_limit: int = 1000, rate_window: float | None = None
) -> int:
    """Replay ``archive`` on 127.0.0.1:``port`` until SIGINT or SIGTERM (ReplayServer: every answer
    ``latency`` seconds late; ``rate_limit`` requests per server lifetime, or per ``rate_window``
    seconds). Prints the URLs (and ``MARS_REPLAY_STATS=`` its ``/_stats`` JSON route), and on exit
    ``served N requests``."""
    from mars_assets.demo import ReplayServer

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    with ReplayServer(archive, port=port, latency=latency, rate_limit=rate_limit, rate_window=rate_window) as server:
        print(
            f"MARS_PHOTOS_API_URL={server.photos_api_url}\nMARS_MMGIS_URL={server.mmgis_url}\n"
            f"MARS_REPLAY_STATS={server.stats_url}",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
        print(f"served {server.stats()['requests']} requests", flush=True)
    return 0


def run_ui(archive: Path, port: int, dagster_home: str | None) -> int:
    """``dagster dev`` on 127.0.0.1 over the demo's instance, with the snapshot replayed."""
    from mars_assets.demo import ReplayServer

    _dagster_home(dagster_home)
    root = Path(__file__).resolve().parent.parent
    with ReplayServer(archive) as server:
        env = {**os.environ, "MARS_PHOTOS_API_URL": server.photos_api_url, "MARS_MMGIS_URL": server.mmgis_url}
        cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)]
        workspace = root / "workspace.yaml"
        cmd += ["-w", str(workspace)] if workspace.exists() else ["-m", "mars_assets.definitions"]
        print(f"Dagster UI on http://127.0.0.1:{port} (snapshot replayed at {server.photos_api_url})", flush=True)
        try:
            return subprocess.call(cmd, env=env, cwd=root if workspace.exists() else None)
        except KeyboardInterrupt:
            return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mars-assets", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job on a recorded snapshot")
    serve = sub.add_parser("serve-archive", help="replay a snapshot as the NASA APIs on loopback")
    ui = sub.add_parser("ui", help="the Dagster UI on 127.0.0.1 over the demo's instance")
    live = sub.add_parser("run", help="ingest sols of a rover from the configured (live) sources")
    live.add_argument(  # the choices are partitions.ROVERS, not imported here: that loads Dagster
        "--rover",
        action="append",
        required=True,
        choices=["curiosity", "ingenuity", "opportunity", "perseverance", "spirit"],
    )
    live.add_argument("--sols", required=True, help="sols, e.g. 1200-1202 or 5,7,9")
    live.add_argument("--warehouse", default=None, help="warehouse root (default $MARS_WAREHOUSE or ./warehouse)")
    live.add_argument("--dagster-home", default=None)
    live.add_argument("--no-images", action="store_true", help="photo metadata only: no image downloads or statistics")
    for p in (demo, serve, ui):
        p.add_argument(
            "--archive", type=Path, default=None, help="snapshot folder (default $MARS_ARCHIVE or the bundled snapshot)"
        )
    demo.add_argument(
        "--warehouse",
        default=None,
        help="warehouse root: a folder or s3://bucket/prefix (default $MARS_WAREHOUSE or ./warehouse)",
    )
    demo.add_argument(
        "--landing", type=Path, default=None, help="landing zone (default $MARS_LANDING or <warehouse>/landing)"
    )
    for p in (demo, ui):
        p.add_argument(
            "--dagster-home", default=None, help="Dagster instance folder (default $DAGSTER_HOME or ./.dagster_home)"
        )
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="added to every answer")
    serve.add_argument("--rate-limit", type=int, default=1000, metavar="N", help="requests allowed (default 1000)")
    serve.add_argument("--rate-window", type=float, default=None, metavar="SECONDS", help="per window (default: ever)")
    ui.add_argument("--port", type=int, default=3000)
    tables_cli.add_parsers(sub)
    args = parser.parse_args(argv)
    archive = (getattr(args, "archive", None) or default_archive()).expanduser().resolve()
    try:
        if args.command in ("tables", "sql", "migrate"):
            return tables_cli.run(args)
        if args.command == "demo":
            warehouse = args.warehouse or os.environ.get("MARS_WAREHOUSE", "warehouse")
            if not warehouse.startswith("s3://"):
                warehouse = str(Path(warehouse).expanduser().resolve())
            default_landing = "landing" if warehouse.startswith("s3://") else f"{warehouse}/landing"
            landing = (args.landing or Path(os.environ.get("MARS_LANDING") or default_landing)).expanduser().resolve()
            return run_demo(archive, warehouse, landing, args.dagster_home)
        if args.command == "run":
            warehouse = args.warehouse or os.environ.get("MARS_WAREHOUSE", "warehouse")
            if not warehouse.startswith("s3://"):
                warehouse = str(Path(warehouse).expanduser().resolve())
            return run_sols(args.rover, parse_sols(args.sols), warehouse, args.dagster_home, images=not args.no_images)
        if args.command == "serve-archive":
            return serve_archive(archive, args.port, args.latency, args.rate_limit, args.rate_window)
        return run_ui(archive, args.port, args.dagster_home)
    except (ArchiveLayoutError, WarehouseAccessError, TableLayoutError, SchemaChangeError, ValueError) as exc:
        print(f"mars-assets: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
