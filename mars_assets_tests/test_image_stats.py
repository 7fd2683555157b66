"""Tests for mars_assets.imaging.stats (decode + per-image statistics).

Expected values are either worked out by hand (written next to the assertion)
or come from a deliberately plain reference implementation in this file
(np.histogram, np.percentile, full complex np.fft.fft2), never from the code
under test.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import scipy.ndimage
import scipy.stats
from PIL import Image, ImageFile

from mars_assets.imaging import (
    HF_CUTOFF_RHO,
    IMAGE_STATS_SCHEMA,
    STATS_VERSION,
    DecodedImage,
    ImageDecodeError,
    decode_image,
    image_statistics,
    log_magnitude_spectrum,
    to_pixels,
)

SNAPSHOT_IMAGES = Path(__file__).resolve().parents[1] / "mars_assets" / "snapshot" / "images"


# ----------------------------------------------------------------------- helpers


def decoded(arr: np.ndarray) -> DecodedImage:
    return to_pixels(Image.fromarray(arr))


def stats(arr: np.ndarray, **kw) -> dict:
    return image_statistics(decoded(arr), **kw)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def luma_exact(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma (299 R + 587 G + 114 B) / 1000 in float64 (exact to float64 rounding)."""
    i = rgb.astype(np.int64)
    return (299 * i[..., 0] + 587 * i[..., 1] + 114 * i[..., 2]) / 1000.0


