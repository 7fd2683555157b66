"""Mission-size silver -> gold -> dashboards: what a page plots follows sols × cameras, not photos.

Two synthetic Curiosity warehouses over the same 500 sols, one with 20,000 and one with
200,000 silver photos (benchmarks/mission_silver.py: written through
``Warehouse.write_silver_table`` in commits of 100 sols, with manifest sols, waypoints,
traverse legs, 10 images with statistics per sol and quarantined inputs). On each, gold is
built by the project's dbt project (``dbt run`` on the smaller, ``dbt build`` with every data
test on the larger, side by side) and the four dashboard assets run (direct invocation). Real
DuckDB, Delta and dbt; no mocks.

Per page the test reads the plotly JSON back (mars_assets.dashboards.pages) and checks that no
trace has more points than sols × cameras, that ten times the photos leave the plotted points
and the page's size (beyond the embedded plotly.js) within a few per cent, and that the key
numbers still count every photo and image.
"""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest
from plotly.offline import get_plotlyjs

from benchmarks.mission_silver import CAMERAS, plan_mission, write_mission
from benchmarks.mission_warehouse import DASHBOARD_ASSETS, run_dbt
from mars_assets.dashboards import page_points, queries
from mars_assets.dashboards.pages import page_traces
from mars_assets.resources import Warehouse

SOLS = 500
SMALL, LARGE = 20_000, 200_000
IMAGES_PER_SOL = 10
#: Bytes every page carries whatever the data: plotly.js, inlined once.
PLOTLY_JS = len(get_plotlyjs().encode())


def build_pages(wh: Warehouse) -> dict[str, tuple[str, dict]]:
    """Each dashboard asset run once on ``wh``: slug -> (its page's HTML, its metadata)."""
    out = {}
    for name, (module, fn) in DASHBOARD_ASSETS.items():
        asset = getattr(importlib.import_module(module), fn)
        result = asset(dg.build_asset_context(), warehouse=wh) if name == "data_health" else asset(warehouse=wh)
        html = Path(wh.path("dashboards", name, "index.html")).read_text(encoding="utf-8")
        out[name] = (html, {k: getattr(v, "value", v) for k, v in result.metadata.items()})
    return out


@pytest.fixture(scope="module")
def mission(tmp_path_factory):
    """{photos: (warehouse, rows written per table, dbt figures, pages)} for SMALL and LARGE."""
    base = tmp_path_factory.mktemp("mission")
    built = {}
    for photos in (SMALL, LARGE):
        wh = Warehouse(root=str(base / f"w{photos}" / "warehouse"))
        built[photos] = (wh, write_mission(wh, plan_mission(SOLS, photos), batch=100, images_per_sol=IMAGES_PER_SOL))
    # dbt is mostly start-up and parsing: both at once; the data tests on the large one only
    with ThreadPoolExecutor(2) as pool:
        runs = {
            p: pool.submit(run_dbt, wh, Path(wh.root).parent, "build" if p == LARGE else "run")
            for p, (wh, _) in built.items()
        }
        dbt = {p: run.result() for p, run in runs.items()}
    return {p: (wh, rows, dbt[p], build_pages(wh)) for p, (wh, rows) in built.items()}


def test_silver_is_mission_shaped_and_gold_builds_with_every_dbt_test_passing(mission):
    for photos, (wh, rows, dbt, _) in mission.items():
        assert abs(rows["photos"] - photos) < photos * 0.02, rows
        assert rows["manifest_sols"] == SOLS and rows["image_stats"] == SOLS * IMAGES_PER_SOL - 50, rows
        assert set(dbt["nodes"]) <= {"success", "pass"} and dbt["nodes"]["success"] == 9, dbt
        assert dbt["nodes"].get("pass", 0) >= (30 if photos == LARGE else 0), dbt  # every data test passes
        con = wh.connect()
        try:
            sql = f"select gap_status, count(*) from {wh.relation_sql('gold', 'photo_gaps')} group by 1"
            gaps = dict(con.execute(sql).fetchall())
            total = con.execute(f"select photos from {wh.relation_sql('gold', 'mission_summary')}").fetchone()[0]
        finally:
            con.close()
        assert total == rows["photos"]
        assert gaps["MISSING_SOL"] == len(range(48, SOLS, 97)) and gaps["PHOTO_COUNT_MISMATCH"] == 4, gaps


