"""Property-based tests (hypothesis) of the response parsers and the product-id parser.

For any JSON a source could send, each parser either returns rows that fit their silver
Parquet schema (so one odd record can never fail the write of a whole partition) or
raises its documented error; records are never lost silently (rows + rejects = input);
and well-formed input round-trips.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import math

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mars_assets.demo import bundled_snapshot
from mars_assets.schemas import (
    MANIFEST_SOLS_SCHEMA,
    PHOTOS_SCHEMA,
    ROVERS_SCHEMA,
    TRAVERSE_SCHEMA,
    WAYPOINTS_SCHEMA,
)
from mars_assets.sources import jpl_mars2020, jpl_msl, mmgis, photos_api, values
from mars_assets.sources.product_ids import parse_product_id

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOL1 = json.loads((bundled_snapshot() / "api/photos/curiosity_sol0001.json").read_text())["photos"]

#: Any JSON value (what json.loads can return), floats including NaN and ±infinity
#: (Python's json module reads and writes them).
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
#: Values at the edges of the silver column types and of date arithmetic, which random
#: integers rarely hit.
edges = st.sampled_from(
    [
        -1,
        0,
        2**31,
        -(2**31) - 1,
        2**63,
        -(2**63) - 1,
        2**64,
        10**12,
        10**9,
        100_001,
        1e300,
        -1e300,
        1.5,
        float("inf"),
        float("nan"),
        "1e3",
        " 7 ",
        "-3",
        "",
        "null",
        "9" * 30,
        True,
    ]
)


def fits(rows: list[dict], schema: pa.Schema) -> None:
    """Rows convert to ``schema`` exactly as the silver assets write them (raises otherwise)."""
    pa.Table.from_pylist(rows, schema=schema)


def mutated(base: dict, keys: list[str], max_changes: int | None = None):
    """``base`` with up to ``max_changes`` of ``keys`` replaced by edge values, arbitrary JSON or deleted."""
    changes = st.dictionaries(
        st.sampled_from(keys), edges | json_values | st.just("<deleted>"), max_size=max_changes or len(keys)
    )

    def apply(change: dict) -> dict:
        out = copy.deepcopy(base)
        for k, v in change.items():
            if v == "<deleted>":
                out.pop(k, None)
            else:
                out[k] = v
        return out

    return changes.map(apply)


photo_keys = ["id", "sol", "camera", "img_src", "earth_date", "rover"]
camera_variants = mutated(SOL1[0]["camera"], ["id", "name", "full_name"])
photos = (
    mutated(SOL1[0], photo_keys)
    | st.builds(lambda p, c: {**p, "camera": c}, mutated(SOL1[0], photo_keys), camera_variants)
    | json_values
)


# -- Photos API v1 ------------------------------------------------------------------------
@PROPERTY
@given(photos)
def test_parse_photo_returns_a_typed_row_or_a_shape_error(obj):
    try:
        row = photos_api.parse_photo(obj, ingested_at=NOW)
    except values.ResponseShapeError as exc:
        assert str(exc) and len(str(exc)) < 400  # a reason short enough for the quarantine table
        return
    fits([row], PHOTOS_SCHEMA)
    assert 0 <= row["sol"] <= values.MAX_SOL
    assert row["img_src"].startswith("https://") and row["camera"]


@PROPERTY
@given(
    st.integers(min_value=0, max_value=2**63 - 1),
    st.integers(min_value=0, max_value=values.MAX_SOL),
    st.text(st.characters(codec="ascii", categories=["Lu", "Nd"]), min_size=1, max_size=12),
    st.sampled_from(["http", "https"]),
    st.booleans(),
)
def test_a_well_formed_photo_round_trips(photo_id, sol, camera, scheme, as_text):
    obj = {
        **copy.deepcopy(SOL1[0]),
        "id": str(photo_id) if as_text else photo_id,
        "sol": sol,
        "camera": {"id": 7, "name": camera, "full_name": None},
        "img_src": f"{scheme}://mars.jpl.nasa.gov/msl-raw-images/{camera}/x_{photo_id}.JPG",
    }
    row = photos_api.parse_photo(obj, ingested_at=NOW)
    assert (row["photo_id"], row["sol"], row["camera"], row["camera_id"]) == (photo_id, sol, camera, 7)
    assert row["img_src"] == f"https://mars.jpl.nasa.gov/msl-raw-images/{camera}/x_{photo_id}.JPG"
    assert row["product_id"] == f"x_{photo_id}"
    fits([row], PHOTOS_SCHEMA)


@PROPERTY
@given(json_values)
def test_photos_of_returns_a_list_or_a_shape_error(body):
    with contextlib.suppress(values.ResponseShapeError):
        assert isinstance(photos_api.photos_of(body), list)


manifest_entries = st.lists(
    st.fixed_dictionaries(
        {"sol": st.integers(0, values.MAX_SOL), "total_photos": st.integers(0, 10**6)},
        optional={
            "earth_date": st.dates().map(dt.date.isoformat),
            "cameras": st.lists(st.sampled_from(["MAST", "NAVCAM", "FHAZ"]), max_size=3),
        },
    ),
    max_size=20,
    unique_by=lambda e: e["sol"],
)


@PROPERTY
@given(manifest_entries, st.randoms(use_true_random=False))
def test_manifest_round_trips_sorted_by_sol_whatever_the_order(entries, rnd):
    rnd.shuffle(entries)
    rover, sols = photos_api.parse_manifest({"photo_manifest": {"name": "Curiosity", "photos": entries}})
    assert rover["rover"] == "curiosity"
    assert [s["sol"] for s in sols] == sorted(e["sol"] for e in entries)
    by_sol = {e["sol"]: e for e in entries}
    for s in sols:
        e = by_sol[s["sol"]]
        assert s["total_photos"] == e["total_photos"] and s["cameras"] == sorted(e.get("cameras", []))
        assert s["earth_date"] == (dt.date.fromisoformat(e["earth_date"]) if "earth_date" in e else None)
    fits(sols, MANIFEST_SOLS_SCHEMA)


@PROPERTY
@given(
    st.one_of(
        json_values,
        st.builds(lambda p: {"photo_manifest": p}, json_values),
        st.builds(lambda e: {"photo_manifest": {"name": "Spirit", "photos": e}}, st.lists(json_values, max_size=4)),
    )
)
def test_parse_manifest_returns_typed_rows_or_a_shape_error(body):
    try:
        rover, sols = photos_api.parse_manifest(body)
    except values.ResponseShapeError:
        return
    fits(sols, MANIFEST_SOLS_SCHEMA)
    fits([{k: v for k, v in rover.items() if k != "cameras"}], ROVERS_SCHEMA)


@PROPERTY
@given(
    st.one_of(
        json_values,
        st.builds(lambda r: {"rovers": r}, st.lists(json_values, max_size=3)),
        mutated(SOL1[0]["rover"], list(SOL1[0]["rover"])),
    )
)
def test_parse_rovers_listing_and_rover_return_typed_rows_or_a_shape_error(body):
    for parse in (photos_api.parse_rovers_listing, lambda b: [photos_api.parse_rover(b)]):
        try:
            rovers = parse(body)
        except values.ResponseShapeError:
            continue
        fits([{k: v for k, v in r.items() if k != "cameras"} for r in rovers], ROVERS_SCHEMA)


# -- MMGIS GeoJSON ---------------------------------------------------------------------------
point = st.fixed_dictionaries(
    {
        "type": st.just("Feature"),
        "properties": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"sol": scalars}, optional={"site": scalars, "drive": scalars, "RMC": json_values, "dist_m": scalars}
            ),
        ),
        "geometry": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["Point", "LineString"]),
                    "coordinates": st.one_of(
                        json_values,
                        st.lists(scalars, max_size=3),
                        st.lists(st.lists(scalars, min_size=2, max_size=3), max_size=3),
                    ),
                }
            ),
        ),
    }
)
features = st.lists(point | json_values, max_size=6)


@PROPERTY
@given(st.one_of(features.map(lambda f: {"type": "FeatureCollection", "features": f}), json_values))
def test_geojson_parsers_account_for_every_feature_with_typed_rows(body):
    for parse, schema in ((mmgis.parse_waypoints, WAYPOINTS_SCHEMA), (mmgis.parse_traverse, TRAVERSE_SCHEMA)):
        try:
            rows, rejects = parse("curiosity", body)
        except values.ResponseShapeError:
            assert not isinstance(body, dict) or not isinstance(body.get("features"), (list, type(None)))
            continue
        assert len(rows) + len(rejects) == len(body.get("features") or [])  # nothing dropped silently
        assert all(r["reason"] for r in rejects)
        fits(rows, schema)
        for r in rows:
            coords = [r[k] for k in ("lon", "lat", "start_lon", "start_lat", "end_lon", "end_lat") if k in r]
            assert all(math.isfinite(c) for c in coords)


# -- JPL raw-image feeds ---------------------------------------------------------------------
M2020_IMAGE = {
    "imageid": "NLF_0100_0675828717_276ECM_N0040218NCAM00503_01_295J",
    "sol": 100,
    "site": 3,
    "drive": "218",
    "sample_type": "Full",
    "date_taken_utc": "2021-06-01T03:12:44Z",
    "camera": {"instrument": "NAVCAM_LEFT"},
    "extended": {"dimension": "(1280,960)"},
    "image_files": {"large": "http://mars.nasa.gov/x/NLF_0100.png"},
}
MSL_ITEM = {
    "id": 1234567,
    "imageid": "NLB_1234",
    "sol": 3000,
    "instrument": "NAV_LEFT_B",
    "https_url": "https://mars.nasa.gov/msl/NLB_1234.JPG",
    "date_taken": "2021-06-01T03:12:44.000Z",
    "site": "87",
    "drive": "1100",
    "extended": {"sample_type": "full", "lmst": "Sol-03000M10:00:00"},
}
m2020_images = mutated(M2020_IMAGE, list(M2020_IMAGE), max_changes=2) | json_values
msl_items = mutated(MSL_ITEM, list(MSL_ITEM), max_changes=2) | json_values


@PROPERTY
@example([{"images": [{**M2020_IMAGE, "sol": 10**12}, {**M2020_IMAGE, "imageid": "B", "site": 2**64}]}])
@given(st.lists(st.lists(m2020_images, min_size=1, max_size=4).map(lambda i: {"images": i}), min_size=1, max_size=3))
def test_mars2020_pages_give_typed_rows_and_account_for_every_image(bodies):
    rows, rejects = jpl_mars2020.parse_pages(bodies, ingested_at=NOW)
    assert len(rows) + len(rejects) == sum(len(b["images"]) for b in bodies)
    fits(rows, PHOTOS_SCHEMA)
    assert len({r["product_id"] for r in rows}) == len(rows)


@PROPERTY
@example([{"items": [{**MSL_ITEM, "id": 2**63}, {**MSL_ITEM, "id": 5, "sol": 1e300}], "more": False}])
@given(
    st.lists(
        st.lists(msl_items, min_size=1, max_size=4).map(lambda i: {"items": i, "more": False}), min_size=1, max_size=3
    )
)
def test_msl_pages_give_typed_rows_and_account_for_every_item(bodies):
    rows, rejects = jpl_msl.parse_pages(bodies, ingested_at=NOW)
    assert len(rows) + len(rejects) == sum(len(b["items"]) for b in bodies)
    fits(rows, PHOTOS_SCHEMA)
    assert len({r["photo_id"] for r in rows}) == len(rows)


@PROPERTY
@given(json_values | st.binary(max_size=40) | st.text(max_size=40))
def test_jpl_bodies_of_any_shape_parse_or_raise_the_shape_error(body):
    for parse in (jpl_mars2020.parse_pages, jpl_msl.parse_pages):
        try:
            rows, _rejects = parse([body], ingested_at=NOW)
        except values.ResponseShapeError:
            continue
        fits(rows, PHOTOS_SCHEMA)


# -- product ids ---------------------------------------------------------------------------
@PROPERTY
@given(st.text(max_size=80) | st.from_regex(r"\A(\d{4}M[LRHD]\d.*|[A-Z][A-Z0-9]{2}_\d{4}_\d{10}.*)\Z"))
def test_parse_product_id_never_raises_and_says_why_when_it_cannot_tell(name):
    pid = parse_product_id(name)
    assert "/" not in pid.product_id and "." not in pid.product_id
    assert pid.sol is None or 0 <= pid.sol <= 9999
    if pid.rover is None or pid.sol is None:
        assert pid.reason


@PROPERTY
@given(
    st.integers(0, 9999),
    st.sampled_from(["ML", "MR", "MH", "MD"]),
    st.from_regex(r"\A\d{15}[A-Z]\d\d\Z"),
    st.sampled_from(["_DRCL.JPG", "_DXXX.jpg", ".png", ""]),
    st.sampled_from(["", "https://mars.nasa.gov/a/b/"]),
)
def test_msss_product_id_round_trips(sol, inst, rest, suffix, prefix):
    name = f"{sol:04d}{inst}{rest}{suffix}"
    pid = parse_product_id(prefix + name)
    assert (pid.rover, pid.sol, pid.reason) == ("curiosity", sol, None)
    assert pid.camera == {"ML": "MAST", "MR": "MAST", "MH": "MAHLI", "MD": "MARDI"}[inst]
    assert pid.product_id == name.split(".", 1)[0]


@PROPERTY
@given(
    st.integers(0, 9999),
    st.sampled_from(["NL", "NR", "ZL", "FL", "RR", "WS"]),
    st.sampled_from("FE0"),
    st.integers(0, 9_999_999_999),
    st.from_regex(r"\A_\d{3}ECM_N\d{7}[A-Z]{4}\d{5}_\d\d_\d{3}J\Z"),
)
def test_mars2020_product_id_round_trips(sol, inst, eye, sclk, rest):
    name = f"{inst}{eye}_{sol:04d}_{sclk:010d}{rest}"
    pid = parse_product_id(name + ".png")
    assert (pid.rover, pid.sol, pid.sclk, pid.reason) == ("perseverance", sol, sclk, None)
    assert pid.product_id == name


@PROPERTY
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.sampled_from([int, str, float]))
def test_strict_int_round_trips_and_refuses_what_is_not_an_integer(n, kind):
    if kind is float and abs(n) > 2**53:
        n = int(float(n))  # floats hold integers exactly up to 2**53
        if not -(2**63) <= n <= 2**63 - 1:
            return
    assert values.strict_int(kind(n), "x") == n
    for bad in (n + 0.5 if abs(n) < 2**50 else "1.5", True, [n], str(n) + "x", float("nan")):
        with pytest.raises(values.ResponseShapeError):
            values.strict_int(bad, "x")
    with pytest.raises(values.ResponseShapeError, match="outside"):
        values.strict_int(2**63, "x")
