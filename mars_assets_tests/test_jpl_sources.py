"""JPL raw-image feeds (Perseverance RSS API, Curiosity raw_image_items): clients and parsers.

Client tests run over real HTTP on loopback through the replay server (real urllib3
Retry) serving ``fixtures/`` — hand-built from the documented field lists, NOT recorded
responses (see fixtures/README.md and each file's ``_fixture_note``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from mars_assets.demo import ArchiveLayoutError, ReplayServer, Snapshot
from mars_assets.schemas import PHOTO_ROW_KEYS
from mars_assets.sources import instruments, jpl_mars2020, jpl_msl, values
from mars_assets.sources.http import ApiError, RateLimitError
from mars_assets.sources.jpl_mars2020 import JplMars2020Source
from mars_assets.sources.jpl_msl import JplMslSource
from mars_assets.sources.photos_api import ResponseShapeError

FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
EXAMPLE_ID = "NLF_0100_0675828717_276ECM_N0040218NCAM00503_01_295J"  # the id quoted in NASA_SOURCES.md


@pytest.fixture(scope="module")
def _jpl_server():
    with ReplayServer(FIXTURES) as server:  # one server per module: stopping one takes ~0.5 s
        yield server


@pytest.fixture
def jpl_replay(_jpl_server):
    """The fixtures' replay server with an empty request log and no pending faults."""
    with _jpl_server._lock:
        _jpl_server.requests.clear()
        _jpl_server._faults.clear()
    yield _jpl_server


def m2020(server, **kw) -> JplMars2020Source:
    return JplMars2020Source(
        base_url=server.jpl_mars2020_url, **{"backoff_factor": 0.01, "max_retry_after_seconds": 0.2, **kw}
    )


def msl(server, **kw) -> JplMslSource:
    return JplMslSource(base_url=server.jpl_msl_url, **{"backoff_factor": 0.01, "max_retry_after_seconds": 0.2, **kw})


def by_product(rows):
    return {r["product_id"]: r for r in rows}


# ---------------------------------------------------------------------------------------
# Perseverance over HTTP
# ---------------------------------------------------------------------------------------


def test_m2020_whole_sol_is_one_request_keeping_full_frames_only(jpl_replay):
    pages = m2020(jpl_replay).fetch_sol("perseverance", 100)
    assert len(pages) == 1 and len(jpl_replay.requests) == 1
    assert "feed=raw_images&category=mars2020&feedtype=json&sol=100" in jpl_replay.requests[0]
    assert "_fixture_note" not in json.loads(pages[0].body)  # the label is never served
    rows, rejects = jpl_mars2020.parse_pages([p.body for p in pages], ingested_at=NOW)
    assert len(rows) == 7  # 11 distinct images of sol 100: 3 thumbnails, 1 without image_files.large
    assert all(tuple(r) == PHOTO_ROW_KEYS for r in rows)
    assert all(r["sample_type"] == "Full" for r in rows)
    filtered = [r for r in rejects if r["filtered"]]
    assert [r["reason"] for r in filtered] == ["thumbnail filtered"] * 3
    assert {r["sample_type"] for r in filtered} == {"Thumbnail"}
    [bad] = [r for r in rejects if not r["filtered"]]
    assert "image_files.large" in bad["reason"] and bad["product_id"].startswith("NLF_0100_0675830877")


