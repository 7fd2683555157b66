"""NASA MMGIS rover localizations (waypoints) and traverses as GeoJSON: the adapter and its parsers.

Served at ``https://mars.nasa.gov/mmgis-maps/{M20|MSL}/Layers/json/{M20|MSL}_waypoints.json``
(see ``shared/docs/NASA_SOURCES.md`` §3). A FeatureCollection of Points ``[lon, lat,
elevation_m]`` (or 2-D ``[lon, lat]``) whose properties carry RMC ("site_drive"), site, drive,
sol, easting, northing (m), elev_geoid (m), roll/pitch/yaw/tilt (degrees), dist_m (m, this
drive), dist_total_m (m, since landing; early copies name it ``dist_total``) and a flag of the
localization: M20 ``final`` ``"y"`` (end of a drive) or ``"m"`` (mid-drive), MSL ``drive_type``
``"final"``. Some copies carry every property as a string. See :func:`parse_waypoints`.

Traverse layers (``{M20|MSL}_traverse.json`` beside the waypoints, NASA_SOURCES §3) are
LineString or MultiLineString legs ``[[lon, lat, elevation_m], ...]``. M20 legs carry sol,
fromRMC, toRMC, length (m), SCLK_START, SCLK_END; the real MSL layer only ``Length`` (m), so
its sols and RMCs come from the waypoints (:mod:`mars_assets.sources.mmgis_legs`). See
:func:`parse_traverse`.

A snapshot or bronze folder may hold several dated copies of one layer
(``MSL_waypoints_tosol4650``, ``MSL_waypoints_current``, ...): :func:`merge_waypoint_copies`
and :func:`newest_copy` say which were used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from mars_assets.sources.drift import Drift, check_pages, json_type
from mars_assets.sources.http import ApiResponse, HttpSource, checked
from mars_assets.sources.mmgis_legs import Leg, resolve_legs
from mars_assets.sources.values import INT64_RANGE, MAX_SOL, ResponseShapeError, optional_text, shown, strict_int

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


#: Localization flags: M20 ``final`` "y" (a drive's end) / "m" (mid-drive); MSL ``drive_type`` "final".
MID_DRIVE_FLAGS = frozenset({"m"})


def _int(value: Any, name: str, *, lo: int = 0, hi: int = MAX_SOL, required: bool = True) -> int | None:
    """strict_int, also reading integral number text such as ``"13.0"`` (spreadsheet-made layers)."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and math.isfinite(number) and number.is_integer():
            value = int(number)
    return strict_int(value, name, lo=lo, hi=hi, required=required)


def waypoint_flag(props: Mapping[str, Any]) -> str | None:
    """The localization flag of a waypoint's properties, lower case: ``final`` (M20: "y", "m") or
    ``drive_type`` (MSL: "final"); None when the layer has neither."""
    flag = optional_text(props.get("final", props.get("drive_type")), "final")
    return (flag.strip().lower() or None) if flag is not None else None


