"""Silver: typed, cleaned, deduplicated Parquet tables.

Every table is written by :class:`~mars_assets.resources.WarehouseIOManager`; a row that
cannot be typed goes to a ``*_quarantine`` table with the reason, never silently away.
"""

import collections
import datetime as dt
import hashlib
import json
import time
from typing import Any

import dagster as dg
import pyarrow as pa

from mars_assets.imaging import IMAGE_STATS_SCHEMA, ImageFile
from mars_assets.partitions import EAGER_OVER_PARTITIONS, ROVERS, rover_sol_of, rover_sol_of_key, rover_sol_partitions
from mars_assets.resources import LandingZone, Warehouse
from mars_assets.resources.compute import ImageStatsCompute
from mars_assets.sources import jpl_mars2020, jpl_msl, photos_api
from mars_assets.sources.mmgis import parse_traverse, parse_waypoints
from mars_assets.sources.product_ids import parse_product_id

TS = pa.timestamp("us", tz="UTC")

#: One schema for every source; the columns after ingested_at come from the JPL feeds (null for v1).
PHOTOS_SCHEMA = pa.schema(
    [
        ("photo_id", pa.int64()),
        ("rover", pa.string()),
        ("sol", pa.int64()),
        ("earth_date", pa.date32()),
        ("camera", pa.string()),
        ("camera_id", pa.int32()),
        ("camera_full_name", pa.string()),
        ("img_src", pa.string()),
        ("product_id", pa.string()),
        ("source", pa.string()),
        ("ingested_at", TS),
        ("sample_type", pa.string()),
        ("date_taken_utc", TS),
        ("date_taken_mars", pa.string()),
        ("site", pa.int64()),
        ("drive", pa.int64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("img_src_small", pa.string()),
        ("img_src_medium", pa.string()),
        ("img_src_full_res", pa.string()),
        ("camera_known", pa.bool_()),
    ]
)
TRAVERSE_SCHEMA = pa.schema(
    [
        ("rover", pa.string()),
        ("sol", pa.int64()),
        ("from_rmc", pa.string()),
        ("to_rmc", pa.string()),
        ("length_m", pa.float64()),
        ("n_points", pa.int32()),
        ("start_lon", pa.float64()),
        ("start_lat", pa.float64()),
        ("end_lon", pa.float64()),
        ("end_lat", pa.float64()),
        ("sclk_start", pa.float64()),
        ("sclk_end", pa.float64()),
        ("geometry", pa.string()),
    ]
)
JPL_PARSERS = {"jpl_mars2020": jpl_mars2020.parse_pages, "jpl_msl": jpl_msl.parse_pages}
QUARANTINE_SCHEMA = pa.schema(
    [
        ("rover", pa.string()),
        ("sol", pa.int64()),
        ("record_key", pa.string()),
        ("source", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("quarantined_at", TS),
    ]
)
ROVERS_SCHEMA = pa.schema(
    [
        ("rover", pa.string()),
        ("rover_id", pa.int32()),
        ("rover_name", pa.string()),
        ("landing_date", pa.date32()),
        ("launch_date", pa.date32()),
        ("status", pa.string()),
        ("max_sol", pa.int64()),
        ("max_date", pa.date32()),
        ("total_photos", pa.int64()),
        ("as_of", pa.string()),
    ]
)
CAMERAS_SCHEMA = pa.schema(
    [
        ("rover", pa.string()),
        ("camera", pa.string()),
        ("camera_full_name", pa.string()),
        ("camera_id", pa.int32()),
        ("listed_by_rover", pa.bool_()),
        ("photos_seen", pa.bool_()),
    ]
)
MANIFEST_SOLS_SCHEMA = pa.schema(
    [
        ("rover", pa.string()),
        ("sol", pa.int64()),
        ("earth_date", pa.date32()),
        ("total_photos", pa.int64()),
        ("cameras", pa.list_(pa.string())),
    ]
)
WAYPOINTS_SCHEMA = pa.schema(
    [
        ("rover", pa.string()),
        ("sol", pa.int64()),
        ("site", pa.int64()),
        ("drive", pa.int64()),
        ("rmc", pa.string()),
        ("lon", pa.float64()),
        ("lat", pa.float64()),
        ("elevation_m", pa.float64()),
        ("easting_m", pa.float64()),
        ("northing_m", pa.float64()),
        ("roll_deg", pa.float64()),
        ("pitch_deg", pa.float64()),
        ("yaw_deg", pa.float64()),
        ("tilt_deg", pa.float64()),
        ("dist_m", pa.float64()),
        ("dist_total_m", pa.float64()),
    ]
)
LANDING_FILES_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("bytes", pa.int64()),
        ("modified_at", TS),
        ("product_id", pa.string()),
        ("rover", pa.string()),
        ("sol", pa.int64()),
        ("camera", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
    ]
)
IMAGES_SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),
        ("product_id", pa.string()),
        ("rover", pa.string()),
        ("sol", pa.int64()),
        ("camera", pa.string()),
        ("source", pa.string()),
        ("uri", pa.string()),
        ("bytes", pa.int64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("mode", pa.string()),
        ("sha256", pa.string()),
        ("ingested_at", TS),
    ]
)
IMAGE_STATS_TABLE_SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),
        ("product_id", pa.string()),
        ("rover", pa.string()),
        ("sol", pa.int64()),
        ("camera", pa.string()),
    ]
    + list(IMAGE_STATS_SCHEMA),
    metadata=IMAGE_STATS_SCHEMA.metadata,  # mars_assets.image_stats_version, kept in each Parquet file
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _quarantine(rover: str | None, sol: int | None, key: str, source: str, reason: str, raw: Any) -> dict:
    return {
        "rover": rover,
        "sol": sol,
        "record_key": key,
        "source": source,
        "reason": reason,
        "raw": json.dumps(raw, default=str)[:4000] if raw is not None else None,
        "quarantined_at": _now(),
    }


