"""Benchmark of the timelapse path (issue 20): quality flags, perceptual hashes, duplicate
groups, frame selection and the animated WebP, on 1,000 frames of one camera.

Run from the repository root::

    .venv/bin/python -m benchmarks.timelapse                 # ~1 minute
    .venv/bin/python -m benchmarks.timelapse --set navcam    # full-size 1022 px Navcam frames
    .venv/bin/python -m benchmarks.timelapse --out /tmp/tl   # also write the WebPs and the page

The frames are real rover images of the snapshot held in memory as JPEG bytes:

  browse  the 105 Curiosity Mastcam / MAHLI browse JPEGs (~256 px); each sol of 10 frames
          holds 4 of them, 2-3 times each (exact copies, as a product downlinked twice);
  navcam  the 1022 x 1022 Curiosity Navcam JPEG, tiled with mirrored copies and cropped at
          --frames different offsets in random order (re-encoded at quality 90): distinct
          full frames, though crops of one scene are often within DUPLICATE_DISTANCE.

Each frame gets a sol (10 a sol), a time, and a mast pointing (5 % of them 20 degrees
off). Stages, each timed once, serially in this process:

  1 quality    statistics_from_bytes + quality_flags + perceptual_hash of every frame (in
               the pipeline the statistics come from silver image_stats; shown apart);
  2 groups     duplicate_groups of the hashes, one call per sol (as the pipeline should);
  3 select     select_frames;
  4 webp       write_webp of the selected frames (--width, --fps);
  5 webp all   write_webp of all --frames frames (no frame dropped: the largest timelapse).

It prints the times, frames/s and sizes, and the target (printed, never asserted):
stages 1-4 and 1-3 + 5 under a minute on 2 cores. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import imagehash
import numpy as np
import PIL
from PIL import Image

from mars_assets.imaging.quality import DUPLICATE_DISTANCE, duplicate_groups, perceptual_hash, quality_flags
from mars_assets.imaging.stats import statistics_from_bytes
from mars_assets.imaging.timelapse import select_frames, timelapse_page, write_webp

SNAPSHOT = Path(__file__).resolve().parents[1] / "mars_assets" / "snapshot" / "images"
BROWSE = SNAPSHOT / "msl_deep_mars_browse"
NAVCAM = SNAPSHOT / "mars-raw-utils" / "NRB_670586006EDR_S0871444NCAM00545M_.jpg"
TARGET_SECONDS = 60.0


def browse_frames(n: int) -> list[bytes]:
    """n of the snapshot's browse JPEGs: frame i is picture 4 * (i // 10) + i % 4."""
    files = [p.read_bytes() for p in sorted(BROWSE.glob("*.JPG"))]
    return [files[(4 * (i // 10) + i % 4) % len(files)] for i in range(n)]


def navcam_frames(n: int) -> list[bytes]:
    """n distinct 1022 x 1022 crops of the Navcam frame tiled 2 x 2 with mirrored copies."""
    with Image.open(NAVCAM) as img:
        px = np.asarray(img.convert("L"))
    top = np.concatenate([px, px[:, ::-1]], axis=1)
    tiled = np.concatenate([top, top[::-1]], axis=0)
    size = px.shape[0]
    span = tiled.shape[0] - size
    side = int(np.ceil(np.sqrt(n)))
    out = []
    for i in np.random.default_rng(5).permutation(side * side)[:n]:
        y, x = (i // side) * span // side, (i % side) * span // side
        buf = io.BytesIO()
        Image.fromarray(tiled[y : y + size, x : x + size]).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def frame_rows(blobs: Sequence[bytes]) -> list[dict]:
    """The frame dicts select_frames takes, without flags and groups (stage 1 adds them)."""
    rng = np.random.default_rng(20)
    start = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(len(blobs)):
        off = rng.random() < 0.05
        rows.append(
            {
                "image_id": f"frame{i:05d}",
                "sol": i // 10,
                "taken_at": start + dt.timedelta(seconds=88775 * (i // 10) + 60 * (i % 10)),
                "mast_az": float(120.0 + rng.normal(0, 0.5) + (20.0 if off else 0.0)),
                "mast_el": float(-15.0 + rng.normal(0, 0.5)),
            }
        )
    return rows


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("browse", "navcam"), default="browse", help="which real frames (see above)")
    ap.add_argument("--frames", type=int, default=1000, help="frames of the camera (default 1000)")
    ap.add_argument("--width", type=int, default=512, help="timelapse width in pixels (default 512)")
    ap.add_argument("--fps", type=float, default=4.0, help="timelapse frames per second (default 4)")
    ap.add_argument("--out", type=Path, help="folder to write the two WebPs and index.html into")
    args = ap.parse_args(argv)

    print(
        f"python {platform.python_version()}, Pillow {PIL.__version__}, imagehash {imagehash.__version__}, "
        f"numpy {np.__version__}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}"
    )
    blobs = browse_frames(args.frames) if args.set == "browse" else navcam_frames(args.frames)
    rows = frame_rows(blobs)
    n = len(blobs)
    print(f"set {args.set}: {n} frames, {sum(map(len, blobs)) / 1e6:.1f} MB of JPEG")
    print()

    stats, t_stats = timed(lambda: [statistics_from_bytes(b) for b in blobs])
    hashes, t_hash = timed(lambda: [perceptual_hash(b) for b in blobs])
    _, t_flags = timed(lambda: [r.update(flags=quality_flags(s, None)) for r, s in zip(rows, stats, strict=True)])
    per_sol: dict[int, list] = {}
    for r, h in zip(rows, hashes, strict=True):
        per_sol.setdefault(r["sol"], []).append((r["image_id"], h))
    groups, t_groups = timed(lambda: {k: g for items in per_sol.values() for k, g in duplicate_groups(items).items()})
    for r in rows:
        r["duplicate_of"] = groups.get(r["image_id"])
    by_id = dict(zip((r["image_id"] for r in rows), blobs, strict=True))
    kept, t_select = timed(lambda: select_frames(rows))
    (webp, info), t_webp = timed(
        lambda: write_webp([by_id[r["image_id"]] for r in kept], width=args.width, fps=args.fps)
    )
    (webp_all, info_all), t_all = timed(lambda: write_webp(blobs, width=args.width, fps=args.fps))

    flagged = sum(1 for r in rows if r["flags"])
    grouped = len(groups)
    print(f"{'stage':34s} {'seconds':>8s} {'frames/s':>9s}")
    print("-" * 53)
    figures = [
        ("1a statistics_from_bytes", t_stats, n),
        ("1b perceptual_hash", t_hash, n),
        ("1c quality_flags", t_flags, n),
        (f"2 duplicate_groups ({grouped} grouped)", t_groups, n),
        (f"3 select_frames ({len(kept)} kept)", t_select, n),
        (f"4 write_webp of {info['frames']} kept", t_webp, info["frames"]),
        (f"5 write_webp of all {info_all['frames']}", t_all, info_all["frames"]),
    ]
    for name, secs, count in figures:
        print(f"{name:34s} {secs:8.2f} {count / secs if secs else float('inf'):9.0f}")
    print()
    print(f"flagged {flagged}; duplicate groups at {DUPLICATE_DISTANCE} bits: {len(set(groups.values()))}")
    for label, i in (("kept", info), ("all", info_all)):
        print(f"webp {label}: {i['frames']} frames {i['width']}x{i['height']}, {i['bytes'] / 1e6:.2f} MB")
    pipeline = t_stats + t_hash + t_flags + t_groups + t_select + t_webp
    largest = t_stats + t_hash + t_flags + t_groups + t_select + t_all
    print()
    print("targets (printed, not asserted):")
    for label, secs in (("stages 1-4", pipeline), ("stages 1-3 + 5 (every frame kept)", largest)):
        verdict = "met" if secs < TARGET_SECONDS else "NOT met"
        print(f"  {label}: {secs:.1f} s, {n / secs:.0f} frames/s (target < {TARGET_SECONDS:.0f} s: {verdict})")
    print(f"  without the statistics (silver has them): {pipeline - t_stats:.1f} s / {largest - t_stats:.1f} s")

    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "kept.webp").write_bytes(webp)
        (args.out / "all.webp").write_bytes(webp_all)
        sols = [r["sol"] for r in kept]
        entries = [
            {"rover": "curiosity", "camera": f"{args.set} (kept)", "frames": info["frames"], "first_sol": min(sols)}
            | {"last_sol": max(sols), "bytes": info["bytes"], "path": "kept.webp"},
            {"rover": "curiosity", "camera": f"{args.set} (all)", "frames": n, "first_sol": rows[0]["sol"]}
            | {"last_sol": rows[-1]["sol"], "bytes": info_all["bytes"], "path": "all.webp"},
        ]
        (args.out / "index.html").write_text(timelapse_page(entries), encoding="utf-8")
        print(f"wrote {args.out}/index.html, kept.webp, all.webp")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
