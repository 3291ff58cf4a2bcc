"""Clustered activity is not a shortfall: the behind-pace test allows for overdispersion.

Hand-checked: the negative-binomial tail against scipy's, parameterised here from the mean and
variance by hand; the dispersion of a hand-built daily series. Planted: a rep who works in
bursts and one who works steadily, the same monthly volume, both at 60% of expected-to-date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from scipy.stats import nbinom, poisson
from sqlalchemy import Engine, insert

from paceline.analytics.alerts import alerts
from paceline.analytics.dispersion import (
    HistoryRep,
    Sums,
    _first_days,
    history_days,
    index_of_dispersion,
    read_dispersions,
    role_dispersion,
    shrunk_dispersion,
)
from paceline.analytics.pacing import shortfall_chance
from paceline.analytics.scorecard import team_scorecards
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.services.targets import TargetRow, save_targets
from paceline.store.migrate import upgrade
from paceline.store.models import Activity, MetricDay

AS_OF = dt.date(2026, 11, 18)  # business day 13 of November's 19
NOV = dt.date(2026, 11, 1)


def test_negative_binomial_tail_is_scipys_for_the_mean_and_variance() -> None:
    """Mean 44, dispersion 2.5: variance 110. A negative binomial with that mean and variance
    has p = mean / variance = 0.4 and n = mean^2 / (variance - mean) = 1936 / 66."""
    n, p = 1936 / 66, 0.4
    assert shortfall_chance(17, 44, dispersion=2.5) == pytest.approx(nbinom.cdf(17, n, p))
    assert shortfall_chance(60, 44, False, dispersion=2.5) == pytest.approx(nbinom.sf(59, n, p))
    # Zero of mean 2 at dispersion 2: n = 4 / 2 = 2, p = 1/2, P(0) = (1/2)^2.
    assert shortfall_chance(0, 2, dispersion=2.0) == pytest.approx(0.25)
    # Wider than Poisson: the shortfall is less damning; dispersion 1 is Poisson itself.
    assert shortfall_chance(17, 44, dispersion=2.5) > 100 * poisson.cdf(17, 44)
    assert shortfall_chance(17, 44, dispersion=1.0) == pytest.approx(poisson.cdf(17, 44))


def test_dispersion_of_a_hand_built_series() -> None:
    """Counts 0 0 4 0 6 2 0 0 0 0: total 12, mean 1.2, squares 16 + 36 + 4 = 56; squared
    deviations 56 - 12^2/10 = 41.6; sample variance 41.6 / 9 = 4.6222; / mean = 3.85185."""
    series = [0, 0, 4, 0, 6, 2, 0, 0, 0, 0]
    sums = Sums(len(series), float(sum(series)), float(sum(x * x for x in series)))
    assert index_of_dispersion(sums) == pytest.approx(41.6 / 9 / 1.2)
    # Steady 3 each time: variance 0, below Poisson; never below 1 once shrunk.
    steady = Sums(10, 30.0, 90.0)
    assert index_of_dispersion(steady) == 0.0
    assert shrunk_dispersion(steady, 1.0, 4) == 1.0
    # 9 degrees of freedom of 3.85185 against 4 prior blocks of the role's 1.5.
    assert shrunk_dispersion(sums, 1.5, 4) == pytest.approx((9 * 3.851852 + 4 * 1.5) / 13)
    assert index_of_dispersion(Sums(10, 0.0, 0.0)) is None  # no activity: cannot tell
    assert shrunk_dispersion(Sums(1, 5.0, 25.0), 2.0, 4) == 2.0  # one block: the role's
    # The role: the median of the reps who can tell (3.85 and 0), at least 1.
    assert role_dispersion([sums, steady, Sums(10, 0.0, 0.0)]) == pytest.approx(3.851852 / 2)


def test_history_is_business_days_before_the_period(settings: Settings) -> None:
    """The 5 business days before Tue Dec 1 2026: Mon Nov 30, Nov 25, 24, 23 (26-27 are
    Thanksgiving holidays) and Fri Nov 20; the weekends and holidays between are left out."""
    calendar = BusinessCalendar(settings.calendar)
    start, off = history_days(calendar, dt.date(2026, 12, 1), 5)
    assert start == dt.date(2026, 11, 20)
    assert sorted(off) == [dt.date(2026, 11, d) for d in (21, 22, 26, 27, 28, 29)]


def _conversations(rep_id: int, day: dt.date, n: int) -> list[dict[str, Any]]:
    moment = dt.datetime.combine(day, dt.time(17, 0))
    return [
        {
            "rep_id": rep_id,
            "kind": "call",
            "occurred_at": moment,
            "local_date": day,
            "outcome": "conversation",
            "has_ask": True,
            "engaged": False,
            "source": "test",
        }
        for _ in range(n)
    ]


HISTORY_START = dt.date(2026, 8, 7)  # the 60 business days before November start on Fri Aug 7
CLUSTERED_NOVEMBER = {dt.date(2026, 11, 9), dt.date(2026, 11, 10), dt.date(2026, 11, 16)}


def _build_rep(engine: Engine, settings: Settings, clustered: bool) -> None:
    """One SDR with 600 conversations in the 60 business days before November (10 a day; the
    November target, 190 in 19 business days, is 10 a day too): 10 every day, or in clumps of
    whole weeks, 40 a day in the 1st, 6th and 10th of the twelve weeks and none in the others
    (a campaign, a week off). November to the 18th: 78 of 130 expected (60%), 6 every day, or
    26 on each of Nov 9, 10 and 16 (so never three business days idle)."""
    upgrade(engine)
    rep = add_rep(engine, settings, "Rep", "sdr", team="East")
    calendar = BusinessCalendar(settings.calendar)
    rows: list[dict[str, Any]] = []
    day, index = HISTORY_START, 0
    while day <= AS_OF:
        if calendar.is_business_day(day):
            if day < NOV:
                busy = index // 5 in (0, 5, 9)
                count = (40 if busy else 0) if clustered else 10
                index += 1
            else:
                count = (26 if day in CLUSTERED_NOVEMBER else 0) if clustered else 6
            rows += _conversations(rep, day, count)
        day += dt.timedelta(days=1)
    assert index == 60
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(conn, [TargetRow(rep, "conversations", "month", NOV, 190)])


def _month_to_date(settings: Settings, history_days: int = 60) -> Settings:
    rules = settings.alerts.model_copy(update={"min_business_days": 13})
    pacing = settings.pacing.model_copy(update={"dispersion_history_days": history_days})
    return settings.model_copy(update={"alerts": rules, "pacing": pacing})


@pytest.mark.parametrize("clustered", [False, True], ids=["steady", "clustered"])
def test_a_clustered_rep_at_60_percent_is_not_alerted_a_steady_one_is(
    engine: Engine, settings: Settings, clustered: bool
) -> None:
    """Poisson calls both behind: 78 or fewer of 130 expected is P = 3e-6. The clustered rep's
    days (40 on 15 days, 0 on 45: mean 10, squared deviations 15 x 40^2 - 600^2 / 60 = 18000,
    variance 18000 / 59) vary 30.5 times their mean, so a 60% month is ordinary for them;
    the steady rep never missed a day (variance 0: Poisson), so it is not."""
    _build_rep(engine, settings, clustered)
    poisson_only = alerts(engine, _month_to_date(settings, history_days=0), AS_OF)
    assert [(a.rep, a.rule) for a in poisson_only.alerts] == [("Rep", "behind_pace")]
    report = alerts(engine, _month_to_date(settings), AS_OF)
    behind = [(a.rep, a.actual, a.expected) for a in report.alerts if a.rule == "behind_pace"]
    card = team_scorecards(engine, _month_to_date(settings), "month", AS_OF).reps[0]
    if clustered:
        assert behind == []
        assert card.dispersion == pytest.approx(18000 / 59 / 10)
        assert card.status == "unclear"
    else:
        assert behind == [("Rep", 78, pytest.approx(130))]
        assert card.dispersion == 1.0
        assert card.status == "behind"


def test_a_reps_first_history_day_is_the_first_listed_day_with_a_key_count(
    sqlite_engine: Engine, settings: Settings
) -> None:
    """`_first_days`: per rep, the earliest of the listed days holding a row of one of the
    metrics; a row of another metric, or on a day not listed, does not count."""
    ana = add_rep(sqlite_engine, settings, "Ana", "sdr", team="East")
    bo = add_rep(sqlite_engine, settings, "Bo", "sdr", team="East")
    cy = add_rep(sqlite_engine, settings, "Cy", "sdr", team="East")
    oct_ = [dt.date(2026, 10, d) for d in (5, 6, 7, 8)]
    sunday = dt.date(2026, 10, 4)  # not listed
    rows = [
        {"metric": "calls", "local_date": oct_[0], "rep_id": ana, "value": 3.0},  # not asked
        {"metric": "conversations", "local_date": sunday, "rep_id": ana, "value": 1.0},
        {"metric": "conversations", "local_date": oct_[2], "rep_id": ana, "value": 2.0},
        {"metric": "meetings_set", "local_date": oct_[1], "rep_id": bo, "value": 1.0},
        {"metric": "conversations", "local_date": oct_[3], "rep_id": bo, "value": 4.0},
        {"metric": "calls", "local_date": oct_[1], "rep_id": cy, "value": 9.0},  # only calls
    ]
    with sqlite_engine.begin() as conn:
        conn.execute(insert(MetricDay), rows)
    with sqlite_engine.connect() as conn:
        found = _first_days(conn, ("conversations", "meetings_set"), [ana, bo, cy], oct_)
    assert found == {ana: oct_[2], bo: oct_[1]}


RECORDING_BEFORE = dt.date(2026, 10, 5)  # a Monday; the 10 business days before: Sep 21-Oct 2
SEP_21_TO_OCT_2 = [dt.date(2026, 9, d) for d in (21, 22, 23, 24, 25, 28, 29, 30)] + [
    dt.date(2026, 10, 1),
    dt.date(2026, 10, 2),
]


def _recorded_from_sep_28(engine: Engine, settings: Settings, earlier: bool) -> int:
    """Ana (SDR): 2 conversations on each of the 10 history days; meetings set 2, 0, 0, 2, 0
    on Sep 28-Oct 2, the CRM recording them only from Sep 28 (nobody has one before) unless
    `earlier`: then Bo (AE, not read) set one on Mon Sep 21."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    bo = add_rep(engine, settings, "Bo", "ae", team="East")
    rows = [
        {"metric": "conversations", "local_date": day, "rep_id": ana, "value": 2.0}
        for day in SEP_21_TO_OCT_2
    ]
    rows += [
        {"metric": "meetings_set", "local_date": day, "rep_id": ana, "value": 2.0}
        for day in (dt.date(2026, 9, 28), dt.date(2026, 10, 1))
    ]
    if earlier:
        rows.append(
            {
                "metric": "meetings_set",
                "local_date": dt.date(2026, 9, 21),
                "rep_id": bo,
                "value": 1.0,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(MetricDay), rows)
    return ana


def _ana_dispersions(engine: Engine, settings: Settings, ana: int) -> Any:
    pacing = settings.pacing.model_copy(update={"dispersion_history_days": 10})
    ten = settings.model_copy(update={"pacing": pacing})
    calendar = BusinessCalendar(ten.calendar)
    with engine.connect() as conn:
        history = [HistoryRep(ana, "sdr", None)]
        return read_dispersions(conn, ten, calendar, history, RECORDING_BEFORE, [ana])


def test_a_metric_recorded_only_from_mid_history_is_read_from_its_first_record(
    engine: Engine, settings: Settings
) -> None:
    """Meetings set are recorded from Sep 28: Ana's 5 days 2 0 0 2 0 (total 4, squares 8):
    squared deviations 8 - 16/5 = 4.8, variance 4.8/4 = 1.2, mean 0.8: dispersion 1.5 (Ana
    alone is her role's median, so shrinking leaves it). Read over all 10 days, the 5 days
    before the CRM recorded any read as zeros: 8 - 16/10 = 6.4, 6.4/9 / 0.4 = 1.78, a
    clustering that is only the recording's start. Conversations (recorded all along): 2
    every day, variance 0, so 1 (never below Poisson)."""
    ana = _recorded_from_sep_28(engine, settings, earlier=False)
    found = _ana_dispersions(engine, settings, ana)
    assert found.of(ana, "meetings_set") == pytest.approx(1.5)
    assert found.of(ana, "conversations") == 1.0


def test_a_metric_anyone_recorded_from_the_start_is_read_over_the_whole_history(
    engine: Engine, settings: Settings
) -> None:
    """Bo's meeting set on Sep 21 (another role's rep, not read) shows the CRM recorded
    meetings set all along: Ana's 5 days without one before Sep 28 are real zeros, 1.78."""
    ana = _recorded_from_sep_28(engine, settings, earlier=True)
    found = _ana_dispersions(engine, settings, ana)
    assert found.of(ana, "meetings_set") == pytest.approx(6.4 / 9 / 0.4)
