"""``dashboards/images``: the images dashboard: extreme images, RGB histograms, magnitude spectra
(``<root>/dashboards/images/index.html``)."""

import dagster as dg

from mars_assets.dashboards import build_images_dashboard, queries
from mars_assets.dashboards.images import SELECTION_METRICS
from mars_assets.lib.dashboards import IMAGES_PER_END, dashboard_asset, publish, selected_images
from mars_assets.resources import Warehouse


@dashboard_asset(
    "images",
    [("silver", "image_stats"), ("gold", "image_stats_daily"), ("gold", "image_quality_daily")],
    "dashboards/images/index.html: the extreme images by brightness, sharpness and spectral slope with "
    "thumbnail, RGB histograms, log-magnitude and radial power spectra; quality flags and near duplicates "
    "per camera; per-camera trends over sols.",
)
def images_dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    """Every input aggregated or capped in DuckDB: a sample of at most ``queries.IMAGE_SAMPLE``
    images for the scatter, the key numbers over all images, the candidate extremes (at most
    2 × IMAGES_PER_END per metric, whole rows), gold image_stats_daily binned to at most
    ``queries.TREND_POINTS`` points per rover × camera and gold image_quality_daily summed per
    rover × camera."""
    metrics = tuple(column for column, _, _ in SELECTION_METRICS)
    inputs = {
        "silver.image_stats sample": queries.image_sample(warehouse),
        "silver.image_stats extremes": queries.image_candidates(warehouse, metrics, IMAGES_PER_END),
        "gold.image_stats_daily by run of sols": queries.image_trends(warehouse),
        "gold.image_quality_daily by rover and camera": queries.quality_by_camera(warehouse),
    }
    totals = queries.image_totals(warehouse)
    picks = selected_images(warehouse, inputs["silver.image_stats extremes"])
    page = build_images_dashboard(
        image_stats=inputs["silver.image_stats sample"],
        image_stats_daily=inputs["gold.image_stats_daily by run of sols"],
        selected=picks,
        totals=totals or {"images": 0},
        quality=inputs["gold.image_quality_daily by rover and camera"],
    )
    shown = ", ".join(f"{p.stats['image_id']} ({'/'.join(p.labels)})" for p in picks)
    counts = {
        "silver.image_stats": (totals or {}).get("images", 0),
        "gold.image_stats_daily": (totals or {}).get("daily_groups", 0),
    }
    return publish(warehouse, page, inputs, {"selected images": dg.MetadataValue.text(shown or "none")}, counts)
