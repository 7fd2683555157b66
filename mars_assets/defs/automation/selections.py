"""Asset selections the sensors and schedules target."""

import dagster as dg

#: Every partitioned asset of one rover × sol.
INGEST_ASSETS = dg.AssetSelection.assets(
    ["bronze", "photos"],
    ["silver", "photos"],
    ["silver", "photo_quarantine"],
    ["bronze", "images"],
    ["silver", "images"],
    ["silver", "image_stats"],
    ["silver", "image_quarantine"],
    ["silver", "image_quality"],
)
#: The photo metadata of one rover × sol (bronze responses, silver rows, quarantine).
PHOTO_ASSETS = dg.AssetSelection.assets(["bronze", "photos"], ["silver", "photos"], ["silver", "photo_quarantine"])
#: The image assets of one rover × sol.
IMAGE_ASSETS = dg.AssetSelection.assets(
    ["bronze", "images"],
    ["silver", "images"],
    ["silver", "image_stats"],
    ["silver", "image_quarantine"],
    ["silver", "image_quality"],
)
