"""Scorecards on a CRM that records no call results: a metric nobody in the organisation has
(a ratio: its numerator) is "not recorded", not 0 and behind; on SQLite and PostgreSQL.

The team (`factories.build_unrecorded_team`, November 2026 as of Wednesday the 18th, business
day 13 of 19; SDRs also paced on their connect rate), counted by hand:
- nobody has a connected call, ever: Ana's and Ben's conversations (0 of 190 x 13/19 = 130
  and 0 of 65 expected) are not recorded; so are their connect rates (0 of 39 and 0 of 26
  calls: its numerator is conversations). Both read "behind" (and 0.0%) before;
- meetings set are recorded, by Ben alone (12 by e-mail, of 13 expected: 92%, on pace); Ana's
  0 of 13 is still behind: P(0 | 13 expected) = e^-13, far below the 0.1% bar;
- nobody sourced an opportunity: not recorded either, but without a target it stays
  "no target".
So Ana's card is behind (meetings set) and Ben's on pace, where both were behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update

from factories import (
    AS_OF,
    build_unrecorded_team,
    calls_on,
    paced_on_connect_rate,
    put_deal,
    recorded_statements,
)
from paceline.analytics import scorecard as scorecard_module
from paceline.analytics.pacing import Pace, Status
from paceline.analytics.scorecard import MetricLine, Scorecard, rep_scorecard, team_scorecards
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.store.models import Activity, Deal

SOURCED = "Opportunities sourced (sales-accepted)"
NOV_9 = dt.date(2026, 11, 9)


@pytest.fixture
def paced(settings: Settings) -> Settings:
    return paced_on_connect_rate(settings)


def _by_metric(lines: list[MetricLine]) -> dict[str, tuple[Any, ...]]:
    return {
        line.metric: (line.pace.actual, line.pace.target, line.pace.status, line.unrecorded)
        for line in lines
    }


def test_a_metric_nobody_records_is_not_recorded_not_behind(
    engine: Engine, paced: Settings
) -> None:
    build_unrecorded_team(engine, paced)
    east = team_scorecards(engine, paced, "month", AS_OF, team="East")
    assert [(c.rep, c.status) for c in east.reps] == [("Ana", "behind"), ("Ben", "on_pace")]
    ana, ben = (_by_metric(c.lines) for c in east.reps)
    assert ana == {
        "conversations": (0.0, 190.0, "not_recorded", "Conversations"),
        "meetings_set": (0.0, 19.0, "behind", None),
        "opportunities_sourced": (0.0, None, "no_target", SOURCED),
        "connect_rate": (0.0, None, "no_target", "Conversations"),
    }
    assert ben["conversations"] == (0.0, 95.0, "not_recorded", "Conversations")
    assert ben["meetings_set"] == (12.0, 19.0, "on_pace", None)
    assert ben["connect_rate"][3] == "Conversations"
    total = {line.metric: line for line in east.total}
    assert _by_metric(east.total)["conversations"] == (0.0, 285.0, "not_recorded", "Conversations")
    assert (total["meetings_set"].pace.actual, total["meetings_set"].unrecorded) == (12.0, None)
    assert total["meetings_set"].pace.expected_to_date == pytest.approx(26)
    assert total["connect_rate"].unrecorded == "Conversations"
    roles = {line.metric: line.pace.status for line in east.role_totals["sdr"]}
    assert roles["conversations"] == "not_recorded"


def test_one_reps_card_asks_the_organisation_not_the_rep(engine: Engine, paced: Settings) -> None:
    """Ana's own card reads only her totals, where meetings set are 0 too: the probe finds
    Ben's, so her 0 of 13 is behind, not "not recorded"."""
    build_unrecorded_team(engine, paced)
    card = rep_scorecard(engine, paced, "Ana", "month", AS_OF)
    lines = _by_metric(card.lines)
    assert lines["meetings_set"] == (0.0, 19.0, "behind", None)
    assert lines["conversations"] == (0.0, 190.0, "not_recorded", "Conversations")
    assert card.status == "behind"