def _source_of(warehouse: Warehouse, prefix: str) -> str:
    """The source recorded beside a partition's bronze pages (v1 when not recorded)."""
    names = [n for n in warehouse.list_objects(prefix) if n.endswith(".meta.json")]
    if not names:
        return photos_api.SOURCE_NAME
    return json.loads(warehouse.read_object(f"{prefix}/{names[0]}")).get("source", photos_api.SOURCE_NAME)


def _pages(warehouse: Warehouse, prefix: str) -> list[tuple[str, Any]]:
    """Decoded JSON of the bronze response bodies under ``prefix`` (not the .meta files)."""
    out = []
    for name in warehouse.list_objects(prefix):
        if name.endswith(".json") and not name.endswith(".meta.json") and not name.startswith("_"):
            out.append((name, json.loads(warehouse.read_object(f"{prefix}/{name}"))))
    return out


# -- photos -------------------------------------------------------------------------------
@dg.multi_asset(
    outs={
        "photos": dg.AssetOut(
            key=["silver", "photos"],
            io_manager_key="warehouse_io_manager",
            kinds={"parquet"},
            automation_condition=dg.AutomationCondition.eager(),
            description="One row per photo (Photos API v1 fields, typed; img_src in https; "
            "product_id from the file name), deduplicated on photo_id.",
        ),
        "photo_quarantine": dg.AssetOut(
            key=["silver", "photo_quarantine"],
            io_manager_key="warehouse_io_manager",
            kinds={"parquet"},
            automation_condition=dg.AutomationCondition.eager(),
            description="Photo records that could not be typed, with the reason.",
        ),
    },
    deps=[dg.AssetKey(["bronze", "photos"]), dg.AssetKey(["silver", "manifest_sols"])],
    partitions_def=rover_sol_partitions,
    group_name="silver",
    can_subset=False,
    check_specs=[
        dg.AssetCheckSpec(
            "matches_manifest",
            asset=["silver", "photos"],
            description="Where the manifest covers the sol, the photo count and camera set "
            "equal the manifest's total_photos and cameras.",
        ),
        dg.AssetCheckSpec(
            "no_quarantined_photos",
            asset=["silver", "photo_quarantine"],
            description="Every photo record of the partition could be typed.",
        ),
    ],
)
def silver_photos(context: dg.AssetExecutionContext, warehouse: Warehouse):
    rover, sol = rover_sol_of(context)
    now = _now()
    prefix = f"bronze/photos/rover={rover}/sol={sol}"
    pages = _pages(warehouse, prefix)
    source = _source_of(warehouse, prefix)
    rows: dict[int, dict] = {}
    bad: list[dict] = []
    duplicates = filtered = 0
    if source in JPL_PARSERS:
        parsed, rejects = JPL_PARSERS[source]([body for _n, body in pages], ingested_at=now)
        for r in rejects:
            if r.get("filtered"):
                filtered += 1
            else:
                bad.append(_quarantine(rover, sol, r.get("product_id"), source, r["reason"], r))
        candidates = [(source, row) for row in parsed]
    else:
        candidates = []
        for name, body in pages:
            for obj in photos_api.photos_of(body):
                try:
                    candidates.append((name, photos_api.parse_photo(obj, ingested_at=now)))
                except (KeyError, TypeError, ValueError) as exc:
                    bad.append(
                        _quarantine(
                            rover,
                            sol,
                            str(obj.get("id")) if isinstance(obj, dict) else None,
                            name,
                            f"{type(exc).__name__}: {exc}",
                            obj,
                        )
                    )
    for origin, row in candidates:
        if row["rover"] != rover or row["sol"] != sol:
            bad.append(
                _quarantine(
                    rover,
                    sol,
                    str(row["photo_id"]),
                    origin,
                    f"photo of {row['rover']} sol {row['sol']} in the {rover} sol {sol} response",
                    row,
                )
            )
            continue
        if row["photo_id"] in rows:
            duplicates += 1
        rows[row["photo_id"]] = row
    photos = pa.Table.from_pylist(sorted(rows.values(), key=lambda r: r["photo_id"]), schema=PHOTOS_SCHEMA)
    cams = sorted(set(photos.column("camera").to_pylist()))
    yield dg.Output(
        photos,
        output_name="photos",
        metadata={
            "source": source,
            "cameras": cams,
            "duplicates_dropped": duplicates,
            "filtered_not_full_frame": filtered,
        },
    )
    yield dg.Output(pa.Table.from_pylist(bad, schema=QUARANTINE_SCHEMA), output_name="photo_quarantine")
    yield manifest_check(warehouse, rover, sol, photos.num_rows, cams)
    yield dg.AssetCheckResult(
        check_name="no_quarantined_photos",
        asset_key=["silver", "photo_quarantine"],
        passed=not bad,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"quarantined": len(bad)},
    )


