"""Configuration from the environment, in one place.

| variable | default | meaning |
|---|---|---|
| MARS_WAREHOUSE | ./warehouse | warehouse root folder |
| MARS_LANDING | $MARS_WAREHOUSE/landing | landing zone of dropped image files |
| MARS_PHOTOS_API_URL | https://api.nasa.gov/mars-photos/api/v1 | Photos API v1 or a v1-compatible mirror |
| NASA_API_KEY | DEMO_KEY | api.data.gov key (read through dg.EnvVar, never shown) |
| MARS_MMGIS_URL | https://mars.nasa.gov/mmgis-maps | MMGIS layers |
| MARS_IMAGE_HOSTS | (NASA hosts) | extra comma-separated hosts allowed for image downloads |
| MARS_MAX_IMAGE_DOWNLOADS | 10 | downloads per rover × sol (0 none, -1 all) |
| MARS_IMAGE_DOWNLOAD_CONCURRENCY | 4 | image downloads in flight per host within a run (at least 1) |
| MARS_S3_ENDPOINT (or AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) | AWS | S3-compatible endpoint URL |
| AWS_REGION (or AWS_DEFAULT_REGION) | us-east-1 | S3 region |
| MARS_S3_URL_STYLE | path with an endpoint, else vhost | S3 addressing style |
| AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN | AWS default chain | S3 credentials (dg.EnvVar) |
| MARS_SOURCES | JPL feeds for Perseverance/Ingenuity/Curiosity, photos_api_v1 for Spirit/Opportunity | source each |
| MARS_JPL_MARS2020_URL, MARS_JPL_MSL_URL | the JPL feed URLs (Ingenuity: the Mars 2020 one) | JPL raw-image feeds |
| MARS_PHOTOS_API_PAGE_SIZE | 0 (whole sol, one request) | v1 photos a page (a mirror that pages: its largest) |
| MARS_SOURCE_CONCURRENCY | 4 each (v1 with DEMO_KEY: 1) | sols in flight per source: jpl_mars2020=4,jpl_msl=4 |
| MARS_SOURCE_RATE | v1 1000/h (DEMO_KEY 30/h+50/d), JPL none | requests per source, all processes: jpl_msl=3600/h |
| MARS_RATE_LIMIT_DIR | $DAGSTER_HOME/rate_limits (or a temp folder) | where the shared request counts and pauses live |
| MARS_RATE_MAX_WAIT_SECONDS | 300 | longest wait for a request slot before RateLimitError |
| MARS_RATE_PAUSE_SECONDS | 60 | pause after X-RateLimit-Remaining: 0 without Retry-After |
| MARS_IMAGE_WORKERS | 0 (every core) | worker processes for image statistics |
| MARS_TIMELAPSE_SOLS | all | sols of the per-camera timelapses: all, N or A-B (inclusive), e.g. 3-73 |
| MARS_CATALOG | <root>/warehouse.duckdb, ./warehouse.duckdb for S3 | DuckDB catalog file |
| MARS_MAX_RUNS_PER_TICK | 25 | run requests per sensor tick |
| MARS_FIRST_TICK_SOLS | 3 | newest sols requested when the new-sol sensor first sees a feed |
| MARS_RECENT_SOLS | 3 | sols per rover the daily schedule re-ingests |
| MARS_INGEST_CRON, MARS_GOLD_CRON | 0 6 * * *, 23 14 * * 0 | the daily ingest and weekly gold schedules |
| MARS_MAINTENANCE_CRON | 0 4 * * 6 | the weekly silver maintenance (compact, vacuum after 168 h, log cleanup) |
| MARS_BATCH_SOLS | 100 | rover × sol partitions per ingest run (the backfill policy of every ingest asset) |
| MARS_EXECUTOR | default | `default` (steps on the run's machine) or `celery` (mars_assets.executors) |
| MARS_CELERY_BROKER | (none; `celery` needs it) | Celery broker URL, redis://host:6379/0 (environment only) |
| MARS_CELERY_BACKEND | MARS_CELERY_BROKER | Celery result backend URL (environment only) |
| MARS_CELERY_VISIBILITY_TIMEOUT | 3600 | s before Redis gives a dead worker's task to another (> longest step) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import dagster as dg
from dagster_aws.s3 import S3Resource

from mars_assets.lib.dbt import dbt_resource
from mars_assets.resources import NASA_IMAGE_HOSTS, ImageDownloader, LandingZone, UpstreamSources, Warehouse
from mars_assets.resources.automation import AutomationLimits
from mars_assets.resources.compute import ImageStatsCompute
from mars_assets.resources.sources import LIMITED_SOURCES
from mars_assets.resources.timelapse import TimelapseConfig, parse_sol_range
from mars_assets.sources.jpl_mars2020 import JplMars2020Source
from mars_assets.sources.jpl_msl import JplMslSource
from mars_assets.sources.photos_api import PhotosApiSource
from mars_assets.sources.ratelimit import normalized_rate, parse_per_source, positive_int
from mars_assets.sources.registry import LIVE_DEFAULTS, parse_sources


def _default_landing(warehouse: str) -> str:
    """The landing zone is a local folder: ``<warehouse>/landing``, or ``./landing`` for an S3 root."""
    return "landing" if warehouse.startswith("s3://") else os.path.join(warehouse, "landing")


def _checked_sols(text: str) -> str:
    """``MARS_TIMELAPSE_SOLS`` as given, once it parses (ValueError naming the variable if not)."""
    try:
        parse_sol_range(text)
    except ValueError as exc:
        raise ValueError(f"MARS_TIMELAPSE_SOLS: {exc}") from None
    return text


class Crons(NamedTuple):
    ingest: str
    gold: str
    maintenance: str


@dataclass(frozen=True)
class Settings:
    """Every knob of mars_assets, read from the environment once (:meth:`from_env`)."""

    warehouse: str = "warehouse"
    landing: str = "warehouse/landing"
    photos_api_url: str = PhotosApiSource.base_url
    mmgis_url: str = "https://mars.nasa.gov/mmgis-maps"
    extra_image_hosts: tuple[str, ...] = field(default_factory=tuple)
    max_image_downloads: int = 10
    image_download_concurrency: int = 4
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_url_style: str | None = None
    catalog: str | None = None
    sources: tuple[tuple[str, str], ...] = tuple(LIVE_DEFAULTS.items())
    jpl_mars2020_url: str = JplMars2020Source.base_url
    jpl_msl_url: str = JplMslSource.base_url
    photos_api_page_size: int = 0
    source_concurrency: tuple[tuple[str, int], ...] = ()
    source_rates: tuple[tuple[str, str], ...] = ()
    rate_limit_dir: str | None = None
    max_rate_wait_seconds: float = 300.0
    rate_pause_seconds: float = 60.0
    image_workers: int = 0
    timelapse_sols: str = "all"
    max_runs_per_tick: int = 25
    first_tick_sols: int = 3
    recent_sols: int = 3
    executor: str = "default"
    #: the variable holding the Celery result backend URL (the value itself is never stored)
    celery_backend_var: str = "MARS_CELERY_BROKER"
    celery_visibility_timeout: float = 3600.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        d = cls()
        return cls(
            warehouse=env.get("MARS_WAREHOUSE", d.warehouse),
            landing=env.get("MARS_LANDING") or _default_landing(env.get("MARS_WAREHOUSE", d.warehouse)),
            photos_api_url=env.get("MARS_PHOTOS_API_URL", d.photos_api_url),
            mmgis_url=env.get("MARS_MMGIS_URL", d.mmgis_url),
            extra_image_hosts=tuple(h.strip() for h in env.get("MARS_IMAGE_HOSTS", "").split(",") if h.strip()),
            max_image_downloads=int(env.get("MARS_MAX_IMAGE_DOWNLOADS", d.max_image_downloads)),
            image_download_concurrency=int(env.get("MARS_IMAGE_DOWNLOAD_CONCURRENCY", d.image_download_concurrency)),
            s3_endpoint=env.get("MARS_S3_ENDPOINT") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
            s3_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            s3_url_style=env.get("MARS_S3_URL_STYLE"),
            catalog=env.get("MARS_CATALOG"),
            sources=tuple({**LIVE_DEFAULTS, **parse_sources(env.get("MARS_SOURCES", ""))}.items()),
            jpl_mars2020_url=env.get("MARS_JPL_MARS2020_URL", d.jpl_mars2020_url),
            jpl_msl_url=env.get("MARS_JPL_MSL_URL", d.jpl_msl_url),
            photos_api_page_size=int(env.get("MARS_PHOTOS_API_PAGE_SIZE", d.photos_api_page_size)),
            source_concurrency=tuple(
                parse_per_source(
                    env.get("MARS_SOURCE_CONCURRENCY", ""), "MARS_SOURCE_CONCURRENCY", positive_int, LIMITED_SOURCES
                ).items()
            ),
            source_rates=tuple(
                parse_per_source(
                    env.get("MARS_SOURCE_RATE", ""), "MARS_SOURCE_RATE", normalized_rate, LIMITED_SOURCES
                ).items()
            ),
            rate_limit_dir=env.get("MARS_RATE_LIMIT_DIR") or None,
            max_rate_wait_seconds=float(env.get("MARS_RATE_MAX_WAIT_SECONDS", d.max_rate_wait_seconds)),
            rate_pause_seconds=float(env.get("MARS_RATE_PAUSE_SECONDS", d.rate_pause_seconds)),
            image_workers=int(env.get("MARS_IMAGE_WORKERS", d.image_workers)),
            timelapse_sols=_checked_sols(env.get("MARS_TIMELAPSE_SOLS") or d.timelapse_sols),
            max_runs_per_tick=int(env.get("MARS_MAX_RUNS_PER_TICK", d.max_runs_per_tick)),
            first_tick_sols=int(env.get("MARS_FIRST_TICK_SOLS", d.first_tick_sols)),
            recent_sols=int(env.get("MARS_RECENT_SOLS", d.recent_sols)),
            executor=env.get("MARS_EXECUTOR") or d.executor,
            celery_backend_var="MARS_CELERY_BACKEND" if env.get("MARS_CELERY_BACKEND") else d.celery_backend_var,
            celery_visibility_timeout=float(env.get("MARS_CELERY_VISIBILITY_TIMEOUT", d.celery_visibility_timeout)),
        )

    @staticmethod
    def batch_sols_from_env() -> int:
        """Partitions per ingest run, ``MARS_BATCH_SOLS`` (default 100; needed when the assets are
        defined, before any resource). Raises ValueError for a value below 1."""
        value = int(os.environ.get("MARS_BATCH_SOLS", "100"))
        if value < 1:
            raise ValueError(f"MARS_BATCH_SOLS must be at least 1, not {value}")
        return value

    @staticmethod
    def crons_from_env() -> Crons:
        """The schedules' cron strings (needed when the schedules are defined, before any resource)."""
        env = os.environ
        return Crons(
            ingest=env.get("MARS_INGEST_CRON", "0 6 * * *"),
            gold=env.get("MARS_GOLD_CRON", "23 14 * * 0"),
            maintenance=env.get("MARS_MAINTENANCE_CRON", "0 4 * * 6"),
        )

    def warehouse_resource(self, resolved: bool = False) -> Warehouse:
        """The warehouse resource. S3 credentials are read through dg.EnvVar (never stored in
        run config); ``resolved=True`` puts their values in instead, for use outside Dagster."""
        s3 = None
        if self.warehouse_root_is_s3:
            env = os.environ
            secret = {
                k.lower(): (env[k] if resolved else dg.EnvVar(k))
                for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
                if env.get(k)
            }
            s3 = S3Resource(
                endpoint_url=self.s3_endpoint,
                region_name=self.s3_region or "us-east-1",
                use_ssl=not (self.s3_endpoint or "").startswith("http://"),
                **secret,
            )
        return Warehouse(root=self.warehouse, s3=s3, s3_url_style=self.s3_url_style, catalog=self.catalog)

    def replaying(self, server) -> Settings:
        """These settings pointed at a loopback ReplayServer (mars_assets.demo.server):
        every NASA URL goes to the server and every rover the v1 API served reads the Photos
        API v1 shape the recorded snapshot is in; Ingenuity, which v1 never served, keeps its
        feed (the server's Mars 2020 route). Used by ``mars-assets demo`` and the tests."""
        from mars_assets.partitions import ROVERS

        v1 = PhotosApiSource.name
        return replace(
            self,
            photos_api_url=server.photos_api_url,
            mmgis_url=server.mmgis_url,
            jpl_mars2020_url=server.jpl_mars2020_url,
            jpl_msl_url=server.jpl_msl_url,
            sources=tuple((r, v1 if r in PhotosApiSource.rovers else LIVE_DEFAULTS[r]) for r in ROVERS),
        )

    @property
    def warehouse_root_is_s3(self) -> bool:
        return self.warehouse.startswith("s3://")

    def resources(self) -> dict:
        """The resources of every asset, configured from these settings."""
        warehouse = self.warehouse_resource()
        api_key = dg.EnvVar("NASA_API_KEY") if os.environ.get("NASA_API_KEY") else "DEMO_KEY"
        return {
            "warehouse": warehouse,
            "sources": UpstreamSources(
                by_rover=dict(self.sources),
                photos_api_url=self.photos_api_url,
                api_key=api_key,
                jpl_mars2020_url=self.jpl_mars2020_url,
                jpl_msl_url=self.jpl_msl_url,
                mmgis_url=self.mmgis_url,
                photos_api_page_size=self.photos_api_page_size,
                concurrency=dict(self.source_concurrency),
                rates=dict(self.source_rates),
                rate_limit_dir=self.rate_limit_dir,
                max_rate_wait_seconds=self.max_rate_wait_seconds,
                rate_pause_seconds=self.rate_pause_seconds,
            ),
            "landing": LandingZone(root=self.landing),
            "dbt": dbt_resource(),
            "image_stats_compute": ImageStatsCompute(workers=self.image_workers),
            "timelapse": TimelapseConfig(sols=self.timelapse_sols),
            "image_downloader": ImageDownloader(
                allowed_hosts=[*NASA_IMAGE_HOSTS, *self.extra_image_hosts],
                max_per_partition=self.max_image_downloads,
                max_concurrent_per_host=self.image_download_concurrency,
            ),
            "automation": AutomationLimits(
                max_runs_per_tick=self.max_runs_per_tick,
                first_tick_sols=self.first_tick_sols,
                recent_sols=self.recent_sols,
            ),
        }
