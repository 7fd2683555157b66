"""Spectral summaries and the Laplacian-variance focus measure from one real FFT.

Internal helpers of :mod:`mars_assets.imaging.stats` (see its docstring for the
conventions and formulas); no Dagster imports, no public API of its own.

One real 2-D FFT (float32 in, complex64 out, ``workers=1``) of the
mean-subtracted gray image gives every frequency-domain column. It is taken the
way ``scipy.fft.rfft2`` takes it (real FFTs of the rows, then complex FFTs of
the columns) but a band of rows at a time, centring each band on the fly, into
one reused complex64 buffer whose memory then holds |F| and the power
spectrum: the working set is ~4 bytes per pixel, with no float32 copy of the
image.

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
    _laplace_factors.cache_clear()
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
def _laplace_factors(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Separable factors of the periodic 5-point Laplacian's transfer function
    on the folded half-spectrum: float32 ``a = 2 cos(2 pi fy) - 2`` for rows
    ``0 .. h//2`` and ``b = 2 cos(2 pi fx) - 2`` for the rfft columns, so that
    ``T = a[:, None] + b[None, :]`` (both <= 0, so T**2 has no cancellation).

    Only the two vectors are kept: T**2 is rebuilt a band of rows at a time
    in spectral_summary (+0.1 ms per 1024x1024 image) rather than cached as a
    (h//2+1, w//2+1) float32 table, which would add ~1 byte per pixel to the
    memory of every image in flight. Not a matrix product of the factors
    either: float32 matrix products go to the multi-threaded BLAS, whose
    threads fight the other worker processes for the cores."""
    fy, fx = _frequencies(h, w)
    a = (2.0 * np.cos(2.0 * np.pi * fy) - 2.0).astype(np.float32)
    b = (2.0 * np.cos(2.0 * np.pi * fx) - 2.0).astype(np.float32)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


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
    band = max(1, 16384 // wr)
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


def _centred(a: np.ndarray, offset: np.float32) -> np.ndarray:
    """``a - offset`` in float32 (the FFT input's values), as float64."""
    return np.subtract(a, offset, dtype=np.float32).astype(np.float64)


def _border_correction(src: np.ndarray, offset: np.float32) -> float:
    """``sum(Lr**2) - sum(Lp**2)`` for the reflect (Lr) and periodic (Lp)
    5-point Laplacians of ``g = float32(src - offset)``, in float64.

    They differ only on the first/last row and column, by ``D = Lr - Lp``:
    ``g[0] - g[H-1]`` on row 0, ``g[H-1] - g[0]`` on row H-1, likewise for
    the columns (a corner gets both), so the correction is
    ``sum(D * (2 Lr - D))`` over those ``2H + 2W - 4`` pixels; only those rows
    and columns of ``src`` are read. Tiny images (H or W < 3, where the border
    is everything) are done directly.
    """
    h, w = src.shape
    if h < 3 or w < 3:
        a = _centred(src, offset)
        lr = scipy.ndimage.laplace(a, mode="reflect")
        lp = scipy.ndimage.laplace(a, mode="wrap")
        return float(np.sum(lr * lr) - np.sum(lp * lp))
    top, top2, bot2, bot = _centred(src[[0, 1, h - 2, h - 1]], offset)
    cols = _centred(src[:, [0, 1, w - 2, w - 1]], offset)
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


def _hermitian_sum(a: np.ndarray, w: int) -> float:
    """Full-spectrum sum of a band of rfft columns ``a`` (float32, (rows, W//2+1))
    of a width-``w`` image: every column counts twice (it stands for its complex
    conjugate too) except column 0 and, for even ``w``, column W/2. Pairwise
    float32 sums, returned as a Python float."""
    s = 2.0 * float(np.add.reduce(a, axis=None)) - float(np.add.reduce(a[:, 0]))
    if w % 2 == 0:
        s -= float(np.add.reduce(a[:, -1]))
    return s


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
    power_sum_ac: float
    """sum of |F|**2 over the full spectrum, DC excluded (pairwise float32
    sums per band of rows, added in float64). By Parseval's theorem it is
    ``H * W * sum((g - mean(g))**2)``, so ``sqrt(power_sum_ac) / (H * W)`` is
    the population standard deviation of the input image."""
    radial_power: np.ndarray
    """(nbins,) mean |F|**2 per radial bin, DC excluded, empty bins 0."""
    total_power: float
    """sum of |F|**2 over the full spectrum, DC excluded, from the radial runs
    (the denominator of hf_power, so that hf_power <= total_power)."""
    hf_power: float
    """the part of total_power at rho > hf_cutoff."""
    laplacian_var: float | None
    """variance of the reflect-mode 5-point Laplacian of the input image, or
    None when the FFT route is ill-conditioned (see laplacian_variance)."""


#: Rows per band of the row transforms and of the |F| pass: about this many
#: bytes of float32 input per band, so each band stays in the L2 cache.
_BAND_BYTES = 1 << 19


def _half_spectrum(src: np.ndarray, offset: np.float32) -> np.ndarray:
    """``scipy.fft.rfft2(float32(src - offset))`` (complex64, ``(H, W//2 + 1)``)
    in a per-thread scratch buffer, without a float32 copy of the whole image:
    the rows are centred and transformed a band at a time
    (``scipy.fft.rfft(axis=1)``), then the columns in place
    (``scipy.fft.fft(axis=0, overwrite_x=True)``). Same values as rfft2, which
    does the same two passes."""
    h, w = src.shape
    wr = w // 2 + 1
    spec = scratch("spectrum", h * wr, np.complex64).reshape(h, wr)
    band = max(1, min(h, _BAND_BYTES // (4 * w)))
    buf = scratch("band", band * w, np.float32)
    for r0 in range(0, h, band):
        r1 = min(h, r0 + band)
        rows = buf[: (r1 - r0) * w].reshape(r1 - r0, w)
        np.subtract(src[r0:r1], offset, out=rows, dtype=np.float32)
        spec[r0:r1] = scipy.fft.rfft(rows, axis=1, workers=1, overwrite_x=True)
    out = scipy.fft.fft(spec, axis=0, workers=1, overwrite_x=True)
    if out is not spec and not np.shares_memory(out, spec):  # not in place after all
        spec[...] = out
    return spec


def spectral_summary(src: np.ndarray, offset, nbins: int, hf_cutoff: float) -> SpectralSummary:
    """Spectral sums and Laplacian variance of ``g = float32(src - offset)``.

    ``src`` is an (H, W) uint8, uint16 or float32 array (any strides; not
    modified); ``offset`` a float32 near its mean (any constant only changes
    the DC term, which every result here excludes, but centring keeps the
    float32 FFT accurate). Working memory: one complex64 half-spectrum
    (``8 * H * (W//2 + 1)`` bytes, ~4 bytes per pixel) in a per-thread scratch
    buffer that is reused for |F| and the power spectrum, plus band buffers.
    """
    offset = np.float32(offset)
    h, w = src.shape
    n = h * w
    border = _border_correction(src, offset)

    spec = _half_spectrum(src, offset)  # (h, wr) complex64
    wr = spec.shape[1]
    hf = h // 2 + 1
    flat = spec.view(np.float32).reshape(-1)  # 2 * h * wr floats
    # The power spectrum is packed into the first h * wr floats of the same
    # memory, band by band: row y of it ends at float (y + 1) * wr, before row
    # y + 1 of the complex spectrum starts (float 2 * (y + 1) * wr), so writing
    # a band never touches rows not yet read.
    power = flat[: h * wr].reshape(h, wr)
    band = max(1, min(h, _BAND_BYTES // (4 * wr)))
    mag_buf = scratch("band", band * wr, np.float32)  # the row bands are done with it
    abs_sum = power_sum = 0.0
    dc = 0.0
    for r0 in range(0, h, band):
        r1 = min(h, r0 + band)
        mag = mag_buf[: (r1 - r0) * wr].reshape(r1 - r0, wr)
        np.abs(spec[r0:r1], out=mag)
        if r0 == 0:
            dc = float(mag[0, 0])
        abs_sum += _hermitian_sum(mag, w)
        power_sum += _hermitian_sum(np.square(mag, out=power[r0:r1]), w)
    abs_sum -= dc  # drop DC
    power_sum -= float(power[0, 0])
    del spec

    power[0, 0] = 0.0
    k = (h - 1) // 2  # rows 1..k pair with rows h-1..h-k
    if k > 0:
        power[1 : k + 1] += power[h - k :][::-1]
    folded = power[:hf]

    # Parseval: sum(Lp**2) = sum over the full spectrum of |F|**2 T**2 / n,
    # here over the folded half with the Hermitian column weights, a band of
    # rows at a time.
    fa, fb = _laplace_factors(h, w)
    lap_sum = 0.0
    for r0 in range(0, hf, band):
        r1 = min(hf, r0 + band)
        t = mag_buf[: (r1 - r0) * wr].reshape(r1 - r0, wr)
        np.add(fa[r0:r1, None], fb[None, :], out=t)
        np.square(t, out=t)
        lap_sum += _hermitian_sum(np.multiply(t, folded[r0:r1], out=t), w)
    lap_periodic = lap_sum / n
    lap_reflect = lap_periodic + border  # sum(Lr**2)
    # The reflect-mode Laplacian sums to zero (its second differences
    # telescope), so its variance is its mean square. When the periodic
    # energy is mostly the wrap-around jump at the borders (smooth images),
    # the subtraction would magnify the float32 FFT error: report None and
    # let the caller compute it directly.
    lap_var = None if lap_periodic > ILL_CONDITIONED * lap_reflect else max(lap_reflect / n, 0.0)

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
        power_sum_ac=max(power_sum, 0.0),
        radial_power=radial,
        total_power=total,
        hf_power=hf_power,
        laplacian_var=lap_var,
    )
