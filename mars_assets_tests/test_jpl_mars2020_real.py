"""The Mars 2020 feed read right on real recorded answers: Perseverance and Ingenuity.

Input: ``fixtures/live_captures/jpl/mars2020/`` — real JPL answers recorded by martianch/curieux
@ 8e2a804b and sakethramanujam/percy-image-downloader @ 2c05c66a (NASA/JPL-Caltech; provenance
in that folder's README), not the hand-built fixtures. Expected values are read from the raw
images themselves (``extended.subframeRect`` / ``scaleFactor``, the website's ``nav`` camera
list), never copied from the parser. No recorded answer holds an Ingenuity frame or a
fallback answer: the tests that need one make it from a real image and say how.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from mars_assets.demo import ReplayServer
from mars_assets.partitions import ROVERS, rover_partitions
from mars_assets.schemas import PHOTOS_SCHEMA, describe
from mars_assets.sources import instruments, jpl_ingenuity, jpl_mars2020
from mars_assets.sources.jpl_ingenuity import JplIngenuitySource
from mars_assets.sources.jpl_mars2020 import JplMars2020Source
from mars_assets.sources.registry import LIVE_DEFAULTS, PHOTO_SOURCES, check_sources
from mars_assets.sources.values import ResponseShapeError

LIVE = Path(__file__).parent / "fixtures" / "live_captures"
M2020 = LIVE / "jpl" / "mars2020"
SOLS = {888: M2020 / "sol0888_curieux.json", 889: M2020 / "sol0889_curieux.json", 890: M2020 / "sol0890_curieux.json"}
SINGLE = M2020 / "other" / "single_image_sol0876_curieux.json"
EMPTY = M2020 / "other" / "empty_no_more_images_curieux.json"
LIST_PAGE = M2020 / "other" / "list_page0_supercam_rmi_saketh.json"
ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def body(path: Path) -> dict:
    return json.loads(path.read_text())


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def full_res_size(image: dict) -> tuple[int, int] | None:
    """Size of full_res by the feed's own fields: subframeRect (x,y,w,h) ÷ scaleFactor; None when unknown."""
    scale = image["extended"]["scaleFactor"]
    if scale == "UNK":
        return None
    _x, _y, w, h = numbers(image["extended"]["subframeRect"])
    return w // int(scale), h // int(scale)


def as_ingenuity(image: dict, instrument: str) -> dict:
    """A real rover image relabelled as one of Ingenuity's cameras (no Ingenuity frame was
    recorded): only ``camera.instrument`` and ``imageid`` change (a new id keeps it distinct)."""
    heli = copy.deepcopy(image)
    heli["camera"]["instrument"] = instrument
    heli["imageid"] = f"{instrument}_{image['imageid']}"
    return heli


def helicopter_cameras() -> dict[str, str]:
    """The feed website's own list of Ingenuity's cameras (the real ``nav`` block): value → label."""
    group = next(g for g in body(LIST_PAGE)["nav"] if "Helicopter" in g["name"])
    return {c["value"]: c["label"] for c in group["checkboxes"]}


@pytest.fixture(scope="module")
def live_server():
    with ReplayServer(LIVE) as server:
        yield server


# -- whole real answers -----------------------------------------------------------------------
@pytest.mark.parametrize("sol", sorted(SOLS))
def test_every_image_of_a_real_sol_answer_is_a_perseverance_row(sol):
    raw = body(SOLS[sol])
    rows, rejects = jpl_mars2020.parse_images(raw, ingested_at=NOW)
    assert rejects == []
    assert [r["product_id"] for r in rows] == [i["imageid"] for i in raw["images"]]
    assert {r["sol"] for r in rows} == {sol} and {r["rover"] for r in rows} == {"perseverance"}
    assert {r["camera"] for r in rows} == {"NAVCAM_LEFT"} and all(r["camera_known"] for r in rows)
    assert len(rows) == raw["total_results"]  # 13, 5, 29: the whole answer, nothing filtered


def test_real_list_page_keeps_every_sols_images_with_their_sol():
    raw = body(LIST_PAGE)
    rows, rejects = jpl_mars2020.parse_images(raw, ingested_at=NOW)
    assert rejects == [] and len(rows) == len(raw["images"]) == 100
    assert collections.Counter(r["sol"] for r in rows) == collections.Counter(i["sol"] for i in raw["images"])
    assert {r["camera"] for r in rows} == {"SUPERCAM_RMI"}


