"""The traverse dashboard: each rover's path on Mars, coloured by sol, beside its distance per sol.

Inputs (any may be None or empty):

* silver ``waypoints``: one row per MMGIS localization — ``rover``, ``sol``, ``site``,
  ``drive``, ``lon`` (degrees east), ``lat`` (degrees north, planetocentric),
  ``elevation_m``, ``dist_m`` (drive length, metres), ``dist_total_m`` (odometry, metres),
  ``mid_drive`` (a mid-drive localization: drawn as an open marker).
* silver ``traverse``: one row per MMGIS drive leg — ``rover``, ``sol`` (null when no waypoint
  matched), ``sol_source`` (``layer`` / ``waypoint_match``), ``length_m``, ``reason`` (set on a
  leg that does not count: drawn dashed) and ``geometry`` (WKT ``LINESTRING`` or
  ``MULTILINESTRING`` of ``lon lat`` in degrees).
* gold ``sol_activity``: one row per rover × sol — ``distance_m`` (metres that sol),
  ``cumulative_distance_m`` (metres) and ``distance_source`` (``traverse`` or ``waypoints``).

A rover's figure plots at most MAX_WAYPOINTS waypoints, MAX_LEG_POINTS leg vertices and one
bar per sol: it grows with drives and sols, never with photos.
"""

from __future__ import annotations

import math
import re

import plotly.graph_objects as go
import pyarrow as pa
from plotly.subplots import make_subplots

from mars_assets.dashboards.common import Dashboard, Section, render_page, rover_colour, rover_sort_key, rows, style

#: Most vertices drawn per rover for the traverse legs (longer paths are thinned evenly).
MAX_LEG_POINTS = 20_000
#: Most waypoints drawn per rover (a rover localizes a few times per drive sol: thousands over a
#: whole mission); more are thinned evenly, the first and the latest always kept.
MAX_WAYPOINTS = 5_000
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def parse_wkt_lines(wkt: str | None) -> list[list[tuple[float, float]]]:
    """``LINESTRING (lon lat, ...)`` or ``MULTILINESTRING ((lon lat, ...), (...))`` (also with ``Z``)
    as its lines ``[[(lon, lat), ...], ...]`` in degrees; a third coordinate (elevation) is
    ignored. ``[]`` for None or text without vertices."""
    if not wkt or "(" not in wkt:
        return []
    body = wkt[wkt.index("(") + 1 : wkt.rindex(")") if ")" in wkt else len(wkt)]
    lines = []
    for text in body.split(")") if "MULTI" in wkt[: wkt.index("(")].upper() else [body]:
        line = []
        for vertex in text.split(","):
            numbers = _NUMBER.findall(vertex)
            if len(numbers) >= 2:
                line.append((float(numbers[0]), float(numbers[1])))
        if line:
            lines.append(line)
    return lines


def parse_wkt_linestring(wkt: str | None) -> list[tuple[float, float]]:
    """Every vertex of a WKT line (:func:`parse_wkt_lines`) as ``[(lon, lat), ...]`` in degrees."""
    return [v for line in parse_wkt_lines(wkt) for v in line]


def _r(value: float | None, digits: int) -> float | None:
    """``value`` rounded (7 digits of a degree: ~6 mm on Mars), None kept: shorter JSON."""
    return None if value is None else round(value, digits)


def thin(items: list, limit: int) -> list:
    """At most ``limit`` (>= 2) of ``items`` evenly spaced, the first and the last kept."""
    if len(items) <= limit:
        return items
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]


