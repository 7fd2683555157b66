"""The live-source path (`mars-assets run`) over loopback: JPL feeds, a v1 source and MMGIS
traverse layers feed one set of tables. The JPL feed and traverse fixtures are hand-built
from the documented field lists (see fixtures/README.md): no real page was available."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mars_assets.cli import parse_sols
from mars_assets.demo import ReplayServer, bundled_snapshot
from mars_assets_tests.conftest import open_catalog

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def live_run(tmp_path_factory):
    """One archive holding the JPL fixtures, the traverse fixtures, a recorded v1 Spirit sol and
    the MMGIS waypoints; three `mars-assets run` commands against it into one warehouse."""
    tmp = tmp_path_factory.mktemp("live")
    archive = tmp / "archive"
    shutil.copytree(FIXTURES, archive, ignore=shutil.ignore_patterns("*.md"))
    (archive / "api/photos").mkdir(parents=True)
    shutil.copy(bundled_snapshot() / "api/photos/spirit_sol0001.json", archive / "api/photos")
    for p in (bundled_snapshot() / "traverse").iterdir():
        shutil.copy(p, archive / "traverse" / p.name)
    wh = tmp / "warehouse"
    with ReplayServer(archive) as server:
        env = {
            **os.environ,
            "MARS_PHOTOS_API_URL": server.photos_api_url,
            "MARS_MMGIS_URL": server.mmgis_url,
            "MARS_JPL_MARS2020_URL": server.jpl_mars2020_url,
            "MARS_JPL_MSL_URL": server.jpl_msl_url,
            "MARS_MAX_IMAGE_DOWNLOADS": "0",
            "DAGSTER_HOME": str(tmp / "home"),
        }
        outs = []
        for rover, sols in (("perseverance", "100-101"), ("curiosity", "3000-3001"), ("spirit", "1")):
            r = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mars_assets.cli",
                    "run",
                    "--rover",
                    rover,
                    "--sols",
                    sols,
                    "--warehouse",
                    str(wh),
                ],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
            outs.append(r.stdout)
    con = open_catalog(str(wh / "warehouse.duckdb"))
    yield con, outs
    con.close()


def test_one_photos_table_for_every_source(live_run):
    con, outs = live_run
    assert "perseverance: sols 100..101 from jpl_mars2020" in outs[0]
    rows = con.sql(
        "select source, rover, count(*), count(distinct sol) from silver.photos group by all order by all"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("jpl_mars2020", "perseverance"),
        ("jpl_msl", "curiosity"),
        ("photos_api_v1", "spirit"),
    ]
    assert rows[2][2] == 77
    # thumbnails filtered: only Full/full samples reached silver
    assert con.sql(
        "select distinct lower(sample_type) from silver.photos where source <> 'photos_api_v1'"
    ).fetchall() == [("full",)]
    # string numbers parsed; unknown instruments kept and flagged
    assert con.sql("select count(*) from silver.photos where source = 'jpl_mars2020' and width is null").fetchone() == (
        0,
    )
    flagged = {c for (c,) in con.sql("select camera from silver.photos where camera_known = false").fetchall()}
    assert {"PIXL_MCC", "NEWCAM_TEST"} <= flagged


def test_traverse_legs_in_silver_and_distance_per_sol_in_gold(live_run):
    con, _ = live_run
    legs = con.sql(
        "select rover, sol, count(*), sum(length_m) from silver.traverse where reason is null group by all order by all"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in legs] == [
        ("curiosity", 3000, 2),
        ("curiosity", 3001, 1),
        ("curiosity", 3002, 1),  # the fixture's MultiLineString: a leg too
        ("perseverance", 100, 2),
        ("perseverance", 101, 1),
        ("perseverance", 102, 1),
    ]
    gold = dict(
        ((r, s), (d, src))
        for r, s, d, src in con.sql(
            "select rover, sol, distance_m, distance_source from gold.sol_activity"
            " where sol in (100, 101, 102, 3000, 3001, 3002)"
        ).fetchall()
    )
    for rover, sol, _n, length in legs:
        assert gold[(rover, sol)] == (pytest.approx(length, abs=1e-3), "traverse")


def test_earth_date_rule_holds_for_jpl_rows(live_run):
    con, _ = live_run
    import datetime as dt
    import math

    expected = dt.date(2021, 2, 18) + dt.timedelta(days=math.floor(100 * 88775.244 / 86400))  # 102 days
    assert (
        con.sql("select distinct earth_date from silver.photos where rover = 'perseverance' and sol = 100").fetchall()
        == [(expected,)]
        == [(dt.date(2021, 5, 31),)]
    )


def test_parse_sols_ranges_and_lists():
    assert parse_sols("1200-1202,1210") == [1200, 1201, 1202, 1210]
    with pytest.raises(ValueError):
        parse_sols("5-3")
