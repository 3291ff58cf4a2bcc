"""The stretch of days a diagnosis reads: a period to date, or the trailing N days.

Diagnoses explain *why* results look as they do, so they usually read a longer, complete
stretch than pacing does: a quarter's wins are too few in a week. `"90d"` (the default) is the
90 calendar days ending on the as-of day; `"month"` is the fiscal month to date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.errors import UserInputError, did_you_mean

PERIOD_WORDS = ("week", "month", "quarter", "year")
TRAILING = re.compile(r"^(\d{1,4})d$")
MAX_TRAILING_DAYS = 3660


@dataclass(frozen=True)
class Window:
    """Local calendar days [start, end): `end` is the day after the as-of day."""

    spec: str
    start: dt.date
    end: dt.date

    @property
    def as_of(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.as_of.isoformat()}"


def _then_use(hint: str) -> str:
    """'; use ' after a plain refusal, or '; did you mean 'month'? Use ' after a suggestion."""
    return f"{hint} Use " if hint else "; use "


def diagnosis_window(settings: Settings, spec: str, as_of: dt.date | None = None) -> Window:
    """Parse `spec` ("week", "month", "quarter", "year" to date, or "Nd") ending on `as_of`.

    The exact word, as every other parameter of the API, the pages and the command line
    takes it (a scorecard's or a forecast's period, a ranking): "Month" and "90D" are refused
    with the allowed words. Until 2026-12-07 only this one was read case-insensitively, so
    /flow?period=Month answered where /forecast?period=Month was a 422."""
    calendar = BusinessCalendar(settings.calendar)
    day = as_of or calendar.today()
    text = spec.strip()
    if text in PERIOD_WORDS:
        period = calendar.period(text, day)  # type: ignore[arg-type]
        return Window(text, period.start, day + dt.timedelta(days=1))
    match = TRAILING.match(text)
    if match is None:
        raise UserInputError(
            f"period: {spec!r} is not a period{_then_use(did_you_mean(text.lower(), PERIOD_WORDS))}"
            f"{', '.join(PERIOD_WORDS)} (to date) or a number of trailing days such as 90d"
        )
    days = int(match.group(1))
    if not 1 <= days <= MAX_TRAILING_DAYS:
        raise UserInputError(f"period: {spec!r}: trailing days must be 1 to {MAX_TRAILING_DAYS}")
    end = day + dt.timedelta(days=1)
    return Window(text, end - dt.timedelta(days=days), end)
