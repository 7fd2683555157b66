"""The mission dashboard: one self-contained HTML file (plotly.js inlined, works offline).

Sections: photos per rover and camera, photos per sol against the manifest, gap status
of the manifest sols, distance driven, RGB
histograms and log-magnitude FFT spectra of sample images, radially averaged power
spectra, and the MMGIS waypoint traverse of each rover.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
from plotly.subplots import make_subplots

CHANNEL_COLOURS = {"red": "#d62728", "green": "#2ca02c", "blue": "#1f77b4", "gray": "#555555"}


@dataclass
class SampleImage:
    """One image shown on the dashboard: its statistics row and its (size, size) log-magnitude spectrum."""

    label: str
    stats: dict
    spectrum: np.ndarray


def _rows(table: pa.Table | None) -> list[dict]:
    return table.to_pylist() if table is not None and table.num_rows else []


def _photos_figures(summary: list[dict], per_camera: list[dict]) -> list[go.Figure]:
    figs = []
    if summary:
        fig = go.Figure(go.Bar(x=[r["rover_name"] or r["rover"] for r in summary], y=[r["photos"] for r in summary],
                               text=[f"{r['active_sols']} sols" for r in summary], marker_color="#b5542d"))
        fig.update_layout(title="Photos in the warehouse per rover", yaxis_title="photos", height=380)
        figs.append(fig)
    if per_camera:
        fig = go.Figure()
        for cam in sorted({r["camera"] for r in per_camera}):
            rows = [r for r in per_camera if r["camera"] == cam]
            fig.add_bar(name=cam, x=[r["rover"] for r in rows], y=[r["photos"] for r in rows])
        fig.update_layout(barmode="stack", title="Photos per camera", yaxis_title="photos", height=420)
        figs.append(fig)
    return figs


def _per_sol_figures(sol_activity: list[dict], gaps: list[dict]) -> list[go.Figure]:
    figs = []
    manifest = {(g["rover"], g["sol"]): g["manifest_photos"] for g in gaps}
    per_sol = [{**r, "manifest_photos": manifest.get((r["rover"], r["sol"]))} for r in sol_activity if r["photos"]]
    if gaps:
        fig = go.Figure()
        for status in ("VALID", "PHOTO_COUNT_MISMATCH", "CAMERA_COUNT_MISMATCH", "MISSING_SOL"):
            rows = [g for g in gaps if g["gap_status"] == status]
            rovers = sorted({g["rover"] for g in gaps})
            fig.add_bar(name=status, x=rovers, y=[sum(g["rover"] == r for g in rows) for r in rovers])
        fig.update_layout(barmode="stack", title="Manifest sols by gap status (silver against the manifest)",
                          yaxis_title="sols", height=380)
        figs.append(fig)
    drives = [r for r in sol_activity if r["cumulative_distance_m"] is not None]
    if any(r["distance_m"] for r in drives):
        fig = go.Figure()
        for rover in sorted({r["rover"] for r in drives if r["distance_m"]}):
            rows = [r for r in drives if r["rover"] == rover]
            fig.add_scatter(x=[r["sol"] for r in rows], y=[r["cumulative_distance_m"] / 1000 for r in rows],
                            mode="lines", name=rover)
        fig.update_layout(title="Distance driven (MMGIS waypoints)", xaxis_title="sol",
                          yaxis_title="cumulative distance (km)", height=380)
        figs.append(fig)
    if not per_sol:
        return figs
    fig = go.Figure()
    fig.add_bar(name="photos in warehouse", x=[f"{r['rover']} {r['sol']}" for r in per_sol], y=[r["photos"] for r in per_sol])
    fig.add_scatter(name="manifest total_photos", mode="markers", marker_symbol="diamond", marker_size=10,
                    x=[f"{r['rover']} {r['sol']}" for r in per_sol], y=[r["manifest_photos"] for r in per_sol])
    fig.update_layout(title="Photos per rover × sol against the manifest", yaxis_type="log", yaxis_title="photos", height=380)
    return [fig, *figs]


def _sample_figures(samples: Sequence[SampleImage]) -> list[go.Figure]:
    if not samples:
        return []
    n = len(samples)
    hist = make_subplots(rows=1, cols=n, subplot_titles=[s.label for s in samples])
    spec = make_subplots(rows=1, cols=n, subplot_titles=[s.label for s in samples])
    for i, s in enumerate(samples, start=1):
        for ch in ("red", "green", "blue", "gray"):
            counts = s.stats.get(f"{ch}_hist")
            if counts is None or (ch == "gray" and s.stats.get("red_hist") is not None):
                continue
            hist.add_scatter(x=list(range(256)), y=counts, mode="lines", name=ch, line_color=CHANNEL_COLOURS[ch],
                             showlegend=i == 1, row=1, col=i)
        spec.add_heatmap(z=s.spectrum, colorscale="Inferno", showscale=i == n, row=1, col=i)
        spec.update_xaxes(showticklabels=False, row=1, col=i)
        spec.update_yaxes(showticklabels=False, scaleanchor=f"x{i if i > 1 else ''}", row=1, col=i)
    hist.update_layout(title="RGB histograms of sample images (256 bins)", height=340)
    spec.update_layout(title="2-D FFT log-magnitude spectra (fftshift, DC at centre)", height=340)
    radial = go.Figure()
    for s in samples:
        radial.add_scatter(x=s.stats["radial_frequency"], y=s.stats["radial_power"], mode="lines", name=s.label)
    radial.update_layout(title="Radially averaged power spectrum", xaxis_title="cycles / pixel", xaxis_type="log",
                         yaxis_type="log", yaxis_title="power", height=380)
    return [hist, spec, radial]


def _image_stats_figure(stats: list[dict]) -> list[go.Figure]:
    if not stats:
        return []
    fig = go.Figure()
    for cam in sorted({r["camera"] or "?" for r in stats}):
        rows = [r for r in stats if (r["camera"] or "?") == cam]
        fig.add_scatter(x=[r["brightness_norm"] for r in rows], y=[r["hf_energy_fraction"] for r in rows],
                        mode="markers", name=cam, text=[r["product_id"] for r in rows])
    fig.update_layout(title="Every image: brightness against high-frequency energy fraction",
                      xaxis_title="brightness (0..1)", yaxis_title="high-frequency energy fraction", height=420)
    return [fig]


def _traverse_figure(waypoints: list[dict]) -> list[go.Figure]:
    if not waypoints:
        return []
    rovers = sorted({r["rover"] for r in waypoints})
    fig = make_subplots(rows=1, cols=len(rovers), subplot_titles=[f"{r} traverse (MMGIS waypoints)" for r in rovers])
    for i, rover in enumerate(rovers, start=1):
        rows = sorted((r for r in waypoints if r["rover"] == rover), key=lambda r: (r["sol"], r["site"] or 0, r["drive"] or 0))
        fig.add_scatter(x=[r["lon"] for r in rows], y=[r["lat"] for r in rows], mode="lines+markers",
                        marker=dict(size=4, color=[r["sol"] for r in rows], colorscale="Viridis", showscale=i == 1,
                                    colorbar=dict(title="sol")),
                        text=[f"sol {r['sol']}, {r['dist_total_m'] or 0:.0f} m" for r in rows], name=rover, row=1, col=i)
        fig.update_xaxes(title_text="longitude (°E)", row=1, col=i)
        fig.update_yaxes(title_text="latitude (°)", row=1, col=i)
    fig.update_layout(height=480, showlegend=False)
    return [fig]


def build_mission_dashboard(*, mission_summary: pa.Table | None, camera_usage: pa.Table | None,
                            sol_activity: pa.Table | None, photo_gaps: pa.Table | None, image_stats: pa.Table | None,
                            waypoints: pa.Table | None, samples: Sequence[SampleImage] = ()) -> str:
    """The dashboard HTML (a full document, plotly.js inlined, no network needed to view it).

    Any table may be None or empty; its section is left out.
    """
    figs = (_photos_figures(_rows(mission_summary), _rows(camera_usage))
            + _per_sol_figures(_rows(sol_activity), _rows(photo_gaps))
            + _sample_figures(samples) + _image_stats_figure(_rows(image_stats)) + _traverse_figure(_rows(waypoints)))
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
             for i, f in enumerate(figs)]
    body = "\n".join(f'<section class="chart">{p}</section>' for p in parts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mars_assets — mission dashboard</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:1400px}} .chart{{margin-bottom:1rem}}</style>
</head><body>
<h1>mars_assets — mission dashboard</h1>
<p>NASA Mars rover photo metadata, images and MMGIS waypoints. Image credit: NASA/JPL-Caltech
(Mastcam, MAHLI: NASA/JPL-Caltech/MSSS). {html.escape(str(len(figs)))} charts.</p>
{body}
</body></html>"""
