"""Replays the NASA Mars Rover Photos API v1 (rovers, manifests, photos) from a snapshot's ``api/`` recordings."""

from __future__ import annotations

import json
from typing import Any

from mars_assets.demo.responses import Answer, Query, file_answer, first, json_answer
from mars_assets.demo.snapshot import Snapshot
from mars_assets.sources.photos_api import sort_for_paging

V1_PREFIX = "/mars-photos/api/v1"
KNOWN_ROVERS = ("curiosity", "opportunity", "spirit", "perseverance")


def route(snapshot: Snapshot, parts: list[str], q: Query) -> Answer:
    """Answer ``{v1}/`` + ``"/".join(parts)`` (``{v1}`` = ``/mars-photos/api/v1``, as on api.nasa.gov).

    ``rovers``, ``rovers/{name}``, ``rovers/{name}/photos?sol=N[&camera=][&page=][&per_page=]``,
    ``rovers/{name}/latest_photos``, ``photos/{id}``, ``manifests/{name}``: 25 photos a page when
    ``page`` is given (ordered by camera id, then photo id), the whole sol otherwise; HTTP 400
    ``{"errors": "Invalid Rover Name"}`` for an unknown rover. (The ``api_key`` check, the rate
    limit and its headers are the server's.)
    """
    if parts == ["rovers"]:
        return json_answer(200, rovers_body(snapshot))
    if len(parts) >= 2 and parts[0] in ("rovers", "manifests"):
        rover = parts[1].lower()
        if rover not in KNOWN_ROVERS:
            return json_answer(400, {"errors": "Invalid Rover Name"})
        if parts[0] == "manifests":
            f = snapshot.manifest_files.get(rover)
            return (
                file_answer(f, "application/json")
                if f
                else json_answer(404, {"errors": f"No manifest recorded for {rover}"})
            )
        if len(parts) == 2:
            rovers = {r["name"].lower(): r for r in rovers_body(snapshot)["rovers"]}
            return (
                json_answer(200, {"rover": rovers[rover]})
                if rover in rovers
                else json_answer(404, {"errors": "Rover not recorded"})
            )
        if parts[2] == "photos":
            return _photos(snapshot, rover, q)
        if parts[2] == "latest_photos":
            sols = snapshot.sols().get(rover)
            return json_answer(200, {"latest_photos": snapshot.photos(rover, max(sols)) if sols else []})
    if len(parts) == 2 and parts[0] == "photos":
        for _rover, _sol in snapshot.photo_files:
            for p in snapshot.photos(_rover, _sol):
                if str(p["id"]) == parts[1]:
                    return json_answer(200, {"photo": p})
        return json_answer(404, {"errors": "Photo not found"})
    return json_answer(404, {"error": "not found"})


def _photos(snapshot: Snapshot, rover: str, q: Query) -> Answer:
    """``rovers/{rover}/photos``: the recorded sol, optionally one camera, paged when ``page`` is given."""
    if first(q, "sol") is None:
        return json_answer(200, {"photos": []})
    photos = snapshot.photos(rover, int(first(q, "sol")))
    if cam := first(q, "camera"):
        photos = [p for p in photos if p["camera"]["name"].lower() == cam.lower()]
    photos = sort_for_paging(photos)
    if first(q, "page") is not None:
        per_page = int(first(q, "per_page") or 25)
        page = max(int(first(q, "page")), 1)
        photos = photos[(page - 1) * per_page : page * per_page]
    return json_answer(200, {"photos": photos})


def rovers_body(snapshot: Snapshot) -> dict[str, Any]:
    """The recorded ``GET /rovers`` body (the newest ``api/rovers_{date}.json``), one entry per rover."""
    rovers: dict[str, dict[str, Any]] = {}
    if snapshot.rovers_file:
        for r in json.loads(snapshot.rovers_file.read_text())["rovers"]:
            rovers[r["name"].lower()] = r
    return {"rovers": list(rovers.values())}
