"""The one HTTP client of every upstream source, and the one paging rule.

Retries are urllib3's ``Retry``: exponential backoff on 429 and 5xx for GET, honouring
``Retry-After`` up to ``max_retry_after_seconds`` (a daily limit says 3600 s). A secret
query parameter (the api.data.gov ``api_key``, https://api.data.gov/docs/developer-manual/)
is sent but never shown: every URL this module reports goes through :func:`redact_url`,
and urllib3's own DEBUG request lines are redacted once a session exists.

Pure: no Dagster import. Errors:

* :class:`RateLimitError` — HTTP 429 after every retry; its subclass
  :class:`RateLimitWaitError` — no request sent: the source's shared rate or a pause the
  server asked for (``X-RateLimit-Remaining: 0``) would need more than ``max_rate_wait_seconds``;
* :class:`ApiError` — any other non-2xx answer (5xx after retries, 4xx at once), a
  connection failure (status 0), or a 2xx body the caller cannot use;
* ``RuntimeError`` — a sol still unfinished after ``max_pages`` pages (:func:`fetch_pages`).

Every request first takes a slot of the source's rate, counted across every thread and process
of the Dagster instance (:mod:`mars_assets.sources.ratelimit`); one session per source serves
``concurrency`` threads at once (its connection pool is at least that large).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter
from urllib3.util.retry import Retry

from mars_assets.sources.ratelimit import (
    RateLimitWait,
    RequestRate,
    SharedLimiter,
    default_folder,
    limiter_key,
    parse_rates,
    retry_after_seconds,
    shared_limiter,
)
from mars_assets.sources.values import ResponseShapeError

_KEY_IN_TEXT = re.compile(r"(api_key=)[^&\s\"']+", re.I)
RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = "mars_assets (+https://github.com/) requests"


def redact_url(text: str) -> str:
    """``text`` with every ``api_key=...`` value replaced by ``REDACTED``."""
    return _KEY_IN_TEXT.sub(r"\1REDACTED", text)


class _RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_url(str(record.msg))
        if record.args:
            record.args = tuple(redact_url(str(a)) if isinstance(a, str) else a for a in record.args)
        return True


@functools.cache
def _redact_urllib3_logs() -> None:
    """urllib3 logs request lines (with the query string) at DEBUG: redact them at the source."""
    for name in ("urllib3.connectionpool", "urllib3.util.retry"):
        logging.getLogger(name).addFilter(_RedactKeys())


class ApiError(RuntimeError):
    """An HTTP answer the caller cannot use (4xx, or 5xx after retries). Message has no key."""

    def __init__(self, status: int, url: str, detail: str):
        self.status = status
        self.url = redact_url(url)
        super().__init__(f"HTTP {status} from {self.url}: {redact_url(detail)[:300]}")


class RateLimitError(ApiError):
    """HTTP 429 after every retry; ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(self, url: str, detail: str, retry_after: float | None):
        self.retry_after = retry_after
        super().__init__(429, url, f"rate limit exceeded (Retry-After: {retry_after}) {detail}")


class RateLimitWaitError(RateLimitError):
    """No request was sent: a slot of the source's shared rate, or the end of a pause the
    server asked for, is further away than ``max_rate_wait_seconds``. ``retry_after``: the
    seconds still needed when known. ``status`` is 429 (rate limited) though no answer came."""

    def __init__(self, url: str, detail: str, retry_after: float | None):
        self.retry_after = retry_after
        self.status = 429
        self.url = redact_url(url)
        # not ApiError's "HTTP 429 from ..." message: the server was not asked
        RuntimeError.__init__(self, f"request not sent: {redact_url(detail)} (for {self.url})")


class _CappedRetry(Retry):
    """urllib3 Retry whose honoured ``Retry-After`` is capped."""

    max_retry_after: float = 60.0

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after)

    def new(self, **kw: Any) -> _CappedRetry:
        new = super().new(**kw)
        new.max_retry_after = self.max_retry_after
        return new


def make_session(
    retries: int,
    backoff_factor: float,
    max_retry_after: float,
    connect_retries: int | None = None,
    pool_maxsize: int = DEFAULT_POOLSIZE,
) -> requests.Session:
    """A requests Session with urllib3 Retry on 429/5xx for GET and HEAD, honouring Retry-After.

    ``pool_maxsize``: connections kept per host; at least the threads that share the session,
    else urllib3 discards the surplus ("Connection pool is full") and reconnects each time.
    """
    _redact_urllib3_logs()
    retry = _CappedRetry(
        total=retries,
        connect=connect_retries,
        backoff_factor=backoff_factor,
        backoff_max=max_retry_after,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.max_retry_after = max_retry_after
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


#: ApiResponse's body not decoded yet.
_UNDECODED = object()


@dataclass
class ApiResponse:
    """One HTTP response kept verbatim for bronze. ``url`` is redacted."""

    url: str
    status: int
    body: bytes
    headers: dict[str, str]
    fetched_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    _decoded: Any = field(default=_UNDECODED, init=False, repr=False, compare=False)

    def sidecar(self) -> dict[str, Any]:
        """Provenance stored beside the body in bronze (no key, ever)."""
        kept = ("content-type", "x-ratelimit-limit", "x-ratelimit-remaining", "etag", "last-modified")
        keep = {k: v for k, v in self.headers.items() if k.lower() in kept}
        return {
            "url": self.url,
            "status": self.status,
            "headers": keep,
            "fetched_at": self.fetched_at.isoformat(),
            "bytes": len(self.body),
        }

    def json(self) -> Any:
        """The decoded body (decoded once: the page checks and the parse share it; do not modify
        it); ApiError (with status and redacted URL) when it is not JSON."""
        if self._decoded is not _UNDECODED:
            return self._decoded
        try:
            self._decoded = json.loads(self.body)
            return self._decoded
        except ValueError:
            kind = self.headers.get("Content-Type") or self.headers.get("content-type") or "no Content-Type"
            raise self.unusable(f"not JSON ({kind}, {len(self.body)} bytes): {self.body[:60]!r}") from None

    def unusable(self, reason: Any) -> ApiError:
        """The ApiError for a 2xx body the caller cannot read (``reason`` says why)."""
        return ApiError(self.status, self.url, f"unusable response body: {reason}")


def checked(resp: ApiResponse, parse: Callable[[Any], Any]) -> ApiResponse:
    """``resp`` when ``parse(decoded body)`` succeeds; ApiError with the parser's reason otherwise."""
    body = resp.json()
    try:
        parse(body)
    except ResponseShapeError as exc:
        raise resp.unusable(exc) from None
    return resp


@dataclass
class HttpSource:
    """Transport shared by every upstream adapter: one lazily made session per instance,
    safe to share between threads.

    ``timeout_seconds``: read timeout of a request. ``retries`` / ``backoff_factor``:
    urllib3 Retry on 429/5xx and connection errors. ``max_retry_after_seconds``: cap on an
    honoured ``Retry-After``.

    Limits, shared by every process of the instance (:mod:`mars_assets.sources.ratelimit`):
    ``concurrency``: sols in flight at once (:func:`mars_assets.sources.concurrent.fetch_sols`;
    the session keeps as many connections per host); 0 means :meth:`default_concurrency`, 4:
    the JPL feeds publish no limit, send no rate-limit headers and sit behind a 60-120 s CDN
    cache; four connections are fewer than the six per host a browser opens; four ~20 s Mars
    2020 ``sol=`` answers (NASA_SOURCES.md §2) give a sol every ~5 s, MSL's 0.2-0.7 s answers
    at most ~20 requests/s. ``rate``: e.g. ``"1000/h"``, ``"30/h+50/d"``, ``"none"``
    (:func:`~mars_assets.sources.ratelimit.parse_rates`); None means :meth:`default_rate`,
    none (no published limit: ``concurrency`` is the politeness bound); each :meth:`request`
    takes one slot (urllib3's retries of it are governed by the server's 429 / Retry-After).
    ``rate_limit_dir``: folder of the shared counts and pauses (None: ``$DAGSTER_HOME/rate_limits``
    or a temp folder). ``max_rate_wait_seconds``: longest wait for a slot or a pause before
    :class:`RateLimitWaitError`. ``rate_pause_seconds``: the pause of every process after an
    answer with ``X-RateLimit-Remaining: 0`` and no ``Retry-After`` (with one: its value).
    """

    base_url: str = ""
    timeout_seconds: float = 60.0
    retries: int = 5
    backoff_factor: float = 1.0
    max_retry_after_seconds: float = 60.0
    concurrency: int = 0
    rate: str | None = None
    rate_limit_dir: str | None = None
    max_rate_wait_seconds: float = 300.0
    rate_pause_seconds: float = 60.0
    _session: requests.Session | None = field(default=None, init=False, repr=False, compare=False)
    _pool_size: int = field(default=0, init=False, repr=False, compare=False)
    _rates: tuple[RequestRate, ...] = field(default=(), init=False, repr=False, compare=False)
    _limiter: SharedLimiter | None = field(default=None, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Resolve the defaults of ``concurrency`` and ``rate``; ValueError for a negative
        concurrency or a malformed rate (before any request)."""
        if self.concurrency < 0:
            raise ValueError(f"concurrency must be 0 (the source's default) or more, not {self.concurrency}")
        self.concurrency = self.concurrency or self.default_concurrency()
        self._rates = parse_rates(self.default_rate() if self.rate is None else self.rate)

    def default_concurrency(self) -> int:
        """Sols in flight when ``concurrency`` is 0 (see the class docstring)."""
        return 4

    def default_rate(self) -> str:
        """The rate when ``rate`` is None: none (no published limit)."""
        return "none"

    @property
    def rates(self) -> tuple[RequestRate, ...]:
        """The rate in force (empty: unlimited)."""
        return self._rates

    def limiter_key(self) -> str:
        """The name this source's counts and pauses are kept under: ``<source>@<host>_<port>`` (no secret)."""
        return limiter_key(getattr(self, "name", type(self).__name__), self.base_url)

    def limiter(self) -> SharedLimiter:
        """The process's shared limiter of this source (made at first use)."""
        with self._lock:
            if self._limiter is None:
                folder = default_folder() if self.rate_limit_dir is None else self.rate_limit_dir
                self._limiter = shared_limiter(folder, self.limiter_key(), self._rates)
            return self._limiter

    def session(self) -> requests.Session:
        """The source's session, made once under a lock (threads share it)."""
        with self._lock:
            if self._session is None:
                self._pool_size = max(DEFAULT_POOLSIZE, self.concurrency, self._pool_size)
                self._session = make_session(
                    self.retries, self.backoff_factor, self.max_retry_after_seconds, pool_maxsize=self._pool_size
                )
            return self._session

    def reserve_connections(self, threads: int) -> None:
        """Make the connection pool hold at least ``threads`` connections per host (for a caller
        running more threads than ``concurrency``); existing connections keep working."""
        with self._lock:
            if threads <= self._pool_size:
                return
            self._pool_size = threads
            if self._session is not None:
                retry = self._session.get_adapter("https://").max_retries
                adapter = HTTPAdapter(max_retries=retry, pool_maxsize=threads)
                self._session.mount("http://", adapter)
                self._session.mount("https://", adapter)

    def request(
        self, url: str, params: dict[str, Any] | None = None, secret: dict[str, str] | None = None
    ) -> ApiResponse:
        """GET ``url`` with ``params`` and ``secret`` parameters (sent, never shown).

        Takes a slot of the shared rate first (waiting up to ``max_rate_wait_seconds``);
        after an answer with ``X-RateLimit-Remaining: 0`` records the pause every process
        then makes. Returns the 2xx response verbatim. Raises RateLimitWaitError (not sent),
        RateLimitError (429 after retries) or ApiError (other non-2xx; status 0 for a
        connection failure).
        """
        shown = url + ("?" + urlencode(params) if params else "")
        try:
            self.limiter().acquire(self.max_rate_wait_seconds)
        except RateLimitWait as exc:
            raise RateLimitWaitError(shown, str(exc), exc.wait) from None
        try:
            r = self.session().get(url, params={**(params or {}), **(secret or {})}, timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            raise ApiError(0, shown, f"{type(exc).__name__}: {exc}") from None
        self.limiter().heed(r.headers, self.rate_pause_seconds)
        if r.status_code == 429:
            raise RateLimitError(shown, r.text, retry_after_seconds(r.headers.get("Retry-After")))
        if not 200 <= r.status_code < 300:
            raise ApiError(r.status_code, shown, r.text)
        return ApiResponse(shown, r.status_code, r.content, dict(r.headers))


@dataclass
class PagedSource(HttpSource):
    """An HttpSource that pages: ``max_pages`` is the safety stop of one query's paging,
    ``repeat_retries`` the requests again of a page that repeats (:func:`fetch_pages`)."""

    max_pages: int = 200
    repeat_retries: int = 2

    def paged(
        self,
        get_page: Callable[[int], ApiResponse],
        read: Callable[[ApiResponse, int], PageView],
        first: int,
        what: str,
    ) -> list[ApiResponse]:
        """:func:`fetch_pages` with this source's limits and backoff."""
        return fetch_pages(
            get_page,
            read,
            first=first,
            max_pages=self.max_pages,
            repeat_retries=self.repeat_retries,
            backoff_seconds=self.backoff_factor,
            what=what,
        )


@dataclass(frozen=True)
class PageView:
    """What the paging loop needs of one page: the record ids on it and whether it is the last."""

    ids: frozenset[str]
    last: bool


def record_ids(records: Iterable[Any], key: str) -> frozenset[str]:
    """The ``key`` values (as text) of the dict records that have one."""
    return frozenset(str(r[key]) for r in records if isinstance(r, dict) and r.get(key) is not None)


def fetch_pages(
    get_page: Callable[[int], ApiResponse],
    read: Callable[[ApiResponse, int], PageView],
    *,
    first: int,
    max_pages: int,
    repeat_retries: int,
    backoff_seconds: float,
    what: str,
) -> list[ApiResponse]:
    """Every page of one query, from page number ``first`` until ``read`` says a page is the last.

    The one rule for a page that repeats: a page after the first whose ids were all on
    earlier pages (an upstream that ignores ``page``, a stale CDN cache) is not kept and is
    asked for again up to ``repeat_retries`` times (sleeping ``backoff_seconds`` × n); still
    repeating, it raises ApiError ("page N repeats earlier pages") instead of looping to
    ``max_pages`` or silently ending the sol. ``read(response, page number)`` raises ApiError for an unusable page.
    Raises RuntimeError past ``max_pages`` pages (``what`` names the query).
    """
    pages: list[ApiResponse] = []
    seen: set[str] = set()
    page, repeats = first, 0
    while page < first + max_pages:
        resp = get_page(page)
        view = read(resp, page)
        if page > first and view.ids and view.ids <= seen:
            if repeats >= repeat_retries:
                raise ApiError(
                    resp.status,
                    resp.url,
                    f"page {page} repeats earlier pages ({repeats + 1} times): the source is not paging, "
                    f"{what} left as it was",
                )
            repeats += 1
            time.sleep(backoff_seconds * repeats)
            continue
        pages.append(resp)
        seen |= view.ids
        repeats = 0
        if view.last:
            return pages
        page += 1
    raise RuntimeError(f"{what}: more than {max_pages} pages; raise max_pages")
