"""Local days and dates without a time, in SQL, across a change of offset, on both databases.

New York left summer time on 2026-11-01 at 06:00 UTC: local midnight was 04:00 UTC on
Nov 1 and is 05:00 UTC from Nov 2. Kolkata is UTC + 05:30 all year: midnight is 18:30 UTC.
Day numbers count local days since 1970-01-01 (2026-11-01 is day 20,758).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime, Engine, literal, select

from paceline.analytics.local_days import LocalDays, offset_changes

NOV_1 = (dt.date(2026, 11, 1) - dt.date(1970, 1, 1)).days


def test_offset_changes_are_found_to_the_second() -> None:
    """New York's change of 2026-11-01 at 2 am summer time (06:00 UTC), to the second."""
    zone = ZoneInfo("America/New_York")
    found = offset_changes(zone, dt.datetime(2026, 10, 30), dt.datetime(2026, 11, 5))
    assert found == [
        (dt.datetime(2026, 10, 30), -4 * 3600),
        (dt.datetime(2026, 11, 1, 6), -5 * 3600),
    ]


@pytest.mark.parametrize(
    ("zone", "moment", "day", "date_only"),
    [
        ("America/New_York", dt.datetime(2026, 11, 1, 4), NOV_1, True),  # midnight, summer
        ("America/New_York", dt.datetime(2026, 11, 2, 5), NOV_1 + 1, True),  # midnight, winter
        ("America/New_York", dt.datetime(2026, 11, 2, 4), NOV_1, False),  # 11 pm on Nov 1
        ("America/New_York", dt.datetime(2026, 11, 2, 5, 0, 1), NOV_1 + 1, False),
        ("America/New_York", dt.datetime(2026, 11, 2, 5, 0, 0, 500_000), NOV_1 + 1, False),
        ("Asia/Kolkata", dt.datetime(2026, 10, 31, 18, 30), NOV_1, True),
        ("Asia/Kolkata", dt.datetime(2026, 10, 31, 18, 0), NOV_1 - 1, False),
    ],
)
def test_local_day_and_date_only(
    engine: Engine, zone: str, moment: dt.datetime, day: int, date_only: bool
) -> None:
    with engine.connect() as conn:
        days = LocalDays(ZoneInfo(zone), dt.date(2026, 10, 1), dt.date(2026, 12, 1))
        at = literal(moment, DateTime())
        found = conn.execute(select(days.day(at), days.date_only(at))).one()
    assert (int(found[0]), bool(found[1])) == (day, date_only)
