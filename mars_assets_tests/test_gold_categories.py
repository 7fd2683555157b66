"""Gold camera categories and camera_travel through real dbt on DuckDB (dbt-duckdb, via the Dagster
gold asset) over silver Delta tables built here: photos with a spacecraft clock inside, between and
after traverse legs' drive windows, a camera of each category and one no list knows.

The leg windows are those of the real M20 traverse layer (MMGIS SCLK_START / SCLK_END of the legs
of sols 15, 16 and 20 in fixtures/mmgis_real/M20_traverse_duclun_first150.geojson); a photo's sol
is the one its clock gives (mars_assets.sources.mars_time). Each photo states what camera_travel
must say of it (during_drive, the leg, or why unknown) and its camera's category.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pytest

from mars_assets.defs.gold.dbt import gold_assets
from mars_assets.lib.dbt import dbt_resource
from mars_assets.lib.silver import storage_schema
from mars_assets.resources import Warehouse
from mars_assets.sources import instruments
from mars_assets.sources.instruments import SOL_SECONDS
from mars_assets.sources.mars_time import sclk_to_sol, sol_to_sclk

MODELS = ("camera_categories", "photos_by_camera_category", "camera_travel")
LANDING = {
    "curiosity": dt.date(2012, 8, 6),
    "perseverance": dt.date(2021, 2, 18),
    "ingenuity": dt.date(2021, 2, 18),
    "spirit": dt.date(2004, 1, 4),
}

LAYER = Path(__file__).parent / "fixtures" / "mmgis_real" / "M20_traverse_duclun_first150.geojson"


def layer_window(sol: int) -> tuple[float, float]:
    """(SCLK_START, SCLK_END) of the real M20 layer's leg of ``sol`` (one leg a sol there)."""
    (props,) = [f["properties"] for f in json.loads(LAYER.read_text())["features"] if f["properties"]["sol"] == sol]
    return float(props["SCLK_START"]), float(props["SCLK_END"])


W15, W16, W20 = (layer_window(s) for s in (15, 16, 20))
# Perseverance legs: (feature_index, sol, sclk_start, sclk_end, reason). 0, 1 and 4 carry the real
# windows of the M20 legs of sols 15, 16 and 20; 2 is a drive to a mid-drive stop drawn inside
# leg 1 (the M20 layer draws such drives as nested legs from one start); 3 has no clock; 4 is
# kept but not counted (no sol matched), its drive window still real.
M20_LEGS = [
    (0, 15, *W15, None),
    (1, 16, *W16, None),
    (2, 16, W16[0], (W16[0] + W16[1]) / 2, None),
    (3, 18, None, None, None),
    (4, None, *W20, "no sol: end 3.20 m from RMC 3_770 (sol 20)"),
]


def at(window: tuple[float, float], fraction: float) -> float:
    """The clock ``fraction`` of the way through ``window`` (0: its start, 1: its end)."""
    return window[0] + fraction * (window[1] - window[0])


@dataclass(frozen=True)
class Photo:
    photo_id: int
    rover: str
    camera: str
    sclk: float | None
    category: str  # what camera_categories must give the camera
    during_drive: bool | None = None
    leg: int | None = None  # feature_index of the leg camera_travel must name
    reason: str | None = None  # unknown_reason
    sol: int | None = None  # when sclk is None (else the clock's sol)
    sample_type: str | None = "full"

    @property
    def photo_sol(self) -> int:
        return self.sol if self.sol is not None else sclk_to_sol(self.rover, self.sclk)


