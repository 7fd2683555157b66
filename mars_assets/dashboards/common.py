"""What every dashboard page shares: the palettes, the page frame, filters, small HTML helpers.

A page is one self-contained HTML document: plotly.js is inlined once in ``<head>``
(:func:`plotly.offline.get_plotlyjs`), every chart is a ``<div>`` drawn by an inline
script, thumbnails are ``data:`` URIs. Nothing is fetched when the page is opened, so it
works from ``file://`` with no network.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import pyarrow as pa
from plotly.offline import get_plotlyjs

#: One colour per rover, used by every chart of every dashboard.
ROVER_COLOURS: dict[str, str] = {
    "curiosity": "#c1440e",  # Mars red
    "perseverance": "#1f6fb4",  # blue
    "spirit": "#2a9d3f",  # green
    "opportunity": "#8e5cc2",  # purple
}
OTHER_COLOUR = "#7f7f7f"

#: Gold ``photo_gaps.gap_status`` values in display order, with their colours.
GAP_STATUS_COLOURS: dict[str, str] = {
    "VALID": "#2a9d3f",
    "PHOTO_COUNT_MISMATCH": "#e9a23b",
    "CAMERA_COUNT_MISMATCH": "#f2d24b",
    "MISSING_SOL": "#b0b0b0",
}

#: Image channels of the RGB histograms (``gray`` for single-channel images).
CHANNEL_COLOURS: dict[str, str] = {"red": "#d62728", "green": "#2ca02c", "blue": "#1f77b4", "gray": "#555555"}

#: Qualitative colours for cameras (assigned in sorted camera order, so stable across pages).
CAMERA_PALETTE: tuple[str, ...] = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#bab0ac",
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
    "#17becf",
    "#bcbd22",
    "#8c564b",
    "#393b79",
    "#637939",
    "#843c39",
)

#: The dashboards: (slug, title, one-line description). A page lives at
#: ``<root>/dashboards/<slug>/index.html`` and links to the others with ``../<slug>/index.html``.
DASHBOARDS: tuple[tuple[str, str, str], ...] = (
    ("mission", "Mission", "photos per sol, mission length, camera usage, distance driven"),
    ("traverse", "Traverse", "rover paths from the MMGIS waypoints / traverse, distance per sol"),
    ("images", "Images", "thumbnails, RGB histograms, FFT magnitude and radial power spectra, trends"),
    ("data_health", "Data health", "manifest gaps, quarantined inputs with reasons, asset checks"),
)

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

#: Layout defaults of every figure (readable fonts, white template, hover labels).
BASE_LAYOUT = dict(
    template="plotly_white",
    font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13),
    hoverlabel=dict(font_size=12),
    margin=dict(l=70, r=30, t=80, b=60),
    legend=dict(title_font_size=12),
)


def rover_colour(rover: str | None) -> str:
    """The colour of ``rover`` (lower-case name) from :data:`ROVER_COLOURS`; grey for others."""
    return ROVER_COLOURS.get((rover or "").lower(), OTHER_COLOUR)


def camera_colours(cameras: Iterable[str | None]) -> dict[str, str]:
    """``{camera: colour}`` for the distinct cameras, assigned in sorted order from CAMERA_PALETTE."""
    names = sorted({c or "?" for c in cameras})
    return {c: CAMERA_PALETTE[i % len(CAMERA_PALETTE)] for i, c in enumerate(names)}


def rover_sort_key(rover: str) -> tuple[int, str]:
    """Order rovers as in ROVER_COLOURS (curiosity, perseverance, spirit, opportunity), others after."""
    order = list(ROVER_COLOURS)
    return (order.index(rover) if rover in order else len(order), rover)


def rows(table: pa.Table | None) -> list[dict]:
    """The rows of an Arrow table as dicts; ``[]`` for None or an empty table."""
    return table.to_pylist() if table is not None and table.num_rows else []


_URL = re.compile(r"https?://\S+")


def reason_category(reason: str | None, width: int = 72) -> str:
    """A quarantine reason with URLs replaced by ``<url>`` and cut to ``width`` characters,
    so reasons that differ only by the file they name fall in one group."""
    text = _URL.sub("<url>", reason or "(no reason given)").strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def style(fig: go.Figure, *, title: str, height: int, **layout: Any) -> go.Figure:
    """Apply BASE_LAYOUT, a title and a height (pixels) to ``fig``; returns it."""
    fig.update_layout(**BASE_LAYOUT)
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left"), height=height, **layout)
    return fig


def add_rover_filter(
    fig: go.Figure, trace_rovers: Sequence[str | None], *, x: float = 1.0, y: float = 1.02
) -> go.Figure:
    """A dropdown above the plot that shows all rovers or one (plotly ``updatemenus``).

    ``trace_rovers[i]`` is the rover of ``fig.data[i]``; None marks a trace shown for every
    choice. Nothing is added when fewer than two rovers are present.
    """
    rovers = sorted({r for r in trace_rovers if r}, key=rover_sort_key)
    if len(rovers) < 2:
        return fig
    buttons = [dict(label="all rovers", method="restyle", args=[{"visible": [True] * len(trace_rovers)}])]
    for rover in rovers:
        buttons.append(
            dict(label=rover, method="restyle", args=[{"visible": [r is None or r == rover for r in trace_rovers]}])
        )
    fig.update_layout(
        updatemenus=[
            dict(
                buttons=buttons,
                direction="down",
                showactive=True,
                x=x,
                xanchor="right",
                y=y,
                yanchor="bottom",
                bgcolor="#ffffff",
                bordercolor="#bbbbbb",
                font=dict(size=12),
            )
        ]
    )
    return fig


@dataclass
class Section:
    """One block of a page: a heading, an optional note (plain text), then a figure and/or raw HTML.

    ``html`` is inserted as is: build it with :func:`html_table`, :func:`kpi_cards` or escape it.
    """

    heading: str
    figure: go.Figure | None = None
    note: str = ""
    html: str = ""
    side_html: str = ""  # shown left of the figure (e.g. an image thumbnail)


@dataclass
class Dashboard:
    """A built dashboard page.

    ``html``: the whole document (UTF-8 text); ``charts``: number of plotly figures on it;
    ``key_numbers``: the headline numbers as ``{label: value}`` (also shown at the top of the
    page and in the Dagster metadata preview).
    """

    name: str
    title: str
    html: str
    charts: int
    key_numbers: dict[str, Any] = field(default_factory=dict)

    def preview_markdown(self) -> str:
        """The key numbers as a markdown table (for ``dg.MetadataValue.md``)."""
        lines = [f"**{self.title}** — {self.charts} charts", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in self.key_numbers.items()]
        return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _cell(v: Any) -> str:
    """A table cell: numbers without thousands separators (sols and ids read better bare)."""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def kpi_cards(numbers: Mapping[str, Any]) -> str:
    """The key numbers as a row of cards (HTML, values escaped)."""
    cards = "".join(
        f'<div class="kpi"><div class="kpi-value">{html.escape(_fmt(v))}</div>'
        f'<div class="kpi-label">{html.escape(k)}</div></div>'
        for k, v in numbers.items()
    )
    return f'<div class="kpis">{cards}</div>'


def html_table(
    table_rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    limit: int = 100,
    empty: str = "nothing to show",
) -> str:
    """An HTML table of ``table_rows`` with ``columns`` = ``[(key, header), ...]``, values escaped.

    At most ``limit`` rows are shown; a line under the table says how many were left out.
    """
    if not table_rows:
        return f'<p class="empty">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if r.get(k) is None else _cell(r.get(k)))}</td>" for k, _ in columns)
        + "</tr>"
        for r in table_rows[:limit]
    )
    more = (
        f'<p class="more">{len(table_rows) - limit:,} more rows not shown (query the warehouse for all of them)</p>'
        if len(table_rows) > limit
        else ""
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}'


CSS = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f6f7f9;--accent:#c1440e}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg);margin:0}
header{background:#1d2330;color:#fff;padding:1rem 1.5rem}
header h1{margin:0 0 .25rem;font-size:1.5rem}
header p{margin:0;color:#c9cfdb;font-size:.95rem}
nav{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.75rem}
nav a{color:#fff;text-decoration:none;border:1px solid #4a5368;border-radius:4px;padding:.25rem .6rem;font-size:.9rem}
nav a[aria-current=page]{background:var(--accent);border-color:var(--accent)}
main{max-width:1400px;margin:0 auto;padding:1rem 1.5rem 2rem}
section{background:#fff;border:1px solid var(--line);border-radius:6px;margin:1rem 0;padding:.75rem 1rem}
section h2{font-size:1.15rem;margin:.25rem 0 .5rem}
.note{color:var(--muted);font-size:.9rem;margin:.25rem 0 .5rem}
.kpis{display:flex;flex-wrap:wrap;gap:.75rem;margin:.5rem 0}
.kpi{background:#fff;border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:4px;
  padding:.5rem .8rem;min-width:10rem}
.kpi-value{font-size:1.35rem;font-weight:600}
.kpi-label{color:var(--muted);font-size:.85rem}
.with-side{display:grid;grid-template-columns:minmax(160px,260px) 1fr;gap:1rem;align-items:start}
.with-side img{max-width:100%;border:1px solid var(--line);border-radius:4px;image-rendering:auto}
.caption{color:var(--muted);font-size:.85rem}
.caption b{word-break:break-all}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f2f5}
.empty,.more{color:var(--muted);font-style:italic}
details{margin:.5rem 0}
summary{cursor:pointer;color:var(--muted)}
footer{color:var(--muted);font-size:.8rem;text-align:center;padding:1rem}
"""


