"""Quality flags of one image and near-duplicate frames (issue 20).

Pure Python / numpy / scipy / Pillow / imagehash; no Dagster here.

* :func:`quality_flags` turns one image-statistics row (a dict as produced by
  :func:`mars_assets.imaging.stats.statistics_from_bytes`) into a list of flag names
  from :data:`FLAGS`.
* :func:`perceptual_hash` is the 64-bit DCT perceptual hash of ``imagehash.phash``
  (Zauner 2010, "Implementation and Benchmarking of Perceptual Image Hash Functions";
  https://github.com/JohannesBuchner/imagehash) of an image file's bytes, as a signed
  int64; :func:`duplicate_groups` joins frames whose hashes are within
  :data:`DUPLICATE_DISTANCE` bits of each other.
* Truncated files: :func:`~mars_assets.imaging.decode.decode_image` (and so
  ``statistics_from_bytes``) rejects them with ImageDecodeError, and this module never
  sets Pillow's process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES``. A truncated JPEG can
  still be read the way Pillow does under that flag, by appending the JPEG end-of-image
  marker (libjpeg fills the missing rows): :func:`statistics_allowing_truncation` does
  that and writes :data:`TRUNCATED_NOTE` into ``notes``, which :func:`quality_flags`
  reports as ``truncated``; the statistics pass of silver image_stats uses it
  (:func:`mars_assets.imaging.parallel.statistics_or_error`), so a truncated JPEG is kept,
  flagged, not quarantined. Truncated PNGs stay undecodable (ImageDecodeError).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

import imagehash
import numpy as np
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from mars_assets.imaging.decode import ImageDecodeError, normalise_mode, open_image
from mars_assets.imaging.stats import statistics_from_bytes

__all__ = [
    "BLACK_FRACTION",
    "BLACK_MEAN",
    "BLANK_STD",
    "DUPLICATE_DISTANCE",
    "FLAGS",
    "LOW_ENTROPY_BITS",
    "QUALITY_VERSION",
    "SATURATED_FRACTION",
    "SMALL_FRAME_AREA",
    "TRUNCATED_NOTE",
    "decode_small",
    "duplicate_groups",
    "hamming",
    "perceptual_hash",
    "quality_flags",
    "statistics_allowing_truncation",
]

_K = TypeVar("_K", bound=Hashable)
_T = TypeVar("_T")

QUALITY_VERSION = "1"
"""Version of the flags, their thresholds and the hash below: bump it when any of them
changes (silver image_quality records it in every row and commit)."""

BLACK_MEAN = 0.02
"""``black`` when gray_mean / (2**bit_depth - 1) is below this (5 of 255 levels): an
unlit frame (night, lens cap, shutter not opened). The 110 real frames of the snapshot:
>= 0.23."""

BLACK_FRACTION = 0.95
"""``black`` also when this fraction or more of the pixels are at level 0 (snapshot: <= 0.03)."""

BLANK_STD = 0.004
"""``blank`` when gray_std / (2**bit_depth - 1) is below this (1 of 255 levels): a
constant or near-constant frame (JPEG noise of a flat field is under 1 level). The
snapshot's real frames, hazy low-contrast ones included: >= 0.028."""

SATURATED_FRACTION = 0.5
"""``saturated`` when this fraction or more of the pixels are at the top level (all
channels): an over-exposed frame. The snapshot's real frames: <= 0.12."""

LOW_ENTROPY_BITS = 3.0
"""``low_information`` when entropy_bits (Shannon entropy of the 256-bin gray histogram,
0..8 bits at any bit depth) is below this: no more information than 8 equally used
levels. The snapshot's real frames: >= 4.6."""

SMALL_FRAME_AREA = 0.25
"""``small_frame`` when width * height is below this fraction of the camera's full frame
(a thumbnail or browse product filed as a full frame); needs ``full_frame``."""

TRUNCATED_NOTE = "truncated file: partially decoded"
"""What :func:`statistics_allowing_truncation` adds to ``notes``; ``truncated`` is flagged
when ``notes`` contains the word "truncated"."""

FLAGS = ("black", "blank", "saturated", "low_information", "truncated", "small_frame")
"""Every flag :func:`quality_flags` can return, in the order it returns them:

* ``black``: gray_mean below BLACK_MEAN of full scale, or black_fraction >= BLACK_FRACTION;
* ``blank``: gray_std below BLANK_STD of full scale (constant frame);
* ``saturated``: saturated_fraction >= SATURATED_FRACTION;
* ``low_information``: entropy_bits < LOW_ENTROPY_BITS;
* ``truncated``: the file was cut short and only partly decoded (``notes``);
* ``small_frame``: width * height < SMALL_FRAME_AREA of the full frame.

A constant black frame is both ``black`` and ``blank`` (and ``low_information``)."""

