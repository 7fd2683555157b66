"""Image decoding and per-image statistics (pure Python; no Dagster imports)."""

from mars_assets.imaging.stats import (
    HF_CUTOFF_RHO,
    IMAGE_STATS_SCHEMA,
    STATS_VERSION,
    DecodedImage,
    ImageDecodeError,
    decode_image,
    image_statistics,
    log_magnitude_spectrum,
    to_pixels,
)

__all__ = [
    "HF_CUTOFF_RHO",
    "IMAGE_STATS_SCHEMA",
    "STATS_VERSION",
    "DecodedImage",
    "ImageDecodeError",
    "decode_image",
    "image_statistics",
    "log_magnitude_spectrum",
    "to_pixels",
]
