"""``bronze/images``: the image bytes of each rover × sol, from the landing zone and from NASA hosts.

A run covers up to ``MARS_BATCH_SOLS`` partitions (:func:`~mars_assets.partitions.ingest_backfill_policy`).
Partitions are done one after another; the downloads of one partition run concurrently through a
:class:`~mars_assets.resources.downloads.DownloadPool` (at most ``max_concurrent_per_host`` in flight
per host), so a run holds one partition's images plus those in flight. An image stored by an earlier
run, unchanged (its SHA-256 in the previous ``_index.json`` matches the object), is reused without a
request. A partition that raises fails alone: the others are written and materialized.
"""

import dataclasses
import hashlib
import warnings
from concurrent.futures import Future
from pathlib import PurePosixPath

import dagster as dg

from mars_assets.executors import NASA_TAGS
from mars_assets.lib.bronze import RETRY
from mars_assets.lib.progress import Progress
from mars_assets.partitions import ingest_backfill_policy, rover_sol_of_key, rover_sol_partitions
from mars_assets.resources import ImageDownloader, LandingZone, Warehouse
from mars_assets.resources.downloads import DownloadPool, HostSkipped
from mars_assets.schemas import (
    IMAGE_INDEX_NAME,
    MISSING,
    STORED,
    ImageIndexEntry,
    decode_image_index,
    encode_image_index,
)
from mars_assets.sources.http import ApiError
from mars_assets.sources.product_ids import ProductId, parse_product_id

#: Spirit and Opportunity: their v1 img_src no longer resolve (NASA_SOURCES.md §2).
MER_ROVERS = ("spirit", "opportunity")
MER_UNAVAILABLE = "unavailable: MER gallery images were removed from NASA servers in 2024 (PDS only)"
#: Counts of a run in its materialization metadata; those of one partition are on the
#: partition's materialization as ``partition_<count>``.
COUNTS = ("stored", "missing", "from_landing", "downloaded", "reused")
#: Failed partitions named in the Failure's description (all of them are in its metadata).
SHOWN_FAILURES = 10


@dataclasses.dataclass
class PartitionImages:
    """What :func:`images_of_partition` stored: the index written, and how many stored
    downloads were reused from the previous run instead of fetched."""

    index: list[ImageIndexEntry]
    reused: int = 0

    def counts(self) -> dict[str, int]:
        """``{stored, missing, from_landing, downloaded, reused}`` (COUNTS); ``downloaded`` counts
        images fetched by this run, not the reused ones."""
        stored = [e for e in self.index if e.stored]
        landing = sum(e.source == "landing" for e in stored)
        missing, downloaded = len(self.index) - len(stored), len(stored) - landing - self.reused
        return dict(zip(COUNTS, (len(stored), missing, landing, downloaded, self.reused), strict=True))


def _landed(landing: LandingZone, path: str, pid: ProductId, objects: dict[str, bytes]) -> ImageIndexEntry:
    name = f"{pid.product_id}{PurePosixPath(path).suffix.lower()}"
    entry = ImageIndexEntry(None, pid.product_id, pid.camera, "landing", f"landing:{path}", MISSING)
    try:
        objects[name] = landing.read(path)
    except FileNotFoundError as exc:
        return dataclasses.replace(entry, reason=f"landing file vanished: {exc}")
    return dataclasses.replace(entry, object=name, status=STORED)


def _previous_downloads(warehouse: Warehouse, prefix: str, present: set[str]) -> dict[str, ImageIndexEntry]:
    """Stored downloads with a SHA-256 in the partition's previous ``_index.json`` whose object is
    still listed, by object name; {} without an index, or with one that does not decode (then
    everything is fetched again). A read error of the warehouse propagates."""
    if IMAGE_INDEX_NAME not in present:
        return {}
    try:
        entries = decode_image_index(warehouse.read_object(f"{prefix}/{IMAGE_INDEX_NAME}"))
    except (ValueError, KeyError, TypeError):
        return {}
    return {e.object: e for e in entries if e.stored and e.source == "download" and e.sha256 and e.object in present}