PHOTOS = [
    # Perseverance: the drive windows decide
    Photo(1, "perseverance", "NAVCAM_LEFT", at(W15, 0.3), "engineering", True, leg=0),
    Photo(2, "perseverance", "FRONT_HAZCAM_LEFT_A", at(W16, 0.25), "engineering", True, leg=2),  # narrowest of 1, 2
    Photo(3, "perseverance", "MCZ_LEFT", at(W16, 0.75), "science", True, leg=1),
    Photo(4, "perseverance", "NAVCAM_RIGHT", W16[1], "engineering", True, leg=1),  # = SCLK_END: inside
    Photo(5, "perseverance", "MCZ_RIGHT", (W15[1] + W16[0]) / 2, "science", False),  # between legs 0 and 1
    Photo(6, "perseverance", "SUPERCAM_RMI", (W16[1] + W20[0]) / 2, "science", reason="leg_without_clock"),  # leg 3
    Photo(7, "perseverance", "REAR_HAZCAM_LEFT", at(W20, 0.5), "engineering", True, leg=4),  # a leg not counted
    Photo(8, "perseverance", "SHERLOC_WATSON", W20[1] + 50_000, "science", reason="after_last_leg"),
    Photo(9, "perseverance", "SKYCAM", W15[0] - 3 * 88_775, "science", False),  # before the first drive
    Photo(10, "perseverance", "EDL_RUCAM", None, "entry-descent-landing", reason="no_photo_clock", sol=0),
    Photo(11, "perseverance", "NEWCAM", at(W15, 0.6), "uncategorized", True, leg=0),  # no list knows it
    # Curiosity: legs without a clock (the MSL layer)
    Photo(20, "curiosity", "MARDI", sol_to_sclk("curiosity", 0, 14.0), "entry-descent-landing", reason="no_leg_clock"),
    Photo(21, "curiosity", "MAST", None, "science", reason="no_leg_clock", sol=3, sample_type=None),  # v1 row
    Photo(22, "curiosity", "NAV_LEFT_B", sol_to_sclk("curiosity", 3, 13.0), "engineering", reason="no_leg_clock"),
    Photo(23, "curiosity", "NAV_LEFT_B", sol_to_sclk("curiosity", 3, 13.1), "engineering", sample_type="downsampled"),
    # no traverse layer at all
    Photo(30, "spirit", "PANCAM", sol_to_sclk("spirit", 1, 13.0), "science", reason="no_traverse"),
    Photo(31, "spirit", "ENTRY", None, "entry-descent-landing", reason="no_traverse", sol=1),
    # Ingenuity has no clock model of its own: its sol given, its clock Perseverance's at that sol
    Photo(
        40, "ingenuity", "HELI_NAV", sol_to_sclk("perseverance", 58, 12.5), "engineering", reason="no_traverse", sol=58
    ),
]
FULL = [p for p in PHOTOS if (p.sample_type or "full").lower() == "full"]


def _table(name: str, rows: list[dict], extra: list[pa.Field] = ()) -> pa.Table:
    schema = storage_schema(name)
    for field in extra:
        if field.name not in schema.names:  # before silver photos had the column
            schema = schema.append(field)
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


def write_silver(wh: Warehouse) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    photo_rows = [
        {
            "photo_id": p.photo_id,
            "rover": p.rover,
            "sol": p.photo_sol,
            # the v1 rule (the dbt test assert_photo_earth_date_follows_sol)
            "earth_date": LANDING[p.rover] + dt.timedelta(days=math.floor(p.photo_sol * SOL_SECONDS / 86400)),
            "camera": p.camera,
            "product_id": f"P{p.photo_id}",
            "source": "test",
            "ingested_at": now,
            "sample_type": p.sample_type,
            "camera_known": p.category != "uncategorized",
            "sclk": p.sclk,
        }
        for p in PHOTOS
    ]
    wh.write_silver_table("photos", _table("photos", photo_rows, [pa.field("sclk", pa.float64())]), None, {})
    legs = [
        {
            "rover": "perseverance",
            "sol": sol,
            "sol_source": "layer" if sol is not None else None,
            "feature_index": i,
            "part": 0,
            "length_m": 10.0,
            "distance_m": None if reason else 10.0,
            "reason": reason,
            "sclk_start": start,
            "sclk_end": end,
        }
        for i, sol, start, end, reason in M20_LEGS
    ] + [  # Curiosity: MSL legs, sols matched from waypoints, no clock
        {"rover": "curiosity", "sol": s, "sol_source": "waypoint_match", "feature_index": i, "part": 0, "length_m": 5.0}
        for i, s in enumerate((3, 5))
    ]
    wh.write_silver_table("traverse", _table("traverse", legs), None, {})
    rovers = [
        {"rover": r, "rover_name": r.title(), "landing_date": d, "status": "active", "as_of": "reference"}
        for r, d in LANDING.items()
    ]
    wh.write_silver_table("rovers", _table("rovers", rovers), None, {})
    cameras = {(p.rover, p.camera): p.category != "uncategorized" for p in PHOTOS}
    rows = [{"rover": r, "camera": c, "listed_by_rover": k, "photos_seen": True} for (r, c), k in cameras.items()]
    wh.write_silver_table("cameras", _table("cameras", rows), None, {})


@pytest.fixture(scope="module")
def gold(tmp_path_factory):
    """dbt build of the three models and their tests (the gold asset, as Dagster runs it): the
    result and a DuckDB connection to the warehouse root."""
    root = tmp_path_factory.mktemp("gold_categories") / "it's a warehouse"
    wh = Warehouse(root=str(root))
    write_silver(wh)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [gold_assets()],
            resources={"dbt": dbt_resource(), "warehouse": wh},
            instance=instance,
            selection=[dg.AssetKey(["gold", m]) for m in MODELS],
        )
    con = duckdb.connect()
    for m in MODELS:  # a view's body cannot take a parameter: the path as an escaped literal
        path = str(root / "gold" / m / "part-0.parquet").replace("'", "''")
        con.execute(f"create view {m} as select * from read_parquet('{path}')")
    yield result, con
    con.close()


