"""``dashboards/timelapse``: an animated WebP per rover × camera over the configured sols, and a page
listing them (``<root>/dashboards/timelapse/index.html``; mars_assets.lib.timelapse has the layout)."""

import time
from pathlib import Path

import dagster as dg

from mars_assets.defs.automation.conditions import EAGER_OVER_PARTITIONS
from mars_assets.lib.dashboards import GROUP
from mars_assets.lib.timelapse import entries_markdown, write_timelapses
from mars_assets.partitions import ROVERS
from mars_assets.resources import Warehouse
from mars_assets.resources.timelapse import TimelapseConfig


@dg.asset(
    key=["dashboards", "timelapse"],
    group_name=GROUP,
    kinds={"webp", "html"},
    automation_condition=EAGER_OVER_PARTITIONS,
    deps=[dg.AssetKey(["silver", "image_quality"]), dg.AssetKey(["silver", "photos"])],
    description="dashboards/timelapse/: per rover × camera an animated WebP of its frames over MARS_TIMELAPSE_SOLS "
    "(no flagged or duplicate frames, similar mast pointing where known, in acquisition order), a JSON list "
    "of the frames beside it, and index.html playing them.",
)
def timelapse_dashboard(
    context: dg.AssetExecutionContext, warehouse: Warehouse, timelapse: TimelapseConfig
) -> dg.MaterializeResult:
    """Candidate frames from silver image_quality and photos (one DuckDB query), each chosen
    frame read from bronze once and decoded small (Pillow draft mode)."""
    started = time.perf_counter()
    written = write_timelapses(warehouse, timelapse, ROVERS)
    for name, reason in written.failed.items():
        context.log.warning(f"timelapse {name} not written: {reason}")
    uri = written.page_uri
    url = uri if uri.startswith("s3://") else Path(uri).resolve().as_uri()
    table = entries_markdown(written.entries, written.skipped)
    summary = {
        e["path"]: {k: e[k] for k in ("frames", "first_sol", "last_sol", "bytes", "width", "height")}
        for e in written.entries
    }
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(uri),
            "url": dg.MetadataValue.url(url),
            "sols": timelapse.sols,
            "timelapses": len(written.entries),
            "frames": sum(e["frames"] for e in written.entries),
            "bytes": dg.MetadataValue.int(sum(e["bytes"] for e in written.entries)),
            "skipped": len(written.skipped),
            "failed": len(written.failed),
            "by timelapse": dg.MetadataValue.json(summary),
            "preview": dg.MetadataValue.md(f"[timelapse page]({url}) · sols {timelapse.sols}\n\n{table}"),
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