def test_no_trace_plots_per_photo_arrays(mission):
    for photos, (_, _, _, pages) in mission.items():
        for name, (html, meta) in pages.items():
            points = page_points(html)
            assert points, name
            largest = max(n for _, _, n in points)
            # a heatmap cell per camera × sol is the most a trace may plot; photos are 40-400 per sol
            assert largest <= SOLS * len(CAMERAS), (photos, name, sorted(points, key=lambda p: -p[2])[:3])
            assert meta["points"] == sum(n for _, _, n in points) and meta["largest trace"] == largest


def test_ten_times_the_photos_leave_pages_the_same_size(mission):
    small, large = mission[SMALL][3], mission[LARGE][3]
    for name in DASHBOARD_ASSETS:
        (html_s, meta_s), (html_l, meta_l) = small[name], large[name]
        size_s, size_l = len(html_s.encode()), len(html_l.encode())
        assert size_l < 6_000_000, (name, size_l)  # plotly.js (4.8 MB) + at most ~1 MB of data
        assert abs(size_l - size_s) <= 0.05 * size_s, (name, size_s, size_l)
        data_s, data_l = size_s - PLOTLY_JS, size_l - PLOTLY_JS
        # the data beyond plotly.js: within 10 % (more cameras appear on a sol of 400 photos than of 40)
        assert data_l <= 1.10 * data_s + 10_000, (name, data_s, data_l)
        assert meta_l["points"] <= 1.10 * meta_s["points"] + 200, (name, meta_s["points"], meta_l["points"])


def test_aggregates_cover_everything_while_the_page_stays_capped(mission):
    wh, rows, _, pages = mission[LARGE]
    mission_html, mission_meta = pages["mission"]
    assert mission_meta["rows silver.photos"] == rows["photos"]
    assert f"{rows['photos']:,}" in mission_html  # key number: photos in the warehouse
    heatmap = next(t for _, traces in page_traces(mission_html) for t in traces if t.get("type") == "heatmap")
    assert len(heatmap["x"]) <= queries.HEATMAP_COLUMNS + 1 and heatmap["x"][0] == "curiosity · sols 0–1"
    assert "texttemplate" not in heatmap  # 250 columns: counts in the hover text, not in the cells

    images_html, images_meta = pages["images"]
    assert images_meta["rows silver.image_stats"] == rows["image_stats"] > queries.IMAGE_SAMPLE
    assert f"A sample of {queries.IMAGE_SAMPLE:,} of the {rows['image_stats']:,} images" in images_html
    overview = next(traces for div, traces in page_traces(images_html) if div == "images-1")
    assert sum(len(t["x"]) for t in overview if t.get("name") != "shown in detail below") == queries.IMAGE_SAMPLE
    assert len(images_meta["selected images"].split(", ")) >= 3  # the extremes, picked in DuckDB
    # quality flags: gold image_quality_daily summed per rover × camera in DuckDB, every image counted
    flags = queries.quality_by_camera(wh)
    assert images_meta["rows gold.image_quality_daily by rover and camera"] == flags.num_rows <= len(CAMERAS)
    assert sum(flags["images"].to_pylist()) == rows["image_quality"] == rows["image_stats"]
    flagged = sum(flags["images_blank"].to_pylist())
    assert flagged == sum(flags["images_flagged"].to_pylist()) > 0
    assert f"{flagged:,} of {rows['image_quality']:,} images flagged" in images_html

    health_html, health_meta = pages["data_health"]
    assert health_meta["rows silver.photo_quarantine"] == rows["photo_quarantine"]
    assert "other reasons)" in health_html  # ~140 reason groups (one per sol): the largest named
    groups = queries.quarantine_summary(wh)
    assert groups.num_rows <= queries.REASON_GROUPS + 3
    assert sum(groups["inputs"].to_pylist()) == rows["photo_quarantine"] + rows["image_quarantine"] + 50
