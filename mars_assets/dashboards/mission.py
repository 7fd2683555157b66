"""The mission dashboard: photos per sol, mission length, camera usage and distance driven.

Inputs (all from the warehouse; any may be None or empty, its chart is then left out):

* gold ``mission_summary``: one row per rover — ``rover``, ``rover_name``, ``landing_date``,
  ``source_max_date``, ``mission_length_sols``, ``mission_length_earth_days``, ``photos``,
  ``active_sols``, ``cameras_used_count``, ``source_total_photos``.
* gold ``camera_usage``: one row per rover × camera — ``photos``, ``share_of_rover_photos``
  (0..1), ``active_sols``, ``camera_full_name``.
* gold ``sol_activity``: one row per rover × sol — ``photos``, ``earth_date``,
  ``distance_m`` (metres driven that sol), ``cumulative_distance_m`` (metres).
* gold ``photo_gaps``: one row per manifest rover × sol — ``manifest_photos`` (the photo
  count NASA's manifest lists for the sol).
* ``camera_sols``: one row per rover × sol × camera — ``photos`` (a group-by of silver
  ``photos`` in DuckDB, :func:`mars_assets.dashboards.queries.camera_sols`); with ``sol_last``
  a row covers the run of sols ``sol``..``sol_last`` (the query bins a long mission's sols so
  the heatmap keeps at most about HEATMAP_COLUMNS columns).

Every chart plots per rover × sol (or fewer) points, never one per photo.
"""

from __future__ import annotations

import datetime as dt
import math

import plotly.graph_objects as go
import pyarrow as pa

from mars_assets.dashboards.common import (
    Dashboard,
    Section,
    add_rover_filter,
    camera_colours,
    render_page,
    rover_colour,
    rover_sort_key,
    rows,
    style,
)

SOL_AXIS = "sol (Mars solar days since landing)"
#: Heatmap cells carry their count as text up to this many columns (more would be unreadable
#: and slow to draw); the count stays in the hover text.
CELL_TEXT_COLUMNS = 120
#: Cameras named in a sol's hover text; more are summarised as "+N more".
HOVER_CAMERAS = 5


def _cameras_text(cameras: list[str] | None) -> str:
    """``a, b, c`` or, beyond HOVER_CAMERAS, ``17: a, b, c, d, e +12 more``."""
    cams = list(cameras or [])
    if len(cams) <= HOVER_CAMERAS:
        return ", ".join(cams)
    return f"{len(cams)}: {', '.join(cams[:HOVER_CAMERAS])} +{len(cams) - HOVER_CAMERAS} more"


def _timeline(activity: list[dict], gaps: list[dict]) -> go.Figure | None:
    """Photos per sol per rover: the manifest's count (line) and the warehouse's (markers)."""
    taken = [r for r in activity if r["photos"]]
    manifest = [g for g in gaps if g.get("manifest_photos")]
    if not taken and not manifest:
        return None
    fig, owners = go.Figure(), []
    for rover in sorted({r["rover"] for r in taken} | {g["rover"] for g in manifest}, key=rover_sort_key):
        m = sorted((g for g in manifest if g["rover"] == rover), key=lambda g: g["sol"])
        if m:
            fig.add_scatter(
                x=[g["sol"] for g in m],
                y=[g["manifest_photos"] for g in m],
                mode="lines",
                name=f"{rover}: manifest",
                legendgroup=rover,
                line=dict(color=rover_colour(rover), width=1),
                opacity=0.55,
                customdata=[[str(g.get("earth_date") or ""), g.get("silver_photos", 0)] for g in m],
                hovertemplate=(
                    f"<b>{rover}</b> sol %{{x}} (%{{customdata[0]}})<br>"
                    "manifest: %{y:,} photos<br>warehouse: %{customdata[1]:,} photos"
                    "<extra></extra>"
                ),
            )
            owners.append(rover)
        w = sorted((r for r in taken if r["rover"] == rover), key=lambda r: r["sol"])
        if w:
            fig.add_scatter(
                x=[r["sol"] for r in w],
                y=[r["photos"] for r in w],
                mode="markers",
                name=f"{rover}: in warehouse",
                legendgroup=rover,
                marker=dict(color=rover_colour(rover), size=11, symbol="diamond", line=dict(color="#ffffff", width=1)),
                customdata=[[str(r.get("earth_date") or ""), _cameras_text(r.get("cameras"))] for r in w],
                hovertemplate=(
                    f"<b>{rover}</b> sol %{{x}} (%{{customdata[0]}})<br>"
                    "%{y:,} photos in the warehouse<br>cameras: %{customdata[1]}"
                    "<extra></extra>"
                ),
            )
            owners.append(rover)
    style(
        fig,
        title="Photos per sol: NASA manifest (line) and the warehouse (diamonds)",
        height=430,
        xaxis_title=SOL_AXIS,
        yaxis_title="photos per sol (log scale)",
        yaxis_type="log",
        yaxis_dtick=1,
    )
    return add_rover_filter(fig, owners)


