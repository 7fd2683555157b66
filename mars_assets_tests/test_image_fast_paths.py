"""Tests for the fast paths of mars_assets.imaging (issue 5).

* statistics_from_bytes gives the same row as image_statistics(decode_image())
  for every pixel mode (gray, RGB, RGBA, palette, 16-bit, CMYK JPEG, ...);
* the FFT-based Laplacian variance equals scipy.ndimage.laplace(mode="reflect")
  on all shapes, including the tiny ones where the border is everything;
* radial bins stay exactly numpy's bins when rho falls on a bin edge;
* the RGB shortcuts (float moments, all-channels-at-0/255 by luma) are exact;
* statistics_for_many keeps order, returns decode errors as values and gives
  the same rows serially and on worker processes;
* memory: tracemalloc peak of image_statistics on a 1600x1200 RGB or gray image stays
  within 5.5x the decoded pixels (a memory bound, not a timing).

References are plain numpy/scipy code in this file, never the code under test.
"""

from __future__ import annotations

import io
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from mars_assets.imaging import (
    IMAGE_STATS_SCHEMA,
    DecodedImage,
    ImageDecodeError,
    ImageFile,
    ImageStatsPool,
    decode_image,
    image_statistics,
    statistics_for_many,
    statistics_from_bytes,
    to_pixels,
)
from mars_assets.imaging.gray import luma
from mars_assets.imaging.parallel import _chunks, work_estimate
from mars_assets.imaging.quality import TRUNCATED_NOTE, statistics_allowing_truncation
from mars_assets.imaging.spectrum import clear_caches
from mars_assets_tests.test_image_stats import luma32, luma_exact, reference_spectral

SNAPSHOT_IMAGES = Path(__file__).resolve().parents[1] / "mars_assets" / "snapshot" / "images"
RAW = SNAPSHOT_IMAGES / "mars-raw-utils"


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def reference_sharpness(gray01: np.ndarray) -> float:
    return float(np.var(scipy.ndimage.laplace(gray01.astype(np.float64), mode="reflect")))


def rng_image(seed: int, shape, dtype=np.uint8, high=256) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, size=shape, dtype=dtype)


def _blobs_of_every_mode() -> dict[str, bytes]:
    rgb = rng_image(1, (23, 31, 3))
    gray = rng_image(2, (19, 29))
    rgba = rng_image(3, (17, 13, 4))
    pal = Image.fromarray(rng_image(4, (21, 18, 3))).quantize(8)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 0
    gray16 = rng_image(5, (15, 22), np.uint16, 65536)
    la = np.dstack([gray[:, :10], gray[:, 10:20]])
    return {
        "gray-png": encode(Image.fromarray(gray), "PNG"),
        "gray-jpeg": encode(Image.fromarray(gray), "JPEG", quality=90),
        "rgb-png": encode(Image.fromarray(rgb), "PNG"),
        "rgb-jpeg": encode(Image.fromarray(rgb), "JPEG", quality=90),
        "rgba-png": encode(Image.fromarray(rgba), "PNG"),
        "palette-gif": encode(pal, "GIF"),
        "palette-transparent-png": encode(pal_t, "PNG"),
        "gray16-png": encode(Image.fromarray(gray16), "PNG"),
        "cmyk-jpeg": encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95),
        "la-png": encode(Image.fromarray(la), "PNG"),
        "one-bit-png": encode(Image.fromarray(gray > 127), "PNG"),
    }


EVERY_MODE = _blobs_of_every_mode()


# ------------------------------------------------- bytes path == DecodedImage path


@pytest.mark.parametrize("name", sorted(EVERY_MODE))
def test_statistics_from_bytes_equals_image_statistics_for_every_mode(name):
    blob = EVERY_MODE[name]
    expected = image_statistics(decode_image(blob))
    got = statistics_from_bytes(blob)
    assert got == expected
    assert list(got) == IMAGE_STATS_SCHEMA.names


def test_modes_reach_the_paths_they_are_meant_to():
    modes = {k: decode_image(v).mode for k, v in EVERY_MODE.items()}
    assert modes["cmyk-jpeg"] == "CMYK"
    assert modes["palette-gif"] == "P"
    assert modes["rgba-png"] == "RGBA"
    assert modes["gray16-png"] in ("I;16", "I")
    assert statistics_from_bytes(EVERY_MODE["gray16-png"])["bit_depth"] == 16
    assert statistics_from_bytes(EVERY_MODE["cmyk-jpeg"])["channels"] == 3


