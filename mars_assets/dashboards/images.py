"""The images dashboard: selected images with their histograms and spectra, and per-camera trends.

Inputs (any may be None or empty):

* silver ``image_stats``: one row per image (columns of
  :data:`mars_assets.imaging.IMAGE_STATS_SCHEMA` plus ``image_id``, ``product_id``, ``rover``,
  ``sol``, ``camera``). Used here: ``brightness_norm`` (mean gray level / full scale, 0..1),
  ``sharpness`` (variance of the Laplacian of the normalised gray image),
  ``spectral_slope`` (log-log slope of the radial power spectrum, ~ -2 for natural images),
  ``hf_energy_fraction`` (share of spectral power above ``hf_cutoff_rho`` × Nyquist),
  ``red_hist`` / ``green_hist`` / ``blue_hist`` / ``gray_hist`` (256-bin histograms over the
  full intensity range, pixel counts), ``radial_frequency`` (bin centres, cycles/pixel) and
  ``radial_power`` (mean power per bin, unnormalised DFT units).
* gold ``image_stats_daily``: one row per rover × camera × sol — ``images``,
  ``mean_brightness_norm``, ``mean_hf_energy_fraction``.
* the selected images (:class:`SelectedImage`): chosen by :func:`select_images`, decoded by
  the asset from bronze, with a thumbnail (:func:`thumbnail_data_uri`) and the centred
  log-magnitude spectrum (:func:`mars_assets.imaging.log_magnitude_spectrum`).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
from PIL import Image
from plotly.subplots import make_subplots

from mars_assets.dashboards.common import (
    CHANNEL_COLOURS,
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
from mars_assets.imaging import HF_CUTOFF_RHO, DecodedImage

#: (column, label of the highest value, label of the lowest value) used to pick images.
SELECTION_METRICS: tuple[tuple[str, str, str], ...] = (
    ("brightness_norm", "brightest", "darkest"),
    ("sharpness", "sharpest", "softest"),
    ("spectral_slope", "flattest spectrum", "steepest spectrum"),
)
#: Nyquist frequency of a sampled image, cycles/pixel.
NYQUIST = 0.5


@dataclass
class SelectedImage:
    """One image shown in detail.

    ``labels``: why it was picked (e.g. ``["brightest", "sharpest"]``); ``stats``: its silver
    ``image_stats`` row; ``spectrum``: ``(n, n)`` float array of ``log1p(|FFT|)`` with DC at the
    centre; ``thumbnail``: a ``data:image/jpeg;base64,...`` URI (None when the bytes were not
    readable).
    """

    labels: list[str]
    stats: dict
    spectrum: np.ndarray | None
    thumbnail: str | None


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


def thumbnail_data_uri(image: DecodedImage, max_side: int = 320, quality: int = 82) -> str:
    """A downscaled JPEG of ``image`` as a ``data:`` URI (longest side ``max_side`` pixels).

    16-bit images are reduced to 8 bits by their top byte (the full range maps to 0..255, as
    the histograms do). Pillow's LANCZOS filter; aspect ratio kept.
    """
    px = image.pixels
    if px.dtype != np.uint8:
        px = (px >> 8).astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(px))
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _detail_figure(s: SelectedImage) -> go.Figure:
    """1 × 3: RGB (or gray) histogram, log-magnitude spectrum, radial power spectrum."""
    st = s.stats
    slope = st.get("spectral_slope")
    cutoff = (st.get("hf_cutoff_rho") or HF_CUTOFF_RHO) * NYQUIST
    radial_title = "radial power spectrum" + (f", slope {slope:.2f}" if slope is not None else "")
    fig = make_subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.08,
        column_widths=[0.36, 0.28, 0.36],
        subplot_titles=("intensity histogram (256 bins)", "log-magnitude FFT spectrum", radial_title),
    )
    levels = [(i + 0.5) / 256 for i in range(256)]
    channels = ("red", "green", "blue") if st.get("red_hist") is not None else ("gray",)
    for ch in channels:
        counts = st.get(f"{ch}_hist")
        if counts is None:
            continue
        fig.add_scatter(
            x=levels,
            y=counts,
            mode="lines",
            name=ch,
            line=dict(color=CHANNEL_COLOURS[ch], width=1.5),
            fill="tozeroy",
            opacity=0.5,
            hovertemplate=f"{ch}: %{{y:,}} pixels at %{{x:.3f}} of full scale<extra></extra>",
            row=1,
            col=1,
        )
    fig.update_xaxes(title_text="intensity (fraction of full scale)", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="pixels (count)", row=1, col=1)
    if s.spectrum is not None:
        n = s.spectrum.shape[0]
        freqs = [(-NYQUIST + (i + 0.5) * 2 * NYQUIST / n) for i in range(n)]
        fig.add_heatmap(
            z=s.spectrum.round(3).tolist(),
            x=freqs,
            y=freqs,
            colorscale="Inferno",
            showscale=False,
            hovertemplate="fx %{x:.3f}, fy %{y:.3f} cycles/pixel<br>log(1+|F|) = %{z:.2f}<extra></extra>",
            row=1,
            col=2,
        )
        fig.update_xaxes(title_text="fx (cycles/pixel)", row=1, col=2, constrain="domain")
        fig.update_yaxes(title_text="fy (cycles/pixel)", row=1, col=2, scaleanchor="x2", constrain="domain")
    freq, power = st.get("radial_frequency") or [], st.get("radial_power") or []
    pairs = [(f, p) for f, p in zip(freq, power, strict=False) if f and p and p > 0]
    if pairs:
        fig.add_scatter(
            x=[f for f, _ in pairs],
            y=[p for _, p in pairs],
            mode="lines+markers",
            name="radial power",
            line=dict(color=rover_colour(st.get("rover")), width=2),
            marker=dict(size=4),
            hovertemplate="%{x:.3f} cycles/pixel: power %{y:.3g}<extra></extra>",
            row=1,
            col=3,
        )
        top, bottom = max(p for _, p in pairs), min(p for _, p in pairs)
        hf = f"{(st.get('hf_energy_fraction') or 0):.1%} of the power lies above {cutoff:.2f} cycles/pixel"
        fig.add_scatter(
            x=[cutoff, cutoff],
            y=[bottom, top],
            mode="lines",
            name="high-frequency cutoff",
            line=dict(color="#888888", dash="dash", width=1),
            hovertemplate=f"high-frequency cutoff<br>{hf}<extra></extra>",
            row=1,
            col=3,
        )
        fig.add_annotation(
            text=f"HF: {(st.get('hf_energy_fraction') or 0):.1%}",
            x=math.log10(cutoff),
            y=1,
            xref="x3",
            yref="y3 domain",
            xanchor="right",
            yanchor="top",
            showarrow=False,
            font=dict(size=11, color="#555555"),
        )
        fig.update_xaxes(title_text="spatial frequency (cycles/pixel, log)", type="log", dtick=1, row=1, col=3)
        fig.update_yaxes(title_text="mean power (log)", type="log", dtick=1, exponentformat="power", row=1, col=3)
    title = f"{st['rover']} sol {st['sol']} {st.get('camera') or '?'} — {', '.join(s.labels)}"
    style(fig, title=title, height=390, showlegend=False, margin=dict(l=60, r=20, t=90, b=60))
    return fig


def _caption(s: SelectedImage) -> str:
    st = s.stats
    img = (
        f'<img alt="thumbnail of {html.escape(st["image_id"])}" src="{s.thumbnail}">'
        if s.thumbnail
        else '<p class="empty">image bytes not available</p>'
    )
    slope = "n/a" if st.get("spectral_slope") is None else f"{st['spectral_slope']:.2f}"
    facts = (
        f"{st.get('width')}×{st.get('height')} px, {html.escape(str(st.get('mode')))}, "
        f"{st.get('bit_depth')}-bit<br>"
        f"brightness {st.get('brightness_norm') or 0:.3f} · sharpness {st.get('sharpness') or 0:.2e}<br>"
        f"spectral slope {slope} · high-frequency energy {(st.get('hf_energy_fraction') or 0):.1%}"
    )
    return f'{img}<p class="caption"><b>{html.escape(st.get("product_id") or st["image_id"])}</b><br>{facts}</p>'


def _overview(stats: list[dict], selected: Sequence[SelectedImage]) -> go.Figure | None:
    """Every image: brightness against high-frequency energy, coloured by rover, picks ringed."""
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
            marker=dict(color=rover_colour(rover), size=8, opacity=0.75),
            customdata=[
                [
                    r["sol"],
                    r.get("camera") or "?",
                    r.get("product_id") or r["image_id"],
                    r.get("sharpness") or 0,
                    r.get("spectral_slope") or 0,
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
    style(
        fig,
        title="Every image: brightness against high-frequency energy",
        height=460,
        xaxis_title="brightness (mean gray level / full scale, 0–1)",
        yaxis_title="high-frequency energy (share of spectral power)",
        yaxis_tickformat=".0%",
    )
    return add_rover_filter(fig, owners)


def _trends(daily: list[dict]) -> go.Figure | None:
    """Per camera: mean brightness and mean high-frequency energy per sol (two stacked panels)."""
    if not daily:
        return None
    colours = camera_colours(r["camera"] for r in daily)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("mean brightness per sol", "mean high-frequency energy per sol"),
    )
    owners = []
    symbols = {"curiosity": "circle", "perseverance": "diamond", "spirit": "square", "opportunity": "triangle-up"}
    for rover in sorted({r["rover"] for r in daily}, key=rover_sort_key):
        for cam in sorted({r["camera"] or "?" for r in daily if r["rover"] == rover}):
            sel = sorted(
                (r for r in daily if r["rover"] == rover and (r["camera"] or "?") == cam), key=lambda r: r["sol"]
            )
            name = f"{rover} · {cam}"
            common = dict(
                mode="lines+markers",
                legendgroup=name,
                name=name,
                line=dict(color=colours[cam], width=1.5),
                marker=dict(
                    color=colours[cam],
                    size=7,
                    symbol=symbols.get(rover, "circle"),
                    line=dict(color=rover_colour(rover), width=1),
                ),
                customdata=[[r["images"]] for r in sel],
            )
            fig.add_scatter(
                x=[r["sol"] for r in sel],
                y=[r["mean_brightness_norm"] for r in sel],
                **common,
                hovertemplate=f"<b>{name}</b> sol %{{x}}<br>mean brightness %{{y:.3f}}"
                " over %{customdata[0]} images<extra></extra>",
                row=1,
                col=1,
            )
            fig.add_scatter(
                x=[r["sol"] for r in sel],
                y=[r["mean_hf_energy_fraction"] for r in sel],
                **common,
                showlegend=False,
                hovertemplate=f"<b>{name}</b> sol %{{x}}<br>mean high-frequency energy %{{y:.1%}}"
                " over %{customdata[0]} images<extra></extra>",
                row=2,
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


def images_key_numbers(stats: list[dict], daily: list[dict]) -> dict[str, object]:
    """Headline numbers: images with statistics, cameras, sols, mean brightness and HF energy."""
    if not stats:
        return {"images with statistics": 0}
    return {
        "images with statistics": len(stats),
        "cameras": len({(r["rover"], r.get("camera")) for r in stats}),
        "rover × camera × sol groups": len(daily),
        "mean brightness (0–1)": round(float(np.mean([r["brightness_norm"] for r in stats])), 3),
        "mean high-frequency energy": f"{float(np.mean([r['hf_energy_fraction'] for r in stats])):.1%}",
        "median spectral slope": round(
            float(np.median([r["spectral_slope"] for r in stats if r.get("spectral_slope") is not None] or [0.0])), 2
        ),
    }


def build_images_dashboard(
    *, image_stats: pa.Table | None, image_stats_daily: pa.Table | None, selected: Sequence[SelectedImage] = ()
) -> Dashboard:
    """The images page (see the module docstring for the inputs). One detail block per
    selected image (thumbnail, histograms, spectra), an overview scatter of every image and the
    per-camera trends. Returns a :class:`Dashboard` (complete offline HTML)."""
    stats, daily = rows(image_stats), rows(image_stats_daily)
    sections = [
        Section(
            "All images",
            _overview(stats, selected),
            note="Each dot is one image in silver image_stats; ringed dots are shown in detail below.",
        )
    ]
    for s in selected:
        sections.append(
            Section(
                f"{', '.join(s.labels).capitalize()}: {s.stats['rover']} sol {s.stats['sol']} "
                f"{s.stats.get('camera') or ''}",
                _detail_figure(s),
                side_html=_caption(s),
            )
        )
    sections.append(
        Section(
            "Trends per camera",
            _trends(daily),
            note="Means over the images of each rover × camera × sol. Use the dropdown for one "
            "rover; click legend entries to hide cameras.",
        )
    )
    return render_page(
        "images",
        "Images dashboard",
        "Image statistics of the rover images in the warehouse: the extremes by brightness, "
        "sharpness and spectral slope with their RGB histograms and FFT spectra, and per-camera "
        "trends over sols.",
        [s for s in sections if s.figure is not None],
        key_numbers=images_key_numbers(stats, daily),
    )