def _unchanged(warehouse: Warehouse, prefix: str, entry: ImageIndexEntry) -> bytes | None:
    """The bytes of a previously stored image when they still hash to its recorded SHA-256
    (so they are also of the same size), else None."""
    data = warehouse.read_object(f"{prefix}/{entry.object}")
    return data if hashlib.sha256(data).hexdigest() == entry.sha256 else None


def _download_entry(rover: str, photo: dict) -> ImageIndexEntry:
    entry = ImageIndexEntry(None, photo["product_id"], photo["camera"], "download", photo["img_src"], MISSING)
    return dataclasses.replace(entry, reason=MER_UNAVAILABLE) if rover in MER_ROVERS else entry


def _collect(entry: ImageIndexEntry, name: str, future: Future[bytes], objects: dict) -> ImageIndexEntry:
    """The entry of one download once ``future`` is done: stored, or missing with the reason
    (an ApiError or a host skipped); any other exception propagates (the partition fails)."""
    try:
        objects[name] = future.result()
    except (ApiError, HostSkipped) as exc:
        return dataclasses.replace(entry, reason=str(exc))
    return dataclasses.replace(entry, object=name, status=STORED)


def images_of_partition(
    warehouse: Warehouse,
    landing: LandingZone,
    pool: DownloadPool,
    rover: str,
    sol: int,
    landed: list[tuple[str, ProductId]],
) -> PartitionImages:
    """Store one partition's image bytes and its ``_index.json`` in bronze (the folder is written
    whole, reused images included); returns the index (one
    :class:`~mars_assets.schemas.ImageIndexEntry` per attempt, in order: landing files, then the
    partition's silver photos; SHA-256 of each stored image taken here at ingest, so silver need
    not hash every image again) and the number of reused images.

    ``landed``: ``(path, ProductId)`` of landing-zone files for this partition. Downloads (at most
    ``pool.downloader.max_per_partition``) go through ``pool`` concurrently and are all finished
    before the partition is written; a failed download (ApiError, a host dead earlier in the run)
    is a 'missing' entry with its reason. A download listed as stored in the previous index, with
    the same URL and an object that still hashes to its SHA-256, is reused without a request.
    Raises whatever else goes wrong (a warehouse error, a bad photo row); queued downloads of the
    partition are then cancelled.
    """
    prefix = f"bronze/images/rover={rover}/sol={sol}"
    objects: dict[str, bytes] = {}
    index: list[ImageIndexEntry | tuple[ImageIndexEntry, str, Future[bytes]]] = [
        _landed(landing, path, pid, objects) for path, pid in landed
    ]
    limit = pool.downloader.max_per_partition
    todo = []
    if limit != 0:  # no downloads wanted: no need to read the partition's photos
        photos = warehouse.read_table("silver", "photos", {"rover": rover, "sol": sol})
        todo = photos.to_pylist() if photos.num_rows else []
    present = set(warehouse.list_objects(prefix))
    previous = _previous_downloads(warehouse, prefix, present)
    wanted: dict[str, ImageIndexEntry] = {}  # name -> its entry, in photo order
    for photo in todo if limit < 0 else todo[:limit]:
        name = f"{photo['product_id']}{PurePosixPath(photo['img_src']).suffix.lower() or '.jpg'}"
        if name not in objects and name not in wanted:
            wanted[name] = _download_entry(rover, photo)
    candidates = {n: previous[n] for n, e in wanted.items() if n in previous and previous[n].uri == e.uri}
    futures: dict[str, Future[bytes]] = {}
    try:
        for name, entry in wanted.items():  # requests first, then the checks of reusable objects
            if entry.reason is None and name not in candidates:
                futures[name] = pool.submit(entry.uri)
        reused: dict[str, ImageIndexEntry] = {}
        for name, old in candidates.items():
            if (data := _unchanged(warehouse, prefix, old)) is not None:
                objects[name] = data
                reused[name] = dataclasses.replace(wanted[name], object=name, status=STORED, sha256=old.sha256)
            else:
                futures[name] = pool.submit(old.uri)
        for name, entry in wanted.items():
            if name in reused:
                index.append(reused[name])
            elif name in futures:
                index.append((entry, name, futures[name]))
            else:
                index.append(entry)  # not requested (MER)
        done = [_collect(*item, objects) if isinstance(item, tuple) else item for item in index]
    finally:
        for future in futures.values():
            future.cancel()
    done = [
        dataclasses.replace(e, sha256=hashlib.sha256(objects[e.object]).hexdigest()) if e.stored and not e.sha256 else e
        for e in done
    ]
    objects[IMAGE_INDEX_NAME] = encode_image_index(done)
    warehouse.write_objects(prefix, objects)
    return PartitionImages(done, reused=len(reused))


