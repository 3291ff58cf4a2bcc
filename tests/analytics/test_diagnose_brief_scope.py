"""A rep's brief is judged among the rep's role-mates alone: no other role can change it.

Hand-built (month to date: the alerts read November 1-18, business day 13 of 19):
- Ana (SDR, East): 10 conversations on each of the last 30 of the 60 business days before
  November (the dispersion history, from Fri Aug 7), none before, and one meeting held on
  Aug 7 (a meeting held is an AE's key count, not an SDR's). In November 6 conversations on
  each of the 13 business days: 78 of 130 expected (target 190 in 19 business days), 60%.
- Ben (SDR, East): on pace, 10 conversations a day in November against 190.
- Cy (AE, West, the "other role"): a target of 19 meetings held and none in November, so the
  zero alert suspects him and his role's history is read.

An SDR's history starts on the first day with one of the SDR's key counts (the first
conversation: 30 business days, 10 every day, variance 0, Poisson), so Ana is behind: 78 or
fewer of 130 at Poisson is 3e-6. Judged among the whole organisation while Cy is a suspect,
the history would read the AE's key counts too and start on Aug 7 (60 days, 30 of 10 and 30 of
0: mean 5, squared deviations 30 x 100 - 300^2 / 60 = 1500, variance 1500 / 59, dispersion
1500 / 59 / 5 = 5.08), and a 60% month is then ordinary: no alert. The team diagnosis keeps
that whole-organisation reading (unchanged); the brief is the rep's role alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from scipy.stats import poisson
from sqlalchemy import Engine, insert

from factories import calls_on
from paceline.analytics.alerts import alerts
from paceline.analytics.diagnose import RepDiagnosis, diagnose_rep, diagnose_team
from paceline.analytics.scorecard import team_scorecards
from paceline.analytics.window import diagnosis_window
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.services.targets import TargetRow, save_targets
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

AS_OF = dt.date(2026, 11, 18)  # business day 13 of November's 19
NOV = dt.date(2026, 11, 1)
HISTORY_START = dt.date(2026, 8, 7)  # the 60 business days before November start here


def _month_to_date(settings: Settings) -> Settings:
    """The alerts read the month to date (13 business days) and 60 days of history."""
    rules = settings.alerts.model_copy(update={"min_business_days": 13})
    pacing = settings.pacing.model_copy(update={"dispersion_history_days": 60})
    return settings.model_copy(update={"alerts": rules, "pacing": pacing})


def _business_days(settings: Settings, first: dt.date, end: dt.date) -> list[dt.date]:
    calendar = BusinessCalendar(settings.calendar)
    days = [first + dt.timedelta(days=i) for i in range((end - first).days)]
    return [d for d in days if calendar.is_business_day(d)]


def _build_sdrs(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ana and Ben as the module docstring says; their ids by name."""
    upgrade(engine)
    ids = {name: add_rep(engine, settings, name, "sdr", team="East") for name in ("Ana", "Ben")}
    history = _business_days(settings, HISTORY_START, NOV)
    assert len(history) == 60
    november = _business_days(settings, NOV, AS_OF + dt.timedelta(days=1))
    assert len(november) == 13
    rows: list[dict[str, Any]] = calls_on(ids["Ana"], HISTORY_START, 1, "held", kind="meeting")
    for day in history[30:]:
        rows += calls_on(ids["Ana"], day, 10, "conversation")
    for day in november:
        rows += calls_on(ids["Ana"], day, 6, "conversation")
        rows += calls_on(ids["Ben"], day, 10, "conversation")
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(
            conn,
            [
                TargetRow(ids["Ana"], "conversations", "month", NOV, 190),
                TargetRow(ids["Ben"], "conversations", "month", NOV, 190),
            ],
        )
    return ids


def _add_flagged_ae(engine: Engine, settings: Settings) -> int:
    """Cy: an AE with 19 meetings held to do in November and none done (a zero suspect)."""
    cy = add_rep(engine, settings, "Cy", "ae", team="West")
    with engine.begin() as conn:
        conn.execute(
            insert(Activity), calls_on(cy, dt.date(2026, 10, 1), 1, "held", kind="meeting")
        )
        save_targets(conn, [TargetRow(cy, "meetings_held", "month", NOV, 19)])
    return cy


def _brief(engine: Engine, settings: Settings) -> RepDiagnosis:
    return diagnose_rep(engine, settings, diagnosis_window(settings, "90d", AS_OF), "Ana")


def test_a_flagged_rep_of_another_role_leaves_the_brief_unchanged(
    engine: Engine, settings: Settings
) -> None:
    settings = _month_to_date(settings)
    _build_sdrs(engine, settings)
    alone = _brief(engine, settings)
    _add_flagged_ae(engine, settings)
    beside = _brief(engine, settings)
    assert beside == alone
    # Not vacuous: Cy is flagged, and among the whole organisation Ana's clustering is read
    # over the longer history his role's counts start (the team view keeps that reading).
    whole = {c.rep: c for c in team_scorecards(engine, settings, "month", AS_OF).reps}
    assert whole["Cy"].status == "behind"
    assert whole["Ana"].dispersion == pytest.approx(1500 / 59 / 5)
    assert alone.scorecard is not None and alone.scorecard.dispersion == 1.0


def test_the_brief_alerts_as_the_hand_computed_example_says(
    engine: Engine, settings: Settings
) -> None:
    """Ana, behind at Poisson among the SDRs, alerted; not alerted among the whole
    organisation (the team diagnosis), where her dispersion is 5.08."""
    settings = _month_to_date(settings)
    _build_sdrs(engine, settings)
    _add_flagged_ae(engine, settings)
    brief = _brief(engine, settings)
    ((alert,),) = [brief.alerts]
    assert (alert.rule, alert.metric, alert.actual) == ("behind_pace", "conversations", 78)
    assert alert.expected == pytest.approx(130)
    assert alert.chance == pytest.approx(poisson.cdf(78, 130))
    assert ("alert", "behind_pace") in {(f.kind, f.subject) for f in brief.findings}
    window = diagnosis_window(settings, "90d", AS_OF)
    team = {d.rep: d for d in diagnose_team(engine, settings, window).reps}
    assert [a.rule for a in team["Ana"].alerts] == []
    assert [a.rule for a in team["Cy"].alerts] == ["no_selling", "zero_key_metric"]


def test_when_the_flagged_reps_are_all_role_mates_the_brief_is_the_whole_org_result(
    engine: Engine, settings: Settings
) -> None:
    """Cy (AE) on pace is no suspect: the org's only flagged rep is Ana, so her card and
    alerts are those of the whole organisation's scorecards and alerts, number for number."""
    settings = _month_to_date(settings)
    _build_sdrs(engine, settings)
    cy = add_rep(engine, settings, "Cy", "ae", team="West")
    rows: list[dict[str, Any]] = calls_on(cy, dt.date(2026, 8, 3), 1, "held", kind="meeting")
    for day in _business_days(settings, NOV, AS_OF + dt.timedelta(days=1)):
        rows += calls_on(cy, day, 1, "held", kind="meeting")
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(conn, [TargetRow(cy, "meetings_held", "month", NOV, 19)])
    whole = team_scorecards(engine, settings, "month", AS_OF)
    assert [c.rep for c in whole.reps if c.status == "behind"] == ["Ana"]
    brief = _brief(engine, settings)
    assert brief.scorecard == next(c for c in whole.reps if c.rep == "Ana")
    everyone = alerts(engine, settings, AS_OF).alerts
    assert brief.alerts == [a for a in everyone if a.rep == "Ana"]
    assert [a.rule for a in brief.alerts] == ["behind_pace"]
