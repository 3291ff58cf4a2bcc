"""Pacing arithmetic against hand-computed cases on a known calendar.

November 2026 (New York): 21 weekdays, minus Thanksgiving (Thu 26) and the day after (Fri 27)
= 19 business days. Business days by date: 2-6, 9-13, 16-20, 23-25, 30.
"""

from __future__ import annotations

import datetime as dt

import pytest
from scipy.stats import nbinom, poisson

from paceline.analytics.pacing import (
    pace,
    pooled_shortfall_chance,
    recorded_from,
    shortfall_chance,
    status,
    tail,
    window,
)
from paceline.calendar import BusinessCalendar
from paceline.config import CalendarSettings, PacingSettings

CAL = BusinessCalendar(
    CalendarSettings(
        timezone="America/New_York",
        holidays=[dt.date(2026, 11, 26), dt.date(2026, 11, 27)],
    )
)
NOV = CAL.period("month", dt.date(2026, 11, 1))
THRESHOLDS = PacingSettings(ahead=1.10, behind=0.90)


def test_a_leavers_window_ends_on_her_last_day() -> None:
    """Left on Wednesday Nov 11 (business day 8 of 19): on the 18th her window is 8 days, all
    of them past; 76 a month owes 76 x 8/19 = 32, as her whole share. A leaver who also
    started on Thursday Nov 5 worked Nov 5, 6, 9, 10 and 11: 5 days."""
    gone = window(CAL, NOV, dt.date(2026, 11, 18), rep_end=dt.date(2026, 11, 11))
    assert (gone.period_total, gone.total, gone.elapsed, gone.remaining) == (19, 8, 8, 0)
    p = pace(gone, actual=32, period_target=76, thresholds=THRESHOLDS)
    assert (p.target, p.expected_to_date) == (pytest.approx(32), pytest.approx(32))
    assert (p.needed_per_day, p.status) == (None, "on_pace")
    before = window(CAL, NOV, dt.date(2026, 11, 9), rep_end=dt.date(2026, 11, 11))
    assert (before.total, before.elapsed, before.remaining) == (8, 6, 2)
    both = window(CAL, NOV, dt.date(2026, 11, 18), dt.date(2026, 11, 5), dt.date(2026, 11, 11))
    assert (both.total, both.elapsed) == (5, 5)


def test_mid_week_mid_month() -> None:
    w = window(CAL, NOV, dt.date(2026, 11, 18))  # Wednesday
    assert (w.period_total, w.total, w.elapsed, w.remaining) == (19, 19, 13, 6)
    p = pace(w, actual=100, period_target=190, thresholds=THRESHOLDS)
    assert p.expected_to_date == pytest.approx(130)  # 190 x 13/19
    assert p.pace == pytest.approx(100 / 130)
    assert p.projected == pytest.approx(100 * 19 / 13)
    assert p.needed_per_day == pytest.approx((190 - 100) / 6)
    assert p.status == "behind"


def test_a_holiday_inside_the_period_is_not_a_business_day() -> None:
    week = CAL.period("week", dt.date(2026, 11, 25))  # Mon 23 .. Sun 29; Thu and Fri off
    w = window(CAL, week, dt.date(2026, 11, 24))
    assert (w.total, w.elapsed, w.remaining) == (3, 2, 1)
    p = pace(w, actual=20, period_target=30, thresholds=THRESHOLDS)
    assert p.expected_to_date == pytest.approx(20)
    assert p.status == "on_pace"
    assert p.needed_per_day == pytest.approx(10)
    on_holiday = window(CAL, week, dt.date(2026, 11, 26))
    assert (on_holiday.elapsed, on_holiday.remaining) == (3, 0)
    assert pace(on_holiday, 20, 30, THRESHOLDS).needed_per_day is None  # no day left


def test_before_and_on_the_first_business_day() -> None:
    sunday = window(CAL, NOV, dt.date(2026, 11, 1))
    assert sunday.elapsed == 0
    p = pace(sunday, actual=0, period_target=190, thresholds=THRESHOLDS)
    assert p.expected_to_date == 0 and p.pace is None and p.projected is None
    assert p.status == "on_pace"  # nothing was expected yet
    assert p.needed_per_day == pytest.approx(10)
    monday = window(CAL, NOV, dt.date(2026, 11, 2))
    p = pace(monday, actual=12, period_target=190, thresholds=THRESHOLDS)
    assert p.expected_to_date == pytest.approx(10)
    assert p.projected == pytest.approx(12 * 19)
    assert p.status == "ahead"


