"""Schema drift: each source's parse reports unknown, missing and retyped fields, and the pipeline
shows them as WARN asset checks (issue 18).

Input: the real recorded answers — ``fixtures/live_captures/jpl/`` (JPL feeds), the bundled v1
snapshot (``mars_assets/snapshot/api/photos``), ``fixtures/mmgis_real/`` and the shipped MMGIS
waypoint layers — on which the check must be silent, and drifted copies of them built here (the
Nov 2025 Perseverance change: ``date_taken`` null, ``imageid`` of another type; a renamed field,
an unknown one, a missing one), on which it must name every key.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from mars_assets.defs.bronze.photos import _drift_check, photos
from mars_assets.defs.silver.traverse import silver_traverse
from mars_assets.defs.silver.waypoints import silver_waypoints
from mars_assets.demo import ReplayServer
from mars_assets.demo.snapshot import bundled_snapshot
from mars_assets.lib.photos import sol_photos
from mars_assets.partitions import SOL_PARTITIONS_NAME
from mars_assets.resources import UpstreamSources, Warehouse
from mars_assets.schemas import PHOTO_ROW_KEYS
from mars_assets.sources import drift, instruments, mmgis
from mars_assets.sources.jpl_mars2020 import JplMars2020Source, images_of
from mars_assets.sources.jpl_msl import JplMslSource, items_of
from mars_assets.sources.photos_api import photos_of
from mars_assets.sources.registry import PHOTO_SOURCES

FIXTURES = Path(__file__).parent / "fixtures"
JPL = FIXTURES / "live_captures" / "jpl"
MMGIS_REAL = FIXTURES / "mmgis_real"
SNAPSHOT = bundled_snapshot()
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

#: Every real capture of each source, and how its records are found in a body.
CAPTURES: dict[str, tuple[list[Path], object]] = {
    "jpl_mars2020": (sorted((JPL / "mars2020").rglob("*.json")), images_of),
    "jpl_msl": (sorted((JPL / "msl").rglob("*.json")), items_of),
    "photos_api_v1": (sorted((SNAPSHOT / "api" / "photos").glob("*.json")), photos_of),
}
LAYERS = sorted(MMGIS_REAL.glob("*.geojson")) + sorted((SNAPSHOT / "traverse").glob("*.geojson"))
ROVER_OF = {mission: rover for rover, mission in mmgis.MMGIS_MISSIONS.items()}


def load(path: Path):
    return json.loads(path.read_text())


def layer_of(path: Path) -> tuple[str, str]:
    """(rover, layer) of an MMGIS file name such as ``M20_traverse_duclun_first150.geojson``."""
    mission, layer = path.name.split("_")[:2]
    return ROVER_OF[mission], layer.lower()


def real_records() -> dict[str, list]:
    """Source (as drift_fields names them) → every real record of it."""
    out = {s: [r for p in paths for r in records_in(load(p))] for s, (paths, records_in) in CAPTURES.items()}
    for path in LAYERS:
        rover, layer = layer_of(path)
        out.setdefault(f"mmgis_{mmgis.MMGIS_MISSIONS[rover]}_{layer}", []).extend(load(path)["features"])
    return out


def shape(record: dict, prefix: str = "") -> dict[str, str]:
    """Dotted path → JSON type of every field of a record (objects descended into)."""
    out = {}
    for key, value in record.items():
        out[prefix + key] = drift.json_type(value)
        if isinstance(value, dict):
            out |= shape(value, prefix + key + ".")
    return out


def sol(name: str, number: int) -> Path:
    return next((JPL / name).glob(f"sol{number:04d}_*.json"))


# -- silent on the real captures -----------------------------------------------------------------
@pytest.mark.parametrize(
    "source, path", [(s, p) for s, (paths, _) in CAPTURES.items() for p in paths], ids=lambda v: getattr(v, "name", v)
)
def test_every_real_capture_shows_no_drift_in_any_record(source, path):
    body = load(path)
    records = CAPTURES[source][1](body)
    every = drift.check(drift.expected_for(source), records, stride=1)  # each record, not a sample
    assert every.records == every.checked == len(records) and not every.drifted, every.keys()
    parsed = PHOTO_SOURCES[source].parse_pages([(path.name, body)], ingested_at=NOW)  # the parse's own hook
    assert parsed.drift is not None and parsed.drift.records == len(records) and not parsed.drift.drifted


@pytest.mark.parametrize("path", LAYERS, ids=lambda p: p.name)
def test_every_real_mmgis_layer_shows_no_drift_in_any_feature(path):
    rover, layer = layer_of(path)
    found = mmgis.layer_drift(rover, layer, load(path))
    assert found.records == found.checked == len(load(path)["features"]) > 0
    assert not found.drifted, found.keys()


def acceptable_widening(source: str, path: str, extra: set[str]) -> bool:
    """Types a field list allows beyond those the real records show, each for a documented reason
    (mars_assets.sources.drift_fields): a JSON number may be written either way; waypoint numbers
    may be strings (string-only copies); MSL site/drive strings or null, filter_name a string."""
    if extra <= {"int", "float"}:
        return True
    if source.endswith("_waypoints") and path.startswith("properties.") and extra <= {"int", "float", "str"}:
        return True
    if source == "jpl_msl" and path in ("site", "drive") and extra <= {"str", "null"}:
        return True
    return source == "jpl_msl" and path == "extended.filter_name" and extra == {"str"}


#: Fields in every recorded record that a field list still makes optional, because other real
#: answers lack them: the v1 short rover form (``{id, name, landing_date, launch_date, status}``,
#: mars_assets.sources.photos_api) and MMGIS waypoint copies without lon/lat properties
#: (``M20_Localization_Spreadsheet_*``, the recorded-data README).
DOCUMENTED_OPTIONAL = {
    "photos_api_v1": {"rover.max_sol", "rover.max_date", "rover.total_photos", "rover.cameras"},
    "mmgis_M20_waypoints": {"properties.lon", "properties.lat"},
    "mmgis_MSL_waypoints": {"properties.lon", "properties.lat", "properties.yaw_rad", "properties.dist_total_m"},
}


def test_each_field_list_is_what_the_real_records_carry():
    records = real_records()
    assert set(records) == set(drift.EXPECTED)  # every list is checked against real data
    for source, expected in drift.EXPECTED.items():
        shapes = [shape(r) for r in records[source]]
        seen: dict[str, set[str]] = {}
        for s in shapes:
            for path, kind in s.items():
                seen.setdefault(path, set()).add(kind)
        assert set(expected.types) == set(seen), source  # no invented field, none left out
        for path, allowed in expected.types.items():
            assert seen[path] <= allowed, (source, path)
            extra = set(allowed - seen[path])
            assert not extra or acceptable_widening(source, path, extra), (source, path, extra)
        required = {p for pairs in expected.required.values() for _, p in pairs}
        in_every = {p for p in seen if all(p in s for s in shapes)}
        assert required <= in_every, source  # a required field is in every real record
        assert in_every - required == DOCUMENTED_OPTIONAL.get(source, set()), source  # and the others say why


def test_ingenuity_reads_the_mars2020_field_list():
    assert drift.expected_for("jpl_ingenuity") is drift.EXPECTED["jpl_mars2020"]
    assert drift.expected_for("no_such_source") is None


# -- drifted answers: every key named ------------------------------------------------------------
def test_the_nov_2025_perseverance_drift_is_named_key_by_key_and_no_photo_is_lost():
    body = load(sol("mars2020", 889))
    drifted = copy.deepcopy(body)
    for image in drifted["images"]:
        image["imageid"] = int("".join(c for c in image["imageid"] if c.isdigit())[:15])  # retyped
        image["date_taken_utc"] = None  # turned null
        image["dateTakenMars"] = image.pop("date_taken_mars")  # renamed
        image["processing_level"] = "L1"  # unknown
        del image["title"]  # missing
        image["extended"]["sclk"] = float(image["extended"]["sclk"])  # a nested retype
    n = len(body["images"])
    parsed = JplMars2020Source.parse_pages([("page-0001.json", drifted)], ingested_at=NOW)
    assert len(parsed.rows) == n and parsed.rejects == []  # drift never drops a photo
    assert all(r["date_taken_utc"] is None for r in parsed.rows)
    found = parsed.drift
    assert found.drifted and found.records == n
    assert found.to_dict()["retyped"] == {
        "date_taken_utc": {"seen": {"null": found.checked}, "expected": "str"},
        "extended.sclk": {"seen": {"float": found.checked}, "expected": "str"},
        "imageid": {"seen": {"int": found.checked}, "expected": "str"},
    }
    assert dict(found.missing) == {"date_taken_mars": found.checked, "title": found.checked}
    assert dict(found.unknown) == {"dateTakenMars": found.checked, "processing_level": found.checked}
    clean = JplMars2020Source.parse_pages([("page-0001.json", body)], ingested_at=NOW)
    assert not clean.drift.drifted


def test_a_drifted_msl_item_and_a_new_object_are_named_once():
    body = load(sol("msl", 86))
    first = body["items"][0]
    first["id"] = str(first["id"])
    first["extended"]["mastAz"] = first["extended"].pop("mast_az")
    first["camera"] = {"instrument": "NAV_LEFT_A", "filter": "none"}  # a new object: one key
    found = JplMslSource.parse_pages([("page-0001.json", body)], ingested_at=NOW).drift
    assert found.keys() == [
        "missing extended.mast_az ×1",
        "retyped id: str ×1 (expected int)",
        "unknown camera ×1",
        "unknown extended.mastAz ×1",
    ]


def test_a_drifted_v1_page_names_nested_keys_and_a_record_that_is_not_an_object():
    body = load(SNAPSHOT / "api" / "photos" / "curiosity_sol0001.json")
    for p in body["photos"]:
        p["sol"] = str(p["sol"])
        p["camera"]["title"] = p["camera"].pop("name")
    found = drift.check(drift.EXPECTED["photos_api_v1"], [*body["photos"], ["not", "a", "photo"]], stride=1)
    n = len(body["photos"])
    assert found.keys() == [
        f"missing camera.name ×{n}",
        "retyped (record): array ×1 (expected object)",
        f"retyped sol: str ×{n} (expected int)",
        f"unknown camera.title ×{n}",
    ]


def test_one_changed_record_among_856_is_seen_though_only_a_sample_is_type_checked():
    photos_ = load(SNAPSHOT / "api" / "photos" / "curiosity_sol1000.json")["photos"]
    expected = drift.EXPECTED["photos_api_v1"]
    clean = drift.check(expected, photos_)
    assert clean.records == len(photos_) == 856 and not clean.drifted
    assert clean.checked == len(range(0, 856, drift.STRIDE)) == 14  # a sample: every STRIDE-th
    changed = copy.deepcopy(photos_)
    assert 5 % drift.STRIDE and 7 % drift.STRIDE  # neither is in the stride sample
    del changed[5]["earth_date"]
    changed[7]["thumbnail"] = True
    found = drift.check(expected, changed)
    assert dict(found.missing) == {"earth_date": 1} and dict(found.unknown) == {"thumbnail": 1}
    everywhere = copy.deepcopy(photos_)
    for p in everywhere:
        p["camera"]["id"] = str(p["camera"]["id"])
    assert drift.check(expected, everywhere).keys() == [f"retyped camera.id: str ×{clean.checked} (expected int)"]


def test_the_drift_check_type_checks_only_a_sample_of_a_uniform_page():
    """Bundled v1 sol 1000 (856 photos, one key set): the first record and every STRIDE-th are
    type-checked (14), not all 856; a page whose key sets differ adds the first of each set."""
    body = load(SNAPSHOT / "api" / "photos" / "curiosity_sol1000.json")
    expected, records = drift.EXPECTED["photos_api_v1"], photos_of(body)
    uniform = drift.check(expected, records)
    assert (uniform.records, uniform.checked) == (856, -(-856 // drift.STRIDE)) == (856, 14)
    odd = [dict(r) for r in records]
    odd[100]["new_field"] = 1  # a key set of its own, between samples
    mixed = drift.check(expected, odd)
    assert mixed.checked == 15 and mixed.keys() == ["unknown new_field ×1"]


def test_summary_names_keys_per_source_and_where():
    body = load(sol("mars2020", 890))
    bad = copy.deepcopy(body)
    for image in bad["images"]:
        image["imageid"] = 1
    real = sol_photos("perseverance", 890, "jpl_mars2020", [("page-0001.json", body)])
    drifted = sol_photos("perseverance", 891, "jpl_mars2020", [("page-0001.json", {"images": bad["images"]})])
    assert real.drift is not None and not real.drift.drifted and drifted.drift.drifted
    assert tuple(real.photos.schema.names) == PHOTO_ROW_KEYS
    result = _drift_check([real, drifted])
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    md = {k: getattr(v, "value", v) for k, v in result.metadata.items()}
    assert md["drifted_keys"] == f"jpl_mars2020: retyped imageid: int ×{drifted.drift.checked} (expected str)"
    assert md["where"] == "perseverance 891" and md["places_with_drift"] == 1
    assert md["records"] == 2 * len(body["images"]) and md["by_source"]["jpl_mars2020"]["records"] == md["records"]
    assert _drift_check([real]).passed


def test_row_keys_of_the_feeds_and_of_the_schema_agree():
    assert instruments.PHOTO_ROW_KEYS == PHOTO_ROW_KEYS


# -- through Dagster -------------------------------------------------------------------------------
def _materialize_sol(tmp_path: Path, server: ReplayServer, wh: Warehouse, number: int) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(SOL_PARTITIONS_NAME, [str(number)])
        sources = UpstreamSources(
            by_rover={"perseverance": "jpl_mars2020"},
            jpl_mars2020_url=server.jpl_mars2020_url,
            backoff_factor=0.01,
            rate_limit_dir=str(tmp_path / "rates"),
        )
        return dg.materialize(
            [photos],
            partition_key=dg.MultiPartitionKey({"rover": "perseverance", "sol": str(number)}),
            resources={"sources": sources, "warehouse": wh},
            instance=instance,
        )


def test_the_photos_step_reports_drift_of_the_fetched_sol_as_a_warn_check(tmp_path):
    """Over loopback: the real sol 890 answer passes; a drifted sol 889 warns naming each key, and
    its photos are all written (date_taken_utc null) — none skipped."""
    snap = tmp_path / "snap" / "jpl" / "mars2020"
    snap.mkdir(parents=True)
    shutil.copy(sol("mars2020", 890), snap)
    images = load(sol("mars2020", 889))["images"]
    for image in images:
        image["date_taken_utc"] = None
        image["title_text"] = image.pop("title")
    (snap / "sol0889_drifted.json").write_text(json.dumps({"images": images}))
    wh = Warehouse(root=str(tmp_path / "w"))
    with ReplayServer(tmp_path / "snap") as server:
        real = _materialize_sol(tmp_path, server, wh, 890)
        drifted = _materialize_sol(tmp_path, server, wh, 889)
    for result in (real, drifted):
        assert result.success
    [ok] = [e for e in real.get_asset_check_evaluations() if e.check_name == "schema_drift"]
    assert ok.passed and ok.asset_key == dg.AssetKey(["bronze", "photos"])
    [warned] = [e for e in drifted.get_asset_check_evaluations() if e.check_name == "schema_drift"]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    text = warned.metadata["drifted_keys"].value
    for key in ("missing title", "retyped date_taken_utc: null", "unknown title_text"):
        assert key in text, text
    table = wh.read_table("silver", "photos", where="sol = ?", params=[889])
    assert table.num_rows == len(images) and table.column("date_taken_utc").null_count == len(images)


def test_the_mmgis_silver_assets_warn_on_a_drifted_layer_copy(tmp_path):
    wh = Warehouse(root=str(tmp_path / "w"))
    wh.write_objects(
        "bronze/waypoints/rover=perseverance",
        {
            "M20_waypoints.json": (SNAPSHOT / "traverse" / "M20_waypoints_tosol1615.geojson").read_bytes(),
            "M20_traverse.json": (MMGIS_REAL / "M20_traverse_duclun_first150.geojson").read_bytes(),
        },
    )
    msl = load(MMGIS_REAL / "MSL_traverse_duclun_first300.geojson")
    for feature in msl["features"][:3]:
        feature["properties"]["length_m"] = feature["properties"].pop("Length")  # renamed on three legs
    wh.write_objects("bronze/waypoints/rover=curiosity", {"MSL_traverse.json": json.dumps(msl).encode()})
    with dg.instance_for_test() as instance:
        result = dg.materialize([silver_waypoints, silver_traverse], resources={"warehouse": wh}, instance=instance)
    assert result.success
    checks = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"waypoints", "traverse"} and checks["waypoints"].passed
    warned = checks["traverse"]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.metadata["drifted_keys"].value == (
        "mmgis_MSL_traverse: missing properties.Length ×3; unknown properties.length_m ×3"
    )
    assert warned.metadata["where"].value == "curiosity MSL_traverse.json"
