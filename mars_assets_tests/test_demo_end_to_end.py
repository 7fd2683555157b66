"""`mars-assets demo` as a user runs it, on the whole bundled snapshot (slow: ~1.5 min a run)."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from PIL import Image, ImageSequence

from mars_assets.imaging.quality import DUPLICATE_DISTANCE, hamming, quality_flags
from mars_assets_tests.conftest import make_small_archive, open_catalog

pytestmark = pytest.mark.slow


def run_cli(*args, env_extra=None, cwd=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "mars_assets.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def q(wh: Path, sql: str):
    con = open_catalog(str(wh / "warehouse.duckdb"))
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def test_demo_loads_4800_photos_over_six_rover_sols(full_demo):
    wh, _, out = full_demo
    assert q(wh, "select count(*), count(distinct photo_id) from silver.photos") == [(4800, 4800)]
    assert q(wh, "select count(*) from gold.sol_activity where photos > 0") == [(6,)]
    assert "silver.photos" in out and "4800" in out
    # every camera any recorded rover object lists (their forms differ between recordings)
    assert q(wh, "select count(*) from silver.cameras") == [(36,)]


def test_each_recorded_sol_matches_the_manifest_where_it_covers_it(full_demo):
    wh, _, _ = full_demo
    rows = q(
        wh,
        """
        select p.rover, p.sol, count(*) as photos, list(distinct p.camera order by p.camera) as cams,
               any_value(m.total_photos), any_value(m.cameras)
        from silver.photos p join silver.manifest_sols m using (rover, sol) group by p.rover, p.sol""",
    )
    assert {(r[0], r[1]) for r in rows} == {("curiosity", 0), ("curiosity", 1), ("curiosity", 1000)}
    for _rover, _sol, photos, cams, m_photos, m_cams in rows:
        assert photos == m_photos and cams == sorted(m_cams)


def test_photo_gaps_valid_for_every_recorded_curiosity_sol(full_demo):
    wh, _, _ = full_demo
    assert q(
        wh, "select sol, gap_status from gold.photo_gaps where rover = 'curiosity' and silver_photos > 0 order by sol"
    ) == [(0, "VALID"), (1, "VALID"), (1000, "VALID")]
    assert q(wh, "select count(*) from gold.image_stats_daily") != [(0,)]


def test_every_image_with_a_known_sol_has_statistics(full_demo):
    wh, _, _ = full_demo
    assert q(wh, "select count(*) from silver.landing_files") == [(110,)]
    # every landed file routes: the NRB engineering-camera name by its spacecraft clock (sol_source 'clock')
    assert q(wh, "select count(*) from silver.images") == [(110,)]
    assert q(wh, "select count(*) from silver.image_stats s join silver.images i using (image_id, rover, sol)") == [
        (110,)
    ]
    assert q(wh, "select count(*) from silver.landing_files where status = 'quarantined'") == [(0,)]
    assert q(wh, "select count(*) from silver.landing_files where sol_source = 'clock'") == [(1,)]


def test_waypoints_for_both_rovers_and_dashboard(full_demo):
    wh, _, _ = full_demo
    assert q(wh, "select rover, count(*) from silver.waypoints group by 1 order by 1") == [
        ("curiosity", 1304),
        ("perseverance", 586),
    ]
    assert "plotly" in (wh / "dashboards/mission/index.html").read_text()
    assert "traverse" in (wh / "dashboards/traverse/index.html").read_text()
    assert "FFT" in (wh / "dashboards/images/index.html").read_text()


def test_demo_runs_on_another_folder(full_demo, tmp_path):
    """--archive DIR: a copy of part of the snapshot in the same layout (a rerun's idempotence:
    test_asset_graph.py::test_demo_twice_leaves_the_same_row_counts)."""
    archive = make_small_archive(
        tmp_path / "elsewhere",
        photos=("opportunity_sol0001.json",),
        images=("mars-raw-utils/NRF_0731_0731848568_991ECM_N0361610NCAM12731_04_195J01.png",),
    )
    wh = tmp_path / "out"
    r = run_cli("demo", "--archive", str(archive), "--warehouse", str(wh), "--dagster-home", str(tmp_path / "h"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert q(wh, "select count(*) from silver.photos") == [(95,)]
    assert q(wh, "select rover, sol, camera from silver.images") == [("perseverance", 731, "NAVCAM_RIGHT")]


def test_bad_archive_folder_is_a_one_line_error(tmp_path):
    r = run_cli("demo", "--archive", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w"))
    assert r.returncode == 2
    assert r.stderr.strip() == f"mars-assets: archive folder {tmp_path / 'nope'} does not exist"


def test_demo_in_a_folder_with_an_apostrophe_and_spaces_gives_the_documented_counts(full_demo):
    """The shared demo runs in ``it's a warehouse`` (conftest): paths reach SQL escaped, never pasted."""
    wh, _, out = full_demo
    assert "'" in wh.name and " " in wh.name
    counts = {
        t: q(wh, f"select count(*) from {t}")[0][0]
        for t in (
            "silver.photos",
            "silver.images",
            "silver.image_stats",
            "silver.image_quality",
            "gold.photo_gaps",
            "silver.waypoints",
        )
    }
    assert counts == {
        "silver.photos": 4800,
        "silver.images": 110,
        "silver.image_stats": 110,
        "silver.image_quality": 110,
        "gold.photo_gaps": 2281,
        "silver.waypoints": 1890,
    }
    assert "failed" not in out.lower()


