"""The no-selling alert counts idle days from where a rep's records begin, and says nothing
when nobody in the organisation has ever recorded selling (`factories.
build_records_begin_late`, team East, as of Wednesday 2026-11-18).

On the Zoho export, whose records begin in October 2020 and whose first selling call came
later, every rep read "no selling for 261 business days" on 2020-11-02: counted from a year
before the first record, for a metric nobody had recorded yet. And a rep whose last
activities were demos, on which the export records no Ask, read "no selling" over them
(Harold Pawlan, demos to Sunday March 7 2021: "14 business days" since February 19 on March
10; now 3, since March 8)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from factories import AS_OF, build_meetings_of_unknown_ask, build_records_begin_late
from paceline.analytics.alerts import alerts
from paceline.config import Settings


def no_selling(engine: Engine, settings: Settings) -> dict[str, tuple[dt.date | None, int | None]]:
    report = alerts(engine, settings, AS_OF, team="East")
    return {a.rep: (a.since, a.business_days) for a in report.alerts if a.rule == "no_selling"}


def test_idle_days_count_from_where_the_records_begin(engine: Engine, settings: Settings) -> None:
    """Ana: no start date, records from Monday November 2: 13 business days without selling
    (November 2-6, 9-13, 16-18), since November 2 (before: a year's business days, since
    unknown). Ben: last sold October 1, so 34 business days from October 2 (unchanged). Cy,
    with no record at all, is still idle for the whole look-back (since unknown)."""
    build_records_begin_late(engine, settings, selling=True)
    found = no_selling(engine, settings)
    assert found["Ana"] == (dt.date(2026, 11, 2), 13)
    assert found["Ben"] == (dt.date(2026, 10, 2), 34)
    assert found["Cy"][0] is None


def test_nobody_is_told_when_nobody_has_ever_recorded_selling(
    engine: Engine, settings: Settings
) -> None:
    build_records_begin_late(engine, settings, selling=False)
    assert no_selling(engine, settings) == {}


def test_a_meeting_whose_ask_nobody_records_may_have_been_selling(
    engine: Engine, settings: Settings
) -> None:
    """Ana's last meeting, Tuesday 17th, is of a kind on which nobody records an Ask: idle
    only from Wednesday 18th, 1 business day, under the rule's 3 (before: alerted, from a
    year back). Ben, who last sold on November 2, is idle from November 3: 12 business days."""
    build_meetings_of_unknown_ask(engine, settings, meeting_asks=False)
    found = no_selling(engine, settings)
    assert "Ana" not in found
    assert found["Ben"] == (dt.date(2026, 11, 3), 12)


def test_a_meeting_without_an_ask_where_meetings_record_asks_is_not_selling(
    engine: Engine, settings: Settings
) -> None:
    """Cy recorded an Ask on a meeting: Ana's meetings without one were not selling. Her
    records begin on Monday 16th: 3 business days without selling (16-18)."""
    build_meetings_of_unknown_ask(engine, settings, meeting_asks=True)
    assert no_selling(engine, settings)["Ana"] == (dt.date(2026, 11, 16), 3)
