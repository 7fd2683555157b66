"""The bad input catalogue of issue 9: every bad input ends in a clear error or in a
quarantine row with the reason, and every other row of the partition is still loaded.

Three levels, each through the real code: the HTTP clients over the loopback replay
server (answers that cannot be used), the pure parsers (records that cannot be typed),
and the asset graph on a small archive (a real Dagster instance, real Parquet), where the
replay server serves two hand-made pages of one rover × sol and the landing zone holds
good and bad image files of the same partition.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
import random
import re
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from mars_assets.definitions import build_definitions
from mars_assets.defs.bronze.photos import SOL_RETRIES
from mars_assets.demo import ReplayServer, bundled_snapshot
from mars_assets.imaging import ImageDecodeError, decode_image
from mars_assets.imaging.quality import TRUNCATED_NOTE
from mars_assets.partitions import add_sols, rover_sol_key
from mars_assets.resources import ImageDownloader, Warehouse
from mars_assets.settings import Settings
from mars_assets.sources import mmgis, photos_api, values
from mars_assets.sources.http import ApiError
from mars_assets.sources.mmgis import MmgisSource
from mars_assets.sources.photos_api import PhotosApiSource
from mars_assets_tests.conftest import make_small_archive

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SNAPSHOT = bundled_snapshot()
SOL1 = json.loads((SNAPSHOT / "api/photos/curiosity_sol0001.json").read_text())["photos"]  # 16 photos
GOOD_JPEG = (SNAPSHOT / "images/msl_deep_mars_browse/0003ML0000000110100031E01_DRCL.JPG").read_bytes()


def client(server: ReplayServer, **kw) -> PhotosApiSource:
    """The v1 client against ``server`` with test-sized waits."""
    return PhotosApiSource(
        base_url=server.photos_api_url, api_key="k", **{"backoff_factor": 0.01, "max_retry_after_seconds": 0.2, **kw}
    )


def photo(**changes) -> dict:
    """A copy of the first recorded Curiosity sol-1 photo with ``changes`` applied."""
    p = copy.deepcopy(SOL1[0])
    p.update(changes)
    return p


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    """``img`` saved in ``fmt`` as bytes."""
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG (tens of KB) that decodes to ``width × height`` 1-bit pixels."""
    return encode(Image.new("1", (width, height)), "PNG", optimize=True)


# -- answers that cannot be used: a clear error, nothing kept ----------------------------
@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        (b'{"photos": [{"id": 1, ', "application/json", "not JSON (application/json"),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "not JSON (text/html"),
        (b'{"errors": "something broke"}', "application/json", "neither 'photos' nor 'latest_photos'"),
        (b'["a", "list"]', "application/json", "photos response is list, not an object"),
    ],
    ids=["malformed-json", "html-error-page", "json-without-photos", "json-list"],
)
def test_unusable_photo_page_is_a_clear_error(replay, raw, content_type, expected):
    replay.fail_next(200, raw=raw, content_type=content_type, match="/photos")
    with pytest.raises(ApiError) as err:
        client(replay).fetch_sol("curiosity", 1)
    assert "unusable response body" in str(err.value) and expected in str(err.value)
    assert err.value.status == 200 and "api_key" not in str(err.value)


def test_a_recording_with_malformed_records_is_replayed_as_recorded(tmp_path):
    archive = make_small_archive(tmp_path / "archive", photos=(), images=())
    recorded = SOL1 + ["oops", {"sol": 1, "camera": None}, photo(id="4477x")]
    (archive / "api/photos/curiosity_sol0001.json").write_text(json.dumps({"photos": recorded}))
    with ReplayServer(archive) as server:
        pages = client(server, page_size=25).fetch_sol("curiosity", 1)
    served = [p for page in pages for p in json.loads(page.body)["photos"]]
    assert len(served) == len(recorded) and served[:16] == SOL1  # typed records first, in paging order


def test_html_error_page_with_502_is_retried_then_a_clear_error(replay):
    replay.fail_next(502, count=3, raw=b"<html>Bad Gateway</html>", content_type="text/html")
    with pytest.raises(ApiError) as err:
        client(replay, retries=2).rovers_listing()
    assert err.value.status == 502 and "Bad Gateway" in str(err.value)
    assert len(replay.requests) == 3  # the first try and two retries, then the error


