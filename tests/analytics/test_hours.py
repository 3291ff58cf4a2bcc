"""`hour_day`, when to sell's counts per rep, business day and UTC hour: hand-counted rows
on SQLite and PostgreSQL, kept current by the rollup's marks (an edit, a delete), rebuilt
alone when the zone changes (and not the other aggregates), and when-to-sell equal to its
raw read on all of it, dates without a time included.

New York (the default zone) is UTC-5 in November: local midnight is a whole UTC hour
(minute 0). In Kolkata (UTC+05:30) it falls at minute 30.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from factories import AS_OF, activity_row, build_calls_to_two_contacts, decision_maker_calls
from paceline.analytics import aggregates
from paceline.analytics.hours import FINGERPRINT_ROW, NOT_MIDNIGHT, candidate_minutes, covers
from paceline.analytics.rollup import RollupRefresh, ensure_rollup
from paceline.analytics.timing import when_to_sell
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store.migrate import downgrade, upgrade
from paceline.store.models import Activity, HourDay, MetricDay, RollupState

MON, TUE = dt.date(2026, 11, 2), dt.date(2026, 11, 3)


def at_utc(rep_id: int, moment: dt.datetime, day: dt.date, **fields: Any) -> dict[str, Any]:
    row = activity_row(rep_id, day, **fields)
    row["occurred_at"] = moment
    return row


def build(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ana: Monday 14:xx UTC (09:xx EST): 3 calls (1 connected, engaged), 1 email (an
    attempt, engaged), 1 admin task; Monday 05:00 UTC exactly (local midnight: a date
    without a time): 2 calls; Monday 05:00:30 UTC: 1 call (a time). Tuesday 03:30 UTC is
    still Monday 22:30 in New York: 1 email. Ben: Tuesday 15:10 UTC, 2 calls."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    ben = add_rep(engine, settings, "Ben", "sdr", team="East")
    h14 = dt.datetime(2026, 11, 2, 14, 7, 12, 500)
    rows = [
        at_utc(ana, h14, MON),
        at_utc(ana, h14, MON, outcome="voicemail"),
        at_utc(ana, h14, MON, outcome="conversation", engaged=True),
        at_utc(ana, h14, MON, kind="email", outcome=None, engaged=True),
        at_utc(ana, h14, MON, kind="admin", outcome=None, ask=False),
        *(at_utc(ana, dt.datetime(2026, 11, 2, 5, 0), MON) for _ in range(2)),
        at_utc(ana, dt.datetime(2026, 11, 2, 5, 0, 30), MON),
        at_utc(ana, dt.datetime(2026, 11, 3, 3, 30, 1), MON, kind="email", outcome=None),
        *(at_utc(ben, dt.datetime(2026, 11, 3, 15, 10, 2), TUE) for _ in range(2)),
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return {"Ana": ana, "Ben": ben}


def hour_rows(engine: Engine) -> dict[tuple[int, dt.date, dt.datetime, int], tuple[int, ...]]:
    with engine.connect() as conn:
        return {
            (r.rep_id, r.local_date, r.hour, r.minute): (
                r.activities,
                r.calls,
                r.conversations,
                r.attempts,
                r.engaged,
            )
            for r in conn.execute(select(HourDay))
        }


def expected(ids: dict[str, int]) -> dict[tuple[int, dt.date, dt.datetime, int], tuple[int, ...]]:
    """Counted by hand from `build`: (activities, calls, connected, attempts, engaged)."""
    ana, ben = ids["Ana"], ids["Ben"]
    h = dt.datetime
    return {
        (ana, MON, h(2026, 11, 2, 14), NOT_MIDNIGHT): (5, 3, 1, 4, 2),
        (ana, MON, h(2026, 11, 2, 5), 0): (2, 2, 0, 2, 0),  # at exactly 05:00:00
        (ana, MON, h(2026, 11, 2, 5), NOT_MIDNIGHT): (1, 1, 0, 1, 0),
        (ana, MON, h(2026, 11, 3, 3), NOT_MIDNIGHT): (1, 0, 0, 1, 0),
        (ben, TUE, h(2026, 11, 3, 15), NOT_MIDNIGHT): (2, 2, 0, 2, 0),
    }


def same_as_raw(engine: Engine, settings: Settings, **who: str) -> Any:
    window = diagnosis_window(settings, "30d", AS_OF)
    held = when_to_sell(engine, settings, window, **who)
    with aggregates.raw_reads():
        raw = when_to_sell(engine, settings, window, **who)
    assert held == raw
    return held


def in_kolkata(settings: Settings) -> Settings:
    data = settings.model_dump()
    data["calendar"]["timezone"] = "Asia/Kolkata"
    return Settings.model_validate(data)


def test_rows_are_the_hand_counts(engine: Engine, settings: Settings) -> None:
    ids = build(engine, settings)
    ensure_rollup(engine, settings)
    assert hour_rows(engine) == expected(ids)
    result = same_as_raw(engine, settings, team="East")
    assert result.untimed == 2 and result.calls == 6 and result.attempts == 8  # untimed apart
    same_as_raw(engine, settings, rep="Ana")


def test_marks_keep_the_rows_current(engine: Engine, settings: Settings) -> None:
    ids = build(engine, settings)
    ensure_rollup(engine, settings)
    with engine.begin() as conn:
        conn.execute(
            update(Activity)
            .where(Activity.rep_id == ids["Ben"])
            .values(outcome="conversation", engaged=True)
        )
        conn.execute(
            delete(Activity).where(
                Activity.rep_id == ids["Ana"], Activity.occurred_at == dt.datetime(2026, 11, 2, 5)
            )
        )
    refresh = ensure_rollup(engine, settings)
    assert refresh == RollupRefresh(rebuilt=False, rep_days=2)
    rows = expected(ids)
    del rows[ids["Ana"], MON, dt.datetime(2026, 11, 2, 5), 0]
    rows[ids["Ben"], TUE, dt.datetime(2026, 11, 3, 15), NOT_MIDNIGHT] = (2, 2, 2, 2, 2)
    assert hour_rows(engine) == rows
    assert same_as_raw(engine, settings, team="East").untimed == 0


def test_a_new_zone_rebuilds_this_table_alone(engine: Engine, settings: Settings) -> None:
    """In Kolkata local midnight is :30 past a UTC hour: a call at 18:30 UTC exactly (00:00
    IST) has no time, the 05:00:30 UTC call is timed (10:30 IST). The new zone also moves the
    stored activities (`store.day_zone`): Ana's two calls at New York's midnight, dates
    without a time, to Kolkata's midnight of their Monday (18:30 UTC on Sunday), and her
    email at 03:30 UTC on Tuesday (Monday evening in New York) to Tuesday: 3 rep-days
    marked, with Ben's new call."""
    ids = build(engine, settings)
    ana = ids["Ana"]
    ensure_rollup(engine, settings)
    kolkata = in_kolkata(settings)
    assert candidate_minutes(kolkata) == [30] and candidate_minutes(settings) == [0]
    midnight = dt.datetime(2026, 11, 2, 18, 30)
    with engine.begin() as conn:
        conn.execute(insert(Activity), [at_utc(ids["Ben"], midnight, dt.date(2026, 11, 3))])
    # A row no rebuild would write: it survives unless every aggregate is rebuilt.
    sentinel = {"metric": "calls", "local_date": dt.date(2020, 1, 6), "rep_id": ana, "value": 7.0}
    with engine.begin() as conn:
        conn.execute(insert(MetricDay), [sentinel])
    assert ensure_rollup(engine, kolkata) == RollupRefresh(
        rebuilt=False, rep_days=3, hours_rebuilt=True
    )
    rows = hour_rows(engine)
    assert rows[ana, MON, dt.datetime(2026, 11, 2, 5), NOT_MIDNIGHT] == (1, 1, 0, 1, 0)
    assert rows[ana, MON, dt.datetime(2026, 11, 1, 18), 30] == (2, 2, 0, 2, 0)
    assert rows[ana, TUE, dt.datetime(2026, 11, 3, 3), NOT_MIDNIGHT] == (1, 0, 0, 1, 0)
    assert rows[ids["Ben"], dt.date(2026, 11, 3), dt.datetime(2026, 11, 2, 18), 30] == (
        1,
        1,
        0,
        1,
        0,
    )
    assert not [key for key in rows if key[3] == 0]
    assert same_as_raw(engine, kolkata, team="East").untimed == 3
    with engine.connect() as conn:  # the other aggregates were not rebuilt
        kept = select(MetricDay.value).where(MetricDay.local_date == dt.date(2020, 1, 6))
        assert conn.scalar(kept) == 7.0
    assert ensure_rollup(engine, kolkata) == RollupRefresh(rebuilt=False, rep_days=0)


