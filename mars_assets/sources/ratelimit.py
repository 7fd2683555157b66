"""One request rate per upstream, shared by every thread and process of a Dagster instance.

Two mechanisms, both kept as files in one folder (:func:`default_folder`:
``$DAGSTER_HOME/rate_limits/``, or ``<tmp>/mars_assets_rate_limits/`` without DAGSTER_HOME),
so every run worker, sensor and CLI process of the instance sees them:

* **The configured rate** (``"1000/h"``, ``"30/h+50/d"``; :func:`parse_rates`), kept by
  pyrate-limiter 4 (https://pypi.org/project/pyrate-limiter/): its sliding-window log in its
  SQLite bucket (``<key>.sqlite``, WAL) behind its file lock (``<key>.sqlite.lock``,
  ``SQLiteBucket.init_from_file(use_file_lock=True)``). One row per request sent (name = the
  limiter key, timestamp in ms since the epoch); the library's background leaker deletes rows
  older than the longest window. A request that finds the window full waits (the library
  sleeps until the oldest row leaves it) at most the caller's maximum wait.
* **The server's word**: after a response with ``X-RateLimit-Remaining: 0`` (api.data.gov sends
  the header on every response, https://api.data.gov/docs/developer-manual/#rate-limits) the
  caller records a pause (:meth:`SharedLimiter.pause`) in ``<key>.pause.json``
  (``{"until": epoch seconds, "set_at": ..., "reason": ...}``, replaced atomically); until
  then every request of that key, in every process, waits.

A key is ``<source>@<host>_<port>`` (:func:`limiter_key`, plus a suffix such as ``-demo``):
no secret is ever part of a key, a row, a file name or a message. Nothing happens at import:
the folder and files are made at the first request that needs them. Pure: no Dagster import.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import json
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from filelock import FileLock
from pyrate_limiter import Limiter, Rate, RateItem, SQLiteBucket, validate_rate_list

T = TypeVar("T")

#: Seconds per rate unit (``N/<unit>`` or ``N/<count><unit>``, e.g. ``5/2s``).
UNITS: dict[str, float] = {
    **dict.fromkeys(("s", "sec", "second"), 1.0),
    **dict.fromkeys(("m", "min", "minute"), 60.0),
    **dict.fromkeys(("h", "hour"), 3600.0),
    **dict.fromkeys(("d", "day"), 86400.0),
}
_RATE = re.compile(r"^(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([a-z]+)$", re.I)
_UNLIMITED = ("", "0", "none", "unlimited")
_KEY_CHARS = re.compile(r"[^A-Za-z0-9._@+-]")
#: Extra milliseconds pyrate-limiter sleeps past the computed wait (its default).
BUFFER_MS = 50


@dataclass(frozen=True)
class RequestRate:
    """At most ``limit`` requests in any sliding window of ``seconds``."""

    limit: int
    seconds: float

    def __str__(self) -> str:
        for unit in ("d", "h", "m", "s"):
            if self.seconds == UNITS[unit]:
                return f"{self.limit}/{unit}"
        return f"{self.limit}/{self.seconds:g}s"


def parse_rates(text: str) -> tuple[RequestRate, ...]:
    """``"1000/h"``, ``"30/h+50/d"``, ``"5/2s"`` → rates; ``""``, ``"0"``, ``"none"`` → ``()`` (no limit).

    Units: s, m, h, d (also sec/second, min/minute, hour, day), optionally with a count
    (``5/2s``: 5 requests per 2 s). Several rates joined by ``+`` must grow with the window
    and allow no higher density in a longer one (pyrate-limiter's rule). Raises ValueError
    naming the bad part.
    """
    if text.strip().lower() in _UNLIMITED:
        return ()
    rates = []
    for part in (p.strip() for p in text.split("+")):
        m = _RATE.match(part)
        if not m or m.group(3).lower() not in UNITS:
            raise ValueError(f"rate {part!r} is not N/unit (e.g. 1000/h, 30/h+50/d, 5/2s; 0 or none: no limit)")
        seconds = float(m.group(2) or 1) * UNITS[m.group(3).lower()]
        if int(m.group(1)) < 1 or seconds <= 0:
            raise ValueError(f"rate {part!r} must allow at least 1 request in a positive window (0 or none: no limit)")
        rates.append(RequestRate(int(m.group(1)), seconds))
    rates.sort(key=lambda r: r.seconds)
    if not validate_rate_list([_pyrate(r) for r in rates]):
        raise ValueError(f"rates {text!r}: a longer window must allow more requests, at no higher density")
    return tuple(rates)


def normalized_rate(text: str) -> str:
    """``text`` checked and written the canonical way (``"1000/hour"`` → ``"1000/h"``, ``"0"`` → ``"none"``).
    Raises ValueError as :func:`parse_rates`."""
    return format_rates(parse_rates(text))


def format_rates(rates: Collection[RequestRate]) -> str:
    """``"30/h+50/d"``, or ``"none"`` for no limit."""
    return "+".join(map(str, rates)) or "none"


def parse_per_source(text: str, variable: str, convert: Callable[[str], T], known: Collection[str]) -> dict[str, T]:
    """``"jpl_msl=4,photos_api_v1=1"`` → ``{name: convert(value)}``.

    Raises ValueError naming ``variable`` for an item that is not ``source=value``, a source
    not in ``known`` (the message lists them) or a value ``convert`` refuses.
    """
    out: dict[str, T] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = (s.strip() for s in item.partition("="))
        if not sep:
            raise ValueError(f"{variable} item {item!r} is not source=value")
        if name not in known:
            raise ValueError(f"{variable}: unknown source {name!r}; choose from {sorted(known)}")
        try:
            out[name] = convert(value)
        except ValueError as exc:
            raise ValueError(f"{variable}: {name}={value!r}: {exc}") from None
    return out


def positive_int(text: str) -> int:
    """``text`` as an int of at least 1 (ValueError otherwise)."""
    value = int(text)
    if value < 1:
        raise ValueError(f"must be at least 1, not {value}")
    return value


def default_folder() -> Path:
    """``$DAGSTER_HOME/rate_limits`` (one per Dagster instance), else ``<tmp>/mars_assets_rate_limits``."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home) / "rate_limits" if home else Path(tempfile.gettempdir()) / "mars_assets_rate_limits"


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (localhost, 127.0.0.0/8, ::1): a local server, not an upstream."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def limiter_key(source: str, url: str, suffix: str = "") -> str:
    """``<source>@<host>_<port><suffix>`` for ``url`` (never its user info, path or query), file-name safe."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return _KEY_CHARS.sub("_", f"{source}@{parts.hostname or 'nohost'}_{port}{suffix}")


class RateLimitWait(Exception):  # noqa: N818 - a wait that did not fit, not an error of the caller
    """No request slot within the maximum wait. ``wait``: seconds still needed (None: unknown)."""

    def __init__(self, message: str, wait: float | None):
        self.wait = wait
        super().__init__(message)


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` value (seconds, or an HTTP date: RFC 9110 §10.2.3) as seconds from now, or None."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds()) if when.tzinfo else None


def _pyrate(rate: RequestRate) -> Rate:
    return Rate(rate.limit, max(1, round(rate.seconds * 1000)))


class _StampedAtAdmission(SQLiteBucket):
    """pyrate-limiter's SQLite bucket, each request stamped with the time it is admitted.

    The library's blocking retry advances a waiting request's stamp by the sleep it planned
    (``Limiter._blocking_retry_sync``); time spent waiting for the file lock on top of that
    would store a time earlier than the real one and let a later request in early. Reading
    the clock again under the lock keeps the log exact across processes.
    """

    def put(self, item: RateItem) -> bool:
        with self.lock:
            item.timestamp = self.now()
            return super().put(item)


class SharedLimiter:
    """The rate and pause of one limiter key in ``folder`` (see the module docstring).

    Thread-safe; one per process and key (:func:`shared_limiter`). The SQLite bucket is
    opened at the first :meth:`acquire` of a limited key; an unlimited key only reads its
    pause file.
    """

    def __init__(self, folder: Path, key: str, rates: tuple[RequestRate, ...]):
        self.folder, self.key, self.rates = Path(folder), key, rates
        self._limiter: Limiter | None = None
        self._lock = threading.Lock()

    @property
    def pause_file(self) -> Path:
        return self.folder / f"{self.key}.pause.json"

    def _rate_limiter(self) -> Limiter:
        with self._lock:
            if self._limiter is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                bucket = _StampedAtAdmission.init_from_file(
                    [_pyrate(r) for r in self.rates],
                    table="requests",
                    db_path=str(self.folder / f"{self.key}.sqlite"),
                    use_file_lock=True,
                )
                self._limiter = Limiter(bucket, buffer_ms=BUFFER_MS)
            return self._limiter

    def acquire(self, max_wait: float) -> float:
        """Wait until one request may be sent now, by every process's count; seconds waited.

        Waits out a recorded pause, then takes a slot of the rate (none needed when unlimited).
        Raises :class:`RateLimitWait` at once when the pause outlasts ``max_wait`` seconds, or
        when no slot came within ``max_wait``; nothing is counted then.
        """
        started = time.monotonic()
        deadline = started + max(0.0, max_wait)
        while (pause := self.pause_remaining()) > 0:
            if time.monotonic() + pause > deadline:
                reason = self.pause_reason()
                raise RateLimitWait(
                    f"{self.key}: paused for {pause:.0f} s more ({reason}), longer than the maximum wait of "
                    f"{max_wait:g} s; recorded in {self.pause_file}",
                    pause,
                )
            time.sleep(pause)
        if self.rates:
            # a moment for the file lock at least, so a zero wait still means "a slot now"
            timeout = max(deadline - time.monotonic(), 0.1)
            if not self._rate_limiter().try_acquire(self.key, blocking=True, timeout=timeout):
                raise RateLimitWait(
                    f"{self.key}: no request slot within {max_wait:g} s under {format_rates(self.rates)}, "
                    f"shared by every process using {self.folder}; wait, or raise the rate (MARS_SOURCE_RATE)",
                    None,
                )
        return time.monotonic() - started

    def _read_pause(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.pause_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("until"), int | float) else None

    def pause_remaining(self) -> float:
        """Seconds until the recorded pause ends (0 or less: none)."""
        data = self._read_pause()
        return data["until"] - time.time() if data else 0.0

    def pause_reason(self) -> str:
        """Why the current pause was recorded (empty when there is none)."""
        data = self._read_pause()
        return str(data.get("reason", "")) if data else ""

    def heed(self, headers: Any, default_pause: float) -> None:
        """After an answer: ``X-RateLimit-Remaining: 0`` pauses every process for its ``Retry-After``
        if it sent one, else ``default_pause`` seconds (0: no pause). ``headers``: a case-insensitive
        mapping (requests' ``Response.headers``)."""
        if str(headers.get("X-RateLimit-Remaining", "")).strip() != "0":
            return
        after = retry_after_seconds(headers.get("Retry-After"))
        note = "no Retry-After" if after is None else f"Retry-After: {after:g} s"
        self.pause(default_pause if after is None else after, f"X-RateLimit-Remaining: 0 from {self.key}, {note}")

    def pause(self, seconds: float, reason: str) -> None:
        """Make every request of this key, in every process, wait ``seconds`` from now.

        A pause already recorded that ends later is kept. ``reason`` is stored and shown: it must
        hold no secret (callers pass header values and host names).
        """
        if seconds <= 0:
            return
        until = time.time() + seconds
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.pause_file) + ".lock"):
            current = self._read_pause()
            if current and current["until"] >= until:
                return
            tmp = self.pause_file.with_name(f"{self.pause_file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({"until": until, "set_at": time.time(), "reason": reason}))
            os.replace(tmp, self.pause_file)


_SHARED: dict[tuple[int, str, str, tuple[RequestRate, ...]], SharedLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(folder: Path, key: str, rates: tuple[RequestRate, ...]) -> SharedLimiter:
    """The process's one :class:`SharedLimiter` for ``folder`` × ``key`` × ``rates`` (keyed by pid too,
    so a forked child never reuses its parent's SQLite connection)."""
    cache_key = (os.getpid(), str(Path(folder).resolve()), key, rates)
    with _SHARED_LOCK:
        if cache_key not in _SHARED:
            _SHARED[cache_key] = SharedLimiter(Path(folder), key, rates)
        return _SHARED[cache_key]