def test_unknown_rover_name_is_http_400_not_retried(replay):
    with pytest.raises(ApiError) as err:
        client(replay).fetch_sol("zhurong", 1)
    assert err.value.status == 400 and "Invalid Rover Name" in str(err.value)
    assert len(replay.requests) == 1


def test_manifest_and_layers_that_do_not_parse_are_refused_by_the_clients(replay):
    replay.fail_next(200, raw=b"<html>maintenance</html>", content_type="text/html", match="/manifests/")
    with pytest.raises(ApiError, match="not JSON"):
        client(replay).manifest("curiosity")
    replay.fail_next(
        200,
        body={"photo_manifest": {"name": "Curiosity", "photos": [{"sol": "x", "total_photos": 1}]}},
        match="/manifests/",
    )
    with pytest.raises(ApiError, match="manifest entry 0: sol 'x' is not an integer"):
        client(replay).manifest("curiosity")
    replay.fail_next(200, raw=b"<html>maintenance</html>", content_type="text/html", match="_waypoints")
    with pytest.raises(ApiError, match="not JSON"):
        MmgisSource(base_url=replay.mmgis_url, backoff_factor=0.01).get(mmgis.waypoints_path("MSL"))


# -- records that cannot be typed: a reason for the quarantine ------------------------------
@pytest.mark.parametrize(
    ("bad", "error", "reason"),
    [
        (photo(img_src=None), KeyError, "photo has no img_src"),
        ({k: v for k, v in photo().items() if k != "img_src"}, KeyError, "photo has no img_src"),
        (photo(camera=None), KeyError, "photo has no camera"),
        (photo(camera={"id": 22, "name": None}), KeyError, "photo camera has no name"),
        (photo(camera="MAST"), ValueError, "photo camera is str, not an object"),
        (photo(sol=-1), ValueError, "sol -1 is outside 0..100000"),
        (photo(sol=1.5), ValueError, "sol 1.5 is not an integer"),
        (photo(sol="1.5"), ValueError, "sol '1.5' is not an integer"),
        (photo(sol=True), ValueError, "sol True is not an integer"),
        (photo(sol=float("inf")), ValueError, "sol inf is not an integer"),
        (photo(id=2**70), ValueError, "id 1180591620717411303424 is outside"),
        (photo(id=None), KeyError, "no id"),
        (photo(img_src="ftp://mars.jpl.nasa.gov/x.jpg"), ValueError, "is not an http(s) URL"),
        (photo(img_src="javascript:alert(1)"), ValueError, "is not an http(s) URL"),
        (photo(img_src=["http://a/b.jpg"]), ValueError, "img_src is list, not a string"),
        (photo(camera={"id": "abc", "name": "MAST"}), ValueError, "camera id 'abc' is not an integer"),
        (photo(camera={"id": 22, "name": "MAST", "full_name": {"x": 1}}), ValueError, "full_name is dict"),
        (photo(earth_date="2012-13-45"), ValueError, "earth_date '2012-13-45' is not an ISO date"),
        (photo(rover="Curiosity"), ValueError, "photo rover is str, not an object"),
        ("not a photo", ValueError, "photo is str, not an object"),
    ],
)
def test_photo_that_cannot_be_typed_raises_a_quarantine_reason(bad, error, reason):
    with pytest.raises(error) as err:
        photos_api.parse_photo(bad, ingested_at=NOW)
    assert isinstance(err.value, values.ResponseShapeError)  # one family: silver quarantines it
    assert reason in str(err.value)
    assert str(err.value).startswith(("photo", "sol", "id", "no", "img_src", "camera", "earth_date"))


def test_http_img_src_is_upgraded_and_unknown_camera_is_kept_and_flagged():
    row = photos_api.parse_photo(photo(camera={"id": 99, "name": "SNEAKYCAM"}), ingested_at=NOW)
    assert row["img_src"].startswith("https://mars.jpl.nasa.gov/") and SOL1[0]["img_src"].startswith("http://")
    assert row["camera"] == "SNEAKYCAM" and row["camera_known"] is False
    assert photos_api.parse_photo(photo(), ingested_at=NOW)["camera_known"] is True