def _route_landing(landing: LandingZone) -> dict[tuple[str, int], list[tuple[str, ProductId]]]:
    """Landing-zone files by the ``(rover, sol)`` their product id names (others are left to silver)."""
    routed: dict[tuple[str, int], list] = {}
    for f in landing.list_images():
        pid = parse_product_id(f.path)
        if pid.rover is not None and pid.sol is not None:
            routed.setdefault((pid.rover, pid.sol), []).append((f.path, pid))
    return routed


def _failure(context: dg.AssetExecutionContext, done: dict, failed: dict[str, str], metadata: dict) -> dg.Failure:
    """Record the materialization of each partition in ``done`` (key → its ``partition_*`` counts,
    with the run's ``metadata``) and return the Failure naming the ``failed`` ones (key → error):
    Dagster marks those failed, the rest materialized. A step retry (RETRY) is allowed only when
    nothing was materialized (it would record the others twice)."""
    for key, counts in done.items():
        event = dg.AssetMaterialization(asset_key=context.asset_key, partition=key, metadata={**metadata, **counts})
        context.log_event(event)
    shown = "; ".join(f"{k}: {e}" for k, e in list(failed.items())[:SHOWN_FAILURES])
    more = f" (and {len(failed) - SHOWN_FAILURES} more)" if len(failed) > SHOWN_FAILURES else ""
    return dg.Failure(
        description=f"bronze/images: {len(failed)} of {len(done) + len(failed)} partitions failed: {shown}{more}",
        metadata={**metadata, "failed_partitions": dg.MetadataValue.json(failed)},
        allow_retries=not done,
    )


def _bronze_images(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone, image_downloader: ImageDownloader
) -> dg.MaterializeResult:
    routed = _route_landing(landing)
    keys = context.partition_keys
    # progress "images": index entries handled (stored or missing), per second and in total
    progress = Progress("bronze/images", len(keys), log=context.log.info, unit="images")
    totals = dict.fromkeys(COUNTS, 0)
    done: dict[str, dict[str, int]] = {}
    failed: dict[str, str] = {}
    with image_downloader.pool() as pool:
        for key in keys:
            rover, sol = rover_sol_of_key(key)
            try:
                part = images_of_partition(warehouse, landing, pool, rover, sol, routed.get((rover, sol), []))
            except Exception as exc:  # noqa: BLE001 - one partition fails alone, the run goes on
                failed[key] = f"{type(exc).__name__}: {exc}"[:500]
                context.log.error(f"bronze/images {key} failed: {failed[key]}")
                progress.advance(1, failed=1)
                continue
            counts = part.counts()
            totals = {k: totals[k] + counts[k] for k in COUNTS}
            done[key] = {f"partition_{k}": v for k, v in counts.items()}
            progress.advance(1, rows=len(part.index))
    metadata = {**totals, "partitions": len(keys), **progress.metadata()}
    if failed:
        raise _failure(context, done, failed, metadata)
    for key, counts in done.items():
        context.add_asset_metadata(counts, partition_key=key)
    return dg.MaterializeResult(metadata=metadata)


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
        op_tags=NASA_TAGS,
        retry_policy=RETRY,
        backfill_policy=ingest_backfill_policy(),
        automation_condition=dg.AutomationCondition.eager(),
        description="Image bytes of each rover × sol: files in the landing zone whose product id names the "
        "partition, plus downloads of the partition's img_src (NASA hosts only, at most max_per_partition, "
        "max_concurrent_per_host at once per host). An image already in bronze with the same SHA-256 is "
        "reused without a request. Each attempt is listed in _index.json with its status; a failed download "
        "is 'missing', not fatal; a partition that raises fails alone.",
    )(_bronze_images)
