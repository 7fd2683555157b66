"""The real MMGIS layers read right: traverse legs given sols by the waypoints, waypoint flags,
string properties, dated copies, and per-sol distances in gold from the legs.

Data: fixtures/mmgis_real/ (real layers recorded by third parties, see its README) and the
shipped waypoint layers mars_assets/snapshot/traverse/ (real, see PROVENANCE.md).
"""

from __future__ import annotations

import io
import json
import shutil
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pytest

from mars_assets.demo import bundled_snapshot
from mars_assets.schemas import TRAVERSE_SCHEMA, WAYPOINTS_SCHEMA
from mars_assets.sources import mmgis
from mars_assets.sources.mmgis_legs import MATCH_TOLERANCE_M, path_m

REAL = Path(__file__).parent / "fixtures" / "mmgis_real"
SHIPPED = bundled_snapshot() / "traverse"
#: Share of the real MSL traverse features that must get a sol from the waypoints. Measured:
#: 298 of 300 (99.3 %); the other two are kept with their reason.
MIN_MATCHED_SHARE = 0.99
#: Share of the real M20 legs whose own sol, fromRMC and toRMC the matching recovers when the
#: layer's properties are hidden from it. Measured: 144 of 150 (96 %).
MIN_M20_AGREEMENT = 0.95


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def msl_waypoints() -> list[dict]:
    rows, rejects = mmgis.parse_waypoints("curiosity", load(SHIPPED / "MSL_waypoints_tosol4650.geojson"))
    assert len(rows) == 1304 and rejects == []
    return rows


@pytest.fixture(scope="module")
def m20_waypoints() -> list[dict]:
    rows, rejects = mmgis.parse_waypoints("perseverance", load(SHIPPED / "M20_waypoints_tosol1615.geojson"))
    assert len(rows) == 586 and rejects == []
    return rows


@pytest.fixture(scope="module")
def msl_legs(msl_waypoints) -> list[dict]:
    body = load(REAL / "MSL_traverse_duclun_first300.geojson")
    assert {tuple(f["properties"]) for f in body["features"]} == {("Length",)}  # no sol, RMC or SCLK
    rows, rejects = mmgis.parse_traverse("curiosity", body, msl_waypoints)
    assert rejects == []
    assert pa.Table.from_pylist(rows, schema=TRAVERSE_SCHEMA).num_rows == len(rows)  # rows fit the table
    return rows


# -- the MSL traverse: only Length per feature ------------------------------------------------
def test_every_real_msl_leg_gets_a_sol_from_the_waypoints_or_a_reason(msl_legs):
    assert {r["feature_index"] for r in msl_legs} == set(range(300))  # no feature lost
    matched = {r["feature_index"] for r in msl_legs if r["sol"] is not None}
    assert len(matched) / 300 >= MIN_MATCHED_SHARE
    for r in msl_legs:
        if r["sol"] is None:
            assert r["sol_source"] is None and r["reason"].startswith("no sol: ")
        else:
            assert r["sol_source"] == "waypoint_match" and r["match_m"] <= MATCH_TOLERANCE_M
            assert r["from_rmc"] and r["to_rmc"] and r["from_sol"] <= r["sol"]
    print(f"\nMSL: {len(matched)} of 300 features matched; {len(msl_legs)} drive legs")


def test_first_msl_leg_starts_at_waypoint_2_0_of_sol_3(msl_legs):
    first = msl_legs[0]
    assert (first["feature_index"], first["part"]) == (0, 0)
    assert (first["from_rmc"], first["from_sol"]) == ("2_0", 3) and first["match_m"] < 0.01
    assert (first["to_rmc"], first["sol"]) == ("3_78", 16)  # Curiosity's first drive, sol 16


def test_multilinestring_feature_becomes_the_drives_it_is_made_of(msl_legs):
    feature = load(REAL / "MSL_traverse_duclun_first300.geojson")["features"][0]
    assert feature["geometry"]["type"] == "MultiLineString" and len(feature["geometry"]["coordinates"]) == 5
    pieces = [r for r in msl_legs if r["feature_index"] == 0]
    assert len(pieces) == 57 and [r["part"] for r in pieces] == list(range(57))
    assert (pieces[-1]["to_rmc"], pieces[-1]["sol"]) == ("7_270", 329)
    assert all(a["to_rmc"] == b["from_rmc"] for a, b in zip(pieces, pieces[1:], strict=False))
    assert sum(r["length_m"] for r in pieces) == pytest.approx(935.64)
    assert all(r["geometry"].startswith("LINESTRING (") for r in pieces)
    vertices = sum(len(part) for part in feature["geometry"]["coordinates"])
    assert sum(r["n_points"] for r in pieces) - (len(pieces) - 1) == vertices - 4  # 4 repeated joints