@pytest.mark.parametrize(
    "path",
    [
        RAW / "NRB_670586006EDR_S0871444NCAM00545M_.jpg",  # 1022x1022 gray JPEG
        RAW / "NLF_0670_0726421423_362ECM_N0320604NCAM08111_01_095J01.png",  # 1288x968 RGB
        RAW / "ZL0_0038_0670307360_057ECM_N0031392ZCAM08007_1100LUJ.png",  # 1648x1200 RGB
    ],
    ids=lambda p: p.name[:3],
)
def test_real_rover_images_bytes_path_and_reference_spectrum(path):
    if not path.exists():
        pytest.skip("snapshot image not present")
    blob = path.read_bytes()
    img = decode_image(blob)
    s = statistics_from_bytes(blob)
    assert s == image_statistics(img)
    px = img.pixels
    g01 = (luma32(px) if px.ndim == 3 else px.astype(np.float32)) / np.float32(255)
    ref = reference_spectral(g01, 32)
    # 1648 columns put rho exactly on bin edges: a bin rounding slip moves
    # whole columns between bins, far beyond this tolerance.
    np.testing.assert_allclose(s["radial_power"], ref["radial_power"], rtol=1e-4)
    assert s["hf_energy_fraction"] == pytest.approx(ref["hf_energy_fraction"], rel=1e-4)
    assert s["fft_mean_magnitude"] == pytest.approx(ref["fft_mean_magnitude"], rel=1e-4)
    assert s["sharpness"] == pytest.approx(reference_sharpness(g01), rel=1e-4)


@pytest.mark.parametrize("shape", [(8, 824), (6, 1648), (824, 8), (12, 100)])
def test_radial_bins_match_numpy_when_rho_sits_on_bin_edges(shape):
    g = rng_image(sum(shape), shape)
    s = image_statistics(to_pixels(Image.fromarray(g)))
    ref = reference_spectral(g.astype(np.float32) / np.float32(255), 32)
    np.testing.assert_allclose(s["radial_power"], ref["radial_power"], rtol=1e-4, atol=1e-9 * ref["radial_power"].max())


# ------------------------------------------------------------ Laplacian variance


@pytest.mark.parametrize(
    "shape",
    [(1, 1), (1, 7), (7, 1), (2, 2), (2, 9), (9, 2), (3, 3), (3, 10), (5, 8), (31, 17), (64, 64)],
)
def test_fft_laplacian_variance_equals_scipy_reflect_laplace_on_every_shape(shape):
    g = rng_image(shape[0] * 100 + shape[1], shape)
    s = image_statistics(to_pixels(Image.fromarray(g)))
    ref = reference_sharpness(g / 255.0)
    assert s["sharpness"] == pytest.approx(ref, rel=1e-4, abs=1e-12)


def test_fft_laplacian_variance_on_smooth_image_with_strong_borders():
    # A smooth ramp: the periodic Laplacian is dominated by the wrap-around
    # jump at the borders, which the reflect-mode correction must remove.
    yy, xx = np.mgrid[0:120, 0:200]
    ramp = (0.5 * xx + 0.3 * yy + 10 * np.sin(xx / 17.0)).astype(np.float64)
    g = np.rint(ramp / ramp.max() * 65535).astype(np.uint16)
    s = image_statistics(to_pixels(Image.fromarray(g)))
    assert s["sharpness"] == pytest.approx(reference_sharpness(g / 65535.0), rel=1e-4)


def test_sharpness_of_rgb_matches_laplace_of_float_luma():
    rgb = rng_image(11, (40, 57, 3))
    s = image_statistics(to_pixels(Image.fromarray(rgb)))
    assert s["sharpness"] == pytest.approx(reference_sharpness(luma32(rgb) / np.float32(255)), rel=1e-4)


# ---------------------------------------------------------------- RGB shortcuts


def all_24_bit_triples() -> np.ndarray:
    """(4096, 4096, 3) uint8 holding every RGB triple once, pixel index R*65536 + G*256 + B."""
    v = np.arange(1 << 24, dtype=np.uint32)
    return np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8).reshape(4096, 4096, 3)


def test_luma_is_pillows_convert_f_and_reaches_0_and_255_only_for_black_and_white():
    rgb = all_24_bit_triples()
    y = luma(rgb)
    # the decoder path (Pillow's convert("F")) and the array path agree bit for bit
    assert np.array_equal(np.asarray(Image.fromarray(rgb, "RGB").convert("F")), y)
    assert np.array_equal(y, luma32(rgb))
    flat = y.ravel()
    assert np.flatnonzero(flat == np.float32(255.0)).tolist() == [256**3 - 1]
    assert np.flatnonzero(flat == np.float32(0.0)).tolist() == [0]
    assert flat.max() == np.float32(255.0)


