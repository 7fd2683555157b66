"""Spectral summaries and the Laplacian-variance focus measure from one real FFT.

Internal helpers of :mod:`mars_assets.imaging.stats` (see its docstring for the
conventions and formulas); no Dagster imports, no public API of its own.

One ``scipy.fft.rfft2`` (float32 in, complex64 out, ``workers=1``) of the
mean-subtracted gray image gives every frequency-domain column:

* the half-spectrum holds columns ``0 .. W//2``; the others are complex
  conjugates, so a full-spectrum sum is ``sum(weight[x] * value)`` with
  ``weight = 1`` for column 0 (and column ``W/2`` for even W), else 2;
* rows ``y`` and ``H - y`` have the same ``|fy|`` and therefore the same radial
  bin and Laplacian transfer value, so the power spectrum is *folded*
  (``P[y] += P[H - y]``) before the radial sums, halving that work;
* along a row of the half-spectrum ``rho`` only grows, so each radial bin is a
  run of consecutive elements: one ``np.add.reduceat`` over the folded power
  with a cached list of run starts gives all radial and high-frequency sums;
* the Laplacian variance comes from Parseval's theorem: the periodic 5-point
  Laplacian has the transfer function ``T = (2 cos(2 pi fy) - 2) +
  (2 cos(2 pi fx) - 2)``, so ``sum(Lp**2) = sum_k |T G|**2 / (H W)``. The
  ``mode="reflect"`` Laplacian of ``scipy.ndimage.laplace`` differs from the
  periodic one only on the first/last row and column; those ``2H + 2W - 4``
  values are computed directly and swapped in, so the result equals
  ``var(scipy.ndimage.laplace(gray, mode="reflect"))`` up to float32 FFT
  rounding (relative error ~1e-6..2e-5; tests check 1e-4). For very smooth
  images, whose periodic Laplacian is mostly the wrap-around jump at the
  borders, that subtraction would magnify the FFT error; they are detected
  (``ILL_CONDITIONED``) and computed directly in float64 instead.

Per-shape constants are cached (``functools.lru_cache``); per-thread scratch
buffers are reused between images of the same size so that steady-state work
allocates little new memory (fresh pages are expensive on virtual machines).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.ndimage

__all__ = [
    "ILL_CONDITIONED",
    "SpectralSummary",
    "clear_caches",
    "laplacian_variance",
    "scratch",
    "spectral_summary",
]

_tls = threading.local()


def scratch(name: str, size: int, dtype) -> np.ndarray:
    """A per-thread, reusable 1-D buffer of at least ``size`` elements (uninitialised).

    Returned as a view of length ``size``. The buffer is kept for the next call
    with the same name in this thread and replaced when it is too small or more
    than 4x too large, so a thread holds at most one buffer per name.
    """
    dtype = np.dtype(dtype)
    bufs = getattr(_tls, "bufs", None)
    if bufs is None:
        bufs = _tls.bufs = {}
    buf = bufs.get(name)
    if buf is None or buf.dtype != dtype or buf.size < size or buf.size > 4 * size + 4096:
        buf = bufs[name] = np.empty(max(size, 1), dtype=dtype)
    return buf[:size]


def clear_caches() -> None:
    """Drop this thread's scratch buffers and all cached per-shape geometry."""
    _tls.bufs = {}
    _laplace_weight.cache_clear()
    _radial_runs.cache_clear()


