"""NASA MMGIS rover localizations (waypoints) and traverses as GeoJSON: the adapter and its parsers.

Served at ``https://mars.nasa.gov/mmgis-maps/{M20|MSL}/Layers/json/{M20|MSL}_waypoints.json``
(see ``shared/docs/NASA_SOURCES.md`` §3). A FeatureCollection of Points ``[lon, lat,
elevation_m]`` whose properties carry RMC ("site_drive"), site, drive, sol, easting,
northing (m), elev_geoid (m), roll/pitch/yaw/tilt (degrees), dist_m (m, this drive) and
dist_total_m (m, since landing; some copies name it ``dist_total``).

Traverse layers (``{M20|MSL}_traverse.json`` beside the waypoints, NASA_SOURCES §3) are
LineString legs ``[[lon, lat, elevation_m], ...]`` with properties sol, fromRMC, toRMC,
length (m), SCLK_START, SCLK_END; a sol can have several legs. See :func:`parse_traverse`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from mars_assets.sources.http import ApiResponse, HttpSource, checked
from mars_assets.sources.values import MAX_SOL, ResponseShapeError, optional_text, shown, strict_int

#: MMGIS mission code of each rover that has an MMGIS map.
MMGIS_MISSIONS: dict[str, str] = {"perseverance": "M20", "curiosity": "MSL"}


def waypoints_path(mission: str) -> str:
    """Path of a mission's waypoints layer below the MMGIS base URL."""
    return f"/{mission}/Layers/json/{mission}_waypoints.json"


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"{type(value).__name__} is not a number")
    return float(value)


