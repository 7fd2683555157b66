"""The columns of one image-statistics row: :data:`IMAGE_STATS_SCHEMA`.

Every field of the schema carries a short description (what it is, its unit and,
for a formula, its source) as Arrow field metadata under ``b"description"``; the
schema metadata ``mars_assets.image_stats_version`` carries STATS_VERSION. The
conventions and formulas behind the descriptions are set out in
:mod:`mars_assets.imaging.stats` (its module docstring and image_statistics),
which computes the rows. Pure pyarrow; no Dagster here.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "COLOUR_CHANNELS",
    "HF_CUTOFF_RHO",
    "HIST_BINS",
    "IMAGE_STATS_SCHEMA",
    "PERCENTILES",
    "STATS_VERSION",
    "STAT_KEYS",
]

STATS_VERSION = "2"
"""Bump when the meaning of any column of IMAGE_STATS_SCHEMA changes."""

HF_CUTOFF_RHO = 0.5
"""Normalised radial frequency above which energy counts as high-frequency
(0.5 * Nyquist = 0.25 cycles/pixel)."""

COLOUR_CHANNELS = ("red", "green", "blue")
"""Channels with their own columns (null for single-channel images); ``gray`` follows them."""

STAT_KEYS = ("mean", "std", "min", "max", "p01", "p50", "p99")
"""Statistics of each channel: columns ``{channel}_{key}``, then ``{channel}_hist``."""

PERCENTILES = (("p01", 0.01), ("p50", 0.50), ("p99", 0.99))
"""The percentile keys of STAT_KEYS and their quantiles."""

HIST_BINS = 256
"""Bins of the ``{channel}_hist`` columns (over the native range of the bit depth)."""

_LEVELS = "intensity levels (0–255; 0–65535 at 16 bits)"
_GRAY = "gray image (ITU-R BT.601 luma for RGB)"
_ORDINALS = {"p01": "1st", "p50": "50th (median)", "p99": "99th"}
_STAT_TEXT = {
    "mean": "Mean of the {what}, in {levels}.",
    "std": "Population standard deviation of the {what}, in {levels}.",
    "min": "Minimum of the {what}, in {levels}.",
    "max": "Maximum of the {what}, in {levels}.",
    **{key: f"{n} percentile (numpy 'inverted_cdf') of the {{what}}, in {{levels}}." for key, n in _ORDINALS.items()},
    "hist": f"{HIST_BINS}-bin histogram (pixel counts) of the {{what}}; 16-bit levels are binned by level >> 8.",
}
_RGB_ROUNDED = " RGB: of the luma rounded to integer levels."
_NULL_IF_GRAY = " Null for single-channel images."


def _described(name: str, type_: pa.DataType, description: str) -> pa.Field:
    return pa.field(name, type_, metadata={"description": description})


def _channel_fields(channel: str) -> list[pa.Field]:
    """The ``{channel}_{stat}`` columns and ``{channel}_hist`` of one channel."""
    what = _GRAY if channel == "gray" else f"{channel} channel"
    fields = []
    for key in (*STAT_KEYS, "hist"):
        text = _STAT_TEXT[key].format(what=what, levels=_LEVELS)
        if channel != "gray":
            text += _NULL_IF_GRAY
        elif key == "hist" or key in _ORDINALS:
            text += _RGB_ROUNDED
        type_ = pa.list_(pa.int64()) if key == "hist" else pa.float64()
        fields.append(_described(f"{channel}_{key}", type_, text))
    return fields


_IMAGE_FIELDS = (
    ("width", pa.int32(), "Image width in pixels, as stored (EXIF orientation not applied)."),
    ("height", pa.int32(), "Image height in pixels, as stored (EXIF orientation not applied)."),
    ("mode", pa.string(), "Pillow pixel mode of the file before conversion (L, RGB, RGBA, P, I;16, CMYK, ...)."),
    ("bit_depth", pa.int8(), "Bits per channel of the decoded pixels: 8 or 16."),
    ("channels", pa.int8(), "Decoded channels: 1 (single channel) or 3 (RGB)."),
    ("notes", pa.string(), "What decoding changed ('alpha channel dropped', ...; '; '-separated), or empty."),
)

_QUALITY_FIELDS = (
    ("brightness", pa.float64(), f"Mean gray level (= gray_mean), in {_LEVELS}."),
    ("contrast", pa.float64(), f"Standard deviation of the gray image (= gray_std), in {_LEVELS}."),
    (
        "brightness_norm",
        pa.float64(),
        "Mean gray level as a fraction 0–1 of full scale: gray_mean / (2**bit_depth - 1).",
    ),
    ("entropy_bits", pa.float64(), "Shannon entropy of gray_hist, in bits (0–8; Shannon 1948)."),
    (
        "sharpness",
        pa.float64(),
        "Variance of the 3×3 Laplacian of the gray image scaled to 0–1 (Pech-Pacheco et al. 2000); "
        "dimensionless, 0 if constant.",
    ),
    (
        "saturated_fraction",
        pa.float64(),
        "Fraction 0–1 of pixels at the top level, 255 (65535 at 16 bits); RGB: all three channels at it.",
    ),
    ("black_fraction", pa.float64(), "Fraction 0–1 of pixels at level 0; RGB: all three channels at 0."),
)

_SPECTRUM_FIELDS = (
    (
        "fft_mean_magnitude",
        pa.float64(),
        "Mean |F| of the unnormalised 2-D DFT of the gray image scaled to 0–1, DC included (constant c gives c).",
    ),
    (
        "radial_power",
        pa.list_(pa.float64()),
        "Radially averaged power spectrum |F|**2 of the mean-subtracted gray image scaled to 0–1, in equal "
        "bins of radial frequency up to Nyquist; unnormalised DFT (white noise of variance s² gives s²·H·W).",
    ),
    ("radial_frequency", pa.list_(pa.float64()), "Centres of the radial_power bins, in cycles per pixel (0–0.5)."),
    (
        "spectral_slope",
        pa.float64(),
        "Log-log slope of radial_power against radial_frequency (van der Schaaf & van Hateren 1996; natural "
        "images about -2 to -3); dimensionless; null if under 3 bins have power.",
    ),
    (
        "hf_energy_fraction",
        pa.float64(),
        "Fraction 0–1 of the spectral power (DC excluded) above hf_cutoff_rho; 0 for a constant image.",
    ),
    (
        "hf_cutoff_rho",
        pa.float64(),
        f"High-frequency cutoff as a fraction of Nyquist: {HF_CUTOFF_RHO} = {HF_CUTOFF_RHO / 2} cycles per pixel.",
    ),
)


def _build_schema() -> pa.Schema:
    fields = [_described(*f) for f in _IMAGE_FIELDS]
    for channel in (*COLOUR_CHANNELS, "gray"):
        fields += _channel_fields(channel)
    fields += [_described(*f) for f in (*_QUALITY_FIELDS, *_SPECTRUM_FIELDS)]
    return pa.schema(fields, metadata={"mars_assets.image_stats_version": STATS_VERSION})


IMAGE_STATS_SCHEMA: pa.Schema = _build_schema()
"""Arrow schema of one ``image_statistics`` row (column order = dict key order).
Schema metadata ``mars_assets.image_stats_version`` carries STATS_VERSION (recorded in each silver
image_stats Delta commit, see mars_assets.lib.silver.commit_metadata); every
field has a description under the field metadata key ``b"description"``."""