def test_m2020_row_values_and_string_numbers(jpl_replay):
    rows, _ = jpl_mars2020.parse_images(m2020(jpl_replay).fetch_sol("perseverance", 100)[0].body, ingested_at=NOW)
    r = by_product(rows)[EXAMPLE_ID]
    assert r["photo_id"] == int.from_bytes(hashlib.sha256(EXAMPLE_ID.encode()).digest()[:8], "big", signed=True)
    assert -(2**63) <= r["photo_id"] < 2**63
    assert r["rover"] == "perseverance" and r["sol"] == 100 and r["source"] == "jpl_mars2020"
    assert r["earth_date"] == dt.date(2021, 5, 31)  # 2021-02-18 + floor(100 * 88775.244 / 86400) days
    assert (r["camera"], r["camera_id"], r["camera_full_name"]) == ("NAVCAM_LEFT", None, "Navigation Camera - Left")
    assert r["camera_known"] is True
    assert r["img_src"].startswith("https://") and r["img_src"].endswith(EXAMPLE_ID + "01_1200.jpg")  # large
    assert r["img_src_small"].endswith("01_320.jpg") and r["img_src_medium"].endswith("01_800.jpg")
    assert r["img_src_full_res"].endswith("01.png")
    assert r["product_id"] == EXAMPLE_ID and r["ingested_at"] == NOW
    assert r["site"] == 4 and r["drive"] == 218  # drive is the string "218" in the feed
    assert (r["width"], r["height"]) == (1280, 960)  # from extended.dimension "(1280,960)": full_res
    assert (r["img_src_width"], r["img_src_height"]) == (1200, 900)  # large: full_res scaled to 1200 px wide
    assert r["date_taken_utc"] == dt.datetime(2021, 6, 1, 14, 10, 53, 116000, tzinfo=dt.UTC)
    assert r["date_taken_mars"] == "Sol-00100M15:26:09.623"


def test_m2020_http_urls_are_upgraded_and_a_time_without_offset_is_utc(jpl_replay):
    rows, _ = jpl_mars2020.parse_images(m2020(jpl_replay).fetch_sol("perseverance", 100)[0].body, ingested_at=NOW)
    fhaz = next(r for r in rows if r["camera"] == "FRONT_HAZCAM_LEFT_A")
    assert all(
        fhaz[k].startswith("https://") for k in ("img_src", "img_src_small", "img_src_medium", "img_src_full_res")
    )
    nrf = next(r for r in rows if r["camera"] == "NAVCAM_RIGHT")
    assert nrf["date_taken_utc"].tzinfo is not None and nrf["date_taken_utc"].utcoffset() == dt.timedelta(0)
    assert (by_product(rows)["SC3_0100_0675813233_100EBY_N0040218SCAM01100_0030LUJ"]["width"]) == 2048


def test_m2020_unknown_instrument_is_kept_and_flagged(jpl_replay):
    rows, _ = jpl_mars2020.parse_images(m2020(jpl_replay).fetch_sol("perseverance", 100)[0].body, ingested_at=NOW)
    [pixl] = [r for r in rows if not r["camera_known"]]
    assert (pixl["camera"], pixl["camera_full_name"]) == ("PIXL_MCC", None)
    assert pixl["img_src"].startswith("https://")


def test_m2020_list_mode_pages_a_big_sol(jpl_replay):
    pages = m2020(jpl_replay, page_size=4).fetch_sol("perseverance", 100)
    assert [len(jpl_mars2020.images_of(p.body)) for p in pages] == [4, 4, 3]
    assert [json.loads(p.body)["per_page"] for p in pages] == ["4", "4", "4"]  # served as a string
    assert all(f"num=4&page={i}&order=sol+desc" in q for i, q in enumerate(jpl_replay.requests))
    paged_rows, _ = jpl_mars2020.parse_pages([p.body for p in pages], ingested_at=NOW)
    whole_rows, _ = jpl_mars2020.parse_images(m2020(jpl_replay).fetch_sol("perseverance", 100)[0].body, ingested_at=NOW)
    assert sorted(by_product(paged_rows)) == sorted(by_product(whole_rows))


def test_m2020_list_mode_stops_at_total_results_without_an_extra_request(jpl_replay):
    pages = m2020(jpl_replay, page_size=3).fetch_sol("perseverance", 101)  # exactly 3 images
    assert len(pages) == 1 and len(jpl_replay.requests) == 1


def test_m2020_list_mode_survives_an_upstream_that_ignores_paging(jpl_replay, monkeypatch):
    original = jpl_replay._jpl_m2020
    monkeypatch.setattr(
        jpl_replay, "_jpl_m2020", lambda q: original({k: v for k, v in q.items() if k not in ("num", "page")})
    )
    pages = m2020(jpl_replay, page_size=4).fetch_sol("perseverance", 100)
    # page 0 holds all 11 images of the sol, more than the 4 asked for: the feed is not paging,
    # and that one page is the whole sol (no second request)
    assert len(pages) == 1 and len(jpl_replay.requests) == 1
    rows, rejects = jpl_mars2020.parse_pages([p.body for p in pages], ingested_at=NOW)
    assert len(rows) == 7 and not [r for r in rejects if "duplicate" in r["reason"]]


