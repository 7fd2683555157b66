"""Progress of a run over many partitions: logged at a steady cadence, recorded as metadata."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Seconds between two progress lines of one step.
CADENCE_SECONDS = 10.0


@dataclass
class Progress:
    """Partitions done out of ``total``, rows, rows/s and an ETA for one step of a run.

    ``log`` receives one line (``"silver/photos: 120/400 partitions, 96,000 rows, 8,100 rows/s,
    ETA 35 s"``) at most every ``cadence`` seconds and always for the last partition; ``clock``
    is ``time.monotonic`` unless a test passes its own. :meth:`metadata` gives the figures to
    record on the materialization (``partitions_done``, ``partitions_failed``, ``rows_done``, ``rows_per_second``,
    ``seconds``).
    """

    what: str
    total: int
    log: Callable[[str], None]
    unit: str = "rows"
    cadence: float = CADENCE_SECONDS
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    rows: int = 0
    failed: int = 0
    started: float = field(default=0.0)
    _last_line: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.started = self._last_line = self.clock()

    @property
    def seconds(self) -> float:
        return max(self.clock() - self.started, 1e-9)

    def advance(self, partitions: int = 1, rows: int = 0, failed: int = 0) -> None:
        """Count ``partitions`` finished (``failed`` of them failed) with ``rows`` rows; log when due."""
        self.done += partitions
        self.rows += rows
        self.failed += failed
        now = self.clock()
        if self.done >= self.total or now - self._last_line >= self.cadence:
            self._last_line = now
            self.log(self.line())

    def line(self) -> str:
        rate = self.rows / self.seconds
        left = self.total - self.done
        eta = f"ETA {left * self.seconds / self.done:.0f} s" if self.done and left else "done"
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"{self.what}: {self.done}/{self.total} partitions{failed}, {self.rows:,} {self.unit}, "
            f"{rate:,.0f} {self.unit}/s, {eta}"
        )

    def metadata(self) -> dict[str, float | int]:
        return {
            "partitions_done": self.done,
            "partitions_failed": self.failed,
            f"{self.unit}_done": self.rows,
            f"{self.unit}_per_second": round(self.rows / self.seconds, 1),
            "seconds": round(self.seconds, 3),
        }
