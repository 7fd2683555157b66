"""Dagster resources: the upstream sources, image downloads, the warehouse, the landing zone, compute."""

from mars_assets.resources.downloads import NASA_IMAGE_HOSTS, ImageDownloader
from mars_assets.resources.landing import LandingZone
from mars_assets.resources.sources import UpstreamSources
from mars_assets.resources.warehouse import Warehouse

__all__ = ["NASA_IMAGE_HOSTS", "ImageDownloader", "LandingZone", "UpstreamSources", "Warehouse"]