def test_unmatched_and_duplicate_legs_are_kept_with_their_reason(msl_legs):
    by_feature = {r["feature_index"]: r for r in msl_legs}
    off = by_feature[118]  # its start lies 1.17 m from waypoint 31_538, beyond the tolerance
    assert off["sol"] is None and off["distance_m"] is None and off["length_m"] == 28.77
    assert "start matches no waypoint within 1 m" in off["reason"] and "31_538 (sol 595) at 1.17 m" in off["reason"]
    back = by_feature[160]  # drawn back from 39_1396 to an earlier localization
    assert back["sol"] is None and "not after its start 39_1396 (sol 695)" in back["reason"]
    twice = by_feature[3]  # features 2 and 3 are the same leg
    assert twice["sol"] == 333 and twice["reason"] == "duplicate of feature 2: same sol, start and end"
    assert twice["distance_m"] is None and by_feature[2]["distance_m"] == 13.86
    assert sum(1 for r in msl_legs if r["reason"]) == 3


def test_cumulative_leg_distance_agrees_with_the_odometry_within_2_percent(msl_legs, msl_waypoints):
    counted = [r for r in msl_legs if r["reason"] is None]
    last = max(counted, key=lambda r: r["sol"])
    odometry = next(w["dist_total_m"] for w in msl_waypoints if w["rmc"] == last["to_rmc"])
    cumulative = sum(r["distance_m"] for r in counted)
    diff = (cumulative - odometry) / odometry
    per_sol_legs: dict[int, float] = defaultdict(float)
    for r in counted:
        per_sol_legs[r["sol"]] += r["distance_m"]
    per_sol_wp: dict[int, float] = defaultdict(float)
    for w in msl_waypoints:
        if w["sol"] <= last["sol"] and w["dist_m"]:
            per_sol_wp[w["sol"]] += w["dist_m"]
    diffs = [
        abs(per_sol_legs.get(s, 0.0) - per_sol_wp.get(s, 0.0)) for s in sorted(set(per_sol_legs) | set(per_sol_wp))
    ]
    median, p95 = statistics.median(diffs), statistics.quantiles(diffs, n=20)[-1]
    print(
        f"\nMSL to sol {last['sol']} ({last['to_rmc']}): legs {cumulative:,.2f} m, odometry {odometry:,.2f} m "
        f"({100 * diff:+.2f} %); per-sol |legs - waypoints dist_m| over {len(diffs)} sols: "
        f"median {median:.2f} m, 95th percentile {p95:.2f} m"
    )
    assert last["sol"] == 1250 and abs(diff) < 0.02
    assert median < 1.0 and p95 < 10.0


# -- the M20 traverse: sol, RMCs and SCLK per leg -------------------------------------------
def test_m20_legs_keep_the_layer_sol_rmcs_and_sclk(m20_waypoints):
    body = load(REAL / "M20_traverse_duclun_first150.geojson")
    rows, rejects = mmgis.parse_traverse("perseverance", body, m20_waypoints)
    assert rejects == [] and len(rows) == 150 and all(r["reason"] is None for r in rows)
    first = rows[0]
    assert (first["sol"], first["sol_source"], first["from_rmc"], first["to_rmc"]) == (14, "layer", "3_0", "3_110")
    assert (first["sclk_start"], first["sclk_end"]) == (668099149.0, 668187928.0) and first["from_sol"] == 13
    assert all(r["sclk_start"] < r["sclk_end"] for r in rows)


def test_legs_to_mid_drive_localizations_are_not_counted_twice(m20_waypoints):
    rows, _ = mmgis.parse_traverse("perseverance", load(REAL / "M20_traverse_duclun_first150.geojson"), m20_waypoints)
    drive = [r for r in rows if r["from_rmc"] == "9_2982"]  # one drive over sols 350-352
    assert [(r["sol"], r["to_rmc"], r["length_m"]) for r in drive] == [
        (350, "9_3478", 92.38),
        (351, "9_5156", 406.18),
        (352, "9_5676", 488.53),
    ]
    mid = {w["rmc"]: w for w in m20_waypoints}
    assert mid["9_3478"]["mid_drive"] and mid["9_5156"]["mid_drive"] and not mid["9_5676"]["mid_drive"]
    assert sum(r["distance_m"] for r in drive) == pytest.approx(488.53)  # not 987.09
    for r in drive:  # each sol's new metres are the waypoints' dist_m of that sol
        assert r["distance_m"] == pytest.approx(mid[r["to_rmc"]]["dist_m"], abs=0.05)


