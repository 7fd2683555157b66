"""Mission-size warehouse: a whole Curiosity mission of silver photos -> gold, catalog, dashboards.

Run from the repository root::

    .venv/bin/python -m benchmarks.mission_warehouse                    # ~1.5 M photos over 2,000 sols
    .venv/bin/python -m benchmarks.mission_warehouse --photos 200000    # a quicker run
    .venv/bin/python -m benchmarks.mission_warehouse --root DIR         # keep the warehouse in DIR

It writes a synthetic silver warehouse of one rover (Curiosity) through the project's own
writer, ``Warehouse(root=...).write_silver_table``, in commits of ``--batch`` sols (default
100): about ``--photos`` silver photos (default 1,500,000) over ``--sols`` sols (default 2,000)
under 17 camera names, the matching manifest sols, waypoints and traverse legs, images and
image statistics of ``--images-per-sol`` photos per sol (default 10, as
MARS_MAX_IMAGE_DOWNLOADS) and quarantined inputs (benchmarks/mission_silver.py says how).

Then, each phase in a fresh interpreter so its peak RSS is its own (``os.wait4`` of the
child; it includes the interpreter and the imports, ~0.2 GB with Dagster): the silver write,
``dbt build`` of the project's dbt project (``dbt/``, the ``--vars`` and ``Warehouse.dbt_env()``
that ``defs/gold/dbt.py`` passes; a private target and log folder), the catalog asset
(``warehouse_catalog``), and each dashboard asset (mission, traverse, images, data health;
data health without an instance, so without check results). It prints seconds, peak RSS,
each page's size in MB and its plotted points (the largest trace), and, with Chromium and
Playwright installed, how long each page takes to open and draw in headless Chromium.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.mission_silver import plan_mission, write_mission
from mars_assets.dashboards.pages import page_points
from mars_assets.resources import Warehouse, delta_tables

#: The dashboards: slug -> the asset function's module and name.
DASHBOARD_ASSETS = {
    "mission": ("mars_assets.defs.dashboards.mission", "mission_dashboard"),
    "traverse": ("mars_assets.defs.dashboards.traverse", "traverse_dashboard"),
    "images": ("mars_assets.defs.dashboards.images", "images_dashboard"),
    "data_health": ("mars_assets.defs.dashboards.data_health", "data_health_dashboard"),
}
START = time.perf_counter()


# -- the phases ------------------------------------------------------------------------------
def gold_models() -> list[str]:
    """The gold models of the project's dbt project (the .sql files of dbt/models/gold)."""
    from mars_assets.lib.dbt import dbt_project_dir

    return sorted(p.stem for p in (dbt_project_dir() / "models" / "gold").glob("*.sql"))


def run_dbt(wh: Warehouse, scratch: Path, command: str = "build") -> dict:
    """``dbt <command>`` of the project's dbt project on ``wh`` as defs/gold/dbt.py runs it (the
    same ``--vars`` and ``Warehouse.dbt_env()``), with its target and logs in ``scratch``.
    Returns wall seconds, dbt's own peak RSS (MiB), the nodes by status and the slowest nodes.
    Raises RuntimeError with dbt's output tail when it fails."""
    from mars_assets.lib.dbt import dbt_executable, dbt_project_dir

    for model in gold_models():
        wh.ensure_dir(f"gold/{model}")
    Path(wh.catalog_path()).parent.mkdir(parents=True, exist_ok=True)
    project = str(dbt_project_dir())
    target, logs = scratch / "dbt-target", scratch / "dbt-logs"
    dbt_vars = json.dumps({"warehouse_root": wh.root_path(), "catalog_path": wh.catalog_path()})
    cmd = [dbt_executable(), command, "--project-dir", project, "--profiles-dir", project]
    cmd += ["--target-path", str(target), "--log-path", str(logs), "--vars", dbt_vars]
    out_path = scratch / f"dbt-{command}.out"
    t0 = time.perf_counter()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=os.environ | wh.dbt_env())
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"dbt {command} failed ({proc.returncode}):\n{out_path.read_text()[-4000:]}")
    run_results = json.loads((target / "run_results.json").read_text())
    results = run_results["results"]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:5]
    return {
        "seconds": seconds,
        "dbt_rss_mib": usage.ru_maxrss / 1024,
        "dbt_elapsed": run_results["elapsed_time"],
        "nodes": statuses,
        "slowest": [(r["unique_id"].split(".")[-1], round(r["execution_time"], 2)) for r in slowest],
    }


