"""Quality flags, perceptual hashes and near-duplicate groups (mars_assets.imaging.quality)
on constructed images and on the real rover frames of the bundled snapshot."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image

from mars_assets.imaging.decode import ImageDecodeError
from mars_assets.imaging.quality import (
    DUPLICATE_DISTANCE,
    FLAGS,
    TRUNCATED_NOTE,
    decode_small,
    duplicate_groups,
    hamming,
    perceptual_hash,
    quality_flags,
    statistics_allowing_truncation,
)
from mars_assets.imaging.stats import statistics_from_bytes

SNAPSHOT_IMAGES = Path(__file__).resolve().parents[1] / "mars_assets" / "snapshot" / "images"
BROWSE = SNAPSHOT_IMAGES / "msl_deep_mars_browse"
#: Curiosity Mastcam left (sol 50), a 256 x 256 colour browse JPEG.
MASTCAM = BROWSE / "0050ML0002300290102177E01_DRCL.JPG"
#: Perseverance Mastcam-Z left (sol 38), a full 1648 x 1200 frame (PNG).
MASTCAM_Z = SNAPSHOT_IMAGES / "mars-raw-utils" / "ZL0_0038_0670307360_057ECM_N0031392ZCAM08007_1100LUJ.png"
#: Curiosity Navcam right, a full 1022 x 1022 frame (gray JPEG).
NAVCAM = SNAPSHOT_IMAGES / "mars-raw-utils" / "NRB_670586006EDR_S0871444NCAM00545M_.jpg"


def encode(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def real(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB") if img.mode not in ("L", "RGB") else img.copy()


def flags_of(data: bytes, full_frame=None) -> list[str]:
    return quality_flags(statistics_from_bytes(data), full_frame)


def shifted(img: Image.Image) -> Image.Image:
    """The frame moved one pixel right (the first column repeated, the last dropped)."""
    px = np.asarray(img)
    return Image.fromarray(np.concatenate([px[:, :1], px[:, :-1]], axis=1))


def copies(img: Image.Image) -> dict[str, bytes]:
    """Re-encoded copies that are the same picture: shifted by one pixel, resized."""
    w, h = img.size
    return {
        "shift_x": encode(shifted(img), quality=85),
        "crop_y": encode(img.crop((0, 1, w, h)), quality=85),
        "half": encode(img.resize((w // 2, h // 2), Image.Resampling.LANCZOS), quality=85),
        "three_quarters": encode(img.resize((w * 3 // 4, h * 3 // 4), Image.Resampling.BILINEAR), quality=85),
        "double": encode(img.resize((w * 2, h * 2), Image.Resampling.BICUBIC), quality=85),
    }


def test_real_frames_have_no_flags():
    for path in (MASTCAM, MASTCAM_Z, NAVCAM, *sorted(BROWSE.glob("*.JPG"))[::10]):
        assert flags_of(path.read_bytes()) == [], path.name


def test_black_gray_and_white_frames_are_flagged():
    size = (320, 240)
    assert flags_of(encode(Image.new("L", size, 0))) == ["black", "blank", "low_information"]
    assert flags_of(encode(Image.new("RGB", size, (128, 128, 128)))) == ["blank", "low_information"]
    assert flags_of(encode(Image.new("RGB", size, (255, 255, 255)), "PNG")) == [
        "blank",
        "saturated",
        "low_information",
    ]
    assert set(flags_of(encode(Image.new("L", size, 0)))) <= set(FLAGS)


def test_dark_noisy_frame_is_black_but_not_blank():
    rng = np.random.default_rng(3)
    dark = Image.fromarray(rng.integers(0, 9, (240, 320), dtype=np.uint8))
    flags = flags_of(encode(dark, "PNG"))
    assert "black" in flags and "blank" not in flags


def test_thresholds_follow_the_bit_depth():
    rng = np.random.default_rng(4)
    # levels 0..1000 of 65535: dark at 16 bits although far above 8-bit black
    low = rng.integers(0, 1000, (200, 300), dtype=np.uint16)
    row = statistics_from_bytes(encode(Image.fromarray(low), "PNG"))
    assert row["bit_depth"] == 16
    assert "black" in quality_flags(row, None)
    mid = (low.astype(np.uint32) * 40 + 10_000).astype(np.uint16)  # 10,000..50,000: a normal frame
    assert quality_flags(statistics_from_bytes(encode(Image.fromarray(mid), "PNG")), None) == []


def test_mostly_white_frame_is_saturated_but_not_blank():
    px = np.asarray(real(MASTCAM)).copy()
    px[: px.shape[0] * 3 // 4] = 255  # the top three quarters blown out
    flags = flags_of(encode(Image.fromarray(px), "PNG"))
    assert "saturated" in flags and "blank" not in flags and "black" not in flags


def test_thumbnail_filed_as_full_frame_is_small_frame():
    full = real(MASTCAM_Z)
    camera = full.size  # 1648 x 1200, Mastcam-Z's full frame
    assert flags_of(MASTCAM_Z.read_bytes(), camera) == []
    half = encode(full.resize((camera[0] // 2 + 2, camera[1] // 2 + 2)), quality=90)  # just over 1/4 of the area
    assert flags_of(half, camera) == []
    thumb = encode(full.resize((camera[0] // 4, camera[1] // 4)), quality=90)
    assert flags_of(thumb, camera) == ["small_frame"]
    assert flags_of(thumb, None) == []  # unknown camera frame: not judged


def test_truncated_jpeg_is_decoded_partly_and_flagged_truncated():
    data = MASTCAM.read_bytes()
    cut = data[: len(data) * 2 // 3]
    with pytest.raises(ImageDecodeError, match="truncated"):
        statistics_from_bytes(cut)  # the statistics path rejects it
    row = statistics_allowing_truncation(cut)
    assert TRUNCATED_NOTE in row["notes"]
    assert (row["width"], row["height"]) == (256, 256)
    assert "truncated" in quality_flags(row, None)
    # a whole file is untouched
    assert statistics_allowing_truncation(data)["notes"] == ""
    assert "truncated" not in quality_flags(statistics_allowing_truncation(data), None)


def test_truncated_png_and_jpeg_header_stay_undecodable():
    png = MASTCAM_Z.read_bytes()
    with pytest.raises(ImageDecodeError):
        statistics_allowing_truncation(png[: len(png) // 2])
    with pytest.raises(ImageDecodeError):
        statistics_allowing_truncation(MASTCAM.read_bytes()[:100])  # cut inside the header


def test_perceptual_hash_is_imagehash_phash_as_signed_int64():
    data = MASTCAM.read_bytes()
    h = perceptual_hash(data)
    assert -(1 << 63) <= h < 1 << 63
    expected = int(str(imagehash.phash(decode_small(data, (64, 64)))), 16)
    assert h & ((1 << 64) - 1) == expected
    assert perceptual_hash(data) == h  # deterministic
    hashes = [perceptual_hash(p.read_bytes()) for p in sorted(BROWSE.glob("*.JPG"))]
    # the first bit is phash's DC term, always above the median: every hash is negative
    assert all(-(1 << 63) <= x < 0 for x in hashes)
    assert len(set(hashes)) == len(hashes)
    assert np.array(hashes, dtype=np.int64).tolist() == hashes  # fits an int64 column


def test_perceptual_hash_decodes_jpeg_small():
    small = decode_small(NAVCAM.read_bytes(), (64, 64))
    assert small.mode == "L" and small.size == (128, 128)  # libjpeg's 1/8 scale of 1022 px
    assert decode_small(MASTCAM_Z.read_bytes(), (64, 64), None).size == (1648, 1200)  # PNG: whole


def test_perceptual_hash_rejects_undecodable_bytes():
    for bad in (b"", b"not an image at all", MASTCAM.read_bytes()[:200]):
        with pytest.raises(ImageDecodeError):
            perceptual_hash(bad)
    cut = MASTCAM.read_bytes()[:6000]
    with pytest.raises(ValueError, match="truncated"):
        perceptual_hash(cut)
    assert isinstance(perceptual_hash(cut, allow_truncated=True), int)


def test_hamming_counts_differing_bits_of_signed_hashes():
    assert hamming(0, 0) == 0
    assert hamming(-1, 0) == 64
    assert hamming(-1, (1 << 64) - 1) == 0  # signed and unsigned spellings of one hash
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(-(1 << 63), 0) == 1


def test_shifted_and_resized_copies_of_a_real_mastcam_frame_group_with_it():
    original = real(MASTCAM)
    items = [("a_original", perceptual_hash(MASTCAM.read_bytes()))]
    items += [(f"b_{name}", perceptual_hash(data)) for name, data in copies(original).items()]
    others = [p for p in sorted(BROWSE.glob("*M[LR]0*.JPG")) if p != MASTCAM][:12]
    items += [(p.name, perceptual_hash(p.read_bytes())) for p in others]
    groups = duplicate_groups(items)
    copies_keys = [k for k, _ in items if k.startswith(("a_", "b_"))]
    assert {k: groups.get(k) for k in copies_keys} == dict.fromkeys(copies_keys, "a_original")
    assert not any(p.name in groups for p in others)


def test_copies_are_within_and_distinct_mastcam_frames_beyond_the_threshold():
    """The evidence for DUPLICATE_DISTANCE on every Curiosity Mastcam browse frame."""
    paths = sorted(BROWSE.glob("*M[LR]0*.JPG"))
    assert len(paths) >= 60
    hashes = {p: perceptual_hash(p.read_bytes()) for p in paths}
    copy_distance = max(
        hamming(hashes[p], perceptual_hash(data)) for p in paths[::4] for data in copies(real(p)).values()
    )
    distinct = min(hamming(hashes[a], hashes[b]) for a, b in itertools.combinations(paths, 2))
    assert copy_distance <= DUPLICATE_DISTANCE < distinct
    assert duplicate_groups([(p.name, h) for p, h in hashes.items()]) == {}


def test_duplicate_groups_are_connected_components_keyed_by_smallest_key():
    base = 0x0F0F_0F0F_0F0F_0F0F
    items = [
        (5, base),
        (3, base ^ 0b111),  # 3 bits from 5
        (9, base ^ 0b111_111),  # 3 bits from 3, 6 from 5: joined through 3
        (7, ~base),  # far from all
        (1, ~base ^ 1),  # 1 bit from 7
        (8, 0x1234_5678_9ABC_DEF0),
    ]
    assert duplicate_groups(items, max_distance=3) == {5: 3, 3: 3, 9: 3, 7: 1, 1: 1}
    assert duplicate_groups(items, max_distance=0) == {}
    assert duplicate_groups([]) == {} and duplicate_groups([("x", 1)]) == {}


def test_duplicate_groups_match_brute_force_on_many_hashes():
    rng = np.random.default_rng(11)
    seeds = rng.integers(-(1 << 63), (1 << 63) - 1, 40, dtype=np.int64)
    hashes = []
    for s in seeds:  # clusters of near copies around random hashes
        for _ in range(rng.integers(1, 6)):
            flips = rng.choice(64, rng.integers(0, 5), replace=False)
            hashes.append(int(s) ^ sum(1 << int(b) for b in flips))
    items = list(enumerate(hashes))
    # brute force: union-find over all pairs
    parent = list(range(len(items)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(items)), 2):
        if hamming(hashes[i], hashes[j]) <= 4:
            parent[find(j)] = find(i)
    comps: dict[int, list[int]] = {}
    for i in range(len(items)):
        comps.setdefault(find(i), []).append(i)
    expected = {i: min(c) for c in comps.values() if len(c) > 1 for i in c}
    assert duplicate_groups(items, max_distance=4) == expected


def test_duplicate_groups_reject_repeated_keys_and_bad_distances():
    with pytest.raises(ValueError, match="unique"):
        duplicate_groups([("a", 1), ("a", 2)])
    with pytest.raises(ValueError):
        duplicate_groups([("a", 1), ("b", 2)], max_distance=65)