def test_real_rows_fit_the_silver_photos_schema():
    rows = []
    for path in [*SOLS.values(), SINGLE, LIST_PAGE]:
        rows += jpl_mars2020.parse_images(body(path), ingested_at=NOW)[0]
    table = pa.Table.from_pylist(rows, schema=PHOTOS_SCHEMA)
    assert table.num_rows == 13 + 5 + 29 + 1 + 100
    assert table.schema.field("img_src_width").type == pa.int32() == table.schema.field("width").type


# -- UNK ---------------------------------------------------------------------------------------
def test_no_unk_placeholder_reaches_a_column():
    rows = []
    for path in [*SOLS.values(), SINGLE, LIST_PAGE]:
        rows += jpl_mars2020.parse_images(body(path), ingested_at=NOW)[0]
    assert "UNK" in SINGLE.read_text()  # the real single image carries the placeholder
    assert not [
        (r["product_id"], k) for r in rows for k, v in r.items() if isinstance(v, str) and v.strip().upper() == "UNK"
    ]


@pytest.mark.parametrize(
    "where, key, columns",
    [
        ((), "site", ["site"]),
        ((), "drive", ["drive"]),
        ((), "date_taken_utc", ["date_taken_utc"]),
        ((), "date_taken_mars", ["date_taken_mars"]),
        (("extended",), "dimension", ["width", "height", "img_src_width", "img_src_height"]),
        (("image_files",), "small", ["img_src_small"]),
    ],
)
def test_unk_in_a_typed_field_is_null_not_a_parse_error(where, key, columns):
    """The feed writes "UNK" for unknown values (README of the captures): put it, as the feed
    spells it, in one typed field of a real image."""
    image = copy.deepcopy(body(SOLS[889])["images"][0])
    target = image
    for k in where:
        target = target[k]
    target[key] = "UNK"
    rows, rejects = jpl_mars2020.parse_images([image], ingested_at=NOW)
    assert rejects == []
    assert [rows[0][c] for c in columns] == [None] * len(columns)
    assert pa.Table.from_pylist(rows, schema=PHOTOS_SCHEMA).num_rows == 1


def test_unk_instrument_or_sample_type_is_a_reject_not_a_camera_named_unk():
    image = body(SOLS[889])["images"][0]
    no_camera = {**image, "camera": {**image["camera"], "instrument": "UNK"}}
    _, rejects = jpl_mars2020.parse_images([no_camera], ingested_at=NOW)
    assert not rejects[0]["filtered"] and "no instrument" in rejects[0]["reason"]
    _, rejects = jpl_mars2020.parse_images([{**image, "sample_type": "UNK"}], ingested_at=NOW)
    assert rejects[0]["filtered"] and "sample_type missing" in rejects[0]["reason"]


# -- clock and mast pointing --------------------------------------------------------------------
def test_sclk_and_mast_angles_are_the_extended_numbers_and_unk_is_null():
    images = [i for path in [*SOLS.values(), LIST_PAGE] for i in body(path)["images"]] + [body(SINGLE)]
    rows = {r["product_id"]: r for r in jpl_mars2020.parse_images(images, ingested_at=NOW)[0]}
    assert len(rows) == len(images)
    unknown = 0
    for image in images:
        r, ext = rows[image["imageid"]], image["extended"]
        for column, key in (("sclk", "sclk"), ("mast_az", "mastAz"), ("mast_el", "mastEl")):
            assert r[column] == (None if ext[key] == "UNK" else float(ext[key])), (image["imageid"], column)
            unknown += ext[key] == "UNK"
        # NLF_0888_0745756834_...: the id names a clock 0.2-3 s before extended.sclk in these 148 images
        assert 0 <= r["sclk"] - int(image["imageid"].split("_")[2]) < 3.5
    assert unknown == 2  # the single SKYCAM image: mastAz and mastEl "UNK"
    assert pa.Table.from_pylist(list(rows.values()), schema=PHOTOS_SCHEMA).column("sclk").null_count == 0


@pytest.mark.parametrize("value", ["abc", "", True, [1], {"s": 1}, "nan"])
def test_a_clock_or_angle_that_is_not_a_number_is_null_and_keeps_the_image(value):
    image = copy.deepcopy(body(SOLS[889])["images"][0])
    image["extended"] |= {"sclk": value, "mastAz": value, "mastEl": value}
    rows, rejects = jpl_mars2020.parse_images([image], ingested_at=NOW)
    assert rejects == [] and [(r["sclk"], r["mast_az"], r["mast_el"]) for r in rows] == [(None, None, None)]