def test_rgb_saturated_and_black_fractions_count_only_all_channel_pixels():
    rgb = np.full((10, 10, 3), 128, dtype=np.uint8)
    rgb[0, :4] = 255  # 4 white
    rgb[1, :3] = (254, 255, 255)  # rounds to luma 255 but is not white
    rgb[2, :2] = 0  # 2 black
    rgb[3, :5] = (0, 0, 1)  # each channel reaches 0, not all at once
    rgb[4, 0] = (255, 0, 255)
    s = statistics_from_bytes(encode(Image.fromarray(rgb), "PNG"))
    assert s["saturated_fraction"] == 4 / 100
    assert s["black_fraction"] == 2 / 100
    assert s == image_statistics(to_pixels(Image.fromarray(rgb)))


def test_gray_moments_of_nearly_constant_rgb_stay_accurate():
    rgb = np.full((64, 64, 3), (201, 77, 13), dtype=np.uint8)
    rgb[5, 7] = (202, 77, 13)
    s = image_statistics(to_pixels(Image.fromarray(rgb)))
    # the std is that of the float32 luma, from its spectrum (Parseval); here the
    # float32 rounding of the luma itself moves it by ~1e-5 from the exact luma's
    assert s["gray_std"] == pytest.approx(luma32(rgb).astype(np.float64).std(), rel=1e-6)
    assert s["gray_std"] == pytest.approx(luma_exact(rgb).std(), rel=1e-4)
    assert s["gray_mean"] == pytest.approx(luma_exact(rgb).mean(), rel=1e-12)
    const = image_statistics(to_pixels(Image.fromarray(np.full((9, 9, 3), 77, np.uint8))))
    assert const["gray_std"] == 0.0 and const["sharpness"] == 0.0


@pytest.mark.parametrize(
    "shape",
    [(37, 53), (53, 37, 3), (2100, 2101, 3), (4200, 4099)],
    ids=["gray-odd", "rgb-odd", "rgb-luma-over-16MiB", "gray-over-16MiB"],
)
def test_bytes_path_equals_decoded_path_with_and_without_zero_copy_views(shape):
    # Pillow exports an image zero-copy only when it is one memory block (16 MiB);
    # larger luma / gray images take the copying fallback. Both must give the same row.
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    base = ((xx * 7 + yy * 3) % 251).astype(np.uint8)
    arr = np.dstack([base, base[::-1], base[:, ::-1]]) if len(shape) == 3 else base
    arr = np.ascontiguousarray(arr)
    arr[::97, ::89] = 255  # a few saturated pixels
    blob = encode(Image.fromarray(arr), "PNG")
    assert statistics_from_bytes(blob) == image_statistics(decode_image(blob))


def test_non_contiguous_pixels_give_the_same_row_as_a_contiguous_copy():
    big = rng_image(12, (30, 40, 3))
    view = big[::2, 1::3]
    assert not view.flags.c_contiguous
    a = image_statistics(DecodedImage(view, "RGB", 8, view.shape[1], view.shape[0]))
    b = image_statistics(DecodedImage(view.copy(), "RGB", 8, view.shape[1], view.shape[0]))
    assert a == b
    gview = big[::2, 1::3, 1]
    c = image_statistics(DecodedImage(gview, "L", 8, gview.shape[1], gview.shape[0]))
    d = image_statistics(DecodedImage(gview.copy(), "L", 8, gview.shape[1], gview.shape[0]))
    assert c == d


def _rotated_statistics(images: list[DecodedImage], k: int, results: dict[int, list[dict]]) -> None:
    results[k] = [image_statistics(images[(k + j) % 6]) for j in range(12)]


