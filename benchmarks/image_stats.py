"""Benchmark of mars_assets.imaging statistics (issue 5).

Run from the repository root::

    .venv/bin/python -m benchmarks.image_stats            # ~1 minute
    .venv/bin/python -m benchmarks.image_stats --reps 5   # more repeats

On the same in-memory JPEGs (real rover images from the snapshot, tiled and
cropped to size, so decoding is part of every timing) it times, per size:

  a  seed-style baseline written here: OpenCV decode (Pillow if OpenCV is not
     installed), per-channel histograms, complex fft2 + fftshift + log
     magnitude, one image at a time;
  b  the floor: the project's decode_image + one float32 plane + one float32
     scipy.fft.rfft2 (workers=1) and nothing else;
  c  the project's statistics (statistics_from_bytes: decode + every column),
     serially in this process and on all cores (ImageStatsPool, warm; plus
     statistics_for_many including pool start-up).

Each figure is the best of --reps runs. The serial timings run with the same
allocator setting as the pool's workers (tune_allocator) unless
--default-malloc is given. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import PIL
import scipy
import scipy.fft
from PIL import Image

from mars_assets.imaging import (
    ImageFile,
    ImageStatsPool,
    decode_image,
    statistics_for_many,
    statistics_from_bytes,
)
from mars_assets.imaging.parallel import tune_allocator

try:  # the baseline's decoder; optional (bench extra)
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None

SNAPSHOT = Path(__file__).resolve().parents[1] / "mars_assets" / "snapshot" / "images"
RAW = SNAPSHOT / "mars-raw-utils"
GRAY_SRC = RAW / "NRB_670586006EDR_S0871444NCAM00545M_.jpg"  # 1022x1022 Navcam
COLOUR_SRCS = sorted(RAW.glob("*.png"))  # Mastcam-Z 1648x1200, Navcam 1288x968
THUMB_SRCS = sorted((SNAPSHOT / "msl_deep_mars_browse").glob("*.JPG"))  # ~256 px MSL browse
JPEG_QUALITY = 90

# ------------------------------------------------------------------ image sets


def _jpeg(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _tiled_crops(src: np.ndarray, h: int, w: int, count: int) -> list[np.ndarray]:
    """``count`` (h, w) crops at different offsets of ``src`` tiled with
    mirrored copies (no seams), so each crop is real rover texture."""
    ty = -(-(h + src.shape[0]) // src.shape[0])
    tx = -(-(w + src.shape[1]) // src.shape[1])
    row = np.concatenate([src if i % 2 == 0 else src[:, ::-1] for i in range(tx)], axis=1)
    big = np.concatenate([row if j % 2 == 0 else row[::-1] for j in range(ty)], axis=0)
    rng = np.random.default_rng(5)
    out = []
    for _ in range(count):
        y = int(rng.integers(0, big.shape[0] - h + 1))
        x = int(rng.integers(0, big.shape[1] - w + 1))
        out.append(np.ascontiguousarray(big[y : y + h, x : x + w]))
    return out


def image_sets(n_gray: int, n_colour: int) -> dict[str, list[bytes]]:
    gray_src = np.asarray(Image.open(GRAY_SRC).convert("L"))
    gray = [_jpeg(a) for a in _tiled_crops(gray_src, 1024, 1024, n_gray)]
    colour = []
    for i in range(n_colour):
        src = np.asarray(Image.open(COLOUR_SRCS[i % len(COLOUR_SRCS)]).convert("RGB"))
        colour += [_jpeg(a) for a in _tiled_crops(src, 1200, 1600, 1)]
    thumbs = []
    for p in THUMB_SRCS:
        im = Image.open(p).convert("RGB")
        im.thumbnail((160, 160), Image.Resampling.LANCZOS)
        arr = np.asarray(im)
        thumbs += [_jpeg(arr), _jpeg(np.ascontiguousarray(arr[:, ::-1]))]
    return {"gray 1024x1024": gray, "colour 1600x1200": colour, "thumbs ~160 px": thumbs}


# ------------------------------------------------------------------ the methods


def seed_style(blob: bytes) -> dict:
    """(a) What the seed code did per image: decode, per-channel histograms,
    full complex FFT, fftshift, log magnitude."""
    if cv2 is not None:
        arr = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    else:  # pragma: no cover
        arr = np.asarray(Image.open(io.BytesIO(blob)))
    if arr.ndim == 3:
        if cv2 is not None:
            hists = [cv2.calcHist([arr], [c], None, [256], [0, 256]) for c in range(3)]
            gray = cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY)
        else:  # pragma: no cover
            hists = [np.histogram(arr[..., c], 256, (0, 256))[0] for c in range(3)]
            gray = arr @ np.array([0.299, 0.587, 0.114])
    else:
        hists, gray = [], arr
    if cv2 is not None:
        ghist = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel()
    else:  # pragma: no cover
        ghist = np.histogram(gray, 256, (0, 256))[0]
    spec = np.fft.fftshift(np.fft.fft2(gray.astype(np.float64)))
    logmag = np.log1p(np.abs(spec))
    return {
        "hists": [np.ravel(h).tolist() for h in hists],
        "gray_hist": ghist.tolist(),
        "mean": float(gray.mean()),
        "std": float(gray.std()),
        "log_spectrum_mean": float(logmag.mean()),
    }


def floor(blob: bytes) -> None:
    """(b) decode + one float32 real FFT: the work no statistics can skip."""
    px = decode_image(blob).pixels
    plane = px[..., 1] if px.ndim == 3 else px  # cheapest float32 plane
    scipy.fft.rfft2(plane.astype(np.float32), workers=1, overwrite_x=True)


def project_serial(blob: bytes) -> dict:
    """(c) the project's statistics, one image at a time in this process."""
    return statistics_from_bytes(blob)


