"""Pages for the revenue equation, busy-versus-productive and when-to-sell.

Who sees what follows the API: a rep sees their own diagnosis only, a manager their team's
reps, an admin anyone. Each page calls one analysis and renders its result; the charts are
figure dicts from `quality_charts`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paceline.analytics.equation import revenue_equation
from paceline.analytics.quality import QualityReport, busy_vs_productive
from paceline.analytics.timing import WhenToSell, when_to_sell
from paceline.web.charts import figure_json
from paceline.web.common import User
from paceline.web.quality_charts import equation_waterfall, selling_share_figure, when_heatmap
from paceline.web.subjects import Asked, DiagnosisPage

router = APIRouter(include_in_schema=False)

PAGE_PERIODS = ("30d", "90d", "180d", "365d", "month", "quarter", "year")
EQUATION = DiagnosisPage("/equation", "equation.html", "revenue equation", PAGE_PERIODS)
QUALITY = DiagnosisPage("/quality", "quality.html", "busy-vs-productive view", PAGE_PERIODS)
WHEN = DiagnosisPage("/when", "when.html", "call hours", PAGE_PERIODS)


@router.get("/equation")
def equation_page(request: Request, caller: User, asked: Asked) -> Response:
    report, context = EQUATION.run(request, caller, asked, revenue_equation)
    wanted = context["wanted"]
    single = report.reps[0] if report is not None and wanted.rep and report.reps else None
    figure = equation_waterfall(single) if single is not None else None
    context |= {
        "report": report,
        "single": single,
        "figure": figure_json(figure) if figure else None,
    }
    return EQUATION.render(request, caller, context)


@router.get("/quality")
def quality_page(request: Request, caller: User, asked: Asked) -> Response:
    return QUALITY.show(request, caller, asked, busy_vs_productive, _selling_share)


@router.get("/when")
def when_page(request: Request, caller: User, asked: Asked) -> Response:
    return WHEN.show(request, caller, asked, when_to_sell, _heatmap)


def _selling_share(report: QualityReport) -> dict[str, Any] | None:
    return selling_share_figure(report) if report.reps else None


def _heatmap(result: WhenToSell) -> dict[str, Any] | None:
    return when_heatmap(result) if result.cells else None
