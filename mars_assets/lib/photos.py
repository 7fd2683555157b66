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

from mars_assets.lib.silver import now, quarantine_row, storage_schema
from mars_assets.resources import Warehouse
from mars_assets.sources.registry import PHOTO_SOURCES

PHOTOS = dg.AssetKey(["silver", "photos"])
QUARANTINE = dg.AssetKey(["silver", "photo_quarantine"])
#: Sols named in a check's metadata (all are counted).
SHOWN_SOLS = 20


@dataclass
class SolPhotos:
    """The silver rows of one rover × sol: ``photos`` (a table in the silver photos schema),
    quarantine rows (``bad``), what was left out by design, and the responses it came from
    (``pages``; ``rate_limit_remaining``: the last response's ``X-RateLimit-Remaining``)."""

    rover: str
    sol: int
    source: str
    photos: pa.Table
    bad: list[dict] = field(default_factory=list)
    duplicates: int = 0
    filtered: int = 0
    pages: int = 0
    rate_limit_remaining: str = ""

    @property
    def cameras(self) -> list[str]:
        return sorted(set(self.photos.column("camera").to_pylist()))


def sol_photos(rover: str, sol: int, source: str, bodies: Sequence[tuple[str, Any]]) -> SolPhotos:
    """Parse one partition's ``(object name, decoded JSON)`` bodies with ``source``'s parser.

    Rows of another rover or sol are quarantined with the reason; duplicates of a photo_id are
    dropped (counted). A body the parser cannot read at all raises its ResponseShapeError.
    """
    parsed = PHOTO_SOURCES[source].parse_pages(bodies, ingested_at=now())
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
    return SolPhotos(rover, sol, source, table, bad, duplicates, parsed.filtered)


def manifest_check(warehouse: Warehouse, parts: Sequence[SolPhotos]) -> dg.AssetCheckResult:
    """Compare each sol's photo count and camera set with the manifest's entry (where one exists).

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
    differ = [
        f"{p.rover} sol {p.sol}: {p.photos.num_rows} photos {p.cameras} vs manifest "
        f"{manifest[p.rover, p.sol]['total_photos']} {sorted(manifest[p.rover, p.sol]['cameras'])}"
        for p in covered
        if manifest[p.rover, p.sol]["total_photos"] != p.photos.num_rows
        or sorted(manifest[p.rover, p.sol]["cameras"]) != p.cameras
    ]
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