def manifest_check(warehouse: Warehouse, rover: str, sol: int, photos: int, cameras: list[str]) -> dg.AssetCheckResult:
    """Compare one partition's photos with the manifest's entry for the sol (if any)."""
    entry = None
    if warehouse.has_table("silver", "manifest_sols"):
        found = warehouse.read_table("silver", "manifest_sols", where="rover = ? and sol = ?", params=[rover, int(sol)])
        entry = found.to_pylist()[0] if found.num_rows else None
    if entry is None:
        return dg.AssetCheckResult(
            check_name="matches_manifest",
            asset_key=["silver", "photos"],
            passed=True,
            metadata={"manifest_covers_sol": False, "photos": photos},
        )
    ok = entry["total_photos"] == photos and sorted(entry["cameras"]) == cameras
    return dg.AssetCheckResult(
        check_name="matches_manifest",
        asset_key=["silver", "photos"],
        passed=ok,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "manifest_covers_sol": True,
            "photos": photos,
            "manifest_total_photos": entry["total_photos"],
            "cameras": ", ".join(cameras),
            "manifest_cameras": ", ".join(entry["cameras"]),
        },
    )


# -- reference tables ---------------------------------------------------------------------
@dg.asset(
    key=["silver", "manifest_sols"],
    io_manager_key="warehouse_io_manager",
    group_name="silver",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "manifests"])],
    description="Per rover × sol from the mission manifests: earth_date, total_photos, cameras.",
)
def silver_manifest_sols(warehouse: Warehouse) -> pa.Table:
    rows = []
    for rover in ROVERS:
        for _name, body in _pages(warehouse, f"bronze/manifests/rover={rover}"):
            rows.extend(photos_api.parse_manifest(body)[1])
    return pa.Table.from_pylist(rows, schema=MANIFEST_SOLS_SCHEMA)


