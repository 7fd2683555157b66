"""Curiosity ``raw_image_items`` read right on real recorded answers.

Input: ``fixtures/live_captures/jpl/msl/`` — real JPL answers recorded by martianch/curieux
@ 8e2a804b (NASA/JPL-Caltech; provenance in that folder's README), not the hand-built
fixtures. Expected values are read from the raw items themselves (``subframe_rect``,
``scale_factor``, ``extended.sample_type``), never copied from the parser.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from mars_assets.demo import ReplayServer
from mars_assets.lib.photos import full_frames, is_full_frame, manifest_check, sol_photos
from mars_assets.lib.silver import storage_schema
from mars_assets.resources import Warehouse
from mars_assets.sources import instruments, jpl_msl
from mars_assets.sources.jpl_msl import JplMslSource

LIVE = Path(__file__).parent / "fixtures" / "live_captures"
SOL86 = LIVE / "jpl" / "msl" / "sol0086_curieux.json"
SOL1489 = LIVE / "jpl" / "msl" / "other" / "sol1489_curieux-jsondiy_possibly-trimmed.json"
ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def raw_items(path: Path = SOL86) -> list[dict]:
    return json.loads(path.read_text())["items"]


def with_item(**changes) -> dict:
    """The real sol-86 answer with its first item (a full NAV_LEFT_A frame) changed;
    ``extended_<key>`` changes a key of ``extended``."""
    body = json.loads(SOL86.read_text())
    first = body["items"][0]
    for key, value in changes.items():
        if key.startswith("extended_"):
            first["extended"][key.removeprefix("extended_")] = value
        else:
            first[key] = value
    return body


def expected_size(item: dict) -> tuple[int, int]:
    """Stored size by the documented formula, from the raw item: (w, h) of ``(x,y,w,h)`` ÷ scale."""
    _x, _y, w, h = (int(n) for n in re.findall(r"\d+", item["subframe_rect"]))
    return w // item["scale_factor"], h // item["scale_factor"]


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {r["photo_id"]: r for r in rows}


# -- the real answers -----------------------------------------------------------------------------
def test_real_sol_86_parses_into_8_full_and_8_downsampled_rows_with_their_sample_type():
    items = raw_items()
    recorded = collections.Counter(i["extended"]["sample_type"] for i in items)
    assert recorded == {"full": 8, "downsampled": 8}  # the README's description of the capture
    rows, rejects = jpl_msl.parse_items(SOL86.read_bytes(), ingested_at=NOW)
    assert rejects == []
    assert collections.Counter(r["sample_type"] for r in rows) == recorded
    assert {r["photo_id"]: r["sample_type"] for r in rows} == {i["id"]: i["extended"]["sample_type"] for i in items}
    assert all(tuple(r) == instruments.PHOTO_ROW_KEYS for r in rows)
    assert {(r["rover"], r["sol"], r["camera"]) for r in rows} == {("curiosity", 86, "NAVCAM")}


def test_v1_rows_only_is_still_available_and_filters_the_downsampled_frames():
    rows, rejects = jpl_msl.parse_items(SOL86.read_bytes(), ingested_at=NOW, sample_types=jpl_msl.FULL_ONLY)
    full_ids = {i["id"] for i in raw_items() if i["extended"]["sample_type"] == "full"}
    assert {r["photo_id"] for r in rows} == full_ids
    assert [r["reason"] for r in rejects] == ["downsampled filtered"] * 8 and all(r["filtered"] for r in rejects)


def test_sizes_come_from_subframe_rect_divided_by_scale_factor():
    items = raw_items()
    assert all("dimension" not in i["extended"] for i in items)  # why today's rows had no size
    rows = by_id(jpl_msl.parse_items(SOL86.read_bytes(), ingested_at=NOW)[0])
    for item in items:
        row = rows[item["id"]]
        assert (row["width"], row["height"]) == expected_size(item), item["imageid"]
        assert (row["img_src_width"], row["img_src_height"]) == expected_size(item)  # the URL serves it
    sizes = {(r["sample_type"], r["width"], r["height"]) for r in rows.values()}
    # a full Navcam frame is the whole 1024 x 1024 detector; the downsampled ones are (1,1,512,512) at 2
    assert sizes == {("full", 1024, 1024), ("downsampled", 256, 256)}


def test_extended_dimension_is_still_read_where_present_and_wins():
    rows, rejects = jpl_msl.parse_items(with_item(extended_dimension="(640,480)"), ingested_at=NOW)
    assert rejects == [] and (rows[0]["width"], rows[0]["height"]) == (640, 480)


@pytest.mark.parametrize(
    "changes",
    [
        {"scale_factor": None},
        {"scale_factor": "UNK"},
        {"subframe_rect": "UNK"},
        {"subframe_rect": None},
        {"subframe_rect": "(1,1,1023,1024)", "scale_factor": 2},  # not a whole number of stored pixels
    ],
    ids=["scale-null", "scale-UNK", "rect-UNK", "rect-null", "rect-not-a-multiple"],
)
def test_size_is_null_when_rect_or_scale_is_unknown(changes):
    rows, rejects = jpl_msl.parse_items(with_item(**changes), ingested_at=NOW)
    assert rejects == [] and len(rows) == len(raw_items())
    assert (rows[0]["width"], rows[0]["height"]) == (None, None)
    assert all(r["width"] == 1024 or r["width"] == 256 for r in rows[1:])


def test_string_scale_factor_and_a_rect_as_a_list_give_the_same_size():
    rows, _ = jpl_msl.parse_items(with_item(subframe_rect=[1, 1, 512, 512], scale_factor="2"), ingested_at=NOW)
    assert (rows[0]["width"], rows[0]["height"]) == (256, 256)


def test_the_sol_1489_subframe_item_is_kept_with_its_sample_type_and_no_size():
    [item] = raw_items(SOL1489)
    assert {"site", "drive", "subframe_rect", "scale_factor"}.isdisjoint(item)  # the trimmed shape
    rows, rejects = jpl_msl.parse_items(SOL1489.read_bytes(), ingested_at=NOW)
    assert rejects == []
    [row] = rows
    assert (row["photo_id"], row["sol"], row["sample_type"], row["camera"]) == (item["id"], 1489, "subframe", "MAST")
    assert (row["site"], row["drive"], row["width"], row["height"], row["date_taken_mars"]) == (None,) * 5


# -- site / drive / mast angles -------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [(5, 5), ("5", 5), (" 104 ", 104), (104.0, 104), (None, None), ("", None), ("UNK", None), ("null", None)],
)
def test_site_and_drive_may_be_ints_strings_or_null(value, expected):
    rows, rejects = jpl_msl.parse_items(with_item(site=value, drive=value), ingested_at=NOW)
    assert rejects == []
    assert (rows[0]["site"], rows[0]["drive"]) == (expected, expected)


@pytest.mark.parametrize(
    "value, expected",
    [("172.142", 172.142), (" -35.5 ", -35.5), (172.142, 172.142), (7, 7.0)]
    + [(v, None) for v in ("UNK", "unk", "", None, "not an angle", True, [1.0], {"deg": 1}, "nan", float("inf"))],
)
def test_mast_angles_are_read_as_degrees_and_never_reject_an_item(value, expected):
    rows, rejects = jpl_msl.parse_items(with_item(extended_mast_az=value, extended_mast_el=value), ingested_at=NOW)
    assert rejects == [] and len(rows) == len(raw_items())
    first = raw_items()[0]["id"]
    assert (by_id(rows)[first]["mast_az"], by_id(rows)[first]["mast_el"]) == (expected, expected)
    real = jpl_msl.parse_items(SOL86.read_bytes(), ingested_at=NOW)[0]
    unchanged = ("mast_az", "mast_el")
    assert {k: v for k, v in by_id(rows)[first].items() if k not in unchanged} == {
        k: v for k, v in by_id(real)[first].items() if k not in unchanged
    }  # nothing else moves


def test_clock_and_mast_angles_of_the_real_items_are_their_spacecraft_clock_and_extended_angles():
    rows = by_id(jpl_msl.parse_items(SOL86.read_bytes(), ingested_at=NOW)[0])
    for item in raw_items():
        r = rows[item["id"]]
        assert r["sclk"] == item["spacecraft_clock"] and isinstance(r["sclk"], float)
        assert (r["mast_az"], r["mast_el"]) == (float(item["extended"]["mast_az"]), float(item["extended"]["mast_el"]))
        assert str(int(r["sclk"])) in item["imageid"]  # NLA_405141307EDR_...: the id carries the same clock
    trimmed = jpl_msl.parse_items(SOL1489.read_bytes(), ingested_at=NOW)[0]
    assert [(r["sclk"], r["mast_az"], r["mast_el"]) for r in trimmed] == [(None, None, None)]  # null in the item


# -- bad values: a quarantine row with its reason, the other rows kept -----------------------------
@pytest.mark.parametrize(
    "changes, field",
    [
        ({"site": "abc"}, "site"),
        ({"drive": "12.5"}, "drive"),
        ({"drive": True}, "drive"),
        ({"site": [5]}, "site"),
        ({"subframe_rect": "(1,1,1024)"}, "subframe_rect"),
        ({"subframe_rect": "1024x1024"}, "subframe_rect"),
        ({"subframe_rect": "(1,1,0,1024)"}, "subframe_rect"),
        ({"scale_factor": 0}, "scale_factor"),
        ({"scale_factor": "two"}, "scale_factor"),
        ({"extended_dimension": "(a,b)"}, "extended.dimension"),
    ],
)
def test_a_bad_value_quarantines_its_item_with_a_reason_naming_the_field(changes, field):
    body = with_item(**changes)
    part = sol_photos("curiosity", 86, "jpl_msl", [("sol0086_p0.json", body)])
    [bad] = part.bad
    assert field in bad["reason"] and bad["reason"].split(":", 1)[0].endswith("Error"), bad["reason"]
    assert bad["record_key"] == body["items"][0]["imageid"] and (bad["rover"], bad["sol"]) == ("curiosity", 86)
    assert part.photos.num_rows == len(body["items"]) - 1  # the other items of the answer are all kept


def test_thumbnails_are_still_dropped_and_counted():
    body = json.loads(SOL86.read_text())
    thumb = copy.deepcopy(body["items"][0])
    thumb["id"], thumb["extended"]["sample_type"], thumb["is_thumbnail"] = 1, "thumbnail", True
    body["items"].append(thumb)
    part = sol_photos("curiosity", 86, "jpl_msl", [("sol0086_p0.json", body)])
    assert part.photos.num_rows == len(body["items"]) - 1 and part.filtered == 1 and part.bad == []
    assert "thumbnail" not in part.photos.column("sample_type").to_pylist()


def test_real_sol_86_over_loopback_gives_every_non_thumbnail_row_with_a_size():
    with ReplayServer(LIVE) as server:
        source = JplMslSource(base_url=server.jpl_msl_url, backoff_factor=0.01, max_retry_after_seconds=0.2)
        pages = source.fetch_sol("curiosity", 86)
    parsed = JplMslSource.parse_pages([(f"p{i}.json", p.body) for i, p in enumerate(pages)], ingested_at=NOW)
    assert (len(parsed.rows), parsed.rejects, parsed.filtered) == (len(raw_items()), [], 0)
    assert all(r["width"] and r["height"] for r in parsed.rows)


# -- the manifest rule -----------------------------------------------------------------------------
def test_full_frame_rule_reads_any_case_and_null_as_full():
    kinds = ["full", "Full", None, "downsampled", "subframe", "chemcam prc", "thumbnail", "Thumbnail"]
    assert [is_full_frame(k) for k in kinds] == [True, True, True, False, False, False, False, False]
    table = pa.Table.from_pylist(
        [{"sample_type": k, "camera": "NAVCAM"} for k in kinds], schema=pa.schema([("sample_type", pa.string())])
    )
    assert full_frames(table).column("sample_type").to_pylist() == [k for k in kinds if is_full_frame(k)]


def test_the_dbt_macro_states_the_same_rule_and_every_gold_photo_count_uses_it():
    macro = (ROOT / "dbt" / "macros" / "full_frame.sql").read_text()
    expression = re.search(r"macro is_full_frame\(sample_type='sample_type'\) -%}\s*(.*?)\s*{%-", macro, re.S)[1]
    sql = expression.replace("{{ sample_type }}", "k")
    kinds = ["full", "Full", None, "downsampled", "subframe", "chemcam prc", "thumbnail"]
    con = duckdb.connect()
    got = con.execute(f"select {sql} from unnest(?::varchar[]) t(k)", [kinds]).fetchall()
    assert [g for (g,) in got] == [is_full_frame(k) for k in kinds]
    for model in ("photo_gaps", "camera_usage", "sol_activity", "mission_summary"):
        text = (ROOT / "dbt" / "models" / "gold" / f"{model}.sql").read_text()
        reads = text.count("source('silver', 'photos')")
        assert reads and text.count("{{ is_full_frame() }}") == reads, model


def manifest_sol_86(total: int, cameras: list[str]) -> pa.Table:
    """A silver manifest_sols table with one Curiosity sol-86 entry (earth date of the real v1 manifest)."""
    entry = {"rover": "curiosity", "sol": 86, "earth_date": dt.date(2012, 11, 2), "total_photos": total}
    return pa.Table.from_pylist([{**entry, "cameras": cameras}], schema=storage_schema("manifest_sols"))


def render_gold(model: str, relations: dict[str, str]) -> str:
    """A gold model's SQL with its Jinja replaced: config() dropped, source()/ref() by the names in
    ``relations``, ``is_full_frame()`` by the macro's own expression (from the macro file)."""
    macro = (ROOT / "dbt" / "macros" / "full_frame.sql").read_text()
    rule = re.search(r"-%}\s*(.*?)\s*{%-", macro, re.S)[1].replace("{{ sample_type }}", "sample_type")
    sql = (ROOT / "dbt" / "models" / "gold" / f"{model}.sql").read_text()
    sql = re.sub(r"{{\s*config\(.*?\)\s*}}", "", sql)
    sql = re.sub(r"{{\s*is_full_frame\(\)\s*}}", rule, sql)
    sql = re.sub(r"{{\s*(?:source|ref)\((.*?)\)\s*}}", lambda m: relations[re.findall(r"'(\w+)'", m[1])[-1]], sql)
    assert "{{" not in sql and "{%" not in sql
    return sql


