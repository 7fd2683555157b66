"""The timelapse asset's helpers: the candidate frames (DuckDB), one timelapse per rover × camera,
the files written under ``<root>/dashboards/timelapse/``.

Frames come from silver ``image_quality`` (flags, duplicate groups; only hashed frames, whose
bytes decoded small once already) joined to silver ``photos`` on rover, sol and product id
for the mast pointing (``mast_az``, ``mast_el``) and the acquisition time (``date_taken_utc``);
a frame without a photo row (a landing-zone file) has neither. The choice and the encoding
are :mod:`mars_assets.imaging.timelapse`'s. Layout::

    <root>/dashboards/timelapse/index.html              the page (timelapse_page), <img> per timelapse
    <root>/dashboards/timelapse/<rover>/<camera>.webp   animated WebP, looping
    <root>/dashboards/timelapse/<rover>/<camera>.json   its frames: image_id, sol, taken_at, in order
    <root>/dashboards/timelapse/<rover>/<camera>.mp4    H.264, only with imageio-ffmpeg installed

``<camera>`` is the camera name with anything but letters, digits, ``_``, ``.`` and ``-``
replaced by ``_``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mars_assets.imaging.timelapse import select_frames, timelapse_page, write_mp4, write_webp
from mars_assets.resources import Warehouse
from mars_assets.resources.timelapse import TimelapseConfig

PREFIX = "dashboards/timelapse"
#: Fewer selected frames than this make no timelapse (listed as skipped).
MIN_FRAMES = 2


def candidate_frames(warehouse: Warehouse, sols: tuple[int, int] | None) -> dict[tuple[str, str], list[dict]]:
    """``{(rover, camera): frames}`` of every hashed image of silver image_quality with a camera
    (within ``sols``, inclusive, when given), each a dict with ``image_id``, ``product_id``,
    ``sol``, ``flags``, ``duplicate_of``, ``mast_az``, ``mast_el`` (degrees or None) and
    ``taken_at`` (UTC datetime or None) for select_frames; {} before image_quality is written."""
    if not warehouse.has_table("silver", "image_quality"):
        return {}
    cond, params = ("sol between ? and ?", list(sols)) if sols else ("true", [])
    pointing = "select null::varchar as rover, null::bigint as sol, null::varchar as product_id, "
    pointing += "null::double as mast_az, null::double as mast_el, null::timestamptz as taken_at where false"
    if warehouse.has_table("silver", "photos"):
        pointing = f"""
            select rover, sol, product_id, min(mast_az) as mast_az, min(mast_el) as mast_el,
                   min(date_taken_utc) as taken_at
            from {warehouse.relation_sql("silver", "photos")}
            where {cond} and product_id in (select product_id from q)
            group by rover, sol, product_id"""
        params = params + params
    sql = f"""
        with q as (
            select rover, camera, sol, image_id, product_id, flags, duplicate_of
            from {warehouse.relation_sql("silver", "image_quality")}
            where {cond} and camera is not null and phash is not null
        ),
        p as ({pointing})
        select q.*, p.mast_az, p.mast_el, p.taken_at
        from q left join p using (rover, sol, product_id)
        order by q.rover, q.camera, q.sol, q.image_id
    """
    con = warehouse.connect()
    try:
        found = con.execute(sql, params).fetch_arrow_table().to_pylist()
    finally:
        con.close()
    out: dict[tuple[str, str], list[dict]] = {}
    for row in found:
        out.setdefault((row["rover"], row["camera"]), []).append(row)
    return out


def thin(frames: Sequence[Mapping], most: int) -> list[Mapping]:
    """At most ``most`` (>= 2) of ``frames``, evenly spaced, the first and the last kept."""
    if len(frames) <= most:
        return list(frames)
    picks = np.unique(np.round(np.linspace(0, len(frames) - 1, most)).astype(int))
    return [frames[i] for i in picks]


def file_stem(camera: str, taken: set[str]) -> str:
    """A file name for ``camera``: unsafe characters replaced by ``_``, ``-2``... if already ``taken``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", camera).strip(".") or "camera"
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    taken.add(name)
    return name


def _frame_bytes(warehouse: Warehouse, frames: Sequence[Mapping], used: list[Mapping]) -> Iterator[bytes]:
    """The bronze bytes of each frame, in order; a frame whose object cannot be read is skipped,
    the others appended to ``used``."""
    for f in frames:
        try:
            data = warehouse.read_object(f"bronze/images/rover={f['rover']}/sol={f['sol']}/{f['image_id']}")
        except OSError:
            continue
        used.append(f)
        yield data


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class Timelapse:
    """One written timelapse: its page entry and its files (name relative to PREFIX -> bytes)."""

    entry: dict
    files: dict[str, bytes] = field(default_factory=dict)


