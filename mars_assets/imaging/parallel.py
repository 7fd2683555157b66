"""Image statistics for many images at once, spread over worker processes.

:func:`statistics_for_many` is the entry point the silver asset uses: bytes in,
one result per input out, in input order. Each result is either the row dict
of :func:`mars_assets.imaging.statistics_from_bytes` (the same values as
``image_statistics(decode_image(blob))``; a truncated JPEG is decoded as far as
it goes and says so in ``notes``, see
:func:`mars_assets.imaging.quality.statistics_allowing_truncation`) or the
:class:`ImageDecodeError` instance for an undecodable blob; any other exception
(a bug, MemoryError, a worker that died) is raised, not returned.

Processes, not threads: decode, FFT and numpy work release the GIL only in
parts, and separate processes also keep Pillow's and numpy's scratch memory
per worker. Workers are never a ``fork`` of the calling process (which in
Dagster is multithreaded): they come from the ``"forkserver"`` start method,
i.e. are forked from a small single-threaded server process that Python
starts once per calling process with this module preloaded (~0.4 s the first
time, ~15 ms for every later pool), or from ``"spawn"`` (a fresh interpreter
per worker, ~0.7 s per pool) where forkserver does not exist (Windows).
Blobs go out in chunks of about equal work (pixels, read from each image's
header), the same number of chunks for every worker, one pickle round trip per
chunk (not per image); only the row dicts (~10 kB each) come back. An image that
is a file on a local disk can be handed over as an :class:`ImageFile` (its path
and size) instead of its bytes: the worker reads it, so the calling process never
reads, pickles and pipes the bytes. On a virtual machine that matters more than
the copies suggest: every fresh page the caller's allocator takes for a read or a
pickle costs a page fault (~2.4 us per 4 kB page here, ~0.6 s per GB).

Each worker tunes glibc's allocator on start (``mallopt``: blocks up to 32 MiB
come from the heap, which is not trimmed below 256 MiB), so a worker reuses
the same memory image after image instead of taking fresh pages from the
kernel each time (which costs ~2.5 us per 4 kB page on this kind of virtual
machine; ~30% of the run time for large frames). The calling process's
allocator is never changed.
"""

from __future__ import annotations

import ctypes
import heapq
import io
import multiprocessing
import multiprocessing.forkserver
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from PIL import Image

from mars_assets.imaging.decode import MAX_DECODE_PIXELS, ImageDecodeError
from mars_assets.imaging.quality import statistics_allowing_truncation
from mars_assets.imaging.stats import check_radial_bins

__all__ = [
    "DEFAULT_MIN_PARALLEL_BYTES",
    "ImageFile",
    "ImageInput",
    "ImageStatsPool",
    "PendingStatistics",
    "StatsResult",
    "statistics_for_many",
    "statistics_or_error",
    "tune_allocator",
    "work_estimate",
]

StatsResult = dict | ImageDecodeError
"""One result of statistics_for_many: a stats row or the decode error."""


@dataclass(frozen=True)
class ImageFile:
    """An encoded image file on a local disk, passed by path: whichever process computes its
    statistics reads it (a worker of ImageStatsPool, or the caller when it runs serially).

    ``path``: the file's absolute path; ``size``: its length in bytes, which ``len()``
    returns, as it would for the bytes the file stands for (the byte totals of
    statistics_for_many and ImageStatsPool count it). Reading raises OSError
    (FileNotFoundError, ...) if the file is gone; that is raised, not returned as a result.
    """

    path: str
    size: int

    @classmethod
    def at(cls, path: str | os.PathLike) -> ImageFile:
        """The file at ``path`` with its current size (one ``stat``). Raises OSError."""
        path = os.fspath(path)
        return cls(path, os.stat(path).st_size)

    def __len__(self) -> int:
        return self.size

    def read(self) -> bytes:
        """The file's bytes. Raises OSError."""
        with open(self.path, "rb") as f:
            return f.read()


ImageInput = bytes | ImageFile
"""An input of the statistics functions here: the encoded image's bytes, or an ImageFile."""

DEFAULT_MIN_PARALLEL_BYTES = 8 << 20
"""Below this many input bytes in total, statistics_for_many stays in the
calling process. Images take ~25-65 ns per compressed byte, so 8 MiB is
~0.2-0.5 s of serial work, about what starting the workers costs the first
time in a process (~0.4 s with forkserver on a 2-core machine)."""

