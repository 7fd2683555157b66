"""Image decoding and per-image statistics (pure Python; no Dagster imports)."""

from mars_assets.imaging.columns import HF_CUTOFF_RHO, IMAGE_STATS_SCHEMA, STATS_VERSION
from mars_assets.imaging.decode import DecodedImage, ImageDecodeError, decode_image, to_pixels
from mars_assets.imaging.gray import log_magnitude_spectrum
from mars_assets.imaging.parallel import (
    DEFAULT_MIN_PARALLEL_BYTES,
    ImageFile,
    ImageInput,
    ImageStatsPool,
    StatsResult,
    statistics_for_many,
)
from mars_assets.imaging.stats import image_statistics, statistics_from_bytes

__all__ = [
    "DEFAULT_MIN_PARALLEL_BYTES",
    "HF_CUTOFF_RHO",
    "IMAGE_STATS_SCHEMA",
    "STATS_VERSION",
    "DecodedImage",
    "ImageDecodeError",
    "ImageFile",
    "ImageInput",
    "ImageStatsPool",
    "decode_image",
    "image_statistics",
    "log_magnitude_spectrum",
    "StatsResult",
    "statistics_for_many",
    "statistics_from_bytes",
    "to_pixels",
]
