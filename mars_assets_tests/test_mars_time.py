"""Spacecraft clock → sol (mars_assets.sources.mars_time), checked on recorded real data.

* every recorded v1 photo (the bundled snapshot, ``api/photos``) whose ``img_src`` name carries
  a spacecraft clock: the sol derived from the clock equals the v1 ``sol``;
* the recorded JPL feed pages (project fixtures, else the shared recorded-data folder): sol,
  JPL's own LMST and UTC of each image against the ones derived from its clock;
* the MSL clock-only ids against the rover's MMGIS localizations (the name's site/drive).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import pytest

from mars_assets.demo import bundled_snapshot
from mars_assets.sources import mars_time as mt
from mars_assets.sources.product_ids import parse_product_id

PHOTO_FILES = sorted((bundled_snapshot() / "api/photos").glob("*.json"))
CAPTURE_DIRS = (
    Path(__file__).parent / "fixtures/live_captures/jpl",
    Path(__file__).parents[2] / "shared/data/nasa/live_captures/jpl",
)
#: Largest difference allowed between the LMST derived here (Mars24 at the landing
#: longitude) and JPL's LMST strings: the missions define LMST with their own origin, which
#: the recorded pages show 5-22 s apart from Mars24's (MSL 6.6 s, Mars 2020 5.6-22 s).
LMST_TOLERANCE_S = 30.0


def _capture(rover_dir: str, name: str) -> Path:
    for root in CAPTURE_DIRS:
        if (root / rover_dir / name).is_file():
            return root / rover_dir / name
    pytest.skip(f"recorded feed page {rover_dir}/{name} not present")


def _mars_seconds(hours_a: float, hours_b: float) -> float:
    """|a − b| in Mars seconds (1/86400 sol), across midnight."""
    d = abs(hours_a - hours_b) % 24.0
    return min(d, 24.0 - d) * 3600.0


def _lmst_string(text: str) -> tuple[int, float]:
    """JPL's ``Sol-00086M16:17:07.006`` → (86, 16.285...)."""
    m = re.fullmatch(r"Sol-(\d+)M(\d\d):(\d\d):(\d\d(?:\.\d+)?)", text)
    assert m, text
    return int(m[1]), int(m[2]) + int(m[3]) / 60 + float(m[4]) / 3600


@pytest.fixture(scope="module")
def verified() -> dict[str, list[tuple[int, int, float]]]:
    """Per photo file: (recorded sol, sol from the clock, LMST hours) of each photo with a clock."""
    out = {}
    for path in PHOTO_FILES:
        rows = []
        for photo in json.loads(path.read_text())["photos"]:
            pid = parse_product_id(photo["img_src"])
            if pid.sclk is None:
                assert pid.sol_source == "name", photo["img_src"]  # an MSSS name: sol in the name
                continue
            rover = photo["rover"]["name"].lower()
            sol, hours = mt.sclk_to_lmst(rover, pid.sclk)
            if pid.sol_source == "clock":
                assert pid.sol == sol and pid.reason is None, photo["img_src"]
            rows.append((photo["sol"], sol, hours))
        out[path.name] = rows
    return out


def test_every_recorded_v1_photo_with_a_clock_gets_its_recorded_sol(verified):
    mismatches = {f: [(r, d) for r, d, _ in rows if r != d] for f, rows in verified.items()}
    report = {
        f: f"{len(rows)} photos, LMST {min(h for *_, h in rows):.2f}-{max(h for *_, h in rows):.2f} h"
        for f, rows in verified.items()
        if rows
    }
    print("\nclock sols verified against v1:", json.dumps(report, indent=1))
    assert all(not m for m in mismatches.values()), mismatches
    # every recorded rover file has photos with clocks: MER and Mars 2020 all, Curiosity its
    # engineering cameras and ChemCam (MSSS names carry the sol instead)
    assert all(verified[p.name] for p in PHOTO_FILES)
    mer = [p for p in PHOTO_FILES if p.name.startswith(("spirit", "opportunity"))]
    assert mer and all(len(verified[p.name]) == len(json.loads(p.read_text())["photos"]) for p in mer)