def test_matching_recovers_the_m20_layer_own_sols_and_rmcs(m20_waypoints):
    body = load(REAL / "M20_traverse_duclun_first150.geojson")
    truth = [(f["properties"]["sol"], f["properties"]["fromRMC"], f["properties"]["toRMC"]) for f in body["features"]]
    hidden = {"features": [{**f, "properties": {"length": f["properties"]["length"]}} for f in body["features"]]}
    rows, _ = mmgis.parse_traverse("perseverance", hidden, m20_waypoints)
    got: dict[int, list] = defaultdict(list)
    for r in rows:
        got[r["feature_index"]].append((r["sol"], r["from_rmc"], r["to_rmc"]))
    agree = sum(1 for i, t in enumerate(truth) if got[i] == [t])
    print(f"\nM20 with its properties hidden: {agree} of {len(truth)} legs matched to the layer's own sol and RMCs")
    assert agree / len(truth) >= MIN_M20_AGREEMENT


# -- waypoints -----------------------------------------------------------------------------
def test_waypoint_flags_y_m_and_final(m20_waypoints, msl_waypoints):
    assert Counter(w["flag"] for w in m20_waypoints) == {"y": 462, "m": 124}
    assert sum(1 for w in m20_waypoints if w["mid_drive"]) == 124
    # mid-drive: 116 placeholders (dist_m 0, dist_total_m 0), 7 the part of the drive up to them
    assert Counter((w["dist_m"] == 0, w["dist_total_m"] == 0) for w in m20_waypoints if w["mid_drive"]) == {
        (True, True): 116,
        (False, False): 7,
        (True, False): 1,
    }
    assert {(w["flag"], w["mid_drive"]) for w in msl_waypoints} == {("final", False)}
    current, _ = mmgis.parse_waypoints("curiosity", load(REAL / "MSL_waypoints_duclun_current.geojson"))
    assert [(w["rmc"], w["sol"], w["flag"], w["dist_total_m"]) for w in current] == [("122_0", 4868, "final", 37170.64)]
    assert pa.Table.from_pylist(m20_waypoints + current, schema=WAYPOINTS_SCHEMA).num_rows == 587


def test_early_layer_dist_total_and_2d_coordinates():
    rows, rejects = mmgis.parse_waypoints("perseverance", load(REAL / "M20_waypoints_stiles_2021-03-15.geojson"))
    assert rejects == [] and len(rows) == 6
    assert rows[1]["dist_total_m"] == 6.25454 and rows[-1]["dist_total_m"] == 96.89  # from `dist_total`
    assert rows[1]["elevation_m"] == -2569.861816  # 2-D Point: elevation from elev_geoid
    assert all(w["flag"] is None and w["mid_drive"] is None for w in rows)


def test_string_properties_and_no_lon_lat_properties_parse_alike():
    """The spreadsheet-made M20 layers carry every property as a string and no lon/lat: made here
    from a real copy by turning its values into text and dropping lon/lat."""
    body = load(SHIPPED / "M20_waypoints_tosol1615.geojson")
    texts = {
        "features": [
            {
                **f,
                "geometry": {"type": "Point", "coordinates": f["geometry"]["coordinates"][:2]},
                "properties": {k: str(v) for k, v in f["properties"].items() if k not in ("lon", "lat")},
            }
            for f in body["features"]
        ]
    }
    want, _ = mmgis.parse_waypoints("perseverance", body)
    got, rejects = mmgis.parse_waypoints("perseverance", texts)
    assert rejects == [] and len(got) == len(want) == 586
    for a, b in zip(got, want, strict=True):
        assert a == {**b, "elevation_m": a["elevation_m"]}
        assert a["elevation_m"] == pytest.approx(b["elevation_m"], abs=0.01)  # from elev_geoid, rounded
    assert (
        mmgis.parse_waypoints("perseverance", {"features": [{**texts["features"][0], "properties": {"sol": "13.0"}}]})[
            0
        ][0]["sol"]
        == 13
    )


# -- several dated copies --------------------------------------------------------------------
def test_dated_waypoint_copies_are_merged_the_newest_winning_and_reported():
    copies = [
        ("M20_waypoints_tosol1615.json", load(SHIPPED / "M20_waypoints_tosol1615.geojson")),
        ("M20_waypoints_current.json", load(REAL / "M20_waypoints_duclun_current.geojson")),
        ("M20_waypoints_2021-03-15.json", load(REAL / "M20_waypoints_stiles_2021-03-15.geojson")),
    ]
    body, used = mmgis.merge_waypoint_copies(copies)
    assert [(u["object"], u["to_sol"], u["features"], u["kept"]) for u in used] == [
        ("M20_waypoints_2021-03-15.json", 23, 6, 0),  # every RMC of it is in a newer copy
        ("M20_waypoints_tosol1615.json", 1615, 586, 586),
        ("M20_waypoints_current.json", 1840, 1, 1),
    ]
    rows, _ = mmgis.parse_waypoints("perseverance", body)
    assert len(rows) == 587
    landing = next(r for r in rows if r["rmc"] == "3_0")
    assert landing["sol"] == 13 and landing["dist_total_m"] == 0.0  # the 2021 copy said sol 0


