"""A recorded snapshot of NASA data: a folder laid out like the shipped one.

Layout (any folder in this shape works, chosen with ``--archive DIR`` or ``MARS_ARCHIVE``)::

    api/photos/{rover}_sol{NNNN}[_anything].json   GET /rovers/{rover}/photos?sol=N bodies
    api/manifests/{rover}_manifest_{date}.json     GET /manifests/{rover} bodies
    api/rovers_{date}.json                         GET /rovers bodies
    images/**/{product id}.{jpg,png,...}           raw rover images named by JPL product id
    traverse/{M20|MSL}_waypoints*.geojson          MMGIS waypoints layers

The project ships one (``mars_assets/snapshot``, see its PROVENANCE.md; image credit
NASA/JPL-Caltech, Mastcam/MAHLI NASA/JPL-Caltech/MSSS).
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif", ".bmp", ".webp"}

_PHOTOS = re.compile(r"^(?P<rover>[a-z]+)_sol(?P<sol>\d+)(?:_.*)?\.json$", re.I)
_MANIFEST = re.compile(r"^(?P<rover>[a-z]+)_manifest_(?P<date>[\d-]+)\.json$", re.I)
_ROVERS = re.compile(r"^rovers_(?P<date>[\d-]+)\.json$", re.I)
_WAYPOINTS = re.compile(r"^(?P<mission>[A-Z0-9]+)_waypoints.*\.(geo)?json$", re.I)


def bundled_snapshot() -> Path:
    """The snapshot shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "snapshot"


def default_archive() -> Path:
    """``$MARS_ARCHIVE`` if set, else the bundled snapshot."""
    env = os.environ.get("MARS_ARCHIVE")
    return Path(env).expanduser().resolve() if env else bundled_snapshot()


class ArchiveLayoutError(ValueError):
    """The folder is not laid out like a snapshot (the message says what is missing)."""


@dataclass
class Snapshot:
    """An index of one snapshot folder (files are read lazily)."""

    root: Path
    photo_files: dict[tuple[str, int], list[Path]] = field(default_factory=dict)
    manifest_files: dict[str, Path] = field(default_factory=dict)
    rovers_file: Path | None = None
    image_files: list[Path] = field(default_factory=list)
    waypoint_files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def open(cls, root: str | os.PathLike) -> "Snapshot":
        """Index ``root``. Raises ArchiveLayoutError if it is not a folder with ``api/`` or ``images/``."""
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise ArchiveLayoutError(f"archive folder {root} does not exist")
        if not (root / "api").is_dir() and not (root / "images").is_dir():
            raise ArchiveLayoutError(f"archive folder {root} has neither api/ nor images/")
        snap = cls(root)
        photos: dict[tuple[str, int], list[Path]] = defaultdict(list)
        for p in sorted((root / "api" / "photos").glob("*.json")):
            if m := _PHOTOS.match(p.name):
                photos[(m["rover"].lower(), int(m["sol"]))].append(p)
        snap.photo_files = dict(photos)
        # the newest recording wins (ISO dates sort as strings)
        for p in sorted((root / "api" / "manifests").glob("*.json")):
            if m := _MANIFEST.match(p.name):
                snap.manifest_files[m["rover"].lower()] = p
        rovers = sorted(p for p in (root / "api").glob("rovers_*.json") if _ROVERS.match(p.name))
        snap.rovers_file = rovers[-1] if rovers else None
        if (root / "images").is_dir():
            snap.image_files = sorted(
                p for p in (root / "images").rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        for p in sorted((root / "traverse").glob("*json")):
            if m := _WAYPOINTS.match(p.name):
                snap.waypoint_files[m["mission"].upper()] = p
        return snap

    def photos(self, rover: str, sol: int) -> list[dict[str, Any]]:
        """Every recorded photo of rover × sol (files merged, duplicates by id dropped)."""
        seen: dict[int, dict[str, Any]] = {}
        for path in self.photo_files.get((rover.lower(), int(sol)), []):
            for photo in json.loads(path.read_text())["photos"]:
                seen.setdefault(int(photo["id"]), photo)
        return list(seen.values())

    def sols(self) -> dict[str, set[int]]:
        """Sols with recorded photo files, per rover."""
        out: dict[str, set[int]] = defaultdict(set)
        for rover, sol in self.photo_files:
            out[rover].add(sol)
        return dict(out)
