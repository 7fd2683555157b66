"""The data-health dashboard: manifest gaps, quarantined inputs with their reasons, asset checks.

Inputs (any may be None or empty):

* gold ``photo_gaps``: one row per manifest rover × sol — ``manifest_photos``,
  ``silver_photos``, ``gap_status`` (VALID, PHOTO_COUNT_MISMATCH, CAMERA_COUNT_MISMATCH,
  MISSING_SOL), ``earth_date``.
* ``quarantine``: the quarantined inputs summarized per silver table × reason group × rover
  (see :mod:`mars_assets.dashboards.quarantine`; the asset counts them in DuckDB with
  :func:`mars_assets.dashboards.queries.quarantine_summary`), or, when it is None, the rows of:
* silver ``photo_quarantine`` and ``image_quarantine``: rows that could not be typed,
  downloaded or decoded — ``rover``, ``sol``, ``record_key``, ``source``, ``reason``,
  ``quarantined_at``;
* silver ``landing_files``: files of the landing zone — those with ``status`` other than
  ``routed`` are quarantined, with ``reason``, ``product_id`` and ``path``.
* ``check_results``: the latest asset-check outcomes read from the Dagster instance (see
  :func:`mars_assets.assets.dashboards.check_results`), dicts with ``asset``, ``check``,
  ``passed`` (partitions or runs whose latest evaluation passed), ``failed``, ``latest``
  (``passed`` / ``failed`` / ``planned``), ``partition`` and ``evaluated_at`` (UTC text).
  None means the instance was not available; ``[]`` means no check ran yet.
* ``image_quality``: gold ``image_quality_daily`` summed per rover × camera (images kept
  in silver with quality flags or as near duplicates; :mod:`mars_assets.dashboards.quality`).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import pyarrow as pa

from mars_assets.dashboards.common import (
    GAP_STATUS_COLOURS,
    Dashboard,
    Section,
    html_table,
    render_page,
    rover_sort_key,
    rows,
    style,
)
from mars_assets.dashboards.quality import quality_key_numbers, quality_section
from mars_assets.dashboards.quarantine import (
    quarantine_bars,
    quarantine_by_rover,
    quarantine_groups,
    quarantine_key_numbers,
    quarantined_inputs,
    summarize_quarantine,
)


def _gap_bars(gaps: list[dict]) -> go.Figure | None:
    """Manifest sols per rover and gap status (grouped bars, counts written above them)."""
    if not gaps:
        return None
    rovers = sorted({g["rover"] for g in gaps}, key=rover_sort_key)
    fig = go.Figure()
    for status, colour in GAP_STATUS_COLOURS.items():
        counts = [sum(1 for g in gaps if g["rover"] == r and g["gap_status"] == status) for r in rovers]
        if any(counts):
            fig.add_bar(
                x=rovers,
                y=counts,
                name=status,
                marker_color=colour,
                text=[f"{n:,}" for n in counts],
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"%{{x}}: %{{y:,}} manifest sols {status}<extra></extra>",
            )
    style(
        fig,
        title="Manifest sols by gap status (gold photo_gaps)",
        height=380,
        barmode="group",
        xaxis_title="rover",
        yaxis_title="manifest sols (count)",
        legend_title_text="gap status",
    )
    return fig


def _gap_map(gaps: list[dict]) -> go.Figure | None:
    """Every manifest sol on a sol axis, one row per rover, coloured by gap status."""
    if not gaps:
        return None
    rovers = sorted({g["rover"] for g in gaps}, key=rover_sort_key)
    fig = go.Figure()
    for status, colour in reversed(GAP_STATUS_COLOURS.items()):  # VALID drawn last, on top
        sel = [g for g in gaps if g["gap_status"] == status]
        if not sel:
            continue
        fig.add_scatter(
            x=[g["sol"] for g in sel],
            y=[g["rover"] for g in sel],
            mode="markers",
            name=status,
            marker=dict(
                symbol="line-ns",
                size=18 if status != "MISSING_SOL" else 12,
                line=dict(color=colour, width=3 if status != "MISSING_SOL" else 1),
            ),
            customdata=[
                [str(g.get("earth_date") or ""), g.get("manifest_photos") or 0, g.get("silver_photos") or 0]
                for g in sel
            ],
            hovertemplate=(
                f"<b>%{{y}}</b> sol %{{x}} (%{{customdata[0]}}): {status}<br>"
                "manifest %{customdata[1]:,} photos, warehouse %{customdata[2]:,}"
                "<extra></extra>"
            ),
        )
    style(
        fig,
        title="Where the gaps are: every manifest sol by status",
        height=170 + 60 * len(rovers),
        xaxis_title="sol (Mars solar days since landing)",
        yaxis_title="",
        legend_title_text="gap status",
        yaxis_categoryorder="array",
        yaxis_categoryarray=rovers[::-1],
    )
    return fig


def _check_bars(checks: list[dict]) -> go.Figure | None:
    """Checks per asset whose latest evaluation passed / failed (stacked horizontal bars)."""
    if not checks:
        return None
    assets = sorted({c["asset"] for c in checks}, reverse=True)
    fig = go.Figure()
    for outcome, colour in (("passed", "#2a9d3f"), ("failed", "#d62728"), ("planned", "#b0b0b0")):
        counts = [sum(1 for c in checks if c["asset"] == a and c["latest"] == outcome) for a in assets]
        if not any(counts):
            continue
        names = [
            "<br>".join(c["check"][:70] for c in checks if c["asset"] == a and c["latest"] == outcome) for a in assets
        ]
        fig.add_bar(
            y=assets,
            x=counts,
            orientation="h",
            name=outcome,
            marker_color=colour,
            customdata=names,
            hovertemplate=f"<b>%{{y}}</b>: %{{x}} checks {outcome}<br>%{{customdata}}<extra></extra>",
        )
    style(
        fig,
        title="Asset checks per asset: outcome of each check's latest evaluation",
        height=160 + 30 * len(assets),
        barmode="stack",
        xaxis_title="checks (count)",
        yaxis_title="",
        legend_title_text="latest outcome",
        yaxis_automargin=True,
    )
    return fig


def _checks_html(checks: list[dict]) -> str:
    """The failing checks as a table (or a line saying none fail), then every check in a
    collapsed ``<details>`` table."""
    columns = [
        ("asset", "asset"),
        ("check", "check"),
        ("latest", "latest"),
        ("passed", "passed"),
        ("failed", "failed"),
        ("partition", "latest partition"),
        ("evaluated_at", "evaluated at (UTC)"),
    ]
    failing = [c for c in checks if c["latest"] == "failed"]
    ordered = sorted(checks, key=lambda c: (c["latest"] != "failed", c["asset"], c["check"]))
    return (
        html_table(
            failing, columns + [("description", "description")], empty="Every check passed on its latest evaluation."
        )
        + f"<details><summary>All {len(checks)} checks</summary>{html_table(ordered, columns, limit=500)}"
        "</details>"
    )


def health_key_numbers(gaps: list[dict], summary: list[dict], checks: Sequence[dict] | None) -> dict[str, object]:
    """Headline numbers: manifest sols per gap status, quarantined inputs per table (from the
    quarantine summary), checks."""
    out: dict[str, object] = {"manifest sols": len(gaps)}
    for status in GAP_STATUS_COLOURS:
        n = sum(1 for g in gaps if g["gap_status"] == status)
        if n or status == "VALID":
            out[f"sols {status}"] = n
    out.update(quarantine_key_numbers(summary))
    if checks is not None:
        out["asset checks"] = len(checks)
        out["checks failing (latest)"] = sum(1 for c in checks if c["latest"] == "failed")
    return out


def build_health_dashboard(
    *,
    photo_gaps: pa.Table | None,
    photo_quarantine: pa.Table | None = None,
    image_quarantine: pa.Table | None = None,
    landing_files: pa.Table | None = None,
    check_results: Sequence[dict] | None = None,
    quarantine: pa.Table | Sequence[dict] | None = None,
    image_quality: pa.Table | None = None,
) -> Dashboard:
    """The data-health page (see the module docstring for the inputs). ``quarantine``, when
    given, is used instead of the three silver tables. Returns a :class:`Dashboard` (complete
    offline HTML)."""
    gaps = rows(photo_gaps)
    if quarantine is None:
        summary = summarize_quarantine(quarantined_inputs(photo_quarantine, image_quarantine, landing_files))
    else:
        summary = rows(quarantine) if isinstance(quarantine, pa.Table) else list(quarantine)
    checks = list(check_results) if check_results is not None else None
    sections = [
        Section(
            "Manifest gaps",
            _gap_bars(gaps),
            note="Each manifest sol compared with silver photos. MISSING_SOL: the manifest lists photos, the "
            "warehouse has none (not ingested yet); the photo_gap_sensor requests those partitions.",
        ),
        Section("Gap map", _gap_map(gaps)),
        Section(
            "Quarantined inputs",
            quarantine_bars(summary),
            note="Rows held back from silver with the reason: photo records that could not be typed "
            "(photo_quarantine), images that could not be downloaded or decoded (image_quarantine), "
            "landing-zone files whose sol is unknown (landing_files). The largest reason groups are named, the "
            "others summed per table as '(N other reasons)'.",
            html=html_table(
                quarantine_groups(summary),
                [
                    ("table", "silver table"),
                    ("reason", "reason (URLs masked)"),
                    ("inputs", "inputs"),
                    ("rovers", "rovers"),
                    ("sols", "sols"),
                    ("example", "example record"),
                ],
                limit=40,
                empty="Nothing is quarantined.",
            ),
        ),
        Section("Quarantine per rover", quarantine_by_rover(summary)),
    ]
    flags = rows(image_quality) if image_quality is not None else None
    if (flag_section := quality_section(flags, "Images kept with quality flags")) is not None:
        sections.append(flag_section)
    if checks is None:
        sections.append(Section("Asset checks", note="Check results were not available (no Dagster instance)."))
    elif not checks:
        sections.append(Section("Asset checks", note="No asset check has been evaluated yet."))
    else:
        failing = sum(1 for c in checks if c["latest"] == "failed")
        sections.append(
            Section(
                "Asset checks",
                _check_bars(checks),
                note=f"{len(checks)} checks have run; {failing} failing on their latest evaluation. For a "
                "partitioned asset, passed / failed count the partitions by their latest evaluation.",
                html=_checks_html(checks),
            )
        )
    # a section with neither a chart nor text/table content says so instead of an empty plot
    kept = [s for s in sections if s.figure is not None or s.html or (s.note and s.heading == "Asset checks")]
    return render_page(
        "data_health",
        "Data health dashboard",
        "Is the warehouse complete and clean? Manifest sols against silver photos, inputs held back "
        "in quarantine tables with their reasons, and the asset checks of the last runs.",
        kept,
        key_numbers=health_key_numbers(gaps, summary, checks) | quality_key_numbers(flags),
    )