def parse_waypoints(rover: str, body: Mapping[str, Any]) -> tuple[list[dict], list[dict]]:
    """A waypoints FeatureCollection → (rows, rejects).

    rows: rover, sol, site, drive, rmc, lon, lat (degrees), elevation_m, easting_m,
    northing_m, roll/pitch/yaw/tilt (degrees), dist_m, dist_total_m (metres: ``dist_total_m``,
    else the older ``dist_total``), flag (``final`` / ``drive_type`` as given, lower case) and
    mid_drive (flag "m"; None without a flag). Properties may be strings ("13", "6.255");
    coordinates may be 2-D (elevation then from ``elev_geoid``); lon/lat always come from the
    geometry. rejects: ``{"feature_index", "reason"}`` for features that are not objects, have
    no sol (or one outside ``0..MAX_SOL``), no Point geometry, missing or non-finite coordinates
    (longitude within ±360°, latitude within ±90°) or mistyped properties. Raises
    ResponseShapeError when ``body`` is not a FeatureCollection-like object.
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
            site = _int(props.get("site"), "site", lo=INT64_RANGE[0], hi=INT64_RANGE[1], required=False)
            drive = _int(props.get("drive"), "drive", lo=INT64_RANGE[0], hi=INT64_RANGE[1], required=False)
            total = props.get("dist_total_m")
            flag = waypoint_flag(props)
            rows.append(
                {
                    "rover": rover,
                    "sol": _int(props.get("sol"), "sol"),
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
                    "dist_total_m": _num(total if total not in (None, "") else props.get("dist_total")),
                    "flag": flag,
                    "mid_drive": None if flag is None else flag in MID_DRIVE_FLAGS,
                }
            )
        except (KeyError, TypeError, ValueError) as exc:
            rejects.append({"feature_index": i, "reason": f"{type(exc).__name__}: {exc}"})
    return rows, rejects


# -- dated copies of a layer ---------------------------------------------------------------
_TOSOL = re.compile(r"(?:to)?sol[_-]?(\d+)", re.I)


def copy_sol(name: str, body: Any) -> int | None:
    """The sol a copy of a layer reaches: the largest feature ``sol``, else the ``tosol``/``sol``
    number of the object name or of the collection ``name`` (``M20_Traverse_Path_tosol1840``)."""
    sols = []
    for f in features_of(body) if isinstance(body, Mapping) else []:
        props = f.get("properties") if isinstance(f, Mapping) else None
        try:
            sols.append(_int(props.get("sol"), "sol", required=False) if isinstance(props, Mapping) else None)
        except ValueError:
            continue
    if known := [s for s in sols if s is not None]:
        return max(known)
    for text in (str(body.get("name") or "") if isinstance(body, Mapping) else "", name):
        if m := _TOSOL.search(text):
            return int(m[1])
    return None


def _ranked(copies: list[tuple[str, Any]]) -> list[tuple[str, Any, dict]]:
    """Copies oldest first: by the sol each reaches, then feature count, then name."""
    out = []
    for name, body in copies:
        n = len(features_of(body)) if isinstance(body, Mapping) else 0
        out.append((name, body, {"object": name, "to_sol": copy_sol(name, body), "features": n}))
    return sorted(out, key=lambda c: (c[2]["to_sol"] if c[2]["to_sol"] is not None else -1, c[2]["features"], c[0]))


def newest_copy(copies: list[tuple[str, Any]]) -> tuple[Any, list[dict]]:
    """The newest of several ``(name, body)`` copies of a layer (:func:`_ranked`) and what was
    chosen: ``[{"object", "to_sol", "features", "used"}]`` per copy, oldest first."""
    ranked = _ranked(copies)
    return (ranked[-1][1] if ranked else {"features": []}), [
        {**info, "used": k == len(ranked) - 1} for k, (_, _, info) in enumerate(ranked)
    ]


def merge_waypoint_copies(copies: list[tuple[str, Any]]) -> tuple[dict, list[dict]]:
    """Several ``(name, body)`` copies of one waypoints layer merged: one feature per RMC (else per
    site_drive; features without either all kept), the newest copy's version winning. Returns the
    merged FeatureCollection and ``[{"object", "to_sol", "features", "kept"}]`` per copy, oldest
    first (kept: features of that copy in the merge)."""
    merged: dict[Any, tuple[int, Any]] = {}
    ranked = _ranked(copies)
    for k, (_, body, _info) in enumerate(ranked):
        for n, f in enumerate(features_of(body) if isinstance(body, Mapping) else []):
            props = f.get("properties") if isinstance(f, Mapping) else None
            props = props if isinstance(props, Mapping) else {}
            key = props.get("RMC") or (
                f"{props['site']}_{props.get('drive')}" if props.get("site") is not None else None
            )
            merged[str(key) if key is not None else (k, n)] = (k, f)
    used = [{**info, "kept": sum(1 for c, _ in merged.values() if c == k)} for k, (_, _, info) in enumerate(ranked)]
    return {"type": "FeatureCollection", "features": [f for _, f in merged.values()]}, used


# -- traverse --------------------------------------------------------------------------------
def traverse_path(mission: str) -> str:
    """Path of a mission's traverse layer below the MMGIS base URL."""
    return f"/{mission}/Layers/json/{mission}_traverse.json"


