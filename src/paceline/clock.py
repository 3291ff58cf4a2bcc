"""The one clock every part of Paceline reads.

Pacing, alerts, the demo and every page depend on what "today" is. Reading the wall clock in
fifty places made the same tests give a different verdict on different days and made it
impossible to look at the organisation as it stood on a given day. Everything asks this module
instead, and the clock can be set:

- `paceline --today 2026-11-18 ...` (the CLI's global option), or
- the `PACELINE_TODAY` environment variable (inherited by `serve`'s worker processes), or
- `frozen(...)` in tests.

A value is a date (`2026-11-18`) or a date and time (`2026-11-18T15:30`, `...+01:00`; a time
without an offset is UTC). A date sets "today" in every time zone, and the time of day to noon
there, so "today" never depends on which zone asks; a date and time freezes that instant.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

ENV_VAR = "PACELINE_TODAY"
NOON = dt.time(12, 0)

_override: dt.date | dt.datetime | None = None


class ClockError(ValueError):
    """A clock setting that is neither a date nor a date and time."""


def parse_setting(value: str) -> dt.date | dt.datetime:
    """`2026-11-18` -> a date; `2026-11-18T15:30[+01:00]` -> an aware datetime (UTC if none)."""
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ClockError(
            f"{ENV_VAR}/--today must be YYYY-MM-DD or an ISO date and time, not {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def set_today(value: str | dt.date | dt.datetime | None) -> None:
    """Set the clock for this process and the processes it starts (None: the wall clock)."""
    global _override
    if value is None:
        _override = None
        os.environ.pop(ENV_VAR, None)
        return
    setting = parse_setting(value) if isinstance(value, str) else value
    _override = setting
    os.environ[ENV_VAR] = setting.isoformat()


@contextmanager
def frozen(value: str | dt.date | dt.datetime) -> Iterator[None]:
    """The clock set to `value` inside the block, restored after it."""
    global _override
    saved, saved_env = _override, os.environ.get(ENV_VAR)
    set_today(value)
    try:
        yield
    finally:
        _override = saved
        if saved_env is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = saved_env


def _setting() -> dt.date | dt.datetime | None:
    if _override is not None:
        return _override
    value = os.environ.get(ENV_VAR)
    return parse_setting(value) if value else None


def now(zone: ZoneInfo | dt.tzinfo = dt.UTC) -> dt.datetime:
    """The current instant, as an aware datetime in `zone`."""
    setting = _setting()
    if setting is None:
        return dt.datetime.now(zone)
    if isinstance(setting, dt.datetime):
        return setting.astimezone(zone)
    return dt.datetime.combine(setting, NOON, tzinfo=zone)


def today(zone: ZoneInfo | dt.tzinfo) -> dt.date:
    """The current date in `zone` (the set date itself when the clock is set to a date)."""
    setting = _setting()
    if isinstance(setting, dt.date) and not isinstance(setting, dt.datetime):
        return setting
    return now(zone).date()


def utcnow() -> dt.datetime:
    """The current instant as a naive UTC datetime: how the store keeps timestamps."""
    return now(dt.UTC).replace(tzinfo=None)
