"""MMGIS traverse layers: path, parsing into drive legs, serving by the replay server.

The layers in fixtures/traverse/ are hand-built from the documented property list, NOT
recorded (see fixtures/README.md and each file's ``_fixture_note``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mars_assets.demo import ReplayServer
from mars_assets.sources import mmgis
from mars_assets.sources.http import ApiError
from mars_assets.sources.mmgis import MmgisSource

FIXTURES = Path(__file__).parent / "fixtures"
ROW_KEYS = (
    "rover",
    "sol",
    "from_rmc",
    "to_rmc",
    "length_m",
    "n_points",
    "start_lon",
    "start_lat",
    "end_lon",
    "end_lat",
    "sclk_start",
    "sclk_end",
    "geometry",
)


def layer(name: str) -> dict:
    return json.loads((FIXTURES / "traverse" / name).read_text())


def test_paths():
    assert mmgis.traverse_path("M20") == "/M20/Layers/json/M20_traverse.json"
    assert mmgis.traverse_path("MSL") == "/MSL/Layers/json/MSL_traverse.json"
    assert mmgis.waypoints_path("M20") == "/M20/Layers/json/M20_waypoints.json"  # unchanged


def test_legs_are_rows_keyed_by_rover_sol_and_rmcs():
    rows, rejects = mmgis.parse_traverse("perseverance", layer("M20_traverse_fixture.geojson"))
    assert len(rows) == 3 and all(tuple(r) == ROW_KEYS for r in rows)
    keys = [(r["rover"], r["sol"], r["from_rmc"], r["to_rmc"]) for r in rows]
    assert keys == [
        ("perseverance", 100, "4_0", "4_120"),
        ("perseverance", 100, "4_120", "4_218"),
        ("perseverance", 101, "4_218", "4_452"),
    ]
    assert len(rejects) == 3


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


def test_rejects_say_why():
    _, rejects = mmgis.parse_traverse("perseverance", layer("M20_traverse_fixture.geojson"))
    assert [(r["feature_index"], r["sol"]) for r in rejects] == [(3, 102), (4, None), (5, 103)]
    assert "MultiLineString" in rejects[0]["reason"] and "not LineString" in rejects[0]["reason"]
    assert rejects[1]["reason"] == "no sol"
    assert "Point" in rejects[2]["reason"]


def test_msl_layer_string_sol_and_missing_rmc():
    rows, rejects = mmgis.parse_traverse("curiosity", layer("MSL_traverse_fixture.geojson"))
    assert [(r["sol"], r["from_rmc"], r["to_rmc"]) for r in rows] == [
        (3000, "87_1100", "87_1180"),
        (3000, "87_1180", "87_1234"),
        (3001, "87_1234", "87_1300"),
    ]
    assert [r["feature_index"] for r in rejects] == [3] and "fromRMC" in rejects[0]["reason"]


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
    assert len(rows) == 1 and rows[0]["length_m"] == 3.0 and rows[0]["sclk_start"] is None
    assert [r["feature_index"] for r in rejects] == [1, 2, 3, 4]
    assert "duplicate" in rejects[0]["reason"] and "1 vertices" in rejects[1]["reason"]
    assert mmgis.parse_traverse("curiosity", {"type": "FeatureCollection"}) == ([], [])


def test_replay_server_serves_traverse_layers_without_the_fixture_note():
    with ReplayServer(FIXTURES) as server:
        resp = MmgisSource(base_url=server.mmgis_url, backoff_factor=0.01).get(mmgis.traverse_path("MSL"))
        body = json.loads(resp.body)
        assert "_fixture_note" not in body and body["type"] == "FeatureCollection"
        rows, _ = mmgis.parse_traverse("curiosity", body)
        assert len(rows) == 3
        with pytest.raises(ApiError) as err:  # the fixtures hold no waypoints layer
            MmgisSource(base_url=server.mmgis_url, retries=0).get(mmgis.waypoints_path("MSL"))
        assert err.value.status == 404


def test_bundled_snapshot_has_waypoints_but_no_traverse(replay):
    with pytest.raises(ApiError) as err:
        MmgisSource(base_url=replay.mmgis_url, retries=0).get(mmgis.traverse_path("M20"))
    assert err.value.status == 404
    body = json.loads(MmgisSource(base_url=replay.mmgis_url).get(mmgis.waypoints_path("M20")).body)
    assert len(body["features"]) == 586
