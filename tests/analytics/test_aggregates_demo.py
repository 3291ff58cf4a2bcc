"""On the demo (seed 7, as of 2026-11-18), the aggregates and the raw path agree, and the
planted truths are found either way.

The planted reps (`truth["planted"]`): the SDR whose conversations rarely become meetings
(weak conversations -> meetings set), the AE who wins a fifth as often per proposal (weak
proposals -> deals won, 365 days), the SDR with 2.5x the calls and almost no connects (high
volume, low engagement) and the field rep drowning in admin (low selling time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from paceline.analytics import aggregates
from paceline.analytics.diagnose import TeamDiagnosis, diagnose_rep, diagnose_team
from paceline.analytics.flow import pipeline_flow
from paceline.analytics.forecast import forecast
from paceline.analytics.funnel import funnel
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings

TODAY = dt.date(2026, 11, 18)


def _findings(result: TeamDiagnosis) -> dict[str, set[tuple[str, str]]]:
    return {d.rep: {(f.kind, f.subject) for f in d.findings} for d in result.reps}


def test_the_demo_diagnosis_is_the_same_both_ways(
    demo_org: tuple[Engine, dict[str, Any]], settings: Settings
) -> None:
    engine, truth = demo_org
    planted = truth["planted"]
    window = diagnosis_window(settings, "365d", TODAY)
    read = diagnose_team(engine, settings, window)
    brief = diagnose_rep(engine, settings, window, planted["weak_call_to_meeting"])
    team_funnel = funnel(engine, settings, diagnosis_window(settings, "180d", TODAY), team="East")
    with aggregates.raw_reads():
        assert diagnose_team(engine, settings, window) == read
        assert diagnose_rep(engine, settings, window, planted["weak_call_to_meeting"]) == brief
        assert (
            funnel(engine, settings, diagnosis_window(settings, "180d", TODAY), team="East")
            == team_funnel
        )
    found = _findings(read)
    assert ("weak_step", "conversations->meetings_set") in found[planted["weak_call_to_meeting"]]
    assert ("weak_step", "proposals->deals_won") in found[planted["weak_proposal_to_win"]]
    assert ("flag", "high_volume_low_engagement") in found[planted["high_volume_low_engagement"]]
    assert ("flag", "low_selling_time") in found[planted["low_selling_time"]]
    # the brief's funnel carries median days, read from the aggregates
    assert any(s.median_days is not None for s in brief.funnel.steps[1:])


def test_the_demo_forecast_and_flow_are_the_same_both_ways(
    demo_org: tuple[Engine, dict[str, Any]], settings: Settings
) -> None:
    """/forecast's lag from the driver to an opportunity and /flow's new prospects per week
    read the aggregates; on the demo they give the raw path's pages, number for number."""
    engine, _ = demo_org
    year = diagnosis_window(settings, "365d", TODAY)
    read = [
        forecast(engine, settings, "quarter", TODAY),
        forecast(engine, settings, "quarter", TODAY, team="East"),
        pipeline_flow(engine, settings, year),
        pipeline_flow(engine, settings, year, team="West"),
    ]
    with aggregates.raw_reads():
        assert forecast(engine, settings, "quarter", TODAY) == read[0]
        assert forecast(engine, settings, "quarter", TODAY, team="East") == read[1]
        assert pipeline_flow(engine, settings, year) == read[2]
        assert pipeline_flow(engine, settings, year, team="West") == read[3]
    assert read[0].new_deals.lag_days > 0  # a driver was paired with opportunities
    assert sum(week.prospects_in for week in read[2].weeks) > 0
