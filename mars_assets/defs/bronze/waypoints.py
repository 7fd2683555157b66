"""``bronze/waypoints``: the verbatim MMGIS waypoint and traverse layers of each rover with a map."""

import dagster as dg

from mars_assets.executors import NASA_TAGS
from mars_assets.lib.bronze import RETRY, response_objects
from mars_assets.partitions import ROVERS
from mars_assets.resources import UpstreamSources, Warehouse
from mars_assets.sources.http import ApiError
from mars_assets.sources.mmgis import MMGIS_MISSIONS


@dg.asset(
    key=["bronze", "waypoints"],
    group_name="bronze",
    kinds={"json"},
    op_tags=NASA_TAGS,
    retry_policy=RETRY,
    description="Verbatim MMGIS waypoints and traverse GeoJSON of Perseverance (M20) and Curiosity (MSL).",
)
def bronze_waypoints(context: dg.AssetExecutionContext, sources: UpstreamSources, warehouse: Warehouse):
    mmgis = sources.mmgis()
    got = {}
    for rover in ROVERS:
        objects: dict[str, bytes] = {}
        for layer, path in mmgis.layer_paths(rover):
            try:
                objects.update(response_objects(f"{MMGIS_MISSIONS[rover]}_{layer}", mmgis.get(path)))
            except ApiError as exc:
                if exc.status != 404:
                    raise
                context.log.warning(f"{rover} {layer}: {exc}")
        if objects:
            warehouse.write_objects(f"bronze/waypoints/rover={rover}", objects)
            got[rover] = sorted(k for k in objects if not k.endswith(".meta.json"))
    return dg.MaterializeResult(metadata={"layers_by_rover": got})