def test_gold_photo_gaps_counts_only_the_full_frames_of_real_sol_86():
    part = sol_photos("curiosity", 86, "jpl_msl", [("sol0086_p0.json", json.loads(SOL86.read_text()))])
    full = sum(i["extended"]["sample_type"] == "full" for i in raw_items())
    con = duckdb.connect()
    con.register("silver_photos", part.photos)
    con.register("silver_manifest_sols", manifest_sol_86(full, ["NAVCAM"]))
    sql = render_gold("photo_gaps", {"photos": "silver_photos", "manifest_sols": "silver_manifest_sols"})
    got = con.execute(f"select silver_photos, silver_cameras, gap_status from ({sql})").fetchall()
    assert part.photos.num_rows > full and got == [(full, 1, "VALID")]


def _manifest(tmp_path: Path, total: int, cameras: list[str]) -> Warehouse:
    wh = Warehouse(root=str(tmp_path / "w"))
    wh.write_silver_table("manifest_sols", manifest_sol_86(total, cameras), None, {"dagster_run_id": "test"})
    return wh


def test_only_full_frames_count_against_the_manifest(tmp_path):
    part = sol_photos("curiosity", 86, "jpl_msl", [("sol0086_p0.json", json.loads(SOL86.read_text()))])
    full = sum(i["extended"]["sample_type"] == "full" for i in raw_items())
    assert part.photos.num_rows == len(raw_items()) > full  # downsampled rows are in silver ...
    check = manifest_check(_manifest(tmp_path, full, ["NAVCAM"]), [part])
    assert check.passed  # ... but a manifest of the full frames matches
    assert check.metadata["not_full_frame_rows"].value == len(raw_items()) - full
    every = manifest_check(_manifest(tmp_path, len(raw_items()), ["NAVCAM"]), [part])
    expected = f"curiosity sol 86: {full} photos ['NAVCAM'] vs manifest {len(raw_items())}"
    assert not every.passed and expected in every.metadata["differing"].value