def luma32(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in float32 as documented: the exact integer sum, one rounded division."""
    i = rgb.astype(np.int64)
    return (299 * i[..., 0] + 587 * i[..., 1] + 114 * i[..., 2]).astype(np.float32) / np.float32(1000)


def sinusoid_x(k: int, size: int = 64) -> np.ndarray:
    """uint8 image, cosine along x with k cycles over the width, constant along y."""
    x = np.arange(size)
    row = np.rint(127.5 + 127.5 * np.cos(2 * np.pi * k * x / size)).astype(np.uint8)
    return np.tile(row, (size, 1))


def reference_spectral(gray01: np.ndarray, nbins: int) -> dict:
    """Straightforward full-fft2 versions of the spectral measures (float64)."""
    h, w = gray01.shape
    g = gray01.astype(np.float64)
    fft_mean = float(np.abs(np.fft.fft2(gray01)).mean())
    power = np.abs(np.fft.fft2(g - g.mean())) ** 2
    power[0, 0] = 0.0  # mean-subtracted: DC is zero by definition (here ~1e-30)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    rho = np.broadcast_to(np.sqrt(fy**2 + fx**2) / 0.5, power.shape)
    edges = np.linspace(0.0, 1.0, nbins + 1)
    sums, _ = np.histogram(rho, bins=edges, weights=power)
    counts, _ = np.histogram(rho, bins=edges)
    radial = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    freq = 0.5 * (edges[:-1] + edges[1:]) / 2
    ok = radial > 0
    slope = np.polyfit(np.log10(freq[ok]), np.log10(radial[ok]), 1)[0]
    hf = power[rho > HF_CUTOFF_RHO].sum() / power.sum()
    return {
        "fft_mean_magnitude": fft_mean,
        "radial_power": radial,
        "radial_frequency": freq,
        "spectral_slope": slope,
        "hf_energy_fraction": hf,
    }


# ------------------------------------------------------------------ hand-checked


def test_constant_image_has_zero_spread_and_only_dc_in_spectrum():
    c = 100
    s = stats(np.full((32, 48), c, dtype=np.uint8))
    assert s["gray_std"] == 0.0
    assert s["contrast"] == 0.0
    assert s["entropy_bits"] == 0.0
    assert s["sharpness"] == 0.0
    assert s["hf_energy_fraction"] == 0.0
    assert s["gray_hist"][c] == 32 * 48
    assert sum(s["gray_hist"]) == 32 * 48
    assert (s["gray_min"], s["gray_max"], s["gray_p50"]) == (100.0, 100.0, 100.0)
    assert s["brightness"] == 100.0
    assert s["brightness_norm"] == pytest.approx(100 / 255)
    # Only the DC term is non-zero: F[0,0] = sum of pixels = (c/255) * H * W,
    # so mean |F| over the H*W coefficients is c/255.
    assert s["fft_mean_magnitude"] == pytest.approx(c / 255, rel=1e-6)
    # Mean-subtracted spectrum is exactly zero: no NaNs, all bins 0, no slope.
    assert s["radial_power"] == [0.0] * 32
    assert s["spectral_slope"] is None
    assert (s["saturated_fraction"], s["black_fraction"]) == (0.0, 0.0)


def test_tiny_rgb_channel_stats_and_bt601_luma_match_hand_values():
    r = np.array([[0, 10, 20], [30, 40, 50]], dtype=np.uint8)
    g = np.full((2, 3), 100, dtype=np.uint8)
    b = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    s = stats(np.dstack([r, g, b]))
    assert (s["channels"], s["width"], s["height"], s["mode"]) == (3, 3, 2, "RGB")
    # red: mean 25; deviations +-5, +-15, +-25 -> var (2*(25+225+625))/6 = 291.67
    assert s["red_mean"] == pytest.approx(25.0)
    assert s["red_std"] == pytest.approx(math.sqrt(1750 / 6))
    assert (s["red_min"], s["red_max"]) == (0.0, 50.0)
    # inverted-CDF percentiles of {0,10,20,30,40,50}: q*N = 0.06, 3, 5.94
    assert (s["red_p01"], s["red_p50"], s["red_p99"]) == (0.0, 20.0, 50.0)
    assert (s["green_mean"], s["green_std"]) == (100.0, 0.0)
    assert (s["blue_mean"], s["blue_std"]) == (127.5, 127.5)
    # luma of pixel (0,0) = 0.587*100 = 58.7 (the darkest);
    # pixel (1,2) = 0.299*50 + 0.587*100 + 0.114*255 = 14.95 + 58.7 + 29.07 = 102.72
    assert s["gray_min"] == pytest.approx(58.7, rel=1e-6)
    assert s["gray_max"] == pytest.approx(102.72, rel=1e-6)
    # mean luma = 0.299*25 + 0.587*100 + 0.114*127.5 = 80.71
    assert s["gray_mean"] == pytest.approx(80.71, rel=1e-6)
    assert s["brightness"] == s["gray_mean"]
    # no pixel has all three channels at 0 or at 255
    assert (s["black_fraction"], s["saturated_fraction"]) == (0.0, 0.0)


def test_single_bright_pixel_sharpness_is_laplacian_variance_by_hand():
    a = np.zeros((8, 8), dtype=np.uint8)
    a[4, 4] = 255
    # Laplacian of the normalised image: -4 at the pixel, +1 at its 4
    # neighbours, 0 elsewhere -> mean 0, variance (16 + 4) / 64.
    assert stats(a)["sharpness"] == pytest.approx(20 / 64, rel=1e-6)


def test_ramp_histogram_has_one_count_per_level_per_row_and_p50_is_127():
    rows = 4
    ramp = np.tile(np.arange(256, dtype=np.uint8), (rows, 1))
    s = stats(ramp)
    assert s["gray_hist"] == [rows] * 256
    # inverted CDF: smallest v with (v+1)*rows >= q*256*rows
    assert s["gray_p50"] == 127.0
    assert s["gray_p01"] == 2.0  # (v+1) >= 2.56
    assert s["gray_p99"] == 253.0  # (v+1) >= 253.44
    assert [s["gray_p01"], s["gray_p50"], s["gray_p99"]] == list(
        np.percentile(ramp, [1, 50, 99], method="inverted_cdf").astype(float)
    )
    assert s["gray_mean"] == 127.5
    assert s["gray_std"] == pytest.approx(math.sqrt((256**2 - 1) / 12))
    assert s["entropy_bits"] == pytest.approx(8.0)


# ----------------------------------------------------------------------- spectra


def test_sinusoid_power_peaks_in_bin_containing_its_frequency():
    s = stats(sinusoid_x(8))  # 8 cycles / 64 px = 0.125 cycles/pixel -> rho 0.25
    peak = int(np.argmax(s["radial_power"]))
    assert peak == int(0.25 * 32)  # bin [0.25, 0.28125)
    assert abs(s["radial_frequency"][peak] - 0.125) <= 0.5 / 32 / 2 + 1e-12
    assert s["hf_energy_fraction"] < 0.01


def test_sinusoid_above_cutoff_is_almost_all_high_frequency_energy():
    s = stats(sinusoid_x(24))  # 24/64 = 0.375 cycles/pixel -> rho 0.75
    assert int(np.argmax(s["radial_power"])) == int(0.75 * 32)
    assert s["hf_energy_fraction"] > 0.99


def test_vertical_stripes_put_their_power_at_rho_one_in_the_last_bin():
    x = np.arange(64)
    stripes = np.tile(((x % 2) * 255).astype(np.uint8), (64, 1))
    s = stats(stripes)
    assert int(np.argmax(s["radial_power"])) == 31
    assert sum(s["radial_power"][:31]) == pytest.approx(0.0, abs=1e-6 * s["radial_power"][31])
    assert s["hf_energy_fraction"] > 0.999


def test_checkerboard_energy_sits_in_excluded_corner_but_counts_as_high_frequency():
    yy, xx = np.mgrid[0:64, 0:64]
    board = (((yy + xx) % 2) * 255).astype(np.uint8)
    s = stats(board)
    assert s["entropy_bits"] == 1.0
    assert s["black_fraction"] == 0.5
    assert s["saturated_fraction"] == 0.5
    # All energy is at (fy, fx) = (0.5, 0.5): rho = sqrt(2) > 1 is outside the
    # radial bins, but inside the hf_energy_fraction sum.
    assert max(s["radial_power"]) == pytest.approx(0.0, abs=1e-6)
    assert s["spectral_slope"] is None
    assert s["hf_energy_fraction"] == pytest.approx(1.0)


def test_spectral_slope_recovers_power_law_exponent_of_synthetic_noise():
    rng = np.random.default_rng(7)
    n = 256
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    f = np.hypot(fy, fx)
    f[0, 0] = 1.0
    amp = f**-1.0  # amplitude ~ 1/f  ->  power ~ f**-2
    amp[0, 0] = 0.0
    spec = amp * np.exp(2j * np.pi * rng.random(amp.shape))
    img = np.fft.irfft2(spec, s=(n, n))
    img = (img - img.min()) / (img.max() - img.min())
    arr = np.rint(img * 65535).astype(np.uint16)  # 16 bit: negligible quantisation noise
    s = stats(arr)
    assert s["bit_depth"] == 16
    assert s["spectral_slope"] == pytest.approx(-2.0, abs=0.15)


def test_real_mars_image_has_natural_image_spectral_slope():
    files = sorted((SNAPSHOT_IMAGES / "msl_deep_mars_browse").glob("*.JPG"))
    if not files:
        pytest.skip("snapshot images not present")
    s = image_statistics(decode_image(files[0].read_bytes()))
    assert -3.5 < s["spectral_slope"] < -1.5
    assert 0.0 < s["hf_energy_fraction"] < 0.5


@pytest.mark.parametrize("shape", [(37, 53), (40, 64)], ids=["odd-37x53", "even-40x64"])
def test_rgb_stats_agree_with_plain_reference_implementation(shape):
    rng = np.random.default_rng(sum(shape))
    rgb = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    s = stats(rgb)
    for i, c in enumerate(("red", "green", "blue")):
        ch = rgb[..., i]
        ref_hist, _ = np.histogram(ch, bins=256, range=(0, 256))
        assert s[f"{c}_hist"] == ref_hist.tolist()
        assert s[f"{c}_mean"] == pytest.approx(ch.mean(), rel=1e-12)
        assert s[f"{c}_std"] == pytest.approx(ch.std(), rel=1e-12)
        assert (s[f"{c}_min"], s[f"{c}_max"]) == (ch.min(), ch.max())
        ref_p = np.percentile(ch, [1, 50, 99], method="inverted_cdf")
        assert [s[f"{c}_p01"], s[f"{c}_p50"], s[f"{c}_p99"]] == ref_p.tolist()

    y = luma32(rgb)
    yi = np.rint(y)
    assert s["gray_hist"] == np.histogram(yi, bins=256, range=(0, 256))[0].tolist()
    # the mean is exact (channel sums); the std is that of the float32 luma, from
    # its float32 spectrum (Parseval)
    assert s["gray_mean"] == pytest.approx(luma_exact(rgb).mean(), rel=1e-12)
    assert s["gray_std"] == pytest.approx(y.astype(np.float64).std(), rel=1e-6)
    assert s["gray_p50"] == np.percentile(yi, 50, method="inverted_cdf")
    assert s["entropy_bits"] == pytest.approx(
        scipy.stats.entropy(np.histogram(yi, bins=256, range=(0, 256))[0], base=2), rel=1e-12
    )

    g01 = y / np.float32(255)
    assert s["sharpness"] == pytest.approx(float(np.var(scipy.ndimage.laplace(g01).astype(np.float64))), rel=1e-4)
    ref = reference_spectral(g01, 32)
    assert s["fft_mean_magnitude"] == pytest.approx(ref["fft_mean_magnitude"], rel=1e-4)
    np.testing.assert_allclose(s["radial_power"], ref["radial_power"], rtol=1e-4, atol=1e-9 * ref["radial_power"].max())
    np.testing.assert_allclose(s["radial_frequency"], ref["radial_frequency"], rtol=1e-12)
    assert s["spectral_slope"] == pytest.approx(ref["spectral_slope"], rel=1e-4)
    assert s["hf_energy_fraction"] == pytest.approx(ref["hf_energy_fraction"], rel=1e-4)


def test_radial_bins_sets_length_and_centres_of_radial_columns():
    s = stats(sinusoid_x(8), radial_bins=8)
    assert len(s["radial_power"]) == len(s["radial_frequency"]) == 8
    assert s["radial_frequency"] == pytest.approx([0.5 * (i + 0.5) / 8 for i in range(8)])
    with pytest.raises(ValueError):
        stats(sinusoid_x(8), radial_bins=0)


def test_sixteen_bit_percentiles_equal_numpy_inverted_cdf():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 65536, size=(50, 70), dtype=np.uint16)
    s = stats(a)
    ref = np.percentile(a, [1, 50, 99], method="inverted_cdf")
    assert [s["gray_p01"], s["gray_p50"], s["gray_p99"]] == ref.tolist()
    assert s["gray_hist"] == np.bincount((a >> 8).ravel(), minlength=256).tolist()


# ------------------------------------------------------------------------- modes


def test_rgba_drops_alpha_and_says_so():
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, size=(5, 7, 4), dtype=np.uint8)
    img = decode_image(encode(Image.fromarray(rgba), "PNG"))
    assert img.mode == "RGBA"
    assert img.pixels.shape == (5, 7, 3)
    np.testing.assert_array_equal(img.pixels, rgba[..., :3])
    assert "alpha" in img.notes
    s = image_statistics(img)
    assert s["channels"] == 3
    assert "alpha" in s["notes"]


def test_palette_image_is_expanded_to_rgb():
    rng = np.random.default_rng(2)
    pal = Image.fromarray(rng.integers(0, 256, size=(6, 9, 3), dtype=np.uint8)).quantize(8)
    img = decode_image(encode(pal, "GIF"))
    assert img.mode == "P"
    assert img.pixels.shape == (6, 9, 3)
    assert img.bit_depth == 8
    assert "palette" in img.notes
    np.testing.assert_array_equal(img.pixels, np.asarray(pal.convert("RGB")))


def test_i16_png_keeps_sixteen_bits_and_bins_histogram_by_high_byte():
    a = np.linspace(0, 4095, 8 * 16).round().astype(np.uint16).reshape(8, 16)
    img = decode_image(encode(Image.fromarray(a), "PNG"))
    assert img.mode in ("I;16", "I")  # Pillow >= 10.? opens 16-bit gray PNG as I;16
    assert img.bit_depth == 16
    assert img.pixels.dtype == np.uint16
    np.testing.assert_array_equal(img.pixels, a)
    s = image_statistics(img)
    assert s["gray_max"] == 4095.0
    assert s["gray_hist"] == np.bincount((a >> 8).ravel(), minlength=256).tolist()
    assert sum(s["gray_hist"][16:]) == 0  # 4095 >> 8 == 15
    assert s["brightness_norm"] == pytest.approx(a.mean() / 65535)


def test_big_endian_i16_becomes_native_uint16():
    a = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    img = to_pixels(Image.frombytes("I;16B", (4, 3), a.astype(">u2").tobytes()))
    assert img.pixels.dtype == np.dtype(np.uint16)
    assert img.pixels.dtype.isnative
    np.testing.assert_array_equal(img.pixels, a)


def test_mode_i_within_16_bit_is_accepted_and_beyond_is_rejected():
    ok = to_pixels(Image.fromarray(np.array([[0, 65535]], dtype=np.int32)))
    assert (ok.mode, ok.bit_depth, ok.pixels.dtype) == ("I", 16, np.uint16)
    for bad in (70000, -1):
        with pytest.raises(ImageDecodeError, match="unsupported mode I"):
            to_pixels(Image.fromarray(np.array([[0, bad]], dtype=np.int32)))


def test_float_mode_is_rejected():
    with pytest.raises(ImageDecodeError, match="unsupported mode F"):
        to_pixels(Image.fromarray(np.zeros((2, 2), dtype=np.float32)))


def test_one_bit_image_becomes_0_or_255_gray():
    bits = np.array([[True, False, True], [False, False, True]])
    img = decode_image(encode(Image.fromarray(bits), "PNG"))
    assert img.mode == "1"
    assert img.pixels.shape == (2, 3)
    np.testing.assert_array_equal(img.pixels, bits.astype(np.uint8) * 255)
    s = image_statistics(img)
    assert s["saturated_fraction"] == 0.5
    assert s["black_fraction"] == 0.5


def test_la_image_keeps_luminance_and_drops_alpha():
    la = np.dstack([np.arange(12, dtype=np.uint8).reshape(3, 4), np.full((3, 4), 7, np.uint8)])
    img = decode_image(encode(Image.fromarray(la), "PNG"))
    assert img.mode == "LA"
    np.testing.assert_array_equal(img.pixels, la[..., 0])
    assert "alpha" in img.notes
    assert image_statistics(img)["channels"] == 1


def test_cmyk_jpeg_decodes_to_rgb():
    red = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    img = decode_image(encode(red, "JPEG", quality=95))
    assert img.mode == "CMYK"
    assert img.pixels.shape == (16, 16, 3)
    assert "CMYK" in img.notes
    r, g, b = img.pixels.reshape(-1, 3).mean(axis=0)
    assert r > 240 and g < 15 and b < 15


@pytest.mark.parametrize("mode,value", [("HSV", (0, 255, 255)), ("YCbCr", (76, 85, 255))])
def test_other_colour_spaces_convert_to_rgb(mode, value):
    img = to_pixels(Image.new(mode, (3, 2), value))
    assert img.mode == mode
    assert img.pixels.shape == (2, 3, 3)
    r, g, b = img.pixels[0, 0].astype(int)
    assert r > 240 and g < 15 and b < 15  # both values are pure red


def test_gray_image_has_no_colour_columns():
    s = stats(np.arange(20, dtype=np.uint8).reshape(4, 5))
    assert s["channels"] == 1
    for c in ("red", "green", "blue"):
        for k in ("mean", "std", "min", "max", "p01", "p50", "p99", "hist"):
            assert s[f"{c}_{k}"] is None
    assert s["gray_mean"] == 9.5


# ------------------------------------------------------------------------ errors


def test_random_bytes_raise_image_decode_error_with_reason():
    junk = np.random.default_rng(5).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    with pytest.raises(ImageDecodeError) as exc:
        decode_image(junk)
    assert str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_empty_bytes_raise_image_decode_error():
    with pytest.raises(ImageDecodeError, match="empty"):
        decode_image(b"")


def test_truncated_jpeg_is_rejected_not_silently_padded():
    rng = np.random.default_rng(6)
    jpeg = encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "JPEG")
    assert decode_image(jpeg).pixels.shape == (64, 64, 3)  # the whole file is fine
    with pytest.raises(ImageDecodeError) as exc:
        decode_image(jpeg[: len(jpeg) // 2])
    assert "truncated" in str(exc.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_decoded_image_rejects_inconsistent_fields_and_is_read_only():
    with pytest.raises(ValueError):
        DecodedImage(np.zeros((2, 2), np.uint8), "L", 16, 2, 2, "")
    with pytest.raises(ValueError):
        DecodedImage(np.zeros((2, 3), np.uint8), "L", 8, 2, 3, "")  # width/height swapped
    with pytest.raises(ValueError):
        DecodedImage(np.zeros((2, 2, 4), np.uint8), "RGBA", 8, 2, 2, "")
    src = np.zeros((2, 2), np.uint8)
    img = DecodedImage(src, "L", 8, 2, 2, "")
    with pytest.raises(ValueError):
        img.pixels[0, 0] = 1
    assert src.flags.writeable  # the caller's array is left alone


# ------------------------------------------------------------------------ schema


@pytest.mark.parametrize(
    "arr",
    [
        np.random.default_rng(8).integers(0, 256, (12, 17, 3), dtype=np.uint8),
        np.random.default_rng(9).integers(0, 256, (12, 17), dtype=np.uint8),
        np.random.default_rng(10).integers(0, 65536, (9, 11), dtype=np.uint16),
        np.zeros((1, 1), dtype=np.uint8),
    ],
    ids=["rgb", "gray", "gray16", "1x1"],
)
def test_stats_row_matches_arrow_schema(arr):
    s = stats(arr)
    assert list(s) == IMAGE_STATS_SCHEMA.names
    table = pa.Table.from_pylist([s], schema=IMAGE_STATS_SCHEMA)
    assert table.num_rows == 1
    assert table.to_pylist()[0] == s
    for field in IMAGE_STATS_SCHEMA:
        v = s[field.name]
        if v is None:
            continue
        t = field.type
        if pa.types.is_integer(t):
            assert type(v) is int, field.name
        elif pa.types.is_floating(t):
            assert type(v) is float and math.isfinite(v), field.name
        elif pa.types.is_string(t):
            assert type(v) is str, field.name
        else:
            assert type(v) is list, field.name
            assert all(math.isfinite(x) for x in v), field.name
    assert len(s["gray_hist"]) == 256
    assert s["hf_cutoff_rho"] == HF_CUTOFF_RHO == 0.5
    assert IMAGE_STATS_SCHEMA.metadata[b"mars_assets.image_stats_version"] == STATS_VERSION.encode()


# ------------------------------------------------------------- dashboard spectrum


@pytest.mark.parametrize("shape", [(64, 64), (300, 200)])
def test_log_spectrum_of_constant_image_peaks_at_centre(shape):
    img = decoded(np.full(shape, 200, dtype=np.uint8))
    spec = log_magnitude_spectrum(img)
    assert spec.shape == (128, 128)
    assert spec.dtype == np.float32
    assert np.unravel_index(np.argmax(spec), spec.shape) == (64, 64)
    if shape == (64, 64):  # enlarged 2x: the DC value itself is replicated
        assert spec[64, 64] == pytest.approx(math.log1p(200 / 255 * 64 * 64), rel=1e-6)
        assert spec[0, 0] == 0.0
