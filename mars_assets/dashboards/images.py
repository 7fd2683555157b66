"""The images dashboard: selected images with their histograms and spectra, and per-camera trends.

Inputs (any may be None or empty):

* silver ``image_stats``: one row per image (columns of
  :data:`mars_assets.imaging.IMAGE_STATS_SCHEMA` plus ``image_id``, ``product_id``, ``rover``,
  ``sol``, ``camera``), or a sample of them (the asset passes at most
  :data:`mars_assets.dashboards.queries.IMAGE_SAMPLE`, with only the columns the overview
  plots). Used here: ``brightness_norm`` (mean gray level / full scale, 0..1),
  ``sharpness`` (variance of the Laplacian of the normalised gray image),
  ``spectral_slope`` (log-log slope of the radial power spectrum, ~ -2 for natural images),
  ``hf_energy_fraction`` (share of spectral power above ``hf_cutoff_rho`` × Nyquist).
* ``totals``: the key numbers over every image (:func:`mars_assets.dashboards.queries.image_totals`:
  ``images``, ``cameras``, ``mean_brightness_norm``, ``mean_hf_energy_fraction``,
  ``median_spectral_slope``, ``daily_groups``); computed from ``image_stats`` when None.
* gold ``image_stats_daily``: one row per rover × camera × sol — ``images``,
  ``mean_brightness_norm``, ``mean_hf_energy_fraction`` — or per rover × camera × run of sols
  with ``sol_last`` (the last sol of the run; :func:`mars_assets.dashboards.queries.image_trends`).
* ``quality``: gold ``image_quality_daily`` summed per rover × camera
  (:func:`mars_assets.dashboards.queries.quality_by_camera`, drawn by
  :mod:`mars_assets.dashboards.quality`): frames per quality flag and near duplicates.
* the selected images (:class:`SelectedImage`): chosen by :func:`select_images`, decoded by
  the asset from bronze, with a thumbnail (:func:`thumbnail_data_uri`), the centred
  log-magnitude spectrum (:func:`mars_assets.imaging.log_magnitude_spectrum`) and their
  histograms (``red_hist`` / ``green_hist`` / ``blue_hist`` / ``gray_hist``, 256 bins) and
  radial power spectrum (``radial_frequency``, ``radial_power``), drawn by
  :mod:`mars_assets.dashboards.image_detail`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
from plotly.subplots import make_subplots

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
from mars_assets.dashboards.image_detail import SelectedImage, caption, detail_figure, thumbnail_data_uri
from mars_assets.dashboards.quality import quality_key_numbers, quality_section

__all__ = ["SELECTION_METRICS", "SelectedImage", "build_images_dashboard", "select_images", "thumbnail_data_uri"]

#: (column, label of the highest value, label of the lowest value) used to pick images.
SELECTION_METRICS: tuple[tuple[str, str, str], ...] = (
    ("brightness_norm", "brightest", "darkest"),
    ("sharpness", "sharpest", "softest"),
    ("spectral_slope", "flattest spectrum", "steepest spectrum"),
)
#: A trend series with more points than this is drawn as a line without markers.
MARKERS_UP_TO = 60
SYMBOLS = {"curiosity": "circle", "perseverance": "diamond", "spirit": "square", "opportunity": "triangle-up"}


def select_images(stats: Sequence[dict], per_end: int = 1) -> list[tuple[dict, list[str]]]:
    """Pick the ``per_end`` highest and lowest images by each of SELECTION_METRICS.

    Returns ``[(image_stats row, labels), ...]`` without duplicates (an image picked twice
    carries both labels), in the order of SELECTION_METRICS. Rows whose metric is null are
    skipped for that metric; ties go to the lower (rover, sol, image_id).
    """
    picked: dict[str, tuple[dict, list[str]]] = {}
    for column, top, bottom in SELECTION_METRICS:
        ranked = sorted(
            (r for r in stats if r.get(column) is not None),
            key=lambda r: (-r[column], r["rover"], r["sol"], r["image_id"]),
        )
        if not ranked:
            continue
        ends = [(r, top) for r in ranked[:per_end]] + [(r, bottom) for r in ranked[::-1][:per_end]]
        for r, label in ends:
            picked.setdefault(r["image_id"], (r, []))[1].append(label)
    return list(picked.values())


def _overview(stats: list[dict], selected: Sequence[SelectedImage], total: int) -> go.Figure | None:
    """Each image of ``stats`` (all ``total`` images, or a sample of them): brightness against
    high-frequency energy, coloured by rover, the images shown in detail ringed."""
    if not stats:
        return None
    fig, owners = go.Figure(), []
    for rover in sorted({r["rover"] for r in stats}, key=rover_sort_key):
        sel = [r for r in stats if r["rover"] == rover]
        fig.add_scatter(
            x=[r["brightness_norm"] for r in sel],
            y=[r["hf_energy_fraction"] for r in sel],
            mode="markers",
            name=rover,
            marker=dict(color=rover_colour(rover), size=8 if len(stats) <= 500 else 5, opacity=0.75),
            customdata=[
                [
                    r["sol"],
                    r.get("camera") or "?",
                    r.get("product_id") or r["image_id"],
                    round(r.get("sharpness") or 0, 8),
                    round(r.get("spectral_slope") or 0, 3),
                ]
                for r in sel
            ],
            hovertemplate=(
                "<b>%{customdata[2]}</b><br>sol %{customdata[0]} %{customdata[1]}<br>"
                "brightness %{x:.3f}, high-frequency energy %{y:.1%}<br>"
                "sharpness %{customdata[3]:.2e}, spectral slope %{customdata[4]:.2f}"
                "<extra></extra>"
            ),
        )
        owners.append(rover)
    if selected:
        fig.add_scatter(
            x=[s.stats["brightness_norm"] for s in selected],
            y=[s.stats["hf_energy_fraction"] for s in selected],
            mode="markers+text",
            name="shown in detail below",
            text=[", ".join(s.labels) for s in selected],
            textposition=[("top center", "top right", "top left")[i % 3] for i in range(len(selected))],
            textfont=dict(size=10),
            marker=dict(size=15, color="rgba(0,0,0,0)", line=dict(color="#1d2330", width=2)),
            hoverinfo="skip",
        )
        owners.append(None)
    which = "Every image" if len(stats) >= total else f"A sample of {len(stats):,} of the {total:,} images"
    style(
        fig,
        title=f"{which}: brightness against high-frequency energy",
        height=460,
        xaxis_title="brightness (mean gray level / full scale, 0–1)",
        yaxis_title="high-frequency energy (share of spectral power)",
        yaxis_tickformat=".0%",
    )
    return add_rover_filter(fig, owners)


def _sol_label(r: Mapping[str, Any]) -> str:
    last = r.get("sol_last")
    return f"sol {r['sol']}" if last is None or last == r["sol"] else f"sols {r['sol']}–{last}"


def _trends(daily: list[dict]) -> go.Figure | None:
    """Per camera: mean brightness and mean high-frequency energy per sol, or per run of sols
    when ``daily`` rows carry ``sol_last`` (two stacked panels, x at the run's first sol)."""
    if not daily:
        return None
    colours = camera_colours(r["camera"] for r in daily)
    binned = any(r.get("sol_last") not in (None, r["sol"]) for r in daily)
    per = "run of sols" if binned else "sol"
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=(f"mean brightness per {per}", f"mean high-frequency energy per {per}"),
    )
    series: dict[tuple[str, str], list[dict]] = {}
    for r in sorted(daily, key=lambda r: (rover_sort_key(r["rover"]), r["camera"] or "?", r["sol"])):
        series.setdefault((r["rover"], r["camera"] or "?"), []).append(r)
    owners = []
    for (rover, cam), sel in series.items():
        name = f"{rover} · {cam}"
        common = dict(
            mode="lines+markers" if len(sel) <= MARKERS_UP_TO else "lines",
            legendgroup=name,
            name=name,
            line=dict(color=colours[cam], width=1.5),
            marker=dict(
                color=colours[cam],
                size=7,
                symbol=SYMBOLS.get(rover, "circle"),
                line=dict(color=rover_colour(rover), width=1),
            ),
            customdata=[[r["images"], _sol_label(r)] for r in sel],
        )
        for row, column, what, fmt in (
            (1, "mean_brightness_norm", "mean brightness", ".3f"),
            (2, "mean_hf_energy_fraction", "mean high-frequency energy", ".1%"),
        ):
            fig.add_scatter(
                x=[r["sol"] for r in sel],
                y=[None if r[column] is None else round(r[column], 5) for r in sel],
                **common,
                showlegend=row == 1,
                hovertemplate=f"<b>{name}</b> %{{customdata[1]}}<br>{what} %{{y:{fmt}}}"
                " over %{customdata[0]} images<extra></extra>",
                row=row,
                col=1,
            )
        owners += [rover, rover]
    fig.update_yaxes(title_text="brightness (0–1)", row=1, col=1)
    fig.update_yaxes(title_text="high-frequency energy", tickformat=".0%", row=2, col=1)
    fig.update_xaxes(title_text="sol (Mars solar days since landing)", row=2, col=1)
    style(
        fig,
        title="Per-camera trends over sols (gold image_stats_daily)",
        height=620,
        legend_title_text="rover · camera",
    )
    return add_rover_filter(fig, owners)