def test_m2020_empty_sol(jpl_replay):
    pages = m2020(jpl_replay).fetch_sol("perseverance", 5)
    body = json.loads(pages[0].body)
    assert body["images"] == [] and body["total_results"] == 0
    assert jpl_mars2020.parse_pages([p.body for p in pages], ingested_at=NOW) == ([], [])
    assert m2020(jpl_replay, page_size=10).fetch_sol("perseverance", 5)[0].status == 200


def test_m2020_latest_sol(jpl_replay):
    c = m2020(jpl_replay)
    assert c.latest_sol() == 101
    assert json.loads(c.latest().body)["latest_sols"] == [101, 100]


def test_m2020_429_twice_then_success_honours_retry_after(jpl_replay):
    jpl_replay.fail_next(429, count=2, headers={"Retry-After": "0"})
    pages = m2020(jpl_replay).fetch_sol("perseverance", 100)
    assert len(jpl_mars2020.images_of(pages[0].body)) == 11
    assert len(jpl_replay.requests) == 3


def test_m2020_429_after_every_retry_is_a_rate_limit_error(jpl_replay):
    jpl_replay.fail_next(429, count=3, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitError) as err:
        m2020(jpl_replay, retries=2).fetch_sol("perseverance", 100)
    assert err.value.status == 429 and err.value.retry_after == 120
    assert len(jpl_replay.requests) == 3


def test_m2020_500_after_retries_is_an_api_error(jpl_replay):
    jpl_replay.fail_next(500, count=3)
    with pytest.raises(ApiError) as err:
        m2020(jpl_replay, retries=2).fetch_sol("perseverance", 100)
    assert err.value.status == 500 and not isinstance(err.value, RateLimitError)
    assert len(jpl_replay.requests) == 3


def test_m2020_404_is_not_retried(jpl_replay):
    c = JplMars2020Source(base_url=jpl_replay.url + "/rss/nope/", backoff_factor=0.01)
    with pytest.raises(ApiError) as err:
        c.latest_sol()
    assert err.value.status == 404 and len(jpl_replay.requests) == 1


def test_m2020_a_2xx_body_without_images_is_an_api_error(jpl_replay):
    jpl_replay.fail_next(200, body={"unexpected": True})
    with pytest.raises(ApiError) as err:
        m2020(jpl_replay, page_size=4).fetch_sol("perseverance", 100)
    assert err.value.status == 200 and "unusable response body" in str(err.value)
    jpl_replay.fail_next(200, body={"latest_sols": []})
    with pytest.raises(ApiError, match="latest_sol"):
        m2020(jpl_replay).latest_sol()


def test_unreachable_feed_is_a_clear_error():
    c = JplMars2020Source(base_url="http://127.0.0.1:9/rss/api/", retries=0)
    with pytest.raises(ApiError) as err:
        c.fetch_sol("perseverance", 1)
    assert err.value.status == 0 and "ConnectionError" in str(err.value)


# ---------------------------------------------------------------------------------------
# Curiosity over HTTP
# ---------------------------------------------------------------------------------------


def test_msl_pages_on_more_until_false(jpl_replay):
    pages = msl(jpl_replay, per_page=5).fetch_sol("curiosity", 3000)
    bodies = [json.loads(p.body) for p in pages]
    assert [len(b["items"]) for b in bodies] == [5, 5, 2]
    assert [b["more"] for b in bodies] == [True, True, False]
    assert all(b["total"] == 12 for b in bodies)
    for i, q in enumerate(jpl_replay.requests):
        assert (
            "order=sol+desc%2Cinstrument_sort+asc%2Csample_type_sort+asc%2C+date_taken+desc"
            f"&per_page=5&page={i}&condition_1=msl%3Amission&condition_2=3000%3Asol%3Ain"
        ) in q
    rows, rejects = jpl_msl.parse_pages([p.body for p in pages], ingested_at=NOW)
    assert len(rows) == 9 and len({r["photo_id"] for r in rows}) == 9
    assert all(tuple(r) == PHOTO_ROW_KEYS for r in rows)
    assert [r["reason"] for r in rejects] == ["thumbnail filtered"] * 3 and all(r["filtered"] for r in rejects)
    assert {r["sample_type"] for r in rejects} == {"thumbnail"}


