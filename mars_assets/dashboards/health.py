"""The data-health dashboard: manifest gaps, quarantined inputs with their reasons, asset checks.

Inputs (any may be None or empty):

* gold ``photo_gaps``: one row per manifest rover × sol — ``manifest_photos``,
  ``silver_photos``, ``gap_status`` (VALID, PHOTO_COUNT_MISMATCH, CAMERA_COUNT_MISMATCH,
  MISSING_SOL), ``earth_date``.
* silver ``photo_quarantine`` and ``image_quarantine``: rows that could not be typed,
  downloaded or decoded — ``rover``, ``sol``, ``record_key``, ``source``, ``reason``,
  ``quarantined_at``.
* silver ``landing_files``: files of the landing zone — those with ``status`` other than
  ``routed`` are quarantined, with ``reason``, ``product_id`` and ``path``.
* ``check_results``: the latest asset-check outcomes read from the Dagster instance (see
  :func:`mars_assets.assets.dashboards.check_results`), dicts with ``asset``, ``check``,
  ``passed`` (partitions or runs whose latest evaluation passed), ``failed``, ``latest``
  (``passed`` / ``failed`` / ``planned``), ``partition`` and ``evaluated_at`` (UTC text).
  None means the instance was not available; ``[]`` means no check ran yet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import plotly.graph_objects as go
import pyarrow as pa

from mars_assets.dashboards.common import (
    GAP_STATUS_COLOURS,
    Dashboard,
    Section,
    html_table,
    reason_category,
    render_page,
    rover_colour,
    rover_sort_key,
    rows,
    style,
)

#: Colours of the quarantine sources (the silver table a quarantined input is listed in).
QUARANTINE_COLOURS = {"photo_quarantine": "#c1440e", "image_quarantine": "#1f6fb4", "landing_files": "#8e5cc2"}


def quarantined_inputs(
    photo_quarantine: pa.Table | None, image_quarantine: pa.Table | None, landing_files: pa.Table | None
) -> list[dict]:
    """Every quarantined input as ``{table, rover, sol, record_key, source, reason, category}``.

    ``table`` names the silver table it comes from; ``category`` is the reason with URLs
    masked (:func:`reason_category`), for grouping. Landing files count when their status is
    not ``routed``.
    """
    out = []
    for table, data in (("photo_quarantine", photo_quarantine), ("image_quarantine", image_quarantine)):
        for r in rows(data):
            out.append(
                {
                    "table": table,
                    "rover": r.get("rover"),
                    "sol": r.get("sol"),
                    "record_key": r.get("record_key"),
                    "source": r.get("source"),
                    "reason": r.get("reason"),
                }
            )
    for r in rows(landing_files):
        if r.get("status") != "routed":
            out.append(
                {
                    "table": "landing_files",
                    "rover": r.get("rover"),
                    "sol": r.get("sol"),
                    "record_key": r.get("product_id") or r.get("path"),
                    "source": "landing zone",
                    "reason": f"{r.get('status')}: {r.get('reason')}",
                }
            )
    for r in out:
        r["category"] = reason_category(r["reason"])
    return out


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


def quarantine_groups(items: list[dict]) -> list[dict]:
    """Quarantined inputs grouped by (table, reason category): ``inputs`` (count), ``rovers``,
    ``sols`` (text lists) and one ``example`` record key; largest groups first."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in items:
        groups.setdefault((r["table"], r["category"]), []).append(r)
    out = []
    for (table, category), members in groups.items():
        sols = sorted({m["sol"] for m in members if m.get("sol") is not None})
        out.append(
            {
                "table": table,
                "reason": category,
                "inputs": len(members),
                "rovers": ", ".join(sorted({m["rover"] for m in members if m.get("rover")}, key=rover_sort_key)) or "—",
                "sols": ", ".join(map(str, sols[:8])) + (" …" if len(sols) > 8 else "") or "—",
                "example": members[0].get("record_key") or "",
            }
        )
    return sorted(out, key=lambda g: (-g["inputs"], g["table"], g["reason"]))


