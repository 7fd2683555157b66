"""Compute resources: where the per-image statistics run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pydantic import Field

from mars_assets.imaging import DEFAULT_MIN_PARALLEL_BYTES, ImageInput, ImageStatsPool, StatsResult
from mars_assets.imaging.parallel import statistics_or_error


class ImageStatsCompute(dg.ConfigurableResource):
    """How silver image statistics are computed: on ``workers`` processes
    (mars_assets.imaging.ImageStatsPool), serially below ``min_parallel_bytes`` of input
    per batch. Results are identical either way (see mars_assets.imaging.parallel).

    Env: MARS_IMAGE_WORKERS (see mars_assets.settings).
    """

    workers: int = Field(default=0, ge=0, description="worker processes; 0 = every core (os.cpu_count())")
    min_parallel_bytes: int = Field(
        default=DEFAULT_MIN_PARALLEL_BYTES,
        ge=0,
        description="batches with fewer encoded bytes than this run in-process",
    )

    @property
    def effective_workers(self) -> int:
        """The number of worker processes used (``workers``, or os.cpu_count() for 0)."""
        return self.workers or os.cpu_count() or 1

    @contextmanager
    def session(self) -> Iterator:
        """A ``submit(list[ImageInput]) -> handle`` callable (bytes or ImageFile; an ImageFile
        counts its size), valid inside the ``with`` block;
        ``handle.result()`` is the list of results (a stats row dict or the ImageDecodeError)
        in input order. Batches of at least ``min_parallel_bytes`` go to the worker pool and
        compute while the caller goes on; smaller ones are computed in this process at
        ``result()``. The pool starts on the first batch that needs it and stops when the
        block ends (one run reuses it across partitions)."""
        pool = ImageStatsPool(self.workers or None)

        def submit(blobs: list[ImageInput]):
            if pool.workers == 1 or len(blobs) < 2 or sum(len(b) for b in blobs) < self.min_parallel_bytes:
                return _InProcess(blobs)
            return pool.submit(blobs)

        try:
            yield submit
        finally:
            pool.close()


class _InProcess:
    """A batch computed serially when its result is asked for."""

    def __init__(self, blobs: list[ImageInput]) -> None:
        self._blobs = blobs

    def result(self) -> list[StatsResult]:
        return [statistics_or_error(b) for b in self._blobs]
