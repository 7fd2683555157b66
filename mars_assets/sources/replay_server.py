"""A loopback HTTP server that replays a snapshot folder in the shape of the NASA APIs.

It lets the demo and the tests drive the real HTTP client instead of a shortcut.

Routes (``{v1}`` = ``/mars-photos/api/v1``, as on api.nasa.gov):

* ``{v1}/rovers``, ``{v1}/rovers/{name}``, ``{v1}/rovers/{name}/photos?sol=N[&camera=][&page=][&per_page=]``,
  ``{v1}/rovers/{name}/latest_photos``, ``{v1}/photos/{id}``, ``{v1}/manifests/{name}`` —
  the Mars Rover Photos API v1: 25 photos a page when ``page`` is given (ordered by
  camera id, then photo id), the whole sol otherwise; ``X-RateLimit-Limit`` /
  ``X-RateLimit-Remaining`` on every response; HTTP 400 ``{"errors": "Invalid Rover Name"}``
  for an unknown rover; 403 ``API_KEY_MISSING`` without ``api_key``; 429
  ``OVER_RATE_LIMIT`` with ``Retry-After`` past ``rate_limit`` requests.
* ``/mmgis-maps/{M20|MSL}/Layers/json/{M20|MSL}_waypoints.json`` — MMGIS waypoints.
* ``/images/{path}`` — the snapshot's image files.

Tests inject faults with :meth:`ReplayServer.fail_next` (e.g. two 429s, then success).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mars_assets.sources.photos_api import sort_for_paging
from mars_assets.sources.snapshot import Snapshot

V1_PREFIX = "/mars-photos/api/v1"
MMGIS_PREFIX = "/mmgis-maps"
KNOWN_ROVERS = ("curiosity", "opportunity", "spirit", "perseverance")
_CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


class ReplayServer:
    """Serve ``snapshot`` on ``http://host:port`` from a background thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``port=0`` picks a
    free port. ``rate_limit`` is the ``X-RateLimit-Limit`` advertised and enforced
    (requests per server lifetime).
    """

    def __init__(self, snapshot: Snapshot | str | Path, host: str = "127.0.0.1", port: int = 0,
                 rate_limit: int = 1000):
        self.snapshot = snapshot if isinstance(snapshot, Snapshot) else Snapshot.open(snapshot)
        self.rate_limit = rate_limit
        self.requests: list[str] = []  # request paths with query, as received (tests read them)
        self._faults: deque[tuple[int, dict[str, str], bytes]] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def photos_api_url(self) -> str:
        return self.url + V1_PREFIX

    @property
    def mmgis_url(self) -> str:
        return self.url + MMGIS_PREFIX

    def start(self) -> "ReplayServer":
        self._thread = threading.Thread(target=self._server.serve_forever, name="nasa-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, status: int, count: int = 1, headers: dict[str, str] | None = None,
                  body: dict[str, Any] | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and headers/body) instead."""
        payload = json.dumps(body or {"error": {"code": str(status)}}).encode()
        with self._lock:
            for _ in range(count):
                self._faults.append((status, dict(headers or {}), payload))

    # -- routing -----------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if path.startswith(V1_PREFIX + "/"):
            if "api_key" not in query:
                return _json(403, {"error": {"code": "API_KEY_MISSING",
                                             "message": "No api_key was supplied."}})
            return self._v1(path[len(V1_PREFIX):].strip("/").split("/"), query)
        if path.startswith(MMGIS_PREFIX + "/"):
            name = path.rsplit("/", 1)[-1]
            mission = name.split("_", 1)[0].upper()
            f = self.snapshot.waypoint_files.get(mission)
            return _file(f, "application/json") if f else _json(404, {"error": "no such layer"})
        if path.startswith("/images/"):
            rel = Path(unquote(path[len("/images/"):]))
            f = (self.snapshot.root / "images" / rel).resolve()
            if ".." in rel.parts or not f.is_file():
                return _json(404, {"error": "no such image"})
            return _file(f, _CONTENT_TYPES.get(f.suffix.lower(), "application/octet-stream"))
        return _json(404, {"error": "not found"})

    def _v1(self, parts: list[str], q: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        arg = lambda k: (q.get(k) or [None])[0]  # noqa: E731
        if parts == ["rovers"]:
            return _json(200, self._rovers_body())
        if len(parts) >= 2 and parts[0] in ("rovers", "manifests"):
            rover = parts[1].lower()
            if rover not in KNOWN_ROVERS:
                return _json(400, {"errors": "Invalid Rover Name"})
            if parts[0] == "manifests":
                f = self.snapshot.manifest_files.get(rover)
                return _file(f, "application/json") if f else _json(404, {"errors": f"No manifest recorded for {rover}"})
            if len(parts) == 2:
                rovers = {r["name"].lower(): r for r in self._rovers_body()["rovers"]}
                return _json(200, {"rover": rovers[rover]}) if rover in rovers else _json(404, {"errors": "Rover not recorded"})
            if parts[2] == "photos":
                if arg("sol") is None:
                    return _json(200, {"photos": []})
                photos = self.snapshot.photos(rover, int(arg("sol")))
                if cam := arg("camera"):
                    photos = [p for p in photos if p["camera"]["name"].lower() == cam.lower()]
                photos = sort_for_paging(photos)
                if arg("page") is not None:
                    per_page = int(arg("per_page") or 25)
                    page = max(int(arg("page")), 1)
                    photos = photos[(page - 1) * per_page: page * per_page]
                return _json(200, {"photos": photos})
            if parts[2] == "latest_photos":
                sols = self.snapshot.sols().get(rover)
                return _json(200, {"latest_photos": self.snapshot.photos(rover, max(sols)) if sols else []})
        if len(parts) == 2 and parts[0] == "photos":
            for (_rover, _sol) in self.snapshot.photo_files:
                for p in self.snapshot.photos(_rover, _sol):
                    if str(p["id"]) == parts[1]:
                        return _json(200, {"photo": p})
            return _json(404, {"errors": "Photo not found"})
        return _json(404, {"error": "not found"})

    def _rovers_body(self) -> dict[str, Any]:
        rovers: dict[str, dict[str, Any]] = {}
        if self.snapshot.rovers_file:
            for r in json.loads(self.snapshot.rovers_file.read_text())["rovers"]:
                rovers[r["name"].lower()] = r
        return {"rovers": list(rovers.values())}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                with server._lock:
                    server.requests.append(self.path)
                    used = len(server.requests)
                    fault = server._faults.popleft() if server._faults else None
                remaining = max(server.rate_limit - used, 0)
                if fault:
                    status, headers, body = fault
                elif used > server.rate_limit:
                    status, headers, body = _json(429, {"error": {"code": "OVER_RATE_LIMIT"}})
                    headers["Retry-After"] = "3600"
                else:
                    try:
                        status, headers, body = server._route(parts.path, parse_qs(parts.query))
                    except (ValueError, KeyError) as exc:
                        status, headers, body = _json(400, {"errors": f"bad request: {exc}"})
                self.send_response(status)
                headers = {"Content-Length": str(len(body)), "X-RateLimit-Limit": str(server.rate_limit),
                           "X-RateLimit-Remaining": str(remaining), **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet; never echo api_key
                pass

        return Handler


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode()


def _file(path: Path, content_type: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": content_type}, path.read_bytes()
