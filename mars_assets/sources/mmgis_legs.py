"""MMGIS traverse legs tied to the waypoint localizations: sol and RMC by position, split, counted once.

Pure (standard library only). :func:`mars_assets.sources.mmgis.parse_traverse` reads a layer's
features into :class:`Leg` objects and hands them here with the rover's waypoint rows
(:func:`mars_assets.sources.mmgis.parse_waypoints`).

Why: the real ``MSL_traverse.json`` carries only ``Length`` per feature — no sol, no RMC, no
SCLK — while ``M20_traverse.json`` carries sol, fromRMC and toRMC. A leg starts and ends at
rover localizations (the first MSL leg starts at exactly the lon/lat of waypoint RMC 2_0,
sol 3), so a leg without the layer's sol/RMC gets them from the waypoints its end points
lie on. The leg's ``sol`` is the sol of the localization it ends at (the drive ends there):
that is the M20 layer's own convention, checked on the real layer (149 of its first 150
legs have the sol of their ``toRMC`` waypoint; one is a sol earlier).

Tolerance: :data:`MATCH_TOLERANCE_M` = 1 m between a leg end and a waypoint, measured on the
Mars sphere (:data:`MARS_RADIUS_M`). The coordinates are degrees: 1 m is 1.69e-5° of
latitude (one degree is 59.27 km) and 1.69e-5°/cos(lat) of longitude. On the real MSL
capture (first 300 features) 530 of the 596 matched feature ends lie within 1 mm of their
waypoint and all within 0.57 m (the layers share the localization coordinates, rounded to
1e-7° ≈ 6 mm); the vertices where a multi-drive feature is cut lie within 0.93 m. The one
unmatched start is 1.17 m off. A drive is typically tens of metres, so 1 m cannot confuse two
localizations a drive apart, while short bumps (< 1 m) are told apart by mission order (a
leg's end comes after its start).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Mars mean equatorial radius (IAU 2000), metres. The layers' ``Length`` is the 2-D length on
#: this sphere: on the real MSL capture it equals the vertices' great-circle sum within 0.05 %
#: for 255 of the 296 features over 1 m, and within 0.5 % for all (two-decimal rounding).
MARS_RADIUS_M = 3_396_190.0
#: Largest distance, metres, between a leg end and the waypoint it is matched to (see module doc).
MATCH_TOLERANCE_M = 1.0
#: Waypoints closer than this (metres) in mission order are one stop: a site increment or a
#: re-localization without motion (e.g. MSL 2_0 on sol 3 and 3_0 on sol 5 share their lon/lat).
SAME_PLACE_M = 0.01


@dataclass
class Leg:
    """One traverse feature as read from the layer (before matching).

    parts: the line's parts, each ``[(lon, lat), ...]`` in degrees (one part for a LineString);
    sol / from_rmc / to_rmc / length_m / sclk_*: the layer's values (None when absent).
    """

    feature_index: int
    parts: list[list[tuple[float, float]]]
    sol: int | None = None
    from_rmc: str | None = None
    to_rmc: str | None = None
    length_m: float | None = None
    sclk_start: float | None = None
    sclk_end: float | None = None
    vertices: list[tuple[float, float]] = field(init=False)

    def __post_init__(self) -> None:  # the vertices in order, a part's start repeating the last end dropped
        self.vertices = [
            v
            for k, part in enumerate(self.parts)
            for n, v in enumerate(part)
            if not (k and n == 0 and v == self.parts[k - 1][-1])
        ]


def ground_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in metres between two (lon, lat) points in degrees on the Mars sphere (haversine)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * MARS_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def path_m(vertices: list[tuple[float, float]]) -> float:
    """Length in metres of a path of (lon, lat) vertices in degrees."""
    return sum(ground_m(a, b) for a, b in zip(vertices, vertices[1:], strict=False))


@dataclass
class _Stop:
    """Consecutive localizations at one place, named by the first of them that is not mid-drive
    (the M20 layer lists a mid-drive placeholder, ``final`` "m", at the very spot of the next
    drive end: 9_9436 on sol 358 and 10_0 on sol 359; its traverse leg ends at 10_0)."""

    rmc: str
    sol: int
    lon: float
    lat: float
    mid_drive: bool  # every localization of the stop is mid-drive: the leg goes on past it


class Waypoints:
    """A rover's waypoint rows in mission order (sol, then layer order) grouped into stops, with a
    grid of cells :data:`MATCH_TOLERANCE_M` wide for finding the stops near a point."""

    def __init__(self, rows: list[Mapping[str, Any]], tolerance_m: float = MATCH_TOLERANCE_M) -> None:
        self.tolerance_m = tolerance_m
        self.stops: list[_Stop] = []
        self.by_rmc: dict[str, int] = {}
        ordered = sorted(
            (r for r in rows if r.get("rmc") and r.get("lon") is not None and r.get("lat") is not None),
            key=lambda r: r["sol"],
        )
        for r in ordered:
            here, mid = (r["lon"], r["lat"]), bool(r.get("mid_drive"))
            last = self.stops[-1] if self.stops else None
            if last is None or ground_m((last.lon, last.lat), here) > SAME_PLACE_M:
                self.stops.append(_Stop(r["rmc"], r["sol"], r["lon"], r["lat"], mid))
            elif last.mid_drive and not mid:  # the drive end names the stop
                last.rmc, last.sol, last.mid_drive = r["rmc"], r["sol"], False
            self.by_rmc.setdefault(r["rmc"], len(self.stops) - 1)
        self._cells: dict[tuple[int, int], list[int]] = {}
        for i, s in enumerate(self.stops):
            self._cells.setdefault(self._cell((s.lon, s.lat)), []).append(i)

    def _cell(self, p: tuple[float, float]) -> tuple[int, int]:
        deg = self.tolerance_m / (MARS_RADIUS_M * math.pi / 180)  # the tolerance in degrees of latitude
        return math.floor(p[0] * max(math.cos(math.radians(p[1])), 1e-6) / deg), math.floor(p[1] / deg)

    def near(self, p: tuple[float, float]) -> list[int]:
        """Indices of the stops within the tolerance of ``p``, in mission order."""
        cx, cy = self._cell(p)
        found = (i for dx in (-1, 0, 1) for dy in (-1, 0, 1) for i in self._cells.get((cx + dx, cy + dy), ()))
        return sorted(i for i in found if self.distance(i, p) <= self.tolerance_m)

    def distance(self, i: int, p: tuple[float, float]) -> float:
        return ground_m((self.stops[i].lon, self.stops[i].lat), p)

    def nearest(self, p: tuple[float, float]) -> str:
        """'RMC r (sol s) at d m' for the stop nearest to ``p`` (a full scan: only for reasons)."""
        i = min(range(len(self.stops)), key=lambda k: self.distance(k, p))
        return f"{self.stops[i].rmc} (sol {self.stops[i].sol}) at {self.distance(i, p):.2f} m"


def _match(leg: Leg, wps: Waypoints) -> tuple[int, int] | str:
    """(start stop, end stop) of a leg, or why there is none. Of the candidate pairs within the
    tolerance the one with the end after the start and the fewest stops between wins (a revisit
    of an old place loses to the recent visit); ties go to the earliest start."""
    if not wps.stops:
        return "no waypoints layer for the rover to match against"
    start, end = leg.vertices[0], leg.vertices[-1]
    starts, ends = wps.near(start), wps.near(end)
    tol = f"{wps.tolerance_m:g} m"
    if not starts:
        return f"start matches no waypoint within {tol} (nearest: {wps.nearest(start)})"
    if not ends:
        return f"end matches no waypoint within {tol} (nearest: {wps.nearest(end)})"
    pairs = [(j - i, i, j) for i in starts for j in ends if j > i]
    if not pairs:
        s, e = wps.stops[starts[-1]], wps.stops[ends[0]]
        return f"ends at waypoint {e.rmc} (sol {e.sol}), not after its start {s.rmc} (sol {s.sol})"
    _, i, j = min(pairs)
    return i, j


def _cuts(leg: Leg, wps: Waypoints, i: int, j: int) -> list[tuple[int, int]]:
    """``[(stop, vertex index)]`` where the leg passes the drive-end stops between ``i`` and ``j``
    (in order, within the tolerance of a vertex), ending with ``(j, last vertex)``: the drives it
    is made of. Mid-drive stops do not cut a leg (the M20 layer runs its legs through them)."""
    cuts, v = [], 0
    if len(leg.parts) == 1 or all(a[-1] == b[0] for a, b in zip(leg.parts, leg.parts[1:], strict=False)):
        verts = leg.vertices
        for k in (k for k in range(i + 1, j) if not wps.stops[k].mid_drive):
            near = [n for n in range(v + 1, len(verts) - 1) if wps.distance(k, verts[n]) <= wps.tolerance_m]
            if near:  # the closest vertex of the first pass near the stop
                run = [n for m, n in enumerate(near) if n - m == near[0]]
                v = min(run, key=lambda n: wps.distance(k, verts[n]))
                cuts.append((k, v))
    return cuts + [(j, len(leg.vertices) - 1)]


def _row(rover: str, leg: Leg, **values: Any) -> dict[str, Any]:
    return {
        "rover": rover,
        "sol": leg.sol,
        "sol_source": None,
        "from_sol": None,
        "from_rmc": leg.from_rmc,
        "to_rmc": leg.to_rmc,
        "feature_index": leg.feature_index,
        "part": 0,
        "length_m": leg.length_m,
        "distance_m": None,
        "match_m": None,
        "reason": None,
        "sclk_start": leg.sclk_start,
        "sclk_end": leg.sclk_end,
        "parts": leg.parts,
        **values,
    }


def _layer_row(rover: str, leg: Leg, wps: Waypoints) -> dict[str, Any]:
    """A leg whose layer gives its sol: kept as given, RMCs filled from the waypoints if absent."""
    row = _row(rover, leg, sol_source="layer")
    if leg.from_rmc is None or leg.to_rmc is None:
        got = _match(leg, wps)
        if isinstance(got, tuple):
            i, j = got
            row.update(from_rmc=leg.from_rmc or wps.stops[i].rmc, to_rmc=leg.to_rmc or wps.stops[j].rmc)
            row["match_m"] = max(wps.distance(i, leg.vertices[0]), wps.distance(j, leg.vertices[-1]))
    if (k := wps.by_rmc.get(row["from_rmc"] or "")) is not None:
        row["from_sol"] = wps.stops[k].sol
    return row


def _matched_rows(rover: str, leg: Leg, wps: Waypoints) -> list[dict[str, Any]]:
    """A leg without a layer sol: its sol and RMCs from the waypoints its ends lie on, split into
    one row per drive where it passes further waypoints (the first MSL feature spans sols 3-329);
    one row with a null sol and the reason when its ends match no waypoints."""
    got = None
    if leg.to_rmc is not None and (j := wps.by_rmc.get(leg.to_rmc)) is not None:  # named by the layer
        i = wps.by_rmc.get(leg.from_rmc or "")
        got = (i if i is not None and i < j else max(j - 1, 0), j)
    got = got or _match(leg, wps)
    if isinstance(got, str):
        return [_row(rover, leg, reason=f"no sol: {got}")]
    rows, (i, j), v0 = [], got, 0
    total = path_m(leg.vertices) or 1.0
    cuts = _cuts(leg, wps, i, j)
    for part, (k, v1) in enumerate(cuts):
        verts = leg.vertices[v0 : v1 + 1]
        share = path_m(verts) / total if len(cuts) > 1 else 1.0
        rows.append(
            _row(
                rover,
                leg,
                sol=wps.stops[k].sol,
                sol_source="waypoint_match",
                from_sol=wps.stops[i].sol,
                from_rmc=wps.stops[i].rmc,
                to_rmc=wps.stops[k].rmc,
                part=part,
                length_m=None if leg.length_m is None else leg.length_m * share,
                match_m=max(wps.distance(i, verts[0]), wps.distance(k, verts[-1])),
                parts=[verts] if len(cuts) > 1 else leg.parts,
            )
        )
        i, v0 = k, v1
    rows[0]["from_rmc"] = leg.from_rmc or rows[0]["from_rmc"]  # RMCs the layer names stay as named
    rows[-1]["to_rmc"] = leg.to_rmc or rows[-1]["to_rmc"]
    return rows


def _count_once(rows: list[dict[str, Any]], tolerance_m: float) -> None:
    """Set each counted leg's ``distance_m``: its length less the leg from the same start that it
    extends. The M20 layer draws a drive with mid-drive localizations as legs from one start to
    each of them (sols 350-352: 9_2982 → 9_3478, 92.38 m; → 9_5156, 406.18 m; → 9_5676, 488.53 m,
    each the prefix of the next): summed whole they would count 987 m for a 488.53 m drive."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["reason"] is None:
            r["distance_m"] = r["length_m"] if r["length_m"] is not None else path_m(_flat(r))
            if r["from_rmc"] is not None:
                groups.setdefault((r["rover"], r["from_rmc"]), []).append(r)
    for legs in groups.values():
        legs.sort(key=lambda r: r["distance_m"])
        for shorter, longer in zip(legs, legs[1:], strict=False):
            end, path = _flat(shorter)[-1], _flat(longer)
            if any(ground_m(end, p) <= tolerance_m for p in path):
                longer["distance_m"] = max(0.0, longer["distance_m"] - _length(shorter))