# -- sizes ---------------------------------------------------------------------------------------
def test_width_height_are_the_full_res_dimension_and_img_src_size_is_large_scaled_to_1200_wide():
    raw = body(SOLS[890])
    rows = {r["product_id"]: r for r in jpl_mars2020.parse_images(raw, ingested_at=NOW)[0]}
    sizes = collections.Counter()
    for image in raw["images"]:
        r = rows[image["imageid"]]
        w, h = full_res_size(image)  # the feed's own subframeRect ÷ scaleFactor: the full_res size
        assert (r["width"], r["height"]) == (w, h) == tuple(numbers(image["extended"]["dimension"]))
        assert r["img_src"] == image["image_files"]["large"] and r["img_src"].endswith("_1200.jpg")
        assert r["img_src_full_res"] == image["image_files"]["full_res"]
        assert r["img_src_width"] == 1200 and r["img_src_height"] == round(h * 1200 / w)
        sizes[(w, h, r["img_src_width"], r["img_src_height"])] += 1
    assert sizes == {(1280, 960, 1200, 900): 8, (1280, 256, 1200, 240): 21}


def test_img_src_size_of_square_and_narrow_real_frames():
    rmi = jpl_mars2020.parse_images(body(LIST_PAGE), ingested_at=NOW)[0]
    assert {(r["width"], r["height"], r["img_src_width"], r["img_src_height"]) for r in rmi} == {
        (2048, 2048, 1200, 1200)
    }
    [skycam] = jpl_mars2020.parse_images(body(SINGLE), ingested_at=NOW)[0]
    assert (skycam["width"], skycam["height"]) == (1056, 1024)  # narrower than 1200: never enlarged
    assert (skycam["img_src_width"], skycam["img_src_height"]) == (1056, 1024)


def test_schema_says_which_size_is_full_res_and_which_is_img_src():
    docs = {name: d for name, _t, d in describe(PHOTOS_SCHEMA)}
    assert "full_res" in docs["width"] and "full_res" in docs["height"]
    assert "img_src" in docs["img_src_width"] and "1200" in docs["img_src_width"]
    assert "derived" in docs["img_src_height"]
    names = PHOTOS_SCHEMA.names
    assert names.index("img_src_width") == names.index("height") + 1


# -- answer shapes ----------------------------------------------------------------------------
def test_real_wrapper_type_and_mission_are_accepted_and_another_missions_answer_is_not():
    raw = body(SOLS[888])
    assert (raw["type"], raw["mission"]) == ("mars2020_ingenuity-images-list-1.2", "mars2020,ingenuity")
    assert len(jpl_mars2020.images_of(raw)) == 13
    assert len(jpl_mars2020.images_of({**raw, "type": "some-later-list-2.0"})) == 13  # type is not checked
    assert jpl_mars2020.page_info(raw) == {"per_page": 100, "page": 0, "total_results": 13}
    with pytest.raises(ResponseShapeError, match="mission 'msl'"):
        jpl_mars2020.parse_images({**raw, "mission": "msl"}, ingested_at=NOW)


def test_bare_single_image_body_parses_as_one_row():
    raw = SINGLE.read_bytes()
    rows, rejects = jpl_mars2020.parse_images(raw, ingested_at=NOW)
    image = json.loads(raw)
    assert rejects == [] and len(rows) == 1
    r = rows[0]
    assert (r["rover"], r["sol"], r["camera"], r["product_id"]) == ("perseverance", 876, "SKYCAM", image["imageid"])
    assert r["photo_id"] == jpl_mars2020.stable_photo_id(image["imageid"])
    assert r["date_taken_utc"] == dt.datetime(2023, 8, 8, 0, 2, 3, 332000, tzinfo=dt.UTC)  # no Z: UTC
    assert (r["site"], r["drive"]) == (43, 0)  # drive is the string "0"
    parsed = JplMars2020Source.parse_pages([("page-0001.json", image)], ingested_at=NOW)
    assert [x["product_id"] for x in parsed.rows] == [image["imageid"]] and parsed.rejects == []


def test_empty_answer_with_no_more_images_is_an_empty_sol():
    raw = body(EMPTY)
    assert raw["error_message"] == "No more images." and raw["images"] == []
    assert jpl_mars2020.parse_images(raw, ingested_at=NOW) == ([], [])
    parsed = JplMars2020Source.parse_sol("perseverance", 891, [("page-0001.json", raw)], ingested_at=NOW)
    assert (parsed.rows, parsed.rejects, parsed.filtered, parsed.notes) == ([], [], 0, [])