#: Fixed facts of each mission (NASA mission pages; ids of the Photos API v1), so silver rovers
#: is complete even when no listing or manifest can be fetched (the v1 API is retired).
ROVER_REFERENCE = {
    "curiosity": {
        "rover": "curiosity",
        "rover_id": 5,
        "rover_name": "Curiosity",
        "landing_date": dt.date(2012, 8, 6),
        "launch_date": dt.date(2011, 11, 26),
        "status": "active",
    },
    "opportunity": {
        "rover": "opportunity",
        "rover_id": 6,
        "rover_name": "Opportunity",
        "landing_date": dt.date(2004, 1, 25),
        "launch_date": dt.date(2003, 7, 7),
        "status": "complete",
    },
    "spirit": {
        "rover": "spirit",
        "rover_id": 7,
        "rover_name": "Spirit",
        "landing_date": dt.date(2004, 1, 4),
        "launch_date": dt.date(2003, 6, 10),
        "status": "complete",
    },
    "perseverance": {
        "rover": "perseverance",
        "rover_id": 8,
        "rover_name": "Perseverance",
        "landing_date": dt.date(2021, 2, 18),
        "launch_date": dt.date(2020, 7, 30),
        "status": "active",
    },
}


def _rover_records(warehouse: Warehouse) -> list[tuple[dict, str]]:
    """Every rover object seen in bronze (listing, manifests, photos) with where it came from."""
    found = []
    for _n, body in _pages(warehouse, "bronze/rovers"):
        found += [(r, "rovers_listing") for r in photos_api.parse_rovers_listing(body)]
    for rover in ROVERS:
        for _n, body in _pages(warehouse, f"bronze/manifests/rover={rover}"):
            found.append((photos_api.parse_manifest(body)[0], "manifest"))
    for path in warehouse.list_objects("bronze/photos"):
        if path.endswith("page-0001.json"):
            body = json.loads(warehouse.read_object(f"bronze/photos/{path}"))
            if not isinstance(body, dict) or "photos" not in body:
                continue  # a JPL feed page: it carries no rover object
            photos = photos_api.photos_of(body)
            if photos and photos[0].get("rover"):
                found.append((photos_api.parse_rover(photos[0]["rover"]), "photos"))
    return found


@dg.asset(
    key=["silver", "rovers"],
    io_manager_key="warehouse_io_manager",
    group_name="silver",
    automation_condition=EAGER_OVER_PARTITIONS,
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "rovers"]), dg.AssetKey(["bronze", "manifests"]), dg.AssetKey(["bronze", "photos"])],
    description="One row per rover: the newest facts (by max_date) from the rovers listing, the "
    "manifests and the rover objects embedded in photos (long or short form).",
)
def silver_rovers(warehouse: Warehouse) -> pa.Table:
    best: dict[str, dict] = {r: {**ref, "as_of": "reference"} for r, ref in ROVER_REFERENCE.items()}
    for rec, origin in _rover_records(warehouse):
        cur = best.get(rec["rover"])
        rank = rec["max_date"] or dt.date.min
        if cur is None or rank > (cur.get("max_date") or dt.date.min):
            merged = {**(cur or {}), **{k: v for k, v in rec.items() if v is not None}}
            merged["as_of"] = origin
            best[rec["rover"]] = merged
        else:
            for k, v in rec.items():
                if cur.get(k) is None and v is not None:
                    cur[k] = v
    return pa.Table.from_pylist(sorted(best.values(), key=lambda r: r["rover"]), schema=ROVERS_SCHEMA)