def _quarantine_bars(items: list[dict]) -> go.Figure | None:
    if not items:
        return None
    totals = Counter(r["category"] for r in items)
    categories = sorted(totals, key=lambda c: totals[c])
    fig = go.Figure()
    for table, colour in QUARANTINE_COLOURS.items():
        counts = Counter(r["category"] for r in items if r["table"] == table)
        if counts:
            fig.add_bar(
                y=categories,
                x=[counts.get(c, 0) for c in categories],
                orientation="h",
                name=table,
                marker_color=colour,
                hovertemplate=f"{table}: %{{x:,}} inputs<br>%{{y}}<extra></extra>",
            )
    style(
        fig,
        title="Quarantined inputs by reason (URLs masked)",
        height=160 + 34 * len(categories),
        barmode="stack",
        xaxis_title="quarantined inputs (count)",
        yaxis_title="",
        legend_title_text="silver table",
        margin=dict(l=20, r=30, t=80, b=60),
        yaxis_automargin=True,
    )
    return fig


def _quarantine_by_rover(items: list[dict]) -> go.Figure | None:
    with_rover = [r for r in items if r.get("rover")]
    if not with_rover:
        return None
    rovers = sorted({r["rover"] for r in with_rover}, key=rover_sort_key)
    tables = [t for t in QUARANTINE_COLOURS if any(r["table"] == t for r in with_rover)]
    fig = go.Figure()
    for rover in rovers:
        fig.add_bar(
            x=tables,
            y=[sum(1 for r in with_rover if r["rover"] == rover and r["table"] == t) for t in tables],
            name=rover,
            marker_color=rover_colour(rover),
            hovertemplate=f"{rover}: %{{y:,}} inputs in %{{x}}<extra></extra>",
        )
    style(
        fig,
        title="Quarantined inputs per rover",
        height=360,
        barmode="group",
        xaxis_title="silver table",
        yaxis_title="quarantined inputs (count)",
        legend_title_text="rover",
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


def health_key_numbers(gaps: list[dict], items: list[dict], checks: Sequence[dict] | None) -> dict[str, object]:
    """Headline numbers: manifest sols per gap status, quarantined inputs per table, checks."""
    out: dict[str, object] = {"manifest sols": len(gaps)}
    for status in GAP_STATUS_COLOURS:
        n = sum(1 for g in gaps if g["gap_status"] == status)
        if n or status == "VALID":
            out[f"sols {status}"] = n
    out["quarantined inputs"] = len(items)
    for table, n in sorted(Counter(r["table"] for r in items).items()):
        out[f"quarantined in {table}"] = n
    if checks is not None:
        out["asset checks"] = len(checks)
        out["checks failing (latest)"] = sum(1 for c in checks if c["latest"] == "failed")
    return out


def build_health_dashboard(
    *,
    photo_gaps: pa.Table | None,
    photo_quarantine: pa.Table | None,
    image_quarantine: pa.Table | None,
    landing_files: pa.Table | None,
    check_results: Sequence[dict] | None = None,
) -> Dashboard:
    """The data-health page (see the module docstring for the inputs). Returns a
    :class:`Dashboard` (complete offline HTML)."""
    gaps = rows(photo_gaps)
    items = quarantined_inputs(photo_quarantine, image_quarantine, landing_files)
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
            _quarantine_bars(items),
            note="Rows held back from silver with the reason: photo records that could not be typed "
            "(photo_quarantine), images that could not be downloaded or decoded (image_quarantine), "
            "landing-zone files whose sol is unknown (landing_files).",
            html=html_table(
                quarantine_groups(items),
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
        Section("Quarantine per rover", _quarantine_by_rover(items)),
    ]
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
        key_numbers=health_key_numbers(gaps, items, checks),
    )
