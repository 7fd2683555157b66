"""Per-image quality statistics for Mars rover camera images.

Pure Python / numpy / scipy / Pillow; no Dagster here. The pipeline is::

    decode_image(bytes) -> DecodedImage -> image_statistics(...) -> flat dict
                                                       (one row of IMAGE_STATS_SCHEMA)

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

import io
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np
import pyarrow as pa
import scipy.fft
from PIL import Image

from mars_assets.imaging.spectrum import laplacian_variance, scratch, spectral_summary

__all__ = [
    "HF_CUTOFF_RHO",
    "IMAGE_STATS_SCHEMA",
    "STATS_VERSION",
    "DecodedImage",
    "ImageDecodeError",
    "decode_image",
    "image_statistics",
    "log_magnitude_spectrum",
    "statistics_from_bytes",
    "to_pixels",
]

STATS_VERSION = "2"
"""Bump when the meaning of any column of IMAGE_STATS_SCHEMA changes."""

HF_CUTOFF_RHO = 0.5
"""Normalised radial frequency above which energy counts as high-frequency
(0.5 * Nyquist = 0.25 cycles/pixel)."""

_CHANNELS = ("red", "green", "blue", "gray")
_HIST_BINS = 256
# ITU-R BT.601 luma weights for R, G, B, in thousandths (0.299, 0.587, 0.114).
_LUMA_WEIGHTS = (299, 587, 114)
_PERCENTILES = (("p01", 0.01), ("p50", 0.50), ("p99", 0.99))
# Luma of (255, 255, 255): exactly 255.0 (255000 / 1000), and no other 8-bit
# triple reaches it; 0.0 only for (0, 0, 0).
_LUMA_WHITE = np.float32(255.0)
_T = TypeVar("_T")


def _build_schema() -> pa.Schema:
    fields = [
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("mode", pa.string()),
        pa.field("bit_depth", pa.int8()),
        pa.field("channels", pa.int8()),
        pa.field("notes", pa.string()),
    ]
    for c in _CHANNELS:
        for stat in ("mean", "std", "min", "max", "p01", "p50", "p99"):
            fields.append(pa.field(f"{c}_{stat}", pa.float64()))
        fields.append(pa.field(f"{c}_hist", pa.list_(pa.int64())))
    fields += [
        pa.field("brightness", pa.float64()),
        pa.field("contrast", pa.float64()),
        pa.field("brightness_norm", pa.float64()),
        pa.field("entropy_bits", pa.float64()),
        pa.field("sharpness", pa.float64()),
        pa.field("saturated_fraction", pa.float64()),
        pa.field("black_fraction", pa.float64()),
        pa.field("fft_mean_magnitude", pa.float64()),
        pa.field("radial_power", pa.list_(pa.float64())),
        pa.field("radial_frequency", pa.list_(pa.float64())),
        pa.field("spectral_slope", pa.float64()),
        pa.field("hf_energy_fraction", pa.float64()),
        pa.field("hf_cutoff_rho", pa.float64()),
    ]
    return pa.schema(fields, metadata={"mars_assets.image_stats_version": STATS_VERSION})


IMAGE_STATS_SCHEMA: pa.Schema = _build_schema()
"""Arrow schema of one ``image_statistics`` row (column order = dict key order).
Schema metadata ``mars_assets.image_stats_version`` carries STATS_VERSION."""


class ImageDecodeError(ValueError):
    """The bytes are not a decodable image (corrupt, truncated, unknown format,
    too large, or a pixel mode this module does not handle). ``str(exc)`` is a
    human-readable reason."""


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """Decoded pixels plus what is needed to interpret them.

    Attributes:
        pixels: ``(H, W)`` (single channel) or ``(H, W, 3)`` (RGB) array, dtype
            ``uint8`` or native-endian ``uint16``; stored read-only.
        mode: the ORIGINAL Pillow mode of the file ("L", "RGB", "RGBA", "P",
            "I;16", "CMYK", "1", "LA", ...), before any conversion.
        bit_depth: 8 or 16, matching the dtype of ``pixels``.
        width, height: ``W`` and ``H`` in pixels.
        notes: what the conversion did ("alpha channel dropped", "palette
            expanded to RGB", ...; "; "-separated) or "".

    Raises ValueError from the constructor when the fields are inconsistent.
    ``eq=False``: instances compare by identity (numpy arrays have no
    boolean ``==``).
    """

    pixels: np.ndarray
    mode: str
    bit_depth: int
    width: int
    height: int
    notes: str = ""

    def __post_init__(self) -> None:
        px = self.pixels
        if not isinstance(px, np.ndarray):
            raise ValueError(f"pixels must be a numpy array, got {type(px).__name__}")
        if not (px.ndim == 2 or (px.ndim == 3 and px.shape[2] == 3)):
            raise ValueError(f"pixels must have shape (H, W) or (H, W, 3), got {px.shape}")
        expected = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16)}.get(self.bit_depth)
        if expected is None or px.dtype != expected:
            raise ValueError(
                f"bit_depth {self.bit_depth} does not match pixel dtype {px.dtype} "
                "(need 8 with uint8 or 16 with uint16)"
            )
        if (self.height, self.width) != px.shape[:2]:
            raise ValueError(f"width x height {self.width}x{self.height} does not match pixels shape {px.shape}")
        if px.shape[0] == 0 or px.shape[1] == 0:
            raise ValueError("image has zero width or height")
        if px.flags.writeable:
            view = px.view()
            view.flags.writeable = False
            object.__setattr__(self, "pixels", view)

    @property
    def channels(self) -> int:
        """1 for single-channel images, 3 for RGB."""
        return 1 if self.pixels.ndim == 2 else 3


# --------------------------------------------------------------------------- decode

# What Pillow's decoders raise on bad input (plugins are not uniform about it).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    struct.error,
)


def decode_image(data: bytes) -> DecodedImage:
    """Decode image file bytes (any format Pillow reads) into a DecodedImage.

    Uses ``PIL.Image.open`` on a BytesIO and forces a full ``load()`` so that
    truncated files are detected; no global Pillow state is changed (in
    particular ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone, so truncated
    files are rejected). Only the first frame of multi-frame files is used.
    Mode handling is that of :func:`to_pixels`. JPEG decoding is Pillow's
    libjpeg-turbo.

    Raises:
        ImageDecodeError: empty, unidentifiable, corrupt or truncated data,
            an image above Pillow's decompression-bomb limit, or an unsupported
            mode (see to_pixels).
    """
    return _open_image(data, to_pixels)


#: Largest image decode_image accepts (width × height). The largest rover frames are
#: ~20 Mpx (Perseverance Mastcam-Z/SuperCam 5120 × 3840 is 19.7 Mpx); Pillow's own
#: DecompressionBombError starts only at 2 × Image.MAX_IMAGE_PIXELS (~179 Mpx).
MAX_DECODE_PIXELS = 50_000_000


def _open_image(data: bytes, convert: Callable[[Image.Image], _T]) -> _T:
    """``convert(loaded Pillow image)`` with Pillow's errors turned into
    ImageDecodeError. ``convert`` must do only decoding-side work: anything it
    raises of the _DECODE_ERRORS kinds is reported as a corrupt image."""
    if not data:
        raise ImageDecodeError("empty image data (0 bytes)")
    fmt = "unknown format"
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or fmt
            width, height = img.size
            if width * height > MAX_DECODE_PIXELS:  # checked from the header, before decoding
                raise ImageDecodeError(
                    f"image too large to decode safely: {width} × {height} {fmt} is over "
                    f"MAX_DECODE_PIXELS = {MAX_DECODE_PIXELS:,} pixels"
                )
            img.load()
            return convert(img)
    except ImageDecodeError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageDecodeError(
            f"unrecognised image data ({len(data)} bytes): not a format Pillow can identify"
        ) from None
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"image too large to decode safely: {exc}") from None
    except _DECODE_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        raise ImageDecodeError(f"corrupt or truncated {fmt} image ({len(data)} bytes): {reason}") from None


def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def to_pixels(img: Image.Image) -> DecodedImage:
    """Convert a loaded Pillow image into a DecodedImage (the mode handling).

    ===================================  =========================  ============
    original mode                        pixels                     bit_depth
    ===================================  =========================  ============
    L                                    (H, W) uint8               8
    1                                    (H, W) uint8, 0 / 255      8
    LA, La                               (H, W) uint8, alpha gone   8
    RGB                                  (H, W, 3) uint8            8
    RGBA, RGBa, RGBX                     (H, W, 3), alpha dropped   8
    P, PA                                (H, W, 3), palette -> RGB  8
    CMYK, YCbCr, LAB, HSV                (H, W, 3), -> RGB          8
    I;16, I;16L, I;16B, I;16N            (H, W) uint16 native       16
    I (all values in 0..65535)           (H, W) uint16              16
    ===================================  =========================  ============

    Colour-space conversions are Pillow's ``Image.convert("RGB")``. ``notes``
    records every lossy step. Pillow has no 48-bit RGB mode, so 16-bit colour
    files arrive here already reduced to 8 bits by Pillow.

    Raises:
        ImageDecodeError: mode "F" (floating point, no defined bit depth), mode
            "I" with values outside 0..65535, any other mode, or a zero-size image.
    """
    src, bit_depth, notes = _normalise(img)
    px = src if isinstance(src, np.ndarray) else np.asarray(src)
    w, h = img.size
    return DecodedImage(
        pixels=_readonly(px),
        mode=img.mode,
        bit_depth=bit_depth,
        width=w,
        height=h,
        notes=notes,
    )


def _normalise(img: Image.Image) -> tuple[Image.Image | np.ndarray, int, str]:
    """The mode handling of to_pixels: ``(src, bit_depth, notes)`` where src
    is a Pillow image of mode "L" or "RGB" (8-bit) or a native uint16 array."""
    mode = img.mode
    w, h = img.size
    if w == 0 or h == 0:
        raise ImageDecodeError(f"image has zero size ({w}x{h})")
    notes: list[str] = []
    bit_depth = 8

    src: Image.Image | np.ndarray
    if mode == "L":
        src = img
    elif mode == "1":
        src = img.convert("L")
        notes.append("1-bit image expanded to 8-bit (0/255)")
    elif mode in ("LA", "La"):
        la = img.convert("LA") if mode == "La" else img
        src = la.convert("L")
        notes.append("alpha channel dropped")
    elif mode == "RGB":
        src = img
    elif mode in ("RGBA", "RGBa"):
        src = img.convert("RGB")
        notes.append("alpha channel dropped")
    elif mode == "RGBX":
        src = img.convert("RGB")
        notes.append("padding channel dropped")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        rgba = img.convert("RGBA") if has_alpha else img
        src = rgba.convert("RGB")
        notes.append("palette expanded to RGB")
        if has_alpha:
            notes.append("alpha channel dropped")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        src = img.convert("RGB")
        notes.append(f"{mode} converted to RGB")
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        src = np.asarray(img).astype(np.uint16, copy=False)
        bit_depth = 16
    elif mode == "I":
        raw = np.asarray(img)
        lo, hi = (int(raw.min()), int(raw.max()))
        if lo < 0 or hi > 0xFFFF:
            raise ImageDecodeError(f"unsupported mode I: values {lo}..{hi} do not fit in 16 bits")
        src = raw.astype(np.uint16)
        bit_depth = 16
        notes.append("32-bit integer image stored as 16-bit")
    elif mode == "F":
        raise ImageDecodeError("unsupported mode F (32-bit floating point pixels)")
    else:
        raise ImageDecodeError(f"unsupported mode {mode}")

    return src, bit_depth, "; ".join(notes)


# ----------------------------------------------------------------------- statistics


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


def _luma(px: np.ndarray) -> np.ndarray:
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
        np.multiply(px[r0:r1, :, 0], np.float32(_LUMA_WEIGHTS[0]), out=y, dtype=np.float32)
        for c in (1, 2):
            np.multiply(px[r0:r1, :, c], np.float32(_LUMA_WEIGHTS[c]), out=t, dtype=np.float32)
            y += t
        y /= np.float32(1000.0)
    return out


def _source_from_decoded(image: DecodedImage) -> _Source:
    px = image.pixels
    if px.ndim == 2:
        return _Source(image.mode, image.bit_depth, image.width, image.height, image.notes, px, False)
    hists = np.stack([_pil_histogram_l(px[..., c]) for c in range(3)])
    return _Source(image.mode, image.bit_depth, image.width, image.height, image.notes, _luma(px), True, hists)


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
    values as _luma) in C; no interleaved RGB copy is made."""
    src, bit_depth, notes = _normalise(img)
    w, h = img.size
    if isinstance(src, np.ndarray):  # 16-bit
        return _Source(img.mode, bit_depth, w, h, notes, src, False)
    hists = np.array(src.histogram()).reshape(-1, _HIST_BINS)
    if src.mode == "L":
        return _Source(img.mode, bit_depth, w, h, notes, _pixels_view(src, np.uint8), False, hists)
    return _Source(img.mode, bit_depth, w, h, notes, _pixels_view(src.convert("F"), np.float32), True, hists)


@lru_cache(maxsize=2)
def _levels(count: int) -> np.ndarray:
    v = np.arange(count, dtype=np.float64)
    v.flags.writeable = False
    return v


_STAT_KEYS = ("mean", "std", "min", "max", "p01", "p50", "p99")
_QUANTILES = np.array([q for _, q in _PERCENTILES])


def _hist_stats(full: np.ndarray, n: int) -> tuple[list[dict], list[list[int]]]:
    """Mean/std/min/max/percentiles and 256-bin histograms from full-resolution
    histograms: ``full`` is (k, 256) or (k, 65536) int counts of the levels.

    All exact: the moments are sums over the levels. Percentiles: the smallest
    level ``v`` with ``cumsum(hist)[v] >= q * N``, which is numpy's
    ``method="inverted_cdf"``. Returns (one stats dict per row, 256-bin
    histograms as lists).
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
        dict(zip(_STAT_KEYS, (m, s, float(a), float(b), *map(float, p))))
        for m, s, a, b, p in zip(mean.tolist(), std.tolist(), lo.tolist(), hi.tolist(), pct)
    ]
    hist = full if levels == _HIST_BINS else full.reshape(k, _HIST_BINS, -1).sum(axis=2)
    return stats, hist.tolist()


def _entropy_bits(hist: np.ndarray) -> float:
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


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


def _pil_histogram_l(a: np.ndarray) -> np.ndarray:
    """256 counts of a 2-D uint8 array by Pillow's C histogram (about 3x
    faster than np.bincount, which first copies the values to intp)."""
    a = np.ascontiguousarray(a)
    h, w = a.shape
    return np.array(Image.frombuffer("L", (w, h), a, "raw", "L", 0, 1).histogram())


def _count_equal(y: np.ndarray, value: np.float32) -> int:
    mask = scratch("mask", y.size, np.bool_).reshape(y.shape)
    np.equal(y, value, out=mask)
    return int(np.count_nonzero(mask))


def _gray(image: DecodedImage) -> np.ndarray:
    """Float32 gray image in native units (a new array): the channel itself or
    the BT.601 luma of RGB (see _luma)."""
    px = image.pixels
    return px.astype(np.float32) if px.ndim == 2 else _luma(px)


def _check_radial_bins(radial_bins) -> int:
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
    radial_bins = _check_radial_bins(radial_bins)
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
    radial_bins = _check_radial_bins(radial_bins)
    return _statistics(_open_image(data, _source_from_pil), radial_bins)


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
        gfull = _pil_histogram_l(gray_int)
        stats, hist_lists = _hist_stats(np.vstack([hists, gfull]), n)
        for c, st, hist in zip(("red", "green", "blue"), stats, hist_lists):
            for k, val in st.items():
                row[f"{c}_{k}"] = val
            row[f"{c}_hist"] = hist
        gst, ghist = stats[3], hist_lists[3]
        # Mean of the exact luma from the channel sums (integers): exact.
        sums = hists @ np.arange(_HIST_BINS, dtype=np.int64)
        gmean = sum(int(wt) * int(sm) for wt, sm in zip(_LUMA_WEIGHTS, sums)) / (1000 * n)
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
            saturated = _count_equal(gray, _LUMA_WHITE) / n
        offset = np.float32(gmean)
    else:
        for c in ("red", "green", "blue"):
            for k in ("mean", "std", "min", "max", "p01", "p50", "p99", "hist"):
                row[f"{c}_{k}"] = None
        if src.hists is not None:
            gfull = src.hists[0]
        elif src.bit_depth == 8:
            gfull = _pil_histogram_l(gray)
        else:
            gfull = np.bincount(gray.reshape(-1), minlength=1 << 16)
        (gst,), (ghist,) = _hist_stats(gfull[None, :], n)
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
    row["entropy_bits"] = _entropy_bits(gfull if gfull.size == _HIST_BINS else np.asarray(ghist))

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
