"""``bronze/images``: the image bytes of each rover × sol, from the landing zone and from NASA hosts."""

import dataclasses
import hashlib
import warnings
from pathlib import PurePosixPath

import dagster as dg

from mars_assets.lib.bronze import RETRY
from mars_assets.partitions import rover_sol_of_key, rover_sol_partitions
from mars_assets.resources import ImageDownloader, LandingZone, Warehouse
from mars_assets.schemas import IMAGE_INDEX_NAME, MISSING, STORED, ImageIndexEntry, encode_image_index
from mars_assets.sources.http import ApiError
from mars_assets.sources.product_ids import ProductId, parse_product_id

#: Spirit and Opportunity: their v1 img_src no longer resolve (NASA_SOURCES.md §2).
MER_ROVERS = ("spirit", "opportunity")
MER_UNAVAILABLE = "unavailable: MER gallery images were removed from NASA servers in 2024 (PDS only)"


def _landed(landing: LandingZone, path: str, pid: ProductId, objects: dict[str, bytes]) -> ImageIndexEntry:
    name = f"{pid.product_id}{PurePosixPath(path).suffix.lower()}"
    entry = ImageIndexEntry(None, pid.product_id, pid.camera, "landing", f"landing:{path}", MISSING)
    try:
        objects[name] = landing.read(path)
    except FileNotFoundError as exc:
        return dataclasses.replace(entry, reason=f"landing file vanished: {exc}")
    return dataclasses.replace(entry, object=name, status=STORED)


def _downloaded(
    downloader: ImageDownloader, rover: str, photo: dict, name: str, objects: dict, dead_hosts: dict[str, str]
) -> ImageIndexEntry:
    url = photo["img_src"]
    host = url.split("/")[2] if "://" in url else ""
    entry = ImageIndexEntry(None, photo["product_id"], photo["camera"], "download", url, MISSING)
    if rover in MER_ROVERS:
        return dataclasses.replace(entry, reason=MER_UNAVAILABLE)
    if host in dead_hosts:
        return dataclasses.replace(entry, reason=f"host unreachable earlier in this run: {dead_hosts[host]}")
    try:
        objects[name] = downloader.fetch(url)
    except ApiError as exc:
        if exc.status == 0:
            dead_hosts[host] = str(exc)[:200]
        return dataclasses.replace(entry, reason=str(exc))
    return dataclasses.replace(entry, object=name, status=STORED)


def images_of_partition(
    warehouse: Warehouse,
    landing: LandingZone,
    downloader: ImageDownloader,
    rover: str,
    sol: int,
    landed: list[tuple[str, ProductId]],
    dead_hosts: dict[str, str],
) -> list[ImageIndexEntry]:
    """Store one partition's image bytes and its ``_index.json`` in bronze; returns the index
    (one :class:`~mars_assets.schemas.ImageIndexEntry` per attempt, SHA-256 of each stored image
    taken here at ingest, so silver need not hash every image again).

    ``landed``: ``(path, ProductId)`` of landing-zone files for this partition. ``dead_hosts``:
    hosts that failed to connect earlier in the run (skipped, recorded missing).
    """
    objects: dict[str, bytes] = {}
    index = [_landed(landing, path, pid, objects) for path, pid in landed]
    photos = warehouse.read_table("silver", "photos", {"rover": rover, "sol": sol})
    todo = photos.to_pylist() if photos.num_rows else []
    limit = downloader.max_per_partition
    for photo in todo if limit < 0 else todo[:limit]:
        name = f"{photo['product_id']}{PurePosixPath(photo['img_src']).suffix.lower() or '.jpg'}"
        if name not in objects:
            index.append(_downloaded(downloader, rover, photo, name, objects, dead_hosts))
    index = [
        dataclasses.replace(e, sha256=hashlib.sha256(objects[e.object]).hexdigest()) if e.stored else e for e in index
    ]
    objects[IMAGE_INDEX_NAME] = encode_image_index(index)
    warehouse.write_objects(f"bronze/images/rover={rover}/sol={sol}", objects)
    return index


def _bronze_images(
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
        for e in images_of_partition(
            warehouse, landing, image_downloader, rover, sol, routed.get((rover, sol), []), dead_hosts
        ):
            totals["stored" if e.stored else "missing"] += 1
            if e.stored:
                totals["from_landing" if e.source == "landing" else "downloaded"] += 1
    return dg.MaterializeResult(metadata={**totals, "partitions": len(context.partition_keys)})


# BackfillPolicy on @asset is beta in Dagster 1.13 (not deprecated): its notice is kept out of
# every command's output, here only.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    bronze_images = dg.asset(
        key=["bronze", "images"],
        group_name="bronze",
        kinds={"jpeg", "png"},
        partitions_def=rover_sol_partitions,
        deps=[dg.AssetKey(["silver", "photos"])],
        retry_policy=RETRY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        automation_condition=dg.AutomationCondition.eager(),
        description="Image bytes of each rover × sol: files in the landing zone whose product id names the "
        "partition, plus downloads of the partition's img_src (NASA hosts only, at most max_per_partition). "
        "Each attempt is listed in _index.json with its status; a failed download is 'missing', not fatal.",
    )(_bronze_images)
