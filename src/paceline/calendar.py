"""Business calendar: periods, business days and the local day an activity counts on.

Pacing is measured in *business* days (configured work days minus holidays), and an activity
counts on the day it happened in the company's time zone, not in UTC: a 7 pm call in New York
is that day's call even though it is already tomorrow in UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from paceline import clock
from paceline.config import CalendarSettings
from paceline.public_holidays import HolidayRules

if TYPE_CHECKING:
    import numpy as np

PeriodKind = Literal["day", "week", "month", "quarter", "year"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    """A half-open date range [start, end) with its kind, e.g. the week of 2026-11-23."""

    kind: PeriodKind
    start: dt.date
    end: dt.date

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day < self.end

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        return f"{self.kind} {self.start.isoformat()}..{self.last_day.isoformat()}"


class BusinessCalendar:
    """Answers calendar questions under one configuration."""

    def __init__(self, settings: CalendarSettings) -> None:
        self.settings = settings
        self.zone = settings.zone
        weekmask = [1 if i in settings.work_weekdays else 0 for i in range(7)]
        self._weekmask = weekmask
        self._counted: dict[tuple[dt.date, dt.date], int] = {}
        self.holidays = HolidayRules(settings)
        # The years held and NumPy's calendar of them, swapped as one (threads share this).
        self._held: tuple[range, np.busdaycalendar] | None = None

    def _busdays(self, first: dt.date, last: dt.date) -> np.busdaycalendar:
        """NumPy's business-day calendar holding the holidays of every year from `first` to
        `last` (and of the years asked about before). Holidays are worked out per year, so the
        calendar grows to the years asked about and is remade only when a question reaches a
        new year; NumPy is imported on the first question about business days: logging an
        activity only needs the zone."""
        wanted = range(first.year, last.year + 1)
        held = self._held
        if held is not None and _within(wanted, held[0]):
            return held[1]
        import numpy as np

        years = wanted if held is None else _spanning(held[0], wanted)
        calendar = np.busdaycalendar(
            weekmask=self._weekmask,
            holidays=np.array(sorted(self.holidays.days_off(years)), dtype="datetime64[D]"),
        )
        # Another thread may swap in a calendar of other years meanwhile: this question is
        # answered with the one made for it, and the next one checks again.
        self._held = (years, calendar)
        return calendar

    def is_holiday(self, day: dt.date) -> bool:
        """A configured day off (the country's or the explicit list's), whatever its weekday."""
        return day in self.holidays.of_year(day.year)

    def local_date(self, moment_utc: dt.datetime) -> dt.date:
        """The business-local date of a UTC instant (naive datetimes are taken as UTC)."""
        if moment_utc.tzinfo is None:
            moment_utc = moment_utc.replace(tzinfo=dt.UTC)
        return moment_utc.astimezone(self.zone).date()

    def today(self) -> dt.date:
        return clock.today(self.zone)

    def is_business_day(self, day: dt.date) -> bool:
        import numpy as np

        return bool(np.is_busday(np.datetime64(day, "D"), busdaycal=self._busdays(day, day)))

    def business_days(self, start: dt.date, end: dt.date) -> int:
        """Business days in [start, end).

        Remembered per range: a thousand scorecards ask about the same few ranges, and each
        NumPy call costs about ten microseconds.
        """
        if end <= start:
            return 0
        key = (start, end)
        counted = self._counted.get(key)
        if counted is None:
            import numpy as np

            counted = int(
                np.busday_count(
                    np.datetime64(start, "D"),
                    np.datetime64(end, "D"),
                    busdaycal=self._busdays(start, end - dt.timedelta(days=1)),
                )
            )
            self._counted[key] = counted
        return counted

    def period(self, kind: PeriodKind, day: dt.date) -> Period:
        """The period of the given kind that contains `day` (quarters and years are fiscal)."""
        if kind == "day":
            return Period(kind, day, day + dt.timedelta(days=1))
        if kind == "week":
            start = day - dt.timedelta(days=day.weekday())
            return Period(kind, start, start + dt.timedelta(days=7))
        if kind == "month":
            start = day.replace(day=1)
            return Period(kind, start, _add_months(start, 1))
        months = 3 if kind == "quarter" else 12
        offset = (day.month - self.settings.fiscal_year_start_month) % months
        start = _add_months(day.replace(day=1), -offset)
        return Period(kind, start, _add_months(start, months))

    def previous(self, period: Period) -> Period:
        return self.period(period.kind, period.start - dt.timedelta(days=1))


def _within(inner: range, outer: range) -> bool:
    return outer.start <= inner.start and inner.stop <= outer.stop


def _spanning(one: range, other: range) -> range:
    """The years from the earliest of both ranges to the latest (a calendar with a gap of
    years would count that gap's holidays as work days)."""
    return range(min(one.start, other.start), max(one.stop, other.stop))


def shift_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier), clamped to the month's end (Jan 31 -> Feb 28).

    The one month arithmetic: plans, the demo's history and the forecast's look-back all
    count months this way, so they agree on where "three months ago" starts.
    """
    year, month_index = divmod(day.year * 12 + (day.month - 1) + months, 12)
    first = dt.date(year, month_index + 1, 1)
    following = dt.date(year + (month_index == 11), (month_index + 1) % 12 + 1, 1)
    last = (following - dt.timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after `day`'s month."""
    return shift_months(day.replace(day=1), months)


def local_midnight_utc(zone: dt.tzinfo, day: dt.date) -> dt.datetime:
    """The instant a business-local day starts, as naive UTC (how the store keeps times).

    Midnight exists on every day in the zones Paceline supports' DST rules (changes happen at
    night, not at 00:00), and `zoneinfo` resolves it either way.
    """
    local = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def local_days_between(zone: dt.tzinfo, start_utc: dt.datetime, end_utc: dt.datetime) -> float:
    """Days from one instant to another (naive UTC, as the store keeps them) as the
    business-local clock reads them; never below 0.

    Why not the seconds over 86,400: across a daylight-saving change a local day lasts 23 or 25
    hours, so a deal that entered its stage at midnight on 8 March 2020 in New York (EST) read
    374.96 days in it at the end of 17 March 2021 (EDT), 375 days by every calendar; and a
    stay of whole days could fall an hour short of a bar of as many days. Midnight to midnight
    is a whole number of days here, whatever the season.
    """

    def wall(moment: dt.datetime) -> dt.datetime:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return aware.astimezone(zone).replace(tzinfo=None)

    return max((wall(end_utc) - wall(start_utc)).total_seconds() / 86_400.0, 0.0)