DUPLICATE_DISTANCE = 10
"""Largest Hamming distance (of 64 bits) of two perceptual hashes in one duplicate group.
Measured on the snapshot's 110 real frames: a one-pixel-shifted (cropped or rolled),
resized (0.5x, 0.75x, 2x, 128 px) or re-encoded (JPEG q50, PNG) copy is 0-8 bits from its
original (mean 1-2); the 5,995 pairs of distinct frames are >= 12 bits apart (two pairs
of MAHLI frames of one target, 14 and 17 sols apart; then 16). phash distances are
nearly always even (32 of the 64 bits set, unless DCT terms tie), so 10 is the midpoint."""

HASH_DECODE_SIZE = 64
"""Smallest side (pixels) the hash decodes a JPEG at (Pillow draft mode); phash then
resizes to 32 x 32."""

_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_PILLOW_TRUNCATED = "image file is truncated"
_INT64_MASK = (1 << 64) - 1


def decode_small(data: bytes, size: tuple[int, int], mode: str | None = "L") -> Image.Image:
    """An 8-bit Pillow image of file bytes, decoded cheaply, in ``mode`` ("L", "RGB", or
    None: "L" for single-channel files, "RGB" for the others).

    JPEGs are decoded by libjpeg at the smallest scale (1, 1/2, 1/4 or 1/8) that is still at
    least ``size`` (w, h) (``Image.draft``); other formats are decoded whole. So the
    result is at least ``size`` unless the file is smaller, and never resized here.
    16-bit images keep their top 8 bits; modes as
    :func:`~mars_assets.imaging.decode.normalise_mode`.

    Raises:
        ImageDecodeError: as decode_image (empty, unknown, corrupt, truncated, too large).
    """
    return open_image(data, lambda img: _to_8bit(img, mode), draft=(mode or "RGB", size))


def _to_8bit(img: Image.Image, mode: str | None) -> Image.Image:
    src, _, _ = normalise_mode(img)
    if isinstance(src, np.ndarray):  # 16-bit plane: top 8 bits
        src = Image.fromarray((src >> 8).astype(np.uint8))
    return src.convert(mode or src.mode)  # a new image, independent of the file


def _truncated_jpeg(data: bytes, exc: ImageDecodeError) -> bool:
    """Whether ``exc`` is Pillow's "image file is truncated" for a JPEG (not a bad header)."""
    return data.startswith(_JPEG_SOI) and _PILLOW_TRUNCATED in str(exc)


def _decode_truncated(data: bytes, decode: Callable[[bytes], _T], allow: bool) -> tuple[_T, bool]:
    """``(decode(data), False)``, or for a truncated JPEG when ``allow``, ``(decode(data +
    end-of-image marker), True)``; the original ImageDecodeError if that fails too."""
    try:
        return decode(data), False
    except ImageDecodeError as exc:
        if not (allow and _truncated_jpeg(data, exc)):
            raise
        try:
            return decode(data + _JPEG_EOI), True
        except ImageDecodeError:
            raise exc from None


def statistics_allowing_truncation(data: bytes, *, radial_bins: int = 32) -> dict:
    """``statistics_from_bytes(data)``, except that a truncated JPEG is decoded as far as
    it goes (an end-of-image marker appended, as Pillow's LOAD_TRUNCATED_IMAGES does, but
    without that process-wide switch) and TRUNCATED_NOTE is added to ``notes``.

    Raises:
        ImageDecodeError: anything else statistics_from_bytes rejects (truncated PNGs, or
            JPEGs cut inside their header, too).
    """
    row, truncated = _decode_truncated(data, lambda b: statistics_from_bytes(b, radial_bins=radial_bins), True)
    if truncated:
        row["notes"] = "; ".join(n for n in (row["notes"], TRUNCATED_NOTE) if n)
    return row