def _rmc(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _parts(geom: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    """A LineString's vertices as one part, a MultiLineString's parts; (lon, lat) in degrees."""
    kind, coords = geom.get("type"), geom.get("coordinates") or []
    if kind not in ("LineString", "MultiLineString"):
        raise ValueError(f"geometry is {kind!r}, not LineString or MultiLineString"[:160])
    lines = [coords] if kind == "LineString" else coords
    if not isinstance(lines, list) or not all(isinstance(line, list) for line in lines):
        raise ValueError(f"{kind} coordinates are not lists of positions")
    parts = [
        [(_coordinate(c[0], "longitude", 360.0), _coordinate(c[1], "latitude", 90.0)) for c in line] for line in lines
    ]
    parts = [p for p in parts if p]
    if sum(len(p) for p in parts) < 2:
        raise ValueError(f"{kind} with {sum(len(p) for p in parts)} vertices")
    return parts


def _length(props: Mapping[str, Any]) -> float | None:
    """``length`` (M20) or ``Length`` (MSL), metres."""
    return _num(props.get("length", props.get("Length")))


def _wkt(parts: list[list[tuple[float, float]]]) -> str:
    """2-D WKT: a LINESTRING when the parts join end to start (repeated joints dropped), else a
    MULTILINESTRING; numbers at full precision."""

    def line(vs: list[tuple[float, float]]) -> str:
        return "(" + ", ".join(f"{float(x)!r} {float(y)!r}" for x, y in vs) + ")"

    if all(a[-1] == b[0] for a, b in zip(parts, parts[1:], strict=False)):
        joined = parts[0] + [v for p in parts[1:] for v in p[1:]]
        return "LINESTRING " + line(joined)
    return "MULTILINESTRING (" + ", ".join(line(p) for p in parts) + ")"


def parse_traverse(
    rover: str, body: Mapping[str, Any], waypoints: list[Mapping[str, Any]] | None = None
) -> tuple[list[dict], list[dict]]:
    """A traverse FeatureCollection (and the rover's :func:`parse_waypoints` rows) → (rows, rejects).

    One row per drive leg (columns of ``mars_assets.schemas.TRAVERSE_SCHEMA``, built by
    :func:`mars_assets.sources.mmgis_legs.resolve_legs`): sol, sol_source ('layer' when the
    layer gives the sol, 'waypoint_match' when it comes from the waypoints the leg's ends lie
    on), from_sol, from_rmc, to_rmc, feature_index, part, length_m (the layer's ``length`` /
    ``Length``, metres), distance_m (metres counted for the sol), match_m, reason (null when
    the leg counts: else no sol matched, or a duplicate — such a leg is kept, never dropped),
    n_points, start/end lon/lat (degrees), sclk_start, sclk_end (spacecraft clock seconds) and
    geometry (2-D WKT in degrees, elevations dropped; a MultiLineString whose parts join becomes
    one LINESTRING).

    rejects: ``{"feature_index", "sol", "reason"}`` for a feature that is not an object, whose
    geometry is not a LineString/MultiLineString with at least two vertices of finite
    coordinates, or whose sol, length or SCLK is not a number. Raises ResponseShapeError when
    ``body`` is not a FeatureCollection-like object.
    """
    legs: list[Leg] = []
    rejects: list[dict] = []
    for i, feature in enumerate(features_of(body)):
        props: Mapping[str, Any] = {}
        try:
            props = (feature.get("properties") if isinstance(feature, Mapping) else None) or {}
            geom = (feature.get("geometry") if isinstance(feature, Mapping) else None) or {}
            if not isinstance(props, Mapping) or not isinstance(geom, Mapping):
                props = props if isinstance(props, Mapping) else {}
                raise TypeError("feature, properties or geometry is not an object")
            legs.append(
                Leg(
                    feature_index=i,
                    parts=_parts(geom),
                    sol=_int(props.get("sol"), "sol", required=False),
                    from_rmc=_rmc(props.get("fromRMC")),
                    to_rmc=_rmc(props.get("toRMC")),
                    length_m=_length(props),
                    sclk_start=_num(props.get("SCLK_START")),
                    sclk_end=_num(props.get("SCLK_END")),
                )
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            rejects.append({"feature_index": i, "sol": props.get("sol"), "reason": f"{type(exc).__name__}: {exc}"})
    rows = []
    for r in resolve_legs(rover, legs, waypoints or []):
        parts = r.pop("parts")
        vs = [v for p in parts for v in p]
        rows.append(
            {
                **r,
                "n_points": len(vs),
                "start_lon": vs[0][0],
                "start_lat": vs[0][1],
                "end_lon": vs[-1][0],
                "end_lat": vs[-1][1],
                "geometry": _wkt(parts),
            }
        )
    return rows, rejects


def layer_drift(rover: str, layer: str, body: Any) -> Drift | None:
    """Schema drift of a layer's features (``type``, ``properties.*``, ``geometry.type`` /
    ``coordinates``) against the fields of the rover's MMGIS ``layer`` ("waypoints" or
    "traverse"; :mod:`mars_assets.sources.drift_fields`); None for a rover without an MMGIS map.
    Every feature is checked (a layer is one document a day, not the photos' hot path). A body
    that is not a FeatureCollection-like object is itself reported, as path ``(layer)`` retyped."""
    mission = MMGIS_MISSIONS.get(rover)
    if mission is None:
        return None
    name = f"mmgis_{mission}_{layer}"
    try:
        features = features_of(body)
    except ResponseShapeError:
        drift = Drift(name, records=1, checked=1)
        drift.retype("(layer)", json_type(body), "FeatureCollection object")
        return drift
    return check_pages(name, [features], stride=1)


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
