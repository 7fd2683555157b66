"""Photo rows of one rover × sol from its responses, and the checks of a batch of sols.

Used by the ``photos`` multi-asset (mars_assets/defs/bronze/photos.py), which fetches a batch
of sols concurrently and turns each sol's bodies into silver rows as they arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from mars_assets.lib.silver import now, quarantine_row, storage_schema
from mars_assets.resources import Warehouse
from mars_assets.sources.drift import Drift
from mars_assets.sources.registry import PHOTO_SOURCES

PHOTOS = dg.AssetKey(["silver", "photos"])
QUARANTINE = dg.AssetKey(["silver", "photo_quarantine"])
#: Sols named in a check's metadata (all are counted).
SHOWN_SOLS = 20
#: The sample type the manifest counts: the v1 API (whose manifests these are) kept only full frames.
FULL_FRAME = "full"


def is_full_frame(sample_type: str | None) -> bool:
    """The rule for which silver photo rows count against the manifest (and in gold photo_gaps,
    camera_usage, sol_activity, mission_summary: the dbt macro ``is_full_frame``): a row whose
    ``sample_type`` is ``full`` in any case (MSL ``full``, Mars 2020 ``Full``, v1 ``full``), or
    null (v1 rows written before the column was filled). Other products (MSL ``downsampled``,
    ``subframe``, ``chemcam prc`` ...) are kept in silver but not counted."""
    return sample_type is None or sample_type.lower() == FULL_FRAME


def full_frames(photos: pa.Table) -> pa.Table:
    """The rows of a silver photos table that :func:`is_full_frame` counts."""
    st = pc.utf8_lower(photos.column("sample_type"))
    return photos.filter(pc.fill_null(pc.equal(st, FULL_FRAME), True))


@dataclass
class SolPhotos:
    """The silver rows of one rover × sol: ``photos`` (a table in the silver photos schema),
    quarantine rows (``bad``), what was left out by design, why the pages were read as they
    were when that is not the plain reading (``notes``, e.g. a Mars 2020 fallback answer taken
    as an empty sol), the schema drift of its records (``drift``: fields unknown, missing or
    retyped against the source's, :class:`mars_assets.sources.drift.Drift`; None for a source
    without a field list) and the responses it came from (``pages``; ``rate_limit_remaining``:
    the last response's ``X-RateLimit-Remaining``)."""

    rover: str
    sol: int
    source: str
    photos: pa.Table
    bad: list[dict] = field(default_factory=list)
    duplicates: int = 0
    filtered: int = 0
    pages: int = 0
    rate_limit_remaining: str = ""
    notes: list[str] = field(default_factory=list)
    drift: Drift | None = None

    @property
    def cameras(self) -> list[str]:
        return sorted(set(self.photos.column("camera").to_pylist()))


def sol_photos(rover: str, sol: int, source: str, bodies: Sequence[tuple[str, Any]]) -> SolPhotos:
    """Parse one partition's ``(object name, decoded JSON)`` bodies with ``source``'s parser.

    Rows of another rover or sol are quarantined with the reason; duplicates of a photo_id are
    dropped (counted); the parser's schema drift is carried as ``drift``. A body the parser
    cannot read at all raises its ResponseShapeError.
    """
    parsed = PHOTO_SOURCES[source].parse_sol(rover, sol, bodies, ingested_at=now())
    bad = [quarantine_row(rover, sol, r["record_key"], r["origin"], r["reason"], r["raw"]) for r in parsed.rejects]
    rows: dict[int, dict] = {}
    duplicates = 0
    for row in parsed.rows:
        if row["rover"] != rover or row["sol"] != sol:
            reason = f"photo of {row['rover']} sol {row['sol']} in the {rover} sol {sol} response"
            bad.append(quarantine_row(rover, sol, str(row["photo_id"]), source, reason, row))
            continue
        duplicates += row["photo_id"] in rows
        rows[row["photo_id"]] = row
    table = pa.Table.from_pylist([rows[k] for k in sorted(rows)], schema=storage_schema("photos"))
    return SolPhotos(
        rover, sol, source, table, bad, duplicates, parsed.filtered, notes=list(parsed.notes), drift=parsed.drift
    )


def manifest_check(warehouse: Warehouse, parts: Sequence[SolPhotos]) -> dg.AssetCheckResult:
    """Compare each sol's full-frame count and their camera set with the manifest's entry (where one exists).

    Only rows :func:`is_full_frame` counts are compared (the manifest is the v1 API's, which
    kept only full frames); the other sample types are counted in ``not_full_frame_rows``.
    One result for the batch: WARN when any covered sol differs; the metadata counts the sols
    compared and names the first SHOWN_SOLS that differ.
    """
    manifest: dict[tuple[str, int], dict] = {}
    if parts and warehouse.has_table("silver", "manifest_sols"):
        for rover in sorted({p.rover for p in parts}):
            sols = [p.sol for p in parts if p.rover == rover]
            found = warehouse.read_table(
                "silver",
                "manifest_sols",
                where="rover = ? and sol between ? and ?",
                params=[rover, min(sols), max(sols)],
            )
            manifest |= {(r["rover"], r["sol"]): r for r in found.to_pylist()}
    covered = [p for p in parts if (p.rover, p.sol) in manifest]
    full = {(p.rover, p.sol): full_frames(p.photos) for p in parts}
    differ = []
    for p in covered:
        entry, rows = manifest[p.rover, p.sol], full[p.rover, p.sol]
        cameras = sorted(set(rows.column("camera").to_pylist()))
        if entry["total_photos"] != rows.num_rows or sorted(entry["cameras"]) != cameras:
            differ.append(
                f"{p.rover} sol {p.sol}: {rows.num_rows} photos {cameras} vs manifest "
                f"{entry['total_photos']} {sorted(entry['cameras'])}"
            )
    return dg.AssetCheckResult(
        check_name="matches_manifest",
        asset_key=PHOTOS,
        passed=not differ,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "sols": len(parts),
            "sols_covered_by_manifest": len(covered),
            "sols_differing": len(differ),
            "differing": "\n".join(differ[:SHOWN_SOLS]),
            "not_full_frame_rows": sum(p.photos.num_rows - full[p.rover, p.sol].num_rows for p in parts),
        },
    )


def quarantine_check(parts: Sequence[SolPhotos]) -> dg.AssetCheckResult:
    """WARN when any record of the batch could not be typed; counts and names the sols."""
    bad = [p for p in parts if p.bad]
    return dg.AssetCheckResult(
        check_name="no_quarantined_photos",
        asset_key=QUARANTINE,
        passed=not bad,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarantined": sum(len(p.bad) for p in parts),
            "sols_with_quarantine": ", ".join(f"{p.rover} {p.sol}" for p in bad[:SHOWN_SOLS]),
        },
    )
