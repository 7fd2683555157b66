"""Dashboards: plotly HTML written to ``<root>/dashboards/``."""


import dagster as dg

from mars_assets.partitions import EAGER_OVER_PARTITIONS

from mars_assets.dashboards.mission import SampleImage, build_mission_dashboard
from mars_assets.imaging import decode_image, log_magnitude_spectrum
from mars_assets.resources import Warehouse

SAMPLES = 4


def _read(warehouse: Warehouse, layer: str, table: str):
    return warehouse.read_table(layer, table) if warehouse.has_table(layer, table) else None


def _samples(warehouse: Warehouse, image_stats) -> list[SampleImage]:
    """Up to SAMPLES images, one per camera first, preferring colour images."""
    if image_stats is None or not image_stats.num_rows:
        return []
    rows = sorted(image_stats.to_pylist(), key=lambda r: (r["channels"] != 3, r["rover"], r["sol"], r["image_id"]))
    picked, cams = [], set()
    for r in rows:
        if (r["rover"], r["camera"]) not in cams:
            picked.append(r)
            cams.add((r["rover"], r["camera"]))
        if len(picked) == SAMPLES:
            break
    out = []
    for r in picked:
        data = warehouse.read_object(f"bronze/images/rover={r['rover']}/sol={r['sol']}/{r['image_id']}")
        out.append(SampleImage(f"{r['rover']} sol {r['sol']} {r['camera']}", r,
                               log_magnitude_spectrum(decode_image(data), size=96)))
    return out


@dg.asset(key=["dashboards", "mission_dashboard"], group_name="dashboards", kinds={"plotly", "html"},
          automation_condition=EAGER_OVER_PARTITIONS,
          deps=[dg.AssetKey(["gold", t]) for t in ("mission_summary", "camera_usage", "sol_activity", "photo_gaps")]
          + [dg.AssetKey(["silver", "image_stats"]), dg.AssetKey(["silver", "waypoints"])],
          description="Self-contained plotly HTML: mission and camera charts, RGB histograms and FFT "
                      "magnitude spectra of sample images, and the waypoint traverse.")
def mission_dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    stats = _read(warehouse, "silver", "image_stats")
    page = build_mission_dashboard(
        mission_summary=_read(warehouse, "gold", "mission_summary"),
        camera_usage=_read(warehouse, "gold", "camera_usage"),
        sol_activity=_read(warehouse, "gold", "sol_activity"),
        photo_gaps=_read(warehouse, "gold", "photo_gaps"),
        image_stats=stats, waypoints=_read(warehouse, "silver", "waypoints"),
        samples=_samples(warehouse, stats))
    path = warehouse.write_objects("dashboards/mission", {"index.html": page.encode()})[0]
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(path), "bytes": len(page)})
