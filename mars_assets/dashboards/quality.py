"""Image quality flags on the images and data-health pages: counts per rover × camera.

Input: rows of :func:`mars_assets.dashboards.queries.quality_by_camera` (gold
``image_quality_daily`` summed per rover × camera): ``rover``, ``camera``, ``images``,
``images_flagged``, ``images_<flag>`` for each flag of
:data:`mars_assets.imaging.quality.FLAGS`, ``images_in_duplicate_groups``,
``duplicate_groups``, ``duplicate_copies``, ``images_unhashed``. None or [] before it is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from mars_assets.dashboards.common import Section, html_table, rover_sort_key, style
from mars_assets.imaging.quality import FLAGS

#: Bar colour of each flag, and of the near-duplicate frames.
FLAG_COLOURS = {
    "black": "#1d2330",
    "blank": "#8c8c8c",
    "saturated": "#f2c14e",
    "low_information": "#9467bd",
    "truncated": "#d62728",
    "small_frame": "#17becf",
    "in_duplicate_groups": "#ff7f0e",
}
#: Link from a page to the timelapses (dashboards/timelapse/index.html, a sibling folder).
TIMELAPSE_LINK = (
    '<p><a href="../timelapse/index.html">Timelapses per rover × camera</a> (no flagged or duplicate frames).</p>'
)


def _label(r: Mapping) -> str:
    return f"{r['rover']} · {r['camera']}"


def _ordered(rows: Sequence[Mapping]) -> list[Mapping]:
    return sorted(rows, key=lambda r: (rover_sort_key(r["rover"]), r["camera"]))


def quality_figure(rows: Sequence[Mapping]) -> go.Figure | None:
    """Horizontal bars per rover × camera: frames per flag and frames in near-duplicate groups
    (only the kinds that occur); None when no frame is flagged or duplicated."""
    rows = _ordered(rows)
    kinds = [k for k in (*FLAGS, "in_duplicate_groups") if any(r[f"images_{k}"] for r in rows)]
    if not kinds:
        return None
    shown = [r for r in rows if any(r[f"images_{k}"] for k in kinds)]
    fig = go.Figure()
    for kind in kinds:
        fig.add_bar(
            y=[_label(r) for r in shown],
            x=[r[f"images_{kind}"] for r in shown],
            orientation="h",
            name=kind.replace("_", " "),
            marker_color=FLAG_COLOURS[kind],
            customdata=[[r["images"]] for r in shown],
            hovertemplate=f"<b>%{{y}}</b><br>{kind.replace('_', ' ')}: %{{x}} of %{{customdata[0]}} images"
            "<extra></extra>",
        )
    style(
        fig,
        title="Flagged and near-duplicate frames per rover × camera (gold image_quality_daily)",
        height=max(260, 120 + 28 * len(shown) * max(1, len(kinds) // 2)),
        barmode="group",
        xaxis_title="frames (a frame can carry several flags)",
        yaxis_autorange="reversed",
    )
    return fig


def quality_table(rows: Sequence[Mapping], limit: int = 60) -> str:
    """HTML table: per rover × camera the images, flagged frames, frames per flag, duplicates."""
    columns = [("rover", "rover"), ("camera", "camera"), ("images", "images"), ("images_flagged", "flagged")]
    columns += [(f"images_{f}", f.replace("_", " ")) for f in FLAGS]
    columns += [("images_in_duplicate_groups", "in duplicate groups"), ("duplicate_copies", "copies")]
    empty = "No image quality rows yet (gold image_quality_daily)."
    return html_table(_ordered(rows), columns, limit=limit, empty=empty)


def quality_key_numbers(rows: Sequence[Mapping] | None) -> dict[str, object]:
    """``flagged images`` and ``near-duplicate frames`` over every row ({} for None)."""
    if rows is None:
        return {}
    return {
        "flagged images": sum(r["images_flagged"] for r in rows),
        "near-duplicate frames": sum(r["images_in_duplicate_groups"] for r in rows),
    }


def quality_section(rows: Sequence[Mapping] | None, heading: str = "Quality flags per camera") -> Section | None:
    """The page section: bars (when anything is flagged), the table and the timelapse link;
    None before gold image_quality_daily is built."""
    if rows is None:
        return None
    flagged = sum(r["images_flagged"] for r in rows)
    copies = sum(r["images_in_duplicate_groups"] for r in rows)
    images = sum(r["images"] for r in rows)
    return Section(
        heading,
        quality_figure(rows),
        note=f"{flagged:,} of {images:,} images flagged, {copies:,} in near-duplicate groups. Flags: black (gray "
        "mean < 2 % of full scale), blank (std < 0.4 %), saturated (≥ 50 % at the top level), low information "
        "(entropy < 3 bits), truncated (file cut short), small frame (< 25 % of the camera's largest frame); "
        "near duplicates: perceptual hashes within 10 of 64 bits in one rover × camera × sol.",
        html=quality_table(rows) + TIMELAPSE_LINK,
    )
