"""The tipping-point chart: rep-weeks as a scatter, the fitted hinge, the interval as a band.

A plain Plotly figure dict, embedded as JSON and drawn by the site's own script (see
`charts`). Rep-weeks at the same (activity, outcome) pair are one marker whose area grows with
their number, half transparent, so a crowded level reads as crowded instead of hiding under
one dot.
"""

from __future__ import annotations

import math
from typing import Any

from paceline.analytics.tipping import TippingPoint
from paceline.web.charts import BEHIND, GOLD, MUTED, NEUTRAL

FONT = {"size": 13, "color": "#1f2933"}
TRANSPARENT = "rgba(0,0,0,0)"
BAND = "rgba(212,160,23,0.18)"  # GOLD, see-through
MAX_MARKER = 28.0


def tipping_figure(r: TippingPoint) -> dict[str, Any] | None:
    """Scatter + fitted curve (+ band and line at the tipping point); None without rep-weeks."""
    if not r.points:
        return None
    data = [_scatter(r)]
    curve = r.curve
    if curve:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "fitted hinge" if r.supported else "straight line",
                "x": [p.activity for p in curve],
                "y": [p.outcome for p in curve],
                "line": {"color": BEHIND if r.supported else MUTED, "width": 3},
                "hovertemplate": "%{x:.1f} a week: %{y:.2f} expected<extra></extra>",
            }
        )
    return {"data": data, "layout": _layout(r)}


def _scatter(r: TippingPoint) -> dict[str, Any]:
    biggest = max(p.rep_weeks for p in r.points)
    sizes = [max(5.0, MAX_MARKER * math.sqrt(p.rep_weeks / biggest)) for p in r.points]
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "rep-weeks",
        "x": [p.activity for p in r.points],
        "y": [p.outcome for p in r.points],
        "customdata": [p.rep_weeks for p in r.points],
        "marker": {"size": sizes, "color": NEUTRAL, "opacity": 0.45, "line": {"width": 0}},
        "hovertemplate": (
            f"{r.metric_label}: %{{x}}<br>{r.outcome_label}: %{{y}}"
            "<br>%{customdata} rep-weeks<extra></extra>"
        ),
    }


def _layout(r: TippingPoint) -> dict[str, Any]:
    lag = (
        "same week"
        if r.lag_weeks == 0
        else f"{r.lag_weeks} week{'s' if r.lag_weeks > 1 else ''} later"
    )
    return {
        "height": 420,
        "margin": {"l": 60, "r": 20, "t": 34, "b": 55},
        "font": FONT,
        "paper_bgcolor": TRANSPARENT,
        "plot_bgcolor": TRANSPARENT,
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": {
            "title": {"text": f"{r.metric_label} in a week"},
            "rangemode": "normal",  # autorange pads, so markers on zero are not cut in half
            "gridcolor": "#e4e7eb",
            "zeroline": False,
        },
        "yaxis": {
            "title": {"text": f"{r.outcome_label} ({lag})"},
            "rangemode": "normal",  # autorange pads, so markers on zero are not cut in half
            "gridcolor": "#e4e7eb",
            "zeroline": False,
        },
        "shapes": _marks(r),
        "annotations": _labels(r),
    }


def _marks(r: TippingPoint) -> list[dict[str, Any]]:
    """The interval as a vertical band and the tipping point as a dashed line."""
    if not r.supported or r.tipping_point is None:
        return []
    marks: list[dict[str, Any]] = []
    if r.tipping_interval is not None:
        marks.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": r.tipping_interval.low,
                "x1": r.tipping_interval.high,
                "y0": 0,
                "y1": 1,
                "fillcolor": BAND,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    marks.append(
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": r.tipping_point,
            "x1": r.tipping_point,
            "y0": 0,
            "y1": 1,
            "line": {"color": GOLD, "width": 2, "dash": "dash"},
        }
    )
    return marks


def _labels(r: TippingPoint) -> list[dict[str, Any]]:
    if not r.supported or r.tipping_point is None:
        return []
    return [
        {
            "x": r.tipping_point,
            "xref": "x",
            "y": 1,
            "yref": "paper",
            "yanchor": "bottom",
            "text": f"tipping point {r.tipping_point:.1f}",
            "showarrow": False,
            "font": {"color": "#6b4300"},
        }
    ]
