import datetime as dt
import json

import pytest

from mars_assets.sources import photos_api, values
from mars_assets.sources.product_ids import parse_product_id, product_sclk, product_stem

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LONG_ROVER = {
    "id": 5,
    "name": "Curiosity",
    "landing_date": "2012-08-06",
    "launch_date": "2011-11-26",
    "status": "active",
    "max_sol": 3903,
    "max_date": "2023-07-30",
    "total_photos": 668396,
    "cameras": [{"name": "FHAZ", "full_name": "Front Hazard Avoidance Camera"}],
}
SHORT_ROVER = {
    "id": 5,
    "name": "Curiosity",
    "landing_date": "2012-08-06",
    "launch_date": "2011-11-26",
    "status": "active",
}


def test_long_rover_form_keeps_max_sol_total_photos_and_cameras():
    r = photos_api.parse_rover(LONG_ROVER)
    assert r["rover"] == "curiosity" and r["max_sol"] == 3903 and r["total_photos"] == 668396
    assert r["max_date"] == dt.date(2023, 7, 30)
    assert r["cameras"] == [{"name": "FHAZ", "full_name": "Front Hazard Avoidance Camera"}]


def test_short_rover_form_parses_with_optional_fields_empty():
    r = photos_api.parse_rover(SHORT_ROVER)
    assert r["landing_date"] == dt.date(2012, 8, 6)
    assert r["max_sol"] is None and r["total_photos"] is None and r["max_date"] is None
    assert r["cameras"] == []


def test_photo_with_either_rover_form_gives_the_same_row_but_camera_known():
    base = {
        "id": 4477,
        "sol": 1,
        "camera": {"id": 22, "name": "MAST", "rover_id": 5, "full_name": "Mast Camera"},
        "img_src": "http://mars.jpl.nasa.gov/msl-raw-images/msss/00001/mcam/0001ML0000001000I1_DXXX.jpg",
        "earth_date": "2012-08-07",
    }
    long_row = photos_api.parse_photo({**base, "rover": LONG_ROVER}, ingested_at=NOW)
    short_row = photos_api.parse_photo({**base, "rover": SHORT_ROVER}, ingested_at=NOW)
    assert long_row.pop("camera_known") is False  # MAST is not in LONG_ROVER's one-camera list
    assert short_row.pop("camera_known") is None  # the short form cannot tell
    assert long_row == short_row
    assert long_row["img_src"].startswith("https://mars.jpl.nasa.gov/")
    assert long_row["product_id"] == "0001ML0000001000I1_DXXX"
    assert long_row["earth_date"] == dt.date(2012, 8, 7)


def test_recorded_files_hold_both_rover_forms_or_the_long_one(snapshot_root):
    forms = set()
    for path in (snapshot_root / "api" / "photos").glob("*.json"):
        for p in json.loads(path.read_text())["photos"]:
            forms.add("long" if "max_sol" in p["rover"] else "short")
            photos_api.parse_rover(p["rover"])
    assert "long" in forms


def test_photo_without_img_src_raises_for_quarantine():
    with pytest.raises(KeyError):
        photos_api.parse_photo({"id": 1, "sol": 1, "camera": {"name": "MAST"}}, ingested_at=NOW)


def test_manifest_sols_are_sorted_and_typed(snapshot_root):
    body = json.loads(next((snapshot_root / "api" / "manifests").glob("curiosity_*.json")).read_text())
    rover, sols = photos_api.parse_manifest(body)
    assert rover["rover"] == "curiosity" and rover["max_sol"] == 2540
    assert [s["sol"] for s in sols] == sorted(s["sol"] for s in sols)
    sol1000 = next(s for s in sols if s["sol"] == 1000)
    assert sol1000["total_photos"] == 856
    assert sol1000["cameras"] == ["CHEMCAM", "FHAZ", "MAST", "NAVCAM", "RHAZ"]


def test_response_without_photos_key_is_a_shape_error():
    with pytest.raises(values.ResponseShapeError):
        photos_api.photos_of({"errors": "Invalid Rover Name"})


def test_first_photo_decodes_only_the_first_photo_object_of_a_page():
    import json as _json

    from mars_assets.demo import bundled_snapshot
    from mars_assets.lib.silver import first_photo

    raw = (bundled_snapshot() / "api/photos/curiosity_sol1000.json").read_bytes()
    assert first_photo(raw) == _json.loads(raw)["photos"][0]
    assert first_photo(b'{"photos": []}') is None
    assert first_photo(b'{"images": [{"imageid": "x"}]}') is None  # a JPL feed page
    assert first_photo(b' {"latest_photos": [{"id": 1}]}') == {"id": 1}


def test_v1_sclk_is_the_clock_its_product_id_carries_and_null_for_sol_named_ids(snapshot_root):
    """Every recorded v1 photo: sclk is parse_product_id's clock (Mars 2020, MSL engineering, MER
    names), null for MSL Mastcam/MAHLI/MARDI names (they carry the sol); the JPL-only pointing null."""
    kinds = set()
    for path in (snapshot_root / "api" / "photos").glob("*.json"):
        for p in json.loads(path.read_text())["photos"]:
            row = photos_api.parse_photo(p, ingested_at=NOW)
            clock = parse_product_id(p["img_src"]).sclk
            assert row["sclk"] == (None if clock is None else float(clock)), row["product_id"]
            assert row["mast_az"] is None and row["mast_el"] is None
            kinds.add((row["rover"], row["sclk"] is not None))
    assert {("curiosity", True), ("curiosity", False), ("opportunity", True), ("spirit", True)} <= kinds
    assert ("perseverance", True) in kinds


def test_the_clock_reader_agrees_with_the_full_product_id_parse_on_every_recorded_image_name(snapshot_root):
    names = [line.split(",", 1)[0] for line in (snapshot_root / "images" / "INDEX.csv").read_text().splitlines()[1:]]
    assert names
    for name in names:
        stem = product_stem(name)
        assert product_sclk(stem) == parse_product_id(stem).sclk, stem
    assert product_sclk("nrb_670586006edr_s0871444ncam00545m_") == 670586006  # any case, as the full parse
    assert product_sclk("0001ML0000001000I1_DXXX") is None