def test_a_window_whose_midnight_is_not_kept_apart_reads_raw(settings: Settings) -> None:
    assert covers(settings, [0])
    assert not covers(settings, [0, 30])


def test_the_upgrade_fills_the_table_without_a_rebuild(engine: Engine, settings: Settings) -> None:
    """At 0017 there is no `hour_day`; after the upgrade the first refresh fills it from the
    activities and leaves the rollup as it was (no full rebuild)."""
    ids = build(engine, settings)
    ensure_rollup(engine, settings)
    downgrade(engine, "0017")
    engine.dispose()
    upgrade(engine)
    engine.dispose()
    assert hour_rows(engine) == {}
    assert ensure_rollup(engine, settings) == RollupRefresh(
        rebuilt=False, rep_days=0, hours_rebuilt=True
    )
    assert hour_rows(engine) == expected(ids)


def test_rows_built_without_the_contact_join_are_rebuilt(
    engine: Engine, settings: Settings
) -> None:
    """Rows an older version built for a calls metric filtered on the contact counted every
    activity once per contact (here: 2 contacts, so 12 activities, 6 calls, 3 connects). The
    fingerprint such a version stored (the same parts, without `contacts_joined`) no longer
    matches, so the table is rebuilt: 6 activities, 3 calls to Dee, 1 connected."""
    custom = decision_maker_calls(settings)
    build_calls_to_two_contacts(engine, custom)
    ensure_rollup(engine, custom)
    old = {
        "calls": custom.metric("calls").model_dump(
            mode="json", exclude={"label", "higher_is_better", "min_denominator"}
        ),
        "connected": sorted(custom.connected_outcomes),
        "selling_kinds": sorted(custom.selling_kinds),
        "minutes": candidate_minutes(custom),
    }
    old_print = hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()
    with engine.begin() as conn:
        conn.execute(
            update(HourDay).values(
                activities=HourDay.activities * 2,
                calls=HourDay.activities * 2,
                conversations=3,
            )
        )
        conn.execute(
            update(RollupState)
            .where(RollupState.id == FINGERPRINT_ROW)
            .values(fingerprint=old_print)
        )
    ensure_rollup(engine, custom)
    with engine.connect() as conn:
        sums = conn.execute(
            select(
                func.sum(HourDay.activities),
                func.sum(HourDay.calls),
                func.sum(HourDay.conversations),
            )
        ).one()
    assert tuple(sums) == (6, 3, 1)