def test_recorded_once_anyone_had_any_before_the_cards_end(engine: Engine, paced: Settings) -> None:
    """A connected call after the card's day does not make conversations recorded on it; one
    back in October by Ben does, and Ana's 0 of 130 is behind again."""
    ids = build_unrecorded_team(engine, paced)
    with engine.begin() as conn:
        conn.execute(
            insert(Activity), calls_on(ids["Ben"], dt.date(2026, 11, 20), 1, "conversation")
        )
    ana = rep_scorecard(engine, paced, "Ana", "month", AS_OF)
    assert _by_metric(ana.lines)["conversations"][2:] == ("not_recorded", "Conversations")
    with engine.begin() as conn:
        conn.execute(
            insert(Activity), calls_on(ids["Ben"], dt.date(2026, 10, 20), 1, "conversation")
        )
    ana = rep_scorecard(engine, paced, "Ana", "month", AS_OF)
    lines = _by_metric(ana.lines)
    assert lines["conversations"] == (0.0, 190.0, "behind", None)
    assert lines["connect_rate"] == (0.0, None, "no_target", None)


def test_not_recorded_never_makes_a_cards_status(settings: Settings) -> None:
    """A card whose every line is not recorded says so; beside any other status (even no
    target) that other status is the card's: not recorded is never its worst."""
    period = BusinessCalendar(settings.calendar).period("month", AS_OF)

    def card(*statuses: Status) -> Scorecard:
        lines = [
            MetricLine("m", "M", False, Pace(0.0, 1.0, 1.0, 0.0, 0.0, 1.0, s)) for s in statuses
        ]
        return Scorecard("A", 1, None, "sdr", period, AS_OF, 19, 13, 6, period.start, None, lines)

    assert card("not_recorded").status == "not_recorded"
    assert card("not_recorded", "no_target").status == "no_target"
    assert card("not_recorded", "ahead").status == "ahead"


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The statements each call of the scorecard's `recorded_steps` ran (one list per call)."""
    calls: list[list[str]] = []
    original = scorecard_module.recorded_steps

    def spied(conn: Any, *args: Any) -> frozenset[str]:
        with recorded_statements(conn) as statements:
            calls.append(statements)  # filled as the call runs
            return original(conn, *args)

    monkeypatch.setattr(scorecard_module, "recorded_steps", spied)
    yield calls


def _scorecards_twice(engine: Engine, settings: Settings) -> None:
    """East's cards twice: the first brings the rollup up to date, the second is a request
    like any other."""
    for _ in range(2):
        team_scorecards(engine, settings, "month", AS_OF, team="East")


def test_unrecorded_metrics_cost_one_probe_each_never_one_per_rep(
    engine: Engine, paced: Settings, probes: list[list[str]]
) -> None:
    """Five reps on the cards, none with conversations (probed once for their line and the
    connect rate's numerator) or sourced opportunities: two statements per request, not one
    per rep, each reading a first row; meetings set, which Ben has, are not asked again."""
    build_unrecorded_team(engine, paced, extra_anas=3)
    _scorecards_twice(engine, paced)
    assert [len(p) for p in probes] == [2, 2]
    # Each a first row: metric_day's for conversations, the deals' for sourced ones.
    assert all("LIMIT" in s.upper() and "sum(" not in s.lower() for s in probes[-1])
    assert len([s for s in probes[-1] if "metric_day" in s]) == 1


def test_no_probe_when_someone_has_some_of_every_metric(
    engine: Engine, paced: Settings, probes: list[list[str]]
) -> None:
    """One connected call and one sourced opportunity in the period: every metric on the
    cards has a count, so nothing beyond the cards' own reads is asked."""
    ids = build_unrecorded_team(engine, paced)
    with engine.begin() as conn:
        conn.execute(insert(Activity), calls_on(ids["Ben"], NOV_9, 1, "conversation"))
    deal = put_deal(engine, ids["Ana"], "Acme", 1000.0, dt.datetime(2026, 11, 10, 17))
    with engine.begin() as conn:
        conn.execute(update(Deal).where(Deal.id == deal).values(sourced_by_id=ids["Ana"]))
    _scorecards_twice(engine, paced)
    assert probes == []