def _mission_length(summary: list[dict], activity: list[dict]) -> go.Figure | None:
    """Each rover's mission from landing to the source's last date (Earth dates), with the
    sols that have photos in the warehouse marked on it."""
    spans = [r for r in summary if r.get("landing_date") and r.get("source_max_date")]
    if not spans:
        return None
    spans.sort(key=lambda r: rover_sort_key(r["rover"]), reverse=True)
    fig = go.Figure()
    for r in spans:
        start: dt.date = r["landing_date"]
        days = (r["source_max_date"] - start).days
        fig.add_bar(
            y=[r.get("rover_name") or r["rover"]],
            base=[start.isoformat()],
            x=[days * 86_400_000],
            orientation="h",
            name=r["rover"],
            marker_color=rover_colour(r["rover"]),
            opacity=0.8,
            text=[f"{r.get('mission_length_sols') or 0:,} sols · {days:,} Earth days"],
            textposition="inside",
            insidetextanchor="middle",
            showlegend=False,
            customdata=[
                [
                    start.isoformat(),
                    r["source_max_date"].isoformat(),
                    r.get("mission_length_sols"),
                    days,
                    r.get("photos") or 0,
                    r.get("source_total_photos") or 0,
                ]
            ],
            hovertemplate=(
                "<b>%{y}</b><br>landed %{customdata[0]}, last sol on %{customdata[1]}<br>"
                "mission length %{customdata[2]:,} sols = %{customdata[3]:,} Earth days<br>"
                "photos: %{customdata[4]:,} in the warehouse of %{customdata[5]:,} listed"
                "<extra></extra>"
            ),
        )
    names = {r["rover"]: r.get("rover_name") or r["rover"] for r in spans}
    taken = [a for a in activity if a["photos"] and a["rover"] in names and a.get("earth_date")]
    if taken:
        fig.add_scatter(
            y=[names[a["rover"]] for a in taken],
            x=[a["earth_date"].isoformat() for a in taken],
            mode="markers",
            name="sol with photos in the warehouse",
            marker=dict(symbol="line-ns", size=22, line=dict(width=3, color="#1d2330")),
            customdata=[[a["sol"], a["photos"]] for a in taken],
            hovertemplate="%{y} sol %{customdata[0]} (%{x})<br>%{customdata[1]:,} photos<extra></extra>",
        )
    style(
        fig,
        title="Mission length: landing to the last sol the source reports",
        height=120 + 70 * len(spans),
        xaxis_title="Earth date (UTC)",
        xaxis_type="date",
        yaxis_title="",
        barmode="overlay",
        legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"),
    )
    return fig


