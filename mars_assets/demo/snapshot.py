"""Reads a recorded NASA snapshot folder for the replay server: the shipped ``mars_assets/snapshot``
(see its PROVENANCE.md; image credit NASA/JPL-Caltech, Mastcam/MAHLI NASA/JPL-Caltech/MSSS) or any
folder laid out like it (:class:`Snapshot`).
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mars_assets.sources.product_ids import IMAGE_SUFFIXES

_PHOTOS = re.compile(r"^(?P<rover>[a-z]+)_sol(?P<sol>\d+)(?:_.*)?\.json$", re.I)
_MANIFEST = re.compile(r"^(?P<rover>[a-z]+)_manifest_(?P<date>[\d-]+)\.json$", re.I)
_ROVERS = re.compile(r"^rovers_(?P<date>[\d-]+)\.json$", re.I)
_WAYPOINTS = re.compile(r"^(?P<mission>[A-Z0-9]+)_waypoints.*\.(geo)?json$", re.I)
_TRAVERSE = re.compile(r"^(?P<mission>[A-Z0-9]+)_traverse.*\.(geo)?json$", re.I)
_JPL_SOL = re.compile(r"^sol(?P<sol>\d+)(?!\d).*\.json$", re.I)

#: The JPL feeds a snapshot can hold (folders below ``jpl/``) and the field that
#: identifies an image in each.
JPL_FEEDS: dict[str, str] = {"mars2020": "imageid", "msl": "id"}
#: Top-level key by which a hand-built fixture labels itself; stripped before serving.
FIXTURE_NOTE_KEY = "_fixture_note"


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
    """An index of one snapshot folder (files are read lazily).

    Layout (any folder in this shape works, chosen with ``--archive DIR`` or ``MARS_ARCHIVE``)::

        api/photos/{rover}_sol{NNNN}[_anything].json   GET /rovers/{rover}/photos?sol=N bodies
        api/manifests/{rover}_manifest_{date}.json     GET /manifests/{rover} bodies
        api/rovers_{date}.json                         GET /rovers bodies
        images/**/{product id}.{jpg,png,...}           raw rover images named by JPL product id
        traverse/{M20|MSL}_waypoints*.geojson          MMGIS waypoints layers
        traverse/{M20|MSL}_traverse*.geojson           MMGIS traverse layers (drive legs)
        jpl/mars2020/sol{NNNN}[anything].json          Perseverance feed images of sol N
        jpl/msl/sol{NNNN}[anything].json               Curiosity raw_image_items of sol N

    A ``jpl/`` file is a list of image objects exactly as the feed returns them, or an object
    ``{"images": [...]}`` / ``{"items": [...]}`` (other keys ignored); several files of one sol
    are merged (duplicates by imageid for mars2020, by id for msl, dropped). A top-level
    ``"_fixture_note"`` key (how a hand-built fixture says so; JSON has no comments) is never
    served: :meth:`Snapshot.layer` strips it from layers, and feed answers are rebuilt from
    the image objects.
    """

    root: Path
    photo_files: dict[tuple[str, int], list[Path]] = field(default_factory=dict)
    manifest_files: dict[str, Path] = field(default_factory=dict)
    rovers_file: Path | None = None
    image_files: list[Path] = field(default_factory=list)
    waypoint_files: dict[str, Path] = field(default_factory=dict)
    traverse_files: dict[str, Path] = field(default_factory=dict)
    jpl_files: dict[tuple[str, int], list[Path]] = field(default_factory=dict)

    @classmethod
    def open(cls, root: str | os.PathLike) -> Snapshot:
        """Index ``root``. Raises ArchiveLayoutError if it is not a folder with ``api/``, ``images/`` or ``jpl/``."""
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise ArchiveLayoutError(f"archive folder {root} does not exist")
        if not any((root / d).is_dir() for d in ("api", "images", "jpl")):
            raise ArchiveLayoutError(f"archive folder {root} has neither api/ nor images/ (nor jpl/)")
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
            elif m := _TRAVERSE.match(p.name):
                snap.traverse_files[m["mission"].upper()] = p
        jpl: dict[tuple[str, int], list[Path]] = defaultdict(list)
        for feed in JPL_FEEDS:
            for p in sorted((root / "jpl" / feed).glob("*.json")):
                if m := _JPL_SOL.match(p.name):
                    jpl[(feed, int(m["sol"]))].append(p)
        snap.jpl_files = dict(jpl)
        return snap

    def photos(self, rover: str, sol: int) -> list[dict[str, Any]]:
        """Every recorded photo of rover × sol (files merged, duplicates by id dropped)."""
        seen: dict[Any, dict[str, Any]] = {}
        for path in self.photo_files.get((rover.lower(), int(sol)), []):
            for n, photo in enumerate(json.loads(path.read_text())["photos"]):
                pid = photo.get("id") if isinstance(photo, dict) else None
                # a record without an integer id is served as recorded, never merged
                key = pid if isinstance(pid, int) and not isinstance(pid, bool) else f"{path.name}#{n}"
                seen.setdefault(key, photo)
        return list(seen.values())

    def sols(self) -> dict[str, set[int]]:
        """Sols with recorded photo files, per rover."""
        out: dict[str, set[int]] = defaultdict(set)
        for rover, sol in self.photo_files:
            out[rover].add(sol)
        return dict(out)

    def jpl_images(self, feed: str, sol: int) -> list[dict[str, Any]]:
        """Every recorded image object of a JPL feed (``"mars2020"`` or ``"msl"``) × sol, as recorded.

        Files are merged in name order; an image whose imageid (mars2020) or id (msl) was
        already seen is dropped. Raises KeyError for an unknown feed.
        """
        key_field = JPL_FEEDS[feed]
        seen: dict[str, dict[str, Any]] = {}
        for path in self.jpl_files.get((feed, int(sol)), []):
            body = json.loads(path.read_text())
            images = body if isinstance(body, list) else body.get("images", body.get("items", []))
            for n, image in enumerate(images):
                key = image.get(key_field)
                seen.setdefault(str(key) if key is not None else f"{path.name}#{n}", image)  # no id: never merged
        return list(seen.values())

    def jpl_sols(self, feed: str) -> set[int]:
        """Sols with recorded files of a JPL feed."""
        return {sol for (f, sol) in self.jpl_files if f == feed}

    def layer(self, path: Path) -> Any:
        """A recorded JSON layer (e.g. a traverse) decoded, without the top-level ``_fixture_note``."""
        body = json.loads(path.read_text())
        if isinstance(body, dict):
            body.pop(FIXTURE_NOTE_KEY, None)
        return body
