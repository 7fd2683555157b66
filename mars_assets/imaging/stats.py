"""Per-image quality statistics for Mars rover camera images.

Pure Python / numpy / scipy / Pillow; no Dagster here. The pipeline is::

    decode_image(bytes) -> DecodedImage -> image_statistics(...) -> flat dict
                                                       (one row of IMAGE_STATS_SCHEMA)

The package is split by subject: :mod:`~mars_assets.imaging.decode` (bytes to
DecodedImage), :mod:`~mars_assets.imaging.columns` (IMAGE_STATS_SCHEMA, with a
description of every column), this module (the row), with its helpers
:mod:`~mars_assets.imaging.histograms` (histogram statistics),
:mod:`~mars_assets.imaging.gray` (BT.601 luma; log_magnitude_spectrum) and
:mod:`~mars_assets.imaging.spectrum` (one FFT for every frequency-domain column),
and :mod:`~mars_assets.imaging.parallel` (many images on worker processes).

Conventions
-----------
* ``DecodedImage.pixels`` is ``(H, W)`` for single-channel images or ``(H, W, 3)``
  for RGB, dtype ``uint8`` (``bit_depth == 8``) or native-endian ``uint16``
  (``bit_depth == 16``). Rows are image rows (y), columns are x. Pixels are in
  stored order: the EXIF orientation tag is *not* applied.
* "Native units" are the integer levels ``0 .. 2**bit_depth - 1``; "normalised"
  means divided by ``2**bit_depth - 1`` so that it lies in ``0 .. 1``.
* The *gray* image is the channel itself for single-channel images and the
  ITU-R BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` for RGB images
  (https://www.itu.int/rec/R-REC-BT.601), held in float32 as
  ``(299 R + 587 G + 114 B) / 1000`` with one correctly rounded division:
  bit for bit Pillow's ``Image.convert("F")``, which the decoder path uses.
* Frequencies are in cycles/pixel as returned by ``numpy.fft.fftfreq`` /
  ``numpy.fft.rfftfreq`` (range -0.5 .. 0.5). The normalised radial frequency is
  ``rho = sqrt(fy**2 + fx**2) / 0.5`` so ``rho == 1`` is the Nyquist frequency
  along an axis; the corners of the spectrum reach ``rho = sqrt(2)``.
* Spectra are computed with ``scipy.fft.rfft2`` on float32 input (complex64
  output) and unnormalised ("backward") DFT scaling, i.e. ``F[0, 0]`` is the sum
  of the pixels. ``rfft2`` stores only the columns ``0 .. W//2`` of the full
  spectrum; the missing columns are the complex conjugates of columns
  ``1 .. (W-1)//2`` (Hermitian symmetry of the DFT of a real signal, see the
  ``numpy.fft`` and ``scipy.fft.rfft2`` documentation), so every sum over the full
  spectrum counts those columns twice. Results equal the same computation on the
  full ``numpy.fft.fft2`` spectrum (to float32 rounding).

Formulas and sources
--------------------
* Luma: ITU-R BT.601 (above).
* ``entropy_bits``: Shannon entropy ``-sum p log2 p`` of the 256-bin gray
  histogram (C. E. Shannon, "A Mathematical Theory of Communication", 1948).
* ``sharpness``: variance of the Laplacian (``scipy.ndimage.laplace``, 5-point
  stencil, ``mode="reflect"``) of the normalised gray image, the focus measure of
  Pech-Pacheco et al. 2000, "Diatom autofocusing in brightfield microscopy: a
  comparative study", ICPR.
* ``radial_power`` / ``spectral_slope``: radially averaged power spectrum and the
  slope of its log-log fit; natural images fall off roughly as ``f**-2``
  (van der Schaaf & van Hateren 1996, "Modelling the power spectra of natural
  images: statistics and information", Vision Research 36(17)).

Performance: no Python loops over pixels; per-shape geometry (radial bin index,
Hermitian column weights) is cached with ``functools.lru_cache``; the spectrum is
taken a band of rows at a time into one reused complex64 buffer, so no float32
copy of the whole image is made (see :mod:`mars_assets.imaging.spectrum`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
from PIL import Image

from mars_assets.imaging.columns import COLOUR_CHANNELS, HF_CUTOFF_RHO, HIST_BINS, STAT_KEYS
from mars_assets.imaging.decode import DecodedImage, normalise_mode, open_image
from mars_assets.imaging.gray import LUMA_WEIGHTS, LUMA_WHITE, luma
from mars_assets.imaging.histograms import entropy_bits, histogram_stats, pil_histogram_l
from mars_assets.imaging.spectrum import laplacian_variance, scratch, spectral_summary

__all__ = ["check_radial_bins", "image_statistics", "statistics_from_bytes"]


@dataclass(frozen=True, eq=False)
class _Source:
    """What the statistics need: the metadata of the row, the gray image that
    feeds the spectrum (an (H, W) uint8 or uint16 plane, or the float32 BT.601
    luma of an RGB image; possibly read-only) and the 256-level histograms the
    decoder already counted (8-bit only: (1, 256) for a plane, the (3, 256)
    R, G, B histograms for RGB)."""

    mode: str
    bit_depth: int
    width: int
    height: int
    notes: str
    gray: np.ndarray
    rgb: bool
    hists: np.ndarray | None = None


def _source_from_decoded(image: DecodedImage) -> _Source:
    px = image.pixels
    if px.ndim == 2:
        return _Source(image.mode, image.bit_depth, image.width, image.height, image.notes, px, False)
    hists = np.stack([pil_histogram_l(px[..., c]) for c in range(3)])
    return _Source(image.mode, image.bit_depth, image.width, image.height, image.notes, luma(px), True, hists)


def _pixels_view(img: Image.Image, dtype) -> np.ndarray:
    """The (H, W) pixels of a single-band Pillow image as a read-only numpy
    array: a zero-copy view through Pillow's Arrow export where the image is
    one block of memory (below Pillow's 16 MiB block size), else a copy."""
    w, h = img.size
    try:
        buf = pa.array(img).buffers()[1]
    except (ValueError, TypeError, AttributeError):
        return np.asarray(img)
    return np.frombuffer(buf, dtype=dtype, count=w * h).reshape(h, w)


def _source_from_pil(img: Image.Image) -> _Source:
    """Decode-side half of statistics_from_bytes: Pillow counts the
    histograms and computes the luma of RGB (``convert("F")``, the same
    values as luma) in C; no interleaved RGB copy is made."""
    src, bit_depth, notes = normalise_mode(img)
    w, h = img.size
    if isinstance(src, np.ndarray):  # 16-bit
        return _Source(img.mode, bit_depth, w, h, notes, src, False)
    hists = np.array(src.histogram()).reshape(-1, HIST_BINS)
    if src.mode == "L":
        return _Source(img.mode, bit_depth, w, h, notes, _pixels_view(src, np.uint8), False, hists)
    return _Source(img.mode, bit_depth, w, h, notes, _pixels_view(src.convert("F"), np.float32), True, hists)


@lru_cache(maxsize=8)
def _radial_frequency(nbins: int) -> tuple[list[float], np.ndarray, np.ndarray, float]:
    """For ``nbins`` bins of rho on [0, 1]: (bin centres in cycles/pixel as a
    list, their log10, the log10 minus its mean, the sum of squares of that)."""
    edges = np.linspace(0.0, 1.0, nbins + 1)
    freq = 0.25 * (edges[:-1] + edges[1:])
    logf = np.log10(freq)
    xc = logf - logf.mean()
    for a in (logf, xc):
        a.flags.writeable = False
    return freq.tolist(), logf, xc, float(np.dot(xc, xc))


def _spectral_slope(nbins: int, power: np.ndarray) -> float | None:
    """Least-squares slope of log10(power) on log10(frequency) over the bins
    with power > 0; None with fewer than 3 such bins."""
    _, logf, xc, sxx = _radial_frequency(nbins)
    ok = power > 0
    count = int(np.count_nonzero(ok))
    if count < 3:
        return None
    if count < power.size:
        x = logf[ok]
        xc = x - x.mean()
        sxx = float(np.dot(xc, xc))
        power = power[ok]
    # sum(xc) == 0, so sum(xc * (y - mean(y))) == sum(xc * y)
    return float(np.dot(xc, np.log10(power))) / sxx


def _count_equal(y: np.ndarray, value: np.float32) -> int:
    mask = scratch("mask", y.size, np.bool_).reshape(y.shape)
    np.equal(y, value, out=mask)
    return int(np.count_nonzero(mask))


def check_radial_bins(radial_bins) -> int:
    """``radial_bins`` as an int; ValueError unless it is a positive integer."""
    if not isinstance(radial_bins, (int, np.integer)) or radial_bins < 1:
        raise ValueError(f"radial_bins must be a positive integer, got {radial_bins!r}")
    return int(radial_bins)


def image_statistics(image: DecodedImage, *, radial_bins: int = 32) -> dict:
    """Compute one flat row of image statistics (keys = IMAGE_STATS_SCHEMA.names).

    Args:
        image: a DecodedImage (see decode_image / to_pixels).
        radial_bins: number of equal-width bins of rho over [0, 1] for
            ``radial_power`` / ``radial_frequency`` (>= 1).

    Returns a dict with every column of IMAGE_STATS_SCHEMA, in schema order,
    holding plain Python values (int, float, str, list, or None):

    * ``{c}_mean/std/min/max/p01/p50/p99`` (native units, population std) and
      ``{c}_hist`` (256 int counts) for c in red, green, blue, gray; red/green/
      blue are None for single-channel images. Histograms: counts of the
      values for 8-bit, of ``value >> 8`` for 16-bit (256 bins over the
      native range). Percentiles are computed from the full-resolution
      histogram (256 or 65536 levels): the smallest level v with
      ``cumsum(hist)[v] >= q * N``, identical to
      ``np.percentile(x, 100*q, method="inverted_cdf")`` (e.g. p50 of the
      values 0..255 is 127).
    * gray of an RGB image is the BT.601 luma (module docstring):
      ``gray_mean`` is the exact mean luma (from the integer channel sums);
      ``gray_min/max`` those of the float32 luma; ``gray_std`` is the
      population std of the float32 luma computed from its spectrum by
      Parseval's theorem (``sqrt(sum_{k != 0} |F_k|**2) / N``; agrees with the
      direct float64 computation to ~1e-6 relative, float32 FFT rounding);
      ``gray_hist``, ``gray_p01/p50/p99`` and ``entropy_bits`` use the luma
      rounded to the nearest integer level (half to even; so a gray percentile
      can differ from gray_min/max by up to 0.5). Single-channel gray
      statistics are exact (from the histogram).
    * ``brightness`` = gray_mean, ``contrast`` = gray_std (native units),
      ``brightness_norm`` = gray_mean / (2**bit_depth - 1).
    * ``entropy_bits``: Shannon entropy of gray_hist in bits (0 .. 8).
    * ``sharpness``: ``var(scipy.ndimage.laplace(gray / (2**bit_depth - 1)))``
      (5-point stencil, ``mode="reflect"``; Pech-Pacheco et al. 2000); 0 for a
      constant image. Computed from the FFT below by Parseval's theorem with
      the border rows/columns corrected exactly (see
      :mod:`mars_assets.imaging.spectrum`); agrees with the direct float64
      computation to ~1e-6 relative (float32 FFT rounding).
    * ``saturated_fraction`` / ``black_fraction``: fraction of pixels at
      ``2**bit_depth - 1`` / at 0; for RGB a pixel counts only when all three
      channels are there.
    * ``fft_mean_magnitude``: mean of |F| over the full (H, W) DFT of the
      normalised gray image, DC included (for a constant image of normalised
      value c it is c).
    * ``radial_power``: mean of |F|**2 of the mean-subtracted normalised gray
      image (DC therefore 0) over the frequencies in each of ``radial_bins``
      equal-width rho bins on [0, 1]; rho > 1 (the spectrum's corners) is
      excluded; empty bins are 0.0. Unnormalised DFT, so white noise of variance
      s**2 gives s**2 * H * W. ``radial_frequency``: bin centres in
      cycles/pixel (``0.5 * rho_centre``).
    * ``spectral_slope``: least-squares slope of log10(radial_power) against
      log10(radial_frequency) over bins with power > 0 (van der Schaaf & van
      Hateren 1996; natural images give about -2 .. -3); None with fewer than
      3 such bins.
    * ``hf_energy_fraction``: power at rho > HF_CUTOFF_RHO over all power except
      DC, over the WHOLE spectrum (corners rho > 1 included, unlike
      radial_power); 0.0 for a constant image. ``hf_cutoff_rho`` = HF_CUTOFF_RHO.

    Thread-safe. Working memory is per-thread scratch that is kept for the
    next image (one complex64 half-spectrum, ~4 bytes per pixel of the largest
    recent image, plus 1 byte per pixel for RGB and two ~512 kB bands), and
    small cached per-shape vectors (radial-bin runs, Laplacian factors); see
    :func:`mars_assets.imaging.spectrum.clear_caches`.

    Raises:
        ValueError: radial_bins < 1.
    """
    radial_bins = check_radial_bins(radial_bins)
    return _statistics(_source_from_decoded(image), radial_bins)


def statistics_from_bytes(data: bytes, *, radial_bins: int = 32) -> dict:
    """``image_statistics(decode_image(data), radial_bins=radial_bins)``, faster.

    Same row, value for value: Pillow splits the decoded colour bands and
    counts their histograms in C, so no interleaved RGB copy is made. This is
    what :func:`mars_assets.imaging.statistics_for_many` runs per image.

    Raises:
        ImageDecodeError: as decode_image.
        ValueError: radial_bins < 1.
    """
    radial_bins = check_radial_bins(radial_bins)
    return _statistics(open_image(data, _source_from_pil), radial_bins)


def _statistics(src: _Source, radial_bins: int) -> dict:
    """image_statistics of a _Source."""
    gray = src.gray
    h, w = gray.shape
    n = h * w
    maxval = (1 << src.bit_depth) - 1
    rgb = src.rgb

    row: dict = {
        "width": int(src.width),
        "height": int(src.height),
        "mode": src.mode,
        "bit_depth": int(src.bit_depth),
        "channels": 3 if rgb else 1,
        "notes": src.notes,
    }

    if rgb:
        hists = src.hists
        gray_int = scratch("gray_int", n, np.uint8).reshape(h, w)
        np.rint(gray, out=gray_int, casting="unsafe")  # luma <= 255.0: fits
        gfull = pil_histogram_l(gray_int)
        stats, hist_lists = histogram_stats(np.vstack([hists, gfull]), n)
        for c, st, hist in zip(COLOUR_CHANNELS, stats[:3], hist_lists[:3], strict=True):
            for k, val in st.items():
                row[f"{c}_{k}"] = val
            row[f"{c}_hist"] = hist
        gst, ghist = stats[3], hist_lists[3]
        # Mean of the exact luma from the channel sums (integers): exact.
        sums = hists @ np.arange(HIST_BINS, dtype=np.int64)
        gmean = sum(int(wt) * int(sm) for wt, sm in zip(LUMA_WEIGHTS, sums, strict=True)) / (1000 * n)
        gst["mean"] = gmean
        gst["min"] = float(gray.min())
        gst["max"] = float(gray.max())
        # gst["std"] comes from the spectrum below (Parseval).
        # All three channels at 0 (255) <=> luma == 0.0 (== 255.0 exactly;
        # checked over all 2**24 triples in the tests). Count only when every
        # channel and the rounded luma reach the level (the usual case: not).
        black = saturated = 0.0
        if hists[:, 0].min() > 0 and gfull[0] > 0:
            black = _count_equal(gray, np.float32(0.0)) / n
        if hists[:, maxval].min() > 0 and gfull[maxval] > 0:
            saturated = _count_equal(gray, LUMA_WHITE) / n
        offset = np.float32(gmean)
    else:
        for c in COLOUR_CHANNELS:
            for k in (*STAT_KEYS, "hist"):
                row[f"{c}_{k}"] = None
        if src.hists is not None:
            gfull = src.hists[0]
        elif src.bit_depth == 8:
            gfull = pil_histogram_l(gray)
        else:
            gfull = np.bincount(gray.reshape(-1), minlength=1 << 16)
        (gst,), (ghist,) = histogram_stats(gfull[None, :], n)
        gmean = gst["mean"]
        saturated = float(gfull[-1]) / n
        black = float(gfull[0]) / n
        # Integer images are centred by an integer, so the float32 values stay exact.
        offset = np.float32(round(gmean))

    # Spectrum of the centred gray image (float32). Centring changes only the
    # DC term of the DFT and nothing in the Laplacian, and keeps the float32
    # FFT accurate for the small high-frequency terms.
    spec = spectral_summary(gray, offset, radial_bins, HF_CUTOFF_RHO)
    if rgb:
        # Parseval: sum over k != 0 of |G_k|**2 = N * sum((g - mean g)**2).
        gst["std"] = 0.0 if gst["min"] == gst["max"] else math.sqrt(spec.power_sum_ac) / n
    for k, val in gst.items():
        row[f"gray_{k}"] = val
    row["gray_hist"] = ghist

    row["brightness"] = gmean
    row["contrast"] = gst["std"]
    row["brightness_norm"] = gmean / maxval
    row["entropy_bits"] = entropy_bits(gfull if gfull.size == HIST_BINS else np.asarray(ghist))

    lap_var = spec.laplacian_var
    if lap_var is None:  # very smooth image: direct float64 Laplacian
        lap_var = laplacian_variance(gray)

    scale = 1.0 / maxval
    row["sharpness"] = lap_var * scale * scale
    row["saturated_fraction"] = saturated
    row["black_fraction"] = black
    # Full-spectrum mean |F| of the *un-centred* normalised image: the AC part
    # plus the true DC, the pixel sum.
    row["fft_mean_magnitude"] = (spec.abs_sum_ac + abs(gmean * n)) * scale / n
    radial_power = spec.radial_power * (scale * scale)
    row["radial_power"] = radial_power.tolist()
    row["radial_frequency"] = list(_radial_frequency(radial_bins)[0])
    row["spectral_slope"] = _spectral_slope(radial_bins, radial_power)
    total = spec.total_power
    row["hf_energy_fraction"] = spec.hf_power / total if total > 0 else 0.0
    row["hf_cutoff_rho"] = HF_CUTOFF_RHO
    return row