def image_totals_of(stats: list[dict], daily_groups: int) -> dict[str, Any]:
    """The ``totals`` (module docstring) of the image_stats rows ``stats`` in Python."""
    slopes = [r["spectral_slope"] for r in stats if r.get("spectral_slope") is not None]
    brightness = [r["brightness_norm"] for r in stats if r.get("brightness_norm") is not None]
    hf = [r["hf_energy_fraction"] for r in stats if r.get("hf_energy_fraction") is not None]
    return {
        "images": len(stats),
        "cameras": len({(r["rover"], r.get("camera")) for r in stats}),
        "mean_brightness_norm": float(np.mean(brightness)) if brightness else None,
        "mean_hf_energy_fraction": float(np.mean(hf)) if hf else None,
        "median_spectral_slope": float(np.median(slopes)) if slopes else 0.0,
        "daily_groups": daily_groups,
    }


def images_key_numbers(totals: Mapping[str, Any]) -> dict[str, object]:
    """Headline numbers from ``totals``: images with statistics, cameras, rover × camera × sol
    groups, mean brightness, mean high-frequency energy, median spectral slope."""
    if not totals.get("images"):
        return {"images with statistics": 0}
    return {
        "images with statistics": totals["images"],
        "cameras": totals["cameras"],
        "rover × camera × sol groups": totals["daily_groups"],
        "mean brightness (0–1)": round(totals["mean_brightness_norm"] or 0.0, 3),
        "mean high-frequency energy": f"{totals['mean_hf_energy_fraction'] or 0.0:.1%}",
        "median spectral slope": round(totals["median_spectral_slope"] or 0.0, 2),
    }


