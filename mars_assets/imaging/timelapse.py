"""Timelapses of one rover x camera (issue 20): pick the frames, write an animated WebP,
list the timelapses on an HTML page.

Pure Python / numpy / Pillow; no Dagster here. The frames' flags and duplicate groups
come from :mod:`mars_assets.imaging.quality`. ``write_mp4`` needs the optional
``imageio`` + ``imageio-ffmpeg`` packages and returns None without them.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import os
import statistics
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
from PIL import Image, ImageOps

from mars_assets.imaging.quality import decode_small

__all__ = [
    "EXCLUDED_FLAGS",
    "POINTING_TOLERANCE_DEG",
    "select_frames",
    "timelapse_page",
    "write_mp4",
    "write_webp",
]

EXCLUDED_FLAGS = frozenset({"black", "blank", "saturated", "truncated", "low_information", "small_frame"})
"""Quality flags (:data:`mars_assets.imaging.quality.FLAGS`) that keep a frame out of a timelapse."""

POINTING_TOLERANCE_DEG = 3.0
"""Largest difference (degrees) of a frame's mast azimuth, and of its elevation, from the
reference pointing. Under half the narrowest Mastcam field of view (Curiosity's M-100,
6.8 x 5.1 degrees), so kept frames overlap by more than half a frame."""

WEBP_QUALITY = 80
"""Lossy WebP quality (0-100) of the timelapse frames (Pillow's default)."""

WEBP_METHOD = 0
"""libwebp effort 0 (fastest) .. 6 (smallest); 0 is Pillow's animation default."""

_MIN_DT = dt.datetime.min.replace(tzinfo=dt.UTC)


def _taken_at(value: dt.datetime | str | None) -> dt.datetime | None:
    """A timezone-aware datetime (naive ones and ISO strings without an offset are UTC)."""
    if value is None or value == "":
        return None
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _order(frame: Mapping) -> tuple:
    """(sol, taken_at, image_id); a frame without taken_at comes last in its sol."""
    when = _taken_at(frame.get("taken_at"))
    return (frame["sol"], when is None, when or _MIN_DT, str(frame["image_id"]))


def _wrap(deg: float) -> float:
    """An angle difference in -180 .. 180 degrees."""
    return (deg + 180.0) % 360.0 - 180.0


def _reference_azimuth(azimuths: list[float]) -> float:
    """Median azimuth on the circle: the median of the differences from the circular mean
    (so 359 and 1 degrees have the reference 0, not 180)."""
    rad = np.radians(azimuths)
    mean = math.degrees(math.atan2(float(np.sin(rad).sum()), float(np.cos(rad).sum())))
    return mean + statistics.median(_wrap(a - mean) for a in azimuths)


def _pointing(frame: Mapping) -> tuple[float, float] | None:
    az, el = frame.get("mast_az"), frame.get("mast_el")
    if az is None or el is None or not (math.isfinite(az) and math.isfinite(el)):
        return None
    return float(az), float(el)


def select_frames(frames: Sequence[Mapping], tolerance_deg: float = POINTING_TOLERANCE_DEG) -> list[Mapping]:
    """The frames of one rover x camera that make a timelapse, in (sol, taken_at, image_id) order.

    ``frames``: mappings with ``image_id``, ``sol``, ``taken_at`` (datetime, ISO 8601
    string or None; naive = UTC), ``flags`` (list of quality flag names),
    ``duplicate_of`` (duplicate group key or None) and optionally ``mast_az`` /
    ``mast_el`` (degrees or None). In order:

    1. frames with any EXCLUDED_FLAGS flag are dropped;
    2. where pointing is known, the reference pointing is the median elevation and the
       circular median azimuth of the remaining frames, one per duplicate group (the
       most common pointing whenever more than half of them share it); frames more than
       ``tolerance_deg`` from it in azimuth or elevation are dropped. Frames without
       pointing are kept;
    3. of each duplicate group only the first remaining frame in timelapse order is kept
       (so a mis-pointed or flagged first copy does not hide a good one).

    Returns the input mappings themselves (not copies).
    """
    ordered = [f for f in sorted(frames, key=_order) if not EXCLUDED_FLAGS.intersection(f.get("flags") or ())]
    pointed = [p for p in map(_pointing, _first_of_groups(ordered)) if p is not None]
    if pointed:
        ref_az = _reference_azimuth([az for az, _ in pointed])
        ref_el = statistics.median(el for _, el in pointed)

        def near(frame: Mapping) -> bool:
            p = _pointing(frame)
            return p is None or (abs(_wrap(p[0] - ref_az)) <= tolerance_deg and abs(p[1] - ref_el) <= tolerance_deg)

        ordered = [f for f in ordered if near(f)]
    return _first_of_groups(ordered)


def _first_of_groups(frames: list[Mapping]) -> list[Mapping]:
    """The frames without a duplicate group, and the first frame of each group."""
    seen, out = set(), []
    for frame in frames:
        group = frame.get("duplicate_of")
        if group is not None:
            if group in seen:
                continue
            seen.add(group)
        out.append(frame)
    return out


def _frames(images: Iterable[bytes], width: int, multiple: int = 2) -> Iterator[Image.Image]:
    """Every image decoded once, small, and letterboxed (black bars) to one size: ``width``
    rounded up to a multiple of ``multiple``, and the height of the first frame's aspect
    rounded to the nearest multiple. Gray images stay mode L, others are RGB."""
    size = None
    for data in images:
        # draft keeps both sides above the requested size; the first frame sets the aspect
        img = decode_small(data, size or (width, 1), None)
        if size is None:
            w, h = img.size
            width = -(-width // multiple) * multiple
            size = (width, max(1, round(width * h / w / multiple)) * multiple)
        yield ImageOps.pad(img, size, Image.Resampling.BICUBIC, color=0)
    if size is None:
        raise ValueError("a timelapse needs at least one image")


def _check(width: int, fps: float) -> None:
    if width < 2 or not fps > 0:
        raise ValueError(f"need width >= 2 and fps > 0, got width={width}, fps={fps}")


def write_webp(images: Iterable[bytes], *, width: int = 512, fps: float = 4) -> tuple[bytes, dict]:
    """An animated, looping WebP of image files, one frame each, in the given order.

    Every frame is decoded once, downscaled (:func:`~mars_assets.imaging.quality.decode_small`,
    Pillow draft mode for JPEGs) and letterboxed to ``width`` x height, height from the
    first frame's aspect (nearest even). Lossy WebP (WEBP_QUALITY, WEBP_METHOD), ``1000 / fps`` ms
    a frame, ``loop=0``. Holds every decoded frame in memory until the file is written
    (1 byte a pixel for gray images, 3 for colour: 0.2 / 0.6 MB a frame at 512 x 384).

    Returns:
        (the WebP bytes, {"frames": n, "width": w, "height": h, "bytes": len}).

    Raises:
        ValueError: no images, width < 2 or fps <= 0.
        ImageDecodeError: an image that cannot be decoded.
    """
    _check(width, fps)
    frames = list(_frames(images, width))
    w, h = frames[0].size
    buf = io.BytesIO()
    frames[0].save(
        buf,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=round(1000 / fps),
        loop=0,
        quality=WEBP_QUALITY,
        method=WEBP_METHOD,
    )
    data = buf.getvalue()
    return data, {"frames": len(frames), "width": w, "height": h, "bytes": len(data)}


def write_mp4(images: Iterable[bytes], *, width: int = 512, fps: float = 4) -> tuple[bytes, dict] | None:
    """The frames of write_webp as an H.264 MP4 (ffmpeg through imageio-ffmpeg), or None
    when ``imageio`` or ``imageio-ffmpeg`` is not installed (both optional).

    Frames are streamed to ffmpeg (not held in memory); width is rounded up and height
    to the nearest multiple of 16 (the H.264 macroblock). Returns (the MP4 bytes, {"frames",
    "width", "height", "bytes"}).

    Raises:
        ValueError / ImageDecodeError: as write_webp.
    """
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401 (the FFMPEG plugin's ffmpeg binary)
    except ImportError:
        return None
    _check(width, fps)
    n, size = 0, (0, 0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "timelapse.mp4")
        writer = imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=16)
        try:
            for frame in _frames(images, width, multiple=16):
                writer.append_data(np.asarray(frame.convert("RGB")))
                n, size = n + 1, frame.size
        finally:
            writer.close()
        with open(path, "rb") as f:
            data = f.read()
    return data, {"frames": n, "width": size[0], "height": size[1], "bytes": len(data)}


def _relative_src(path: str) -> str:
    """A relative URL path, percent-encoded (``/`` kept)."""
    parts = urllib.parse.urlsplit(path)
    if parts.scheme or parts.netloc or path.startswith("/") or path.startswith("\\"):
        raise ValueError(f"timelapse path must be relative, got {path!r}")
    return urllib.parse.quote(path)


def _size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def timelapse_page(entries: Sequence[Mapping]) -> str:
    """A self-contained HTML page (no scripts, inline CSS) listing timelapses.

    ``entries``: mappings with ``rover``, ``camera``, ``frames`` (int), ``first_sol``,
    ``last_sol``, ``bytes`` (file size) and ``path`` (the WebP relative to the page, as
    written by write_webp); each becomes a heading, a line of figures and an ``<img>``
    that plays the WebP. Every value is HTML-escaped.

    Raises:
        ValueError: a path that is absolute or has a URL scheme or host.
        KeyError: a missing key.
    """
    esc = html.escape
    items = []
    for e in entries:
        title = f"{e['rover']} · {e['camera']}"
        sols = f"sols {e['first_sol']}–{e['last_sol']}"
        figures = f"{int(e['frames']):,} frames · {sols} · {_size_text(int(e['bytes']))}"
        items.append(
            "<section>\n"
            f"<h2>{esc(title)}</h2>\n"
            f"<p>{esc(figures)}</p>\n"
            f'<img src="{esc(_relative_src(str(e["path"])))}" alt="{esc(title + ", " + sols)}" loading="lazy">\n'
            "</section>"
        )
    body = "\n".join(items) if items else "<p>No timelapses.</p>"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Mars rover timelapses</title>\n"
        "<style>body{font-family:sans-serif;margin:2em;background:#111;color:#eee}"
        "img{max-width:100%;height:auto;display:block}section{margin-bottom:2em}</style>\n"
        "</head>\n<body>\n<h1>Mars rover timelapses</h1>\n"
        f"{body}\n</body>\n</html>\n"
    )
