"""Dates typed on the command line, and errors that say what is wrong with one.

Click's own date type answers "2026-02-30" with "does not match the format '%Y-%m-%d'", which
is true of nothing the user can see: the format matches, the day does not exist. These
parsers name the actual problem ("2026-02-30: February 2026 has 28 days", "2026-13-01:
there is no month 13"). They return datetimes, as Click's type did, so the commands read
`.date()` as before.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

import typer

from paceline.errors import UserInputError

DAY_METAVAR = "YYYY-MM-DD"
MOMENT_METAVAR = "YYYY-MM-DD[ HH:MM]"
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_MOMENT = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?")


def date_problem(text: str) -> str | None:
    """What is wrong with `text` as a YYYY-MM-DD day, in words; None if it is a real day."""
    found = _DAY.fullmatch(text.strip())
    if found is None:
        return f"{text}: not a date; write it as YYYY-MM-DD, e.g. 2026-12-07"
    year, month, day = (int(part) for part in found.groups())
    if year < dt.MINYEAR:
        return f"{text}: there is no year {year}"
    if not 1 <= month <= 12:
        return f"{text}: there is no month {month}"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{text}: {calendar.month_name[month]} {year} has {days} days"
    return None


def leading_date_problem(text: str) -> str | None:
    """What is wrong with the YYYY-MM-DD at the start of `text` (a date or an ISO instant such
    as `--today 2026-02-30T10:00`), or None when it has no such start or that day exists."""
    found = re.match(r"\d{4}-\d{1,2}-\d{1,2}", text.strip())
    if found is None:
        return None
    problem = date_problem(found.group(0))
    return None if problem is None else problem.replace(found.group(0), text.strip(), 1)


def parse_day(value: str | dt.datetime) -> dt.datetime:
    """A `--as-of`-style option: YYYY-MM-DD, refused with the reason it is not a day."""
    if isinstance(value, dt.datetime):
        return value
    problem = date_problem(value)
    if problem is not None:
        raise typer.BadParameter(problem)
    year, month, day = (int(part) for part in value.strip().split("-"))
    return dt.datetime(year, month, day)


NO_DAY = "none"


def day_or_none(field: str, text: str) -> dt.date | None:
    """An option that sets or clears a day (`rep edit --end`): YYYY-MM-DD, or `none` to
    clear it; anything else refused with the option and the reason."""
    if text.strip().lower() == NO_DAY:
        return None
    problem = date_problem(text)
    if problem is not None:
        raise UserInputError(f"{field}: {problem}, or {NO_DAY} to clear it")
    return parse_day(text).date()


def parse_moment(value: str | dt.datetime) -> dt.datetime:
    """`log --at`: a day, or a day and a time (HH:MM, with a space or a T between)."""
    if isinstance(value, dt.datetime):
        return value
    found = _MOMENT.fullmatch(value.strip())
    if found is None:
        raise typer.BadParameter(
            f"{value}: not a date and time; write YYYY-MM-DD or YYYY-MM-DD HH:MM, "
            "e.g. 2026-12-07 14:30"
        )
    day = parse_day(found.group(1))
    if found.group(2) is None:
        return day
    hour, minute = int(found.group(2)), int(found.group(3))
    if hour > 23:
        raise typer.BadParameter(f"{value}: there is no hour {hour} (00 to 23)")
    if minute > 59:
        raise typer.BadParameter(f"{value}: there is no minute {minute} (00 to 59)")
    return day.replace(hour=hour, minute=minute)