def test_manifest_with_sols_out_of_order_and_without_earth_date():
    body = {
        "photo_manifest": {
            "name": "Curiosity",
            "photos": [
                {"sol": 9, "total_photos": 3, "cameras": ["MAST"]},
                {"sol": 2, "earth_date": "2012-08-08", "total_photos": 5, "cameras": ["NAVCAM", "FHAZ"]},
                {"sol": 5, "total_photos": "7"},
            ],
        }
    }
    rover, sols = photos_api.parse_manifest(body)
    assert rover["rover"] == "curiosity"
    assert [(s["sol"], s["earth_date"], s["total_photos"]) for s in sols] == [
        (2, dt.date(2012, 8, 8), 5),
        (5, None, 7),
        (9, None, 3),
    ]
    assert sols[0]["cameras"] == ["FHAZ", "NAVCAM"] and sols[1]["cameras"] == []


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"total_photos": 1}, "manifest entry 1: no sol"),
        ({"sol": -4, "total_photos": 1}, "sol -4 is outside"),
        ({"sol": 3}, "no total_photos"),
        ({"sol": 3, "total_photos": 1, "cameras": "MAST"}, "cameras is str"),
        ("sol 3", "is str, not an object"),
    ],
)
def test_manifest_entry_that_cannot_be_typed_is_a_clear_error(entry, reason):
    body = {"photo_manifest": {"name": "Curiosity", "photos": [{"sol": 1, "total_photos": 1}, entry]}}
    with pytest.raises(values.ResponseShapeError, match=reason):
        photos_api.parse_manifest(body)


def test_geojson_features_without_coordinates_are_rejected_and_the_others_kept():
    layer = json.loads(next((SNAPSHOT / "traverse").glob("MSL_waypoints*")).read_text())
    features = layer["features"][:6]
    features[0] = {**features[0], "geometry": {"type": "Point"}}
    features[1] = {**features[1], "geometry": {"type": "Point", "coordinates": [77.45]}}
    features[2] = {**features[2], "geometry": None}
    features[3] = {**features[3], "geometry": {"type": "Point", "coordinates": ["east", 18.4]}}
    loaded, rejects = mmgis.parse_waypoints("curiosity", {"features": features + [None]})
    assert len(loaded) == 2 and [r["sol"] for r in loaded] == [f["properties"]["sol"] for f in features[4:]]
    assert [r["feature_index"] for r in rejects] == [0, 1, 2, 3, 6]
    assert "Point without coordinates" in rejects[0]["reason"] and "Point without coordinates" in rejects[1]["reason"]
    assert "not Point" in rejects[2]["reason"] and "longitude 'east'" in rejects[3]["reason"]
    assert "feature is NoneType" in rejects[4]["reason"]
    leg = {"properties": {"sol": 5, "fromRMC": "1_0", "toRMC": "1_2"}, "geometry": {"type": "LineString"}}
    legs, rejects = mmgis.parse_traverse("curiosity", {"features": [leg]})
    assert legs == [] and "0 vertices" in rejects[0]["reason"]
    with pytest.raises(values.ResponseShapeError, match="not an object"):
        mmgis.parse_waypoints("curiosity", ["not", "a", "layer"])


