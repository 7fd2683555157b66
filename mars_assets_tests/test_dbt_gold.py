"""Gold through dbt for real (dbt-duckdb on a temporary warehouse): photo_gaps finds gaps."""

import io

import dagster as dg
import pyarrow.compute as pc

from mars_assets.cli import run_demo
from mars_assets.definitions import build_definitions
from mars_assets.lib.dbt import GoldTranslator, ensure_manifest
from mars_assets.resources import Warehouse
from mars_assets.settings import Settings
from mars_assets_tests.conftest import make_small_archive, open_catalog


def test_translator_puts_models_in_gold_and_links_sources_to_silver_assets():
    import json

    manifest = json.loads(ensure_manifest().read_text())
    t = GoldTranslator()
    model = next(n for n in manifest["nodes"].values() if n["name"] == "photo_gaps")
    assert t.get_asset_key(model) == dg.AssetKey(["gold", "photo_gaps"])
    source = next(s for s in manifest["sources"].values() if s["name"] == "photos")
    assert t.get_asset_key(source) == dg.AssetKey(["silver", "photos"])


def test_photo_gaps_reports_missing_sol_and_count_mismatch_when_silver_rows_go(tmp_path):
    archive = make_small_archive(tmp_path / "a", photos=("curiosity_sol0000.json", "curiosity_sol0001.json"), images=())
    wh_root, home = tmp_path / "w", tmp_path / "h"
    assert run_demo(archive, wh_root, wh_root / "landing", str(home), out=io.StringIO()) == 0
    con = open_catalog(str(wh_root / "warehouse.duckdb"))
    before = dict(con.sql("select sol, gap_status from gold.photo_gaps where sol in (0, 1)").fetchall())
    con.close()
    assert before == {0: "VALID", 1: "VALID"}

    wh = Warehouse(root=str(wh_root))
    sol0 = wh.read_table("silver", "photos", {"rover": "curiosity", "sol": 0})
    fewer = sol0.filter(pc.not_equal(sol0["camera"], "MARDI"))  # drop 3,684 MARDI rows
    wh.write_silver_table("photos", fewer, [("curiosity", 0)], {"dagster_run_id": "test"})
    wh.write_silver_table("photos", fewer.slice(0, 0), [("curiosity", 1)], {"dagster_run_id": "test"})  # sol 1 gone

    defs = build_definitions(Settings(warehouse=str(wh_root), landing=str(wh_root / "landing")))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance)
    assert result.success
    con = open_catalog(str(wh_root / "warehouse.duckdb"))
    after = dict(con.sql("select sol, gap_status from gold.photo_gaps where sol in (0, 1)").fetchall())
    assert after == {0: "PHOTO_COUNT_MISMATCH", 1: "MISSING_SOL"}
    assert con.sql("select silver_photos, manifest_photos from gold.photo_gaps where sol = 0").fetchone() == (18, 3702)