def perceptual_hash(data: bytes, *, allow_truncated: bool = False) -> int:
    """The 64-bit ``imagehash.phash`` of image file bytes as a signed int64 Python int.

    The image is decoded small (:func:`decode_small`, 64 px for JPEGs) in gray; the
    hash's 8 x 8 bits are read row by row, most significant first (the order of
    ``str(imagehash.phash(...))``), and the unsigned value is wrapped to -2**63 .. 2**63-1
    so that it fits a Parquet int64 column (the first bit, phash's DC term, is set for
    practically every image but a black one, so real hashes are negative).
    ``allow_truncated``: hash a truncated JPEG as statistics_allowing_truncation decodes it.

    Raises:
        ImageDecodeError: undecodable bytes (truncated ones unless allow_truncated).
    """
    size = (HASH_DECODE_SIZE, HASH_DECODE_SIZE)
    gray, _ = _decode_truncated(data, lambda b: decode_small(b, size), allow_truncated)
    bits = imagehash.phash(gray).hash.reshape(-1)  # 64 bools
    return int.from_bytes(np.packbits(bits).tobytes(), "big", signed=True)


def hamming(a: int, b: int) -> int:
    """Number of differing bits (0..64) of two 64-bit hashes, signed or unsigned."""
    return ((a ^ b) & _INT64_MASK).bit_count()


def quality_flags(row: Mapping, full_frame: tuple[int, int] | None) -> list[str]:
    """The FLAGS that apply to one image-statistics row, in FLAGS order (``[]`` if none).

    ``row`` needs width, height, bit_depth, notes, gray_mean, gray_std, entropy_bits,
    saturated_fraction and black_fraction (levels in native units, see
    :mod:`mars_assets.imaging.stats`). ``full_frame``: the camera's full frame
    (width, height) in pixels, or None to skip ``small_frame``. Thresholds: FLAGS.
    """
    full = float((1 << int(row["bit_depth"])) - 1)
    flags = []
    if row["gray_mean"] / full < BLACK_MEAN or row["black_fraction"] >= BLACK_FRACTION:
        flags.append("black")
    if row["gray_std"] / full < BLANK_STD:
        flags.append("blank")
    if row["saturated_fraction"] >= SATURATED_FRACTION:
        flags.append("saturated")
    if row["entropy_bits"] < LOW_ENTROPY_BITS:
        flags.append("low_information")
    if "truncated" in (row.get("notes") or "").lower():
        flags.append("truncated")
    if full_frame is not None:
        fw, fh = full_frame
        if int(row["width"]) * int(row["height"]) < SMALL_FRAME_AREA * fw * fh:
            flags.append("small_frame")
    return flags


_PAIR_BLOCK = 1 << 22
"""Hash pairs compared per numpy step (~32 MB of uint64 XORs)."""


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (numpy >= 2 has bitwise_count; else a byte table)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[x.view(np.uint8).reshape(*x.shape, 8)].sum(axis=-1)


def duplicate_groups(items: Sequence[tuple[_K, int]], max_distance: int = DUPLICATE_DISTANCE) -> dict[_K, _K]:
    """Near-duplicate groups: ``{key: group}`` for every key whose frame has another
    within ``max_distance`` bits (perceptual_hash Hamming distance), transitively.

    ``items``: ``(key, hash)`` pairs with unique, mutually comparable keys; ``group`` is
    the smallest key of its connected component, and maps to itself. Keys without a near
    duplicate are omitted (``.get(key)`` is None). Pass one rover x camera x sol per
    call: the same target seen from the same place on other sols, which a timelapse
    wants, can be as close as a copy, and components chain (a slow pan is one group).
    All pairs are compared with numpy (n**2 / 2 XOR + popcount, in blocks), then
    ``scipy.sparse.csgraph.connected_components``: ~0.3 s for 5,000 hashes, ~2 s for 20,000.

    Raises:
        ValueError: duplicate keys, or max_distance outside 0..64.
    """
    if not 0 <= max_distance <= 64:
        raise ValueError(f"max_distance must be in 0..64, got {max_distance}")
    keys = [k for k, _ in items]
    n = len(keys)
    if len(set(keys)) != n:
        raise ValueError("duplicate_groups: keys must be unique")
    if n < 2:
        return {}
    hashes = np.array([h & _INT64_MASK for _, h in items], dtype=np.uint64)
    rows, cols = [], []
    step = max(1, _PAIR_BLOCK // n)
    for start in range(0, n - 1, step):
        block = hashes[start : start + step, None] ^ hashes[None, :]
        i, j = np.nonzero(_popcount(block) <= max_distance)
        i += start
        upper = j > i
        rows.append(i[upper])
        cols.append(j[upper])
    i, j = np.concatenate(rows), np.concatenate(cols)
    if i.size == 0:
        return {}
    graph = coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    members: dict[int, list[_K]] = {}
    for idx in np.flatnonzero(sizes[labels] > 1):
        members.setdefault(int(labels[idx]), []).append(keys[idx])
    return {k: min(group) for group in members.values() for k in group}
