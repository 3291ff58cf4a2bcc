"""The days off of a year: a country's public holidays, minus those the company works, plus
its own.

Why a country and not only a list of dates: a list runs out. The defaults once listed US
holidays for 2026 and 2027 only, so every figure of 2028 (and of any history before 2026)
counted Thanksgiving and Christmas as business days, silently. The `holidays` package knows
every year's days (observed days included), so the days are worked out per year when a
question first touches that year, and kept.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paceline.config import CalendarSettings
from paceline.errors import InputError, did_you_mean

if TYPE_CHECKING:
    from holidays import HolidayBase

# The years searched for the names `work_on` gives: a name no year here uses is a typo.
_NAME_CHECK_YEARS = range(2000, 2041)
_OBSERVED = " (observed"


class HolidayRules:
    """The days off of one configuration, year by year."""

    def __init__(self, settings: CalendarSettings) -> None:
        self.settings = settings

    def days_off(self, years: Iterable[int]) -> frozenset[dt.date]:
        """Every holiday in the given years (the explicit list's days included)."""
        days: set[dt.date] = set()
        for year in years:
            days |= self.of_year(year)
        return frozenset(days)

    def of_year(self, year: int) -> frozenset[dt.date]:
        """One year's holidays: the country's (worked out once per process, whichever
        calendar asks: a team's scorecards make one calendar per rep) and the listed ones."""
        listed = frozenset(day for day in self.settings.holiday_set if day.year == year)
        country = self.settings.holiday_country
        if country is None:
            return listed
        rules = _CountryRules(country, self.settings.holiday_subdivision)
        named = _Named(self.settings.worked_names, frozenset(self.settings.day_after))
        worked = _country_days_off(rules, named, year)
        return (worked - self.settings.worked_dates) | listed

    def is_known(self, year: int) -> bool:
        """Whether the holidays of `year` are known: a country gives every year; without one,
        only a year the explicit list names a day in (a year it does not name would count
        every work day as a business day)."""
        if self.settings.holiday_country is not None:
            return True
        return any(day.year == year for day in self.settings.holiday_set)


@dataclass(frozen=True)
class _CountryRules:
    country: str
    subdivision: str | None

    def where(self) -> str:
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country

    def calendar(self, years: Iterable[int]) -> HolidayBase:
        """The `holidays` package's calendar, imported on first use (about 50 ms: logging an
        activity needs no holidays). An unknown country or subdivision is a config error."""
        import holidays

        try:
            return holidays.country_holidays(
                self.country, subdiv=self.subdivision, years=list(years)
            )
        except NotImplementedError as exc:
            known_country = self.country in holidays.list_supported_countries()
            field = (
                "calendar.holiday_subdivision"
                if self.subdivision is not None and known_country
                else "calendar.holiday_country"
            )
            raise InputError(field, f"no holidays known for {self.where()} ({exc})") from exc


@dataclass(frozen=True)
class _Named:
    """The holiday names a configuration gives: the ones worked, and the ones whose next day
    is off too."""

    worked: frozenset[str]
    day_after: frozenset[str]


@functools.lru_cache(maxsize=256)
def _country_days_off(rules: _CountryRules, named: _Named, year: int) -> frozenset[dt.date]:
    """A year's country holidays less the ones worked by name, plus the day after each holiday
    named in `day_after` (a holiday on the last day of the year before gives its next day to
    this year)."""
    _check_names(rules, "calendar.work_on", named.worked)
    _check_names(rules, "calendar.day_after", named.day_after)
    country = rules.calendar([year - 1, year])
    off = {day for day in country if not _all_worked(country.get_list(day), named.worked)}
    off |= {
        day + dt.timedelta(days=1)
        for day in country
        if any(name in named.day_after for name in country.get_list(day))
    }
    return frozenset(day for day in off if day.year == year)


def _all_worked(names: list[str], worked: frozenset[str]) -> bool:
    """A day the company works: each holiday on it is named in `work_on` (a name covers its
    observed day too: working Juneteenth means working the Friday it is observed)."""
    return bool(names) and all(
        name in worked or name.split(_OBSERVED)[0] in worked for name in names
    )


@functools.lru_cache(maxsize=16)
def _check_names(rules: _CountryRules, key: str, given: frozenset[str]) -> None:
    """Refuse a holiday name the country never uses: a typo in `work_on` would keep the
    holiday off, one in `day_after` the day after it worked, without a word."""
    if not given:
        return
    country = rules.calendar(_NAME_CHECK_YEARS)
    spelled = {name for day in country for name in country.get_list(day)}
    names = spelled | {name.split(_OBSERVED)[0] for name in spelled}
    for name in sorted(given - names):
        closest = did_you_mean(name, names)
        raise InputError(key, f"{name!r} is no holiday of {rules.where()}{closest}")
