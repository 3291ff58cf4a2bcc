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
NOT_COMPARED = "#a9c4e8"  # a paler blue: its own legend entry, told apart from "fine"
CAP = 110.0  # the conversion scale's top when a step goes above it, in percent
_VERDICT_WORDS = {
    "weak": "weak step",
    "too_few": "too few to tell",
    "none": "fine",
    None: "not compared",
}
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
                # The conversion is the analysis's, not plotly's percentPrevious: a step not
                # recorded or not measurable (`step_rules`) says so instead of a ratio.
                "text": [_funnel_text(s) for s in steps],
                "texttemplate": "%{text}",
                "marker": {"color": NEUTRAL},
                "connector": {"line": {"color": MUTED, "width": 1}},
                "hovertemplate": "%{y}: %{x:,.0f}<extra></extra>",
                "name": f"{result.subject}: count, and % of the step before",
            }
        ],
        "layout": {
            **_LAYOUT,
            "height": max(240, 48 * len(steps) + 90),
            "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
            "yaxis": {"automargin": True},
            "showlegend": True,
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        },
    }


def conversion_figure(result: Funnel) -> dict[str, Any] | None:
    """Each step's conversion (%) for the subject beside the peers; None with no steps to show.

    A step can convert above 100% (meetings held per meeting set, when a meeting is held
    twice); drawn to scale, such a bar would flatten the weak step, the one the chart is for,
    to a sliver. So the scale stops a little above 100%, a bar beyond it is cut there (hatched,
    its true value written on it), and every bar carries its value as text. The subject's bars
    are coloured by verdict, one legend entry per verdict shown, beside the peers' grey.
    """
    shown = [
        s
        for s in result.steps
        if s.previous is not None
        and not (s.note and (s.peer_note or not result.compared_with))  # nothing to draw
    ]
    if not shown:
        return None
    names = [_pair_label(result, s) for s in shown]
    subject = [_percent(s.conversion) for s in shown]
    peers = [_percent(s.peer_conversion) for s in shown] if result.compared_with else []
    values = [v for v in subject + peers if v is not None]
    cap = CAP if values and max(values) > CAP else None
    data: list[dict[str, Any]] = []
    for verdict in ("weak", "too_few", "none", None):
        picked = [i for i, s in enumerate(shown) if s.verdict == verdict]
        if not picked:
            continue
        data.append(
            _bars(
                f"{result.subject}: {_VERDICT_WORDS[verdict]}",
                [names[i] for i in picked],
                [subject[i] for i in picked],
                _VERDICT_COLOUR.get(verdict or "", NOT_COMPARED),
                cap,
                "subject",
                result.subject,
            )
        )
    if peers:
        data.append(_bars("peers", names, peers, MUTED, cap, "peers", "peers"))
    top = (cap or max(values, default=100.0)) * 1.15 or 100.0
    return {
        "data": data,
        "layout": {
            **_LAYOUT,
            "barmode": "group",
            "height": 360,
            "margin": {"l": 50, "r": 10, "t": 40, "b": 90},
            "yaxis": {
                "title": {"text": "conversion from the step before"},
                "range": [0, top],
                "ticksuffix": "%",
            },
            "xaxis": {"automargin": True, "categoryorder": "array", "categoryarray": names},
            "showlegend": True,
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "uniformtext": {"minsize": 11, "mode": "show"},  # values stay legible on thin bars
        },
    }


def _bars(
    name: str,
    x: list[str],
    y: list[float | None],
    colour: str,
    cap: float | None,
    group: str,
    who: str,
) -> dict[str, Any]:
    """One bar trace; with a cap, bars above it are drawn to it, hatched, their value written."""
    drawn = [None if v is None else (min(v, cap) if cap else v) for v in y]
    cut = [v is not None and cap is not None and v > cap for v in y]
    return {
        "type": "bar",
        "name": name,
        "x": x,
        "y": drawn,
        "offsetgroup": group,
        "text": [
            "" if v is None else f"{v:.0f}%" + (" ▲" if c else "")
            for v, c in zip(y, cut, strict=True)
        ],
        "textposition": "outside",
        "cliponaxis": False,
        "customdata": y,
        "marker": {
            "color": colour,
            "pattern": {
                "shape": ["/" if c else "" for c in cut],
                "fgcolor": "#ffffff",
                "fillmode": "overlay",  # the hatch over the bar's colour, not instead of it
            },
        },
        "hovertemplate": "%{x}: %{customdata:.1f}%<extra>" + _escape(who) + "</extra>",
    }


def _funnel_text(step: FunnelStep) -> str:
    """A funnel bar's text: its count, and its conversion from the step before (if any)."""
    from paceline.describe import count_cell, note_cell

    unrecorded = count_cell(step)
    if unrecorded is not None:
        return unrecorded
    count = f"{step.count:,.0f}"
    if step.previous is None and step.note is None:
        return count
    cell = note_cell(step)
    if cell is not None:
        return f"{count}<br>{cell}"
    return f"{count}<br>{step.conversion:.0%}" if step.conversion is not None else count


def _pair_label(result: Funnel, step: FunnelStep) -> str:
    before = result.step(step.previous) if step.previous else None
    return f"{before.label if before else step.previous} → {step.label}"


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def _escape(text: str) -> str:
    """Plotly reads `<` in hover templates as markup; names should show as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
