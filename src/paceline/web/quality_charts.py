"""Plotly figures for the equation, busy-versus-productive and when-to-sell pages.

Plain figure dicts, embedded as JSON and drawn by the site's own script (see `charts`).
"""

from __future__ import annotations

import math
from typing import Any

from paceline.analytics.equation import RepEquation
from paceline.analytics.quality import LOW_SELLING_TIME, QualityReport
from paceline.analytics.timing import WEEKDAY_NAMES, WhenToSell
from paceline.web.charts import AHEAD, BEHIND, LEGEND_TOP, MUTED, NEUTRAL, legend_entry
from paceline.web.common import DASH, fmt_money

# Multiples shown on the log axis of the waterfall: x0.25 ... x4.
MULTIPLES = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 10.0)
FONT = {"size": 13, "color": "#1f2933"}
TRANSPARENT = "rgba(0,0,0,0)"
TIMES = "\u00d7"  # the multiplication sign


def equation_waterfall(eq: RepEquation) -> dict[str, Any] | None:
    """Reference revenue -> each factor's step -> the rep's revenue, on a log scale.

    Steps are log contributions, so they add up to the gap; the axis is labelled with the
    multiples they stand for (x0.5 = half the reference). None when there is nothing to split.
    """
    if eq.gap is None or any(f.contribution is None for f in eq.factors):
        return None
    steps = [f.contribution or 0.0 for f in eq.factors]
    x = ["Reference", *(f.label for f in eq.factors), eq.rep]
    text = [
        f"{fmt_money(eq.reference_revenue)}",
        *(f"{TIMES}{math.exp(c):.2f}" for c in steps),
        f"{fmt_money(eq.revenue)} ({TIMES}{math.exp(eq.gap):.2f})",
    ]
    lowest = min(0.0, *_running(steps), eq.gap)
    highest = max(0.0, *_running(steps), eq.gap)
    ticks = [m for m in MULTIPLES if lowest - 0.3 <= math.log(m) <= highest + 0.3]
    return {
        "data": [
            {
                "type": "waterfall",
                "x": x,
                "y": [0.0, *steps, eq.gap],
                "measure": ["absolute", *(["relative"] * len(steps)), "total"],
                "text": text,
                "textposition": "outside",
                "hovertemplate": "%{x}: %{text}<extra></extra>",
                "increasing": {"marker": {"color": AHEAD}},
                "decreasing": {"marker": {"color": BEHIND}},
                "totals": {"marker": {"color": NEUTRAL}},
                "connector": {"line": {"color": MUTED}},
                "cliponaxis": False,
                "showlegend": False,
            },
            legend_entry("factor above the peers' median (raises revenue)", AHEAD),
            legend_entry("factor below the peers' median (lowers revenue)", BEHIND),
            legend_entry(f"{eq.rep}'s revenue against the reference: the whole gap", NEUTRAL),
        ],
        "layout": {
            "height": 420,
            "margin": {"l": 60, "r": 20, "t": 70, "b": 90},
            "font": FONT,
            "paper_bgcolor": TRANSPARENT,
            "plot_bgcolor": TRANSPARENT,
            "showlegend": True,
            "legend": LEGEND_TOP,
            "yaxis": {
                "title": {"text": "revenue against the reference (log scale)"},
                "tickvals": [math.log(m) for m in ticks],
                "ticktext": [f"{TIMES}{m:g}" for m in ticks],
                "zeroline": True,
                "zerolinecolor": "#7b8794",
                "gridcolor": "#e4e7eb",
            },
            "xaxis": {"automargin": True},
        },
    }


def _running(steps: list[float]) -> list[float]:
    total, out = 0.0, []
    for step in steps:
        total += step
        out.append(total)
    return out


