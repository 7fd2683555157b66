"""The quarantine part of the data-health page: inputs held back from silver, by reason group.

Everything here works on a *summary*: one dict per silver table × reason group × rover with
``table``, ``category`` (the reason with URLs masked, :func:`reason_category`), ``rover``
(None when unknown), ``inputs`` (count), ``sols`` (its first distinct sols, sorted) and
``example`` (one record key). The data-health asset gets it from DuckDB
(:func:`mars_assets.dashboards.queries.quarantine_summary`), so the page grows with the
reason groups, not with the quarantined rows; :func:`summarize_quarantine` makes the same
summary from rows in Python (small tables, tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import plotly.graph_objects as go
import pyarrow as pa

from mars_assets.dashboards.common import reason_category, rover_colour, rover_sort_key, rows, style

#: Colours of the quarantine sources (the silver table a quarantined input is listed in).
QUARANTINE_COLOURS = {"photo_quarantine": "#c1440e", "image_quarantine": "#1f6fb4", "landing_files": "#8e5cc2"}
#: Sols listed per group in the table of groups (a "…" says there are more).
SHOWN_SOLS = 8


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


def summarize_quarantine(items: Sequence[dict], max_groups: int = 30) -> list[dict]:
    """The summary (module docstring) of :func:`quarantined_inputs` rows, as the DuckDB query
    makes it: the ``max_groups`` largest (table, category) pairs by name, the others of a table
    summed into ``(N other reasons)``; ``sols`` holds the first 9 distinct sols."""
    sizes = Counter((r["table"], r["category"]) for r in items)
    ranked = sorted(sizes, key=lambda k: (-sizes[k], k))
    kept = set(ranked[:max_groups])
    others = Counter(t for t, _ in ranked[max_groups:])
    groups: dict[tuple, list[dict]] = {}
    for r in items:
        key = (r["table"], r["category"])
        name = r["category"] if key in kept else f"({others[r['table']]} other reasons)"
        groups.setdefault((r["table"], name, r.get("rover")), []).append(r)
    out = [
        {
            "table": table,
            "category": category,
            "rover": rover,
            "inputs": len(members),
            "sols": sorted({m["sol"] for m in members if m.get("sol") is not None})[:9],
            "example": min((m["record_key"] for m in members if m.get("record_key")), default=None),
        }
        for (table, category, rover), members in groups.items()
    ]
    return sorted(out, key=lambda g: (-g["inputs"], g["table"], g["category"], g["rover"] or ""))


def quarantine_groups(summary: Sequence[dict]) -> list[dict]:
    """The summary merged over rovers per (table, reason group): ``inputs`` (count), ``rovers``,
    ``sols`` (text lists: the first SHOWN_SOLS sols, then ``…`` when there are more) and one
    ``example`` record key; largest groups first."""
    merged: dict[tuple[str, str], list[dict]] = {}
    for g in summary:
        merged.setdefault((g["table"], g["category"]), []).append(g)
    out = []
    for (table, category), parts in merged.items():
        sols = sorted({s for p in parts for s in (p.get("sols") or [])})
        rovers = sorted({p["rover"] for p in parts if p.get("rover")}, key=rover_sort_key)
        out.append(
            {
                "table": table,
                "reason": category,
                "inputs": sum(p["inputs"] for p in parts),
                "rovers": ", ".join(rovers) or "—",
                "sols": ", ".join(map(str, sols[:SHOWN_SOLS])) + (" …" if len(sols) > SHOWN_SOLS else "") or "—",
                "example": next((p["example"] for p in parts if p.get("example")), ""),
            }
        )
    return sorted(out, key=lambda g: (-g["inputs"], g["table"], g["reason"]))


def quarantine_bars(summary: Sequence[dict]) -> go.Figure | None:
    """Quarantined inputs per reason group, stacked by silver table (horizontal bars)."""
    if not summary:
        return None
    totals: Counter = Counter()
    for g in summary:
        totals[g["category"]] += g["inputs"]
    categories = sorted(totals, key=lambda c: (totals[c], c))
    fig = go.Figure()
    for table, colour in QUARANTINE_COLOURS.items():
        counts: Counter = Counter()
        for g in summary:
            if g["table"] == table:
                counts[g["category"]] += g["inputs"]
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


def quarantine_by_rover(summary: Sequence[dict]) -> go.Figure | None:
    """Quarantined inputs per rover and silver table (grouped bars); inputs without a rover left out."""
    with_rover = [g for g in summary if g.get("rover")]
    if not with_rover:
        return None
    rovers = sorted({g["rover"] for g in with_rover}, key=rover_sort_key)
    tables = [t for t in QUARANTINE_COLOURS if any(g["table"] == t for g in with_rover)]
    fig = go.Figure()
    for rover in rovers:
        fig.add_bar(
            x=tables,
            y=[sum(g["inputs"] for g in with_rover if g["rover"] == rover and g["table"] == t) for t in tables],
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


def quarantine_key_numbers(summary: Sequence[dict]) -> dict[str, int]:
    """``quarantined inputs`` in all, then ``quarantined in <table>`` per table with any."""
    per_table: Counter = Counter()
    for g in summary:
        per_table[g["table"]] += g["inputs"]
    out = {"quarantined inputs": sum(per_table.values())}
    for table, n in sorted(per_table.items()):
        out[f"quarantined in {table}"] = n
    return out
