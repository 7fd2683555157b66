"""``dashboards/images``: the images dashboard: extreme images, RGB histograms, magnitude spectra
(``<root>/dashboards/images/index.html``)."""

import dagster as dg

from mars_assets.dashboards import build_images_dashboard
from mars_assets.lib.dashboards import dashboard_asset, publish, read_or_none, selected_images
from mars_assets.resources import Warehouse


@dashboard_asset(
    "images",
    [("silver", "image_stats"), ("gold", "image_stats_daily")],
    "dashboards/images/index.html: the extreme images by brightness, sharpness and spectral slope with "
    "thumbnail, RGB histograms, log-magnitude and radial power spectra; per-camera trends over sols.",
)
def images_dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    inputs = {
        "silver.image_stats": read_or_none(warehouse, "silver", "image_stats"),
        "gold.image_stats_daily": read_or_none(warehouse, "gold", "image_stats_daily"),
    }
    picks = selected_images(warehouse, inputs["silver.image_stats"])
    page = build_images_dashboard(
        image_stats=inputs["silver.image_stats"], image_stats_daily=inputs["gold.image_stats_daily"], selected=picks
    )
    shown = ", ".join(f"{p.stats['image_id']} ({'/'.join(p.labels)})" for p in picks)
    return publish(warehouse, page, inputs, {"selected images": dg.MetadataValue.text(shown or "none")})