def test_msl_default_page_of_1000_holds_the_sol(jpl_replay):
    pages = msl(jpl_replay).fetch_sol("curiosity", 3000)
    assert len(pages) == 1 and "per_page=1000&page=0" in jpl_replay.requests[0]  # the upstream maximum
    assert json.loads(pages[0].body)["more"] is False


def test_msl_exactly_full_pages_stop_on_more_false(jpl_replay):
    pages = msl(jpl_replay, per_page=6).fetch_sol("curiosity", 3000)
    assert [len(json.loads(p.body)["items"]) for p in pages] == [6, 6] and len(jpl_replay.requests) == 2


def test_msl_without_more_a_short_page_ends_the_sol(jpl_replay, monkeypatch):
    original = jpl_replay._jpl_msl

    def no_more(q):
        status, headers, body = original(q)
        data = json.loads(body)
        data.pop("more")
        return status, headers, json.dumps(data).encode()

    monkeypatch.setattr(jpl_replay, "_jpl_msl", no_more)
    pages = msl(jpl_replay, per_page=5).fetch_sol("curiosity", 3000)
    assert [len(json.loads(p.body)["items"]) for p in pages] == [5, 5, 2]


def test_msl_row_values_and_string_numbers(jpl_replay):
    rows, _ = jpl_msl.parse_items(msl(jpl_replay).fetch_sol("curiosity", 3000)[0].body, ingested_at=NOW)
    r = {x["photo_id"]: x for x in rows}[1061006]  # site and drive are strings in this item
    assert r["rover"] == "curiosity" and r["sol"] == 3000 and r["source"] == "jpl_msl"
    assert r["earth_date"] == dt.date(2021, 1, 13)  # 2012-08-06 + floor(3000 * 88775.244 / 86400) days
    assert (r["camera"], r["camera_full_name"], r["camera_known"]) == ("FHAZ", "Front Hazard Avoidance Camera", True)
    assert r["camera_id"] is None
    assert r["product_id"] == "FRB_663813010EDR_F0871234FHAZ00302M_"
    assert r["img_src"] == (
        "https://mars.nasa.gov/msl-raw-images/proj/msl/redops/ods/surface/sol/03000/"
        "opgs/edr/fcam/FRB_663813010EDR_F0871234FHAZ00302M_.JPG"
    )  # https_url, not url (http)
    assert r["img_src_small"] is r["img_src_medium"] is r["img_src_full_res"] is None
    assert (r["site"], r["drive"]) == (87, 1234)
    assert (r["width"], r["height"]) == (1024, 1024)
    assert r["sample_type"] == "full" and r["date_taken_mars"] == "Sol-03000M11:01:11.000"
    assert r["date_taken_utc"] == dt.datetime(2021, 1, 13, 12, 34, 47, 105000, tzinfo=dt.UTC)
    cams = {x["product_id"]: x["camera"] for x in rows}
    assert cams["NLB_663813675EDR_F0871234NCAM00299M_"] == "NAVCAM"
    assert cams["3000ML0156430011104573C00_DXXX"] == "MAST"
    assert cams["CR0_663820888EDR_F0871234CCAM03000M_"] == "CHEMCAM"
    assert cams["3000MH0001900011101254C00_DXXX"] == "MAHLI"
    assert cams["RLB_663813121EDR_F0871234RHAZ00311M_"] == "RHAZ"


def test_msl_instrument_level_camera_names_as_v1_served_since_late_2024(jpl_replay):
    body = msl(jpl_replay).fetch_sol("curiosity", 3000)[0].body
    rows, _ = jpl_msl.parse_items(body, ingested_at=NOW, camera_names="instrument")
    nav = {x["photo_id"]: x for x in rows}[1061001]
    assert (nav["camera"], nav["camera_full_name"], nav["camera_known"]) == ("NAV_LEFT_B", "NAV_LEFT_B", True)
    with pytest.raises(ValueError):
        jpl_msl.parse_items(body, ingested_at=NOW, camera_names="short")