def build_images_dashboard(
    *,
    image_stats: pa.Table | None,
    image_stats_daily: pa.Table | None,
    selected: Sequence[SelectedImage] = (),
    totals: Mapping[str, Any] | None = None,
    quality: pa.Table | None = None,
) -> Dashboard:
    """The images page (see the module docstring for the inputs). An overview scatter of the
    images (every one, or the sample ``image_stats`` holds), the quality flags per camera, one
    detail block per selected image (thumbnail, histograms, spectra) and the per-camera trends.
    Returns a :class:`Dashboard` (complete offline HTML)."""
    stats, daily = rows(image_stats), rows(image_stats_daily)
    flags = rows(quality) if quality is not None else None
    totals = dict(totals) if totals is not None else image_totals_of(stats, len(daily))
    sampled = len(stats) < (totals.get("images") or 0)
    sections = [
        Section(
            "All images",
            _overview(stats, selected, totals.get("images") or len(stats)),
            note=(
                f"Each dot is one image of a sample of {len(stats):,} of the {totals['images']:,} images in silver "
                "image_stats (the same images every run; the key numbers cover them all)"
                if sampled
                else "Each dot is one image in silver image_stats"
            )
            + "; ringed dots are shown in detail below.",
        )
    ]
    if (flag_section := quality_section(flags)) is not None:
        sections.append(flag_section)
    for s in selected:
        sections.append(
            Section(
                f"{', '.join(s.labels).capitalize()}: {s.stats['rover']} sol {s.stats['sol']} "
                f"{s.stats.get('camera') or ''}",
                detail_figure(s),
                side_html=caption(s),
            )
        )
    sections.append(
        Section(
            "Trends per camera",
            _trends(daily),
            note="Means over the images of each rover × camera × sol (of each run of sols when a rover has "
            "many). Use the dropdown for one rover; click legend entries to hide cameras.",
        )
    )
    return render_page(
        "images",
        "Images dashboard",
        "Image statistics of the rover images in the warehouse: the extremes by brightness, "
        "sharpness and spectral slope with their RGB histograms and FFT spectra, quality flags and "
        "near duplicates per camera, and per-camera trends over sols.",
        [s for s in sections if s.figure is not None or s.html],
        key_numbers=images_key_numbers(totals) | quality_key_numbers(flags),
    )
