"""One image shown in detail on the images page: its thumbnail, histograms and spectra.

:class:`SelectedImage` is what the images asset hands the page for each picked image (its
silver ``image_stats`` row, the thumbnail and the log-magnitude spectrum it decoded from
bronze); :func:`detail_figure` draws the row's histograms and spectra, :func:`caption` the
thumbnail and facts beside them. A detail block's size is fixed (256 histogram bins per
channel, a SPECTRUM_SIZE² spectrum, the radial bins), whatever the warehouse holds.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from mars_assets.dashboards.common import CHANNEL_COLOURS, rover_colour, style
from mars_assets.imaging import HF_CUTOFF_RHO, DecodedImage

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


def detail_figure(s: SelectedImage) -> go.Figure:
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


def caption(s: SelectedImage) -> str:
    """The thumbnail (or a line saying the bytes were not available) and the image's facts (HTML, escaped)."""
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
