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
import threading
from collections.abc import Iterable
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
        self._years: dict[int, frozenset[dt.date]] = {}
        self._lock = threading.Lock()
        self._names_checked = False

    def days_off(self, years: Iterable[int]) -> frozenset[dt.date]:
        """Every holiday in the given years (the explicit list's days included)."""
        days: set[dt.date] = set()
        for year in years:
            days |= self.of_year(year)
        return frozenset(days)

    def of_year(self, year: int) -> frozenset[dt.date]:
        """One year's holidays, worked out once."""
        known = self._years.get(year)
        if known is None:
            with self._lock:
                known = self._years.get(year)
                if known is None:
                    known = self._work_out(year)
                    self._years[year] = known
        return known

    def is_known(self, year: int) -> bool:
        """Whether the holidays of `year` are known: a country gives every year; without one,
        only a year the explicit list names a day in (a year it does not name would count
        every work day as a business day)."""
        if self.settings.holiday_country is not None:
            return True
        return any(day.year == year for day in self.settings.holiday_set)

    def _work_out(self, year: int) -> frozenset[dt.date]:
        listed = {day for day in self.settings.holiday_set if day.year == year}
        if self.settings.holiday_country is None:
            return frozenset(listed)
        if not self._names_checked:
            self._check_worked_names()
            self._names_checked = True
        country = self._country([year])
        worked = self.settings.worked_dates
        observed = {
            day
            for day in country
            if day not in worked and not self._all_worked(country.get_list(day))
        }
        return frozenset(observed | listed)

    def _all_worked(self, names: list[str]) -> bool:
        """A day the company works: each holiday on it is named in `work_on` (a name covers
        its observed day too: working Juneteenth means working the Friday it is observed)."""
        worked = self.settings.worked_names
        return bool(names) and all(
            name in worked or name.split(_OBSERVED)[0] in worked for name in names
        )

    def _check_worked_names(self) -> None:
        """Refuse a `work_on` name the country never uses: a typo there would keep the
        holiday off without a word."""
        if not self.settings.worked_names:
            return
        country = self._country(_NAME_CHECK_YEARS)
        names = {name.split(_OBSERVED)[0] for day in country for name in country.get_list(day)}
        names |= {name for day in country for name in country.get_list(day)}
        for name in sorted(self.settings.worked_names - names):
            raise InputError(
                "calendar.work_on",
                f"{name!r} is no holiday of {self._where()}{did_you_mean(name, names)}",
            )

    def _country(self, years: Iterable[int]) -> HolidayBase:
        """The `holidays` package's calendar, imported on first use (about 50 ms: logging an
        activity needs no holidays). An unknown country or subdivision is a config error."""
        import holidays

        country = self.settings.holiday_country
        assert country is not None
        try:
            return holidays.country_holidays(
                country, subdiv=self.settings.holiday_subdivision, years=list(years)
            )
        except NotImplementedError as exc:
            field = (
                "calendar.holiday_subdivision"
                if self.settings.holiday_subdivision is not None
                and country in holidays.list_supported_countries()
                else "calendar.holiday_country"
            )
            raise InputError(field, f"no holidays known for {self._where()} ({exc})") from exc

    def _where(self) -> str:
        subdivision = self.settings.holiday_subdivision
        country = self.settings.holiday_country or ""
        return f"{country}-{subdivision}" if subdivision else country
