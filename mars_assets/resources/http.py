"""HTTP clients as Dagster resources: the Photos API v1, MMGIS layers, image downloads.

Retries use urllib3's ``Retry`` (exponential backoff on 429 and 5xx, honouring
``Retry-After`` up to ``max_retry_after_seconds``). The API key travels in the
``api_key`` query parameter, as api.data.gov documents
(https://api.data.gov/docs/developer-manual/); it is never put in a log line, an error
message, Dagster metadata or a bronze file: every URL this module reports goes through
:func:`redact_url`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import dagster as dg
import requests
from pydantic import Field, PrivateAttr
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from mars_assets.sources.mmgis import features_of
from mars_assets.sources.photos_api import ResponseShapeError, parse_manifest, parse_rovers_listing, photos_of

_KEY_IN_TEXT = re.compile(r"(api_key=)[^&\s\"']+", re.I)
RETRY_STATUSES = (429, 500, 502, 503, 504)


def redact_url(text: str) -> str:
    """``text`` with every ``api_key=...`` value replaced by ``REDACTED``."""
    return _KEY_IN_TEXT.sub(r"\1REDACTED", text)


class _RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_url(str(record.msg))
        if record.args:
            record.args = tuple(redact_url(str(a)) if isinstance(a, str) else a for a in record.args)
        return True


# urllib3 logs request lines (with the query string) at DEBUG: redact them at the source.
for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_RedactKeys())


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
    """urllib3 Retry whose honoured ``Retry-After`` is capped (a daily limit says 3600 s)."""

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
    """A requests Session with urllib3 Retry on 429/5xx for GET, honouring Retry-After."""
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
    session.headers["User-Agent"] = "mars_assets (+https://github.com/) requests"
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
        keep = {
            k: v
            for k, v in self.headers.items()
            if k.lower() in ("content-type", "x-ratelimit-limit", "x-ratelimit-remaining", "etag", "last-modified")
        }
        return {
            "url": self.url,
            "status": self.status,
            "headers": keep,
            "fetched_at": self.fetched_at.isoformat(),
            "bytes": len(self.body),
        }


class PhotosApiClient(dg.ConfigurableResource):
    """Client of the Mars Rover Photos API v1 or a v1-compatible mirror.

    The v1 API at api.nasa.gov was retired in October 2025; ``base_url`` points at a
    mirror or at the snapshot replay server. ``api_key`` comes from ``NASA_API_KEY``
    (``DEMO_KEY`` when unset: 30 requests an hour, 50 a day per IP).
    """

    base_url: str = Field(
        default="https://api.nasa.gov/mars-photos/api/v1",
        description="Base URL of the v1 API or a v1-compatible mirror",
    )
    api_key: str = Field(default="DEMO_KEY", description="api.data.gov key; never logged")
    timeout_seconds: float = 30.0
    retries: int = 5
    backoff_factor: float = 1.0
    max_retry_after_seconds: float = 60.0
    page_size: int = Field(default=25, description="Photos per page (the API's default is 25)")
    max_pages: int = Field(default=2000, description="Safety stop for a sol's paging loop")
    repeat_retries: int = Field(default=2, description="Requests again of a page that repeats earlier pages")

    _session: requests.Session | None = PrivateAttr(default=None)

    def _get_session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session(self.retries, self.backoff_factor, self.max_retry_after_seconds)
        return self._session

    def get(self, path: str, **params: Any) -> ApiResponse:
        """GET ``base_url + path`` with ``params`` (and the key).

        Returns the response for 2xx. Raises RateLimitError (429 after retries),
        ApiError (any other non-2xx, or a connection failure: status 0).
        """
        url = self.base_url.rstrip("/") + path
        shown = url + ("?" + urlencode(params) if params else "")
        try:
            r = self._get_session().get(url, params={**params, "api_key": self.api_key}, timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            raise ApiError(0, shown, f"{type(exc).__name__}: {exc}") from None
        resp = ApiResponse(shown, r.status_code, r.content, dict(r.headers))
        if r.status_code == 429:
            ra = r.headers.get("Retry-After")
            raise RateLimitError(shown, r.text, float(ra) if ra and ra.isdigit() else None)
        if not 200 <= r.status_code < 300:
            raise ApiError(r.status_code, shown, r.text)
        return resp

    def rovers(self) -> ApiResponse:
        """``GET /rovers``, checked to parse (ApiError saying why when it does not)."""
        return _checked(self.get("/rovers"), parse_rovers_listing)

    def manifest(self, rover: str) -> ApiResponse:
        """``GET /manifests/{rover}``, checked to parse (ApiError saying why when it does not)."""
        return _checked(self.get(f"/manifests/{rover}"), parse_manifest)

    def photo_pages(self, rover: str, sol: int) -> list[ApiResponse]:
        """Every page of ``/rovers/{rover}/photos?sol={sol}``, paging until a short page.

        The API gives no totals; a page with fewer than ``page_size`` photos is the last.
        Every page is checked before it is kept: a body that is not JSON (an HTML error
        page served with 200, say) or has no ``photos`` list raises ApiError naming the
        page, so bronze is never replaced by an unusable answer. A page whose photo ids
        were all on earlier pages (an upstream that ignores ``page``, or a stale cache) is
        not kept and is asked for again up to ``repeat_retries`` times; still repeating, it
        raises ApiError instead of looping to ``max_pages`` or silently ending the sol.
        Raises ApiError for an unknown rover (HTTP 400) and RuntimeError past ``max_pages``.
        """
        pages: list[ApiResponse] = []
        seen: set[str] = set()
        page, repeats = 1, 0
        while page <= self.max_pages:
            resp = self.get(f"/rovers/{rover}/photos", sol=int(sol), page=page, per_page=self.page_size)
            photos = page_photos(resp)
            ids = {str(p["id"]) for p in photos if isinstance(p, Mapping) and p.get("id") is not None}
            if page > 1 and ids and ids <= seen:
                if repeats >= self.repeat_retries:
                    raise ApiError(
                        resp.status,
                        resp.url,
                        f"page {page} repeats earlier pages ({repeats + 1} times): the source is "
                        f"not paging, {rover} sol {sol} left as it was",
                    )
                repeats += 1
                time.sleep(self.backoff_factor * repeats)
                continue
            pages.append(resp)
            seen |= ids
            repeats = 0
            if len(photos) < self.page_size:
                return pages
            page += 1
        raise RuntimeError(f"{rover} sol {sol}: more than {self.max_pages} pages; raise max_pages")


def _json_body(resp: ApiResponse) -> Any:
    try:
        return json.loads(resp.body)
    except ValueError:
        kind = resp.headers.get("Content-Type") or resp.headers.get("content-type") or "no Content-Type"
        raise ApiError(
            resp.status,
            resp.url,
            f"unusable response body: not JSON ({kind}, {len(resp.body)} bytes): {resp.body[:60]!r}",
        ) from None


def _checked(resp: ApiResponse, parse) -> ApiResponse:
    """``resp`` when ``parse(json body)`` succeeds; ApiError with the parser's reason otherwise."""
    body = _json_body(resp)
    try:
        parse(body)
    except ResponseShapeError as exc:
        raise ApiError(resp.status, resp.url, f"unusable response body: {exc}") from None
    return resp