@pytest.mark.parametrize("camera_names", ["classic", "instrument"])
def test_msl_unknown_instrument_is_kept_and_flagged(jpl_replay, camera_names):
    rows, _ = jpl_msl.parse_items(
        msl(jpl_replay).fetch_sol("curiosity", 3000)[0].body, ingested_at=NOW, camera_names=camera_names
    )
    [new] = [r for r in rows if not r["camera_known"]]
    assert (new["photo_id"], new["camera"], new["camera_full_name"]) == (1061012, "NEWCAM_TEST", None)


def test_msl_empty_sol(jpl_replay):
    pages = msl(jpl_replay).fetch_sol("curiosity", 2999)
    body = json.loads(pages[0].body)
    assert body == {"items": [], "more": False, "total": 0, "page": 0, "per_page": 1000}
    assert len(pages) == 1 and jpl_msl.parse_pages([p.body for p in pages], ingested_at=NOW) == ([], [])


def test_msl_latest_sol(jpl_replay):
    assert msl(jpl_replay).latest_sol() == 3001
    assert "per_page=1&page=0" in jpl_replay.requests[0] and "condition_2" not in jpl_replay.requests[0]


def test_msl_429_twice_then_success_honours_retry_after(jpl_replay):
    jpl_replay.fail_next(429, count=2, headers={"Retry-After": "0"})
    pages = msl(jpl_replay).fetch_sol("curiosity", 3000)
    assert len(json.loads(pages[0].body)["items"]) == 12
    assert len(jpl_replay.requests) == 3


