"""MMGIS traverse layers: path, parsing into drive legs, serving by the replay server.

The layers in fixtures/traverse/ are hand-built from the documented property list, NOT
recorded (see fixtures/README.md and each file's ``_fixture_note``). The real layers are
tested in test_mmgis_real.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mars_assets.demo import ReplayServer
from mars_assets.schemas import TRAVERSE_SCHEMA
from mars_assets.sources import mmgis
from mars_assets.sources.http import ApiError
from mars_assets.sources.mmgis import MmgisSource

FIXTURES = Path(__file__).parent / "fixtures"
ROW_KEYS = tuple(TRAVERSE_SCHEMA.names)


def layer(name: str) -> dict:
    return json.loads((FIXTURES / "traverse" / name).read_text())


def test_paths():
    assert mmgis.traverse_path("M20") == "/M20/Layers/json/M20_traverse.json"
    assert mmgis.traverse_path("MSL") == "/MSL/Layers/json/MSL_traverse.json"
    assert mmgis.waypoints_path("M20") == "/M20/Layers/json/M20_waypoints.json"  # unchanged


def test_legs_are_rows_keyed_by_rover_sol_and_rmcs_in_the_schema_order():
    rows, rejects = mmgis.parse_traverse("perseverance", layer("M20_traverse_fixture.geojson"))
    assert all(tuple(r) == ROW_KEYS for r in rows)
    keys = [(r["rover"], r["sol"], r["from_rmc"], r["to_rmc"], r["sol_source"]) for r in rows]
    assert keys == [
        ("perseverance", 100, "4_0", "4_120", "layer"),
        ("perseverance", 100, "4_120", "4_218", "layer"),
        ("perseverance", 101, "4_218", "4_452", "layer"),
        ("perseverance", 102, "4_452", "5_0", "layer"),  # a MultiLineString is a leg too
        ("perseverance", None, "5_0", "5_40", None),  # no sol, and no waypoints to match: kept
    ]
    assert [r["feature_index"] for r in rows] == [0, 1, 2, 3, 4] and len(rejects) == 1


def test_several_legs_of_one_sol_join_up():
    rows, _ = mmgis.parse_traverse("perseverance", layer("M20_traverse_fixture.geojson"))
    a, b = [r for r in rows if r["sol"] == 100]
    assert a["to_rmc"] == b["from_rmc"]
    assert (a["end_lon"], a["end_lat"]) == (b["start_lon"], b["start_lat"])
    assert a["length_m"] == 35.214 and b["length_m"] == 28.7
    assert sum(r["length_m"] for r in rows if r["sol"] == 100) == pytest.approx(63.914)


def test_leg_geometry_is_2d_wkt_of_every_vertex_in_degrees():
    body = layer("M20_traverse_fixture.geojson")
    rows, _ = mmgis.parse_traverse("perseverance", body)
    first, coords = rows[0], body["features"][0]["geometry"]["coordinates"]
    assert first["n_points"] == len(coords) == 4
    assert first["geometry"].startswith("LINESTRING (") and first["geometry"].endswith(")")
    vertices = [tuple(float(x) for x in v.split()) for v in first["geometry"][len("LINESTRING (") : -1].split(", ")]
    assert vertices == [(c[0], c[1]) for c in coords]  # elevation dropped, full precision kept
    assert (first["start_lon"], first["start_lat"]) == tuple(coords[0][:2])
    assert (first["end_lon"], first["end_lat"]) == tuple(coords[-1][:2])
    assert first["sclk_start"] == 675810000.0 and first["sclk_end"] > first["sclk_start"]


def test_a_point_is_a_reject_and_a_leg_without_sol_is_kept_with_its_reason():
    rows, rejects = mmgis.parse_traverse("perseverance", layer("M20_traverse_fixture.geojson"))
    assert [(r["feature_index"], r["sol"]) for r in rejects] == [(5, 103)]
    assert "Point" in rejects[0]["reason"] and "not LineString or MultiLineString" in rejects[0]["reason"]
    counted = [r for r in rows if r["reason"] is None]
    assert [r["feature_index"] for r in counted] == [0, 1, 2, 3]
    assert all(r["distance_m"] == r["length_m"] for r in counted)  # no leg extends another here
    kept = rows[4]
    assert kept["sol"] is None and kept["distance_m"] is None and kept["length_m"] == 9.5
    assert kept["reason"].startswith("no sol: no waypoints layer")


def test_multilinestring_of_one_part_is_a_linestring():
    rows, _ = mmgis.parse_traverse("perseverance", layer("M20_traverse_fixture.geojson"))
    assert rows[3]["geometry"] == "LINESTRING (77.452 18.447, 77.4521 18.4471)" and rows[3]["n_points"] == 2


def test_msl_layer_string_sol_and_missing_rmc():
    rows, rejects = mmgis.parse_traverse("curiosity", layer("MSL_traverse_fixture.geojson"))
    assert [(r["sol"], r["from_rmc"], r["to_rmc"], r["reason"]) for r in rows] == [
        (3000, "87_1100", "87_1180", None),
        (3000, "87_1180", "87_1234", None),
        (3001, "87_1234", "87_1300", None),
        (3002, None, "88_0", None),  # the layer's sol counts even without a fromRMC
    ]
    assert rejects == []


def test_duplicate_keys_short_lines_and_bad_sols_are_rejects():
    leg = {
        "type": "Feature",
        "properties": {"sol": 5, "fromRMC": "1_0", "toRMC": "1_10", "length": 3},
        "geometry": {"type": "LineString", "coordinates": [[1.0, 2.0], [1.1, 2.1]]},
    }
    short = {
        **leg,
        "properties": {**leg["properties"], "toRMC": "1_20"},
        "geometry": {"type": "LineString", "coordinates": [[1.0, 2.0]]},
    }
    bad_sol = {**leg, "properties": {**leg["properties"], "sol": "12.5"}}
    no_geometry = {"type": "Feature", "properties": {"sol": 6}}
    rows, rejects = mmgis.parse_traverse("curiosity", {"features": [leg, leg, short, bad_sol, no_geometry]})
    assert len(rows) == 2 and rows[0]["length_m"] == 3.0 and rows[0]["sclk_start"] is None
    assert rows[0]["reason"] is None and rows[1]["reason"] == "duplicate of feature 0: same sol, start and end"
    assert rows[1]["distance_m"] is None  # kept, not counted
    assert [r["feature_index"] for r in rejects] == [2, 3, 4]
    assert "1 vertices" in rejects[0]["reason"] and "12.5" in rejects[1]["reason"]
    assert mmgis.parse_traverse("curiosity", {"type": "FeatureCollection"}) == ([], [])


def test_replay_server_serves_traverse_layers_without_the_fixture_note():
    with ReplayServer(FIXTURES) as server:
        resp = MmgisSource(base_url=server.mmgis_url, backoff_factor=0.01).get(mmgis.traverse_path("MSL"))
        body = json.loads(resp.body)
        assert "_fixture_note" not in body and body["type"] == "FeatureCollection"
        rows, _ = mmgis.parse_traverse("curiosity", body)
        assert len(rows) == 4
        with pytest.raises(ApiError) as err:  # the fixtures hold no waypoints layer
            MmgisSource(base_url=server.mmgis_url, retries=0).get(mmgis.waypoints_path("MSL"))
        assert err.value.status == 404


def test_bundled_snapshot_has_waypoints_but_no_traverse(replay):
    with pytest.raises(ApiError) as err:
        MmgisSource(base_url=replay.mmgis_url, retries=0).get(mmgis.traverse_path("M20"))
    assert err.value.status == 404
    body = json.loads(MmgisSource(base_url=replay.mmgis_url).get(mmgis.waypoints_path("M20")).body)
    assert len(body["features"]) == 586


def test_a_leg_without_sol_takes_the_sol_of_the_waypoint_its_layer_names():
    body = layer("M20_traverse_fixture.geojson")
    (a, b) = body["features"][4]["geometry"]["coordinates"]
    waypoints = [
        {"rover": "perseverance", "sol": 104, "rmc": "5_0", "lon": a[0], "lat": a[1], "mid_drive": False},
        {"rover": "perseverance", "sol": 105, "rmc": "5_40", "lon": b[0], "lat": b[1], "mid_drive": False},
    ]
    rows, _ = mmgis.parse_traverse("perseverance", body, waypoints)
    leg = rows[4]
    assert (leg["sol"], leg["sol_source"], leg["from_sol"], leg["from_rmc"], leg["to_rmc"]) == (
        105,
        "waypoint_match",
        104,
        "5_0",
        "5_40",
    )
    assert leg["reason"] is None and leg["distance_m"] == 9.5 and leg["match_m"] == 0.0
    far = [{**w, "lon": w["lon"] + 0.001} for w in waypoints]  # ~57 m east: too far to match by position
    rows, _ = mmgis.parse_traverse("perseverance", {"features": [{**body["features"][4], "properties": {}}]}, far)
    assert (
        rows[0]["sol"] is None
        and "start matches no waypoint within 1 m (nearest: 5_0 (sol 104) at 5" in rows[0]["reason"]
    )