def test_the_newest_traverse_copy_is_used_and_the_choice_reported():
    full = load(REAL / "M20_traverse_duclun_first150.geojson")
    older = {**full, "name": "M20_Traverse_Path_tosol300", "features": full["features"][:50]}
    body, used = mmgis.newest_copy([("M20_traverse.json", full), ("M20_traverse_old.json", older)])
    assert body is full
    assert [(u["object"], u["to_sol"], u["used"]) for u in used] == [
        ("M20_traverse_old.json", full["features"][49]["properties"]["sol"], False),  # sol 157
        ("M20_traverse.json", 501, True),
    ]
    msl = load(REAL / "MSL_traverse_duclun_first300.geojson")  # no sols: the name and the size decide
    cut = {**msl, "features": msl["features"][:10]}
    body, used = mmgis.newest_copy([("MSL_traverse_b.json", cut), ("MSL_traverse_a.json", msl)])
    assert body is msl and [u["features"] for u in used] == [10, 300]


# -- through silver and gold -------------------------------------------------------------
@pytest.fixture(scope="module")
def warehouse_with_legs(tmp_path_factory):
    """The demo job on a small snapshot with the shipped waypoints and the real MSL traverse."""
    from mars_assets.cli import run_demo
    from mars_assets_tests.conftest import make_small_archive, open_catalog

    tmp = tmp_path_factory.mktemp("mmgis")
    archive = make_small_archive(tmp / "a", photos=("curiosity_sol0001.json",), images=())
    shutil.copy(REAL / "MSL_traverse_duclun_first300.geojson", archive / "traverse")
    wh = tmp / "w"
    out = io.StringIO()
    assert run_demo(archive, wh, wh / "landing", str(tmp / "h"), out=out) == 0, out.getvalue()[-3000:]
    con = open_catalog(str(wh / "warehouse.duckdb"))
    yield con
    con.close()


def test_silver_traverse_holds_every_leg_and_gold_counts_each_drive_once(warehouse_with_legs, msl_waypoints):
    con = warehouse_with_legs
    assert con.sql(
        "select sol_source, count(*), count(reason) from silver.traverse group by all order by all"
    ).fetchall() == [("waypoint_match", 359, 1), (None, 2, 2)]
    legs_m = con.sql("select sum(distance_m) from silver.traverse where reason is null").fetchone()[0]
    gold = {
        src: (n, m)
        for src, n, m in con.sql(
            "select distance_source, count(*), sum(distance_m) from gold.sol_activity "
            "where rover = 'curiosity' and sol <= 1250 group by all"
        ).fetchall()
    }
    assert gold["traverse"][1] == pytest.approx(legs_m, abs=0.01)  # every counted leg, once
    # the sol of the unmatched leg 118 (597) falls back to the waypoints' dist_m
    assert con.sql(
        "select distance_source, distance_m from gold.sol_activity where rover = 'curiosity' and sol = 597"
    ).fetchone() == ("waypoints", pytest.approx(sum(w["dist_m"] for w in msl_waypoints if w["sol"] == 597)))
    first = con.sql(
        "select distance_m, distance_source from gold.sol_activity where rover = 'curiosity' and sol = 16"
    ).fetchone()
    assert first == (pytest.approx(6.91, abs=0.01), "traverse")
    cumulative, odometry = con.sql(
        "select cumulative_distance_m, odometry_m from gold.sol_activity where rover = 'curiosity' and sol = 1250"
    ).fetchone()
    assert abs(cumulative - odometry) / odometry < 0.02
    assert path_m([(0.0, 0.0), (1.0, 0.0)]) == pytest.approx(59_274.7, abs=1.0)  # 1° on Mars


def test_traverse_dashboard_draws_uncounted_legs_apart_and_mid_drive_localizations_open(msl_legs, m20_waypoints):
    from mars_assets.dashboards import build_traverse_dashboard
    from mars_assets.dashboards.traverse import parse_wkt_lines

    page = build_traverse_dashboard(
        waypoints=pa.Table.from_pylist(m20_waypoints, schema=WAYPOINTS_SCHEMA),
        traverse=pa.Table.from_pylist(msl_legs, schema=TRAVERSE_SCHEMA),
        sol_activity=None,
    )
    assert page.charts == 2 and "legs not counted (no sol)" in page.html and "circle-open" in page.html
    assert "361 traverse legs (359 given their sol by the waypoints they end at; 3 not counted" in page.html
    assert parse_wkt_lines("MULTILINESTRING ((1 2, 3 4), (5 6, 7 8 9))") == [
        [(1.0, 2.0), (3.0, 4.0)],
        [(5.0, 6.0), (7.0, 8.0)],
    ]