def test_every_demo_image_has_quality_flags_and_a_hash_and_none_of_the_real_frames_is_flagged(full_demo):
    """silver image_quality: one row per image_stats row, each hashed; the flags are
    quality_flags of its statistics against the rover × camera's largest frame; the snapshot's
    real frames carry none (the thresholds were set on them) and no two frames of one rover ×
    camera × sol are near duplicates (distinct frames are >= 12 bits apart); gold counts them."""
    wh, _, _ = full_demo
    assert q(
        wh,
        "select count(*), count(phash), count(distinct image_id) from silver.image_quality join silver.image_stats "
        "using (rover, sol, image_id)",
    ) == [(110, 110, 110)]
    con = open_catalog(str(wh / "warehouse.duckdb"))
    try:
        stats = con.sql("select * exclude (red_hist, green_hist, blue_hist, gray_hist) from silver.image_stats")
        stats = stats.fetch_arrow_table().to_pylist()
        quality = {
            r["image_id"]: r for r in con.sql("select * from silver.image_quality").fetch_arrow_table().to_pylist()
        }
        gold = con.sql(
            "select sum(images), sum(images_flagged), sum(images_in_duplicate_groups), count(*) "
            "from gold.image_quality_daily"
        ).fetchone()
        daily = con.sql("select count(*) from gold.image_stats_daily").fetchone()[0]
    finally:
        con.close()
    largest = {}
    for s in stats:
        key = (s["rover"], s["camera"])
        if s["width"] * s["height"] > largest.get(key, (0, 0))[0] * largest.get(key, (0, 0))[1]:
            largest[key] = (s["width"], s["height"])
    grew = set()
    for s in stats:
        row, final = quality[s["image_id"]], largest[(s["rover"], s["camera"])]
        recorded = (row["full_frame_width"], row["full_frame_height"])
        # the full frame is the camera's largest frame when the partition was written (ranged runs in
        # sol order): never above the final one, and here no flag depends on the difference
        assert (
            recorded[0] * recorded[1] <= final[0] * final[1] and recorded[0] * recorded[1] >= s["width"] * s["height"]
        )
        assert row["flags"] == quality_flags(s, recorded) == quality_flags(s, final) == [], s["image_id"]
        if recorded != final:
            grew.add(s["camera"])
    assert largest[("curiosity", "MAST")] == (256, 256)  # the browse products are the camera's frames here
    assert grew <= {"MAST", "MAHLI"}
    assert all(r["duplicate_of"] is None for r in quality.values())
    groups: dict = {}
    for r in quality.values():
        groups.setdefault((r["rover"], r["camera"], r["sol"]), []).append(r["phash"])
    assert all(hamming(a, b) > DUPLICATE_DISTANCE for h in groups.values() for a, b in itertools.combinations(h, 2))
    assert gold == (110, 0, 0, daily) and daily == len(groups)


def test_demo_timelapse_of_curiosity_mastcam_plays_its_frames_in_sol_order(full_demo):
    """The demo's timelapse of the real Curiosity Mastcam frames, read back with Pillow: one
    frame per listed image, in sol order, at the configured size; the asset's metadata agrees."""
    wh, home, out = full_demo
    root = wh / "dashboards" / "timelapse"
    listing = json.loads((root / "curiosity" / "MAST.json").read_text())
    sols = [i["sol"] for i in listing["items"]]
    assert sols == sorted(sols) and sols[0] == 3 and len(sols) == listing["frames"] == 70
    img = Image.open(root / "curiosity" / "MAST.webp")
    assert img.format == "WEBP" and img.is_animated and img.n_frames == 70 and img.info["loop"] == 0
    assert img.size == (384, 384) == (listing["width"], listing["height"])
    frames = [np.asarray(f.convert("L"), dtype=np.int16) for f in ImageSequence.Iterator(img)]
    assert sum(np.abs(a - b).mean() > 3 for a, b in zip(frames, frames[1:], strict=False)) >= 60  # real change
    assert (root / "curiosity" / "MAST.webp").stat().st_size == listing["bytes"]
    page = (root / "index.html").read_text()
    assert 'src="curiosity/MAST.webp"' in page and 'src="curiosity/MAHLI.webp"' in page
    assert "timelapse" in out
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["dashboards", "timelapse"]))
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert meta["by timelapse"]["curiosity/MAST.webp"]["frames"] == 70 and meta["sols"] == "all"
    assert meta["timelapses"] >= 2 and meta["bytes"] == sum(p.stat().st_size for p in root.rglob("*.webp"))
    print(
        f"FIGURES timelapse: {meta['timelapses']} timelapses, {meta['frames']} frames, {meta['bytes']:,} bytes; "
        f"curiosity/MAST {img.n_frames} frames, sols {sols[0]}-{sols[-1]}, {listing['bytes']:,} bytes; "
        f"asset {meta['seconds']} s"
    )