def _camera_shares(usage: list[dict]) -> go.Figure | None:
    """Share of each rover's photos per camera (stacked to 100 %); the legend filters cameras."""
    if not usage:
        return None
    colours = camera_colours(r["camera"] for r in usage)
    rovers = sorted({r["rover"] for r in usage}, key=rover_sort_key, reverse=True)
    fig = go.Figure()
    for cam in sorted(colours):
        cam_rows = [r for r in usage if (r["camera"] or "?") == cam]
        fig.add_bar(
            y=[r["rover"] for r in cam_rows],
            x=[100 * (r["share_of_rover_photos"] or 0) for r in cam_rows],
            orientation="h",
            name=cam,
            marker_color=colours[cam],
            customdata=[[r["photos"], r.get("camera_full_name") or cam, r.get("active_sols") or 0] for r in cam_rows],
            hovertemplate=(
                "<b>%{y}</b> %{customdata[1]}<br>%{customdata[0]:,} photos = %{x:.1f} %"
                " of the rover's photos<br>on %{customdata[2]} sols<extra>" + cam + "</extra>"
            ),
        )
    style(
        fig,
        title="Camera usage: share of each rover's photos (click a camera in the legend to hide it)",
        height=max(150 + 60 * len(rovers), 140 + 21 * len(colours)),
        barmode="stack",
        xaxis_title="share of the rover's photos (%)",
        xaxis_range=[0, 100],
        yaxis_title="",
        yaxis_categoryorder="array",
        yaxis_categoryarray=rovers,
        legend_title_text="camera",
    )
    return fig


def _column_label(rover: str, first: int, last: int | None) -> str:
    return f"{rover} · sol {first}" if last is None or last == first else f"{rover} · sols {first}–{last}"


def _camera_sols(camera_sols: list[dict]) -> go.Figure | None:
    """Photos per camera (rows) on each rover × sol, or run of sols, with photos (columns): a
    heatmap on a log colour scale, the counts written in the cells up to CELL_TEXT_COLUMNS
    columns."""
    if not camera_sols:
        return None
    columns = sorted(
        {(r["rover"], r["sol"], r.get("sol_last")) for r in camera_sols}, key=lambda k: (rover_sort_key(k[0]), k[1])
    )
    cameras = sorted({r["camera"] or "?" for r in camera_sols}, reverse=True)
    counts = {(r["rover"], r["sol"], r["camera"] or "?"): r["photos"] for r in camera_sols}
    z, text = [], []
    for cam in cameras:
        row = [counts.get((rover, sol, cam)) for rover, sol, _ in columns]
        z.append([round(math.log10(n), 3) if n else None for n in row])
        text.append([f"{n:,}" if n else "" for n in row])
    top = max(1, math.ceil(max(v for line in z for v in line if v is not None)))
    binned = any(last not in (None, sol) for _, sol, last in columns)
    fig = go.Figure(
        go.Heatmap(
            x=[_column_label(*c) for c in columns],
            y=cameras,
            z=z,
            text=text,
            texttemplate="%{text}" if len(columns) <= CELL_TEXT_COLUMNS else None,
            textfont=dict(size=11),
            colorscale="YlOrRd",
            zmin=0,
            zmax=top,
            xgap=2 if len(columns) <= CELL_TEXT_COLUMNS else 0,
            ygap=2,
            colorbar=dict(
                title=dict(text="photos"),
                tickvals=list(range(top + 1)),
                ticktext=[f"{10**i:,}" for i in range(top + 1)],
                thickness=14,
            ),
            hovertemplate="<b>%{x}</b><br>%{y}: %{text} photos<extra></extra>",
        )
    )
    style(
        fig,
        title="Photos per camera on each rover × "
        + ("run of sols" if binned else "sol")
        + " in the warehouse (log colour scale)",
        height=160 + 24 * len(cameras),
        xaxis_title="rover / sols" if binned else "rover / sol",
        yaxis_title="camera",
        plot_bgcolor="#f3f4f6",
    )
    return fig