# --------------------------------------------------------------------- timing


def best_rate(run_all: Callable[[], object], n_images: int, reps: int) -> float:
    """Best images/s over ``reps`` runs of ``run_all`` (which does all images)."""
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        run_all()
        best = min(best, time.perf_counter() - t0)
    return n_images / best


def serial_rate(fn: Callable[[bytes], object], blobs: Sequence[bytes], reps: int) -> float:
    for b in blobs[:2]:  # warm caches (per-shape geometry, scratch, imports)
        fn(b)
    return best_rate(lambda: [fn(b) for b in blobs], len(blobs), reps)


def _spin(seconds: float) -> float:
    """CPU-only work for the core-availability probe; returns CPU time used."""
    t_end = time.perf_counter() + seconds
    c0 = time.process_time()
    x = 0
    while time.perf_counter() < t_end:
        for i in range(10000):
            x += i
    return time.process_time() - c0


def effective_cores(pool: ImageStatsPool, seconds: float = 1.0) -> float:
    """CPU seconds the workers actually got per wall second while all of them
    spin at once: ``workers`` on an idle machine, less when the host is busy."""
    ex = pool._pool()
    futs = [ex.submit(_spin, seconds) for _ in range(pool.workers)]
    return sum(f.result() for f in futs) / seconds


_RSS_PROBE = r"""
import re, sys
from pathlib import Path
from mars_assets.imaging import statistics_from_bytes
from mars_assets.imaging.parallel import tune_allocator
if sys.argv[2] == "tuned":
    tune_allocator()

def kib(field):
    return int(re.search(field + r":\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))

blob = Path(sys.argv[1]).read_bytes()
statistics_from_bytes(Path(sys.argv[3]).read_bytes())  # warm the code paths on a small image
out = []
for _ in range(2):  # first: cold (new shape), second: warm
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    before = kib("VmRSS")
    row = statistics_from_bytes(blob)
    out.append(kib("VmHWM") - before)
print(row["width"] * row["height"] * row["channels"], *out)
"""


def memory_ratios(tuned: bool) -> list[tuple[str, float, float]] | None:
    """Peak resident memory added while statistics_from_bytes runs on one image,
    over its decoded pixel bytes (W x H x channels), in a fresh process per
    image: everything counts (Pillow's decoded image and luma, pocketfft's
    buffers, numpy, Python), measured with the kernel's peak-RSS counter
    (Linux: VmHWM, reset through /proc/self/clear_refs). The first call on a
    new shape (cold: per-shape geometry and scratch buffers allocated) and a
    second call on the same image (warm). None where /proc is not Linux's."""
    import subprocess
    import sys

    if not Path("/proc/self/clear_refs").exists():
        return None
    colour = np.asarray(Image.open(COLOUR_SRCS[0]).convert("RGB"))
    gray = np.asarray(Image.open(GRAY_SRC).convert("L"))
    cases = [
        ("1600x1200 RGB", _jpeg(_tiled_crops(colour, 1200, 1600, 1)[0])),
        ("1024x1024 gray", _jpeg(_tiled_crops(gray, 1024, 1024, 1)[0])),
    ]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.jpg"
        small.write_bytes(_jpeg(_tiled_crops(colour, 96, 128, 1)[0]))
        for name, blob in cases:
            f = Path(tmp) / "image.jpg"
            f.write_bytes(blob)
            res = subprocess.run(
                [sys.executable, "-c", _RSS_PROBE, str(f), "tuned" if tuned else "default", str(small)],
                capture_output=True,
                text=True,
                check=True,
            )
            nbytes, cold_kib, warm_kib = map(int, res.stdout.split())
            out.append((name, cold_kib * 1024 / nbytes, warm_kib * 1024 / nbytes))
    return out