def test_on_the_last_business_day() -> None:
    w = window(CAL, NOV, dt.date(2026, 11, 30))
    assert (w.elapsed, w.remaining) == (19, 0)
    p = pace(w, actual=171, period_target=190, thresholds=THRESHOLDS)
    assert p.expected_to_date == pytest.approx(190)
    assert p.projected == pytest.approx(171)
    assert p.pace == pytest.approx(0.9)
    assert p.status == "on_pace"  # exactly at the `behind` threshold is not behind
    assert p.needed_per_day is None


def test_a_rep_who_joined_mid_period_is_paced_pro_rata() -> None:
    w = window(CAL, NOV, dt.date(2026, 11, 18), rep_start=dt.date(2026, 11, 16))
    # Available: 16-20, 23-25, 30 = 9 business days; elapsed 16, 17, 18 = 3.
    assert (w.start, w.total, w.elapsed, w.remaining) == (dt.date(2026, 11, 16), 9, 3, 6)
    p = pace(w, actual=30, period_target=190, thresholds=THRESHOLDS)
    assert p.target == pytest.approx(90)  # 190 x 9/19
    assert p.expected_to_date == pytest.approx(30)  # 190 x 3/19
    assert p.projected == pytest.approx(90)
    assert p.needed_per_day == pytest.approx(10)
    assert p.status == "on_pace"


def test_a_rep_starting_after_the_as_of_day_owes_nothing_yet() -> None:
    w = window(CAL, NOV, dt.date(2026, 11, 18), rep_start=dt.date(2026, 11, 23))
    assert (w.total, w.elapsed) == (4, 0)
    assert pace(w, 0, 190, THRESHOLDS).expected_to_date == 0


def test_a_weekend_as_of_day_counts_like_the_friday_before() -> None:
    saturday = window(CAL, NOV, dt.date(2026, 11, 21))
    friday = window(CAL, NOV, dt.date(2026, 11, 20))
    assert saturday.elapsed == friday.elapsed == 15
    assert pace(saturday, 140, 190, THRESHOLDS) == pace(friday, 140, 190, THRESHOLDS)
    assert saturday.data_end == dt.date(2026, 11, 22)  # Saturday's logged work counts too


def test_without_a_target_there_is_no_pace_but_a_projection() -> None:
    p = pace(window(CAL, NOV, dt.date(2026, 11, 18)), 26, None, THRESHOLDS)
    assert p.status == "no_target" and p.expected_to_date is None
    assert p.projected == pytest.approx(26 * 19 / 13)


@pytest.mark.parametrize(
    ("actual", "expected", "higher_is_better", "want"),
    [
        (110, 100, True, "ahead"),
        (109, 100, True, "on_pace"),
        (90, 100, True, "on_pace"),
        (89, 100, True, "behind"),
        (80, 100, False, "ahead"),  # fewer is better: 100/80 = 1.25
        (120, 100, False, "behind"),  # 100/120 = 0.83
        (0, 100, False, "ahead"),
    ],
)
def test_status_thresholds(
    actual: float, expected: float, higher_is_better: bool, want: str
) -> None:
    assert status(actual, expected, THRESHOLDS, higher_is_better) == want


def test_zero_of_a_fraction_expected_is_too_few_to_tell_not_behind() -> None:
    """Business day 4 of 19 (Thu Nov 5), a metric targeted 1.425 a month: 0.3 expected so far.

    At 0 the threshold alone says behind; zero happens e^-0.3 = 74% of the time at target pace.
    """
    w = window(CAL, NOV, dt.date(2026, 11, 5))
    assert w.elapsed == 4
    p = pace(w, actual=0, period_target=1.425, thresholds=THRESHOLDS, max_chance=0.001)
    assert p.expected_to_date == pytest.approx(0.3)
    assert p.status == "unclear"
    assert pace(w, 0, 1.425, THRESHOLDS).status == "behind"  # the threshold alone
    assert shortfall_chance(0, 0.3) == pytest.approx(0.7408, abs=1e-4)