def _distance(activity: list[dict]) -> go.Figure | None:
    """Cumulative distance driven per rover (km) against sol."""
    drives = [r for r in activity if r.get("cumulative_distance_m") is not None]
    rovers = sorted({r["rover"] for r in drives if r.get("distance_m")}, key=rover_sort_key)
    if not rovers:
        return None
    fig = go.Figure()
    for rover in rovers:
        sel = sorted((r for r in drives if r["rover"] == rover), key=lambda r: r["sol"])
        fig.add_scatter(
            x=[r["sol"] for r in sel],
            y=[r["cumulative_distance_m"] / 1000 for r in sel],
            mode="lines",
            name=rover,
            line=dict(color=rover_colour(rover), width=2.5),
            customdata=[
                [str(r.get("earth_date") or ""), r.get("distance_m") or 0, r.get("distance_source") or "none"]
                for r in sel
            ],
            hovertemplate=(
                f"<b>{rover}</b> sol %{{x}} (%{{customdata[0]}})<br>"
                "%{y:.2f} km driven since landing<br>"
                "%{customdata[1]:.1f} m this sol (from %{customdata[2]})<extra></extra>"
            ),
        )
    style(
        fig,
        title="Cumulative distance driven (MMGIS waypoints / traverse)",
        height=420,
        xaxis_title=SOL_AXIS,
        yaxis_title="cumulative distance (km)",
    )
    return add_rover_filter(fig, rovers)


def mission_key_numbers(summary: list[dict], activity: list[dict]) -> dict[str, object]:
    """Headline numbers: total photos, then per rover its photos (label: sols with photos,
    mission length in sols, km driven)."""
    out: dict[str, object] = {"photos in the warehouse": sum(r.get("photos") or 0 for r in summary)}
    km: dict[str, float] = {}
    for r in activity:
        if r.get("cumulative_distance_m") is not None:
            km[r["rover"]] = max(km.get(r["rover"], 0.0), r["cumulative_distance_m"] / 1000)
    for r in sorted(summary, key=lambda r: rover_sort_key(r["rover"])):
        active = r.get("active_sols") or 0
        label = (
            f"{r['rover']} photos · {active} sol{'' if active == 1 else 's'} with photos · "
            f"{r.get('mission_length_sols') or 0:,}-sol mission"
        )
        if km.get(r["rover"]):
            label += f" · {km[r['rover']]:.1f} km driven"
        out[label] = r.get("photos") or 0
    return out


def build_mission_dashboard(
    *,
    mission_summary: pa.Table | None,
    camera_usage: pa.Table | None,
    sol_activity: pa.Table | None,
    photo_gaps: pa.Table | None,
    camera_sols: pa.Table | None = None,
) -> Dashboard:
    """The mission page (see the module docstring for the inputs' columns).

    Charts: photos per sol (manifest line and warehouse markers, log y), mission length
    bars on an Earth-date axis, camera usage shares (%), photos per camera on each rover ×
    sol, cumulative distance (km). Rover dropdowns and camera legends filter the charts.
    Returns a :class:`Dashboard` whose ``html`` is a complete offline document.
    """
    summary, activity, usage = rows(mission_summary), rows(sol_activity), rows(camera_usage)
    sections = [
        Section(
            "Photos per sol",
            _timeline(activity, rows(photo_gaps)),
            note="The line is the photo count NASA's mission manifest lists for every sol; diamonds are the "
            "sols ingested into the warehouse. Use the dropdown to show one rover.",
        ),
        Section(
            "Mission length",
            _mission_length(summary, activity),
            note="Bars run from landing to the last sol the source reports; ticks mark sols with photos "
            "in the warehouse.",
        ),
        Section(
            "Camera usage",
            _camera_shares(usage),
            note="Click a camera in the legend to hide it, double-click to show only that camera.",
        ),
        Section(
            "Photos per camera and sol",
            _camera_sols(rows(camera_sols)),
            note="Each cell is the number of photos one camera took on one sol, or on one run of sols of equal "
            "length when there are too many sols for a column each (silver photos); empty cells: no photos.",
        ),
        Section(
            "Distance driven",
            _distance(activity),
            note="Sum of each sol's drive length: MMGIS traverse legs where a traverse layer exists, "
            "else the waypoints' dist_m.",
        ),
    ]
    return render_page(
        "mission",
        "Mission dashboard",
        "Photos per rover and sol, mission length, camera usage and distance driven, from the gold "
        "dbt models and silver photos.",
        [s for s in sections if s.figure is not None],
        key_numbers=mission_key_numbers(summary, activity),
    )
