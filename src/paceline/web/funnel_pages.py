"""The funnel page: a rep's (or team's) funnel beside their peers, as a table and two charts.

Who sees what is the API's rule: a rep their own funnel; a manager the reps of their team
and the team itself; an admin anyone, any team, or everyone. A rep or team outside the
user's reach is refused (403), an unknown one is not found (404); input the analysis cannot
use (a period it cannot read, a rep not selling in the window) is shown on the page (422).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paceline.analytics.funnel import Funnel, FunnelStep, funnel
from paceline.describe import COMPARISON_TEST, count_cell, note_cell, note_lines, p_text
from paceline.web.charts import figure_json
from paceline.web.common import User, fmt_percent
from paceline.web.funnel_charts import CAP, conversion_figure, funnel_figure
from paceline.web.subjects import Asked, DiagnosisPage

router = APIRouter(include_in_schema=False)

FUNNEL = DiagnosisPage(
    "/funnel", "funnel.html", "funnel", ("month", "quarter", "90d", "180d", "365d", "year")
)


@router.get("/funnel")
def funnel_page(request: Request, caller: User, asked: Asked) -> Response:
    result, context = FUNNEL.run(request, caller, asked, funnel)
    chart = conversion_figure(result) if result else None
    context |= {
        "result": result,
        "gap": gap_sentence(result) if result else None,
        "funnel_figure": figure_json(funnel_figure(result)) if result else None,
        "conversion_figure": figure_json(chart) if chart else None,
        "cap": CAP,
        "p_text": p_text,
        "comparison_test": COMPARISON_TEST,
        "note_cell": note_cell,
        "count_cell": count_cell,
        "note_lines": note_lines,
    }
    return FUNNEL.render(request, caller, context)


# --- the sentence under the table -------------------------------------------------------------


def gap_sentence(result: Funnel) -> str:
    """The weakest step and its evidence, or why nothing could be compared."""
    if not result.compared_with:
        return "Nobody to compare with: conversions only."
    weakest = result.weakest
    if weakest is None:
        if any(s.note or s.peer_note for s in result.steps):
            return (
                "No step could be compared with the peers: those not recorded or not"
                " measurable are left out, the others had too little activity on one side."
            )
        return "No step could be compared with the peers: too little activity on one side."
    text = (
        f"{_pair(result, weakest)}: {fmt_percent(weakest.conversion)} "
        f"against the peers' {fmt_percent(weakest.peer_conversion)}"
    )
    if weakest.verdict == "weak":
        return f"Biggest gap: {text} ({_p(weakest.p_value)})."
    if weakest.verdict == "too_few":
        before = _label_of(result, weakest.previous).lower()
        sample = f"{weakest.from_count or 0:,.0f}"
        return (
            f"Biggest gap: {text}, but only {sample} {before}: too few to tell "
            f"({_p(weakest.p_value)})."
        )
    return f"No step is far below the peers; the lowest is {text}."


def _pair(result: Funnel, step: FunnelStep) -> str:
    return f"{_label_of(result, step.previous)} → {step.label}"


def _label_of(result: Funnel, metric: str | None) -> str:
    found = result.step(metric) if metric else None
    return found.label if found else (metric or "")


def _p(value: float | None) -> str:
    """The evidence in words (the p-value itself is in the table's statistics)."""
    from paceline.describe import chance_text

    return chance_text(value)
