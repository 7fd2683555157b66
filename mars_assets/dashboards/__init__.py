"""Plotly dashboards built from warehouse tables (builders pure: tables in, HTML out).

Each builder returns a :class:`Dashboard` whose ``html`` is a self-contained document
(plotly.js inlined, thumbnails as ``data:`` URIs): mission, traverse, images, data health.
:mod:`~mars_assets.dashboards.queries` holds the DuckDB aggregations the assets feed them
(sized by sols × cameras, never by photos); :mod:`~mars_assets.dashboards.pages` reads a
built page's traces back (points per trace).
"""

from mars_assets.dashboards.common import DASHBOARDS, ROVER_COLOURS, Dashboard
from mars_assets.dashboards.health import build_health_dashboard
from mars_assets.dashboards.images import SelectedImage, build_images_dashboard, select_images, thumbnail_data_uri
from mars_assets.dashboards.mission import build_mission_dashboard
from mars_assets.dashboards.pages import page_points
from mars_assets.dashboards.quarantine import quarantined_inputs
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
    "page_points",
    "parse_wkt_linestring",
    "quarantined_inputs",
    "select_images",
    "thumbnail_data_uri",
]