def _frequencies(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """|fy| of the folded rows ``0 .. h//2`` and fx of the rfft columns.

    Exactly numpy's frequencies (``i * (1/n)``): rho lands exactly on bin
    edges for some sizes, so ``i / n`` (which can differ in the last bit)
    would move whole columns between bins. Row ``h - y`` has ``-fy[y]``.
    """
    return np.abs(np.fft.fftfreq(h)[: h // 2 + 1]), np.fft.rfftfreq(w)


def _col_weight(w: int) -> np.ndarray:
    """Hermitian multiplicity of each rfft column: 1 for column 0 (and W/2
    for even W), else 2."""
    cw = np.ones(w // 2 + 1, dtype=np.float64)
    cw[1 : (w - 1) // 2 + 1] = 2.0
    return cw


@lru_cache(maxsize=8)
def _laplace_weight(h: int, w: int) -> np.ndarray:
    """(h//2+1, w//2+1) float32 ``T**2 * col_weight`` on the folded
    half-spectrum, T = (2 cos(2 pi fy) - 2) + (2 cos(2 pi fx) - 2)."""
    fy, fx = _frequencies(h, w)
    a = (2.0 * np.cos(2.0 * np.pi * fy) - 2.0).astype(np.float32)
    b = (2.0 * np.cos(2.0 * np.pi * fx) - 2.0).astype(np.float32)
    t2w = a[:, None] + b[None, :]
    np.square(t2w, out=t2w)
    t2w *= _col_weight(w).astype(np.float32)
    t2w.flags.writeable = False
    return t2w


@lru_cache(maxsize=8)
def _radial_runs(h: int, w: int, nbins: int, hf_cutoff: float):
    """Runs of equal (radial bin, high-frequency flag, column weight) in the
    flattened folded half-spectrum (rows ``0 .. h//2``).

    Returns ``(starts, label, weight, bin_count)``:
      starts:    intp offsets of the runs (for ``np.add.reduceat``).
      label:     intp ``2 * bin + (rho > hf_cutoff)`` of each run, where bin is
                 the radial bin (``nbins`` for rho > 1, the spectrum's corners).
      weight:    float64 Hermitian column weight of each run (1 or 2).
      bin_count: (nbins,) float64 number of full-spectrum frequencies per bin.
    Bins are those of ``np.histogram(rho, linspace(0, 1, nbins + 1))``:
    ``[e_i, e_i+1)``, the last one closed. Built a band of rows at a time so
    that the temporaries stay small.
    """
    fy, fx = _frequencies(h, w)
    col_weight = _col_weight(w)
    hf, wr = fy.size, fx.size
    edges = np.linspace(0.0, 1.0, nbins + 1)
    unit_col = (col_weight == 1.0)[None, :]
    starts, labels, weights = [], [], []
    bin_count = np.zeros(nbins + 1)
    band = max(1, 65536 // wr)
    for r0 in range(0, hf, band):
        f = fy[r0 : r0 + band, None]
        rho = np.sqrt(f * f + fx[None, :] * fx[None, :]) / 0.5
        b = np.searchsorted(edges, rho, side="right") - 1
        b[rho == 1.0] = nbins - 1
        b[rho > 1.0] = nbins
        label = 2 * b + (rho > hf_cutoff)
        key = 2 * label + unit_col
        change = np.ones(key.shape, dtype=bool)
        change[:, 1:] = key[:, 1:] != key[:, :-1]
        idx = np.flatnonzero(change.ravel())
        starts.append(idx + r0 * wr)
        labels.append(label.ravel()[idx])
        weights.append(np.broadcast_to(col_weight, key.shape).ravel()[idx])
        rows = np.arange(r0, r0 + key.shape[0])
        row_mult = np.where((rows >= 1) & (rows <= (h - 1) // 2), 2.0, 1.0)
        mult = (row_mult[:, None] * col_weight[None, :]).ravel()
        bin_count += np.bincount(b.ravel(), weights=mult, minlength=nbins + 1)
    out = (
        np.concatenate(starts).astype(np.intp),
        np.concatenate(labels).astype(np.intp),
        np.concatenate(weights).astype(np.float64),
        bin_count[:nbins].copy(),
    )
    for arr in out:
        arr.flags.writeable = False
    return out


def _d2_reflect(v: np.ndarray) -> np.ndarray:
    """Second difference of a 1-D float64 vector (len >= 2), reflect borders."""
    out = np.empty_like(v)
    out[1:-1] = v[:-2] + v[2:] - 2.0 * v[1:-1]
    out[0] = v[1] - v[0]
    out[-1] = v[-2] - v[-1]
    return out


def _border_correction(g: np.ndarray) -> float:
    """``sum(Lr**2) - sum(Lp**2)`` for the reflect (Lr) and periodic (Lp)
    5-point Laplacians of ``g``, in float64.

    They differ only on the first/last row and column, by ``D = Lr - Lp``:
    ``g[0] - g[H-1]`` on row 0, ``g[H-1] - g[0]`` on row H-1, likewise for
    the columns (a corner gets both), so the correction is
    ``sum(D * (2 Lr - D))`` over those ``2H + 2W - 4`` pixels. Tiny images
    (H or W < 3, where the border is everything) are done directly.
    """
    h, w = g.shape
    if h < 3 or w < 3:
        a = g.astype(np.float64)
        lr = scipy.ndimage.laplace(a, mode="reflect")
        lp = scipy.ndimage.laplace(a, mode="wrap")
        return float(np.sum(lr * lr) - np.sum(lp * lp))
    top, top2 = g[0].astype(np.float64), g[1].astype(np.float64)
    bot, bot2 = g[h - 1].astype(np.float64), g[h - 2].astype(np.float64)
    cols = np.take(g, [0, 1, w - 2, w - 1], axis=1).astype(np.float64)  # one strided pass
    left, right = cols[:, 0], cols[:, 3]
    # rows 0 and H-1, all columns
    lr_top = (top2 - top) + _d2_reflect(top)
    lr_bot = (bot2 - bot) + _d2_reflect(bot)
    d_top = top - bot
    d_top[0] += top[0] - top[-1]
    d_top[-1] += top[-1] - top[0]
    d_bot = bot - top
    d_bot[0] += bot[0] - bot[-1]
    d_bot[-1] += bot[-1] - bot[0]
    # columns 0 and W-1, rows 1 .. H-2
    lr_left = _d2_reflect(left)[1:-1] + (cols[1:-1, 1] - left[1:-1])
    lr_right = _d2_reflect(right)[1:-1] + (cols[1:-1, 2] - right[1:-1])
    d_left = left[1:-1] - right[1:-1]
    d = np.concatenate((d_top, d_bot, d_left, -d_left))
    lr = np.concatenate((lr_top, lr_bot, lr_left, lr_right))
    return float(np.add.reduce(d * (2.0 * lr - d)))


ILL_CONDITIONED = 16.0
"""spectral_summary leaves the Laplacian variance to laplacian_variance when
sum(Lp**2) > ILL_CONDITIONED * sum(Lr**2): the float32 FFT's relative error
(~1e-6) is then magnified past ~2e-5."""


def laplacian_variance(gray: np.ndarray) -> float:
    """``var(scipy.ndimage.laplace(gray, mode="reflect"))`` computed directly
    in float64 (the slow, always-accurate path; ~2 float64 copies of the image)."""
    a = np.asarray(gray, dtype=np.float64)
    return float(np.var(scipy.ndimage.laplace(a, mode="reflect")))


@dataclass(frozen=True)
class SpectralSummary:
    """Frequency-domain results for one image, in the units of the FFT input
    (the caller scales by the normalisation)."""

    abs_sum_ac: float
    """sum of |F| over the full spectrum, DC excluded."""
    radial_power: np.ndarray
    """(nbins,) mean |F|**2 per radial bin, DC excluded, empty bins 0."""
    total_power: float
    """sum of |F|**2 over the full spectrum, DC excluded."""
    hf_power: float
    """the part of total_power at rho > hf_cutoff."""
    laplacian_var: float | None
    """variance of the reflect-mode 5-point Laplacian of the input image, or
    None when the FFT route is ill-conditioned (see laplacian_variance)."""


def spectral_summary(g: np.ndarray, nbins: int, hf_cutoff: float) -> SpectralSummary:
    """Spectral sums and Laplacian variance of a float32 (H, W) image ``g``.

    ``g`` should be mean-subtracted (any constant offset only changes the DC
    term, which every result here excludes, but centring keeps the float32 FFT
    accurate). ``g`` must be C-contiguous and is OVERWRITTEN: once the FFT is
    done its memory holds the magnitude spectrum (saves a buffer).
    """
    if g.dtype != np.float32 or not g.flags.c_contiguous or not g.flags.writeable:
        raise ValueError("g must be a writeable, C-contiguous float32 array")
    h, w = g.shape
    n = h * w
    border = _border_correction(g)

    spec = scipy.fft.rfft2(g, workers=1, overwrite_x=True)  # (h, wr) complex64
    wr = spec.shape[1]
    hf = h // 2 + 1
    flat = g.reshape(-1)  # a view: g is C-contiguous and no longer needed
    mag = flat[: h * wr].reshape(h, wr)
    np.abs(spec, out=mag)
    del spec

    # sum |F| with Hermitian weights: 2 * all - (column 0) - (column W/2, even W)
    abs_sum = 2.0 * float(np.add.reduce(mag, axis=None)) - float(np.add.reduce(mag[:, 0]))
    if w % 2 == 0:
        abs_sum -= float(np.add.reduce(mag[:, wr - 1]))
    abs_sum -= float(mag[0, 0])  # drop DC

    power = np.square(mag, out=mag)
    power[0, 0] = 0.0
    k = (h - 1) // 2  # rows 1..k pair with rows h-1..h-k
    if k > 0:
        power[1 : k + 1] += power[h - k :][::-1]
    folded = power[:hf]

    t2w = _laplace_weight(h, w)
    if n - h * wr >= hf * wr:  # the rest of g's memory is free
        tmp = flat[h * wr : h * wr + hf * wr].reshape(hf, wr)
    else:  # only for W <= 2
        tmp = np.empty((hf, wr), dtype=np.float32)
    np.multiply(folded, t2w, out=tmp)
    lap_periodic = float(np.add.reduce(tmp, axis=None)) / n  # Parseval: sum(Lp**2)
    lap_reflect = lap_periodic + border  # sum(Lr**2)
    # The reflect-mode Laplacian sums to zero (its second differences
    # telescope), so its variance is its mean square. When the periodic
    # energy is mostly the wrap-around jump at the borders (smooth images),
    # the subtraction would magnify the float32 FFT error: report None and
    # let the caller compute it directly.
    if lap_periodic > ILL_CONDITIONED * lap_reflect:
        lap_var = None
    else:
        lap_var = max(lap_reflect / n, 0.0)

    starts, label, weight, bin_count = _radial_runs(h, w, nbins, hf_cutoff)
    runs = np.add.reduceat(folded.reshape(-1), starts).astype(np.float64)
    runs *= weight
    sums = np.bincount(label, weights=runs, minlength=2 * (nbins + 1))
    total = float(sums.sum())
    hf_power = float(sums[1::2].sum())
    bin_sum = sums[: 2 * nbins].reshape(nbins, 2).sum(axis=1)
    radial = np.divide(bin_sum, bin_count, out=np.zeros(nbins), where=bin_count > 0)
    return SpectralSummary(
        abs_sum_ac=abs_sum,
        radial_power=radial,
        total_power=total,
        hf_power=hf_power,
        laplacian_var=lap_var,
    )