def page_photos(resp: ApiResponse) -> list:
    """The photo list of a v1 ``photos`` response, or ApiError (with the response's status
    and redacted URL) saying why the body is unusable: not JSON, or JSON without ``photos``."""
    body = _json_body(resp)
    try:
        return photos_of(body)
    except ResponseShapeError as exc:
        raise ApiError(resp.status, resp.url, f"unusable response body: {exc}") from None


class MmgisClient(dg.ConfigurableResource):
    """Client of NASA MMGIS map layers (``{base_url}/{M20|MSL}/Layers/json/...``)."""

    base_url: str = "https://mars.nasa.gov/mmgis-maps"
    timeout_seconds: float = 60.0
    retries: int = 3
    backoff_factor: float = 1.0

    def get(self, path: str) -> ApiResponse:
        """GET a layer; raises ApiError on a non-2xx answer, a connection failure, or a body
        that is not a GeoJSON object with a ``features`` list (an HTML page served with 200)."""
        url = self.base_url.rstrip("/") + path
        session = make_session(self.retries, self.backoff_factor, 60.0)
        try:
            r = session.get(url, timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            raise ApiError(0, url, f"{type(exc).__name__}: {exc}") from None
        if not 200 <= r.status_code < 300:
            raise ApiError(r.status_code, url, r.text)
        return _checked(ApiResponse(url, r.status_code, r.content, dict(r.headers)), features_of)


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


#: NASA/JPL hosts that serve rover images (img_src of the v1 API and the JPL raw feeds).
NASA_IMAGE_HOSTS = (
    "mars.nasa.gov",
    "mars.jpl.nasa.gov",
    "science.nasa.gov",
    "photojournal.jpl.nasa.gov",
    "planetarydata.jpl.nasa.gov",
    "pds-imaging.jpl.nasa.gov",
)


class ImageDownloader(dg.ConfigurableResource):
    """Downloads rover images from an allow-list of NASA hosts.

    ``max_per_partition`` bounds the downloads of one rover × sol (a Curiosity sol can
    hold thousands of photos): 0 downloads none, a negative value downloads all.
    """

    allowed_hosts: list[str] = Field(default_factory=lambda: list(NASA_IMAGE_HOSTS))
    max_per_partition: int = 10
    timeout_seconds: float = 30.0
    retries: int = 2
    max_bytes: int = 64 * 1024 * 1024
    max_redirects: int = 5

    _session: requests.Session | None = PrivateAttr(default=None)

    def host_allowed(self, url: str) -> bool:
        """Whether ``url`` is http(s) on a host of ``allowed_hosts`` (exact name match; a malformed URL is not)."""
        try:
            parts = urlsplit(url)
            return parts.scheme in ("http", "https") and (parts.hostname or "") in self.allowed_hosts
        except ValueError:
            return False

    def fetch(self, url: str) -> bytes:
        """The bytes at ``url``. Raises ApiError (status 0 for a refused host or no connection).

        Redirects are followed by hand, at most ``max_redirects``, each target checked
        against the allow-list: a redirect to another host (loopback, a private address,
        anything not listed) raises ApiError with the 3xx status, and is never requested.
        """
        if not self.host_allowed(url):
            raise ApiError(0, url, f"host {_hostname(url)!r} is not on the image allow-list")
        if self._session is None:
            self._session = make_session(self.retries, 0.5, 30.0, connect_retries=0)
        try:
            r = self._get_stream(url)
        except requests.RequestException as exc:
            raise ApiError(0, url, f"{type(exc).__name__}: {exc}") from None
        if r.status_code != 200:
            raise ApiError(r.status_code, url, r.reason or "")
        return r.content

    def _get_stream(self, url: str) -> requests.Response:
        assert self._session is not None
        for _ in range(self.max_redirects + 1):
            r = self._session.get(url, timeout=self.timeout_seconds, stream=True, allow_redirects=False)
            if not r.is_redirect:
                break
            target = urljoin(url, r.headers.get("Location", ""))
            r.close()
            if not self.host_allowed(target):
                raise ApiError(
                    r.status_code, url, f"redirect to {_hostname(target)!r} refused: not on the image allow-list"
                )
            url = target
        else:
            raise requests.TooManyRedirects(f"more than {self.max_redirects} redirects")
        length_text = r.headers.get("Content-Length") or "0"
        length = int(length_text) if length_text.strip().isdigit() else 0  # a bad header: read up to the cap
        if length > self.max_bytes:
            r.close()
            raise requests.RequestException(f"image of {length} bytes exceeds max_bytes")
        r._content = r.raw.read(self.max_bytes + 1, decode_content=True)  # noqa: SLF001
        if len(r._content) > self.max_bytes:  # noqa: SLF001
            raise requests.RequestException("image exceeds max_bytes")
        return r