def build_dashboard(wh: Warehouse, name: str) -> dict:
    """Materialize the dashboard asset ``name`` (direct invocation of its function) and read its
    page back: seconds, bytes, charts, plotted points in all and in the largest trace."""
    import importlib

    import dagster as dg

    module, fn = DASHBOARD_ASSETS[name]
    asset = getattr(importlib.import_module(module), fn)
    t0 = time.perf_counter()
    result = asset(dg.build_asset_context(), warehouse=wh) if name == "data_health" else asset(warehouse=wh)
    seconds = time.perf_counter() - t0
    html = Path(wh.path("dashboards", name, "index.html")).read_text(encoding="utf-8")
    points = [n for _, _, n in page_points(html)]
    return {
        "seconds": seconds,
        "bytes": len(html.encode()),
        "charts": result.metadata["charts"].value,
        "points": sum(points),
        "largest_trace": max(points, default=0),
        "traces": len(points),
    }


def open_times(wh: Warehouse) -> dict[str, float] | None:
    """Seconds from navigation until every plot of each page has drawn, in headless Chromium
    (Playwright, the system ``chromium``), and of a page holding only plotly.js (``plotly.js
    only``, the fixed cost); None when either is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if exe is None:
        return None
    from mars_assets.dashboards.common import render_page

    empty = Path(wh.path("dashboards", "plotly-only.html"))
    empty.write_text(render_page("mission", "plotly.js only", "", []).html, encoding="utf-8")
    pages = {name: Path(wh.path("dashboards", name, "index.html")) for name in DASHBOARD_ASSETS}
    out = {}
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=args)
        try:
            for name, path in {"plotly.js only": empty, **pages}.items():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.perf_counter()
                page.goto(path.as_uri(), wait_until="load", timeout=300_000)
                page.wait_for_function(
                    "() => window.Plotly && [...document.querySelectorAll('.js-plotly-plot')]"
                    ".every(el => el._fullLayout && el.data)",
                    timeout=300_000,
                )
                out[name] = time.perf_counter() - t0
                page.close()
        finally:
            browser.close()
            empty.unlink()
    return out


def run_phase(phase: str, root: str, args: argparse.Namespace) -> dict:
    """One phase in this process (called in the child): its figures as a dict."""
    wh = Warehouse(root=root)
    scratch = Path(root).parent
    t0 = time.perf_counter()
    if phase == "write":
        rows = write_mission(wh, plan_mission(args.sols, args.photos), args.batch, args.images_per_sol)
        files = delta_tables.table_files(wh.open_delta("photos"))
        return {"seconds": time.perf_counter() - t0, "rows": rows, "photo_files": files[0], "photo_bytes": files[1]}
    if phase == "dbt":
        return run_dbt(wh, scratch)
    if phase == "catalog":
        from mars_assets.defs.catalog.warehouse_duckdb import warehouse_catalog

        t0 = time.perf_counter()
        result = warehouse_catalog(warehouse=wh)
        views = result.metadata["views"]
        return {"seconds": time.perf_counter() - t0, "views": len(getattr(views, "value", views))}
    if phase.startswith("dashboard:"):
        return build_dashboard(wh, phase.split(":", 1)[1])
    if phase == "imports":  # the reference: interpreter, Dagster, the asset modules, DuckDB with delta
        import importlib

        for module, _ in DASHBOARD_ASSETS.values():
            importlib.import_module(module)
        importlib.import_module("mars_assets.defs.catalog.warehouse_duckdb")
        wh.connect().close()
        return {"seconds": time.perf_counter() - t0}
    if phase == "browser":
        return {"open": open_times(wh)}
    raise SystemExit(f"unknown phase {phase}")


def child(phase: str, root: str, args: argparse.Namespace) -> dict:
    """Run ``phase`` in a fresh interpreter; its figures plus its peak RSS (MiB) and wall time."""
    cmd = [sys.executable, "-m", "benchmarks.mission_warehouse", "--phase", phase, "--root", root]
    cmd += ["--sols", str(args.sols), "--photos", str(args.photos), "--batch", str(args.batch)]
    cmd += ["--images-per-sol", str(args.images_per_sol)]
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed ({proc.returncode}):\n{text[-4000:]}")
    result = json.loads(text.strip().splitlines()[-1])
    return result | {"rss_mib": usage.ru_maxrss / 1024, "wall": wall}


def say(msg: str) -> None:
    print(f"  [{time.perf_counter() - START:6.1f} s] {msg}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=1_500_000, help="silver photo rows, about (default 1,500,000)")
    ap.add_argument("--sols", type=int, default=2000, help="sols of the mission (default 2,000)")
    ap.add_argument("--batch", type=int, default=100, help="sols per silver commit (default 100)")
    ap.add_argument("--images-per-sol", type=int, default=10, help="images with statistics per sol (default 10)")
    ap.add_argument("--root", help="warehouse folder to write and keep (default: a temporary folder)")
    ap.add_argument("--no-browser", action="store_true", help="do not time the pages in headless Chromium")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.root, args)), flush=True)
        return 0
    import deltalake
    import duckdb

    print(
        f"machine   {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; Python "
        f"{platform.python_version()}, duckdb {duckdb.__version__}, deltalake {deltalake.__version__}"
    )
    print(
        f"input     curiosity, {args.sols:,} sols, ~{args.photos:,} photos, {args.images_per_sol} images/sol, "
        f"commits of {args.batch} sols"
    )
    res: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        if args.root:
            root = Path(args.root).resolve()
            if root.exists():
                shutil.rmtree(root)
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mars-mission-"))) / "warehouse"
        phases = ["imports", "write", "dbt", "catalog", *(f"dashboard:{d}" for d in DASHBOARD_ASSETS)]
        phases += [] if args.no_browser else ["browser"]
        for phase in phases:
            say(f"{phase} ...")
            res[phase] = child(phase, str(root), args)
            r = res[phase]
            say(f"{phase}: {r.get('seconds', r['wall']):.1f} s, peak RSS {r['rss_mib']:.0f} MiB")
    w, d, c = res["write"], res["dbt"], res["catalog"]
    print(f"\ndone in {time.perf_counter() - START:.0f} s\n")
    print(f"silver    {', '.join(f'{k} {v:,}' for k, v in w['rows'].items())}")
    print(f"          photos: {w['photo_files']} files, {w['photo_bytes'] / 2**20:.1f} MiB")
    print(f"{'phase':22s} {'seconds':>8s} {'peak RSS MiB':>13s}  notes")
    i = res["imports"]
    print(f"{'imports (reference)':22s} {i['seconds']:8.1f} {i['rss_mib']:13.0f}  interpreter, Dagster, DuckDB + delta")
    rate = w["rows"]["photos"] / w["seconds"]
    print(f"{'silver write':22s} {w['seconds']:8.1f} {w['rss_mib']:13.0f}  {rate:,.0f} photo rows/s")
    print(
        f"{'gold: dbt build':22s} {d['seconds']:8.1f} {d['rss_mib']:13.0f}  dbt process {d['dbt_rss_mib']:.0f} MiB; "
        f"{d['dbt_elapsed']:.1f} s running nodes (the rest: dbt start-up and parsing); nodes {d['nodes']}; "
        f"slowest {d['slowest']}"
    )
    print(f"{'catalog refresh':22s} {c['seconds']:8.2f} {c['rss_mib']:13.0f}  {c['views']} views")
    from plotly.offline import get_plotlyjs

    plotly_js = len(get_plotlyjs().encode())  # inlined in every page
    opened = (res.get("browser") or {}).get("open") or {}
    if opened:
        empty = f"{plotly_js / 1e6:.2f} MB, opens in {opened['plotly.js only']:.1f} s"
        print(f"{'page of plotly.js only':22s} {'':8s} {'':13s}  {empty}")
    for name in DASHBOARD_ASSETS:
        r = res[f"dashboard:{name}"]
        shown = f", opens in {opened[name]:.1f} s" if name in opened else ""
        print(
            f"{'dashboard ' + name:22s} {r['seconds']:8.2f} {r['rss_mib']:13.0f}  {r['bytes'] / 1e6:.2f} MB "
            f"({(r['bytes'] - plotly_js) / 1e6:.2f} MB beyond plotly.js), "
            f"{r['charts']} charts, {r['traces']} traces, {r['points']:,} points (largest trace {r['largest_trace']:,})"
            f"{shown}"
        )
    if "browser" in res and not opened:
        print("(open times not measured: chromium or playwright missing)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