def render_page(
    name: str, title: str, intro: str, sections: Sequence[Section], key_numbers: Mapping[str, Any] | None = None
) -> Dashboard:
    """The whole HTML document of dashboard ``name`` (a slug of :data:`DASHBOARDS`).

    plotly.js is inlined once in ``<head>``; each figure of ``sections`` becomes a div with
    a deterministic id ``<name>-<n>``. ``intro`` is plain text (escaped).
    """
    figures = 0
    blocks = []
    for s in sections:
        parts = [f"<h2>{html.escape(s.heading)}</h2>"]
        if s.note:
            parts.append(f'<p class="note">{html.escape(s.note)}</p>')
        if s.figure is not None:
            figures += 1
            chart = s.figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                config=PLOTLY_CONFIG,
                div_id=f"{name}-{figures}",
                default_width="100%",
            )
            parts.append(
                f'<div class="with-side"><div>{s.side_html}</div><div>{chart}</div></div>' if s.side_html else chart
            )
        if s.html:
            parts.append(s.html)
        blocks.append(f"<section>{''.join(parts)}</section>")
    nav = "".join(
        f'<a href="../{slug}/index.html" title="{html.escape(desc)}"'
        f"{' aria-current=page' if slug == name else ''}>{html.escape(t)} <small>— {html.escape(desc)}</small></a>"
        for slug, t, desc in DASHBOARDS
    )
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mars_assets — {html.escape(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<header><h1>mars_assets — {html.escape(title)}</h1><p>{html.escape(intro)}</p><nav>{nav}</nav></header>
<main>
{kpi_cards(key_numbers) if key_numbers else ""}
{"".join(blocks)}
</main>
<footer>NASA Mars rover data. Image credit: NASA/JPL-Caltech (Mastcam, MAHLI: NASA/JPL-Caltech/MSSS).
Self-contained page: plotly.js is embedded, nothing is loaded from the network.</footer>
</body></html>
"""
    return Dashboard(name=name, title=title, html=doc, charts=figures, key_numbers=dict(key_numbers or {}))