# ----------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="runs per figure; the best is kept")
    # enough frames that each worker gets a dozen or more: the figures are throughput (as in a
    # backfill, where silver_images sends batches of up to 64), not the start and end of one call
    ap.add_argument("--gray", type=int, default=48, help="1024x1024 gray images (default 48)")
    ap.add_argument("--colour", type=int, default=32, help="1600x1200 colour images (default 32)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--default-malloc",
        action="store_true",
        help="time the serial methods without tune_allocator (as an in-process caller would)",
    )
    args = ap.parse_args(argv)

    tuned = False if args.default_malloc else tune_allocator()
    load0 = os.getloadavg()
    print(
        f"machine : {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, Pillow {PIL.__version__}, "
        f"OpenCV {cv2.__version__ if cv2 is not None else 'absent (baseline decodes with Pillow)'}"
    )
    print(
        f"serial  : this process, allocator {'tuned like the workers' if tuned else 'default'}; "
        f"best of {args.reps} runs; load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}"
    )
    sets = image_sets(args.gray, args.colour)
    tmp = tempfile.TemporaryDirectory(prefix="mars-image-stats-bench-")
    files = {}  # the same images as files, handed over by path as silver_images hands local bronze
    for name, blobs in sets.items():
        files[name] = []
        for i, blob in enumerate(blobs):
            path = Path(tmp.name) / f"{name.split()[0]}_{i:03d}.jpg"
            path.write_bytes(blob)
            files[name].append(ImageFile.at(path))

    pool = ImageStatsPool(args.workers).start()
    try:
        cores = effective_cores(pool)
        print(f"cores   : {args.workers} workers got {cores:.2f} cores' worth of CPU in a 1 s all-busy probe")
        print()
        head = (
            f"{'images':18s} {'n':>4s} | {'a seed':>8s} {'b floor':>8s} {'c serial':>9s} "
            f"{'c all':>8s} {'c files':>8s} {'c many*':>8s} | {'c/a':>6s} {'c/floor':>7s} {'par x':>6s} "
            f"{'files x':>7s}"
        )
        print(head + "    (images/s)")
        print("-" * len(head))
        rows = {}
        for name, blobs in sets.items():
            a = serial_rate(seed_style, blobs, args.reps)
            b = serial_rate(floor, blobs, args.reps)
            c = serial_rate(project_serial, blobs, args.reps)
            pool.statistics(blobs[: 2 * args.workers])  # warm the workers' caches
            c_all = best_rate(partial(pool.statistics, blobs), len(blobs), args.reps)
            c_files = best_rate(partial(pool.statistics, files[name]), len(blobs), args.reps)
            c_many = best_rate(
                partial(statistics_for_many, blobs, args.workers, min_parallel_bytes=0),
                len(blobs),
                1,
            )
            rows[name] = (a, b, c, c_all, c_files)
            print(
                f"{name:18s} {len(blobs):4d} | {a:8.1f} {b:8.1f} {c:9.1f} {c_all:8.1f} {c_files:8.1f} "
                f"{c_many:8.1f} | {c / a:6.2f} {c / b:7.2f} {c_all / c:6.2f} {c_files / c:7.2f}"
            )
        print("  * c many: statistics_for_many including pool start-up (forkserver; one run)")
        print(
            "  c files / files x: the pool on the same images as files (ImageFile: the workers read them),\n"
            "  over c serial (which reads nothing from disk)"
        )
    finally:
        pool.close()
        tmp.cleanup()

    print()
    print("targets (printed, not asserted):")
    for name in ("gray 1024x1024", "colour 1600x1200"):
        a, b, c, c_all, c_files = rows[name]
        print(
            f"  {name:18s} serial >= 0.85 x floor: {c / b:5.2f}  {'met' if c / b >= 0.85 else 'NOT met'}"
            f" | >= 8 x seed: {c / a:5.2f}  {'met' if c / a >= 8 else 'NOT met'}"
            f" | >= 1.9 x from {args.workers} cores: bytes {c_all / c:5.3f}  "
            f"{'met' if c_all / c >= 1.9 else 'NOT met'}, files {c_files / c:5.3f}  "
            f"{'met' if c_files / c >= 1.9 else 'NOT met'} (cores available {cores:.2f})"
        )
    print()
    print(
        "memory: peak RSS added during statistics_from_bytes / decoded pixel bytes, fresh process per image (target ~6)"
    )
    ratios = memory_ratios(tuned)
    if ratios is None:
        print("  (needs Linux /proc; skipped)")
    for name, cold, warm in ratios or []:
        print(f"  {name:15s} first image of its shape {cold:5.2f} x   same image again {warm:5.2f} x")
    load1 = os.getloadavg()
    print(f"load average after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main()
