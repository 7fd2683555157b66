"""Bronze: verbatim source responses and image bytes, keyed rover/sol. Never the API key.

Each response body is stored byte for byte as ``<name>.json`` beside ``<name>.meta.json``
(redacted URL, status, rate-limit headers, fetch time).
"""

import hashlib
import json
import warnings
from pathlib import PurePosixPath

import dagster as dg

from mars_assets.partitions import ROVERS, rover_sol_of, rover_sol_of_key, rover_sol_partitions
from mars_assets.resources import ApiError, ImageDownloader, LandingZone, MmgisClient, PhotosApiClient, Warehouse
from mars_assets.resources.http import ApiResponse, redact_url
from mars_assets.resources.jpl import JplMars2020Client, JplMslClient
from mars_assets.resources.sources import PhotoSources
from mars_assets.sources.mmgis import MMGIS_MISSIONS, traverse_path, waypoints_path
from mars_assets.sources.product_ids import parse_product_id

# BackfillPolicy on @asset is marked beta in Dagster 1.13 (not deprecated); keep the notice out
# of every command's output.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset`", category=dg.BetaWarning)

API_POOL = "nasa_api"
#: Answers of a retired or unreachable v1 API (connection failure, 404, 410): reference data
#: is then kept as last fetched instead of failing the run (the v1 API closed in Oct 2025).
RETIRED = (0, 404, 410)
#: Spirit and Opportunity: their v1 img_src no longer resolve (NASA_SOURCES.md §2).
MER_ROVERS = ("spirit", "opportunity")
RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def _pair(name: str, resp: ApiResponse) -> dict[str, bytes]:
    return {f"{name}.json": resp.body, f"{name}.meta.json": json.dumps(resp.sidecar(), indent=1).encode()}


@dg.asset(
    key=["bronze", "rovers"],
    group_name="bronze",
    kinds={"json"},
    pool=API_POOL,
    retry_policy=RETRY,
    description="Verbatim GET /rovers of the Photos API v1 (or mirror).",
)
def bronze_rovers(
    context: dg.AssetExecutionContext, photos_api: PhotosApiClient, warehouse: Warehouse
) -> dg.MaterializeResult:
    try:
        resp = photos_api.rovers()
    except ApiError as exc:
        if exc.status not in RETIRED:
            raise
        context.log.warning(f"rovers listing unavailable, previous bronze kept: {exc}")
        return dg.MaterializeResult(metadata={"unavailable": str(exc)})
    warehouse.write_objects("bronze/rovers", _pair("rovers", resp))
    return dg.MaterializeResult(
        metadata={
            "url": redact_url(resp.url),
            "bytes": len(resp.body),
            "x_ratelimit_remaining": resp.headers.get("X-RateLimit-Remaining", ""),
        }
    )


@dg.asset(
    key=["bronze", "manifests"],
    group_name="bronze",
    kinds={"json"},
    pool=API_POOL,
    retry_policy=RETRY,
    description="Verbatim GET /manifests/{rover} for every rover; a rover the source has no "
    "manifest for (HTTP 404) is recorded in metadata, not fatal.",
)
def bronze_manifests(
    context: dg.AssetExecutionContext, photos_api: PhotosApiClient, warehouse: Warehouse
) -> dg.MaterializeResult:
    found, missing = [], {}
    for rover in ROVERS:
        try:
            resp = photos_api.manifest(rover)
        except ApiError as exc:
            if exc.status == 404:  # the source has no manifest for the rover
                warehouse.write_objects(f"bronze/manifests/rover={rover}", {})
            elif exc.status not in RETIRED:
                raise
            missing[rover] = str(exc)  # retired or unreachable: the previous bronze is kept
            continue
        warehouse.write_objects(f"bronze/manifests/rover={rover}", _pair("manifest", resp))
        found.append(rover)
    if missing:
        context.log.warning(f"no manifest from the source for: {', '.join(missing)}")
    return dg.MaterializeResult(metadata={"rovers_with_manifest": found, "rovers_without_manifest": list(missing)})


@dg.asset(
    key=["bronze", "waypoints"],
    group_name="bronze",
    kinds={"json"},
    retry_policy=RETRY,
    description="Verbatim MMGIS waypoints and traverse GeoJSON of Perseverance (M20) and Curiosity (MSL).",
)
def bronze_waypoints(
    context: dg.AssetExecutionContext, mmgis: MmgisClient, warehouse: Warehouse
) -> dg.MaterializeResult:
    got = {}
    for rover, mission in MMGIS_MISSIONS.items():
        objects: dict[str, bytes] = {}
        for layer, path in (("waypoints", waypoints_path(mission)), ("traverse", traverse_path(mission))):
            try:
                objects.update(_pair(f"{mission}_{layer}", mmgis.get(path)))
            except ApiError as exc:
                if exc.status != 404:
                    raise
                context.log.warning(f"{rover} {layer}: {exc}")
        if objects:
            warehouse.write_objects(f"bronze/waypoints/rover={rover}", objects)
            got[rover] = sorted(k for k in objects if not k.endswith(".meta.json"))
    return dg.MaterializeResult(metadata={"layers_by_rover": got})


