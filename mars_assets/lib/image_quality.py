"""Silver ``image_quality`` rows of many rover × sol partitions, and their asset check.

Statistics come from silver ``image_stats`` (no second full decode); each image is read from
bronze once more only for its perceptual hash, decoded small with Pillow's draft mode
(:func:`mars_assets.imaging.quality.perceptual_hash`), on a few threads (libjpeg and zlib
release the GIL). Flags and duplicate groups: :mod:`mars_assets.imaging.quality`.

The camera's full frame (``small_frame``) is the largest width × height of the rover ×
camera in silver image_stats at the time of the write, over every partition: a
camera's full frame is what it delivers in this warehouse (a sensor-size table would call
every binned or browse product a thumbnail: the demo's Mastcam browse JPEGs, Mars 2020's
binned Navcam frames). Each row records the full frame it was compared with.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import dagster as dg

from mars_assets.imaging.decode import ImageDecodeError
from mars_assets.imaging.quality import FLAGS, QUALITY_VERSION, duplicate_groups, perceptual_hash, quality_flags
from mars_assets.resources import Warehouse

#: Columns of silver image_stats the flags need (the histograms and spectra are not read).
STATS_COLUMNS = (
    "rover",
    "sol",
    "image_id",
    "product_id",
    "camera",
    "width",
    "height",
    "bit_depth",
    "notes",
    "gray_mean",
    "gray_std",
    "entropy_bits",
    "saturated_fraction",
    "black_fraction",
)
#: Threads hashing images at once (reads and draft decodes; the GIL is released in both).
HASH_THREADS = min(8, 2 * (os.cpu_count() or 1))
#: Partitions listed one by one in the check's metadata table.
SHOWN_PARTITIONS = 100
CHECK_NAME = "quality_flags"


def _partition_filter(partitions: Sequence[tuple[str, int]]) -> tuple[str, list]:
    """A SQL condition on (rover, sol) naming exactly ``partitions``, with its parameters (a
    ``between`` per rover lets delta_scan skip files by their sol statistics)."""
    by_rover: dict[str, list[int]] = {}
    for rover, sol in partitions:
        by_rover.setdefault(rover, []).append(int(sol))
    conds, params = [], []
    for rover, sols in sorted(by_rover.items()):
        conds.append("(rover = ? and sol between ? and ? and list_contains(?, sol))")
        params += [rover, min(sols), max(sols), sorted(set(sols))]
    return " or ".join(conds), params


def read_stats(warehouse: Warehouse, partitions: Sequence[tuple[str, int]]) -> list[dict]:
    """The STATS_COLUMNS of every silver image_stats row of ``partitions``, sorted by rover,
    sol, image_id ([] before image_stats is written)."""
    if not partitions or not warehouse.has_table("silver", "image_stats"):
        return []
    where, params = _partition_filter(partitions)
    sql = (
        f"select {', '.join(STATS_COLUMNS)} from {warehouse.relation_sql('silver', 'image_stats')} "
        f"where {where} order by rover, sol, image_id"
    )
    con = warehouse.connect()
    try:
        return con.execute(sql, params).fetch_arrow_table().to_pylist()
    finally:
        con.close()


def full_frames(warehouse: Warehouse) -> dict[tuple[str, str], tuple[int, int]]:
    """``{(rover, camera): (width, height)}``: per rover × camera of silver image_stats the
    largest width × height (ties: the wider), the full frame ``small_frame`` compares with."""
    if not warehouse.has_table("silver", "image_stats"):
        return {}
    sql = f"""
        select rover, camera, width, height from (
            select rover, camera, width, height,
                   row_number() over (
                       partition by rover, camera order by width::bigint * height desc, width desc
                   ) as rank
            from (select distinct rover, camera, width, height
                  from {warehouse.relation_sql("silver", "image_stats")}
                  where camera is not null and width > 0 and height > 0)
        ) where rank = 1
    """
    con = warehouse.connect()
    try:
        found = con.execute(sql).fetchall()
    finally:
        con.close()
    return {(rover, camera): (int(w), int(h)) for rover, camera, w, h in found}


def hash_of(warehouse: Warehouse, row: dict) -> tuple[int | None, str | None]:
    """``(phash, None)`` of the bronze image of an image_stats ``row``, or ``(None, reason)``
    when its object cannot be read or decoded (truncated JPEGs are hashed as the statistics
    decoded them)."""
    path = f"bronze/images/rover={row['rover']}/sol={row['sol']}/{row['image_id']}"
    try:
        return perceptual_hash(warehouse.read_object(path), allow_truncated=True), None
    except ImageDecodeError as exc:
        return None, f"undecodable: {exc}"
    except OSError as exc:  # FileNotFoundError locally, pyarrow's OSError on S3
        return None, f"unreadable {path}: {exc}"


def hash_all(warehouse: Warehouse, stats: Sequence[dict]) -> list[tuple[int | None, str | None]]:
    """hash_of every row of ``stats``, in order, on HASH_THREADS threads."""
    if len(stats) < 2:
        return [hash_of(warehouse, r) for r in stats]
    with ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="phash") as pool:
        return list(pool.map(hash_of, [warehouse] * len(stats), stats))


def quality_rows(
    stats: Sequence[dict],
    hashes: Sequence[tuple[int | None, str | None]],
    frames: dict[tuple[str, str], tuple[int, int]],
) -> list[dict]:
    """Rows of silver image_quality (mars_assets.schemas.IMAGE_QUALITY_SCHEMA), one per row of
    ``stats`` in its order: flags against the rover × camera's full frame in ``frames``, the
    hash of ``hashes`` (same order) and the duplicate group among the hashed frames of the
    same rover × camera × sol (its smallest image_id)."""
    groups: dict[tuple, list[tuple[str, int]]] = {}
    for row, (phash, _) in zip(stats, hashes, strict=True):
        if phash is not None:
            groups.setdefault((row["rover"], row["camera"], row["sol"]), []).append((row["image_id"], phash))
    first_of: dict[tuple, str] = {}
    for (rover, camera, sol), items in groups.items():
        for image_id, group in duplicate_groups(items).items():
            first_of[(rover, camera, sol, image_id)] = group
    out = []
    for row, (phash, error) in zip(stats, hashes, strict=True):
        full = frames.get((row["rover"], row["camera"])) if row["camera"] is not None else None
        flags = quality_flags(row, full)
        out.append(
            {
                **{k: row[k] for k in ("image_id", "product_id", "rover", "sol", "camera", "width", "height")},
                "full_frame_width": full[0] if full else None,
                "full_frame_height": full[1] if full else None,
                "phash": phash,
                "hash_error": error,
                "flags": flags,
                **{f"flag_{name}": name in flags for name in FLAGS},
                "duplicate_of": first_of.get((row["rover"], row["camera"], row["sol"], row["image_id"])),
                "quality_version": QUALITY_VERSION,
            }
        )
    return out


@dataclass
class PartitionQuality:
    """The counts of one rover × sol: images, frames per flag, frames in duplicate groups."""

    rover: str
    sol: int
    images: int = 0
    flags: Counter = field(default_factory=Counter)
    duplicates: int = 0
    unhashed: int = 0


def per_partition(rows: Iterable[dict], partitions: Sequence[tuple[str, int]]) -> list[PartitionQuality]:
    """PartitionQuality of each of ``partitions`` (in order; zeros for one without images)."""
    out = {p: PartitionQuality(p[0], p[1]) for p in partitions}
    for r in rows:
        q = out[(r["rover"], r["sol"])]
        q.images += 1
        q.flags.update(r["flags"])
        q.duplicates += r["duplicate_of"] is not None
        q.unhashed += r["phash"] is None
    return list(out.values())


def totals(rows: Sequence[dict]) -> dict[str, int]:
    """``{flag: frames}`` for every flag of FLAGS, plus ``flagged`` (frames with any flag),
    ``in_duplicate_groups``, ``duplicate_groups`` and ``unhashed`` (frames without phash)."""
    counts = Counter(f for r in rows for f in r["flags"])
    return {
        **{name: counts[name] for name in FLAGS},
        "flagged": sum(bool(r["flags"]) for r in rows),
        "in_duplicate_groups": sum(r["duplicate_of"] is not None for r in rows),
        "duplicate_groups": len({(r["rover"], r["sol"], r["duplicate_of"]) for r in rows if r["duplicate_of"]}),
        "unhashed": sum(r["phash"] is None for r in rows),
    }


def _partition_table(parts: Sequence[PartitionQuality]) -> str:
    """Markdown: one line per partition with images (the first SHOWN_PARTITIONS)."""
    head = "| rover | sol | images | " + " | ".join(FLAGS) + " | in duplicate groups |"
    lines = [head, "|---|---:|---:|" + "---:|" * len(FLAGS) + "---:|"]
    shown = [p for p in parts if p.images]
    for p in shown[:SHOWN_PARTITIONS]:
        cells = " | ".join(str(p.flags[name]) for name in FLAGS)
        lines.append(f"| {p.rover} | {p.sol} | {p.images} | {cells} | {p.duplicates} |")
    if len(shown) > SHOWN_PARTITIONS:
        lines.append(f"| … {len(shown) - SHOWN_PARTITIONS} more partitions with images | | | |")
    return "\n".join(lines)


def quality_check(rows: Sequence[dict], partitions: Sequence[tuple[str, int]]) -> dg.AssetCheckResult:
    """The ``quality_flags`` check (WARN): passes when no frame of the run is flagged or in a
    duplicate group; its metadata counts frames per flag and duplicates, in all and per partition."""
    total = totals(rows)
    parts = per_partition(rows, partitions)
    noted = [p for p in parts if sum(p.flags.values()) or p.duplicates]
    return dg.AssetCheckResult(
        check_name=CHECK_NAME,
        asset_key=["silver", "image_quality"],
        passed=total["flagged"] == 0 and total["in_duplicate_groups"] == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{total['flagged']} of {len(rows)} frames flagged, {total['in_duplicate_groups']} in "
        f"{total['duplicate_groups']} duplicate groups, over {len(partitions)} partitions",
        metadata={
            "images": len(rows),
            **{f"flag {name}": total[name] for name in FLAGS},
            "flagged": total["flagged"],
            "frames in duplicate groups": total["in_duplicate_groups"],
            "duplicate groups": total["duplicate_groups"],
            "unhashed": total["unhashed"],
            "partitions": len(partitions),
            "partitions with flags or duplicates": len(noted),
            "by partition": dg.MetadataValue.md(_partition_table(parts)),
        },
    )


def frames_markdown(frames: dict[tuple[str, str], tuple[int, int]]) -> str:
    """Markdown table of the full frame per rover × camera."""
    lines = ["| rover | camera | full frame |", "|---|---|---|"]
    lines += [f"| {r} | {c} | {w} × {h} |" for (r, c), (w, h) in sorted(frames.items())]
    return "\n".join(lines)