def test_msl_429_after_every_retry_is_a_rate_limit_error(jpl_replay):
    jpl_replay.fail_next(429, count=2, headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as err:
        msl(jpl_replay, retries=1).latest_sol()
    assert err.value.retry_after == 7 and len(jpl_replay.requests) == 2


def test_msl_500_after_retries_is_an_api_error(jpl_replay):
    jpl_replay.fail_next(500, count=3)
    with pytest.raises(ApiError) as err:
        msl(jpl_replay, per_page=5, retries=2).fetch_sol("curiosity", 3000)
    assert err.value.status == 500 and len(jpl_replay.requests) == 3


def test_msl_503_once_is_retried(jpl_replay):
    jpl_replay.fail_next(503, count=1)
    assert len(msl(jpl_replay, per_page=5).fetch_sol("curiosity", 3000)) == 3
    assert len(jpl_replay.requests) == 4


def test_msl_404_is_not_retried(jpl_replay):
    c = JplMslSource(base_url=jpl_replay.url + "/api/v1/no_such_items/", backoff_factor=0.01)
    with pytest.raises(ApiError) as err:
        c.fetch_sol("curiosity", 3000)
    assert err.value.status == 404 and len(jpl_replay.requests) == 1


def test_msl_per_page_is_checked_before_any_request(jpl_replay):
    with pytest.raises(ValueError, match="per_page"):
        msl(jpl_replay, per_page=1001).fetch_sol("curiosity", 3000)
    assert jpl_replay.requests == []


def test_msl_past_max_pages_raises(jpl_replay):
    with pytest.raises(RuntimeError, match="max_pages"):
        msl(jpl_replay, per_page=1, max_pages=3).fetch_sol("curiosity", 3000)


# ---------------------------------------------------------------------------------------
# Replay server and snapshot layout
# ---------------------------------------------------------------------------------------


def test_snapshot_indexes_jpl_folders_and_traverse_layers():
    snap = Snapshot.open(FIXTURES)
    assert snap.jpl_sols("mars2020") == {100, 101} and snap.jpl_sols("msl") == {3000, 3001}
    assert [p.name for p in snap.jpl_files[("mars2020", 100)]] == ["sol0100.json", "sol0100_extra.json"]
    assert len(snap.jpl_images("mars2020", 100)) == 11  # 10 + 2, one repeat merged by imageid
    assert set(snap.traverse_files) == {"M20", "MSL"} and snap.waypoint_files == {}
    assert "_fixture_note" not in snap.layer(snap.traverse_files["M20"])


def test_every_fixture_file_says_it_is_hand_built():
    # live_captures/ and mmgis_real/ hold real recorded answers, with their provenance in READMEs there
    real = {"live_captures", "mmgis_real"}
    files = [
        p
        for p in FIXTURES.rglob("*")
        if p.suffix in (".json", ".geojson") and not real & set(p.relative_to(FIXTURES).parts)
    ]
    assert len(files) == 7
    for p in files:
        assert "NOT A RECORDED" in json.loads(p.read_text())["_fixture_note"], p
    assert "None of these files is a recorded response" in (FIXTURES / "README.md").read_text()


def test_snapshot_files_may_be_bare_lists_and_jpl_alone_is_a_snapshot(tmp_path):
    (tmp_path / "jpl" / "msl").mkdir(parents=True)
    item = json.loads((FIXTURES / "jpl/msl/sol3001.json").read_text())["items"][0]
    (tmp_path / "jpl" / "msl" / "sol0007_list.json").write_text(json.dumps([{**item, "sol": 7}]))
    with ReplayServer(tmp_path) as server:
        pages = msl(server).fetch_sol("curiosity", 7)
    rows, _ = jpl_msl.parse_pages([p.body for p in pages], ingested_at=NOW)
    assert [r["sol"] for r in rows] == [7]
    with pytest.raises(ArchiveLayoutError):
        Snapshot.open(tmp_path / "jpl" / "msl")


def test_feed_routes_reject_other_feeds_and_serve_no_curiosity_on_the_rss_feed(jpl_replay):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(jpl_replay.url + "/rss/api/?feed=weather&category=mars2020&feedtype=json")
    assert err.value.code == 404
    url = jpl_replay.url + "/rss/api/?feed=raw_images&category=msl&feedtype=json&sol=3000"
    assert json.loads(urllib.request.urlopen(url).read())["images"] == []


# ---------------------------------------------------------------------------------------
# Pure parsing and shared rules
# ---------------------------------------------------------------------------------------


def _m2020_image(**over):
    base = json.loads((FIXTURES / "jpl/mars2020/sol0101.json").read_text())["images"][0]
    return {**base, **over}


def test_stable_photo_id_is_deterministic_signed_int64():
    a = jpl_mars2020.stable_photo_id(EXAMPLE_ID)
    assert a == jpl_mars2020.stable_photo_id(EXAMPLE_ID) != jpl_mars2020.stable_photo_id(EXAMPLE_ID[:-1])
    assert a == int.from_bytes(hashlib.sha256(EXAMPLE_ID.encode("utf-8")).digest()[:8], "big", signed=True)


def test_m2020_bodies_as_bytes_lists_or_objects_give_the_same_rows():
    img = _m2020_image()
    obj = jpl_mars2020.parse_images({"images": [img]}, ingested_at=NOW)
    assert jpl_mars2020.parse_images([img], ingested_at=NOW) == obj
    assert jpl_mars2020.parse_images(json.dumps({"images": [img]}).encode(), ingested_at=NOW) == obj
    with pytest.raises(ResponseShapeError):
        jpl_mars2020.parse_images({"photos": []}, ingested_at=NOW)
    with pytest.raises(ResponseShapeError):
        jpl_mars2020.parse_images(b"<html>busy</html>", ingested_at=NOW)


def test_m2020_malformed_images_are_rejects_not_errors():
    good = _m2020_image()
    bodies = [
        good,
        _m2020_image(sol=None),
        _m2020_image(imageid=""),
        "not an object",
        _m2020_image(imageid="X1", extended={"dimension": "1280x960"}),
        _m2020_image(imageid="X2", drive="2.5"),
        _m2020_image(imageid="X3", camera={}),
        good,
    ]
    rows, rejects = jpl_mars2020.parse_images(bodies, ingested_at=NOW)
    assert len(rows) == 1
    assert [(r["index"], r["filtered"]) for r in rejects] == [
        (1, False),
        (2, False),
        (3, False),
        (4, False),
        (5, False),
        (6, False),
        (7, True),
    ]
    assert "no sol" in rejects[0]["reason"] and "duplicate" in rejects[-1]["reason"]


def test_sample_types_can_be_widened_and_missing_sample_type_is_filtered():
    thumb = _m2020_image(sample_type="Thumbnail")
    assert jpl_mars2020.parse_images([thumb], ingested_at=NOW)[0] == []
    rows, _ = jpl_mars2020.parse_images([thumb], ingested_at=NOW, sample_types=("full", "thumbnail"))
    assert rows[0]["sample_type"] == "Thumbnail"
    _, rejects = jpl_mars2020.parse_images([_m2020_image(sample_type=None)], ingested_at=NOW)
    assert rejects[0]["filtered"] and "sample_type missing" in rejects[0]["reason"]


def test_msl_item_falls_back_to_url_and_reads_a_top_level_sample_type():
    item = json.loads((FIXTURES / "jpl/msl/sol3001.json").read_text())["items"][0]
    item = {**item, "https_url": None, "extended": {"lmst": None}, "sample_type": "full"}
    rows, rejects = jpl_msl.parse_items({"items": [item]}, ingested_at=NOW)
    assert rejects == [] and rows[0]["img_src"].startswith("https://mars.nasa.gov/msl-raw-images/")
    assert rows[0]["width"] is None and rows[0]["date_taken_mars"] is None
    _, rejects = jpl_msl.parse_items([{**item, "id": None}], ingested_at=NOW)
    assert not rejects[0]["filtered"] and "no id" in rejects[0]["reason"]
    with pytest.raises(ResponseShapeError):
        jpl_msl.parse_latest_sol({"items": []})


def test_value_rules():
    assert values.to_int("218") == 218 and values.to_int(" 4 ") == 4 and values.to_int(3.0) == 3
    assert values.to_int("") is None and values.to_int(None) is None
    for bad in ("2.5", "abc", True, 2.5):
        with pytest.raises(ValueError):
            values.to_int(bad)
    assert values.parse_dimension("(1280,960)") == (1280, 960)
    assert values.parse_dimension("( 1648 , 1200 )") == (1648, 1200)
    assert values.parse_dimension("(1,1,5120,3840)") == (5120, 3840)
    assert values.parse_dimension(None) == (None, None)
    utc = values.parse_utc("2021-06-01T14:10:53.116Z")
    assert utc == values.parse_utc("2021-06-01T14:10:53.116") == values.parse_utc("2021-06-01T16:10:53.116+02:00")
    assert utc.tzinfo == dt.UTC
    assert jpl_mars2020.parse_latest_sol({"latest_sol": "1995"}) == 1995
    with pytest.raises(ResponseShapeError):
        jpl_mars2020.parse_latest_sol({"latest_sol": None})


def test_earth_date_rule_matches_the_recorded_v1_photos(snapshot_root):
    checked = 0
    for name in (
        "curiosity_sol0000.json",
        "curiosity_sol0001.json",
        "curiosity_sol1000.json",
        "perseverance_sol0000.json",
    ):
        for p in json.loads((snapshot_root / "api" / "photos" / name).read_text())["photos"][:50]:
            rover = p["rover"]["name"].lower()
            assert instruments.earth_date_for_sol(rover, p["sol"]).isoformat() == p["earth_date"]
            checked += 1
    assert checked == 166  # 50 + 16 + 50 + 50


def test_camera_maps_use_the_v1_names_and_full_names_recorded_in_the_snapshot(snapshot_root):
    def cameras(name):
        p = json.loads((snapshot_root / "api" / "photos" / name).read_text())["photos"][0]
        return {c["name"]: c["full_name"] for c in p["rover"]["cameras"]}

    m20 = cameras("perseverance_sol0000.json")
    assert {k: v[1] for k, v in instruments.M2020_CAMERAS.items()} == m20
    assert cameras("curiosity_sol1000.json") == instruments.MSL_CLASSIC_FULL_NAMES
    assert set(instruments.MSL_INSTRUMENT_CAMERAS.values()) == set(instruments.MSL_CLASSIC_FULL_NAMES)
    assert instruments.m2020_camera("navcam_left") == ("NAVCAM_LEFT", "Navigation Camera - Left", True)
    assert instruments.msl_camera("MAST_RIGHT") == ("MAST", "Mast Camera", True)
    assert instruments.msl_camera("MARDI", "instrument") == ("MARDI", "MARDI", True)
    with pytest.raises(ValueError):
        instruments.m2020_camera("  ")
