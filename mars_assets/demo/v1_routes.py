"""Replays the NASA Mars Rover Photos API v1 (rovers, manifests, photos) from a snapshot's ``api/`` recordings."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from mars_assets.demo.responses import Answer, Query, file_answer, first, json_answer
from mars_assets.demo.snapshot import Snapshot
from mars_assets.sources.photos_api import sort_for_paging

V1_PREFIX = "/mars-photos/api/v1"
KNOWN_ROVERS = ("curiosity", "opportunity", "spirit", "perseverance")


def route(snapshot: Snapshot, parts: list[str], q: Query, answers: SolAnswers | None = None) -> Answer:
    """Answer ``{v1}/`` + ``"/".join(parts)`` (``{v1}`` = ``/mars-photos/api/v1``, as on api.nasa.gov).

    ``rovers``, ``rovers/{name}``, ``rovers/{name}/photos?sol=N[&camera=][&page=][&per_page=]``,
    ``rovers/{name}/latest_photos``, ``photos/{id}``, ``manifests/{name}``: 25 photos a page when
    ``page`` is given (ordered by camera id, then photo id), the whole sol otherwise; HTTP 400
    ``{"errors": "Invalid Rover Name"}`` for an unknown rover. (The ``api_key`` check, the rate
    limit and its headers are the server's.) ``answers``: the server's cache of sols (one
    made for this call when None); see :class:`SolAnswers` for how a sol's files are served.
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
            return (answers or SolAnswers()).photos(snapshot, rover, q)
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


#: Content types of a recorded answer, by its first byte: JSON, or what else a proxy serves.
_JSON, _HTML = "application/json; charset=utf-8", "text/html; charset=utf-8"


def _raw_answer(body: bytes) -> Answer:
    """A recorded body served as is (200), typed JSON when it starts like JSON, else HTML."""
    return 200, {"Content-Type": _JSON if body.lstrip()[:1] in (b"{", b"[") else _HTML}, body


class SolAnswers:
    """The ``rovers/{rover}/photos`` answers of a replay server, cheap at mission size (thread-safe).

    * **Whole sol** (no ``page``, no ``camera``) recorded in one file: the file's bytes as
      recorded (a recording *is* the API's whole-sol answer; the bundled ones, and those of
      :mod:`mars_assets.demo.synthetic`, are in paging order already): no parse, no encode.
    * **Pages, camera filter, or a sol in several files**: the sol's photos merged
      (:meth:`Snapshot.photos`) and sorted for paging once, then kept for the next requests;
      the ``max_sols`` sols used last are kept, each checked against its files' size and
      mtime, so a file rewritten on disk is read again.
    * **A recording that is not JSON** (how a synthetic mission marks a broken sol): its
      bytes served as recorded, 200 ``text/html`` (what an upstream behind a failing proxy
      answers), for every request of the sol; the client refuses it as "not JSON".

    Measured on 2 cores, one ``requests`` client on loopback in the same process: before
    (every answer parsed the file, 13.5 ms, and encoded it, 19 ms, for sol 1000's 856 photos),
    28.6 whole-sol answers/s and 17.2 pages/s; now 144 whole-sol answers/s over 400 distinct
    synthetic sols (~600 kB each; 223/s with 4 clients) and 330 pages/s.
    """

    def __init__(self, max_sols: int = 8):
        self.max_sols = max_sols
        self._lock = threading.Lock()
        self._sols: OrderedDict[tuple[str, int], tuple[tuple, list[Any] | bytes]] = OrderedDict()

    def photos(self, snapshot: Snapshot, rover: str, q: Query) -> Answer:
        """``rovers/{rover}/photos``: the recorded sol, optionally one camera, paged when ``page`` is given."""
        if first(q, "sol") is None:
            return json_answer(200, {"photos": []})
        sol = int(first(q, "sol"))
        cam, page = first(q, "camera"), first(q, "page")
        files = snapshot.photo_files.get((rover, sol), [])
        if not files:
            return json_answer(200, {"photos": []})
        if len(files) == 1 and not cam and page is None:
            return _raw_answer(files[0].read_bytes())
        photos = self._sol(snapshot, rover, sol, files)
        if isinstance(photos, bytes):
            return _raw_answer(photos)
        if cam:
            photos = [p for p in photos if p["camera"]["name"].lower() == cam.lower()]
        if page is not None:
            per_page = int(first(q, "per_page") or 25)
            n = max(int(page), 1)
            photos = photos[(n - 1) * per_page : n * per_page]
        return json_answer(200, {"photos": photos})

    def _sol(self, snapshot: Snapshot, rover: str, sol: int, files: list[Path]) -> list[Any] | bytes:
        """The sol's photos sorted for paging, or the bytes of its first file that is not JSON."""
        signature = tuple((str(f), st.st_size, st.st_mtime_ns) for f in files for st in (os.stat(f),))
        key = (rover, sol)
        with self._lock:
            hit = self._sols.get(key)
            if hit and hit[0] == signature:
                self._sols.move_to_end(key)
                return hit[1]
        try:  # parsed outside the lock: two threads may both parse a sol, never block each other
            value: list[Any] | bytes = sort_for_paging(snapshot.photos(rover, sol))
        except ValueError:
            value = next((raw for f in files if not _is_json(raw := f.read_bytes())), b"")
            if not value:
                raise
        with self._lock:
            self._sols[key] = (signature, value)
            self._sols.move_to_end(key)
            while len(self._sols) > self.max_sols:
                self._sols.popitem(last=False)
        return value


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def rovers_body(snapshot: Snapshot) -> dict[str, Any]:
    """The recorded ``GET /rovers`` body (the newest ``api/rovers_{date}.json``), one entry per rover."""
    rovers: dict[str, dict[str, Any]] = {}
    if snapshot.rovers_file:
        for r in json.loads(snapshot.rovers_file.read_text())["rovers"]:
            rovers[r["name"].lower()] = r
    return {"rovers": list(rovers.values())}
