"""Fetch many sols of one source at once: threads sharing the source's session and limits.

:func:`fetch_sols` runs :meth:`PhotoSource.fetch_sol` for many sols on a thread pool of
``concurrency`` workers (default the source's own, :class:`~mars_assets.sources.http.HttpSource`
explains each default) and hands the results back as they finish. Every request still takes a
slot of the source's rate, shared by every process of the instance
(:mod:`mars_assets.sources.ratelimit`), so more threads never mean more than the rate allows.
Pure: no Dagster import.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from mars_assets.sources.base import PhotoSource
from mars_assets.sources.http import ApiResponse

#: Sols submitted ahead of the consumer, per worker: one running, one queued behind it.
AHEAD_PER_WORKER = 2


def fetch_sols(
    source: PhotoSource, rover: str, sols: Sequence[int], concurrency: int | None = None
) -> Iterator[tuple[int, list[ApiResponse] | Exception]]:
    """(sol, responses) or (sol, the exception) for each sol, in completion order; at most
    `concurrency` (default source.concurrency) sols in flight, and never more than about
    2 × concurrency finished results held unconsumed (memory bounded for thousands of sols).
    An exception of one sol never stops the others.

    ``responses`` is what ``source.fetch_sol(rover, sol)`` returns (verbatim, in order); the
    exception is the one it raised (ApiError, RateLimitError, RuntimeError ...), an
    ``Exception`` only: KeyboardInterrupt and the like propagate. A sol listed twice is
    fetched twice. At most ``2 × concurrency`` sols are submitted ahead of the consumer
    (``concurrency`` running, as many queued), so a slow consumer holds at most that many
    finished results. Closing the iterator early (``break``) cancels the queued sols and waits
    only for the running ones. The source's connection pool is grown to ``concurrency`` when
    it is smaller (:meth:`~mars_assets.sources.http.HttpSource.reserve_connections`).
    Raises ValueError for a concurrency below 1 (before any request).
    """
    workers = getattr(source, "concurrency", 1) if concurrency is None else concurrency
    if workers < 1:
        raise ValueError(f"concurrency must be at least 1, not {workers}")
    reserve = getattr(source, "reserve_connections", None)
    if reserve is not None:
        reserve(workers)
    todo = iter(sols)
    window = AHEAD_PER_WORKER * workers
    pending: dict[Future[list[ApiResponse]], int] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"fetch-{source.name}-{rover}")

    def top_up() -> None:
        while len(pending) < window:
            sol = next(todo, None)
            if sol is None:
                return
            pending[pool.submit(source.fetch_sol, rover, sol)] = sol

    try:
        top_up()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                sol = pending.pop(future)
                try:
                    result: list[ApiResponse] | Exception = future.result()
                except Exception as exc:  # noqa: BLE001 - handed to the caller, one sol at a time
                    result = exc
                yield sol, result
                top_up()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
