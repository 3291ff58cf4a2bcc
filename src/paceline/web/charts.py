"""Plotly figures for the pages, as plain figure dicts (data + layout).

The page embeds the figure as JSON in a `<script type="application/json">` element and the
site's own script draws it with plotly.js served from the installed `plotly` package: no
inline script (the pages' Content-Security-Policy forbids it) and no CDN.
"""

from __future__ import annotations

import json
from typing import Any

from paceline.analytics.leaderboard import Leaderboard
from paceline.web.common import DASH

AHEAD = "#1a7f37"
BEHIND = "#c62828"
NEUTRAL = "#3b6fb6"
MUTED = "#9aa5b1"
GOLD = "#d4a017"


def leaderboard_figure(board: Leaderboard, unit: str, tv: bool = False) -> dict[str, Any]:
    """Reps as horizontal bars, the leader on top; unranked (too little volume) greyed out."""
    rows = list(reversed(board.rows))  # Plotly draws the first category at the bottom
    # A ratio of nothing (None) draws no bar and reads as a dash, never as a bar at zero.
    values = [r.value * 100 if unit == "percent" and r.value is not None else r.value for r in rows]
    text = [_label(r.value, unit) for r in rows]
    colours = [MUTED if r.rank is None else (GOLD if r.rank == 1 else NEUTRAL) for r in rows]
    names = [f"{r.rank or DASH}. {r.rep}" for r in rows]
    font = 28 if tv else 13
    dark = "#f3f4f6" if tv else "#1f2933"
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": values,
                "y": names,
                "text": text,
                "textposition": "auto",
                "marker": {"color": colours},
                "hovertemplate": "%{y}: %{text}<extra></extra>",
                "cliponaxis": False,
            }
        ],
        "layout": {
            "margin": {"l": 10, "r": 30, "t": 10, "b": 40},
            # The TV view fills its screen-sized container; the page chart grows with its rows.
            **({} if tv else {"height": max(220, 32 * len(rows) + 80)}),
            "font": {"size": font, "color": dark},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "xaxis": {
                "title": {
                    "text": "" if tv else board.label + (" (%)" if unit == "percent" else "")
                },
                "gridcolor": "#4b5563" if tv else "#e4e7eb",
                "zeroline": False,
                "rangemode": "tozero",
            },
            "yaxis": {"automargin": True},
            "showlegend": False,
            "bargap": 0.25,
        },
    }


def _label(value: float | None, unit: str) -> str:
    if value is None:
        return DASH
    if unit == "percent":
        return f"{value * 100:.0f}%"
    if unit == "ratio":
        return f"{value:,.2f}"
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def figure_json(figure: dict[str, Any]) -> str:
    """JSON safe to place inside a <script> element (no closing tag can appear)."""
    return (
        json.dumps(figure).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )
