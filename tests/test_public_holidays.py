"""Holidays that do not run out: a country's days every year, minus the worked ones, plus the
company's own. Business days are counted by hand below (weekdays of each month, less the
holidays that fall on one); the dates never come from the clock."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from factories import ZOHO_EXPORT, read_export
from paceline.calendar import BusinessCalendar
from paceline.config import CalendarSettings, default_settings
from paceline.errors import InputError

D = dt.date

# What the defaults listed before they named a country (2026 and 2027 only).
OLD_DEFAULT_LIST = [
    D(2026, 1, 1), D(2026, 1, 19), D(2026, 5, 25), D(2026, 7, 3), D(2026, 9, 7),
    D(2026, 11, 26), D(2026, 11, 27), D(2026, 12, 25),
    D(2027, 1, 1), D(2027, 1, 18), D(2027, 5, 31), D(2027, 7, 5), D(2027, 9, 6),
    D(2027, 11, 25), D(2027, 11, 26), D(2027, 12, 24),
]  # fmt: skip


def default_calendar() -> BusinessCalendar:
    return BusinessCalendar(default_settings().calendar)


def us_calendar(**kwargs: object) -> BusinessCalendar:
    settings = CalendarSettings(timezone="America/New_York", holiday_country="US", **kwargs)  # type: ignore[arg-type]
    return BusinessCalendar(settings)


def test_the_defaults_keep_2026_and_2027_as_the_old_list_had_them() -> None:
    old = BusinessCalendar(CalendarSettings(timezone="America/New_York", holidays=OLD_DEFAULT_LIST))
    new = default_calendar()
    days = [D(2026, 1, 1) + dt.timedelta(days=i) for i in range(730)]
    assert [d for d in days if new.is_business_day(d) != old.is_business_day(d)] == []
    # 261 weekdays in 2026 less its 8 weekday holidays; 2027: 261 less 8.
    assert new.business_days(D(2026, 1, 1), D(2027, 1, 1)) == 253
    assert new.business_days(D(2027, 1, 1), D(2028, 1, 1)) == 253


def test_november_2028_has_thanksgiving_and_the_day_after_off_by_default() -> None:
    # 1 November 2028 is a Wednesday: 3 + 5 + 5 + 5 + 4 = 22 weekdays, less Thanksgiving
    # (Thursday 23rd) and the day after. Veterans Day (observed Friday 10th) is worked.
    cal = default_calendar()
    assert cal.business_days(D(2028, 11, 1), D(2028, 12, 1)) == 20
    assert not cal.is_business_day(D(2028, 11, 23))
    assert not cal.is_business_day(D(2028, 11, 24))
    assert cal.is_business_day(D(2028, 11, 10))
    assert not cal.is_business_day(D(2028, 12, 25))


def test_the_zoho_exports_period_counts_the_2020_2021_holidays() -> None:
    starts = [row.values["Start DateTime"][:10] for row in read_export("Events", ZOHO_EXPORT)]
    first, last = D.fromisoformat(min(starts)), D.fromisoformat(max(starts))
    assert (first, last) == (D(2020, 10, 8), D(2021, 4, 15))  # 03:08 and 17:02 in New York
    # Weekdays: Oct 8-31 17, Nov 21, Dec 23, Jan 21, Feb 20, Mar 23, Apr 1-15 11 = 136.
    # The default's days off among them: Thanksgiving 2020-11-26 and the day after,
    # Christmas 2020-12-25, New Year's Day 2021-01-01 and Martin Luther King Jr. Day
    # 2021-01-18: 131.
    end = last + dt.timedelta(days=1)
    assert default_calendar().business_days(first, end) == 131
    # Every federal day (and not the day after Thanksgiving): Thanksgiving, Christmas, New
    # Year's Day, Martin Luther King Jr. Day, Columbus Day (10-12), Veterans Day (11-11),
    # Washington's Birthday (2021-02-15): 129.
    assert us_calendar().business_days(first, end) == 129


# Thanksgiving is the fourth Thursday of November; the day after it, each year's Friday.
DAYS_AFTER_THANKSGIVING = [
    D(2020, 11, 27), D(2025, 11, 28), D(2026, 11, 27), D(2027, 11, 26), D(2028, 11, 24),
    D(2031, 11, 28), D(2040, 11, 23),
]  # fmt: skip


def test_the_day_after_thanksgiving_is_off_every_year_by_default() -> None:
    """A rule, not a list: the default once named the day for 2026 and 2027 only, so
    2025-11-28 and the same Friday from 2028 on were business days without a word."""
    cal = default_calendar()
    assert [d for d in DAYS_AFTER_THANKSGIVING if cal.is_business_day(d)] == []
    assert all(cal.is_holiday(d) for d in DAYS_AFTER_THANKSGIVING)
    # The Thursday after it and the Monday before Thanksgiving stay business days.
    assert cal.is_business_day(D(2025, 12, 4)) and cal.is_business_day(D(2025, 11, 24))
    # November 2025: 20 weekdays less Thanksgiving (27th) and the day after: 18.
    assert cal.business_days(D(2025, 11, 1), D(2025, 12, 1)) == 18


def test_day_after_is_its_own_rule_and_work_on_a_date_takes_one_back() -> None:
    assert us_calendar().is_business_day(D(2028, 11, 24))  # no federal day
    after = us_calendar(day_after=["Thanksgiving Day"], work_on=["2028-11-24"])
    assert after.is_business_day(D(2028, 11, 24))
    assert not after.is_business_day(D(2029, 11, 23))
    christmas = us_calendar(day_after=["Christmas Day"])
    assert not christmas.is_business_day(D(2029, 12, 26))  # a Wednesday


def test_an_unknown_day_after_name_is_refused_with_the_closest() -> None:
    cal = us_calendar(day_after=["Thanksgiving"])
    with pytest.raises(InputError, match=r"calendar.day_after: 'Thanksgiving'.*'Thanksgiving Day'"):
        cal.business_days(D(2028, 1, 1), D(2028, 2, 1))


def test_a_worked_holiday_name_covers_its_observed_day() -> None:
    # Juneteenth 2027 is a Saturday, observed Friday 18 June.
    assert not us_calendar().is_business_day(D(2027, 6, 18))
    cal = us_calendar(work_on=["Juneteenth National Independence Day"])
    assert cal.is_business_day(D(2027, 6, 18))
    # Only the observed name: the day itself (a Monday in 2029) stays off.
    observed_only = us_calendar(work_on=["Juneteenth National Independence Day (observed)"])
    assert observed_only.is_business_day(D(2027, 6, 18))
    assert not observed_only.is_business_day(D(2029, 6, 19))


def test_a_subdivision_adds_its_own_days() -> None:
    # Massachusetts' Patriots' Day: the third Monday of April, 2028-04-17.
    assert us_calendar().is_business_day(D(2028, 4, 17))
    assert not us_calendar(holiday_subdivision="MA").is_business_day(D(2028, 4, 17))


def test_years_asked_in_any_order_agree_with_one_range() -> None:
    """The calendar grows year by year as questions reach them; a question about an earlier
    year after a later one must not lose either year's holidays."""
    cal = default_calendar()
    assert cal.business_days(D(2028, 11, 1), D(2028, 12, 1)) == 20
    assert cal.business_days(D(2020, 11, 1), D(2020, 12, 1)) == 19  # 21 less the 26th, 27th
    assert cal.business_days(D(2028, 11, 1), D(2028, 12, 1)) == 20
    fresh = default_calendar()
    assert fresh.business_days(D(2020, 1, 1), D(2029, 1, 1)) == sum(
        cal.business_days(D(y, 1, 1), D(y + 1, 1, 1)) for y in range(2020, 2029)
    )


