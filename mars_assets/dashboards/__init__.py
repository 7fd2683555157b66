"""Plotly dashboards built from warehouse tables (pure: tables in, HTML out)."""

from mars_assets.dashboards.mission import build_mission_dashboard

__all__ = ["build_mission_dashboard"]
