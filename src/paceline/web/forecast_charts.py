"""Plotly figures for the forecast page, as plain figure dicts (see `charts`).

The fan reads like a weather forecast: revenue won so far as a solid line up to the as-of
day, then the P10-P90 band widening to the period's end with the P50 dashed through it, and
the target as a flat line, so "will we make it" is where the band sits against that line.
The backtest chart puts each past period's actual beside what each method said at its start.
"""

from __future__ import annotations

from typing import Any

from paceline.analytics.backtest import Backtest
from paceline.analytics.forecast import Forecast
from paceline.web.charts import AHEAD, BEHIND, MUTED, NEUTRAL

BAND = "rgba(59, 111, 182, 0.18)"
INK = "#1f2933"
GOLD = "#b7791f"


def fan_figure(f: Forecast) -> dict[str, Any]:
    """Won so far, the P10-P90 band and P50 to the period's end, and the target."""
    days = [p.day.isoformat() for p in f.fan]
    data: list[dict[str, Any]] = [
        _line("P10", days, [p.p10 for p in f.fan], {"width": 0}, hover=True),
        {
            **_line("P90", days, [p.p90 for p in f.fan], {"width": 0}, hover=True),
            "fill": "tonexty",
            "fillcolor": BAND,
            "name": "P10 \u2013 P90",
            "showlegend": True,
        },
        _line("P50", days, [p.p50 for p in f.fan], {"color": NEUTRAL, "dash": "dash", "width": 2}),
    ]
    if f.won_by_day:
        data.append(
            _line(
                "Won so far",
                [d.day.isoformat() for d in f.won_by_day],
                [d.amount for d in f.won_by_day],
                {"color": INK, "width": 3},
            )
        )
    if f.target is not None and not f.untargeted_reps:
        # A target covering only some reps is not drawn against everyone's revenue: the
        # page reads it against their own forecast instead.
        first = f.won_by_day[0].day.isoformat() if f.won_by_day else days[0]
        data.append(
            _line("Target", [first, days[-1]], [f.target, f.target], {"color": GOLD, "width": 2})
        )
    return {"data": data, "layout": _layout("Revenue won in the period", "date")}


def backtest_figure(b: Backtest) -> dict[str, Any]:
    """Per past forecast (a period at its start or middle): the actual, Paceline's P50 with its
    P10-P90, and the two baselines (a gap where one was unavailable)."""
    periods = [f"{r.period.label} {r.point}" for r in b.rows]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "Paceline P50 (P10 \u2013 P90)",
            "x": periods,
            "y": [r.p50 for r in b.rows],
            "marker": {"color": NEUTRAL, "size": 9},
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": [r.p90 - r.p50 for r in b.rows],
                "arrayminus": [r.p50 - r.p10 for r in b.rows],
                "color": NEUTRAL,
            },
            "hovertemplate": "%{x}: P50 %{y:,.0f}<extra></extra>",
        },
        _markers("Weighted pipeline", periods, [r.weighted_pipeline for r in b.rows], BEHIND),
        _markers("Run rate", periods, [r.run_rate for r in b.rows], MUTED),
        {
            **_markers("Actual", periods, [r.actual for r in b.rows], AHEAD),
            "marker": {"color": AHEAD, "size": 12, "symbol": "diamond"},
        },
    ]
    return {"data": data, "layout": _layout("Revenue won in the period", "category")}


def _line(
    name: str, x: list[str], y: list[float], line: dict[str, Any], hover: bool = False
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "line": line,
        "showlegend": not hover,
        "hovertemplate": f"{name}: %{{y:,.0f}}<extra></extra>",
    }


def _markers(name: str, x: list[str], y: list[float | None], colour: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": x,
        "y": y,
        "marker": {"color": colour, "size": 9, "symbol": "circle-open"},
        "hovertemplate": f"%{{x}}: {name} %{{y:,.0f}}<extra></extra>",
    }


def _layout(title: str, axis: str) -> dict[str, Any]:
    return {
        "height": 380,
        "margin": {"l": 70, "r": 20, "t": 10, "b": 40},
        "font": {"size": 13, "color": INK},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.15},
        "xaxis": {"type": axis},
        "yaxis": {
            "title": {"text": title},
            "gridcolor": "#e4e7eb",
            "rangemode": "tozero",
        },
    }
