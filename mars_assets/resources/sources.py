"""The upstream sources as one Dagster resource: which adapter serves each rover, and their URLs.

The adapters themselves are pure (:mod:`mars_assets.sources`); this resource holds their
configuration (from :class:`mars_assets.settings.Settings`) and hands out one configured
instance per adapter and run, so HTTP connections are reused (also by the threads of
:func:`mars_assets.sources.concurrent.fetch_sols`). Request rates are counted across every
process of the instance in ``rate_limit_dir`` (:mod:`mars_assets.sources.ratelimit`).
"""

from __future__ import annotations

import threading
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr, field_validator

from mars_assets.sources.base import PhotoSource
from mars_assets.sources.jpl_ingenuity import JplIngenuitySource
from mars_assets.sources.jpl_mars2020 import JplMars2020Source
from mars_assets.sources.jpl_msl import JplMslSource
from mars_assets.sources.mmgis import MmgisSource
from mars_assets.sources.photos_api import PhotosApiSource
from mars_assets.sources.ratelimit import parse_rates
from mars_assets.sources.registry import LAYER_SOURCES, LIVE_DEFAULTS, PHOTO_SOURCES, check_sources, source_name

_TRANSPORT = (
    "timeout_seconds",
    "retries",
    "backoff_factor",
    "max_retry_after_seconds",
    "rate_limit_dir",
    "max_rate_wait_seconds",
    "rate_pause_seconds",
)
#: The names ``concurrency`` and ``rates`` accept: every HTTP adapter.
LIMITED_SOURCES = frozenset(PHOTO_SOURCES) | frozenset(LAYER_SOURCES)
#: Adapters are made on first use, possibly by several threads of a step at once.
_ADAPTERS_LOCK = threading.Lock()


def _known(value: dict[str, Any], what: str) -> None:
    unknown = sorted(set(value) - LIMITED_SOURCES)
    if unknown:
        raise ValueError(f"{what}: unknown source {unknown[0]!r}; choose from {sorted(LIMITED_SOURCES)}")


class UpstreamSources(dg.ConfigurableResource):
    """Per rover, the source of photo metadata (``MARS_SOURCES``), the base URL of each source,
    the api.data.gov key of the v1 API (``NASA_API_KEY``, read through dg.EnvVar, never shown),
    and optional transport overrides for every adapter (None keeps the adapter's default).

    ``photos_api_page_size``: photos a page of the v1 source (0: the whole sol in one request).
    ``concurrency`` / ``rates``: per source name (``jpl_msl``, ``photos_api_v1``, ...), sols in
    flight and the request rate (``"1000/h"``, ``"none"``); a source not named keeps its default
    (:class:`mars_assets.sources.http.HttpSource`). ``rate_limit_dir``: the folder the counts
    and pauses are shared in (None: ``$DAGSTER_HOME/rate_limits``). ValueError for an unknown
    source name, a concurrency below 1 or a malformed rate."""

    by_rover: dict[str, str] = Field(default_factory=lambda: dict(LIVE_DEFAULTS))
    photos_api_url: str = PhotosApiSource.base_url
    api_key: str = Field(default="DEMO_KEY", description="api.data.gov key; never logged")
    jpl_mars2020_url: str = JplMars2020Source.base_url
    jpl_msl_url: str = JplMslSource.base_url
    mmgis_url: str = MmgisSource.base_url
    timeout_seconds: float | None = Field(default=None, description="per-request read timeout (s)")
    retries: int | None = Field(default=None, description="urllib3 retries on 429/5xx and connection errors")
    backoff_factor: float | None = Field(default=None, description="urllib3 exponential backoff factor (s)")
    max_retry_after_seconds: float | None = Field(default=None, description="cap on an honoured Retry-After")
    photos_api_page_size: int = Field(default=0, ge=0, description="v1 photos a page; 0: the whole sol at once")
    concurrency: dict[str, int] = Field(default_factory=dict, description="sols in flight per source name")
    rates: dict[str, str] = Field(default_factory=dict, description="requests per window per source, e.g. 1000/h")
    rate_limit_dir: str | None = Field(default=None, description="folder of the shared request counts")
    max_rate_wait_seconds: float | None = Field(default=None, description="longest wait for a request slot (s)")
    rate_pause_seconds: float | None = Field(
        default=None, description="pause after X-RateLimit-Remaining: 0 without Retry-After (s)"
    )

    _adapters: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("by_rover")
    @classmethod
    def _valid(cls, value: dict[str, str]) -> dict[str, str]:
        check_sources(value)
        return value

    @field_validator("concurrency")
    @classmethod
    def _valid_concurrency(cls, value: dict[str, int]) -> dict[str, int]:
        _known(value, "concurrency")
        for name, n in value.items():
            if n < 1:
                raise ValueError(f"concurrency of {name} must be at least 1, not {n}")
        return value

    @field_validator("rates")
    @classmethod
    def _valid_rates(cls, value: dict[str, str]) -> dict[str, str]:
        _known(value, "rates")
        for rate in value.values():
            parse_rates(rate)
        return value

    def _transport(self, name: str) -> dict[str, Any]:
        """Keyword arguments of adapter ``name``: the transport overrides and its limits."""
        kw = {k: getattr(self, k) for k in _TRANSPORT if getattr(self, k) is not None}
        if name in self.concurrency:
            kw["concurrency"] = self.concurrency[name]
        if name in self.rates:
            kw["rate"] = self.rates[name]
        return kw

    def source_for(self, rover: str) -> str:
        """The name of the source serving ``rover``."""
        return source_name(self.by_rover, rover)

    def adapter(self, name: str) -> PhotoSource:
        """The configured photo adapter ``name`` (one instance per resource). Raises KeyError."""
        with _ADAPTERS_LOCK:
            if name not in self._adapters:
                cls = PHOTO_SOURCES[name]
                urls = {
                    PhotosApiSource.name: self.photos_api_url,
                    JplMars2020Source.name: self.jpl_mars2020_url,
                    JplIngenuitySource.name: self.jpl_mars2020_url,  # the same feed
                    JplMslSource.name: self.jpl_msl_url,
                }
                kw: dict[str, Any] = {"base_url": urls[name], **self._transport(name)}
                if cls is PhotosApiSource:
                    kw["api_key"] = self.api_key
                    kw["page_size"] = self.photos_api_page_size
                self._adapters[name] = cls(**kw)
            return self._adapters[name]

    def photo_source(self, rover: str) -> PhotoSource:
        """The adapter serving ``rover``."""
        return self.adapter(self.source_for(rover))

    def photos_api(self) -> PhotosApiSource:
        """The v1 adapter (rovers listing and manifests come from it whatever serves the photos)."""
        return self.adapter(PhotosApiSource.name)  # type: ignore[return-value]

    def mmgis(self) -> MmgisSource:
        """The MMGIS layers adapter."""
        with _ADAPTERS_LOCK:
            if MmgisSource.name not in self._adapters:
                self._adapters[MmgisSource.name] = MmgisSource(
                    base_url=self.mmgis_url, **self._transport(MmgisSource.name)
                )
            return self._adapters[MmgisSource.name]
