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
* ``/mmgis-maps/{M20|MSL}/Layers/json/{M20|MSL}_traverse.json`` — MMGIS traverse legs
  (from ``traverse/{M20|MSL}_traverse*.geojson``, top-level ``_fixture_note`` stripped);
  404 when the snapshot has none.
* ``/rss/api/?feed=raw_images&category=mars2020&feedtype=json`` — JPL's Perseverance feed
  (from ``jpl/mars2020/sol{NNNN}*.json``): ``&sol=N`` the whole sol; ``&latest=true``
  ``{latest_sol, latest_sols, new_count, sol_count, total, type, mission}``; list mode
  ``&num=N&page=P`` (0-based; 50 a page when ``num`` is absent), ordered by sol desc then
  ``date_taken_utc`` desc, optionally within ``&sol=N`` (this server honours paging within a
  sol; upstream reportedly ignores it — unverified). Answers ``{images, per_page (a
  string), page, total_results, total_images, type, mission}``; another ``feed`` or
  ``feedtype`` is a 404, a ``category`` without ``mars2020`` an empty list.
* ``/api/v1/raw_image_items/?condition_1=msl:mission&condition_2={sol}:sol:in&per_page=&page=``
  — JPL's Curiosity API (from ``jpl/msl/sol{NNNN}*.json``): conditions ``value:field:op`` on
  ``mission`` and ``sol`` (ops ``in`` with a comma list, ``eq``, ``gt``, ``gte``, ``lt``,
  ``lte``; other fields ignored); ordered sol desc, instrument asc, sample type asc,
  ``date_taken`` desc; ``per_page`` (50 when absent, at most 1000) and ``page`` 0-based;
  answers ``{items, more, total, page, per_page}``.
* ``/images/{path}`` — the snapshot's image files.

Tests inject faults with :meth:`ReplayServer.fail_next` (e.g. two 429s, then success, or
an HTML page served with 200), :meth:`~ReplayServer.delay_next` (an answer slower than the
client's timeout), :meth:`~ReplayServer.reset_next` (the connection dropped with a TCP
reset, no answer) and :meth:`~ReplayServer.repeat_previous_next` (the previous answer
served again: a page that repeats the previous page); each fault may be limited to
requests whose path contains ``match``. ``rate_window`` turns ``rate_limit`` into a
limit per sliding window of that many seconds (429 with the ``Retry-After`` that frees
a slot). Every request is logged in :attr:`ReplayServer.log` (monotonic time, path,
status) so tests can count requests per window. The JPL and MMGIS routes need no ``api_key``.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mars_assets.sources.photos_api import sort_for_paging
from mars_assets.sources.snapshot import Snapshot

V1_PREFIX = "/mars-photos/api/v1"
MMGIS_PREFIX = "/mmgis-maps"
JPL_M2020_PATH = "/rss/api/"
JPL_MSL_PATH = "/api/v1/raw_image_items/"
JPL_DEFAULT_PAGE = 50
JPL_MSL_MAX_PER_PAGE = 1000
KNOWN_ROVERS = ("curiosity", "opportunity", "spirit", "perseverance")
_CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


