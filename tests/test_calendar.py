"""Business calendar: periods, business days, fiscal quarters, local days. Hand-checked dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from paceline.calendar import BusinessCalendar, local_midnight_utc, shift_months
from paceline.config import CalendarSettings

D = dt.date


def calendar(**kwargs: object) -> BusinessCalendar:
    return BusinessCalendar(CalendarSettings(timezone="America/New_York", **kwargs))  # type: ignore[arg-type]


def test_periods_contain_the_day() -> None:
    cal = calendar()
    week = cal.period("week", D(2026, 11, 25))  # a Wednesday
    assert (week.start, week.end, week.label) == (D(2026, 11, 23), D(2026, 11, 30), "2026-W48")
    month = cal.period("month", D(2026, 12, 31))
    assert (month.start, month.end) == (D(2026, 12, 1), D(2027, 1, 1))
    assert cal.period("quarter", D(2026, 11, 23)).start == D(2026, 10, 1)
    assert cal.previous(month).start == D(2026, 11, 1)
    assert D(2026, 11, 29) in week and D(2026, 11, 30) not in week


def test_fiscal_year_starting_in_february() -> None:
    cal = calendar(fiscal_year_start_month=2)
    q = cal.period("quarter", D(2027, 1, 15))
    assert (q.start, q.end) == (D(2026, 11, 1), D(2027, 2, 1))
    y = cal.period("year", D(2027, 1, 15))
    assert (y.start, y.end) == (D(2026, 2, 1), D(2027, 2, 1))


def test_business_days_skip_weekends_and_holidays() -> None:
    cal = calendar(holidays=[D(2026, 11, 26), D(2026, 11, 27)])
    # November 2026: 21 weekdays, minus Thanksgiving and the day after.
    assert cal.business_days(D(2026, 11, 1), D(2026, 12, 1)) == 19
    assert cal.business_days(D(2026, 11, 23), D(2026, 11, 30)) == 3
    assert not cal.is_business_day(D(2026, 11, 26))
    assert not cal.is_business_day(D(2026, 11, 28))
    assert cal.is_business_day(D(2026, 11, 23))
    assert cal.business_days(D(2026, 11, 5), D(2026, 11, 5)) == 0


def test_custom_work_week() -> None:
    cal = calendar(work_days=["sun", "mon", "tue", "wed", "thu"])
    assert cal.is_business_day(D(2026, 11, 22))  # a Sunday
    assert not cal.is_business_day(D(2026, 11, 27))  # a Friday


def test_local_date_uses_the_business_time_zone() -> None:
    cal = calendar()
    assert cal.local_date(dt.datetime(2026, 11, 21, 3, 30)) == D(2026, 11, 20)
    assert cal.local_date(dt.datetime(2026, 7, 1, 3, 59)) == D(2026, 6, 30)  # EDT, UTC-4
    assert cal.local_date(dt.datetime(2026, 7, 1, 4, 0)) == D(2026, 7, 1)


def test_one_month_arithmetic_clamps_to_the_month_end() -> None:
    """Hand-checked: the look-backs of plans, the demo and the forecast all use this."""
    assert shift_months(dt.date(2026, 3, 31), -1) == dt.date(2026, 2, 28)
    assert shift_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)  # leap year
    assert shift_months(dt.date(2026, 1, 15), -13) == dt.date(2024, 12, 15)
    assert shift_months(dt.date(2026, 11, 30), 1) == dt.date(2026, 12, 30)
    assert shift_months(dt.date(2026, 12, 31), 2) == dt.date(2027, 2, 28)
    assert shift_months(dt.date(2026, 12, 1), 0) == dt.date(2026, 12, 1)


def test_local_midnight_in_utc_across_daylight_saving() -> None:
    new_york = ZoneInfo("America/New_York")
    assert local_midnight_utc(new_york, dt.date(2026, 11, 1)) == dt.datetime(2026, 11, 1, 4)
    assert local_midnight_utc(new_york, dt.date(2026, 11, 2)) == dt.datetime(2026, 11, 2, 5)
    assert local_midnight_utc(new_york, dt.date(2026, 3, 8)) == dt.datetime(2026, 3, 8, 5)
    assert local_midnight_utc(new_york, dt.date(2026, 3, 9)) == dt.datetime(2026, 3, 9, 4)
