"""``bronze/manifests``: the verbatim mission manifest of every rover the Photos API v1 served
(v1 or a mirror; Ingenuity never had one)."""

import dagster as dg

from mars_assets.executors import NASA_TAGS
from mars_assets.lib.bronze import API_POOL, RETIRED, RETRY, response_objects
from mars_assets.partitions import ROVERS
from mars_assets.resources import UpstreamSources, Warehouse
from mars_assets.sources.http import ApiError
from mars_assets.sources.photos_api import PhotosApiSource


@dg.asset(
    key=["bronze", "manifests"],
    group_name="bronze",
    kinds={"json"},
    pool=API_POOL,
    op_tags=NASA_TAGS,
    retry_policy=RETRY,
    description="Verbatim GET /manifests/{rover} for every rover the v1 API served; a rover the source "
    "has no manifest for (HTTP 404) is recorded in metadata, not fatal.",
)
def bronze_manifests(context: dg.AssetExecutionContext, sources: UpstreamSources, warehouse: Warehouse):
    found, missing = [], {}
    api = sources.photos_api()
    for rover in (r for r in ROVERS if r in PhotosApiSource.rovers):  # v1 never served Ingenuity
        try:
            resp = api.manifest(rover)
        except ApiError as exc:
            if exc.status == 404:  # the source has no manifest for the rover
                warehouse.write_objects(f"bronze/manifests/rover={rover}", {})
            elif exc.status not in RETIRED:
                raise
            missing[rover] = str(exc)  # retired or unreachable: the previous bronze is kept
            continue
        warehouse.write_objects(f"bronze/manifests/rover={rover}", response_objects("manifest", resp))
        found.append(rover)
    if missing:
        context.log.warning(f"no manifest from the source for: {', '.join(missing)}")
    return dg.MaterializeResult(metadata={"rovers_with_manifest": found, "rovers_without_manifest": list(missing)})