def test_a_clock_moved_across_local_midnight_changes_the_sol(verified):
    """The check above can fail: the same photos one sol earlier or later in clock give other sols."""
    photo = json.loads((bundled_snapshot() / "api/photos/spirit_sol0001.json").read_text())["photos"][0]
    sclk = parse_product_id(photo["img_src"]).sclk
    sol, hours = mt.sclk_to_lmst("spirit", sclk)
    to_midnight = (24.0 - hours) / 24.0 * mt.SOL_SECONDS
    assert mt.sclk_to_lmst("spirit", sclk + to_midnight + 1)[0] == sol + 1
    assert mt.sclk_to_lmst("spirit", sclk - hours / 24.0 * mt.SOL_SECONDS - 1)[0] == sol - 1


def test_msl_feed_page_sol_lmst_and_utc_match_jpl():
    items = json.loads(_capture("msl", "sol0086_curieux.json").read_text())["items"]
    assert len(items) == 16
    for item in items:
        sclk = float(item["spacecraft_clock"])
        sol, hours = mt.sclk_to_lmst("curiosity", sclk)
        jpl_sol, jpl_hours = _lmst_string(item["extended"]["lmst"])
        assert sol == jpl_sol == item["sol"]
        assert _mars_seconds(hours, jpl_hours) < 1.0  # the clock model reproduces JPL's LMST
        taken = dt.datetime.fromisoformat(item["date_taken"].replace("Z", "+00:00"))
        assert abs((mt.et_to_utc(mt.sclk_to_et("curiosity", sclk)) - taken).total_seconds()) < 10
        # without the clock's drift the LMST would be 4 min off already at sol 86
        assert _mars_seconds(mt.mission("curiosity").lmsd(sclk) % 1 * 24, jpl_hours) > 200


def test_msl_lmst_from_utc_matches_jpl_on_a_late_sol():
    """The recorded sol-1489 item has date_taken (UTC) and sol but no clock: the sol from UTC."""
    item = json.loads(_capture("msl", "other/sol1489_curieux-jsondiy_possibly-trimmed.json").read_text())["items"][0]
    taken = dt.datetime.fromisoformat(item["date_taken"].replace("Z", "+00:00"))
    sclk = mt.et_to_sclk("curiosity", mt.utc_to_et(taken))
    assert mt.sclk_to_sol("curiosity", sclk) == item["sol"] == 1489


def test_mars2020_feed_pages_sol_and_lmst_match_jpl():
    pages = [p for root in CAPTURE_DIRS for p in sorted((root / "mars2020").glob("**/*.json"))]
    if not pages:
        pytest.skip("recorded Mars 2020 feed pages not present")
    seen: dict[str, tuple[int, int, float]] = {}
    for page in pages:
        body = json.loads(page.read_text())
        for image in body.get("images", [body] if "imageid" in body else []):
            clock = (image.get("extended") or {}).get("sclk")
            if image["imageid"] in seen or clock in (None, "UNK"):
                continue
            sol, hours = mt.sclk_to_lmst("perseverance", float(clock))
            jpl_sol, jpl_hours = _lmst_string(image["date_taken_mars"])
            seen[image["imageid"]] = (image["sol"], sol, _mars_seconds(hours, jpl_hours))
            assert sol == jpl_sol == image["sol"] == parse_product_id(image["imageid"]).sol, image["imageid"]
    worst = max(d for *_, d in seen.values())
    print(f"\nMars 2020 feed images verified: {len(seen)}, largest LMST difference to JPL {worst:.1f} s")
    assert len(seen) >= 100 and worst < LMST_TOLERANCE_S


def _waypoint_sols() -> list[tuple[int, int, int]]:
    layer = json.loads((bundled_snapshot() / "traverse/MSL_waypoints_tosol4650.geojson").read_text())
    return sorted(
        (f["properties"]["site"], f["properties"]["drive"], f["properties"]["sol"]) for f in layer["features"]
    )