def test_an_error_message_without_images_other_than_no_more_images_is_an_unusable_answer():
    raw = body(EMPTY)
    with pytest.raises(ResponseShapeError, match="Invalid"):
        jpl_mars2020.images_of({**raw, "error_message": "Invalid query."})
    with pytest.raises(ResponseShapeError, match="Invalid"):
        jpl_mars2020.images_of({k: v for k, v in raw.items() if k != "images"} | {"error_message": "Invalid query."})


def test_fallback_answer_of_another_sol_is_an_empty_sol_with_the_reason():
    """The real sol-889 answer served as the answer for sol 891 (how the feed answers an
    empty sol: with another sol's images)."""
    raw = body(SOLS[889])
    parsed = JplMars2020Source.parse_sol("perseverance", 891, [("page-0001.json", raw)], ingested_at=NOW)
    assert parsed.rows == [] and parsed.rejects == []  # nothing quarantined
    assert parsed.filtered == len(raw["images"]) == 5
    [note] = parsed.notes
    assert "sol 891" in note and "sol 889" in note and "empty sol" in note
    own = JplMars2020Source.parse_sol("perseverance", 889, [("page-0001.json", raw)], ingested_at=NOW)
    assert len(own.rows) == 5 and own.notes == []


def test_an_answer_holding_any_image_of_the_sol_is_read_normally():
    pages = [("page-0001.json", body(SOLS[888])), ("page-0002.json", body(SOLS[889]))]
    parsed = JplMars2020Source.parse_sol("perseverance", 889, pages, ingested_at=NOW)
    assert parsed.notes == [] and collections.Counter(r["sol"] for r in parsed.rows) == {888: 13, 889: 5}
    assert jpl_mars2020.fallback_note([body(EMPTY)], 891) is None


# -- Ingenuity -----------------------------------------------------------------------------------
def test_ingenuity_cameras_are_the_feeds_own_helicopter_cameras():
    cams = helicopter_cameras()
    assert cams == {"HELI_NAV": "Navigation Camera", "HELI_RTE": "Color Camera"}
    assert {k: v[1] for k, v in instruments.INGENUITY_CAMERAS.items()} == cams
    for group in body(LIST_PAGE)["nav"]:  # every camera the website lists belongs to one vehicle
        for box in group["checkboxes"]:
            for instrument in box["value"].split("|"):
                vehicle = instruments.m2020_vehicle(instrument)
                assert vehicle == ("ingenuity" if "Helicopter" in group["name"] else "perseverance"), instrument


def test_ingenuity_frames_are_routed_to_ingenuity_and_never_counted_for_perseverance():
    raw = body(SOLS[889])
    rover_images = raw["images"]
    heli = [as_ingenuity(rover_images[0], "HELI_NAV"), as_ingenuity(rover_images[1], "HELI_RTE")]
    mixed = {**raw, "images": rover_images + heli}

    rows, rejects = jpl_mars2020.parse_images(mixed, ingested_at=NOW)
    assert [r["product_id"] for r in rows] == [i["imageid"] for i in rover_images]
    assert [(r["product_id"], r["filtered"]) for r in rejects] == [(h["imageid"], True) for h in heli]
    assert all("ingenuity frame filtered" in r["reason"] and "jpl_ingenuity" in r["reason"] for r in rejects)

    heli_rows, heli_rejects = jpl_mars2020.parse_images(mixed, ingested_at=NOW, vehicle="ingenuity")
    assert [r["product_id"] for r in heli_rows] == [h["imageid"] for h in heli]
    assert {r["rover"] for r in heli_rows} == {"ingenuity"} and {r["source"] for r in heli_rows} == {"jpl_ingenuity"}
    assert [(r["camera"], r["camera_full_name"], r["camera_known"]) for r in heli_rows] == [
        ("HELI_NAV", "Navigation Camera", True),
        ("HELI_RTE", "Color Camera", True),
    ]
    assert {r["sol"] for r in heli_rows} == {889}  # Perseverance's mission sol
    assert heli_rows[0]["earth_date"] == rows[0]["earth_date"]
    assert all("perseverance frame filtered" in r["reason"] for r in heli_rejects) and len(heli_rejects) == 5
    # no frame lost, none counted twice
    assert {r["product_id"] for r in rows} | {r["product_id"] for r in heli_rows} == {
        i["imageid"] for i in mixed["images"]
    }
    parsed = JplIngenuitySource.parse_pages([("page-0001.json", mixed)], ingested_at=NOW)
    assert [r["product_id"] for r in parsed.rows] == [h["imageid"] for h in heli] and parsed.filtered == 5


