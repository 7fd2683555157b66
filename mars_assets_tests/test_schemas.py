"""The table contracts: silver schemas with described columns, the bronze image index, the
Dagster column schema built from them, and the gold dbt models' documented columns and types."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
import yaml

from mars_assets.imaging import IMAGE_STATS_SCHEMA
from mars_assets.metadata import column_schema
from mars_assets.schemas import (
    IMAGE_STATS_TABLE_SCHEMA,
    PHOTO_ROW_KEYS,
    PHOTOS_SCHEMA,
    QUARANTINE_SCHEMA,
    SILVER_SCHEMAS,
    ImageIndexEntry,
    decode_image_index,
    describe,
    encode_image_index,
)

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt"
GOLD_DIR = DBT_DIR / "models" / "gold"
GOLD_MODELS = sorted(p.stem for p in GOLD_DIR.glob("*.sql"))

STORED = ImageIndexEntry(
    object="0050ML0002300290102177E01_DRCL.jpg",
    product_id="0050ML0002300290102177E01_DRCL",
    camera="MAST",
    source="landing",
    uri="landing:msl/0050ML0002300290102177E01_DRCL.JPG",
    status="stored",
    reason=None,
    sha256="ab" * 32,
)
MISSING = ImageIndexEntry(
    object=None,
    product_id="NLF_0100_0675828717_276ECM_N0040218NCAM00503_01_295J",
    camera="NAVCAM_LEFT",
    source="download",
    uri="https://mars.nasa.gov/mars2020-raw-images/x.png",
    status="missing",
    reason="HTTP 404",
)


# -- silver ---------------------------------------------------------------------------------
def test_silver_schemas_name_every_silver_table_and_quarantines_share_one_schema():
    assert set(SILVER_SCHEMAS) == {
        "photos",
        "photo_quarantine",
        "rovers",
        "cameras",
        "manifest_sols",
        "waypoints",
        "traverse",
        "landing_files",
        "images",
        "image_stats",
        "image_quarantine",
        "image_quality",
    }
    assert SILVER_SCHEMAS["photo_quarantine"] is SILVER_SCHEMAS["image_quarantine"] is QUARANTINE_SCHEMA


@pytest.mark.parametrize("table", sorted(SILVER_SCHEMAS))
def test_every_silver_column_has_a_description(table):
    undescribed = [name for name, _type, description in describe(SILVER_SCHEMAS[table]) if not description]
    assert undescribed == []


def test_photo_row_keys_are_the_photos_columns_in_order():
    assert tuple(PHOTOS_SCHEMA.names) == PHOTO_ROW_KEYS
    assert PHOTO_ROW_KEYS[:3] == ("photo_id", "rover", "sol") and PHOTO_ROW_KEYS[-1] == "camera_known"


def test_image_stats_table_is_the_image_keys_then_the_statistics_with_the_stats_version():
    keys = ["image_id", "product_id", "rover", "sol", "camera"]
    assert IMAGE_STATS_TABLE_SCHEMA.names == keys + IMAGE_STATS_SCHEMA.names
    assert IMAGE_STATS_TABLE_SCHEMA.metadata == IMAGE_STATS_SCHEMA.metadata
    for field in IMAGE_STATS_SCHEMA:
        assert IMAGE_STATS_TABLE_SCHEMA.field(field.name).equals(field, check_metadata=True)


def test_describe_gives_name_arrow_type_and_description_in_column_order():
    rows = describe(PHOTOS_SCHEMA)
    assert [r[0] for r in rows] == PHOTOS_SCHEMA.names
    assert rows[0][:2] == ("photo_id", "int64")
    assert dict((n, t) for n, t, _d in rows)["ingested_at"] == "timestamp[us, tz=UTC]"
    assert "https" in dict((n, d) for n, _t, d in rows)["img_src"]


def test_the_contracts_module_imports_without_dagster():
    code = "import sys, mars_assets.schemas; print('dagster' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


# -- Dagster column schema --------------------------------------------------------------------
def test_column_schema_has_every_photo_column_with_its_type_and_description():
    schema = column_schema(PHOTOS_SCHEMA)
    assert [c.name for c in schema.columns] == PHOTOS_SCHEMA.names
    assert [c.type for c in schema.columns] == [str(f.type) for f in PHOTOS_SCHEMA]
    assert all(c.description for c in schema.columns)


def test_column_schema_refuses_a_field_without_description_naming_it():
    schema = pa.schema([pa.field("a", pa.int64(), metadata={"description": "A."}), pa.field("b", pa.string())])
    with pytest.raises(ValueError, match="'b'"):
        column_schema(schema)


def test_column_schema_refuses_a_blank_description():
    schema = pa.schema([pa.field("a", pa.int64(), metadata={"description": "  "})])
    with pytest.raises(ValueError, match="'a'"):
        column_schema(schema)


# -- bronze image index -------------------------------------------------------------------------
def test_image_index_round_trips_through_encode_and_decode():
    body = encode_image_index([STORED, MISSING])
    assert decode_image_index(body) == [STORED, MISSING]
    assert decode_image_index(body.decode()) == [STORED, MISSING]


def test_image_index_body_is_the_json_list_bronze_wrote_before():
    entry = {
        "object": None,
        "product_id": "p",
        "camera": None,
        "source": "download",
        "uri": "https://mars.nasa.gov/p.jpg",
        "status": "missing",
        "reason": "HTTP 404",
        "sha256": None,
    }
    assert encode_image_index([ImageIndexEntry.from_dict(entry)]) == json.dumps([entry], indent=1).encode()
    assert list(json.loads(encode_image_index([STORED]))[0]) == list(entry)  # key order kept


def test_an_old_index_without_sha256_decodes_with_sha256_none():
    old = [{k: v for k, v in STORED.to_dict().items() if k != "sha256"}]
    (entry,) = decode_image_index(json.dumps(old, indent=1).encode())
    assert entry.sha256 is None
    assert entry.stored and entry.object == STORED.object


@pytest.mark.parametrize(
    "change, error",
    [({"status": "pending"}, ValueError), ({"object": None}, ValueError), ({"uri": ...}, KeyError)],
)
def test_an_image_index_entry_with_a_bad_status_no_object_or_no_uri_is_refused(change, error):
    data = {**STORED.to_dict(), **change}
    data = {k: v for k, v in data.items() if v is not ...}
    with pytest.raises(error):
        decode_image_index(json.dumps([data]))


def test_an_image_index_that_is_not_a_list_of_objects_is_refused():
    with pytest.raises(ValueError):
        decode_image_index(b'{"object": "x"}')


# -- gold ---------------------------------------------------------------------------------------
def gold_yml_models() -> dict[str, list[dict]]:
    """Model name → its documented columns, from every yml of the gold models."""
    models: dict[str, list[dict]] = {}
    for path in sorted(GOLD_DIR.glob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            models[model["name"]] = model.get("columns") or []
    return models


_JINJA = re.compile(r"\{\{(.*?)\}\}", re.S)


def select_list(model: str) -> list[str]:
    """Output column names of a gold model's final SELECT (sqlglot, DuckDB dialect): source()
    and ref() become table names, config() nothing, any other Jinja expression NULL."""

    def plain(match: re.Match) -> str:
        inner = match.group(1).strip()
        if rel := re.fullmatch(r"(?:source|ref)\((.*)\)", inner, re.S):
            return "_".join(re.findall(r"['\"](\w+)['\"]", rel.group(1)))
        return "" if inner.startswith("config(") else "NULL"

    sql = _JINJA.sub(plain, re.sub(r"\{#.*?#\}", "", (GOLD_DIR / f"{model}.sql").read_text(), flags=re.S))
    return sqlglot.parse_one(sql, dialect="duckdb").named_selects


def test_every_gold_model_is_documented_in_the_yml():
    assert GOLD_MODELS  # the glob found the models
    assert sorted(gold_yml_models()) == GOLD_MODELS


@pytest.mark.parametrize("model", GOLD_MODELS)
def test_every_gold_column_has_a_duckdb_data_type_and_a_description(model):
    columns = gold_yml_models()[model]
    assert columns
    for column in columns:
        assert str(column.get("description") or "").strip(), f"{model}.{column['name']} has no description"
        data_type = str(column.get("data_type") or "").strip()
        assert data_type, f"{model}.{column['name']} has no data_type"
        duckdb.sql(f"select cast(null as {data_type})")  # a type DuckDB knows


@pytest.mark.parametrize("model", GOLD_MODELS)
def test_the_gold_yml_lists_the_columns_of_the_models_select_in_order(model):
    selected = select_list(model)
    assert "*" not in selected
    assert [c["name"] for c in gold_yml_models()[model]] == selected


def test_dagster_dbt_gives_each_gold_asset_the_documented_column_schema(tmp_path):
    """dbt parse of the project, then the assets dagster-dbt builds from its manifest."""
    from dagster_dbt import dbt_assets

    dbt = Path(sys.executable).parent / "dbt"
    parse = subprocess.run(
        [str(dbt), "parse", "--quiet", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
        + ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert parse.returncode == 0, parse.stdout[-3000:] + parse.stderr[-3000:]

    @dbt_assets(manifest=tmp_path / "target" / "manifest.json")
    def gold(context):
        yield from ()

    schemas = {s.key.path[-1]: s.metadata["dagster/column_schema"] for s in gold.specs if s.key.path[0] == "gold"}
    assert sorted(schemas) == GOLD_MODELS
    for model, columns in gold_yml_models().items():
        got = [(c.name, c.type, c.description) for c in schemas[model].columns]
        assert got == [(c["name"], c["data_type"], c["description"]) for c in columns]


# -- against a whole demo run -------------------------------------------------------------------
def parquet_columns(path: Path) -> list[tuple[str, str]]:
    con = duckdb.connect()
    rows = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()  # a parameter, not pasted
    return [(r[0], r[1]) for r in rows]


@pytest.mark.slow
def test_gold_parquet_has_exactly_the_documented_columns_and_types(full_demo):
    warehouse, _home, _out = full_demo
    for model, columns in gold_yml_models().items():
        documented = [(c["name"], str(c["data_type"]).upper()) for c in columns]
        assert parquet_columns(warehouse / "gold" / model / "part-0.parquet") == documented, model


@pytest.mark.slow
def test_silver_delta_tables_and_their_files_have_the_schemas_columns_and_types(full_demo):
    from deltalake import DeltaTable

    from mars_assets.resources.delta_tables import PARTITIONED_TABLES

    warehouse, _home, _out = full_demo
    for table, schema in SILVER_SCHEMAS.items():
        delta = DeltaTable(str(warehouse / "silver" / table))
        stored = pa.schema(delta.schema().to_arrow())
        assert [(f.name, normal(f.type)) for f in stored] == [(f.name, normal(f.type)) for f in schema], table
        partition = set(delta.metadata().partition_columns)  # rover of rover × sol tables: in the folder name
        assert partition == ({"rover"} if table in PARTITIONED_TABLES else set()), table
        expected = [(f.name, normal(f.type)) for f in schema if f.name not in partition]
        for uri in delta.file_uris():
            path = unquote(uri.removeprefix("file://"))
            assert [(f.name, normal(f.type)) for f in pq.read_schema(path)] == expected, uri


def normal(t: pa.DataType) -> str:
    """A type's text without the element name of lists (Arrow says ``item``, Delta ``element``)."""
    return str(t).replace("<element: ", "<item: ")
