"""The team report's forecast says what its curves learnt from and the wins they left out,
in the text and the HTML (`factories.build_some_wins_entered_after_close`: East's forecast
as of 2026-06-30 learns from 4 deals, 1 won; 4 wins were entered after they closed). Before,
the report said nothing of what the forecast rested on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from factories import build_some_wins_entered_after_close
from paceline.analytics.report import team_report
from paceline.config import Settings
from paceline.reports.render import report_html, report_text

LEARNT = (
    "Learnt from 4 deals watched since 2025-07-01 (1 won); 4 wins entered after they closed "
    "have no known cycle and are not in the curves."
)


def test_the_team_report_says_what_the_forecast_learnt_from(
    engine: Engine, settings: Settings
) -> None:
    build_some_wins_entered_after_close(engine, settings)
    report = team_report(engine, settings, "East", dt.date(2026, 6, 30))
    assert report.forecast is not None, report.forecast_note
    assert f"  {LEARNT}" in report_text(settings, report).splitlines()
    html = report_html(settings, report, charts_too=False)
    assert f'data-testid="learnt">{LEARNT}</p>' in html
