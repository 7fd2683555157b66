"""Statistics from level histograms, and Pillow's C histogram of a uint8 plane.

Helpers of :mod:`mars_assets.imaging.stats` (see its docstring for the
conventions): exact moments, min/max and percentiles of each channel from its
full-resolution level histogram (256 levels for 8-bit, 65536 for 16-bit), the
256-bin histograms of the row, and the Shannon entropy of a histogram. Pure
numpy / Pillow; no Dagster here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from mars_assets.imaging.columns import HIST_BINS, PERCENTILES, STAT_KEYS

__all__ = ["entropy_bits", "histogram_stats", "pil_histogram_l"]

_QUANTILES = np.array([q for _, q in PERCENTILES])


@lru_cache(maxsize=2)
def _levels(count: int) -> np.ndarray:
    v = np.arange(count, dtype=np.float64)
    v.flags.writeable = False
    return v


def histogram_stats(full: np.ndarray, n: int) -> tuple[list[dict], list[list[int]]]:
    """Mean/std/min/max/percentiles and 256-bin histograms from full-resolution
    histograms: ``full`` is (k, 256) or (k, 65536) int counts of the levels.

    All exact: the moments are sums over the levels. Percentiles: the smallest
    level ``v`` with ``cumsum(hist)[v] >= q * N``, which is numpy's
    ``method="inverted_cdf"``. Returns (one stats dict per row, keys STAT_KEYS;
    256-bin histograms as lists).
    """
    k, levels = full.shape
    v = _levels(levels)
    mean = (full * v).sum(axis=1) / n
    var = (full * np.square(v[None, :] - mean[:, None])).sum(axis=1) / n
    std = np.sqrt(np.maximum(var, 0.0))
    present = full > 0
    lo = present.argmax(axis=1)
    hi = levels - 1 - present[:, ::-1].argmax(axis=1)
    cum = np.cumsum(full, axis=1)
    qn = _QUANTILES * n
    pct = [np.searchsorted(c, qn, side="left").tolist() for c in cum]
    stats = [
        dict(zip(STAT_KEYS, (m, s, float(a), float(b), *map(float, p)), strict=True))
        for m, s, a, b, p in zip(mean.tolist(), std.tolist(), lo.tolist(), hi.tolist(), pct, strict=True)
    ]
    hist = full if levels == HIST_BINS else full.reshape(k, HIST_BINS, -1).sum(axis=2)
    return stats, hist.tolist()


def entropy_bits(hist: np.ndarray) -> float:
    """Shannon entropy ``-sum p log2 p`` of a histogram, in bits."""
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def pil_histogram_l(a: np.ndarray) -> np.ndarray:
    """256 counts of a 2-D uint8 array by Pillow's C histogram (about 3x
    faster than np.bincount, which first copies the values to intp)."""
    a = np.ascontiguousarray(a)
    h, w = a.shape
    return np.array(Image.frombuffer("L", (w, h), a, "raw", "L", 0, 1).histogram())