def _coordinate(value: Any, name: str, limit: float) -> float:
    try:
        number = _num(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not math.isfinite(number) or abs(number) > limit:
        raise ValueError(f"{name} {shown(value)} is not a finite coordinate within ±{limit:g}°")
    return number


def features_of(body: Any) -> list:
    """The ``features`` list of a FeatureCollection (empty when absent).

    Raises ResponseShapeError when ``body`` is not an object or ``features`` is not a list.
    """
    if not isinstance(body, Mapping):
        raise ResponseShapeError(f"GeoJSON layer is {type(body).__name__}, not an object")
    features = body.get("features")
    if features is None:
        return []
    if not isinstance(features, list):
        raise ResponseShapeError(f"GeoJSON features is {type(features).__name__}, not a list")
    return features


def parse_waypoints(rover: str, body: Mapping[str, Any]) -> tuple[list[dict], list[dict]]:
    """A waypoints FeatureCollection → (rows, rejects).

    rows: rover, sol, site, drive, rmc, lon, lat (degrees), elevation_m, easting_m,
    northing_m, roll/pitch/yaw/tilt (degrees), dist_m, dist_total_m (metres).
    rejects: ``{"feature_index", "reason"}`` for features that are not objects, have no
    sol (or one outside ``0..MAX_SOL``), no Point geometry, missing or non-finite
    coordinates (longitude within ±360°, latitude within ±90°) or mistyped properties.
    Raises ResponseShapeError when ``body`` is not a FeatureCollection-like object.
    """
    rows, rejects = [], []
    for i, feature in enumerate(features_of(body)):
        try:
            if not isinstance(feature, Mapping):
                raise TypeError(f"feature is {type(feature).__name__}, not an object")
            props = feature.get("properties") or {}
            geom = feature.get("geometry") or {}
            if not isinstance(props, Mapping) or not isinstance(geom, Mapping):
                raise TypeError("properties or geometry is not an object")
            if geom.get("type") != "Point":
                raise ValueError(f"geometry is {geom.get('type')!r}, not Point"[:160])
            coords = geom.get("coordinates")
            if not isinstance(coords, list) or len(coords) < 2:
                raise ValueError("Point without coordinates")
            site = strict_int(props.get("site"), "site", required=False)
            drive = strict_int(props.get("drive"), "drive", required=False)
            rows.append(
                {
                    "rover": rover,
                    "sol": strict_int(props.get("sol"), "sol", lo=0, hi=MAX_SOL),
                    "site": site,
                    "drive": drive,
                    "rmc": optional_text(props.get("RMC"), "RMC") or (f"{site}_{drive}" if site is not None else None),
                    "lon": _coordinate(coords[0], "longitude", 360.0),
                    "lat": _coordinate(coords[1], "latitude", 90.0),
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


def traverse_path(mission: str) -> str:
    """Path of a mission's traverse layer below the MMGIS base URL."""
    return f"/{mission}/Layers/json/{mission}_traverse.json"


def _rmc(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int_sol(value: Any) -> int:
    if value is None or value == "" or isinstance(value, bool):
        raise KeyError("sol")
    return strict_int(value, "sol", lo=0, hi=MAX_SOL)


def _wkt_number(x: float) -> str:
    return repr(float(x))


def parse_traverse(rover: str, body: Mapping[str, Any]) -> tuple[list[dict], list[dict]]:
    """A traverse FeatureCollection → (rows, rejects), one row per drive leg.

    rows, keyed (rover, sol, from_rmc, to_rmc):

    * rover (as given), sol (int), from_rmc / to_rmc ("site_drive" strings from
      ``fromRMC`` / ``toRMC``);
    * length_m (the layer's ``length``, metres; None when absent), n_points (vertices);
    * start_lon, start_lat, end_lon, end_lat (degrees, first and last vertex);
    * sclk_start, sclk_end (spacecraft clock seconds as float, None when absent);
    * geometry: **WKT** ``LINESTRING (lon lat, lon lat, ...)`` in degrees — 2-D: the
      elevation of the vertices is dropped (DuckDB spatial reads it with ST_GeomFromText).

    rejects: ``{"feature_index", "sol", "reason"}`` for a feature that is not a LineString
    (MultiLineString included), has no sol (or one outside ``0..MAX_SOL``), no
    fromRMC/toRMC, fewer than two vertices or bad (non-finite) numbers, and for a second
    feature with an already-seen key (the first is kept). Raises ResponseShapeError when
    ``body`` is not a FeatureCollection-like object.
    """
    rows: list[dict] = []
    rejects: list[dict] = []
    seen: set[tuple] = set()
    for i, feature in enumerate(features_of(body)):
        props: Mapping[str, Any] = {}
        try:
            props = (feature.get("properties") if isinstance(feature, Mapping) else None) or {}
            geom = (feature.get("geometry") if isinstance(feature, Mapping) else None) or {}
            if not isinstance(props, Mapping) or not isinstance(geom, Mapping):
                props = props if isinstance(props, Mapping) else {}
                raise TypeError("feature, properties or geometry is not an object")
            if geom.get("type") != "LineString":
                raise ValueError(f"geometry is {geom.get('type')!r}, not LineString"[:160])
            sol = _int_sol(props.get("sol"))
            from_rmc, to_rmc = _rmc(props.get("fromRMC")), _rmc(props.get("toRMC"))
            if from_rmc is None or to_rmc is None:
                raise ValueError("leg without fromRMC/toRMC")
            coords = [
                (_coordinate(c[0], "longitude", 360.0), _coordinate(c[1], "latitude", 90.0))
                for c in geom.get("coordinates") or []
            ]
            if len(coords) < 2:
                raise ValueError(f"LineString with {len(coords)} vertices")
            row = {
                "rover": rover,
                "sol": sol,
                "from_rmc": from_rmc,
                "to_rmc": to_rmc,
                "length_m": _num(props.get("length")),
                "n_points": len(coords),
                "start_lon": coords[0][0],
                "start_lat": coords[0][1],
                "end_lon": coords[-1][0],
                "end_lat": coords[-1][1],
                "sclk_start": _num(props.get("SCLK_START")),
                "sclk_end": _num(props.get("SCLK_END")),
                "geometry": "LINESTRING (" + ", ".join(f"{_wkt_number(x)} {_wkt_number(y)}" for x, y in coords) + ")",
            }
            key = (rover, sol, from_rmc, to_rmc)
            if key in seen:  # checked once the leg is known to be valid: a bad first copy never hides a good one
                raise ValueError(f"duplicate leg {key}")
            seen.add(key)
            rows.append(row)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            reason = "no sol" if isinstance(exc, KeyError) and exc.args == ("sol",) else f"{type(exc).__name__}: {exc}"
            rejects.append(
                {"feature_index": i, "sol": props.get("sol") if isinstance(props, Mapping) else None, "reason": reason}
            )
    return rows, rejects


#: The layers of each mission, in fetch order: (layer name, path below the MMGIS base URL).
LAYERS: tuple[tuple[str, Callable[[str], str]], ...] = (("waypoints", waypoints_path), ("traverse", traverse_path))


@dataclass
class MmgisSource(HttpSource):
    """NASA MMGIS map layers: ``{base_url}/{M20|MSL}/Layers/json/{M20|MSL}_{waypoints|traverse}.json``.

    Keyless; not paged (one GeoJSON document a layer); only Perseverance and Curiosity have
    MMGIS maps. Parse the bodies with :func:`parse_waypoints` and :func:`parse_traverse`.
    """

    name: ClassVar[str] = "mmgis"
    rovers: ClassVar[frozenset[str]] = frozenset(MMGIS_MISSIONS)

    base_url: str = "https://mars.nasa.gov/mmgis-maps"
    retries: int = 3

    def get(self, path: str) -> ApiResponse:
        """GET a layer; raises ApiError on a non-2xx answer, a connection failure, or a body
        that is not a GeoJSON object with a ``features`` list (an HTML page served with 200)."""
        return checked(self.request(self.base_url.rstrip("/") + path), features_of)

    def layer_paths(self, rover: str) -> list[tuple[str, str]]:
        """``(layer, path)`` of the rover's layers (empty for a rover without an MMGIS map)."""
        mission = MMGIS_MISSIONS.get(rover)
        return [(layer, path(mission)) for layer, path in LAYERS] if mission else []
