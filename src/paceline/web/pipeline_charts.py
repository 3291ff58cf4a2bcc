"""Plotly figures for the pipeline pages, as plain figure dicts (see `charts`).

The flow chart reads like a bank statement: what came in above the line, what went out below
it (won and each lost stage stacked as negative bars), and the balance (open pipeline value)
as a line on its own axis, with the coverage of the quarter's remaining target in its hover.

It draws what the page's table says, no more: a week whose deals all lack an amount has no
bar (its value is unknown, not 0; a bar of height 0 hid wins the table counted) and is marked
on the axis instead, in the series' colour; a week with some amounts unknown draws the known
ones and says in its hover how many it left out, after the value and in the table's words
(`describe.not_counted_text`), the open pipeline's line too; and when the data records no won
deal at all (`FlowReport.wins_recorded`) there is no "Won" series to draw as zeros, and the
chart says "Won: not recorded" as the table does.
"""

from __future__ import annotations

from typing import Any

from paceline.analytics.flow import CountValue, FlowReport
from paceline.describe import not_counted_text, unrecorded_cell
from paceline.web.charts import AHEAD, BEHIND, NEUTRAL
from paceline.web.common import DASH, fmt_money

LOST_COLOURS = ("#e57373", BEHIND, "#8e2020", "#f0a3a3")
LINE = "#1f2933"


def flow_figure(report: FlowReport) -> dict[str, Any]:
    """In/out bars per week (value, out negative) and the open pipeline value as a line."""
    weeks = [w.label for w in report.weeks]
    series: list[tuple[str, list[CountValue], int, str]] = [
        ("Opportunities in", [w.created for w in report.weeks], 1, NEUTRAL)
    ]
    if report.wins_recorded:
        series.append(("Won", [w.won for w in report.weeks], -1, AHEAD))
    for i, stage in enumerate(report.lost_stages):
        name = stage.replace("_", " ").capitalize()
        colour = LOST_COLOURS[i % len(LOST_COLOURS)]
        series.append((name, [w.lost[stage] for w in report.weeks], -1, colour))
    data: list[dict[str, Any]] = [_bars(n, weeks, cvs, sign, c) for n, cvs, sign, c in series]
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Open pipeline (end of week)",
            "x": weeks,
            "y": [w.open_pipeline.value for w in report.weeks],
            "yaxis": "y2",
            "line": {"color": LINE, "width": 2},
            "customdata": [
                [
                    w.open_pipeline.count,
                    DASH if w.coverage is None else f"{w.coverage:.1f}x",
                    fmt_money(w.remaining_target),
                    not_counted_text(w.open_pipeline.without_amount),
                ]
                for w in report.weeks
            ],
            "hovertemplate": (
                "%{x}: %{customdata[0]} open deals, %{y:,.0f}%{customdata[3]}<br>"
                "coverage %{customdata[1]} of %{customdata[2]} target left<extra></extra>"
            ),
        }
    )
    for name, cvs, _, colour in series:
        marks = _unknown_amounts(name, weeks, cvs, colour)
        if marks is not None:
            data.append(marks)
    annotations = [] if report.wins_recorded else [_note(f"Won: {unrecorded_cell(False)}")]
    return {
        "data": data,
        "layout": {
            "barmode": "relative",
            "height": 380,
            "margin": {"l": 60, "r": 70, "t": 34 if annotations else 10, "b": 40},
            "font": {"size": 13, "color": "#1f2933"},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "hovermode": "x unified",
            "legend": {"orientation": "h", "y": -0.15},
            "annotations": annotations,
            "xaxis": {"type": "category"},
            "yaxis": {
                "title": {"text": "In (+) / out (-) per week"},
                "gridcolor": "#e4e7eb",
                "zerolinecolor": "#52606d",
            },
            "yaxis2": {
                "title": {"text": "Open pipeline"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
            },
        },
    }


def _amount_unknown(cv: CountValue) -> bool:
    """Deals that week, none with an amount: a value nobody recorded, not 0."""
    return cv.count > 0 and cv.without_amount == cv.count


def _bars(
    name: str, weeks: list[str], cvs: list[CountValue], sign: int, colour: str
) -> dict[str, Any]:
    """One series' bars: the known value (negative below the axis), none (null) where every
    deal's amount is unknown; the hover gives the count and what the value left out."""
    return {
        "type": "bar",
        "name": name,
        "x": weeks,
        "y": [None if _amount_unknown(cv) else sign * cv.value for cv in cvs],
        "customdata": [[cv.count, not_counted_text(cv.without_amount)] for cv in cvs],
        "marker": {"color": colour},
        "hovertemplate": (
            f"{name}: %{{customdata[0]}} deals, %{{y:,.0f}}%{{customdata[1]}}<extra></extra>"
        ),
    }


def _unknown_amounts(
    name: str, weeks: list[str], cvs: list[CountValue], colour: str
) -> dict[str, Any] | None:
    """A mark on the axis for each week of the series with deals but no amount, so a week
    the table counts is never blank in the chart; None when there is none."""
    shown = [(week, cv.count) for week, cv in zip(weeks, cvs, strict=True) if _amount_unknown(cv)]
    if not shown:
        return None
    return {
        "type": "scatter",
        "mode": "markers",
        "name": f"{name}: amount not recorded",
        "x": [week for week, _ in shown],
        "y": [0 for _ in shown],
        "customdata": [count for _, count in shown],
        "marker": {"color": colour, "symbol": "diamond-open", "size": 13, "line": {"width": 3}},
        "hovertemplate": f"{name}: %{{customdata}} deals, amount not recorded<extra></extra>",
    }


def _note(text: str) -> dict[str, Any]:
    """Words above the plot's top left corner (clear of the bars), for what the chart cannot
    draw."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": 1,
        "xanchor": "left",
        "yanchor": "bottom",
        "yshift": 6,
        "showarrow": False,
        "font": {"size": 13, "color": "#52606d"},
    }