@dg.asset(
    key=["silver", "cameras"],
    io_manager_key="warehouse_io_manager",
    group_name="silver",
    automation_condition=EAGER_OVER_PARTITIONS,
    kinds={"parquet"},
    deps=[dg.AssetKey(["silver", "rovers"]), dg.AssetKey(["silver", "photos"])],
    description="One row per rover × camera: the cameras each rover lists plus every camera seen in "
    "photos (an unknown camera is kept with listed_by_rover = false).",
)
def silver_cameras(warehouse: Warehouse) -> pa.Table:
    cams: dict[tuple[str, str], dict] = {}
    for rec, _origin in _rover_records(warehouse):
        for c in rec["cameras"]:
            cams.setdefault(
                (rec["rover"], c["name"]),
                {
                    "rover": rec["rover"],
                    "camera": c["name"],
                    "camera_full_name": c["full_name"],
                    "camera_id": None,
                    "listed_by_rover": True,
                    "photos_seen": False,
                },
            )
    if warehouse.has_table("silver", "photos"):
        with warehouse.connect() as con:
            seen = con.sql(
                f"select rover, camera, any_value(camera_full_name), min(camera_id) "
                f"from {warehouse.relation_sql('silver', 'photos')} group by all"
            ).fetchall()
        for rover, camera, full, cid in seen:
            row = cams.setdefault(
                (rover, camera),
                {
                    "rover": rover,
                    "camera": camera,
                    "camera_full_name": full,
                    "camera_id": None,
                    "listed_by_rover": False,
                },
            )
            row.update(camera_id=cid, photos_seen=True)
    return pa.Table.from_pylist(sorted(cams.values(), key=lambda r: (r["rover"], r["camera"])), schema=CAMERAS_SCHEMA)


@dg.asset(
    key=["silver", "waypoints"],
    io_manager_key="warehouse_io_manager",
    group_name="silver",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "waypoints"])],
    description="MMGIS rover localizations: one row per waypoint (lon/lat in degrees, distances in metres).",
)
def silver_waypoints(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pa.Table:
    rows, rejects = [], []
    for rover in ROVERS:
        for name, body in _pages(warehouse, f"bronze/waypoints/rover={rover}"):
            if "_waypoints" not in name:
                continue
            ok, bad = parse_waypoints(rover, body)
            rows += ok
            rejects += [{**r, "rover": rover, "object": name} for r in bad]
    if rejects:
        context.log.warning(f"{len(rejects)} waypoint features rejected: {rejects[:5]}")
    context.add_output_metadata({"rejected_features": len(rejects)})
    return pa.Table.from_pylist(rows, schema=WAYPOINTS_SCHEMA)


@dg.asset(
    key=["silver", "traverse"],
    io_manager_key="warehouse_io_manager",
    group_name="silver",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"parquet"},
    deps=[dg.AssetKey(["bronze", "waypoints"])],
    description="MMGIS traverse legs: one row per rover × sol × fromRMC × toRMC with its length in "
    "metres and its LineString as WKT (lon lat). Empty when no traverse layer was fetched.",
)
def silver_traverse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pa.Table:
    rows, rejects = [], []
    for rover in ROVERS:
        for name, body in _pages(warehouse, f"bronze/waypoints/rover={rover}"):
            if "_traverse" in name:
                ok, bad = parse_traverse(rover, body)
                rows += ok
                rejects += bad
    if rejects:
        context.log.warning(f"{len(rejects)} traverse features rejected: {rejects[:5]}")
    context.add_output_metadata({"rejected_features": len(rejects)})
    return pa.Table.from_pylist(rows, schema=TRAVERSE_SCHEMA)


@dg.asset(
    key=["silver", "landing_files"],
    io_manager_key="warehouse_io_manager",
    group_name="silver",
    kinds={"parquet"},
    description="Every image file in the landing zone with the rover, sol and camera its product id "
    "gives; a file whose sol cannot be known is status 'quarantined' with the reason.",
)
def silver_landing_files(landing: LandingZone) -> pa.Table:
    rows = []
    for f in landing.list_images():
        pid = parse_product_id(f.path)
        routed = pid.rover is not None and pid.sol is not None
        rows.append(
            {
                "path": f.path,
                "bytes": f.size,
                "modified_at": dt.datetime.fromtimestamp(f.mtime, dt.UTC),
                "product_id": pid.product_id,
                "rover": pid.rover,
                "sol": pid.sol,
                "camera": pid.camera,
                "status": "routed" if routed else "quarantined",
                "reason": None if routed else pid.reason,
            }
        )
    return pa.Table.from_pylist(rows, schema=LANDING_FILES_SCHEMA)


# -- images and image statistics ----------------------------------------------------------
#: Images per batch sent for statistics (batches span partitions). With IMAGE_BATCH_BYTES it
#: bounds the bytes held in memory by a run over many partitions.
IMAGE_BATCH = 64
IMAGE_BATCH_BYTES = 64 << 20


