"""Plotly dashboards built from warehouse tables (pure: tables in, HTML out).

Each builder returns a :class:`Dashboard` whose ``html`` is a self-contained document
(plotly.js inlined, thumbnails as ``data:`` URIs): mission, traverse, images, data health.
"""

from mars_assets.dashboards.common import DASHBOARDS, ROVER_COLOURS, Dashboard
from mars_assets.dashboards.health import build_health_dashboard, quarantined_inputs
from mars_assets.dashboards.images import SelectedImage, build_images_dashboard, select_images, thumbnail_data_uri
from mars_assets.dashboards.mission import build_mission_dashboard
from mars_assets.dashboards.traverse import build_traverse_dashboard, parse_wkt_linestring

__all__ = [
    "DASHBOARDS",
    "ROVER_COLOURS",
    "Dashboard",
    "SelectedImage",
    "build_health_dashboard",
    "build_images_dashboard",
    "build_mission_dashboard",
    "build_traverse_dashboard",
    "parse_wkt_linestring",
    "quarantined_inputs",
    "select_images",
    "thumbnail_data_uri",
]