def test_dbt_builds_the_models_and_every_check_passes_but_the_unknown_camera_warning(gold):
    result, _ = gold
    assert result.success
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == set(MODELS)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert len(checks) >= 15
    warned = checks.pop("assert_every_photo_camera_has_a_category")
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.asset_key == dg.AssetKey(["gold", "camera_categories"])
    assert warned.metadata["dagster_dbt/failed_row_count"].value == 1  # NEWCAM
    assert {name for name, e in checks.items() if not e.passed} == set()
    assert {"assert_camera_travel_is_consistent", "assert_photos_by_camera_category_counts_every_full_frame"} <= set(
        checks
    )


def test_camera_travel_says_for_each_photo_whether_it_was_taken_during_a_drive(gold):
    _, con = gold
    got = {
        r[0]: r[1:]
        for r in con.sql(
            "select photo_id, rover, sol, camera, category, sclk, during_drive, leg_feature_index, leg_part, "
            "leg_sol, leg_sclk_start, leg_sclk_end, unknown_reason from camera_travel"
        ).fetchall()
    }
    assert sorted(got) == sorted(p.photo_id for p in FULL)  # full frames only, each once
    legs = {i: (sol, start, end) for i, sol, start, end, _ in M20_LEGS}
    for p in FULL:
        rover, sol, camera, category, sclk, during, leg, part, leg_sol, start, end, reason = got[p.photo_id]
        assert (rover, sol, camera, category, sclk) == (p.rover, p.photo_sol, p.camera, p.category, p.sclk)
        assert (during, leg, reason) == (p.during_drive, p.leg, p.reason), p
        if p.leg is None:
            assert (part, leg_sol, start, end) == (None, None, None, None)
        else:
            assert (part, leg_sol, start, end) == (0, *legs[p.leg])
            assert start <= sclk <= end


def test_photos_by_camera_category_counts_full_frames_per_rover_sol_and_category(gold):
    _, con = gold
    expected = Counter((p.rover, p.photo_sol, p.category) for p in FULL)
    cameras: dict[tuple, set] = {}
    for p in FULL:
        cameras.setdefault((p.rover, p.photo_sol, p.category), set()).add(p.camera)
    rows = con.sql("select rover, sol, category, photos, cameras from photos_by_camera_category").fetchall()
    assert {(r, s, c): n for r, s, c, n, _ in rows} == dict(expected)
    assert {(r, s, c): cams for r, s, c, _, cams in rows} == {k: sorted(v) for k, v in cameras.items()}
    # the clock-derived sols: one category each of the three on Perseverance's days
    assert {c for r, _, c, _, _ in rows if r == "perseverance"} == {
        "engineering",
        "science",
        "entry-descent-landing",
        "uncategorized",
    }


def test_every_camera_the_sources_name_has_one_category(gold):
    """The lists the adapters map instruments to (instruments.py) and the v1 cameras of every rover
    (NASA_SOURCES §1), against gold camera_categories: each present once, categories checked on
    cameras whose category is not in doubt."""
    _, con = gold
    rows = con.sql("select rover, camera, category from camera_categories").fetchall()
    categories = {(r, c): cat for r, c, cat in rows}
    assert len(categories) == len(rows)
    v1_mer = ("FHAZ", "RHAZ", "NAVCAM", "PANCAM", "MINITES", "ENTRY", "MI")  # MI: the MER product ids' camera
    named = (
        {("perseverance", c) for c, _ in instruments.M2020_CAMERAS.values()}
        | {("ingenuity", c) for c, _ in instruments.INGENUITY_CAMERAS.values()}
        | {("curiosity", c) for c in instruments.MSL_CLASSIC_FULL_NAMES}
        | {("curiosity", i) for i in instruments.MSL_INSTRUMENT_CAMERAS}  # camera_names="instrument"
        | {(r, c) for r in ("spirit", "opportunity") for c in v1_mer}
    )
    assert named - set(categories) == set()
    for rover, camera in named:
        if camera.startswith("EDL_") or camera in ("ENTRY", "LCAM", "MARDI"):
            assert categories[(rover, camera)] == "entry-descent-landing", camera
        elif "HAZ" in camera or camera.startswith("NAV"):
            assert categories[(rover, camera)] == "engineering", camera
        elif camera.startswith(("MAST", "MCZ", "CHEMCAM", "SUPERCAM", "SHERLOC", "PANCAM")) or camera == "MAHLI":
            assert categories[(rover, camera)] == "science", camera