# -- images: a reason for the image quarantine ----------------------------------------------
BAD_IMAGES = {
    "truncated-jpeg": (GOOD_JPEG[: len(GOOD_JPEG) // 2], "truncated"),
    "html-as-image": (b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "unrecognised image data"),
    "zero-bytes": (b"", "empty image data (0 bytes)"),
    "bomb-400-megapixels": (bomb_png(20_000, 20_000), "too large to decode safely"),
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_bad_image_bytes_raise_image_decode_error_with_reason(name):
    data, reason = BAD_IMAGES[name]
    with pytest.raises(ImageDecodeError) as err:
        decode_image(data)
    assert reason in str(err.value)


def mode_images() -> dict[str, tuple[bytes, str]]:
    """Valid images of the modes rover pipelines meet, keyed by mode: (bytes, extension)."""
    rng = np.random.default_rng(9)
    rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return {
        "RGB": (GOOD_JPEG, ".JPG"),
        "RGBA": (encode(Image.fromarray(rng.integers(0, 256, (48, 64, 4), dtype=np.uint8)), "PNG"), ".png"),
        "I;16": (encode(Image.fromarray(rng.integers(0, 4096, (48, 64), dtype=np.uint16)), "PNG"), ".png"),
        "P": (encode(Image.fromarray(rgb).quantize(16), "PNG"), ".png"),
        "CMYK": (encode(Image.new("CMYK", (64, 48), (10, 200, 30, 5)), "JPEG", quality=90), ".JPG"),
    }


def test_rgba_16_bit_palette_and_cmyk_images_decode_and_say_what_was_converted():
    got = {mode: decode_image(data) for mode, (data, _ext) in mode_images().items()}
    assert {m: d.mode for m, d in got.items()} == {m: m for m in got}
    assert got["I;16"].bit_depth == 16 and got["RGB"].bit_depth == 8
    assert "alpha" in got["RGBA"].notes and "palette" in got["P"].notes and "CMYK" in got["CMYK"].notes


def test_image_far_larger_than_any_rover_frame_is_refused_at_pillows_hard_limit():
    # 20000 × 20000 = 400 Mpx in 48 KB of PNG: Pillow's DecompressionBombError (> 2 × MAX_IMAGE_PIXELS)
    assert len(BAD_IMAGES["bomb-400-megapixels"][0]) < 100_000
    assert 2 * Image.MAX_IMAGE_PIXELS < 20_000 * 20_000


def test_image_between_a_rover_frame_and_pillows_hard_limit_is_refused():
    data = bomb_png(10_000, 10_000)
    assert len(data) < 20_000
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(data)


def test_image_downloads_go_only_to_allowed_hosts_and_redirects_are_checked(replay):
    image = "/images/msl_deep_mars_browse/0003ML0000000110100031E01_DRCL.JPG"
    port = replay.url.rsplit(":", 1)[1]
    downloader = ImageDownloader(allowed_hosts=["localhost"], retries=0)
    assert downloader.fetch(f"http://localhost:{port}{image}") == GOOD_JPEG  # the allowed name works
    for url in (
        f"{replay.url}{image}",
        "http://10.0.0.7/x.jpg",
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
        "http://[::1/x.jpg",
        f"http://localhost.evil.example:{port}{image}",
    ):
        with pytest.raises(ApiError, match="not on the image allow-list") as err:
            downloader.fetch(url)
        assert err.value.status == 0
    before = len(replay.requests)
    assert before == 1  # none of the refused URLs was requested
    replay.fail_next(302, headers={"Location": f"{replay.url}{image}"}, match="/images/")
    with pytest.raises(ApiError, match="redirect to '127.0.0.1' refused") as err:
        downloader.fetch(f"http://localhost:{port}{image}")
    assert err.value.status == 302
    assert len(replay.requests) == before + 1  # the redirect target was never requested


# -- the asset graph: quarantine rows with reasons, every other row loaded --------------------
BAD_ON_PAGE_1 = [
    (photo(id=9100001, img_src=None), "MissingFieldError: photo has no img_src"),
    (photo(id=9100002, camera=None), "MissingFieldError: photo has no camera"),
    (photo(id=9100003, sol=-1), "ResponseShapeError: sol -1 is outside 0..100000"),
    (photo(id=9100004, sol=1.5), "ResponseShapeError: sol 1.5 is not an integer"),
    ("oops, not a photo", "ResponseShapeError: photo is str, not an object"),
    (photo(id=9100006, camera={"id": "abc", "name": "MAST"}), "ResponseShapeError: camera id 'abc' is not an integer"),
    (photo(id=2**70), "ResponseShapeError: id 1180591620717411303424 is outside"),
    (photo(id=9100008, img_src="ftp://mars.jpl.nasa.gov/x.jpg"), "ResponseShapeError: img_src 'ftp://mars.jpl"),
]
OTHER_SOL = photo(id=9200003, sol=2)
GOOD_ON_PAGE_2 = [
    photo(id=9200001, img_src=SOL1[0]["img_src"].replace("I1_DXXX", "I1_DYYY")),
    photo(id=9200002, camera={"id": 99, "name": "SNEAKYCAM", "full_name": "Unknown camera"}),
]
PAGE_1 = SOL1 + [p for p, _ in BAD_ON_PAGE_1] + [copy.deepcopy(SOL1[0])]  # 16 + 8 + a duplicate within = 25
PAGE_2 = [copy.deepcopy(SOL1[1])] + GOOD_ON_PAGE_2 + [OTHER_SOL]  # a duplicate across pages; short page
LANDED_BAD = {
    f"0001ML000000{n:02d}00100001E01_DRCL{ext}": (data, reason)
    for n, (ext, (data, reason)) in enumerate(
        [
            (".JPG", BAD_IMAGES["html-as-image"]),
            (".JPG", BAD_IMAGES["zero-bytes"]),
            (".png", BAD_IMAGES["bomb-400-megapixels"]),
        ],
        start=2,
    )
}
#: A JPEG cut in half: decode_image refuses it, the statistics pass decodes it as far as it goes
#: (quality.statistics_allowing_truncation) and silver image_quality flags it ``truncated``.
LANDED_TRUNCATED = {"0001ML0000000100100001E01_DRCL.JPG": BAD_IMAGES["truncated-jpeg"][0]}


def landed_good() -> dict[str, tuple[bytes, str]]:
    """Landing file name → (bytes, mode) of the decodable images of curiosity sol 1."""
    return {
        f"0001ML000000{n:02d}00100001E01_DRCL{ext}": (data, mode)
        for n, (mode, (data, ext)) in enumerate(mode_images().items(), start=11)
    }


def break_reference_data(archive: Path) -> tuple[int, int]:
    """Shuffle the manifest (some sols without earth_date) and drop coordinates of three MSL
    waypoints; returns (manifest sols, waypoint features) of the archive."""
    manifest_file = next((archive / "api/manifests").glob("curiosity_*.json"))
    body = json.loads(manifest_file.read_text())
    entries = body["photo_manifest"]["photos"]
    for e in entries:
        if e["sol"] in (1, 3):
            del e["earth_date"]
    random.Random(9).shuffle(entries)
    manifest_file.write_text(json.dumps(body))
    features = 0
    for layer in (archive / "traverse").glob("*_waypoints*"):
        geo = json.loads(layer.read_text())
        if layer.name.startswith("MSL"):
            geo["features"][0]["geometry"] = {"type": "Point"}
            geo["features"][1]["geometry"]["coordinates"] = [77.45]
            geo["features"][2]["geometry"] = None
        layer.write_text(json.dumps(geo))
        features += len(geo["features"])
    return len(entries), features


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    """reference_job and rover_sol_job curiosity|1 on a small archive with every kind of bad
    input at once; yields what the tests need (the instance stays open for the last test)."""
    tmp = tmp_path_factory.mktemp("bad_input")
    archive = make_small_archive(tmp / "archive")
    manifest_sols, waypoint_features = break_reference_data(archive)
    wh, landing = tmp / "warehouse", tmp / "landing"
    landing.mkdir()
    for name, (data, _) in {**LANDED_BAD, **landed_good()}.items():
        (landing / name).write_bytes(data)
    for name, data in LANDED_TRUNCATED.items():
        (landing / name).write_bytes(data)
    with ReplayServer(archive) as server, dg.instance_for_test() as instance:
        settings = Settings(
            warehouse=str(wh), landing=str(landing), max_image_downloads=0, image_workers=1, photos_api_page_size=25
        ).replaying(server)  # paged (25 a page), as a mirror pages: the faults below hit pages
        defs = build_definitions(settings)
        reference = defs.resolve_job_def("reference_job").execute_in_process(instance=instance)
        assert reference.success
        add_sols(instance, [1])
        server.fail_next(200, body={"photos": PAGE_1}, match="/curiosity/photos?sol=1&page=1&")
        server.fail_next(200, body={"photos": PAGE_2}, match="/curiosity/photos?sol=1&page=2&")
        result = defs.resolve_job_def("rover_sol_job").execute_in_process(
            instance=instance, partition_key=rover_sol_key("curiosity", 1)
        )
        assert result.success
        assert server.pending_faults() == 0
        yield {
            "wh": Warehouse(root=str(wh)),
            "result": result,
            "reference": reference,
            "defs": defs,
            "settings": settings,
            "instance": instance,
            "server": server,
            "manifest_sols": manifest_sols,
            "waypoint_features": waypoint_features,
        }


def materialization(result, key: list[str]) -> dg.AssetMaterialization:
    """The materialization of asset ``key`` in an execute_in_process result."""
    return next(
        e.event_specific_data.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(key)
    )


def rows(wh: Warehouse, table: str) -> list[dict]:
    """The rows of silver ``table`` for curiosity sol 1."""
    return wh.read_table("silver", table, {"rover": "curiosity", "sol": 1}).to_pylist()


def test_graph_bad_photos_are_quarantined_with_reasons_and_every_good_photo_is_loaded(bad_run):
    wh = bad_run["wh"]
    photos = rows(wh, "photos")
    expected_ids = sorted([p["id"] for p in SOL1] + [p["id"] for p in GOOD_ON_PAGE_2])
    assert sorted(p["photo_id"] for p in photos) == expected_ids  # 18: the 16 recorded + 2 good new ones
    quarantine = rows(wh, "photo_quarantine")
    reasons = sorted(q["reason"] for q in quarantine)
    expected = sorted([r for _, r in BAD_ON_PAGE_1] + ["photo of curiosity sol 2 in the curiosity sol 1 response"])
    assert len(reasons) == len(expected)
    for reason, prefix in zip(reasons, expected, strict=False):
        assert reason.startswith(prefix), (reason, prefix)
    assert all(q["raw"] and q["source"] for q in quarantine)
    assert {q["record_key"] for q in quarantine} >= {"9100001", "9100002", "9100003", str(2**70), None, "9200003"}


def test_graph_duplicates_within_and_across_pages_are_loaded_once_and_nothing_is_lost(bad_run):
    wh, result = bad_run["wh"], bad_run["result"]
    photos = rows(wh, "photos")
    assert len({p["photo_id"] for p in photos}) == len(photos)
    mat = materialization(result, ["silver", "photos"])
    duplicates = mat.metadata["duplicates_dropped"].value
    assert duplicates == 2
    served = len(PAGE_1) + len(PAGE_2)
    assert len(photos) + len(rows(wh, "photo_quarantine")) + duplicates == served  # rows lost: 0
    print(
        f"FIGURES photos: {served} records served, {len(photos)} loaded, {len(rows(wh, 'photo_quarantine'))} "
        f"quarantined, {duplicates} duplicates dropped, rows lost 0"
    )
    unknown = next(p for p in photos if p["photo_id"] == 9200002)
    assert unknown["camera"] == "SNEAKYCAM" and unknown["camera_known"] is False
    assert all(p["img_src"].startswith("https://") for p in photos)  # every recorded img_src was http://
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["no_quarantined_photos"].passed is False  # the WARN check flags the partition


def test_graph_bad_images_are_quarantined_and_every_decodable_mode_has_statistics(bad_run):
    wh = bad_run["wh"]
    images = {i["product_id"]: i for i in rows(wh, "images")}
    good = {name.rsplit(".", 1)[0]: mode for name, (_, mode) in landed_good().items()}
    truncated = {name.rsplit(".", 1)[0] for name in LANDED_TRUNCATED}
    assert {pid: i["mode"] for pid, i in images.items() if pid not in truncated} == good
    assert {images[pid]["mode"] for pid in truncated} == {"RGB"}  # decoded as far as it goes
    # sha256: taken by bronze_images at ingest (its _index.json), the hash of the landed bytes
    landed_bytes = {**{name: data for name, (data, _) in landed_good().items()}, **LANDED_TRUNCATED}
    digests = {name.rsplit(".", 1)[0]: hashlib.sha256(data).hexdigest() for name, data in landed_bytes.items()}
    assert {pid: i["sha256"] for pid, i in images.items()} == digests
    index = json.loads(wh.read_object("bronze/images/rover=curiosity/sol=1/_index.json"))
    assert {
        e["product_id"]: e["sha256"] for e in index if e["status"] == "stored" and e["product_id"] in digests
    } == digests
    stats = rows(wh, "image_stats")
    assert sorted(s["product_id"] for s in stats) == sorted([*good, *truncated])
    assert all(0.0 <= s["brightness_norm"] <= 1.0 for s in stats)
    assert {s["product_id"] for s in stats if TRUNCATED_NOTE in s["notes"]} == truncated
    quarantine = {q["record_key"]: q["reason"] for q in rows(wh, "image_quarantine")}
    assert len(quarantine) == len(LANDED_BAD)
    for name, (_data, reason) in LANDED_BAD.items():
        got = quarantine[name.rsplit(".", 1)[0]]
        assert got.startswith("undecodable: ") and reason in got, (name, got)
    landed = len(good) + len(LANDED_TRUNCATED) + len(LANDED_BAD)
    assert len(images) + len(quarantine) == landed  # rows lost: 0
    print(
        f"FIGURES images: {landed} files landed, {len(images)} loaded with statistics "
        f"({len(truncated)} truncated, flagged), {len(quarantine)} quarantined, rows lost 0"
    )


def test_graph_flags_the_truncated_constant_and_thumbnail_frames_and_warns(bad_run):
    """silver image_quality of the same partition: one row per image with statistics; the
    truncated JPEG flagged ``truncated``, the constant CMYK frame ``blank``, the 64 × 48 frames
    ``small_frame`` against the camera's 256 × 256 full frame (the largest MAST frame), the
    whole real frame nothing; the WARN check counts them and the run still succeeds."""
    wh, result = bad_run["wh"], bad_run["result"]
    quality = {r["product_id"]: r for r in rows(wh, "image_quality")}
    assert set(quality) == {s["product_id"] for s in rows(wh, "image_stats")}
    pid = {mode: name.rsplit(".", 1)[0] for name, (_, mode) in landed_good().items()}
    (cut,) = (name.rsplit(".", 1)[0] for name in LANDED_TRUNCATED)
    assert quality[cut]["flags"] == ["truncated"] and quality[cut]["flag_truncated"] is True
    assert quality[pid["RGB"]]["flags"] == []
    assert quality[pid["CMYK"]]["flags"] == ["blank", "low_information", "small_frame"]
    for mode in ("RGBA", "I;16", "P"):
        assert quality[pid[mode]]["flags"] == ["small_frame"], mode
    assert {(r["full_frame_width"], r["full_frame_height"]) for r in quality.values()} == {(256, 256)}
    assert all(r["phash"] is not None and r["duplicate_of"] is None for r in quality.values())
    assert result.success
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "quality_flags")
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.WARN
    md = {k: v.value for k, v in check.metadata.items()}
    assert (md["flag truncated"], md["flag blank"], md["flag small_frame"], md["flagged"]) == (1, 1, 4, 5)
    assert md["frames in duplicate groups"] == 0 and "| curiosity | 1 | 6 |" in md["by partition"]


def test_graph_manifest_out_of_order_without_earth_date_is_loaded_sorted(bad_run):
    manifest = bad_run["wh"].read_table("silver", "manifest_sols").to_pylist()
    assert len(manifest) == bad_run["manifest_sols"] == 2281
    sols = [r["sol"] for r in manifest]
    assert sols == sorted(sols) and len(set(sols)) == len(sols)
    no_date = sorted(r["sol"] for r in manifest if r["earth_date"] is None)
    assert no_date == [1, 3]
    checks = {c.check_name: c for c in bad_run["result"].get_asset_check_evaluations()}
    assert checks["matches_manifest"].metadata["sols_covered_by_manifest"].value == 1  # sol 1 still found


def test_graph_waypoints_without_coordinates_are_rejected_and_the_others_loaded(bad_run):
    waypoints = bad_run["wh"].read_table("silver", "waypoints")
    assert waypoints.num_rows == bad_run["waypoint_features"] - 3 == 586 + 1304 - 3
    mat = materialization(bad_run["reference"], ["silver", "waypoints"])
    assert mat.metadata["rejected_features"].value == 3


def stable(table_rows: list[dict]) -> list[dict]:
    """Rows without the times of the run (``*_at`` columns, also inside quarantine ``raw``), sorted."""

    def clean(k, v):
        return re.sub(r'"ingested_at": "[^"]*"', "", v) if k == "raw" and isinstance(v, str) else v

    return sorted(({k: clean(k, v) for k, v in r.items() if not k.endswith("_at")} for r in table_rows), key=repr)


def bronze_objects(wh: Warehouse) -> dict[str, bytes]:
    prefix = "bronze/photos/rover=curiosity/sol=1"
    return {n: wh.read_object(f"{prefix}/{n}") for n in wh.list_objects(prefix)}


def test_graph_unusable_page_keeps_the_previous_bronze_and_silver(bad_run):
    """An HTML page served with 200 on every pass over the sol: the partition fails with a clear
    error before anything of it is written (bronze and silver keep the previous run's)."""
    wh, server, defs, instance = bad_run["wh"], bad_run["server"], bad_run["defs"], bad_run["instance"]
    tables = ("photos", "photo_quarantine")
    bronze, before = bronze_objects(wh), {t: stable(rows(wh, t)) for t in tables}
    for _ in range(SOL_RETRIES + 1):
        server.fail_next(
            200,
            raw=b"<html><body>Service Unavailable</body></html>",
            content_type="text/html",
            match="/curiosity/photos?sol=1&page=1&",
        )
    result = defs.resolve_job_def("rover_sol_job").execute_in_process(
        instance=instance, partition_key=rover_sol_key("curiosity", 1), raise_on_error=False
    )
    assert not result.success and server.pending_faults() == 0
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "photos"
    assert "unusable response body: not JSON (text/html" in failure.event_specific_data.error.message
    assert bronze_objects(wh) == bronze and {t: stable(rows(wh, t)) for t in tables} == before


def test_graph_transient_html_page_is_survived_by_the_sol_retry_with_the_same_rows(bad_run):
    """Last in this module (it reruns the partition): one HTML page, then the same two pages again:
    the step fetches the failed sol again itself (no step retry) and writes the same rows."""
    wh, server, defs, instance = bad_run["wh"], bad_run["server"], bad_run["defs"], bad_run["instance"]
    tables = ("photos", "photo_quarantine", "images", "image_stats", "image_quarantine", "image_quality")
    before = {t: stable(rows(wh, t)) for t in tables}
    server.fail_next(
        200,
        raw=b"<html><body>Service Unavailable</body></html>",
        content_type="text/html",
        match="/curiosity/photos?sol=1&page=1&",
    )
    server.fail_next(200, body={"photos": PAGE_1}, match="/curiosity/photos?sol=1&page=1&")
    server.fail_next(200, body={"photos": PAGE_2}, match="/curiosity/photos?sol=1&page=2&")
    result = defs.resolve_job_def("rover_sol_job").execute_in_process(
        instance=instance, partition_key=rover_sol_key("curiosity", 1)
    )
    assert result.success and server.pending_faults() == 0
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert {t: stable(rows(wh, t)) for t in tables} == before


# -- config values and partition keys never reach SQL text unescaped ---------------------------
def test_hostile_root_path_and_filter_values_are_quoted_or_bound_not_spliced(tmp_path):
    import pyarrow as pa

    root = tmp_path / 'it\'s a "warehouse"; drop table x; --'
    wh = Warehouse(root=str(root))
    rows = pa.table({"rover": ["curiosity"] * 2, "sol": [1, 1], "photo_id": [1, 2]})
    wh.write_silver_table("photos", rows, [("curiosity", 1)], {})
    assert wh.read_table("silver", "photos").num_rows == 2  # the root is a quoted literal in delta_scan(...)
    evil_rover = pa.table({"rover": ["o'brien"], "sol": [2], "photo_id": [3]})
    wh.write_silver_table("photos", evil_rover, [("o'brien", 2)], {})  # the predicate quotes the rover
    assert wh.read_table("silver", "photos").num_rows == 3
    evil = "curiosity' or '1'='1"
    assert wh.read_table("silver", "photos", where="rover = ? and sol = ?", params=[evil, 1]).num_rows == 0
    assert wh.read_table("silver", "photos", where="rover = ? and sol = ?", params=["curiosity", 1]).num_rows == 2
    assert wh.refresh_catalog([("silver", "photos")]) == ["silver.photos"]
