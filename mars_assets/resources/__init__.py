"""Dagster resources: HTTP clients, the warehouse (local or S3 root), the landing zone."""

from mars_assets.resources.http import ApiError, ImageDownloader, MmgisClient, PhotosApiClient, RateLimitError
from mars_assets.resources.landing import LandingZone
from mars_assets.resources.warehouse import Warehouse, WarehouseIOManager

__all__ = [
    "ApiError",
    "ImageDownloader",
    "LandingZone",
    "MmgisClient",
    "PhotosApiClient",
    "RateLimitError",
    "Warehouse",
    "WarehouseIOManager",
]
