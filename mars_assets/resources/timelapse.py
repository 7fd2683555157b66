"""What the timelapse asset builds (a Dagster resource, from Settings: ``MARS_TIMELAPSE_SOLS``)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, field_validator


def parse_sol_range(text: str) -> tuple[int, int] | None:
    """``"all"`` (or empty) → None, ``"3-73"`` → (3, 73), ``"12"`` → (12, 12); sols inclusive.

    Raises:
        ValueError: anything else, a negative sol, or an end before the start.
    """
    value = (text or "").strip().lower()
    if value in ("", "all"):
        return None
    lo, sep, hi = value.partition("-")
    try:
        first, last = int(lo), int(hi if sep else lo)
    except ValueError:
        raise ValueError(f"sol range must be 'all', 'N' or 'A-B' (sols), not {text!r}") from None
    if first < 0 or last < first:
        raise ValueError(f"bad sol range {text!r}: need 0 <= A <= B")
    return first, last


class TimelapseConfig(dg.ConfigurableResource):
    """The timelapses of ``dashboards/timelapse``: ``sols`` ("all", "N" or "A-B", inclusive;
    ``MARS_TIMELAPSE_SOLS``), frame ``width`` (pixels; height from the first frame's aspect),
    ``fps`` (frames per second) and ``max_frames`` per rover × camera (beyond it the selected
    frames are thinned evenly, first and last kept)."""

    sols: str = Field(default="all", description="sol range: all, N or A-B (inclusive)")
    width: int = Field(default=384, ge=16, le=2048, description="frame width, pixels")
    fps: float = Field(default=4.0, gt=0, le=60, description="frames per second")
    max_frames: int = Field(default=1000, ge=2, description="most frames of one timelapse")

    @field_validator("sols")
    @classmethod
    def _valid_sols(cls, value: str) -> str:
        parse_sol_range(value)
        return value

    def sol_range(self) -> tuple[int, int] | None:
        """The sols to cover, inclusive, or None for every sol."""
        return parse_sol_range(self.sols)
