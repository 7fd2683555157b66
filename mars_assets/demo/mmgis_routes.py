"""Replays MMGIS map layers and the raw image files from a snapshot's ``traverse/`` and ``images/`` recordings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from mars_assets.demo.responses import Answer, file_answer, json_answer
from mars_assets.demo.snapshot import Snapshot

MMGIS_PREFIX = "/mmgis-maps"
IMAGES_PREFIX = "/images/"
_CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def layer(snapshot: Snapshot, path: str) -> Answer:
    """``/mmgis-maps/{M20|MSL}/Layers/json/{M20|MSL}_{waypoints|traverse}.json``: an MMGIS layer.

    Waypoints as recorded; traverse legs from ``traverse/{M20|MSL}_traverse*.geojson`` with the
    top-level ``_fixture_note`` stripped; 404 when the snapshot has no such layer.
    """
    name = path.rsplit("/", 1)[-1]
    mission = name.split("_", 1)[0].upper()
    if "_traverse" in name.lower():
        t = snapshot.traverse_files.get(mission)
        return json_answer(200, snapshot.layer(t)) if t else json_answer(404, {"error": "no such layer"})
    f = snapshot.waypoint_files.get(mission)
    return file_answer(f, "application/json") if f else json_answer(404, {"error": "no such layer"})


def image(snapshot: Snapshot, path: str) -> Answer:
    """``/images/{path}``: a file below the snapshot's ``images/`` (404 outside it or when missing)."""
    rel = Path(unquote(path[len(IMAGES_PREFIX) :]))
    f = (snapshot.root / "images" / rel).resolve()
    if ".." in rel.parts or not f.is_file():
        return json_answer(404, {"error": "no such image"})
    return file_answer(f, _CONTENT_TYPES.get(f.suffix.lower(), "application/octet-stream"))
