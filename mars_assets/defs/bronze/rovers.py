"""``bronze/rovers``: the verbatim ``GET /rovers`` of the Photos API v1 (or a mirror)."""

import dagster as dg

from mars_assets.executors import NASA_TAGS
from mars_assets.lib.bronze import API_POOL, RETIRED, RETRY, response_objects
from mars_assets.resources import UpstreamSources, Warehouse
from mars_assets.sources.http import ApiError


@dg.asset(
    key=["bronze", "rovers"],
    group_name="bronze",
    kinds={"json"},
    pool=API_POOL,
    op_tags=NASA_TAGS,
    retry_policy=RETRY,
    description="Verbatim GET /rovers of the Photos API v1 (or mirror); kept as last fetched when the "
    "API is retired or unreachable.",
)
def bronze_rovers(context: dg.AssetExecutionContext, sources: UpstreamSources, warehouse: Warehouse):
    try:
        resp = sources.photos_api().rovers_listing()
    except ApiError as exc:
        if exc.status not in RETIRED:
            raise
        context.log.warning(f"rovers listing unavailable, previous bronze kept: {exc}")
        return dg.MaterializeResult(metadata={"unavailable": str(exc)})
    warehouse.write_objects("bronze/rovers", response_objects("rovers", resp))
    return dg.MaterializeResult(
        metadata={
            "url": resp.url,
            "bytes": len(resp.body),
            "x_ratelimit_remaining": resp.headers.get("X-RateLimit-Remaining", ""),
        }
    )
