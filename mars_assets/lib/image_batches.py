"""Silver image rows of many rover × sol partitions, with the statistics computed in batches.

Images go to the statistics workers in batches that span partitions, one batch in flight
while the next is read and finished partitions are written, so the workers stay busy
through a backfill of many small partitions (mars_assets.resources.compute).
"""

from __future__ import annotations

import collections
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mars_assets.imaging import ImageFile, ImageInput
from mars_assets.lib.silver import now, quarantine_row, write_silver
from mars_assets.resources import Warehouse
from mars_assets.schemas import IMAGE_INDEX_NAME, ImageIndexEntry, decode_image_index

#: Images per batch sent for statistics. With IMAGE_BATCH_BYTES it bounds the bytes held in
#: memory by a run over many partitions.
IMAGE_BATCH = 64
IMAGE_BATCH_BYTES = 64 << 20


@dataclass
class PartitionImages:
    """The silver rows of one rover × sol, filled as its images' statistics come back."""

    rover: str
    sol: int
    images: list[dict] = field(default_factory=list)
    stats: list[dict] = field(default_factory=list)
    bad: list[dict] = field(default_factory=list)
    outstanding: int = 0
    sealed: bool = False

    @property
    def done(self) -> bool:
        return self.sealed and self.outstanding == 0


def bronze_images(warehouse: Warehouse, rover: str, sol: int) -> Iterator[tuple[ImageIndexEntry, ImageInput]]:
    """``(entry, image)`` for each image of a partition's bronze index, stored or not (``image``
    is None when the entry is missing). The image is an ImageFile when the warehouse is local and
    the index has its SHA-256 (the statistics worker reads the file), else its bytes (S3, or an
    index written before bronze hashed its images)."""
    prefix = f"bronze/images/rover={rover}/sol={sol}"
    if IMAGE_INDEX_NAME not in warehouse.list_objects(prefix):
        return
    for entry in decode_image_index(warehouse.read_object(f"{prefix}/{IMAGE_INDEX_NAME}")):
        if not entry.stored:
            yield entry, None
            continue
        path = f"{prefix}/{entry.object}"
        local = warehouse.local_file(path)
        yield entry, ImageFile.at(local) if local is not None and entry.sha256 else warehouse.read_object(path)


class TimedHandle:
    """A statistics batch whose ``result()`` adds the time spent waiting to ``timer.waited``."""

    def __init__(self, timer: TimedSubmit, handle: Any) -> None:
        self._timer, self._handle = timer, handle

    def result(self) -> list:
        started = time.perf_counter()
        try:
            return self._handle.result()
        finally:
            self._timer.waited += time.perf_counter() - started


class TimedSubmit:
    """``submit`` wrapped so that the time spent waiting for results is added to ``waited`` (s)."""

    def __init__(self, submit: Callable[[list[ImageInput]], Any]) -> None:
        self._submit = submit
        self.waited = 0.0

    def __call__(self, images: list[ImageInput]) -> TimedHandle:
        return TimedHandle(self, self._submit(images))