_MAX_CHUNK_BYTES = 32 << 20
_MAX_CHUNK_BLOBS = 32
_CHUNKS_PER_WORKER = 4
_FIXED_WORK = 30_000  # work_estimate's per-image cost, in gray-pixel units (~0.25 ms)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator() -> bool:
    """Make glibc malloc keep freed memory for reuse (see the module docstring).

    Called in every worker process at start-up. Returns False (and does
    nothing) where the C library is not glibc. Not called on the calling
    process by this module; benchmarks call it on themselves to time the
    serial path under the same conditions as a worker.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    ok = mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's maximum on 64-bit
    ok &= mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    return bool(ok)


def _init_worker() -> None:
    tune_allocator()


def _run_chunk(chunk: list[ImageInput], radial_bins: int) -> list[StatsResult]:
    return [statistics_or_error(blob, radial_bins) for blob in chunk]


def statistics_or_error(blob: ImageInput, radial_bins: int = 32) -> StatsResult:
    """statistics_from_bytes of ``blob`` (an ImageFile is read first), or the ImageDecodeError
    it raised (returned, not raised). A truncated JPEG that decodes as far as it goes gets its
    statistics with ``notes`` saying so (quality.statistics_allowing_truncation: the quality
    flag ``truncated``) instead of an error. Raises OSError if an ImageFile cannot be read."""
    data = blob.read() if isinstance(blob, ImageFile) else blob
    try:
        return statistics_allowing_truncation(data, radial_bins=radial_bins)
    except ImageDecodeError as exc:
        return exc


def _default_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    return workers


def work_estimate(blob: ImageInput) -> int:
    """Relative cost of the statistics of one encoded image, from its header alone (Pillow
    reads only the header on open: ~30 us from bytes, ~50 us from an ImageFile): width ×
    height, × 1.5 for three colour bands, plus _FIXED_WORK per image. Measured here with the
    benchmark's images: ~8 ns per pixel for 8-bit gray, ~12.5 ns per pixel for RGB, ~0.25 ms
    per image whatever its size. A blob whose header cannot be read (or an ImageFile that
    cannot be opened), or that is over MAX_DECODE_PIXELS, fails fast in the worker:
    _FIXED_WORK only. Never raises."""
    try:
        with Image.open(blob.path if isinstance(blob, ImageFile) else io.BytesIO(blob)) as img:
            width, height = img.size
            bands = len(img.getbands())
    except Exception:  # any unreadable header: the worker reports why; this is only an estimate
        return _FIXED_WORK
    pixels = width * height
    if pixels > MAX_DECODE_PIXELS:
        return _FIXED_WORK
    return pixels + pixels * (bands - 1) // 4 + _FIXED_WORK


def _chunks(work: Sequence[int], total_bytes: int, workers: int, max_blobs: int, max_bytes: int) -> list[list[int]]:
    """Blob indexes in chunks of about equal work (``work``: work_estimate of each blob;
    ``total_bytes``: the blobs' bytes together), costliest chunk first.

    The number of chunks is _CHUNKS_PER_WORKER per worker, raised so that the chunks hold
    ``max_bytes`` bytes or fewer on average and ``max_blobs`` blobs or fewer each, then
    rounded up to a multiple of ``workers`` (at most one chunk per blob): every worker gets
    the same number of equal chunks, so none runs dry while another still has a whole chunk
    to do. Blobs are dealt costliest first, each to the chunk with the least work so far that
    is not full (the longest-processing-time rule, R. L. Graham, "Bounds on multiprocessing
    timing anomalies", SIAM J. Appl. Math. 17(2), 1969); each chunk lists its indexes in
    input order.
    """
    n = len(work)
    k = max(_CHUNKS_PER_WORKER * workers, -(-n // max_blobs), -(-total_bytes // max_bytes))
    k = min(n, -(-k // workers) * workers)
    if k <= 1:
        return [list(range(n))] if n else []
    heap = [(0, 0, c) for c in range(k)]  # (work, blobs, chunk)
    members: list[list[int]] = [[] for _ in range(k)]
    loads = [0] * k
    for i in sorted(range(n), key=work.__getitem__, reverse=True):  # stable: ties in input order
        w, m, c = heapq.heappop(heap)
        while m >= max_blobs:  # a full chunk leaves the heap; k * max_blobs >= n leaves room
            w, m, c = heapq.heappop(heap)
        members[c].append(i)
        loads[c] = w + work[i]
        heapq.heappush(heap, (loads[c], m + 1, c))
    return [sorted(members[c]) for c in sorted(range(k), key=loads.__getitem__, reverse=True) if members[c]]


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver with this module added to the server's preload list (kept:
    whatever was there, by default ``__main__``), else spawn. The preload only
    matters if the server is not running yet; it is harmless otherwise."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    current = list(getattr(server, "_preload_modules", None) or ["__main__"])
    if __name__ not in current:
        ctx.set_forkserver_preload([*current, __name__])
    return ctx


class PendingStatistics:
    """Statistics started by :meth:`ImageStatsPool.submit`; ``result()`` waits for them."""

    def __init__(self, futures: list, indexes: list[list[int]]) -> None:
        self._futures = futures
        self._indexes = indexes  # the blob indexes of each future's chunk

    def result(self) -> list[StatsResult]:
        """One result per submitted blob, in order. Raises what a worker raised (other
        than ImageDecodeError, which is returned) and cancels the rest."""
        out: list = [None] * sum(len(i) for i in self._indexes)
        try:
            for f, idx in zip(self._futures, self._indexes, strict=True):
                for i, r in zip(idx, f.result(), strict=True):
                    out[i] = r
        except BaseException:
            for f in self._futures:
                f.cancel()
            raise
        return out


class ImageStatsPool:
    """A reusable pool of ``workers`` processes for image statistics.

    Use it to pay the start-up once for several batches::

        with ImageStatsPool(workers=2) as pool:
            rows = pool.statistics(blobs)

    ``statistics`` has the result contract of :func:`statistics_for_many` but
    always uses the processes (no small-input shortcut). The processes start
    lazily on first use and stop on ``close()`` / leaving the ``with`` block.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _default_workers(workers)
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_mp_context(),
                initializer=_init_worker,
            )
        return self._executor

    def start(self) -> ImageStatsPool:
        """Start the worker processes now (they are otherwise started on first
        use) and wait until every one is ready. Returns self."""
        pool = self._pool()
        futures = [pool.submit(_run_chunk, [], 1) for _ in range(self.workers)]
        for f in futures:
            f.result()
        return self

    def statistics(
        self,
        blobs: Sequence[ImageInput],
        *,
        radial_bins: int = 32,
        chunksize: int | None = None,
    ) -> list[StatsResult]:
        """One result per blob, in order (see statistics_for_many)."""
        return self.submit(blobs, radial_bins=radial_bins, chunksize=chunksize).result()

    def submit(
        self,
        blobs: Sequence[ImageInput],
        *,
        radial_bins: int = 32,
        chunksize: int | None = None,
    ) -> PendingStatistics:
        """Start the statistics of ``blobs`` on the workers and return at once; the
        returned handle's ``result()`` waits for them (one result per blob, in order, as
        :meth:`statistics`). Lets a caller read and write other data while the workers
        compute (keep one batch in flight)."""
        radial_bins = check_radial_bins(radial_bins)
        blobs = list(blobs)
        if not blobs:
            return PendingStatistics([], [])
        if chunksize is not None and chunksize < 1:
            raise ValueError(f"chunksize must be >= 1, got {chunksize!r}")
        # About 4 chunks of equal work per worker: few pickle round trips, yet the work
        # left when the first worker runs dry is small.
        indexes = _chunks(
            [work_estimate(b) for b in blobs],
            sum(len(b) for b in blobs),
            self.workers,
            chunksize or _MAX_CHUNK_BLOBS,
            _MAX_CHUNK_BYTES,
        )
        pool = self._pool()
        # costliest chunks first (longest-processing-time-first scheduling)
        futures = [pool.submit(_run_chunk, [blobs[i] for i in idx], radial_bins) for idx in indexes]
        return PendingStatistics(futures, indexes)

    def close(self) -> None:
        """Stop the worker processes (waits for running work)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ImageStatsPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def statistics_for_many(
    blobs: Sequence[ImageInput],
    workers: int | None = None,
    *,
    radial_bins: int = 32,
    chunksize: int | None = None,
    min_parallel_bytes: int = DEFAULT_MIN_PARALLEL_BYTES,
) -> list[StatsResult]:
    """Statistics rows for many encoded images, computed on ``workers`` processes.

    Args:
        blobs: encoded image files (JPEG, PNG, ... anything decode_image reads), as
            bytes or as ImageFile (read by the process that computes its row).
        workers: number of processes; default ``os.cpu_count()``.
        radial_bins: as image_statistics (validated before any work starts).
        chunksize: at most this many blobs per task sent to a worker
            (default 32); otherwise each worker gets about 4 tasks of equal
            work (by pixel count; at most 32 MiB each).
        min_parallel_bytes: run in the calling process, one image at a time,
            when the blobs total fewer bytes than this (default 8 MiB).

    Returns:
        A list with one entry per blob, in the order of ``blobs``: the row dict
        (keys = IMAGE_STATS_SCHEMA.names, as statistics_allowing_truncation returns) or,
        for a blob that cannot be decoded, the ImageDecodeError instance (test
        with ``isinstance(r, ImageDecodeError)``; ``str(r)`` is the reason).

    Runs serially in the calling process when workers == 1, when there are
    fewer than 2 blobs, or below ``min_parallel_bytes``; otherwise a
    temporary :class:`ImageStatsPool` is started and stopped again (see the
    module docstring for the start method and its cost). Results are
    identical either way.

    Raises:
        ValueError: workers < 1, radial_bins < 1 or chunksize < 1.
        OSError: an ImageFile could not be read.
        Any exception other than ImageDecodeError raised while computing a
        row, and concurrent.futures.process.BrokenProcessPool if a worker dies.
    """
    n_workers = _default_workers(workers)
    radial_bins = check_radial_bins(radial_bins)
    if chunksize is not None and chunksize < 1:
        raise ValueError(f"chunksize must be >= 1, got {chunksize!r}")
    blobs = list(blobs)
    total = sum(len(b) for b in blobs)
    if n_workers == 1 or len(blobs) < 2 or total < min_parallel_bytes:
        return [statistics_or_error(b, radial_bins) for b in blobs]
    with ImageStatsPool(min(n_workers, len(blobs))) as pool:
        return pool.statistics(blobs, radial_bins=radial_bins, chunksize=chunksize)
