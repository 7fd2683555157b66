"""``silver/rovers``: one row per rover, the newest facts of every rover object seen in bronze."""

import datetime as dt

import dagster as dg

from mars_assets.defs.automation.conditions import EAGER_OVER_PARTITIONS
from mars_assets.lib.silver import rover_records, table_metadata, write_silver
from mars_assets.resources import Warehouse

#: Fixed facts of each mission (NASA mission pages; ids of the Photos API v1), so silver rovers
#: is complete even when no listing or manifest can be fetched (the v1 API is retired).
#: Ingenuity (no v1 id) landed with Perseverance and flew its last flight on 2024-01-18.
ROVER_REFERENCE = {
    "curiosity": ("Curiosity", 5, dt.date(2012, 8, 6), dt.date(2011, 11, 26), "active"),
    "opportunity": ("Opportunity", 6, dt.date(2004, 1, 25), dt.date(2003, 7, 7), "complete"),
    "spirit": ("Spirit", 7, dt.date(2004, 1, 4), dt.date(2003, 6, 10), "complete"),
    "perseverance": ("Perseverance", 8, dt.date(2021, 2, 18), dt.date(2020, 7, 30), "active"),
    "ingenuity": ("Ingenuity", None, dt.date(2021, 2, 18), dt.date(2020, 7, 30), "complete"),
}


def _reference(rover: str) -> dict:
    name, rover_id, landing, launch, status = ROVER_REFERENCE[rover]
    return {
        "rover": rover,
        "rover_id": rover_id,
        "rover_name": name,
        "landing_date": landing,
        "launch_date": launch,
        "status": status,
        "as_of": "reference",
    }


@dg.asset(
    key=["silver", "rovers"],
    group_name="silver",
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "rovers"]), dg.AssetKey(["bronze", "manifests"]), dg.AssetKey(["bronze", "photos"])],
    automation_condition=EAGER_OVER_PARTITIONS,
    metadata=table_metadata("rovers"),
    description="One row per rover: the newest facts (by max_date) from the rovers listing, the manifests "
    "and the rover objects embedded in photos (long or short form), over the missions' reference facts.",
)
def silver_rovers(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    best: dict[str, dict] = {r: _reference(r) for r in ROVER_REFERENCE}
    for rec, origin in rover_records(warehouse):
        cur = best.get(rec["rover"])
        if cur is None or (rec["max_date"] or dt.date.min) > (cur.get("max_date") or dt.date.min):
            merged = {**(cur or {}), **{k: v for k, v in rec.items() if v is not None}}
            merged["as_of"] = origin
            best[rec["rover"]] = merged
        else:
            for k, v in rec.items():
                if cur.get(k) is None and v is not None:
                    cur[k] = v
    return write_silver(context, warehouse, "rovers", sorted(best.values(), key=lambda r: r["rover"]))