@pytest.mark.parametrize(
    ("actual", "expected", "higher_is_better", "chance", "want"),
    [
        (5, 13, True, 0.010734, "unclear"),  # 62% short, but 1.1% likely at target pace
        (100, 130, True, 0.0036752, "unclear"),  # 23% short, 0.37%: not past the 0.1% bar
        (14, 130, True, 1.76e-38, "behind"),
        (20, 10, False, 0.0034543, "unclear"),  # fewer is better: P(X >= 20 | 10)
        (25, 10, False, 4.6949e-05, "behind"),
        (95, 100, True, None, "on_pace"),  # within the threshold: no test needed
    ],
)
def test_behind_needs_the_alerts_chance_test(
    actual: float, expected: float, higher_is_better: bool, chance: float | None, want: str
) -> None:
    if chance is not None:
        assert shortfall_chance(actual, expected, higher_is_better) == pytest.approx(
            chance, rel=1e-3
        )
    assert status(actual, expected, THRESHOLDS, higher_is_better, max_chance=0.001) == want


def test_pooled_chance_tests_a_reps_counts_together() -> None:
    """Three metrics of 3.4 expected each, 1 + 1 + 0 done: alone none is unlikely
    (P(X <= 1 | 3.4) = 15%), together 2 of 10.2 is P = 0.235%."""
    w = window(CAL, NOV, dt.date(2026, 11, 18))
    paces = [pace(w, a, 3.4 * 19 / 13, THRESHOLDS, max_chance=0.001) for a in (1, 1, 0)]
    assert [p.status for p in paces] == ["unclear", "unclear", "unclear"]
    assert pooled_shortfall_chance(paces, 0.25) == pytest.approx(0.0023499, rel=1e-3)
    assert pooled_shortfall_chance(paces[:1] * 0, 0.25) is None


def test_tail_is_scipys_cdf_and_sf_bit_for_bit() -> None:
    for k in [-3, -1, 0, 1, 4, 17, 250]:
        for mu in [1e-6, 0.3, 2.0, 17.5, 240.0]:
            assert tail(poisson, "cdf", k, mu) == float(poisson.cdf(k, mu)), (k, mu)
            assert tail(poisson, "sf", k, mu) == float(poisson.sf(k, mu)), (k, mu)
            for d in [1.01, 1.7, 6.0]:
                size, p = mu / (d - 1.0), 1.0 / d
                assert tail(nbinom, "cdf", k, size, p) == float(nbinom.cdf(k, size, p))
                assert tail(nbinom, "sf", k, size, p) == float(nbinom.sf(k, size, p))


def test_a_card_is_measured_from_where_its_teams_records_begin() -> None:
    """Records beginning Tuesday Nov 10, as of the 18th: measured from the 10th, unless the
    rep started later (Nov 12: the start date rules), the records began on or before the
    period's start (Nov 1, or in October), or after the as-of day (nothing recorded yet),
    or when no business day lies before them (Monday Nov 2)."""
    as_of, nov_10 = dt.date(2026, 11, 18), dt.date(2026, 11, 10)
    assert recorded_from(CAL, NOV, as_of, None, nov_10) == nov_10
    assert recorded_from(CAL, NOV, as_of, dt.date(2025, 3, 1), nov_10) == nov_10
    assert recorded_from(CAL, NOV, as_of, dt.date(2026, 11, 5), nov_10) == nov_10
    assert recorded_from(CAL, NOV, as_of, dt.date(2026, 11, 12), nov_10) is None
    assert recorded_from(CAL, NOV, as_of, None, dt.date(2026, 11, 1)) is None
    assert recorded_from(CAL, NOV, as_of, None, dt.date(2026, 10, 20)) is None
    assert recorded_from(CAL, NOV, as_of, None, dt.date(2026, 11, 19)) is None
    assert recorded_from(CAL, NOV, as_of, None, None) is None
    # Monday Nov 2, the month's first business day: no business day is left out
    assert recorded_from(CAL, NOV, as_of, None, dt.date(2026, 11, 2)) is None
