"""The upstream sources as one Dagster resource: which adapter serves each rover, and their URLs.

The adapters themselves are pure (:mod:`mars_assets.sources`); this resource holds their
configuration (from :class:`mars_assets.settings.Settings`) and hands out one configured
instance per adapter and run, so HTTP connections are reused.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr, field_validator

from mars_assets.sources.base import PhotoSource
from mars_assets.sources.jpl_mars2020 import JplMars2020Source
from mars_assets.sources.jpl_msl import JplMslSource
from mars_assets.sources.mmgis import MmgisSource
from mars_assets.sources.photos_api import PhotosApiSource
from mars_assets.sources.registry import LIVE_DEFAULTS, PHOTO_SOURCES, check_sources, source_name

_TRANSPORT = ("timeout_seconds", "retries", "backoff_factor", "max_retry_after_seconds")


class UpstreamSources(dg.ConfigurableResource):
    """Per rover, the source of photo metadata (``MARS_SOURCES``), the base URL of each source,
    the api.data.gov key of the v1 API (``NASA_API_KEY``, read through dg.EnvVar, never shown),
    and optional transport overrides for every adapter (None keeps the adapter's default)."""

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

    _adapters: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("by_rover")
    @classmethod
    def _valid(cls, value: dict[str, str]) -> dict[str, str]:
        check_sources(value)
        return value

    def _transport(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _TRANSPORT if getattr(self, k) is not None}

    def source_for(self, rover: str) -> str:
        """The name of the source serving ``rover``."""
        return source_name(self.by_rover, rover)

    def adapter(self, name: str) -> PhotoSource:
        """The configured photo adapter ``name`` (one instance per resource). Raises KeyError."""
        if name not in self._adapters:
            cls = PHOTO_SOURCES[name]
            urls = {
                PhotosApiSource.name: self.photos_api_url,
                JplMars2020Source.name: self.jpl_mars2020_url,
                JplMslSource.name: self.jpl_msl_url,
            }
            kw: dict[str, Any] = {"base_url": urls[name], **self._transport()}
            if cls is PhotosApiSource:
                kw["api_key"] = self.api_key
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
        if "mmgis" not in self._adapters:
            self._adapters["mmgis"] = MmgisSource(base_url=self.mmgis_url, **self._transport())
        return self._adapters["mmgis"]