def selling_share_figure(report: QualityReport) -> dict[str, Any]:
    """Each rep's selling share of logged time, with the benchmark as a line."""
    reps = sorted(report.reps, key=lambda r: r.selling_share or 0.0)
    shares = [round(100 * (r.selling_share or 0.0), 1) for r in reps]
    colours = [BEHIND if LOW_SELLING_TIME in r.flags else NEUTRAL for r in reps]
    benchmark = 100 * report.selling_share_benchmark
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": shares,
                "y": [r.rep for r in reps],
                "marker": {"color": colours},
                "text": [
                    "not recorded" if r.selling_time_not_recorded else f"{s:.0f}%"
                    for r, s in zip(reps, shares, strict=True)
                ],
                "textposition": "auto",
                "hovertext": [
                    _selling_hover(r.rep, r.selling_time_not_recorded, s)
                    for r, s in zip(reps, shares, strict=True)
                ],
                "hovertemplate": "%{hovertext}<extra></extra>",
                "showlegend": False,
            },
            legend_entry("flagged: too little selling time", BEHIND),
            legend_entry("not flagged", NEUTRAL),
            legend_entry(f"benchmark {benchmark:.0f}%", BEHIND, line="dash"),
        ],
        "layout": {
            "height": max(250, 26 * len(reps) + 110),
            "margin": {"l": 10, "r": 20, "t": 60, "b": 40},
            "font": FONT,
            "paper_bgcolor": TRANSPARENT,
            "plot_bgcolor": TRANSPARENT,
            "showlegend": True,
            "legend": LEGEND_TOP,
            "xaxis": {
                "title": {"text": "share of logged time in selling activity (%)"},
                "rangemode": "tozero",
                "gridcolor": "#e4e7eb",
            },
            "yaxis": {"automargin": True},
            "shapes": [
                {
                    "type": "line",
                    "x0": benchmark,
                    "x1": benchmark,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": BEHIND, "dash": "dash", "width": 2},
                }
            ],
        },
    }


CONNECT_SCALE = [
    [0.0, "#d6e6f4"],
    [0.5, "#6baed6"],
    [1.0, "#08306b"],
]  # pale low (never white: a blank cell is), dark high


def _selling_hover(rep: str, not_recorded: bool, share: float) -> str:
    """A bar's hover: its share, or why a rep with no minute logged has a bar of nothing."""
    if not_recorded:
        return f"{rep}: selling time not recorded (no minutes logged)"
    return f"{rep}: {share:.1f}% of logged time selling"


def when_heatmap(result: WhenToSell) -> dict[str, Any]:
    """Connect rate by local weekday (rows) and hour (columns), call volume in the hover."""
    hours = result.working_hours
    days = sorted({c.weekday for c in result.cells}) or list(range(5))
    z: list[list[float | None]] = []
    custom: list[list[list[Any]]] = []
    for day in days:
        row: list[float | None] = []
        extra: list[list[Any]] = []
        for hour in hours:
            cell = result.cell(day, hour)
            rate = None if cell is None or cell.connect_rate is None else cell.connect_rate
            row.append(None if rate is None else round(100 * rate, 1))
            engaged = cell.engagement_rate if cell else None
            extra.append(
                [
                    cell.calls if cell else 0,
                    cell.conversations if cell else 0,
                    cell.activities if cell else 0,
                    DASH if engaged is None else f"{100 * engaged:.0f}%",
                    cell.attempts if cell else 0,
                ]
            )
        z.append(row)
        custom.append(extra)
    rates = [v for row in z for v in row if v is not None]
    low, high = (min(rates), max(rates)) if rates else (0.0, 100.0)
    return {
        "data": [
            {
                "type": "heatmap",
                "x": [f"{h:02d}:00" for h in hours],
                "y": [WEEKDAY_NAMES[d] for d in days],
                "z": z,
                "customdata": custom,
                # Light is a low connect rate, dark blue a high one, said in so many words:
                # plotly's named "YlGnBu" runs the other way (dark at the low end), and the
                # caption promised the opposite of what it drew.
                "colorscale": CONNECT_SCALE,
                "hoverongaps": False,
                "colorbar": {
                    "title": {"text": "connect rate"},
                    "ticksuffix": "%",
                    "tickvals": [low, high],
                    "ticktext": [f"{low:.0f}% (worse)", f"{high:.0f}% (better)"],
                },
                "hovertemplate": (
                    "%{y} %{x}<br>connect rate %{z:.1f}%<br>%{customdata[1]} connected of "
                    "%{customdata[0]} calls<br>%{customdata[2]} activities, "
                    "%{customdata[3]} engaged of %{customdata[4]} outreach attempts<extra></extra>"
                ),
            }
        ],
        "layout": {
            "height": 120 + 40 * len(days),
            "margin": {"l": 50, "r": 20, "t": 10, "b": 40},
            "font": FONT,
            "paper_bgcolor": TRANSPARENT,
            "plot_bgcolor": TRANSPARENT,
            "yaxis": {"autorange": "reversed"},
            "xaxis": {"title": {"text": f"local hour ({result.timezone})"}},
        },
    }
