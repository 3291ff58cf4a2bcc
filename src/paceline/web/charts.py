"""Plotly figures for the pages, as plain figure dicts (data + layout).

The page embeds the figure as JSON in a `<script type="application/json">` element and the
site's own script draws it with plotly.js vendored in the package (web/vendor/plotly): no
inline script (the pages' Content-Security-Policy forbids it) and no CDN.
"""

from __future__ import annotations

import json
from typing import Any

from paceline.analytics.leaderboard import Leaderboard, LeaderboardRow
from paceline.describe import metric_text, row_amounts_text, then_amounts_text
from paceline.web.common import DASH

AHEAD = "#1a7f37"
BEHIND = "#c62828"
NEUTRAL = "#3b6fb6"
MUTED = "#9aa5b1"
GOLD = "#d4a017"
LEGEND_TOP: dict[str, Any] = {
    "orientation": "h",
    "x": 0,
    "y": 1.02,
    "xanchor": "left",
    "yanchor": "bottom",
}


def legend_entry(name: str, colour: str, *, line: str | None = None) -> dict[str, Any]:
    """A legend entry with no data: a trace that draws nothing, so a chart whose colours are
    set bar by bar (one trace, many colours: a waterfall, a ranked board) can still say in its
    legend what each colour means. `line` ("dash") makes it a line's entry (a benchmark)."""
    entry: dict[str, Any] = {
        "type": "scatter",
        "x": [None],
        "y": [None],
        "name": name,
        "showlegend": True,
        "hoverinfo": "skip",
    }
    if line is None:
        entry |= {"mode": "markers", "marker": {"color": colour, "symbol": "square", "size": 12}}
    else:
        entry |= {"mode": "lines", "line": {"color": colour, "dash": line, "width": 2}}
    return entry


def leaderboard_figure(
    board: Leaderboard, unit: str, rows: list[LeaderboardRow] | None = None
) -> dict[str, Any]:
    """One board's ranked reps as horizontal bars of what they are ranked on, the leader on
    top; unranked reps (too little volume, no target...) are left to the table."""
    shown = [r for r in (board.rows if rows is None else rows) if r.rank is not None]
    shown.reverse()  # Plotly draws the first category at the bottom
    share = board.by != "count"
    values = [_bar_value(board, r, unit) for r in shown]
    text = [
        (f"{r.score:.0%}" if board.by == "target" else f"{r.score:+.0%}")
        if share and r.score is not None
        else _label(r.value, unit)
        for r in shown
    ]
    hovers = [_hover(board, r, label, unit) for r, label in zip(shown, text, strict=True)]
    colours = [GOLD if r.rank == 1 else NEUTRAL for r in shown]
    names = [f"{r.rank}. {r.rep}" for r in shown]
    title = {"target": "% of own target to date", "improved": "change (%)"}.get(
        board.by, board.label + (" (%)" if unit == "percent" else "")
    )
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": values,
                "y": names,
                "text": text,
                "customdata": hovers,
                "textposition": "outside",
                "textangle": 0,
                "marker": {"color": colours},
                "hovertemplate": "%{y}: %{customdata}<extra></extra>",
                "cliponaxis": False,
                "showlegend": False,
            },
            legend_entry("first place", GOLD),
            legend_entry("the others ranked", NEUTRAL),
        ],
        "layout": {
            "margin": {"l": 10, "r": 60, "t": 40, "b": 40},
            "height": max(190, 32 * len(shown) + 110),
            "font": {"size": 13, "color": "#1f2933"},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "xaxis": {
                "title": {"text": title},
                "gridcolor": "#e4e7eb",
                "zeroline": board.by == "improved",
                **({} if board.by == "improved" else {"rangemode": "tozero"}),
            },
            "yaxis": {"automargin": True, "dtick": 1},
            "showlegend": True,
            "legend": LEGEND_TOP,
            "bargap": 0.25,
        },
    }


def _hover(board: Leaderboard, row: LeaderboardRow, label: str, unit: str) -> str:
    """A bar's hover: its label and what the figure behind it rests on, in the table's words
    (`describe.row_amounts_text`: "2,500 (per win with an amount: 2 of 4)"). A share of
    target or a change names the figures it is read from, each with its note ("+100%: 2,500
    (per win with an amount: 2 of 4) against 1,250 (per win with an amount: 1 of 2)"); a
    bar whose figures left nothing out reads as its label."""
    now = row_amounts_text(board, row)
    if board.by == "count":
        return label + now
    then = then_amounts_text(board, row) if board.by == "improved" else ""
    if not (now or then):
        return label
    said = f"{label}: {metric_text(row.value, unit)}{now}"
    if board.by == "improved":
        said += f" against {metric_text(row.comparable_value, unit)}{then}"
    return said


def _bar_value(board: Leaderboard, row: LeaderboardRow, unit: str) -> float | None:
    if board.by != "count":
        return None if row.score is None else row.score * 100
    if unit == "percent" and row.value is not None:
        return row.value * 100
    return row.value


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
