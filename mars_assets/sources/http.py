"""The one HTTP client of every upstream source, and the one paging rule.

Retries are urllib3's ``Retry``: exponential backoff on 429 and 5xx for GET, honouring
``Retry-After`` up to ``max_retry_after_seconds`` (a daily limit says 3600 s). A secret
query parameter (the api.data.gov ``api_key``, https://api.data.gov/docs/developer-manual/)
is sent but never shown: every URL this module reports goes through :func:`redact_url`,
and urllib3's own DEBUG request lines are redacted once a session exists.

Pure: no Dagster import. Errors:

* :class:`RateLimitError` — HTTP 429 after every retry;
* :class:`ApiError` — any other non-2xx answer (5xx after retries, 4xx at once), a
  connection failure (status 0), or a 2xx body the caller cannot use;
* ``RuntimeError`` — a sol still unfinished after ``max_pages`` pages (:func:`fetch_pages`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

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
    retries: int, backoff_factor: float, max_retry_after: float, connect_retries: int | None = None
) -> requests.Session:
    """A requests Session with urllib3 Retry on 429/5xx for GET and HEAD, honouring Retry-After."""
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
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


@dataclass
class ApiResponse:
    """One HTTP response kept verbatim for bronze. ``url`` is redacted."""

    url: str
    status: int
    body: bytes
    headers: dict[str, str]
    fetched_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

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
        """The decoded body; ApiError (with status and redacted URL) when it is not JSON."""
        try:
            return json.loads(self.body)
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
    """Transport shared by every upstream adapter: one lazily made session per instance.

    ``timeout_seconds``: read timeout of a request. ``retries`` / ``backoff_factor``:
    urllib3 Retry on 429/5xx and connection errors. ``max_retry_after_seconds``: cap on an
    honoured ``Retry-After``.
    """

    base_url: str = ""
    timeout_seconds: float = 60.0
    retries: int = 5
    backoff_factor: float = 1.0
    max_retry_after_seconds: float = 60.0
    _session: requests.Session | None = field(default=None, init=False, repr=False, compare=False)

    def session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session(self.retries, self.backoff_factor, self.max_retry_after_seconds)
        return self._session

    def request(
        self, url: str, params: dict[str, Any] | None = None, secret: dict[str, str] | None = None
    ) -> ApiResponse:
        """GET ``url`` with ``params`` and ``secret`` parameters (sent, never shown).

        Returns the 2xx response verbatim. Raises RateLimitError (429 after retries) or
        ApiError (other non-2xx; status 0 for a connection failure).
        """
        shown = url + ("?" + urlencode(params) if params else "")
        try:
            r = self.session().get(url, params={**(params or {}), **(secret or {})}, timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            raise ApiError(0, shown, f"{type(exc).__name__}: {exc}") from None
        if r.status_code == 429:
            ra = r.headers.get("Retry-After")
            raise RateLimitError(shown, r.text, float(ra) if ra and ra.isdigit() else None)
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
