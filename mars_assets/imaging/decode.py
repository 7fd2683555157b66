"""Decoding image file bytes into pixels: :func:`decode_image` -> :class:`DecodedImage`.

Pure Python / numpy / Pillow; no Dagster here. ``DecodedImage.pixels`` is
``(H, W)`` for single-channel images or ``(H, W, 3)`` for RGB, dtype ``uint8``
(``bit_depth == 8``) or native-endian ``uint16`` (``bit_depth == 16``). Rows are
image rows (y), columns are x. Pixels are in stored order: the EXIF orientation
tag is *not* applied. The statistics of a decoded image are in
:mod:`mars_assets.imaging.stats`.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from PIL import Image

__all__ = [
    "MAX_DECODE_PIXELS",
    "DecodedImage",
    "ImageDecodeError",
    "decode_image",
    "normalise_mode",
    "open_image",
    "to_pixels",
]

_T = TypeVar("_T")


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
            object.__setattr__(self, "pixels", _readonly(px))

    @property
    def channels(self) -> int:
        """1 for single-channel images, 3 for RGB."""
        return 1 if self.pixels.ndim == 2 else 3


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
    return open_image(data, to_pixels)


#: Largest image decode_image accepts (width × height). The largest rover frames are
#: ~20 Mpx (Perseverance Mastcam-Z/SuperCam 5120 × 3840 is 19.7 Mpx); Pillow's own
#: DecompressionBombError starts only at 2 × Image.MAX_IMAGE_PIXELS (~179 Mpx).
MAX_DECODE_PIXELS = 50_000_000


def open_image(
    data: bytes, convert: Callable[[Image.Image], _T], draft: tuple[str, tuple[int, int]] | None = None
) -> _T:
    """``convert(loaded Pillow image)`` with Pillow's errors turned into
    ImageDecodeError (decode_image is ``open_image(data, to_pixels)``). ``convert``
    must do only decoding-side work: anything it raises of the _DECODE_ERRORS kinds
    is reported as a corrupt image. ``draft``: ``(mode, size)`` for ``Image.draft``
    before the pixels are decoded (JPEG only: a downscaled decode; a no-op otherwise)."""
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
            if draft is not None:
                img.draft(*draft)
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
    """``a`` itself if read-only, else a read-only view of it."""
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
    src, bit_depth, notes = normalise_mode(img)
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


def normalise_mode(img: Image.Image) -> tuple[Image.Image | np.ndarray, int, str]:
    """The mode handling of to_pixels (see its table): ``(src, bit_depth, notes)``
    where src is a Pillow image of mode "L" or "RGB" (8-bit) or a native uint16
    array.

    Raises:
        ImageDecodeError: as to_pixels.
    """
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
