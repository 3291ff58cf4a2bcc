"""Plotly figures for the pipeline pages, as plain figure dicts (see `charts`).

The flow chart reads like a bank statement: what came in above the line, what went out below
it (won and each lost stage stacked as negative bars), and the balance (open pipeline value)
as a line on its own axis, with the coverage of the quarter's remaining target in its hover.
"""

from __future__ import annotations

from typing import Any

from paceline.analytics.flow import FlowReport
from paceline.web.charts import AHEAD, BEHIND, NEUTRAL
from paceline.web.common import DASH, fmt_money

LOST_COLOURS = ("#e57373", BEHIND, "#8e2020", "#f0a3a3")
LINE = "#1f2933"


def flow_figure(report: FlowReport) -> dict[str, Any]:
    """In/out bars per week (value, out negative) and the open pipeline value as a line."""
    weeks = [w.label for w in report.weeks]
    data: list[dict[str, Any]] = [
        _bars(
            "Opportunities in",
            weeks,
            [w.created.value for w in report.weeks],
            [w.created.count for w in report.weeks],
            NEUTRAL,
        ),
        _bars(
            "Won",
            weeks,
            [-w.won.value for w in report.weeks],
            [w.won.count for w in report.weeks],
            AHEAD,
        ),
    ]
    for i, stage in enumerate(report.lost_stages):
        data.append(
            _bars(
                stage.replace("_", " ").capitalize(),
                weeks,
                [-w.lost[stage].value for w in report.weeks],
                [w.lost[stage].count for w in report.weeks],
                LOST_COLOURS[i % len(LOST_COLOURS)],
            )
        )
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
                ]
                for w in report.weeks
            ],
            "hovertemplate": (
                "%{x}: %{customdata[0]} open deals, %{y:,.0f}<br>"
                "coverage %{customdata[1]} of %{customdata[2]} target left<extra></extra>"
            ),
        }
    )
    return {
        "data": data,
        "layout": {
            "barmode": "relative",
            "height": 380,
            "margin": {"l": 60, "r": 70, "t": 10, "b": 40},
            "font": {"size": 13, "color": "#1f2933"},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "hovermode": "x unified",
            "legend": {"orientation": "h", "y": -0.15},
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


def _bars(
    name: str, weeks: list[str], values: list[float], counts: list[int], colour: str
) -> dict[str, Any]:
    return {
        "type": "bar",
        "name": name,
        "x": weeks,
        "y": values,
        "customdata": counts,
        "marker": {"color": colour},
        "hovertemplate": f"{name}: %{{customdata}} deals, %{{y:,.0f}}<extra></extra>",
    }
