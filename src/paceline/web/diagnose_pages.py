"""The diagnosis pages: a rep's one-on-one brief, and a team's reps at a glance.

`/diagnose` shows a rep their own brief and a manager their team (an admin picks a team);
`/diagnose?rep=NAME` is the brief: findings first, then coaching, the funnel and the revenue
equation, with links to each analysis's own page. Who may see what is the API's rule (a rep
themself, a manager their team, an admin everyone); a rep out of reach is refused (403), an
unknown one not found (404); a period the page cannot read is shown on the page (422).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from paceline.analytics.diagnose import RepDiagnosis, TeamDiagnosis, diagnose_rep, diagnose_team
from paceline.analytics.window import Window
from paceline.callers import app_state
from paceline.config import Settings
from paceline.describe import (
    evidence_stats,
    evidence_text,
    finding_stats,
    finding_text,
    role_text,
    rule_status_text,
)
from paceline.web.charts import figure_json
from paceline.web.common import User
from paceline.web.funnel_charts import CAP, conversion_figure
from paceline.web.quality_charts import equation_waterfall
from paceline.web.subjects import Asked, DiagnosisPage

router = APIRouter(include_in_schema=False)

DIAGNOSE = DiagnosisPage(
    "/diagnose", "diagnose.html", "diagnosis", ("90d", "180d", "365d", "quarter", "year")
)
LINKS = (
    ("Funnel", "/funnel"),
    ("Revenue equation", "/equation"),
    ("Busy vs productive", "/quality"),
    ("When to sell", "/when"),
    ("Stalled deals", "/stalled"),
    ("Pipeline flow", "/flow"),
)


@router.get("/diagnose")
def diagnose_page(request: Request, caller: User, asked: Asked) -> Response:
    settings = app_state(request).settings
    found, context = DIAGNOSE.run(request, caller, asked, _diagnosis)
    brief = found if isinstance(found, RepDiagnosis) else None
    context |= {
        "brief": brief,
        "overview": found if isinstance(found, TeamDiagnosis) else None,
        "links": LINKS,
        "say": lambda d, f: finding_text(settings, d, f),
        "evidence": lambda check: evidence_text(settings, check),
        "how": lambda d, f: finding_stats(settings, d, f),
        "evidence_how": lambda check: evidence_stats(settings, check),
        "verdict": rule_status_text,
        "role_text": lambda name: role_text(settings, name),
    }
    if brief is not None:
        chart = conversion_figure(brief.funnel)
        waterfall = equation_waterfall(brief.equation) if brief.equation else None
        context["funnel_figure"] = figure_json(chart) if chart else None
        context["cap"] = CAP
        context["equation_figure"] = figure_json(waterfall) if waterfall else None
    return DIAGNOSE.render(request, caller, context)


def _diagnosis(
    engine: Engine, settings: Settings, window: Window, *, rep: str | None, team: str | None
) -> RepDiagnosis | TeamDiagnosis:
    """A rep's brief when the page is about one rep, else their team's (or everyone's) reps."""
    if rep is not None:
        return diagnose_rep(engine, settings, window, rep)
    return diagnose_team(engine, settings, window, team)
