"""The landing zone: a folder where image files are dropped to be ingested.

Files are named by JPL product id (``0050ML...``, ``NLF_0670_...``); the name gives
rover, sol and camera (:mod:`mars_assets.sources.product_ids`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from mars_assets.sources.product_ids import IMAGE_SUFFIXES


@dataclass(frozen=True)
class LandedFile:
    """One file in the landing zone. ``path`` is relative to the zone root (POSIX)."""

    path: str
    size: int
    mtime: float
    landed_at: float  # max(mtime, ctime): a copy that keeps an old mtime still counts when it lands


class LandingZone(dg.ConfigurableResource):
    """A local folder (``$MARS_LANDING``, default ``./landing``) of dropped image files."""

    root: str = "landing"

    def _root(self) -> Path:
        return Path(self.root).expanduser().resolve()

    def list_images(self) -> list[LandedFile]:
        """Image files below the root, sorted by path (a missing root is an empty zone)."""
        root = self._root()
        if not root.is_dir():
            return []
        out = []
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."):
                st = p.stat()
                out.append(
                    LandedFile(p.relative_to(root).as_posix(), st.st_size, st.st_mtime, max(st.st_mtime, st.st_ctime))
                )
        return out

    def read(self, path: str) -> bytes:
        """Bytes of a landed file (``path`` as listed). Raises FileNotFoundError."""
        full = (self._root() / path).resolve()
        if self._root() not in full.parents:
            raise FileNotFoundError(f"{path} is outside the landing zone")
        return full.read_bytes()

    def ensure(self) -> Path:
        root = self._root()
        os.makedirs(root, exist_ok=True)
        return root