def _path_figure(rover: str, points: list[dict], legs: list[dict], per_sol: list[dict]) -> go.Figure:
    """Left: path in lon/lat (waypoints coloured by sol, traverse legs as lines); right: distance per sol."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.56, 0.44],
        horizontal_spacing=0.16,
        specs=[[{}, {"secondary_y": True}]],
        subplot_titles=("path (longitude / latitude)", "distance driven per sol"),
    )
    colour = rover_colour(rover)
    for counted, name, dash in ((True, "traverse legs", "solid"), (False, "legs not counted (no sol)", "dash")):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for leg in sorted(legs, key=lambda r: (r["sol"] is None, r["sol"] or 0, r.get("feature_index") or 0)):
            if (not leg.get("reason")) != counted:
                continue
            for line in parse_wkt_lines(leg.get("geometry")):
                xs += [_r(p[0], 7) for p in line] + [None]
                ys += [_r(p[1], 7) for p in line] + [None]
        if not xs:
            continue
        step = max(1, math.ceil(len(xs) / MAX_LEG_POINTS))
        fig.add_scatter(
            x=xs[::step],
            y=ys[::step],
            mode="lines",
            name=name,
            connectgaps=False,
            line=dict(color=colour if counted else "#8a8f99", width=1.5, dash=dash),
            hoverinfo="skip",
            row=1,
            col=1,
        )
    if points:
        pts = thin(sorted(points, key=lambda r: (r["sol"], r.get("site") or 0, r.get("drive") or 0)), MAX_WAYPOINTS)
        lon, lat = [_r(p["lon"], 7) for p in pts], [_r(p["lat"], 7) for p in pts]
        fig.add_scatter(
            x=lon,
            y=lat,
            mode="lines",
            line=dict(color=colour, width=1),
            opacity=0.45,
            hoverinfo="skip",
            showlegend=False,
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=lon,
            y=lat,
            mode="markers",
            name="waypoints",
            marker=dict(
                size=6,
                symbol=["circle-open" if p.get("mid_drive") else "circle" for p in pts],
                color=[p["sol"] for p in pts],
                colorscale="Viridis",
                showscale=True,
                colorbar=dict(title=dict(text="sol"), x=0.485, xanchor="left", len=0.85, thickness=12),
            ),
            customdata=[
                [
                    p["sol"],
                    p.get("site"),
                    p.get("drive"),
                    _r(p.get("elevation_m"), 1),
                    _r(p.get("dist_m") or 0, 2),
                    _r((p.get("dist_total_m") or 0) / 1000, 3),
                    " (mid-drive)" if p.get("mid_drive") else "",
                ]
                for p in pts
            ],
            hovertemplate=(
                "<b>sol %{customdata[0]}</b> site %{customdata[1]} drive %{customdata[2]}%{customdata[6]}<br>"
                "%{x:.5f}° E, %{y:.5f}° N, elevation %{customdata[3]:,.1f} m<br>"
                "drive %{customdata[4]:.1f} m, odometry %{customdata[5]:.2f} km<extra></extra>"
            ),
            row=1,
            col=1,
        )
        for label, p, symbol in (("landing / first waypoint", pts[0], "star"), ("latest waypoint", pts[-1], "x")):
            fig.add_scatter(
                x=[p["lon"]],
                y=[p["lat"]],
                mode="markers+text",
                name=label,
                text=[f"sol {p['sol']}"],
                textposition="top center",
                marker=dict(size=13, symbol=symbol, color="#1d2330"),
                hovertemplate=f"{label}: sol {p['sol']}<extra></extra>",
                row=1,
                col=1,
            )
        lat0 = sum(p["lat"] for p in pts) / len(pts)
        # equal ground scale: one degree of longitude is cos(latitude) as long as one of latitude
        fig.update_yaxes(scaleanchor="x", scaleratio=1 / max(math.cos(math.radians(lat0)), 0.05), row=1, col=1)
    fig.update_xaxes(title_text="longitude (° E)", row=1, col=1)
    fig.update_yaxes(title_text="latitude (° N)", row=1, col=1)
    if per_sol:
        for source, shade in (("traverse", 1.0), ("waypoints", 0.85)):
            sel = [r for r in per_sol if (r.get("distance_source") or "waypoints") == source]
            if sel:
                fig.add_bar(
                    x=[r["sol"] for r in sel],
                    y=[r["distance_m"] for r in sel],
                    name=f"metres per sol ({source})",
                    marker=dict(color=colour, line_width=0),
                    opacity=shade,
                    customdata=[[str(r.get("earth_date") or "")] for r in sel],
                    hovertemplate=(
                        f"sol %{{x}} (%{{customdata[0]}})<br>%{{y:,.1f}} m driven (from {source})<extra></extra>"
                    ),
                    row=1,
                    col=2,
                )
        fig.add_scatter(
            x=[r["sol"] for r in per_sol],
            y=[_r((r["cumulative_distance_m"] or 0) / 1000, 4) for r in per_sol],
            mode="lines",
            name="cumulative (km)",
            line=dict(color="#1d2330", width=1.5, dash="dot"),
            hovertemplate="sol %{x}: %{y:.2f} km since landing<extra></extra>",
            row=1,
            col=2,
            secondary_y=True,
        )
        fig.update_xaxes(title_text="sol (Mars solar days since landing)", row=1, col=2)
        fig.update_yaxes(title_text="distance per sol (m)", rangemode="tozero", row=1, col=2, secondary_y=False)
        fig.update_yaxes(
            title_text="cumulative distance (km)",
            rangemode="tozero",
            tickmode="auto",
            showgrid=False,
            row=1,
            col=2,
            secondary_y=True,
        )
    style(
        fig,
        title=f"{rover.capitalize()}: path coloured by sol, and distance per sol",
        height=560,
        legend=dict(orientation="h", y=-0.18),
        bargap=0,
    )
    return fig


def traverse_key_numbers(points: list[dict], legs: list[dict], activity: list[dict]) -> dict[str, object]:
    """Headline numbers: waypoints and traverse legs (and those not counted), per rover km and sols driven."""
    out: dict[str, object] = {"waypoints": len(points), "traverse legs": len(legs)}
    if not_counted := sum(1 for r in legs if r.get("reason")):
        out["legs not counted"] = not_counted
    for rover in sorted({r["rover"] for r in activity if r.get("distance_m")}, key=rover_sort_key):
        sel = [r for r in activity if r["rover"] == rover]
        out[f"{rover}: distance (km)"] = round(max(r.get("cumulative_distance_m") or 0 for r in sel) / 1000, 2)
        out[f"{rover}: sols with a drive"] = sum(1 for r in sel if r.get("distance_m"))
    return out


def build_traverse_dashboard(
    *, waypoints: pa.Table | None, traverse: pa.Table | None, sol_activity: pa.Table | None
) -> Dashboard:
    """The traverse page: one figure per rover with waypoints or traverse legs (see the module
    docstring for the inputs). Returns a :class:`Dashboard` (complete offline HTML)."""
    points, legs, activity = rows(waypoints), rows(traverse), rows(sol_activity)
    rovers = sorted({r["rover"] for r in points} | {r["rover"] for r in legs}, key=rover_sort_key)
    sections = []
    for rover in rovers:
        per_sol = sorted(
            (r for r in activity if r["rover"] == rover and r.get("distance_source")), key=lambda r: r["sol"]
        )
        p = sorted(
            (r for r in points if r["rover"] == rover and r.get("lon") is not None and r.get("lat") is not None),
            key=lambda r: r["sol"],
        )
        lg = [r for r in legs if r["rover"] == rover]
        sources = sorted({r["distance_source"] for r in per_sol})
        matched = sum(1 for r in lg if r.get("sol_source") == "waypoint_match")
        skipped = sum(1 for r in lg if r.get("reason"))
        how = (f" ({matched:,} given their sol by the waypoints they end at" if matched else "") + (
            f"{'; ' if matched else ' ('}{skipped:,} not counted: no sol or a duplicate" if skipped else ""
        )
        how += ")" if how else ""
        sections.append(
            Section(
                f"{rover.capitalize()}",
                _path_figure(rover, p, lg, per_sol),
                note=(
                    f"{len(p):,} waypoints over sols {p[0]['sol'] if p else '?'}–{p[-1]['sol'] if p else '?'}"
                    + (
                        f", {len(lg):,} traverse legs{how}"
                        if lg
                        else " (no traverse layer: the path joins the waypoints)"
                    )
                    + "; "
                    f"distance per sol from {' and '.join(sources) or 'nothing'}. Axes keep equal ground scale; "
                    "drag to zoom, double-click to reset."
                ),
            )
        )
    return render_page(
        "traverse",
        "Traverse dashboard",
        "Where each rover drove: MMGIS localizations (silver waypoints) and traverse legs "
        "(silver traverse), with the distance driven per sol (gold sol_activity).",
        sections,
        key_numbers=traverse_key_numbers(points, legs, activity),
    )