def test_ingenuity_source_asks_for_the_helicopter_and_keeps_no_rover_frame(live_server):
    """The replay server ignores ``search``: its answer holds the real sol-890 rover frames."""
    live_server.requests.clear()
    pages = JplIngenuitySource(base_url=live_server.jpl_mars2020_url, backoff_factor=0.01).fetch_sol("ingenuity", 890)
    [query] = live_server.requests
    assert "category=mars2020%2Cingenuity" in query and "search=%7CHELI_NAV%7CHELI_RTE" in query and "sol=890" in query
    parsed = JplIngenuitySource.parse_sol(
        "ingenuity", 890, [("page-0001.json", p.json()) for p in pages], ingested_at=NOW
    )
    assert parsed.rows == [] and parsed.rejects == [] and parsed.filtered == 29


def test_perseverance_source_over_http_reads_the_real_sol_with_both_sizes(live_server):
    live_server.requests.clear()
    pages = JplMars2020Source(base_url=live_server.jpl_mars2020_url, backoff_factor=0.01).fetch_sol("perseverance", 890)
    assert "category=mars2020&" in live_server.requests[0]
    parsed = JplMars2020Source.parse_sol(
        "perseverance", 890, [("page-0001.json", p.json()) for p in pages], ingested_at=NOW
    )
    assert len(parsed.rows) == 29 and parsed.rejects == [] and parsed.filtered == 0
    assert {(r["width"], r["img_src_width"]) for r in parsed.rows} == {(1280, 1200)}


def test_ingenuity_latest_sol_is_its_newest_helicopter_frame():
    raw = body(SOLS[890])
    with pytest.raises(ResponseShapeError, match="no Ingenuity"):
        jpl_ingenuity.parse_latest_ingenuity_sol(raw)  # rover frames only
    heli = as_ingenuity(raw["images"][0], "HELI_NAV")
    older = {**as_ingenuity(raw["images"][1], "HELI_RTE"), "sol": 889}
    assert jpl_ingenuity.parse_latest_ingenuity_sol({**raw, "images": [older, *raw["images"], heli]}) == 890


def test_ingenuity_is_a_vehicle_of_the_rover_dimension_with_its_own_source():
    assert "ingenuity" in ROVERS and "ingenuity" in rover_partitions.get_partition_keys()
    assert list(ROVERS) == sorted(ROVERS)
    assert LIVE_DEFAULTS["ingenuity"] == "jpl_ingenuity" and PHOTO_SOURCES["jpl_ingenuity"] is JplIngenuitySource
    assert JplIngenuitySource.rovers == {"ingenuity"} and "ingenuity" not in JplMars2020Source.rovers
    check_sources({"ingenuity": "jpl_ingenuity"})
    with pytest.raises(ValueError, match="does not serve ingenuity"):
        check_sources({"ingenuity": "jpl_mars2020"})
    assert instruments.LANDING_DATES["ingenuity"] == instruments.LANDING_DATES["perseverance"]


def test_every_place_that_lists_rovers_lists_ingenuity(capsys):
    from mars_assets.cli import main
    from mars_assets.defs.silver.rovers import ROVER_REFERENCE
    from mars_assets.resources import UpstreamSources

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "{" + ",".join(ROVERS) + "}" in capsys.readouterr().out  # mars-assets run --rover choices
    assert sorted(ROVER_REFERENCE) == sorted(ROVERS) and ROVER_REFERENCE["ingenuity"][1] is None  # no v1 id
    models = yaml.safe_load((ROOT / "dbt/models/gold/_gold__models.yml").read_text())["models"]
    accepted = [
        t["accepted_values"]["arguments"]["values"]
        for m in models
        for c in m.get("columns", [])
        if c["name"] == "rover"
        for t in c.get("data_tests", [])
        if isinstance(t, dict) and "accepted_values" in t
    ]
    assert accepted and all(sorted(v) == sorted(ROVERS) for v in accepted)
    sources = UpstreamSources(jpl_mars2020_url="http://127.0.0.1:9/rss/api/")
    adapter = sources.photo_source("ingenuity")
    assert isinstance(adapter, JplIngenuitySource) and adapter.base_url == "http://127.0.0.1:9/rss/api/"