@dg.asset(
    key=["bronze", "photos"],
    group_name="bronze",
    kinds={"json"},
    partitions_def=rover_sol_partitions,
    pool=API_POOL,
    retry_policy=RETRY,
    description="Verbatim responses of one rover × sol from the rover's configured source: pages of "
    "GET /rovers/{rover}/photos?sol={sol}&page=N (v1 API or mirror, 25 a page), or the JPL "
    "raw-image feed (Perseverance RSS API, Curiosity raw_image_items).",
)
def bronze_photos(
    context: dg.AssetExecutionContext,
    photo_sources: PhotoSources,
    photos_api: PhotosApiClient,
    jpl_mars2020: JplMars2020Client,
    jpl_msl: JplMslClient,
    warehouse: Warehouse,
) -> dg.MaterializeResult:
    rover, sol = rover_sol_of(context)
    source = photo_sources.source_for(rover)
    fetch = {
        "photos_api_v1": lambda: photos_api.photo_pages(rover, sol),
        "jpl_mars2020": lambda: jpl_mars2020.sol_pages(sol),
        "jpl_msl": lambda: jpl_msl.sol_pages(sol),
    }[source]
    pages = fetch()
    objects: dict[str, bytes] = {}
    for i, resp in enumerate(pages, start=1):
        objects[f"page-{i:04d}.json"] = resp.body
        objects[f"page-{i:04d}.meta.json"] = json.dumps({**resp.sidecar(), "source": source}, indent=1).encode()
    warehouse.write_objects(f"bronze/photos/rover={rover}/sol={sol}", objects)
    last = pages[-1].headers.get("X-RateLimit-Remaining", "") if pages else ""
    return dg.MaterializeResult(metadata={"source": source, "pages": len(pages), "x_ratelimit_remaining": last})


@dg.asset(
    key=["bronze", "images"],
    group_name="bronze",
    kinds={"jpeg", "png"},
    partitions_def=rover_sol_partitions,
    deps=[dg.AssetKey(["silver", "photos"])],
    retry_policy=RETRY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    automation_condition=dg.AutomationCondition.eager(),
    description="Image bytes of each rover × sol: files in the landing zone whose product id names the "
    "partition, plus downloads of the partition's img_src (NASA hosts only, at most "
    "max_per_partition). Each attempt is listed in _index.json with its status; a failed "
    "download is 'missing', not fatal.",
)
def bronze_images(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone, image_downloader: ImageDownloader
) -> dg.MaterializeResult:
    routed: dict[tuple[str, int], list] = {}
    for f in landing.list_images():
        pid = parse_product_id(f.path)
        if pid.rover is not None and pid.sol is not None:
            routed.setdefault((pid.rover, pid.sol), []).append((f.path, pid))
    dead_hosts: dict[str, str] = {}
    totals = {"stored": 0, "missing": 0, "from_landing": 0, "downloaded": 0}
    for key in context.partition_keys:
        rover, sol = rover_sol_of_key(key)
        index = images_of_partition(
            warehouse, landing, image_downloader, rover, sol, routed.get((rover, sol), []), dead_hosts
        )
        for e in index:
            totals["stored" if e["status"] == "stored" else "missing"] += 1
            if e["status"] == "stored":
                totals["from_landing" if e["source"] == "landing" else "downloaded"] += 1
    return dg.MaterializeResult(metadata={**totals, "partitions": len(context.partition_keys)})


def images_of_partition(
    warehouse: Warehouse,
    landing: LandingZone,
    downloader: ImageDownloader,
    rover: str,
    sol: int,
    landed: list,
    dead_hosts: dict[str, str],
) -> list[dict]:
    """Store one partition's image bytes and ``_index.json`` in bronze; returns the index:
    one dict per attempt with object, product_id, camera, source, uri, status
    ("stored" | "missing"), reason and sha256 (hex SHA-256 of the stored bytes, taken here
    at ingest so that silver need not hash every image again; None when not stored).

    ``landed``: ``(path, ProductId)`` of landing-zone files for this partition.
    ``dead_hosts``: hosts that failed to connect earlier in the run (skipped, recorded missing).
    """
    objects: dict[str, bytes] = {}
    index: list[dict] = []
    for path, pid in landed:
        name = f"{pid.product_id}{PurePosixPath(path).suffix.lower()}"
        entry = {
            "object": None,
            "product_id": pid.product_id,
            "camera": pid.camera,
            "source": "landing",
            "uri": f"landing:{path}",
            "status": "missing",
            "reason": None,
            "sha256": None,
        }
        try:
            objects[name] = landing.read(path)
            entry.update(object=name, status="stored")
        except FileNotFoundError as exc:
            entry["reason"] = f"landing file vanished: {exc}"
        index.append(entry)
    photos = warehouse.read_table("silver", "photos", {"rover": rover, "sol": sol})
    limit = downloader.max_per_partition
    todo = photos.to_pylist() if photos.num_rows else []
    for photo in todo if limit < 0 else todo[:limit]:
        url = photo["img_src"]
        host = url.split("/")[2] if "://" in url else ""
        name = f"{photo['product_id']}{PurePosixPath(url).suffix.lower() or '.jpg'}"
        if name in objects:
            continue
        entry = {
            "object": None,
            "product_id": photo["product_id"],
            "camera": photo["camera"],
            "source": "download",
            "uri": url,
            "status": "missing",
            "reason": None,
            "sha256": None,
        }
        if rover in MER_ROVERS:
            entry["reason"] = "unavailable: MER gallery images were removed from NASA servers in 2024 (PDS only)"
        elif host in dead_hosts:
            entry["reason"] = f"host unreachable earlier in this run: {dead_hosts[host]}"
        else:
            try:
                objects[name] = downloader.fetch(url)
                entry.update(object=name, status="stored")
            except ApiError as exc:
                entry["reason"] = str(exc)
                if exc.status == 0:
                    dead_hosts[host] = str(exc)[:200]
        index.append(entry)
    for entry in index:
        if entry["status"] == "stored":
            entry["sha256"] = hashlib.sha256(objects[entry["object"]]).hexdigest()
    objects["_index.json"] = json.dumps(index, indent=1).encode()
    warehouse.write_objects(f"bronze/images/rover={rover}/sol={sol}", objects)
    return index