class ImageBatcher:
    """Turns the bronze images of ``partitions`` into silver rows, batch by batch.

    ``submit(list[ImageInput]) -> handle`` starts a batch (``handle.result()``: one stats dict
    or exception per image, see ImageStatsCompute.session). Iterate :meth:`run` for finished
    partitions in order. An exception in a result becomes a quarantine row with its message;
    the partition's other rows are kept.
    """

    def __init__(
        self,
        warehouse: Warehouse,
        submit: Callable[[list[ImageInput]], Any],
        batch_images: int = IMAGE_BATCH,
        batch_bytes: int = IMAGE_BATCH_BYTES,
    ) -> None:
        self.warehouse, self.submit = warehouse, submit
        self.batch_images, self.batch_bytes = batch_images, batch_bytes
        self.now = now()
        self._parts: collections.deque[PartitionImages] = collections.deque()
        self._batch: list[tuple[PartitionImages, ImageIndexEntry, ImageInput]] = []
        self._batch_bytes = 0
        self._inflight: tuple[list, Any] | None = None

    def run(self, partitions: list[tuple[str, int]]) -> Iterator[PartitionImages]:
        """Each partition of ``partitions`` once all its images are done, in order."""
        for rover, sol in partitions:
            part = PartitionImages(rover, sol)
            self._parts.append(part)
            for entry, image in bronze_images(self.warehouse, rover, sol):
                if image is None:
                    reason = f"{entry.status}: {entry.reason}"
                    part.bad.append(
                        quarantine_row(rover, sol, entry.product_id, entry.source, reason, {"uri": entry.uri})
                    )
                    continue
                self._add(part, entry, image)
                if len(self._batch) >= self.batch_images or self._batch_bytes >= self.batch_bytes:
                    self._send()
                    yield from self._ready()
            part.sealed = True
            yield from self._ready()
        if self._batch:
            self._send()
        if self._inflight is not None:
            self._collect(self._inflight)
        yield from self._ready()

    def _add(self, part: PartitionImages, entry: ImageIndexEntry, image: ImageInput) -> None:
        self._batch.append((part, entry, image))
        part.outstanding += 1
        self._batch_bytes += len(image)

    def _send(self) -> None:
        job = (self._batch, self.submit([image for *_, image in self._batch]))
        self._batch, self._batch_bytes = [], 0
        if self._inflight is not None:
            self._collect(self._inflight)
        self._inflight = job

    def _ready(self) -> Iterator[PartitionImages]:
        while self._parts and self._parts[0].done:
            yield self._parts.popleft()

    def _collect(self, job: tuple[list, Any]) -> None:
        items, handle = job
        for (part, entry, image), res in zip(items, handle.result(), strict=True):
            part.outstanding -= 1
            self._record(part, entry, image, res)

    def _record(self, part: PartitionImages, entry: ImageIndexEntry, image: ImageInput, res: Any) -> None:
        rover, sol = part.rover, part.sol
        if isinstance(res, Exception):
            raw = {"uri": entry.uri, "bytes": len(image)}
            part.bad.append(quarantine_row(rover, sol, entry.product_id, entry.source, f"undecodable: {res}", raw))
            return
        key = {"image_id": entry.object, "product_id": entry.product_id, "rover": rover, "sol": sol}
        key["camera"] = entry.camera
        # sha256: bronze hashed the bytes at ingest; images of older indexes came as bytes and are hashed here
        sha = entry.sha256 or hashlib.sha256(image).hexdigest()
        size = {"width": res["width"], "height": res["height"], "mode": res["mode"]}
        part.images.append(
            {
                **key,
                "source": entry.source,
                "uri": entry.uri,
                "bytes": len(image),
                **size,
                "sha256": sha,
                "ingested_at": self.now,
            }
        )
        part.stats.append({**key, **res})


def stats_problems(stats: list[dict]) -> list[str]:
    """Image ids whose statistics are out of range (the ``statistics_in_range`` check)."""
    return [
        s["image_id"]
        for s in stats
        if not (
            0.0 <= s["brightness_norm"] <= 1.0
            and 0.0 <= s["hf_energy_fraction"] <= 1.0
            and sum(s["gray_hist"]) == s["width"] * s["height"]
        )
    ]


#: The silver tables of the image assets, in PartitionImages order (images, stats, bad).
TABLES = ("images", "image_stats", "image_quarantine")
#: Finished partitions held before one commit per table: a commit costs 0.4–0.7 s on S3, so a
#: backfill commits many partitions at once; COMMIT_IMAGES bounds the rows held in memory.
COMMIT_PARTITIONS = 200
COMMIT_IMAGES = 5000


class PartitionCommits:
    """Finished PartitionImages gathered and written together: one Delta commit per table for a
    group of partitions (mars_assets.lib.silver.write_silver), with totals for the materialization."""

    def __init__(self, context: Any, warehouse: Warehouse) -> None:
        self._context, self._warehouse = context, warehouse
        self._held: list[PartitionImages] = []
        self.rows = dict.fromkeys(TABLES, 0)
        self.commits = 0
        self._last: dict[str, dict] = {}

    def add(self, part: PartitionImages) -> None:
        self._held.append(part)
        if len(self._held) >= COMMIT_PARTITIONS or sum(len(p.images) for p in self._held) >= COMMIT_IMAGES:
            self.flush()

    def flush(self) -> None:
        if not self._held:
            return
        keys = [(p.rover, p.sol) for p in self._held]
        for i, table in enumerate(TABLES):
            rows = [r for p in self._held for r in (p.images, p.stats, p.bad)[i]]
            result = write_silver(self._context, self._warehouse, table, rows, keys)
            self.rows[table] += len(rows)
            self._last[table] = dict(result.metadata or {})
        self.commits += 1
        self._held = []

    def metadata(self, table: str) -> dict:
        """Materialization metadata of ``table``: rows over all commits, commits, and the last
        commit's table version, files and bytes."""
        last = {k: v for k, v in self._last.get(table, {}).items() if k != "dagster/row_count"}
        return {**last, "dagster/row_count": self.rows[table], "commits": self.commits}