def test_an_unknown_worked_name_is_refused_with_the_closest() -> None:
    cal = us_calendar(work_on=["Colombus Day"])
    with pytest.raises(InputError, match=r"calendar.work_on: 'Colombus Day'.*'Columbus Day'"):
        cal.business_days(D(2028, 1, 1), D(2028, 2, 1))


def test_an_unknown_country_or_subdivision_is_refused_naming_the_key() -> None:
    with pytest.raises(InputError, match=r"calendar\.holiday_country: no holidays known for XX"):
        BusinessCalendar(CalendarSettings(holiday_country="XX")).is_business_day(D(2028, 1, 3))
    with pytest.raises(InputError, match=r"calendar\.holiday_subdivision: .*US-ZZ"):
        us_calendar(holiday_subdivision="ZZ").is_business_day(D(2028, 1, 3))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"holiday_country": "us"}, "String should match pattern"),
        ({"holiday_subdivision": "CA"}, "holiday_subdivision needs a holiday_country"),
        ({"work_on": ["Columbus Day"]}, "work_on removes country holidays"),
        ({"day_after": ["Thanksgiving Day"]}, "day_after names country holidays"),
        (
            {"holiday_country": "US", "work_on": ["2028-13-01"]},
            "work_on: '2028-13-01' is not a valid date",
        ),
        (
            {"holiday_country": "US", "work_on": ["2028-11-24"], "holidays": ["2028-11-24"]},
            "2028-11-24 is both in holidays and in work_on",
        ),
    ],
)
def test_contradicting_holiday_settings_are_refused(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        CalendarSettings(**fields)  # type: ignore[arg-type]


def test_without_a_country_only_the_listed_years_are_known() -> None:
    cal = BusinessCalendar(CalendarSettings(holidays=OLD_DEFAULT_LIST))
    assert [cal.holidays.is_known(y) for y in (2025, 2026, 2027, 2028)] == [
        False,
        True,
        True,
        False,
    ]
    assert all(default_calendar().holidays.is_known(y) for y in (1990, 2028, 2060))
