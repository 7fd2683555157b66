"""``bronze/photos`` → ``silver/photos``, ``silver/photo_quarantine``: a batch of rover × sol
partitions per step, fetched concurrently, each sol's bodies parsed as they arrive.

One step writes all three assets (they share the responses in memory; a sol that fails fails
alone). Selected without ``bronze/photos`` the step re-parses the bronze bodies instead of
fetching (a parser fix needs no new request).
"""

import time
from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from mars_assets.executors import NASA_TAGS
from mars_assets.lib.bronze import API_POOL, RETRY, response_objects
from mars_assets.lib.photos import (
    PHOTOS,
    QUARANTINE,
    SolPhotos,
    full_frames,
    manifest_check,
    quarantine_check,
    sol_photos,
)
from mars_assets.lib.progress import Progress
from mars_assets.lib.silver import bronze_pages, table_metadata, write_silver
from mars_assets.partitions import ingest_backfill_policy, rover_sol_key, rover_sol_of_key, rover_sol_partitions
from mars_assets.resources import UpstreamSources, Warehouse
from mars_assets.sources.concurrent import fetch_sols
from mars_assets.sources.drift import summarize
from mars_assets.sources.http import ApiResponse

BRONZE = dg.AssetKey(["bronze", "photos"])
DRIFT = dg.AssetCheckKey(BRONZE, "schema_drift")
#: Passes over the sols of a batch that failed (after urllib3's own retries of each request),
#: waiting ``backoff_factor × 2^pass`` seconds of the source before each.
SOL_RETRIES = 2
#: Errors of a sol named in the failure of a step (all are counted).
SHOWN_ERRORS = 10


def _prefix(rover: str, sol: int) -> str:
    return f"bronze/photos/rover={rover}/sol={sol}"


def _stored(warehouse: Warehouse, source: str, rover: str, sol: int, pages: list[ApiResponse]) -> SolPhotos:
    """Write a sol's responses to bronze verbatim, then parse them (the bodies already in memory)."""
    objects: dict[str, bytes] = {}
    for i, resp in enumerate(pages, start=1):
        objects.update(response_objects(f"page-{i:04d}", resp, source=source))
    warehouse.write_objects(_prefix(rover, sol), objects)
    bodies = [(f"page-{i:04d}.json", resp.json()) for i, resp in enumerate(pages, start=1)]
    part = sol_photos(rover, sol, source, bodies)
    part.pages = len(pages)
    part.rate_limit_remaining = pages[-1].headers.get("X-RateLimit-Remaining", "") if pages else ""
    return part


def _fetched(
    context: dg.AssetExecutionContext, sources: UpstreamSources, warehouse: Warehouse, rover: str, sols: list[int]
) -> Iterator[tuple[int, SolPhotos | Exception]]:
    """``(sol, rows)`` or ``(sol, error)`` of each sol, fetched ``source.concurrency`` at a time;
    failed sols are fetched again in up to SOL_RETRIES later passes."""
    source = sources.photo_source(rover)
    pending = list(sols)
    failed: list[tuple[int, Exception]] = []
    for attempt in range(SOL_RETRIES + 1):
        failed = []
        for sol, result in fetch_sols(source, rover, pending):
            if isinstance(result, Exception):
                failed.append((sol, result))
                continue
            try:
                yield sol, _stored(warehouse, source.name, rover, sol, result)
            except (ValueError, KeyError, TypeError) as exc:  # a body the parser cannot read
                failed.append((sol, exc))
        if not failed or attempt == SOL_RETRIES:
            break
        delay = source.backoff_factor * 2**attempt
        context.log.warning(f"{rover}: {len(failed)} sol(s) failed, fetched again in {delay:.1f} s")
        time.sleep(delay)
        pending = [sol for sol, _ in failed]
    yield from failed


def _reparsed(warehouse: Warehouse, rover: str, sols: list[int]) -> Iterator[tuple[int, SolPhotos | Exception]]:
    """``(sol, rows)`` of each sol parsed again from its bronze bodies (no request)."""
    for sol in sols:
        try:
            source, bodies = bronze_pages(warehouse, _prefix(rover, sol))
            part = sol_photos(rover, sol, source, bodies)
            part.pages = len(bodies)
            yield sol, part
        except (ValueError, KeyError, TypeError, OSError) as exc:
            yield sol, exc


def _partition_metadata(context: dg.AssetExecutionContext, part: SolPhotos) -> dict[dg.AssetKey, dict]:
    """Per-partition metadata of each selected asset, for the materializations a step that
    fails logs one by one (a successful step records the batch's figures on every partition:
    ``add_asset_metadata`` per partition costs a scan of the whole partition range each)."""
    md = {
        BRONZE: {"source": part.source, "pages": part.pages},
        PHOTOS: {"dagster/row_count": part.photos.num_rows, "cameras": ", ".join(part.cameras)},
        QUARANTINE: {"dagster/row_count": len(part.bad)},
    }
    return {k: v for k, v in md.items() if k in context.selected_asset_keys}