def _image_rows(warehouse: Warehouse, rover: str, sol: int, now: dt.datetime):
    """Yield ``(kind, row_or_blob)`` for one partition's bronze image index: a quarantine row,
    or ``(entry, image)`` with the image as an ImageFile (local warehouse, SHA-256 in the index:
    the statistics worker reads the file) or as its bytes (S3, or an index written before
    bronze_images hashed its images)."""
    prefix = f"bronze/images/rover={rover}/sol={sol}"
    index = (
        json.loads(warehouse.read_object(f"{prefix}/_index.json"))
        if "_index.json" in warehouse.list_objects(prefix)
        else []
    )
    for entry in index:
        if entry["status"] != "stored":
            yield (
                "bad",
                _quarantine(
                    rover,
                    sol,
                    entry["product_id"],
                    entry["source"],
                    f"{entry['status']}: {entry['reason']}",
                    {"uri": entry["uri"]},
                ),
            )
            continue
        path = f"{prefix}/{entry['object']}"
        local = warehouse.local_file(path)
        if local is not None and entry.get("sha256"):
            yield "blob", (entry, ImageFile.at(local))
        else:
            yield "blob", (entry, warehouse.read_object(path))


def image_tables(
    warehouse: Warehouse,
    partitions: list[tuple[str, int]],
    submit,
    batch_images: int = IMAGE_BATCH,
    batch_bytes: int = IMAGE_BATCH_BYTES,
):
    """Yield ``(rover, sol, images, image_stats, quarantine)`` row lists for each rover × sol
    of ``partitions``, in order, from its bronze images.

    Images go to ``submit(list[ImageInput]) -> handle`` (``handle.result()``: one stats dict or
    exception per blob, see ImageStatsCompute.session) in batches of up to ``batch_images``
    images / ``batch_bytes`` encoded bytes that span partitions, with one batch in flight
    while the next is read and finished partitions are written by the caller, so the
    workers stay busy through a backfill of many small partitions. A partition is yielded
    once all its images are done. An exception in a result becomes a quarantine row with
    its message; the partition's other rows are kept.
    """
    now = _now()
    parts: collections.deque = collections.deque()
    batch: list = []
    batch_size = 0
    inflight = None

    def collect(job) -> None:
        items, handle = job
        for (part, entry, data), res in zip(items, handle.result()):
            part["outstanding"] -= 1
            rover, sol = part["rover"], part["sol"]
            if isinstance(res, Exception):
                part["bad"].append(
                    _quarantine(
                        rover,
                        sol,
                        entry["product_id"],
                        entry["source"],
                        f"undecodable: {res}",
                        {"uri": entry["uri"], "bytes": len(data)},
                    )
                )
                continue
            key = {
                "image_id": entry["object"],
                "product_id": entry["product_id"],
                "rover": rover,
                "sol": sol,
                "camera": entry["camera"],
            }
            # sha256: bronze_images hashed the bytes at ingest; images of indexes written before it
            # did come as bytes (_image_rows) and are hashed here
            part["images"].append(
                {
                    **key,
                    "source": entry["source"],
                    "uri": entry["uri"],
                    "bytes": len(data),
                    "width": res["width"],
                    "height": res["height"],
                    "mode": res["mode"],
                    "sha256": entry.get("sha256") or hashlib.sha256(data).hexdigest(),
                    "ingested_at": now,
                }
            )
            part["stats"].append({**key, **res})

    def send() -> None:
        nonlocal batch, batch_size, inflight
        job = (batch, submit([d for *_, d in batch]))
        batch, batch_size = [], 0
        if inflight is not None:
            collect(inflight)
        inflight = job

    def ready():
        while parts and parts[0]["sealed"] and parts[0]["outstanding"] == 0:
            p = parts.popleft()
            yield p["rover"], p["sol"], p["images"], p["stats"], p["bad"]

    for rover, sol in partitions:
        part = {"rover": rover, "sol": sol, "images": [], "stats": [], "bad": [], "outstanding": 0, "sealed": False}
        parts.append(part)
        for kind, item in _image_rows(warehouse, rover, sol, now):
            if kind == "bad":
                part["bad"].append(item)
                continue
            batch.append((part, *item))
            part["outstanding"] += 1
            batch_size += len(item[1])
            if len(batch) >= batch_images or batch_size >= batch_bytes:
                send()
                yield from ready()
        part["sealed"] = True
        yield from ready()
    if batch:
        send()
    if inflight is not None:
        collect(inflight)
    yield from ready()