def test_threads_with_different_shapes_do_not_share_scratch():
    images = [to_pixels(Image.fromarray(rng_image(i, (20 + 7 * i, 30 + 5 * i, 3)))) for i in range(6)]
    expected = [image_statistics(im) for im in images]
    results: dict[int, list[dict]] = {}
    threads = [threading.Thread(target=_rotated_statistics, args=(images, k, results)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, rows in results.items():
        assert rows == [expected[(k + j) % 6] for j in range(12)]


# ------------------------------------------------------------------------ memory


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_tracemalloc_peak_of_statistics_stays_within_5_5x_decoded_pixels(mode):
    src = RAW / "ZL0_0038_0670307360_057ECM_N0031392ZCAM08007_1100LUJ.png"
    if src.exists():
        px = np.asarray(Image.open(src).convert(mode))[:1200, :1600]
    else:  # pragma: no cover - snapshot always ships
        px = rng_image(13, (1200, 1600, 3) if mode == "RGB" else (1200, 1600))
    img = to_pixels(Image.fromarray(np.ascontiguousarray(px)))
    assert img.pixels.shape[:2] == (1200, 1600)
    # no float32 copy of a gray image and no per-shape Laplacian table: the
    # complex64 half-spectrum (~4 bytes per pixel) is most of it (gray 5.0x, RGB 3.7x)
    clear_caches()  # count the per-shape caches and scratch buffers too
    tracemalloc.start()
    try:
        image_statistics(img)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak / img.pixels.nbytes <= 5.5


# ------------------------------------------------------------ statistics_for_many


def _mixed_blobs() -> list[bytes]:
    good = [EVERY_MODE[k] for k in sorted(EVERY_MODE)]
    truncated = EVERY_MODE["rgb-jpeg"][: len(EVERY_MODE["rgb-jpeg"]) // 2]
    return [good[0], b"", good[1], b"not an image at all", *good[2:], truncated, good[3]]


def test_statistics_for_many_serial_keeps_order_and_returns_decode_errors():
    blobs = _mixed_blobs()
    out = statistics_for_many(blobs, workers=1)
    assert len(out) == len(blobs)
    for blob, r in zip(blobs, out, strict=True):
        try:
            expected = statistics_allowing_truncation(blob)
        except ImageDecodeError as exc:
            assert isinstance(r, ImageDecodeError)
            assert str(r) == str(exc)
        else:
            assert r == expected
    assert isinstance(out[1], ImageDecodeError) and "empty" in str(out[1])
    assert isinstance(out[3], ImageDecodeError) and "unrecognised" in str(out[3])
    # the whole files: statistics_from_bytes' rows exactly
    assert out[0] == statistics_from_bytes(blobs[0]) and out[-1] == statistics_from_bytes(blobs[-1])


def test_statistics_for_many_decodes_a_truncated_jpeg_as_far_as_it_goes_and_says_so():
    truncated = _mixed_blobs()[-2]
    with pytest.raises(ImageDecodeError, match="truncated"):
        statistics_from_bytes(truncated)  # the strict decode refuses it
    (row,) = statistics_for_many([truncated], workers=1)
    assert isinstance(row, dict) and TRUNCATED_NOTE in row["notes"]
    assert sum(row["gray_hist"]) == row["width"] * row["height"]  # the whole frame, missing rows filled


def test_statistics_for_many_on_processes_equals_serial():
    blobs = _mixed_blobs() * 3
    serial = statistics_for_many(blobs, workers=1)
    parallel = statistics_for_many(blobs, workers=2, min_parallel_bytes=0, chunksize=2)
    assert len(parallel) == len(blobs)
    for a, b in zip(serial, parallel, strict=True):
        if isinstance(a, ImageDecodeError):
            assert isinstance(b, ImageDecodeError) and str(a) == str(b)
        else:
            assert a == b


def test_work_estimate_reads_pixels_and_bands_from_the_header():
    gray = encode(Image.fromarray(rng_image(1, (300, 200))), "PNG")
    rgb = encode(Image.fromarray(rng_image(2, (300, 200, 3))), "JPEG", quality=50)
    small_rgb = encode(Image.fromarray(rng_image(3, (30, 20, 3))), "PNG")
    fixed = work_estimate(b"not an image")
    assert fixed > 0 and work_estimate(b"") == fixed
    assert work_estimate(gray) == 300 * 200 + fixed
    assert work_estimate(rgb) == 300 * 200 * 3 // 2 + fixed  # compressed size plays no part
    assert fixed < work_estimate(small_rgb) < work_estimate(gray) < work_estimate(rgb)


@pytest.mark.parametrize("n, workers", [(1, 2), (5, 2), (12, 2), (33, 2), (40, 3), (300, 2)])
def test_chunks_give_every_worker_the_same_number_of_equal_chunks(n, workers):
    work = [1_000_000] * n  # equal images, whatever their compressed size
    sizes = [100_000 + 7919 * i % 50_000 for i in range(n)]
    chunks = _chunks(work, sum(sizes), workers, max_blobs=32, max_bytes=32 << 20)
    assert sorted(i for c in chunks for i in c) == list(range(n))
    assert all(c == sorted(c) for c in chunks)
    assert len(chunks) == min(n, -(-max(4 * workers, -(-n // 32)) // workers) * workers)
    counts = [len(c) for c in chunks]
    assert max(counts) - min(counts) <= 1 and max(counts) <= 32


def test_chunks_balance_mixed_work_largest_first():
    work = [9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1] * 2
    chunks = _chunks(work, len(work), 2, max_blobs=32, max_bytes=1 << 30)
    loads = [sum(work[i] for i in c) for c in chunks]
    assert len(chunks) == 8 and max(loads) - min(loads) <= 1  # LPT on this input is this close
    # max_blobs raises the number of chunks (10, not 8); equal work is dealt round the chunks
    assert _chunks([5] * 20, 20, 2, max_blobs=2, max_bytes=1 << 30) == [[i, i + 10] for i in range(10)]
    assert len(_chunks([5] * 20, 20 << 20, 2, max_blobs=32, max_bytes=2 << 20)) == 10  # and max_bytes
    # one costly frame and many cheap thumbnails: the cap on blobs per chunk still holds
    chunks = _chunks([10_000] + [1] * 99, 100, 2, max_blobs=13, max_bytes=1 << 30)
    assert max(len(c) for c in chunks) <= 13 and sorted(i for c in chunks for i in c) == list(range(100))


def test_pool_results_come_back_in_input_order_from_chunks_that_interleave():
    # sizes that make LPT deal the blobs out of order: the results must still follow the input
    blobs = [encode(Image.fromarray(rng_image(10 + i, (40 + 9 * (i % 5), 50), high=200)), "PNG") for i in range(13)]
    blobs.insert(4, b"junk")
    with ImageStatsPool(workers=2) as pool:
        out = pool.statistics(blobs)
    assert isinstance(out[4], ImageDecodeError)
    assert [r["height"] for i, r in enumerate(out) if i != 4] == [40 + 9 * (i % 5) for i in range(13)]
    assert out[7] == statistics_from_bytes(blobs[7])


def test_image_stats_pool_is_reusable_and_handles_empty_input():
    blobs = [EVERY_MODE["rgb-png"], EVERY_MODE["gray16-png"], b"junk"]
    with ImageStatsPool(workers=2) as pool:
        assert pool.statistics([]) == []
        first = pool.statistics(blobs)
        second = pool.statistics(blobs, radial_bins=8)
    assert first[0] == statistics_from_bytes(blobs[0])
    assert len(second[1]["radial_power"]) == 8
    assert isinstance(first[2], ImageDecodeError)


def test_image_files_are_read_by_the_process_that_computes_them(tmp_path):
    blobs = _mixed_blobs()
    files = []
    for i, blob in enumerate(blobs):
        (tmp_path / f"{i}.img").write_bytes(blob)
        files.append(ImageFile.at(tmp_path / f"{i}.img"))
    assert [len(f) for f in files] == [len(b) for b in blobs]  # byte totals count the files' sizes
    assert [work_estimate(f) for f in files] == [work_estimate(b) for b in blobs]
    assert work_estimate(ImageFile(str(tmp_path / "gone.jpg"), 10)) == work_estimate(b"")
    expected = statistics_for_many(blobs, workers=1)
    for out in (
        statistics_for_many(files, workers=1),
        statistics_for_many(files, workers=2, min_parallel_bytes=0, chunksize=2),
        statistics_for_many([*files[:3], *blobs[3:]], workers=2, min_parallel_bytes=0),
    ):  # mixed
        assert [str(r) if isinstance(r, ImageDecodeError) else r for r in out] == [
            str(r) if isinstance(r, ImageDecodeError) else r for r in expected
        ]
    # a file that is gone is an error of the caller's, raised (not a decode error, not skipped)
    gone = ImageFile(str(tmp_path / "gone.jpg"), 10)
    with pytest.raises(FileNotFoundError):
        statistics_for_many([files[0], gone], workers=1)
    with ImageStatsPool(workers=2) as pool, pytest.raises(FileNotFoundError):
        pool.statistics([files[0], gone, files[2]])


def test_statistics_for_many_validates_arguments_before_work():
    with pytest.raises(ValueError):
        statistics_for_many([b"x"], workers=0)
    with pytest.raises(ValueError):
        statistics_for_many([b"x"], radial_bins=0)
    with pytest.raises(ValueError):
        statistics_for_many([b"x"], chunksize=0)
    assert statistics_for_many([]) == []
