"""A loopback HTTP server replaying a recorded NASA snapshot (:mod:`mars_assets.demo.snapshot`) in the shape of
the NASA Mars Rover Photos API v1, JPL's raw-image feeds and MMGIS, with injected faults and a rate limit.

It lets the demo and the tests drive the real HTTP clients instead of a shortcut. The routes are in
:mod:`~mars_assets.demo.v1_routes`, :mod:`~mars_assets.demo.jpl_routes` and :mod:`~mars_assets.demo.mmgis_routes`.
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
from urllib.parse import SplitResult, parse_qs, urlsplit

from mars_assets.demo import jpl_routes, mmgis_routes, v1_routes
from mars_assets.demo.jpl_routes import JPL_M2020_PATH, JPL_MSL_PATH
from mars_assets.demo.mmgis_routes import IMAGES_PREFIX, MMGIS_PREFIX
from mars_assets.demo.responses import Answer, Query, json_answer
from mars_assets.demo.snapshot import Snapshot
from mars_assets.demo.v1_routes import V1_PREFIX

#: The server's own statistics route (JSON of :meth:`ReplayServer.stats`).
STATS_PATH = "/_stats"


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


class ReplayServer:
    """Serve ``snapshot`` on ``http://host:port`` from a background thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``port=0`` picks a
    free port. ``rate_limit`` is the ``X-RateLimit-Limit`` advertised and enforced:
    requests per server lifetime, or per sliding window of ``rate_window`` seconds when
    given (only answered requests count; a refused one gets 429 ``OVER_RATE_LIMIT`` with
    ``Retry-After``, in whole seconds, until the oldest request of the window leaves it).
    Every response carries ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining``. The Photos API
    v1 routes answer 403 ``API_KEY_MISSING`` without ``api_key``; the JPL and MMGIS routes
    need none.

    Tests inject faults with :meth:`fail_next` (e.g. two 429s, then success, or an HTML page
    served with 200), :meth:`delay_next` (an answer slower than the client's timeout),
    :meth:`reset_next` (the connection dropped with a TCP reset, no answer) and
    :meth:`repeat_previous_next` (the previous answer served again: a page that repeats the
    previous page); each fault may be limited to requests whose path contains ``match``.
    Every request is logged in :attr:`log` (monotonic time, path, status) so tests can count
    requests per window.

    ``latency``: seconds every request waits before it is answered (or reset), emulating an
    upstream's response time (e.g. 0.5 for JPL's MSL feed, 20 for the Mars 2020 feed); the
    server answers each connection in a thread of its own, so concurrent requests overlap
    their waits. ``GET /_stats`` (:data:`STATS_PATH`; not logged, not counted, no latency)
    answers :meth:`stats` as JSON, for a client in another process.
    """

    def __init__(
        self,
        snapshot: Snapshot | str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int = 1000,
        rate_window: float | None = None,
        latency: float = 0.0,
    ):
        self.snapshot = snapshot if isinstance(snapshot, Snapshot) else Snapshot.open(snapshot)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.latency = latency
        self._sol_answers = v1_routes.SolAnswers()
        self.requests: list[str] = []  # request paths with query, as received (tests read them)
        self.log: list[LoggedRequest] = []
        self._in_flight = 0  # requests admitted and not yet logged (answered or reset)
        self._faults: deque[Fault] = deque()
        self._served: deque[float] = deque()  # times of answered requests within rate_window
        self._previous: Answer | None = None
        self._lock = threading.Lock()
        self._server = _QuietHTTPServer((host, port), self)
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

    @property
    def stats_url(self) -> str:
        return self.url + STATS_PATH

    def stats(self) -> dict[str, Any]:
        """``{"requests": n, "statuses": {"200": n, ...}, "latency_seconds", "rate_limit", "rate_window"}``:
        requests received so far (status ``"0"``: reset without an answer; requests still being
        answered are counted in ``requests`` only)."""
        with self._lock:
            statuses: dict[str, int] = {}
            for entry in self.log:
                statuses[str(entry.status)] = statuses.get(str(entry.status), 0) + 1
            return {
                "requests": len(self.requests),
                "statuses": statuses,
                "latency_seconds": self.latency,
                "rate_limit": self.rate_limit,
                "rate_window": self.rate_window,
            }

    # -- fault injection -----------------------------------------------------------------
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

    def wait_answered(self, timeout: float = 10.0) -> bool:
        """Wait until every request received is in ``log`` (answered or reset): a delayed answer is
        logged when it is sent, after its client may have given up and moved on. True when so."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._in_flight:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def _take_fault(self, path: str) -> Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.match is None or fault.match in path:
                del self._faults[i]
                return fault
        return None

    # -- admission and the rate limit ------------------------------------------------------
    def _over_limit(self, now: float) -> float | None:
        """Seconds until a request would be answered, or None when it may be now (call under the lock)."""
        if self.rate_window is None:
            return None if len(self.requests) <= self.rate_limit else 3600.0
        while self._served and self._served[0] <= now - self.rate_window:
            self._served.popleft()
        if len(self._served) < self.rate_limit:
            return None
        return self._served[0] + self.rate_window - now

    def _admit(self, path: str) -> tuple[float, Fault | None, float | None, int, Answer | None]:
        """Record the request ``path`` (with query) and decide its fate: (time, fault to apply, seconds to
        wait for the rate limit or None, ``X-RateLimit-Remaining``, the previous answer served)."""
        with self._lock:
            now = time.monotonic()
            self.requests.append(path)
            self._in_flight += 1
            fault = self._take_fault(path)
            wait = None if fault else self._over_limit(now)
            if not fault and wait is None and self.rate_window is not None:
                self._served.append(now)
            used = len(self.requests) if self.rate_window is None else len(self._served)
            previous = self._previous
        return now, fault, wait, max(self.rate_limit - used, 0), previous

    def _answer(self, parts: SplitResult, fault: Fault | None, wait: float | None, previous: Answer | None) -> Answer:
        """The answer to an admitted request that is not reset: the fault's, a 429, or the route's."""
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.repeat_previous and previous is not None:
            return previous
        if fault and fault.body is not None:
            return fault.status, dict(fault.headers), fault.body
        if wait is not None:
            status, headers, body = json_answer(429, {"error": {"code": "OVER_RATE_LIMIT"}})
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return status, headers, body
        try:
            status, headers, body = self._route(parts.path, parse_qs(parts.query))
        except (ValueError, KeyError) as exc:
            status, headers, body = json_answer(400, {"errors": f"bad request: {exc}"})
        except Exception as exc:  # noqa: BLE001 - a malformed recording: say so, keep serving
            status, headers, body = json_answer(500, {"errors": f"replay failed: {type(exc).__name__}: {exc}"})
        if 200 <= status < 300:
            with self._lock:
                self._previous = (status, dict(headers), body)
        return status, headers, body

    def _record(self, at: float, path: str, status: int) -> None:
        with self._lock:
            self.log.append(LoggedRequest(at, path, status))
            self._in_flight -= 1

    # -- routing -----------------------------------------------------------------------
    def _route(self, path: str, query: Query) -> Answer:
        if path.startswith(V1_PREFIX + "/"):
            if "api_key" not in query:
                return json_answer(403, {"error": {"code": "API_KEY_MISSING", "message": "No api_key was supplied."}})
            return v1_routes.route(
                self.snapshot, path[len(V1_PREFIX) :].strip("/").split("/"), query, self._sol_answers
            )
        if path.rstrip("/") + "/" == JPL_M2020_PATH:
            return self._jpl_m2020(query)
        if path.rstrip("/") + "/" == JPL_MSL_PATH:
            return self._jpl_msl(query)
        if path.startswith(MMGIS_PREFIX + "/"):
            return mmgis_routes.layer(self.snapshot, path)
        if path.startswith(IMAGES_PREFIX):
            return mmgis_routes.image(self.snapshot, path)
        return json_answer(404, {"error": "not found"})

    # the JPL feeds go through these two methods so that a test can replace one on an instance
    def _jpl_m2020(self, q: Query) -> Answer:
        return jpl_routes.mars2020(self.snapshot, q)

    def _jpl_msl(self, q: Query) -> Answer:
        return jpl_routes.msl(self.snapshot, q)


class _QuietHTTPServer(ThreadingHTTPServer):
    """The HTTP server of one ReplayServer (``replay``), for :class:`ReplayHandler`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], replay: ReplayServer):
        self.replay = replay
        super().__init__(address, ReplayHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that gave up (timeout) or a reset injected on purpose: not a server error
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class ReplayHandler(BaseHTTPRequestHandler):
    """Answers GET requests for the ReplayServer of its HTTP server (``self.server.replay``)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)
    server: _QuietHTTPServer

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        replay = self.server.replay
        if parts.path == STATS_PATH:
            self._send(*json_answer(200, replay.stats()))
            return
        now, fault, wait, remaining, previous = replay._admit(self.path)
        if replay.latency > 0:
            time.sleep(replay.latency)
        if fault and fault.reset:
            replay._record(now, self.path, 0)
            # SO_LINGER 0: close() sends a TCP RST, the client sees "connection reset"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        status, headers, body = replay._answer(parts, fault, wait, previous)
        replay._record(now, self.path, status)
        self._send(
            status,
            {"X-RateLimit-Limit": str(replay.rate_limit), "X-RateLimit-Remaining": str(remaining), **headers},
            body,
        )

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet; never echo api_key
        pass
