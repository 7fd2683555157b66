"""The gray image: ITU-R BT.601 luma of RGB pixels, and the log-magnitude spectrum
of a DecodedImage's gray image for dashboards.

The luma is ``(299 R + 587 G + 114 B) / 1000`` in float32 with one correctly
rounded division, bit for bit Pillow's ``Image.convert("F")`` (see the
conventions in :mod:`mars_assets.imaging.stats`). Pure numpy / scipy / Pillow;
no Dagster here.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from PIL import Image

from mars_assets.imaging.decode import DecodedImage

__all__ = ["LUMA_WEIGHTS", "LUMA_WHITE", "log_magnitude_spectrum", "luma"]

LUMA_WEIGHTS = (299, 587, 114)
"""ITU-R BT.601 luma weights for R, G, B, in thousandths (0.299, 0.587, 0.114)."""

LUMA_WHITE = np.float32(255.0)
"""Luma of (255, 255, 255): exactly 255.0 (255000 / 1000), and no other 8-bit
triple reaches it; 0.0 only for (0, 0, 0)."""


def luma(px: np.ndarray) -> np.ndarray:
    """BT.601 luma of an (H, W, 3) uint8 array as (H, W) float32:
    ``(299 R + 587 G + 114 B) / 1000`` with the integer sum exact in float32
    and one correctly rounded division, bit for bit what Pillow's
    ``Image.convert("F")`` computes for RGB (checked over all 2**24 triples in
    the tests). Works in bands of rows so that the temporary stays in cache."""
    h, w = px.shape[:2]
    out = np.empty((h, w), dtype=np.float32)
    band = max(1, 65536 // w)
    tmp = np.empty(min(band, h) * w, dtype=np.float32)
    for r0 in range(0, h, band):
        r1 = min(h, r0 + band)
        y = out[r0:r1]
        t = tmp[: (r1 - r0) * w].reshape(r1 - r0, w)
        np.multiply(px[r0:r1, :, 0], np.float32(LUMA_WEIGHTS[0]), out=y, dtype=np.float32)
        for c in (1, 2):
            np.multiply(px[r0:r1, :, c], np.float32(LUMA_WEIGHTS[c]), out=t, dtype=np.float32)
            y += t
        y /= np.float32(1000.0)
    return out


def _gray(image: DecodedImage) -> np.ndarray:
    """Float32 gray image in native units (a new array): the channel itself or
    the BT.601 luma of RGB (see luma)."""
    px = image.pixels
    return px.astype(np.float32) if px.ndim == 2 else luma(px)


def log_magnitude_spectrum(image: DecodedImage, size: int = 128) -> np.ndarray:
    """Centred log-magnitude spectrum for dashboards.

    ``log1p(|fftshift(fft2(gray / (2**bit_depth - 1)))|)`` of the gray image
    (BT.601 luma for RGB), DC included and moved to index ``(H//2, W//2)``,
    then resampled to ``(size, size)`` with Pillow's BOX filter (area mean when
    shrinking, pixel replication when enlarging) on the float image.

    Returns a ``(size, size)`` float32 array (aspect ratio is not preserved).
    Raises ValueError if size < 1.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size!r}")
    g = _gray(image)
    g *= np.float32(1.0 / ((1 << image.bit_depth) - 1))
    mag = np.log1p(np.abs(np.fft.fftshift(scipy.fft.fft2(g)))).astype(np.float32)
    resized = Image.fromarray(mag).resize((size, size), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32).copy()
