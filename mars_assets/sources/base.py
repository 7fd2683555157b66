"""The interface every upstream photo source implements, and its parse result.

An adapter is one module of ``mars_assets.sources`` (the v1 API or a mirror, the JPL Mars
2020 feed, the JPL MSL raw_image_items API) with one class that says its ``name``, the
``rovers`` it serves, fetches one rover × sol verbatim (:meth:`PhotoSource.fetch_sol`),
parses those pages into silver photo rows (:meth:`PhotoSource.parse_pages`) and tells the
newest sol (:meth:`PhotoSource.latest_sol`). Adapters are registered once, in
:mod:`mars_assets.sources.registry`; bronze, silver and the sensors dispatch through it.
Pure: no Dagster import.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mars_assets.sources.drift import Drift
from mars_assets.sources.http import ApiResponse


@dataclass
class ParsedPages:
    """Silver rows of one rover × sol and what was left out.

    ``rows``: photo rows (keys :data:`mars_assets.schemas.PHOTO_ROW_KEYS`), rover and sol not
    yet checked against the partition. ``rejects``: ``{"record_key", "origin", "reason",
    "raw"}`` for records that could not be typed (quarantined by silver). ``filtered``:
    records left out by design (thumbnails, duplicates across pages), counted in metadata.
    ``notes``: why the pages were read as they were when that is not the plain reading
    (e.g. a Mars 2020 fallback answer taken as an empty sol), one sentence each. ``drift``:
    the fields of the pages' records that the source is not known to send, lacks or sends
    with another JSON type (:mod:`mars_assets.sources.drift`); None for a source without a
    field list.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    filtered: int = 0
    notes: list[str] = field(default_factory=list)
    drift: Drift | None = None


class PhotoSource(ABC):
    """One upstream of photo metadata. Subclasses are dataclasses of their transport settings."""

    #: The source's name in ``MARS_SOURCES`` and in bronze ``.meta.json`` files.
    name: ClassVar[str]
    #: The rovers it serves.
    rovers: ClassVar[frozenset[str]]

    @abstractmethod
    def fetch_sol(self, rover: str, sol: int) -> list[ApiResponse]:
        """Every response of ``rover`` × ``sol``, verbatim and in order (the fewest requests
        the upstream allows). Raises ApiError / RateLimitError (mars_assets.sources.http)."""

    @staticmethod
    @abstractmethod
    def parse_pages(bodies: Sequence[tuple[str, Any]], *, ingested_at: dt.datetime) -> ParsedPages:
        """``(object name, decoded JSON)`` of a partition's bronze pages → :class:`ParsedPages`."""

    @classmethod
    def parse_sol(
        cls, rover: str, sol: int, bodies: Sequence[tuple[str, Any]], *, ingested_at: dt.datetime
    ) -> ParsedPages:
        """The pages of partition ``rover`` × ``sol`` → :class:`ParsedPages`, for a source whose
        reading depends on what was asked (the Mars 2020 feed answers an empty sol with another
        sol's images). Default: :meth:`parse_pages`, which does not need to know."""
        return cls.parse_pages(bodies, ingested_at=ingested_at)

    @abstractmethod
    def latest_sol(self, rover: str) -> int:
        """The newest sol the upstream has for ``rover`` (one cheap request). Raises ApiError."""

    def manifest_totals(self, rover: str) -> dict[int, int] | None:
        """``{sol: total_photos}`` from a mission manifest, for sources that have one (else None).

        The new-sol sensor requests sols whose total changed; without a manifest it requests
        the sols after the last one it saw. Raises ApiError.
        """
        return None