def _drift_check(parts: list[SolPhotos]) -> dg.AssetCheckResult:
    """WARN when any fetched record of the run has a field its source is not known to send,
    lacks one or sends one with another JSON type; the metadata names the keys and counts."""
    passed, md = summarize((f"{p.rover} {p.sol}", p.drift) for p in parts)
    return dg.AssetCheckResult(
        check_name=DRIFT.name,
        asset_key=BRONZE,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={**md, "by_source": dg.MetadataValue.json(md["by_source"]), "sols": len(parts)},
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            BRONZE,
            group_name="bronze",
            kinds={"json"},
            description="Verbatim responses of one rover × sol from the rover's configured source "
            "(mars_assets.sources.registry): the Photos API v1 or a mirror (a whole sol in one request, "
            "or pages), or the JPL raw-image feed (Perseverance RSS API, Curiosity raw_image_items); "
            "page-NNNN.json beside page-NNNN.meta.json.",
        ),
        dg.AssetSpec(
            PHOTOS,
            group_name="silver",
            kinds={"delta"},
            deps=[BRONZE, ["silver", "manifest_sols"]],
            automation_condition=dg.AutomationCondition.eager(),
            metadata=table_metadata("photos"),
            description="One row per photo (Photos API v1 fields, typed; img_src in https; product_id from "
            "the file name; JPL feed fields where the source has them), deduplicated on photo_id.",
        ),
        dg.AssetSpec(
            QUARANTINE,
            group_name="silver",
            kinds={"delta"},
            deps=[BRONZE],
            automation_condition=dg.AutomationCondition.eager(),
            metadata=table_metadata("photo_quarantine"),
            description="Photo records that could not be typed, or belong to another rover × sol, with the reason.",
        ),
    ],
    name="photos",
    partitions_def=rover_sol_partitions,
    backfill_policy=ingest_backfill_policy(),
    can_subset=True,
    pool=API_POOL,
    op_tags=NASA_TAGS,
    retry_policy=RETRY,
    check_specs=[
        dg.AssetCheckSpec(
            "matches_manifest",
            asset=PHOTOS,
            description="Where the manifest covers a sol, its photo count and camera set equal the "
            "manifest's total_photos and cameras (one result per run, naming the sols that differ).",
        ),
        dg.AssetCheckSpec(
            "no_quarantined_photos",
            asset=QUARANTINE,
            description="Every photo record of the run's partitions could be typed.",
        ),
        dg.AssetCheckSpec(
            DRIFT.name,
            asset=BRONZE,
            description="The fetched records carry the fields their source is known to send, with their JSON "
            "types (mars_assets.sources.drift): one result per run, naming unknown, missing and retyped keys "
            "with counts per source.",
        ),
    ],
)
def photos(context: dg.AssetExecutionContext, sources: UpstreamSources, warehouse: Warehouse):
    keys = [rover_sol_of_key(k) for k in context.partition_keys]
    fetch = BRONZE in context.selected_asset_keys
    progress = Progress("photos", len(keys), context.log.info)
    parts: list[SolPhotos] = []
    errors: dict[tuple[str, int], Exception] = {}
    for rover in sorted({r for r, _ in keys}):
        sols = [s for r, s in keys if r == rover]
        found = _fetched(context, sources, warehouse, rover, sols) if fetch else _reparsed(warehouse, rover, sols)
        for sol, result in found:
            if isinstance(result, Exception):
                errors[rover, sol] = result
                progress.advance(1, failed=1)
            else:
                parts.append(result)
                progress.advance(1, result.photos.num_rows)
    parts.sort(key=lambda p: (p.rover, p.sol))
    done = [(p.rover, p.sol) for p in parts]
    notes = [f"{p.rover} sol {p.sol}: {n}" for p in parts for n in p.notes]
    for note in notes[:SHOWN_ERRORS]:
        context.log.info(note)
    results: dict[dg.AssetKey, dg.MaterializeResult] = {}
    if fetch:
        results[BRONZE] = dg.MaterializeResult(
            asset_key=BRONZE,
            metadata={
                "pages": sum(p.pages for p in parts),
                "x_ratelimit_remaining": parts[-1].rate_limit_remaining if parts else "",
                # how pages were read when not plainly (e.g. a Mars 2020 fallback answer as an empty sol)
                "sols_with_notes": len({(p.rover, p.sol) for p in parts if p.notes}),
                "notes": "\n".join(notes[:SHOWN_ERRORS]),
                **progress.metadata(),
            },
        )
    if PHOTOS in context.selected_asset_keys and done:
        table = pa.concat_tables([p.photos for p in parts])
        results[PHOTOS] = write_silver(
            context,
            warehouse,
            "photos",
            table,
            done,
            duplicates_dropped=sum(p.duplicates for p in parts),
            # thumbnails and records repeated across pages, left out by design
            filtered_thumbnails_and_repeats=sum(p.filtered for p in parts),
            # kept rows of other sample types (MSL downsampled, subframe ...): not counted against the manifest
            not_full_frame_rows=table.num_rows - full_frames(table).num_rows,
            **progress.metadata(),
        )
    if QUARANTINE in context.selected_asset_keys and done:
        results[QUARANTINE] = write_silver(
            context, warehouse, "photo_quarantine", [r for p in parts for r in p.bad], done
        )
    if errors:  # the successful partitions materialize one by one, the step fails below
        for part in parts:
            key = rover_sol_key(part.rover, part.sol)
            for asset_key, md in _partition_metadata(context, part).items():
                shared = results[asset_key].metadata or {}
                context.log_event(dg.AssetMaterialization(asset_key, partition=key, metadata={**shared, **md}))
    if not errors:
        yield from results.values()
    if PHOTOS in context.selected_asset_keys:
        yield manifest_check(warehouse, parts)
    if QUARANTINE in context.selected_asset_keys:
        yield quarantine_check(parts)
    if DRIFT in context.selected_asset_check_keys:
        yield _drift_check(parts)
    if errors:
        shown = [f"{r} sol {s}: {exc}" for (r, s), exc in sorted(errors.items())[:SHOWN_ERRORS]]
        raise dg.Failure(
            description=f"{len(errors)} of {len(keys)} rover × sol partitions failed (the others are "
            f"materialized; the gap sensor requests the failed ones again):\n" + "\n".join(shown),
            metadata={"failed_partitions": ", ".join(f"{r}|{s}" for r, s in sorted(errors))},
            allow_retries=False,
        )
