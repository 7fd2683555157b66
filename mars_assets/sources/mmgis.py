"""NASA MMGIS rover localizations (waypoints) as GeoJSON.

Served at ``https://mars.nasa.gov/mmgis-maps/{M20|MSL}/Layers/json/{M20|MSL}_waypoints.json``
(see ``shared/docs/NASA_SOURCES.md`` §3). A FeatureCollection of Points ``[lon, lat,
elevation_m]`` whose properties carry RMC ("site_drive"), site, drive, sol, easting,
northing (m), elev_geoid (m), roll/pitch/yaw/tilt (degrees), dist_m (m, this drive) and
dist_total_m (m, since landing; some copies name it ``dist_total``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: MMGIS mission code of each rover that has an MMGIS map.
MMGIS_MISSIONS: dict[str, str] = {"perseverance": "M20", "curiosity": "MSL"}


def waypoints_path(mission: str) -> str:
    """Path of a mission's waypoints layer below the MMGIS base URL."""
    return f"/{mission}/Layers/json/{mission}_waypoints.json"


def _num(value: Any) -> float | None:
    if value in (None, ""):
        return None
    return float(value)


def parse_waypoints(rover: str, body: Mapping[str, Any]) -> tuple[list[dict], list[dict]]:
    """A waypoints FeatureCollection → (rows, rejects).

    rows: rover, sol, site, drive, rmc, lon, lat (degrees), elevation_m, easting_m,
    northing_m, roll/pitch/yaw/tilt (degrees), dist_m, dist_total_m (metres).
    rejects: ``{"feature_index", "reason"}`` for features without a sol or a Point geometry.
    """
    rows, rejects = [], []
    for i, feature in enumerate(body.get("features") or []):
        try:
            props = feature.get("properties") or {}
            geom = feature.get("geometry") or {}
            if geom.get("type") != "Point":
                raise ValueError(f"geometry is {geom.get('type')!r}, not Point")
            coords = list(geom.get("coordinates") or [])
            if len(coords) < 2:
                raise ValueError("Point without coordinates")
            site, drive = props.get("site"), props.get("drive")
            rows.append(
                {
                    "rover": rover,
                    "sol": int(props["sol"]),
                    "site": None if site is None else int(site),
                    "drive": None if drive is None else int(drive),
                    "rmc": props.get("RMC") or (f"{site}_{drive}" if site is not None else None),
                    "lon": float(coords[0]),
                    "lat": float(coords[1]),
                    "elevation_m": _num(coords[2]) if len(coords) > 2 else _num(props.get("elev_geoid")),
                    "easting_m": _num(props.get("easting")),
                    "northing_m": _num(props.get("northing")),
                    "roll_deg": _num(props.get("roll")),
                    "pitch_deg": _num(props.get("pitch")),
                    "yaw_deg": _num(props.get("yaw")),
                    "tilt_deg": _num(props.get("tilt")),
                    "dist_m": _num(props.get("dist_m")),
                    "dist_total_m": _num(props.get("dist_total_m", props.get("dist_total"))),
                }
            )
        except (KeyError, TypeError, ValueError) as exc:
            rejects.append({"feature_index": i, "reason": f"{type(exc).__name__}: {exc}"})
    return rows, rejects