def test_msl_clock_sols_lie_between_the_localizations_of_their_site_and_drive():
    """The name's site/drive (``EDR_S0871444`` = site 87, drive 1444) is where the rover stood:
    the sol from the clock is no earlier than the localization at or before that position and no
    later than the next one (MMGIS waypoints, an independent record)."""
    names = [p["img_src"] for f in PHOTO_FILES for p in json.loads(f.read_text())["photos"]]
    names.append(str(next((bundled_snapshot() / "images").glob("**/NRB_670586006*"))))
    waypoints = _waypoint_sols()
    checked = 0
    for name in names:
        pid = parse_product_id(name)
        m = re.search(r"_\d{9}[A-Z]{3}_[A-Z](\d{3})(\d{4})", pid.product_id)
        if pid.sol_source != "clock" or pid.rover != "curiosity" or not m:
            continue
        here = (int(m[1]), int(m[2]))
        before = [s for site, drive, s in waypoints if (site, drive) <= here]
        after = [s for site, drive, s in waypoints if (site, drive) > here]
        assert (before[-1] if before else 0) <= pid.sol <= (after[0] if after else math.inf), (name, pid.sol)
        checked += 1
    assert checked >= 41  # 40 v1 Curiosity photos with a clock name, and the landed Navcam frame
    assert parse_product_id(names[-1]).sol == 3076  # at RMC 87_1444 (sol 3076) until the drive of sol 3079


@pytest.mark.parametrize("rover", sorted(mt.MISSIONS))
def test_sol_and_clock_round_trip_and_the_landing_sol_holds_touchdown(rover):
    m = mt.mission(rover)
    for sol in (m.first_sol, m.first_sol + 1, 1000, 2000):
        for hours in (0.001, 6.5, 12.0, 23.999):
            back = mt.sclk_to_lmst(rover, mt.sol_to_sclk(rover, sol, hours))
            assert back[0] == sol and abs(back[1] - hours) < 1e-5
    assert mt.sol_to_utc(rover, m.first_sol) < m.touchdown_utc < mt.sol_to_utc(rover, m.first_sol + 1)
    length = (mt.sol_to_utc(rover, 101) - mt.sol_to_utc(rover, 100)).total_seconds()
    assert abs(length - 88775.244) < 0.01
    assert mt.earth_date_of_sol(rover, 100) == mt.sol_to_utc(rover, 100, 12.0).date()


def test_clocks_outside_the_mission_raise_with_the_reason():
    spirit_first = mt.sol_to_sclk("spirit", 1)
    assert mt.sclk_to_sol("spirit", spirit_first + 1) == 1
    with pytest.raises(mt.ClockOutOfRange, match="before the landing sol 1"):
        mt.sclk_to_sol("spirit", spirit_first - 1)
    with pytest.raises(mt.ClockOutOfRange, match="after the mission's last sol 2210"):
        mt.sclk_to_sol("spirit", mt.sol_to_sclk("spirit", 2211, 1.0))
    now = dt.datetime(2015, 5, 30, tzinfo=dt.UTC)  # Curiosity sol 1000 (v1 earth_date)
    today = mt.last_sol("curiosity", now)
    assert today in (999, 1000, 1001)
    assert mt.sclk_to_sol("curiosity", mt.sol_to_sclk("curiosity", today, 0.5), now) == today
    with pytest.raises(mt.ClockOutOfRange, match=f"after today's sol {today}"):
        mt.sclk_to_sol("curiosity", mt.sol_to_sclk("curiosity", today + 1, 0.5), now)
    with pytest.raises(KeyError, match="known: spirit"):
        mt.sclk_to_sol("insight", 1.0)


def test_utc_and_et_count_leap_seconds():
    assert mt.utc_to_et(mt.J2000_UTC) == 0.0
    before = dt.datetime(2016, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    after = dt.datetime(2017, 1, 1, 0, 0, 0, tzinfo=dt.UTC)
    assert mt.utc_to_et(after) - mt.utc_to_et(before) == 2.0  # 23:59:60 was inserted
    for t in (before, after, dt.datetime(2004, 1, 4, 4, 26, tzinfo=dt.UTC)):
        assert abs((mt.et_to_utc(mt.utc_to_et(t)) - t).total_seconds()) < 1e-6
