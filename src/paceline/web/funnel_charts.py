"""Plotly figures for the funnel page, as plain figure dicts (see `charts` for how they draw).

Two pictures: the subject's funnel itself (counts narrowing step by step, each labelled with
its share of the step before), and each step's conversion beside the peers' (grey), the
subject's bar coloured by the verdict (red weak, gold too few to tell, blue otherwise) so the
weak step stands out.
"""

from __future__ import annotations

from typing import Any

from paceline.analytics.funnel import Funnel, FunnelStep
from paceline.web.charts import BEHIND, GOLD, MUTED, NEUTRAL

_VERDICT_COLOUR = {"weak": BEHIND, "too_few": GOLD, "none": NEUTRAL}
_LAYOUT: dict[str, Any] = {
    "font": {"size": 13, "color": "#1f2933"},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
}


def funnel_figure(result: Funnel) -> dict[str, Any]:
    """The subject's counts as a funnel, top step first, with the conversion from the last."""
    steps = result.steps
    return {
        "data": [
            {
                "type": "funnel",
                "y": [s.label for s in steps],
                "x": [s.count for s in steps],
                "texttemplate": "%{value:,.0f}<br>%{percentPrevious:.0%}",
                "marker": {"color": NEUTRAL},
                "connector": {"line": {"color": MUTED, "width": 1}},
                "hovertemplate": "%{y}: %{x:,.0f}<extra></extra>",
            }
        ],
        "layout": {
            **_LAYOUT,
            "height": max(240, 48 * len(steps) + 60),
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "yaxis": {"automargin": True},
            "showlegend": False,
        },
    }


def conversion_figure(result: Funnel) -> dict[str, Any] | None:
    """Each step's conversion (%) for the subject beside the peers; None with no steps to show."""
    shown = [s for s in result.steps if s.previous is not None]
    if not shown:
        return None
    names = [_pair_label(result, s) for s in shown]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": result.subject,
            "x": names,
            "y": [_percent(s.conversion) for s in shown],
            "marker": {"color": [_VERDICT_COLOUR.get(s.verdict or "", NEUTRAL) for s in shown]},
            "hovertemplate": "%{x}: %{y:.1f}%<extra>" + _escape(result.subject) + "</extra>",
        }
    ]
    if result.compared_with:
        data.append(
            {
                "type": "bar",
                "name": "peers",
                "x": names,
                "y": [_percent(s.peer_conversion) for s in shown],
                "marker": {"color": MUTED},
                "hovertemplate": "%{x}: %{y:.1f}%<extra>peers</extra>",
            }
        )
    return {
        "data": data,
        "layout": {
            **_LAYOUT,
            "barmode": "group",
            "height": 320,
            "margin": {"l": 50, "r": 10, "t": 10, "b": 90},
            "yaxis": {"title": {"text": "conversion (%)"}, "rangemode": "tozero"},
            "xaxis": {"automargin": True},
            # The subject's bars are coloured by verdict, so a legend swatch would mislead;
            # the page says what the colours mean.
            "showlegend": False,
        },
    }


def _pair_label(result: Funnel, step: FunnelStep) -> str:
    before = result.step(step.previous) if step.previous else None
    return f"{before.label if before else step.previous} → {step.label}"


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def _escape(text: str) -> str:
    """Plotly reads `<` in hover templates as markup; names should show as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
