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
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import dagster as dg

from mars_assets.resources import ImageDownloader, LandingZone, MmgisClient, PhotosApiClient, Warehouse, WarehouseIOManager
from mars_assets.resources.http import NASA_IMAGE_HOSTS


def dbt_resource():
    from mars_assets.assets.dbt import dbt_resource as make

    return make()


@dataclass(frozen=True)
class Settings:
    warehouse: str = "warehouse"
    landing: str = "warehouse/landing"
    photos_api_url: str = "https://api.nasa.gov/mars-photos/api/v1"
    mmgis_url: str = "https://mars.nasa.gov/mmgis-maps"
    extra_image_hosts: tuple[str, ...] = field(default_factory=tuple)
    max_image_downloads: int = 10

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        d = cls()
        return cls(
            warehouse=env.get("MARS_WAREHOUSE", d.warehouse),
            landing=env.get("MARS_LANDING") or os.path.join(env.get("MARS_WAREHOUSE", d.warehouse), "landing"),
            photos_api_url=env.get("MARS_PHOTOS_API_URL", d.photos_api_url),
            mmgis_url=env.get("MARS_MMGIS_URL", d.mmgis_url),
            extra_image_hosts=tuple(h.strip() for h in env.get("MARS_IMAGE_HOSTS", "").split(",") if h.strip()),
            max_image_downloads=int(env.get("MARS_MAX_IMAGE_DOWNLOADS", d.max_image_downloads)),
        )

    def resources(self) -> dict:
        """The resources of every asset, configured from these settings."""
        warehouse = Warehouse(root=self.warehouse)
        api_key = dg.EnvVar("NASA_API_KEY") if os.environ.get("NASA_API_KEY") else "DEMO_KEY"
        return {
            "warehouse": warehouse,
            "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
            "photos_api": PhotosApiClient(base_url=self.photos_api_url, api_key=api_key),
            "mmgis": MmgisClient(base_url=self.mmgis_url),
            "landing": LandingZone(root=self.landing),
            "dbt": dbt_resource(),
            "image_downloader": ImageDownloader(allowed_hosts=[*NASA_IMAGE_HOSTS, *self.extra_image_hosts],
                                                max_per_partition=self.max_image_downloads),
        }