def build_timelapse(
    warehouse: Warehouse, rover: str, camera: str, stem: str, frames: Sequence[Mapping], cfg: TimelapseConfig
) -> Timelapse | None:
    """The timelapse of one rover × camera from its candidate ``frames``: select_frames, thinned
    to ``cfg.max_frames``, encoded as WebP (and MP4 with imageio-ffmpeg), with the JSON list of
    its frames. None when fewer than MIN_FRAMES frames remain.

    Raises:
        ImageDecodeError: a frame that cannot be decoded.
    """
    chosen = thin(select_frames(frames), cfg.max_frames)
    if len(chosen) < MIN_FRAMES:
        return None
    used: list[Mapping] = []
    webp, info = write_webp(_frame_bytes(warehouse, chosen, used), width=cfg.width, fps=cfg.fps)
    if len(used) < MIN_FRAMES:
        return None
    sols = [int(f["sol"]) for f in used]
    listing = {
        "rover": rover,
        "camera": camera,
        **info,
        "fps": cfg.fps,
        "first_sol": min(sols),
        "last_sol": max(sols),
        "candidates": len(frames),
        "items": [{"image_id": f["image_id"], "sol": int(f["sol"]), "taken_at": _iso(f["taken_at"])} for f in used],
    }
    out = Timelapse(
        entry={
            "rover": rover,
            "camera": camera,
            "frames": info["frames"],
            "first_sol": min(sols),
            "last_sol": max(sols),
            "bytes": info["bytes"],
            "path": f"{rover}/{stem}.webp",
            "width": info["width"],
            "height": info["height"],
            "candidates": len(frames),
        },
        files={f"{stem}.webp": webp, f"{stem}.json": json.dumps(listing, indent=1).encode()},
    )
    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        mp4 = write_mp4(_frame_bytes(warehouse, used, []), width=cfg.width, fps=cfg.fps)
        if mp4 is not None:
            out.files[f"{stem}.mp4"] = mp4[0]
            out.entry["mp4_bytes"] = mp4[1]["bytes"]
    return out


def entries_markdown(entries: Sequence[Mapping], skipped: Sequence[str]) -> str:
    """Markdown: one line per timelapse (frames, sols, size, file), then the skipped cameras."""
    lines = ["| rover | camera | frames | sols | size | file |", "|---|---|---:|---|---:|---|"]
    for e in entries:
        size = f"{e['bytes'] / 1e3:,.0f} kB"
        sols = f"{e['first_sol']}–{e['last_sol']}"
        lines.append(f"| {e['rover']} | {e['camera']} | {e['frames']} | {sols} | {size} | {e['path']} |")
    if skipped:
        lines.append("")
        lines.append(f"No timelapse (fewer than {MIN_FRAMES} frames chosen): {', '.join(skipped)}")
    return "\n".join(lines)


@dataclass
class Written:
    """What write_timelapses wrote: the page entries (rover, then camera order), the rover ×
    camera pairs without a timelapse, those that failed with the reason, the page's URI."""

    entries: list[dict]
    skipped: list[str]
    failed: dict[str, str]
    page_uri: str


def write_timelapses(warehouse: Warehouse, cfg: TimelapseConfig, rovers: Sequence[str]) -> Written:
    """Every timelapse of ``cfg.sol_range()`` and the page, under PREFIX: one rover's files at a
    time (a rover's folder is replaced whole, so a timelapse no longer made is deleted; a rover
    without any is emptied), then ``index.html``. A timelapse whose frames cannot be decoded is
    left out and named in ``failed`` (the others are written)."""
    candidates = candidate_frames(warehouse, cfg.sol_range())
    entries, skipped, failed = [], [], {}
    for rover in sorted(set(rovers) | {r for r, _ in candidates}):
        files: dict[str, bytes] = {}
        taken: set[str] = set()
        for (r, camera), frames in sorted(candidates.items()):
            if r != rover:
                continue
            try:
                made = build_timelapse(warehouse, rover, camera, file_stem(camera, taken), frames, cfg)
            except ValueError as exc:  # ImageDecodeError is a ValueError
                failed[f"{rover}/{camera}"] = str(exc)
                continue
            if made is None:
                skipped.append(f"{rover}/{camera}")
                continue
            entries.append(made.entry)
            files |= made.files
        warehouse.write_objects(f"{PREFIX}/{rover}", files)
    page = timelapse_page(entries).encode("utf-8")
    uri = warehouse.write_objects(PREFIX, {"index.html": page}, replace=False)[0]
    return Written(entries, skipped, failed, uri)
