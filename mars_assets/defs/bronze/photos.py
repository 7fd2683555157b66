"""``bronze/photos``: the verbatim responses of one rover × sol from the rover's configured source."""

import dagster as dg

from mars_assets.lib.bronze import API_POOL, RETRY, response_objects
from mars_assets.partitions import rover_sol_of, rover_sol_partitions
from mars_assets.resources import UpstreamSources, Warehouse


@dg.asset(
    key=["bronze", "photos"],
    group_name="bronze",
    kinds={"json"},
    partitions_def=rover_sol_partitions,
    pool=API_POOL,
    retry_policy=RETRY,
    description="Verbatim responses of one rover × sol from the rover's configured source "
    "(mars_assets.sources.registry): pages of the Photos API v1 or a mirror, or the JPL raw-image "
    "feed (Perseverance RSS API, Curiosity raw_image_items); page-NNNN.json beside page-NNNN.meta.json.",
)
def bronze_photos(context: dg.AssetExecutionContext, sources: UpstreamSources, warehouse: Warehouse):
    rover, sol = rover_sol_of(context)
    source = sources.photo_source(rover)
    pages = source.fetch_sol(rover, sol)
    objects: dict[str, bytes] = {}
    for i, resp in enumerate(pages, start=1):
        objects.update(response_objects(f"page-{i:04d}", resp, source=source.name))
    warehouse.write_objects(f"bronze/photos/rover={rover}/sol={sol}", objects)
    last = pages[-1].headers.get("X-RateLimit-Remaining", "") if pages else ""
    return dg.MaterializeResult(metadata={"source": source.name, "pages": len(pages), "x_ratelimit_remaining": last})