def _flat(row: Mapping[str, Any]) -> list[tuple[float, float]]:
    return [v for part in row["parts"] for v in part]


def _length(row: Mapping[str, Any]) -> float:
    return row["length_m"] if row["length_m"] is not None else path_m(_flat(row))


def resolve_legs(
    rover: str, legs: list[Leg], waypoints: list[Mapping[str, Any]], tolerance_m: float = MATCH_TOLERANCE_M
) -> list[dict[str, Any]]:
    """Traverse legs → rows: every leg kept, ``reason`` null exactly on the legs that count.

    Each row: rover, sol (null when unknown), sol_source ('layer' | 'waypoint_match' | None),
    from_sol (sol of the start localization), from_rmc, to_rmc, feature_index, part (drive
    within a split feature, 0-based), length_m (metres; a split feature's length apportioned by
    the pieces' ground length), distance_m (metres counted for the sol, see :func:`_count_once`;
    null when not counted), match_m (metres from the leg ends to their waypoints), reason (why
    the leg does not count: no sol matched, or a duplicate), sclk_start, sclk_end and parts
    (the vertices). ``waypoints`` are the rover's parse_waypoints rows (may be empty).
    """
    wps = Waypoints(list(waypoints), tolerance_m)
    rows: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    for leg in legs:
        for row in [_layer_row(rover, leg, wps)] if leg.sol is not None else _matched_rows(rover, leg, wps):
            rmcs = (row["from_rmc"], row["to_rmc"])
            key = (row["sol"], *rmcs) if None not in rmcs else (row["sol"], str(row["parts"]))
            if row["reason"] is None and key in seen:
                row["reason"] = f"duplicate of feature {seen[key]}: same sol, start and end"
            seen.setdefault(key, leg.feature_index)
            rows.append(row)
    _count_once(rows, tolerance_m)
    return rows
