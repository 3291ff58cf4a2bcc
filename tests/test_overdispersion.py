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
    DaySums,
    index_of_dispersion,
    role_dispersion,
    shrunk_dispersion,
)
from paceline.analytics.pacing import shortfall_chance
from paceline.analytics.scorecard import team_scorecards
from paceline.analytics.targets import TargetRow, save_targets
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.ingest.manual import add_rep
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

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


def test_dispersion_of_a_hand_built_daily_series() -> None:
    """Days 0 0 4 0 6 2 0 0 0 0: total 12, mean 1.2, squares 16 + 36 + 4 = 56; squared
    deviations 56 - 12^2/10 = 41.6; sample variance 41.6 / 9 = 4.6222; / mean = 3.85185."""
    series = [0, 0, 4, 0, 6, 2, 0, 0, 0, 0]
    sums = DaySums(len(series), float(sum(series)), float(sum(x * x for x in series)))
    assert index_of_dispersion(sums) == pytest.approx(41.6 / 9 / 1.2)
    # Steady 3 a day: variance 0, below Poisson; never below 1 once shrunk.
    steady = DaySums(10, 30.0, 90.0)
    assert index_of_dispersion(steady) == 0.0
    assert shrunk_dispersion(steady, 1.0, 20) == 1.0
    # 9 degrees of freedom of 3.85185 against 20 prior days of the role's 1.5.
    assert shrunk_dispersion(sums, 1.5, 20) == pytest.approx((9 * 3.851852 + 20 * 1.5) / 29)
    assert index_of_dispersion(DaySums(10, 0.0, 0.0)) is None  # no activity: cannot tell
    assert shrunk_dispersion(DaySums(1, 5.0, 25.0), 2.0, 20) == 2.0  # one day: the role's
    assert role_dispersion([sums, steady, DaySums(10, 0.0, 0.0)]) == pytest.approx(
        (3.851852 + 0.0) / 2
    )


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


def _build_rep(engine: Engine, settings: Settings, clustered: bool) -> None:
    """One SDR, 10 conversations a business day since August (target 190 in November's 19
    business days, also 10 a day): every day, or 50 every fifth business day. November to the
    18th: 78 of 130 expected (60%), every day 6, or 26 every fifth business day."""
    upgrade(engine)
    rep = add_rep(engine, settings, "Rep", "sdr", team="East")
    calendar = BusinessCalendar(settings.calendar)
    rows: list[dict[str, Any]] = []
    day, index = dt.date(2026, 8, 3), 0
    while day <= AS_OF:
        if calendar.is_business_day(day):
            usual, burst = (10, 50) if day < NOV else (6, 26)
            if day == NOV + dt.timedelta(days=1):
                index = 0  # November's bursts fall on its business days 1, 6 and 11
            count = (burst if index % 5 == 0 else 0) if clustered else usual
            rows += _conversations(rep, day, count)
            index += 1
        day += dt.timedelta(days=1)
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
    """Poisson calls both behind: 78 or fewer of 130 expected is P = 1e-6. The clustered rep's
    days vary 40 times their mean (50 or 0, mean 10), so a 60% month is ordinary for them;
    the steady rep never missed a day, so it is not."""
    _build_rep(engine, settings, clustered)
    poisson_only = alerts(engine, _month_to_date(settings, history_days=0), AS_OF)
    assert [(a.rep, a.rule) for a in poisson_only.alerts] == [("Rep", "behind_pace")]
    report = alerts(engine, _month_to_date(settings), AS_OF)
    behind = [(a.rep, a.actual, a.expected) for a in report.alerts if a.rule == "behind_pace"]
    card = team_scorecards(engine, _month_to_date(settings), "month", AS_OF).reps[0]
    if clustered:
        assert behind == []
        assert card.dispersion == pytest.approx(((0.2 * 2500 - 100) * 60 / 59) / 10, rel=0.01)
        assert card.status == "unclear"
    else:
        assert behind == [("Rep", 78, pytest.approx(130))]
        assert card.dispersion == 1.0
        assert card.status == "behind"
