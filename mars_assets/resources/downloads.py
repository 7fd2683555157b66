"""Image downloads from an allow-list of NASA hosts (a Dagster resource), many at once per host.

Transport and errors are those of :mod:`mars_assets.sources.http` (urllib3 Retry, ApiError).
:class:`DownloadPool` runs the downloads of one Dagster run concurrently: one thread pool per
host (``concurrent.futures``), at most ``max_concurrent_per_host`` requests in flight to each.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import dagster as dg
import requests
from pydantic import Field, PrivateAttr

from mars_assets.sources.http import ApiError, make_session


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
    ``max_concurrent_per_host`` (≥ 1) bounds the requests :meth:`pool` has in flight to one
    host (``MARS_IMAGE_DOWNLOAD_CONCURRENCY``); the session keeps as many connections per host.
    """

    allowed_hosts: list[str] = Field(default_factory=lambda: list(NASA_IMAGE_HOSTS))
    max_per_partition: int = 10
    max_concurrent_per_host: int = 4
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
        self.session()
        try:
            r = self._get_stream(url)
        except requests.RequestException as exc:
            raise ApiError(0, url, f"{type(exc).__name__}: {exc}") from None
        if r.status_code != 200:
            raise ApiError(r.status_code, url, r.reason or "")
        return r.content

    def session(self) -> requests.Session:
        """The requests Session of every download (made on first use; not thread-safe itself:
        :class:`DownloadPool` makes it before its threads start). urllib3 keeps up to
        ``max_concurrent_per_host`` connections per host (pools of the 10 hosts used last)."""
        if self._session is None:
            pool = max(1, self.max_concurrent_per_host)
            self._session = make_session(self.retries, 0.5, 30.0, connect_retries=0, pool_maxsize=pool)
        return self._session

    def pool(self) -> DownloadPool:
        """A :class:`DownloadPool` over this downloader (use it as a context manager)."""
        return DownloadPool(self)

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


class HostSkipped(Exception):
    """A download not requested because its host failed to connect earlier in the same pool."""


def host_of(url: str) -> str:
    """The host a download goes to, as connections are pooled: ``host[:port]`` of ``url`` ("" if none)."""
    try:
        return urlsplit(url).netloc.rsplit("@", 1)[-1]
    except ValueError:
        return ""


class DownloadPool:
    """Concurrent downloads of one run: a thread pool per host, each of ``max_concurrent_per_host``
    threads, so at most that many requests are in flight to one host while other hosts proceed.

    :meth:`submit` returns a ``Future`` whose result is the image bytes; it raises what
    :meth:`ImageDownloader.fetch` raises (ApiError), or :class:`HostSkipped` when the host is dead:
    a download that failed without an HTTP answer (ApiError status 0: connection refused, reset,
    timeout, a refused host) marks its host dead for the rest of the pool, and later downloads
    there are not requested (:attr:`dead_hosts`: host → the first error, ≤ 200 characters).
    Requests already in flight to that host finish on their own. Futures hold their bytes until
    the caller drops them: submit one partition at a time to bound memory. Close it (or leave
    the ``with`` block) to stop its threads; queued downloads are then cancelled.
    Raises ValueError when ``max_concurrent_per_host`` is below 1.
    """

    def __init__(self, downloader: ImageDownloader) -> None:
        if downloader.max_concurrent_per_host < 1:
            raise ValueError(f"max_concurrent_per_host must be at least 1, not {downloader.max_concurrent_per_host}")
        self.downloader = downloader
        self.dead_hosts: dict[str, str] = {}
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()
        downloader.session()  # made here, before any thread uses it

    def submit(self, url: str) -> Future[bytes]:
        """Queue the download of ``url`` on its host's threads."""
        host = host_of(url)
        executor = self._executors.get(host)
        if executor is None:
            executor = self._executors[host] = ThreadPoolExecutor(
                self.downloader.max_concurrent_per_host, thread_name_prefix=f"images-{host or 'none'}"
            )
        return executor.submit(self._fetch, host, url)

    def _fetch(self, host: str, url: str) -> bytes:
        with self._lock:
            dead = self.dead_hosts.get(host)
        if dead is not None:
            raise HostSkipped(f"host unreachable earlier in this run: {dead}")
        try:
            return self.downloader.fetch(url)
        except ApiError as exc:
            if exc.status == 0:
                with self._lock:
                    self.dead_hosts.setdefault(host, str(exc)[:200])
            raise

    def close(self) -> None:
        """Stop every thread of the pool; queued downloads are cancelled, running ones finish."""
        for executor in self._executors.values():
            executor.shutdown(wait=True, cancel_futures=True)
        self._executors.clear()

    def __enter__(self) -> DownloadPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
