"""Image downloads from an allow-list of NASA hosts (a Dagster resource).

Transport and errors are those of :mod:`mars_assets.sources.http` (urllib3 Retry, ApiError).
"""

from __future__ import annotations

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