@dataclass
class Fault:
    """One injected misbehaviour, used once by the next request whose path contains ``match``.

    ``body`` None means the real answer (with ``delay``); ``reset`` drops the connection
    without an answer; ``repeat_previous`` answers with the previous answer served.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0
    reset: bool = False
    repeat_previous: bool = False
    match: str | None = None


@dataclass(frozen=True)
class LoggedRequest:
    """A request the server received: ``at`` (``time.monotonic()``), path with query, answer status (0: reset)."""

    at: float
    path: str
    status: int


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that gave up (timeout) or a reset injected on purpose: not a server error
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class ReplayServer:
    """Serve ``snapshot`` on ``http://host:port`` from a background thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``port=0`` picks a
    free port. ``rate_limit`` is the ``X-RateLimit-Limit`` advertised and enforced:
    requests per server lifetime, or per sliding window of ``rate_window`` seconds when
    given (only answered requests count; a refused one gets 429 with ``Retry-After``, in
    whole seconds, until the oldest request of the window leaves it).
    """

    def __init__(
        self,
        snapshot: Snapshot | str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int = 1000,
        rate_window: float | None = None,
    ):
        self.snapshot = snapshot if isinstance(snapshot, Snapshot) else Snapshot.open(snapshot)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.requests: list[str] = []  # request paths with query, as received (tests read them)
        self.log: list[LoggedRequest] = []
        self._faults: deque[Fault] = deque()
        self._served: deque[float] = deque()  # times of answered requests within rate_window
        self._previous: tuple[int, dict[str, str], bytes] | None = None
        self._lock = threading.Lock()
        self._server = _QuietHTTPServer((host, port), self._handler_class())
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

    @property
    def jpl_mars2020_url(self) -> str:
        """Base URL for ``JplMars2020Client`` (the ``/rss/api/`` route)."""
        return self.url + JPL_M2020_PATH

    @property
    def jpl_msl_url(self) -> str:
        """Base URL for ``JplMslClient`` (the ``/api/v1/raw_image_items/`` route)."""
        return self.url + JPL_MSL_PATH

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="nasa-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(
        self,
        status: int,
        count: int = 1,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        *,
        raw: bytes | None = None,
        content_type: str | None = None,
        match: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (whose path contains ``match``, if given) with
        ``status`` and headers instead: a JSON ``body``, or the bytes ``raw`` (e.g. an HTML
        error page) with ``content_type``."""
        payload = raw if raw is not None else json.dumps(body or {"error": {"code": str(status)}}).encode()
        kind = content_type or ("application/json; charset=utf-8" if raw is None else "application/octet-stream")
        self.inject(Fault(status, {"Content-Type": kind, **(headers or {})}, payload, match=match), count)

    def delay_next(self, seconds: float, count: int = 1, match: str | None = None) -> None:
        """Answer the next ``count`` (matching) requests normally, but only after ``seconds``."""
        self.inject(Fault(delay=seconds, match=match), count)

    def reset_next(self, count: int = 1, match: str | None = None) -> None:
        """Drop the connection of the next ``count`` (matching) requests with a TCP reset, no answer."""
        self.inject(Fault(reset=True, match=match), count)

    def repeat_previous_next(self, count: int = 1, match: str | None = None) -> None:
        """Answer the next ``count`` (matching) requests with the previous answer served (a repeated page)."""
        self.inject(Fault(repeat_previous=True, match=match), count)

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Queue ``fault`` for the next ``count`` requests it matches."""
        with self._lock:
            for _ in range(count):
                self._faults.append(fault)

    def pending_faults(self) -> int:
        """Faults not used yet."""
        with self._lock:
            return len(self._faults)

    def _take_fault(self, path: str) -> Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.match is None or fault.match in path:
                del self._faults[i]
                return fault
        return None

    def _over_limit(self, now: float) -> float | None:
        """Seconds until a request would be answered, or None when it may be now (call under the lock)."""
        if self.rate_window is None:
            return None if len(self.requests) <= self.rate_limit else 3600.0
        while self._served and self._served[0] <= now - self.rate_window:
            self._served.popleft()
        if len(self._served) < self.rate_limit:
            return None
        return self._served[0] + self.rate_window - now

    # -- routing -----------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if path.startswith(V1_PREFIX + "/"):
            if "api_key" not in query:
                return _json(403, {"error": {"code": "API_KEY_MISSING", "message": "No api_key was supplied."}})
            return self._v1(path[len(V1_PREFIX) :].strip("/").split("/"), query)
        if path.rstrip("/") + "/" == JPL_M2020_PATH:
            return self._jpl_m2020(query)
        if path.rstrip("/") + "/" == JPL_MSL_PATH:
            return self._jpl_msl(query)
        if path.startswith(MMGIS_PREFIX + "/"):
            name = path.rsplit("/", 1)[-1]
            mission = name.split("_", 1)[0].upper()
            if "_traverse" in name.lower():
                t = self.snapshot.traverse_files.get(mission)
                return _json(200, self.snapshot.layer(t)) if t else _json(404, {"error": "no such layer"})
            f = self.snapshot.waypoint_files.get(mission)
            return _file(f, "application/json") if f else _json(404, {"error": "no such layer"})
        if path.startswith("/images/"):
            rel = Path(unquote(path[len("/images/") :]))
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
                return (
                    _file(f, "application/json") if f else _json(404, {"errors": f"No manifest recorded for {rover}"})
                )
            if len(parts) == 2:
                rovers = {r["name"].lower(): r for r in self._rovers_body()["rovers"]}
                return (
                    _json(200, {"rover": rovers[rover]})
                    if rover in rovers
                    else _json(404, {"errors": "Rover not recorded"})
                )
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
                    photos = photos[(page - 1) * per_page : page * per_page]
                return _json(200, {"photos": photos})
            if parts[2] == "latest_photos":
                sols = self.snapshot.sols().get(rover)
                return _json(200, {"latest_photos": self.snapshot.photos(rover, max(sols)) if sols else []})
        if len(parts) == 2 and parts[0] == "photos":
            for _rover, _sol in self.snapshot.photo_files:
                for p in self.snapshot.photos(_rover, _sol):
                    if str(p["id"]) == parts[1]:
                        return _json(200, {"photo": p})
            return _json(404, {"errors": "Photo not found"})
        return _json(404, {"error": "not found"})

    # -- JPL raw-image feeds ----------------------------------------------------------------
    def _jpl_all(self, feed: str, sols: Any = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for sol in sorted(self.snapshot.jpl_sols(feed), reverse=True):
            if sols is None or sol in sols:
                out.extend(self.snapshot.jpl_images(feed, sol))
        return out

    def _jpl_m2020(self, q: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        arg = lambda k: (q.get(k) or [None])[0]  # noqa: E731
        if arg("feed") != "raw_images" or (arg("feedtype") or "json") != "json":
            return _json(404, {"error": "unknown feed"})
        served = "mars2020" in (arg("category") or "").split(",")
        everything = self._jpl_all("mars2020") if served else []
        if (arg("latest") or "").lower() == "true":
            sols = sorted(self.snapshot.jpl_sols("mars2020"), reverse=True) if served else []
            latest = sols[0] if sols else None
            return _json(
                200,
                {
                    "latest_sol": latest,
                    "latest_sols": sols[:10],
                    "new_count": len(self.snapshot.jpl_images("mars2020", latest)) if latest is not None else 0,
                    "sol_count": len(sols),
                    "total": len(everything),
                    "type": "latest",
                    "mission": "mars2020",
                },
            )
        images = everything
        if arg("sol") is not None:
            sol = int(arg("sol"))
            images = [i for i in everything if int(i.get("sol")) == sol]
        images = sorted(
            images,
            key=lambda i: (int(i.get("sol")), str(i.get("date_taken_utc") or ""), str(i.get("imageid"))),
            reverse=True,
        )
        page = int(arg("page") or 0)
        if arg("num") is not None or arg("sol") is None:
            per_page = int(arg("num") or JPL_DEFAULT_PAGE)
            shown = images[page * per_page : (page + 1) * per_page]
        else:  # &sol=N alone: the whole sol, no paging
            per_page, shown = len(images), images
        return _json(
            200,
            {
                "images": shown,
                "per_page": str(per_page),
                "page": page,
                "total_results": len(images),
                "total_images": len(everything),
                "type": "search_results",
                "mission": "mars2020",
            },
        )

    def _jpl_msl(self, q: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        arg = lambda k: (q.get(k) or [None])[0]  # noqa: E731
        per_page = min(int(arg("per_page") or JPL_DEFAULT_PAGE), JPL_MSL_MAX_PER_PAGE)
        page = int(arg("page") or 0)
        if per_page < 1 or page < 0:
            return _json(400, {"error": "per_page must be >= 1 and page >= 0"})
        mission_ok, tests = True, []
        for key in sorted(k for k in q if k.startswith("condition_")):
            value, _, rest = q[key][0].partition(":")
            field, _, op = rest.partition(":")
            if field == "mission":
                mission_ok = mission_ok and value.lower() == "msl"
            elif field == "sol":
                tests.append(_sol_test(value, op))
        items = [i for i in self._jpl_all("msl") if all(t(int(i.get("sol"))) for t in tests)] if mission_ok else []
        # order=sol desc, instrument_sort asc, sample_type_sort asc, date_taken desc (stable sorts, last key first)
        items.sort(key=lambda i: (str(i.get("date_taken") or ""), _int_key(i.get("id"))), reverse=True)
        items.sort(key=lambda i: str((i.get("extended") or {}).get("sample_type") or ""))
        items.sort(key=lambda i: str(i.get("instrument") or ""))
        items.sort(key=lambda i: int(i.get("sol")), reverse=True)
        shown = items[page * per_page : (page + 1) * per_page]
        return _json(
            200,
            {
                "items": shown,
                "more": (page + 1) * per_page < len(items),
                "total": len(items),
                "page": page,
                "per_page": per_page,
            },
        )

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
                    now = time.monotonic()
                    server.requests.append(self.path)
                    fault = server._take_fault(self.path)
                    wait = None if fault else server._over_limit(now)
                    if not fault and wait is None and server.rate_window is not None:
                        server._served.append(now)
                    used = len(server.requests) if server.rate_window is None else len(server._served)
                    previous = server._previous
                remaining = max(server.rate_limit - used, 0)
                if fault and fault.reset:
                    with server._lock:
                        server.log.append(LoggedRequest(now, self.path, 0))
                    # SO_LINGER 0: close() sends a TCP RST, the client sees "connection reset"
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.repeat_previous and previous is not None:
                    status, headers, body = previous
                elif fault and fault.body is not None:
                    status, headers, body = fault.status, dict(fault.headers), fault.body
                elif wait is not None:
                    status, headers, body = _json(429, {"error": {"code": "OVER_RATE_LIMIT"}})
                    headers["Retry-After"] = str(max(1, math.ceil(wait)))
                else:
                    try:
                        status, headers, body = server._route(parts.path, parse_qs(parts.query))
                    except (ValueError, KeyError) as exc:
                        status, headers, body = _json(400, {"errors": f"bad request: {exc}"})
                    except Exception as exc:  # noqa: BLE001 - a malformed recording: say so, keep serving
                        status, headers, body = _json(500, {"errors": f"replay failed: {type(exc).__name__}: {exc}"})
                    if 200 <= status < 300:
                        with server._lock:
                            server._previous = (status, dict(headers), body)
                with server._lock:
                    server.log.append(LoggedRequest(now, self.path, status))
                self.send_response(status)
                headers = {
                    "Content-Length": str(len(body)),
                    "X-RateLimit-Limit": str(server.rate_limit),
                    "X-RateLimit-Remaining": str(remaining),
                    **headers,
                }
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet; never echo api_key
                pass

        return Handler


def _sol_test(value: str, op: str):
    """A predicate on sol for a raw_image_items condition ``value:sol:op``; ValueError (→ 400) otherwise."""
    if op == "in":
        wanted = {int(v) for v in value.split(",") if v.strip()}
        return lambda sol: sol in wanted
    n = int(value)
    ops = {
        "eq": lambda s: s == n,
        "gt": lambda s: s > n,
        "gte": lambda s: s >= n,
        "lt": lambda s: s < n,
        "lte": lambda s: s <= n,
    }
    if op not in ops:
        raise ValueError(f"unsupported sol condition operator {op!r}")
    return ops[op]


def _int_key(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode()


def _file(path: Path, content_type: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": content_type}, path.read_bytes()