def _stats_problems(stats: list[dict]) -> list[str]:
    return [
        s["image_id"]
        for s in stats
        if not (
            0.0 <= s["brightness_norm"] <= 1.0
            and 0.0 <= s["hf_energy_fraction"] <= 1.0
            and sum(s["gray_hist"]) == s["width"] * s["height"]
        )
    ]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["silver", "images"],
            kinds={"parquet"},
            deps=[["bronze", "images"]],
            automation_condition=dg.AutomationCondition.eager(),
            description="One row per image file in bronze: product id, camera, source, size, "
            "width/height/mode and SHA-256.",
        ),
        dg.AssetSpec(
            ["silver", "image_stats"],
            kinds={"parquet"},
            deps=[["bronze", "images"]],
            automation_condition=dg.AutomationCondition.eager(),
            description="Per image: per-channel and grayscale intensity statistics, 256-bin "
            "histograms and 2-D FFT magnitude-spectrum summaries (mars_assets.imaging).",
        ),
        dg.AssetSpec(
            ["silver", "image_quarantine"],
            kinds={"parquet"},
            deps=[["bronze", "images"]],
            automation_condition=dg.AutomationCondition.eager(),
            description="Images that could not be had or decoded, with the reason.",
        ),
    ],
    partitions_def=rover_sol_partitions,
    group_name="silver",
    can_subset=False,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[
        dg.AssetCheckSpec(
            "statistics_in_range",
            asset=["silver", "image_stats"],
            description="One statistics row per image; brightness_norm and hf_energy_fraction "
            "in [0, 1]; 256-bin gray histogram summing to width × height.",
        ),
    ],
)
def silver_images(context: dg.AssetExecutionContext, warehouse: Warehouse, image_stats_compute: ImageStatsCompute):
    """Images, statistics and quarantine of every rover × sol of the run (one run can hold
    many partitions: a backfill runs as a single run). Each partition is written whole.
    Statistics are computed on the worker processes of ``image_stats_compute``."""
    totals = {"images": 0, "image_stats": 0, "image_quarantine": 0}
    stats_rows = problems = 0
    stats_wait = 0.0
    with image_stats_compute.session() as submit:

        class Timed:  # the time this step spends waiting for (or computing) statistics
            def __init__(self, handle) -> None:
                self.handle = handle

            def result(self) -> list:
                nonlocal stats_wait
                started = time.perf_counter()
                try:
                    return self.handle.result()
                finally:
                    stats_wait += time.perf_counter() - started

        for rover, sol, images, stats, bad in image_tables(
            warehouse, [rover_sol_of_key(k) for k in context.partition_keys], lambda b: Timed(submit(b))
        ):
            part = {"rover": rover, "sol": sol}
            warehouse.write_table("silver", "images", pa.Table.from_pylist(images, schema=IMAGES_SCHEMA), part)
            warehouse.write_table(
                "silver", "image_stats", pa.Table.from_pylist(stats, schema=IMAGE_STATS_TABLE_SCHEMA), part
            )
            warehouse.write_table(
                "silver", "image_quarantine", pa.Table.from_pylist(bad, schema=QUARANTINE_SCHEMA), part
            )
            totals["images"] += len(images)
            totals["image_stats"] += len(stats)
            totals["image_quarantine"] += len(bad)
            problems += len(_stats_problems(stats)) + (len(stats) != len(images))
            stats_rows += len(stats)
    for table, rows in totals.items():
        yield dg.MaterializeResult(
            asset_key=["silver", table],
            metadata={
                "dagster/row_count": rows,
                "partitions": len(context.partition_keys),
                "stats_wait_seconds": round(stats_wait, 3),
                "stats_workers": image_stats_compute.effective_workers,
            },
        )
    yield dg.AssetCheckResult(
        check_name="statistics_in_range",
        asset_key=["silver", "image_stats"],
        passed=problems == 0,
        metadata={"stats_rows": stats_rows, "problems": problems},
    )
