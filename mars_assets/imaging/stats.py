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
  ITU-R BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` (computed in float32)
  for RGB images (https://www.itu.int/rec/R-REC-BT.601).
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
Hermitian column weights) is cached with ``functools.lru_cache``.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import scipy.fft
import scipy.ndimage
from PIL import Image

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

STATS_VERSION = "1"
"""Bump when the meaning of any column of IMAGE_STATS_SCHEMA changes."""

HF_CUTOFF_RHO = 0.5
"""Normalised radial frequency above which energy counts as high-frequency
(0.5 * Nyquist = 0.25 cycles/pixel)."""

_CHANNELS = ("red", "green", "blue", "gray")
_HIST_BINS = 256
# ITU-R BT.601 luma weights for R, G, B.
_BT601 = (np.float32(0.299), np.float32(0.587), np.float32(0.114))
_PERCENTILES = (("p01", 0.01), ("p50", 0.50), ("p99", 0.99))


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
            raise ValueError(
                f"width x height {self.width}x{self.height} does not match pixels shape {px.shape}"
            )
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
    Mode handling is that of :func:`to_pixels`.

    Raises:
        ImageDecodeError: empty, unidentifiable, corrupt or truncated data,
            an image above Pillow's decompression-bomb limit, or an unsupported
            mode (see to_pixels).
    """
    if not data:
        raise ImageDecodeError("empty image data (0 bytes)")
    fmt = "unknown format"
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or fmt
            img.load()
            return to_pixels(img)
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
        raise ImageDecodeError(
            f"corrupt or truncated {fmt} image ({len(data)} bytes): {reason}"
        ) from None


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
    mode = img.mode
    w, h = img.size
    if w == 0 or h == 0:
        raise ImageDecodeError(f"image has zero size ({w}x{h})")
    notes: list[str] = []
    bit_depth = 8

    if mode == "L":
        px = np.asarray(img)
    elif mode == "1":
        px = np.asarray(img.convert("L"))
        notes.append("1-bit image expanded to 8-bit (0/255)")
    elif mode in ("LA", "La"):
        src = img.convert("LA") if mode == "La" else img
        px = np.asarray(src.convert("L"))
        notes.append("alpha channel dropped")
    elif mode == "RGB":
        px = np.asarray(img)
    elif mode in ("RGBA", "RGBa"):
        px = np.asarray(img.convert("RGB"))
        notes.append("alpha channel dropped")
    elif mode == "RGBX":
        px = np.asarray(img.convert("RGB"))
        notes.append("padding channel dropped")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        src = img.convert("RGBA") if has_alpha else img
        px = np.asarray(src.convert("RGB"))
        notes.append("palette expanded to RGB")
        if has_alpha:
            notes.append("alpha channel dropped")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        px = np.asarray(img.convert("RGB"))
        notes.append(f"{mode} converted to RGB")
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        px = np.asarray(img).astype(np.uint16, copy=False)
        bit_depth = 16
    elif mode == "I":
        raw = np.asarray(img)
        lo, hi = (int(raw.min()), int(raw.max()))
        if lo < 0 or hi > 0xFFFF:
            raise ImageDecodeError(
                f"unsupported mode I: values {lo}..{hi} do not fit in 16 bits"
            )
        px = raw.astype(np.uint16)
        bit_depth = 16
        notes.append("32-bit integer image stored as 16-bit")
    elif mode == "F":
        raise ImageDecodeError("unsupported mode F (32-bit floating point pixels)")
    else:
        raise ImageDecodeError(f"unsupported mode {mode}")

    return DecodedImage(
        pixels=_readonly(px),
        mode=mode,
        bit_depth=bit_depth,
        width=w,
        height=h,
        notes="; ".join(notes),
    )


# ----------------------------------------------------------------------- statistics


def _hist_stats(values: np.ndarray, bit_depth: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Mean/std/min/max/percentiles and 256-bin histogram of an integer array.

    One ``np.bincount`` over the full value range (256 or 65536 bins) gives all
    of them exactly. Percentiles: the smallest level ``v`` with
    ``cumsum(hist)[v] >= q * N``, which is numpy's ``method="inverted_cdf"``.
    Returns (stats, 256-bin histogram, full-resolution histogram).
    """
    levels = 1 << bit_depth
    full = np.bincount(values.ravel(), minlength=levels)
    n = values.size
    v = np.arange(levels, dtype=np.float64)
    mean = float(full @ v) / n
    var = float(full @ np.square(v - mean)) / n
    nz = np.flatnonzero(full)
    cum = np.cumsum(full)
    out = {
        "mean": mean,
        "std": math.sqrt(max(var, 0.0)),
        "min": float(nz[0]),
        "max": float(nz[-1]),
    }
    for name, q in _PERCENTILES:
        out[name] = float(np.searchsorted(cum, q * n, side="left"))
    hist = full if levels == _HIST_BINS else full.reshape(_HIST_BINS, -1).sum(axis=1)
    return out, hist, full


def _entropy_bits(hist: np.ndarray) -> float:
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


@lru_cache(maxsize=16)
def _spectral_geometry(h: int, w: int, nbins: int):
    """Per-shape constants for the rfft2 half-spectrum of an (h, w) image.

    Returns ``(col_weight, index, bin_count, edges)``:
      col_weight: (w//2+1,) float64 Hermitian multiplicity of each rfft column
                  (2 for columns 1..(w-1)//2, else 1).
      index:      (h*(w//2+1),) intp, ``2*bin + (rho > HF_CUTOFF_RHO)`` where bin
                  is the radial bin (``nbins`` for rho > 1, excluded later), so a
                  single bincount yields radial sums and the high-frequency split.
      bin_count:  (nbins,) multiplicity-weighted number of frequencies per bin.
      edges:      (nbins+1,) bin edges in rho, ``linspace(0, 1, nbins+1)``.
    Arrays are read-only (shared through the cache).
    """
    wr = w // 2 + 1
    col_weight = np.ones(wr, dtype=np.float64)
    col_weight[1 : (w - 1) // 2 + 1] = 2.0
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    rho = np.sqrt(fy * fy + fx * fx) / 0.5
    edges = np.linspace(0.0, 1.0, nbins + 1)
    # Same assignment as np.histogram(rho, edges): [e_i, e_i+1), last bin closed.
    b = np.searchsorted(edges, rho, side="right") - 1
    b[rho == 1.0] = nbins - 1
    b[rho > 1.0] = nbins
    index = (2 * b + (rho > HF_CUTOFF_RHO)).astype(np.intp).ravel()
    weights = np.broadcast_to(col_weight, (h, wr)).ravel()
    counts = np.bincount(index, weights=weights, minlength=2 * (nbins + 1))
    bin_count = counts[: 2 * nbins].reshape(nbins, 2).sum(axis=1)
    for a in (col_weight, index, bin_count, edges):
        a.flags.writeable = False
    return col_weight, index, bin_count, edges


def _spectral_slope(freq: np.ndarray, power: np.ndarray) -> float | None:
    ok = (power > 0) & (freq > 0)
    if np.count_nonzero(ok) < 3:
        return None
    x = np.log10(freq[ok])
    y = np.log10(power[ok])
    xc = x - x.mean()
    return float((xc @ (y - y.mean())) / (xc @ xc))


def _gray(image: DecodedImage) -> tuple[np.ndarray, np.ndarray]:
    """(integer gray for histograms, float32 gray in native units).

    RGB: BT.601 luma in float32, ``(0.299 R + 0.587 G) + 0.114 B``; the integer
    gray is that rounded to nearest (half to even). No clipping is needed: the
    float32 weights sum to 1 within a few ulps, far from the 0.5 rounding margin.
    """
    px = image.pixels
    if px.ndim == 2:
        return px, px.astype(np.float32)
    y = np.multiply(px[..., 0], _BT601[0], dtype=np.float32)
    y += np.multiply(px[..., 1], _BT601[1], dtype=np.float32)
    y += np.multiply(px[..., 2], _BT601[2], dtype=np.float32)
    return np.rint(y).astype(px.dtype), y


def _scratch(h: int, w: int) -> np.ndarray:
    """Uninitialised float32 (h, w) view into a buffer whose row stride is an
    odd number of 64-byte cache lines.

    ``scipy.ndimage`` filters along axis 0 column by column; with a
    power-of-two row stride (e.g. the 1024-pixel-wide NAVCAM frames) every
    element of a column maps to the same cache set and the axis-0 pass runs
    about 3x slower. Padding the rows avoids that; results are unchanged.
    """
    lines = -(-w // 16) | 1  # 16 float32 per 64-byte line; round up to odd
    return np.empty((h, lines * 16), dtype=np.float32)[:, :w]


def _all_channels_at(px: np.ndarray, gray_int: np.ndarray, value: int, upper_bound: int) -> float:
    """Number of RGB pixels whose three channels all equal ``value`` (0 or max).

    Such a pixel has rounded luma == value, so only those candidates are
    checked channel by channel; ``upper_bound`` (the smallest per-channel count
    at ``value``) short-cuts the common case of no candidates at all.
    """
    if upper_bound == 0:
        return 0.0
    cand = np.flatnonzero(gray_int.ravel() == value)
    if cand.size == 0:
        return 0.0
    sub = px.reshape(-1, 3)[cand]
    return float(np.count_nonzero((sub == value).all(axis=1)))


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
      blue are None for single-channel images. Histograms: ``np.bincount`` of
      the values for 8-bit, of ``value >> 8`` for 16-bit (256 bins over the
      native range). Percentiles are computed from the full-resolution
      histogram (256 or 65536 levels): the smallest level v with
      ``cumsum(hist)[v] >= q * N``, identical to
      ``np.percentile(x, 100*q, method="inverted_cdf")`` (e.g. p50 of the
      values 0..255 is 127).
    * gray of an RGB image is BT.601 luma in float32: ``gray_mean/std/min/max``
      are those of the float luma; ``gray_hist``, ``gray_p01/p50/p99`` and
      ``entropy_bits`` use the luma rounded to the nearest integer level (so a
      gray percentile can differ from gray_min/max by up to 0.5).
    * ``brightness`` = gray_mean, ``contrast`` = gray_std (native units),
      ``brightness_norm`` = gray_mean / (2**bit_depth - 1).
    * ``entropy_bits``: Shannon entropy of gray_hist in bits (0 .. 8).
    * ``sharpness``: ``var(scipy.ndimage.laplace(gray / (2**bit_depth - 1)))``
      in float32 (Pech-Pacheco et al. 2000); 0 for a constant image.
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

    Raises:
        ValueError: radial_bins < 1.
    """
    if not isinstance(radial_bins, (int, np.integer)) or radial_bins < 1:
        raise ValueError(f"radial_bins must be a positive integer, got {radial_bins!r}")
    radial_bins = int(radial_bins)
    px = image.pixels
    h, w = px.shape[:2]
    n = h * w
    maxval = (1 << image.bit_depth) - 1
    rgb = px.ndim == 3

    row: dict = {
        "width": int(image.width),
        "height": int(image.height),
        "mode": image.mode,
        "bit_depth": int(image.bit_depth),
        "channels": 3 if rgb else 1,
        "notes": image.notes,
    }

    gray_int, gray_f = _gray(image)
    channel_full: list[np.ndarray] = []
    for i, c in enumerate(("red", "green", "blue")):
        if rgb:
            st, hist, full = _hist_stats(px[..., i], image.bit_depth)
            channel_full.append(full)
            for k, val in st.items():
                row[f"{c}_{k}"] = val
            row[f"{c}_hist"] = hist.tolist()
        else:
            for k in ("mean", "std", "min", "max", "p01", "p50", "p99", "hist"):
                row[f"{c}_{k}"] = None

    gst, ghist, gfull = _hist_stats(gray_int, image.bit_depth)
    if rgb:  # moments and extremes of the float luma itself
        gmean = float(gray_f.mean(dtype=np.float64))
        gst["mean"] = gmean
        # np.float64, not a Python float: under NEP 50 a Python float would let
        # the deviations be computed in float32.
        gst["std"] = float(np.std(gray_f, dtype=np.float64, mean=np.float64(gmean)))
        gst["min"] = float(gray_f.min())
        gst["max"] = float(gray_f.max())
    for k, val in gst.items():
        row[f"gray_{k}"] = val
    row["gray_hist"] = ghist.tolist()

    gmean = gst["mean"]
    row["brightness"] = gmean
    row["contrast"] = gst["std"]
    row["brightness_norm"] = gmean / maxval
    row["entropy_bits"] = _entropy_bits(ghist)

    # Mean-subtracted, normalised gray (float32). Subtracting the mean changes
    # only the DC term of the DFT and nothing in the Laplacian, and keeps the
    # float32 FFT accurate for the small high-frequency terms.
    centred = np.subtract(gray_f, np.float32(gmean), out=_scratch(h, w))
    centred *= np.float32(1.0 / maxval)

    lap = scipy.ndimage.laplace(centred, output=_scratch(h, w))
    row["sharpness"] = float(np.var(lap, dtype=np.float64))
    del lap

    if rgb:
        full_max = [full[-1] for full in channel_full]
        full_min = [full[0] for full in channel_full]
        # A pixel counts only when all three channels are at the limit; skip
        # the pass when some channel never reaches it (the usual case).
        row["saturated_fraction"] = _all_channels_at(px, gray_int, maxval, min(full_max)) / n
        row["black_fraction"] = _all_channels_at(px, gray_int, 0, min(full_min)) / n
    else:
        row["saturated_fraction"] = float(gfull[-1]) / n
        row["black_fraction"] = float(gfull[0]) / n

    col_weight, index, bin_count, edges = _spectral_geometry(h, w, radial_bins)
    spec = scipy.fft.rfft2(centred, overwrite_x=True)
    del centred
    mag = np.abs(spec)  # float32
    # Full-spectrum mean |F| of the *un-centred* image: swap the centred DC
    # (~0) for the true DC, the pixel sum.
    abs_sum = float(mag.sum(axis=0, dtype=np.float64) @ col_weight)
    abs_sum += abs(gmean / maxval * n) - float(mag[0, 0])
    row["fft_mean_magnitude"] = abs_sum / n

    power = np.square(mag, dtype=np.float64)
    power[0, 0] = 0.0
    power *= col_weight  # Hermitian multiplicity per column
    sums = np.bincount(index, weights=power.ravel(), minlength=2 * (radial_bins + 1))
    total = float(sums.sum())
    hf = float(sums[1::2].sum())
    bin_sum = sums[: 2 * radial_bins].reshape(radial_bins, 2).sum(axis=1)
    radial_power = np.divide(
        bin_sum, bin_count, out=np.zeros(radial_bins), where=bin_count > 0
    )
    radial_frequency = 0.25 * (edges[:-1] + edges[1:])
    row["radial_power"] = radial_power.tolist()
    row["radial_frequency"] = radial_frequency.tolist()
    row["spectral_slope"] = _spectral_slope(radial_frequency, radial_power)
    row["hf_energy_fraction"] = hf / total if total > 0 else 0.0
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
    _, gray_f = _gray(image)
    g = gray_f * np.float32(1.0 / ((1 << image.bit_depth) - 1))
    mag = np.log1p(np.abs(np.fft.fftshift(scipy.fft.fft2(g)))).astype(np.float32)
    resized = Image.fromarray(mag).resize((size, size), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32).copy()
