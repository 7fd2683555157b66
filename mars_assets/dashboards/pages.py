"""Reading a built page back: its plotly traces and how many points each one plots.

A page made by :func:`mars_assets.dashboards.common.render_page` draws each chart with one
``Plotly.newPlot("<div id>", [traces...], {layout}, {config})`` call. These helpers parse the
trace list of every call (JSON) and count points, so the dashboard assets can record what a
page plots and the tests can check that no trace grows with the number of photos.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

_NEW_PLOT = re.compile(r'Plotly\.newPlot\(\s*"([^"]+)",\s*')
#: Bytes per element of plotly's typed arrays (``{"dtype": "f8", "bdata": ...}``).
_ITEM_SIZE = {"f8": 8, "f4": 4, "i1": 1, "u1": 1, "i2": 2, "u2": 2, "i4": 4, "u4": 4, "i8": 8, "u8": 8}
#: Per-point arrays of a trace; ``z`` (a heatmap's cells) is counted cell by cell.
POINT_KEYS = ("x", "y", "text", "customdata", "lat", "lon", "base", "ids")


def page_traces(html: str) -> Iterator[tuple[str, list[dict]]]:
    """``(div id, traces)`` of every ``Plotly.newPlot`` call of ``html``, in page order.

    Raises json.JSONDecodeError when a call's trace list is not JSON (not a page of ours)."""
    decoder = json.JSONDecoder()
    for m in _NEW_PLOT.finditer(html):
        traces, _ = decoder.raw_decode(html, m.end())
        yield m.group(1), traces


def array_length(value: object, *, cells: bool = False) -> int:
    """Elements of a plotly data array: a JSON list, or plotly's typed array ``{"dtype",
    "bdata"[, "shape"]}`` (base64). ``cells``: count the elements of nested lists (a heatmap's
    ``z``) instead of the outer list's length. 0 for anything that is not an array."""
    if isinstance(value, list):
        return sum(len(v) if isinstance(v, list) else 1 for v in value) if cells else len(value)
    if isinstance(value, dict) and "bdata" in value:
        n = len(base64.b64decode(value["bdata"])) // _ITEM_SIZE.get(str(value.get("dtype", "f8")), 8)
        shape = [int(s) for s in str(value.get("shape", "")).split(",") if s.strip()]
        return n if cells or len(shape) < 2 else shape[0]
    return 0


def trace_points(trace: dict) -> int:
    """Points one trace plots: its longest per-point array (``x``, ``y``, ``text``,
    ``customdata``, marker colours ...), or its number of heatmap cells (``z``)."""
    sizes = [array_length(trace.get(k)) for k in POINT_KEYS]
    sizes.append(array_length((trace.get("marker") or {}).get("color")))
    sizes.append(array_length(trace.get("z"), cells=True))
    return max(sizes)


def page_points(html: str) -> list[tuple[str, str, int]]:
    """``(div id, trace type, points)`` of every trace of every chart of ``html``."""
    return [(div, str(t.get("type", "scatter")), trace_points(t)) for div, traces in page_traces(html) for t in traces]
