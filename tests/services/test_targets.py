"""Targets: stored per rep, metric and period; read for any period, prorated by business days.

Business days are counted by hand under the default calendar (Monday to Friday, New York,
holidays 2026-01-01, 01-19, 05-25, 07-03, 09-07, 11-26, 11-27, 12-25, 2027-01-01, 01-18...):
- 2026: 261 weekdays (365 days from a Thursday) minus 8 weekday holidays = 253;
- September 2026: 22 weekdays minus Labor Day = 21; October: 22; November: 21 weekdays minus
  Thanksgiving and the day after = 19; December: 23 minus Christmas = 22; so Q4 = 63;
- January 2027: 21 weekdays minus 1 and 18 January = 19;
- the week of Mon 23 Nov 2026: 23, 24, 25 = 3; the week of Mon 30 Nov: 30 Nov, then 1-4 Dec.
Every storage test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text

from factories import migrated_sqlite_copy
from paceline.analytics.targets import period_targets
from paceline.calendar import BusinessCalendar, Period, PeriodKind
from paceline.config import CalendarSettings, Settings
from paceline.errors import InputError, UserInputError
from paceline.services.reps import add_rep
from paceline.services.targets import SetTarget, TargetRow, save_targets, set_target
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Rep, Target

D = dt.date


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of each kind for the module (a schema on PostgreSQL): building one
    per test costs far more than these tests do."""
    if request.param == "sqlite":
        engine = migrated_sqlite_copy(tmp_path_factory, tmp_path_factory.mktemp("db"))
        yield engine
        engine.dispose()
        return
    database_url = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    upgrade(engine)
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def engine(database: Engine) -> Engine:
    """The module's database, without targets or reps."""
    with database.begin() as conn:
        conn.execute(delete(Target))
        conn.execute(delete(Rep))
    return database


@pytest.fixture
def reps(engine: Engine, settings: Settings) -> dict[str, int]:
    return {
        "ana": add_rep(engine, settings, "Ana Ruiz", "ae"),
        "ben": add_rep(engine, settings, "Ben Okafor", "sdr"),
    }


def store(engine: Engine, *rows: TargetRow) -> None:
    with engine.begin() as conn:
        save_targets(conn, rows)


def read(
    engine: Engine,
    settings: Settings,
    kind: PeriodKind,
    day: dt.date,
    metrics: tuple[str, ...] = ("calls",),
    rep_ids: list[int] | None = None,
    calendar: BusinessCalendar | None = None,
) -> dict[tuple[int, str], float]:
    calendar = calendar or BusinessCalendar(settings.calendar)
    with engine.connect() as conn:
        return period_targets(conn, calendar, calendar.period(kind, day), metrics, rep_ids)


def row(
    rep_id: int, kind: PeriodKind, start: dt.date, value: float, metric: str = "calls"
) -> TargetRow:
    return TargetRow(rep_id, metric, kind, start, value)


def test_calendar_agrees_with_the_hand_counts(settings: Settings) -> None:
    calendar = BusinessCalendar(settings.calendar)
    assert calendar.business_days(D(2026, 1, 1), D(2027, 1, 1)) == 253
    assert calendar.business_days(D(2026, 11, 1), D(2026, 12, 1)) == 19
    assert calendar.business_days(D(2026, 12, 1), D(2027, 1, 1)) == 22
    assert calendar.business_days(D(2026, 10, 1), D(2027, 1, 1)) == 63
    assert calendar.business_days(D(2026, 11, 23), D(2026, 11, 30)) == 3


def test_exact_period(engine: Engine, settings: Settings, reps: dict[str, int]) -> None:
    store(engine, row(reps["ana"], "month", D(2026, 11, 1), 190))
    assert read(engine, settings, "month", D(2026, 11, 17)) == {(reps["ana"], "calls"): 190}
    # Another month has no target, and neither has a longer period read from a month.
    assert read(engine, settings, "month", D(2026, 10, 5)) == {}
    assert read(engine, settings, "quarter", D(2026, 11, 17)) == {}


def test_year_prorated_to_months_weeks_and_quarters(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    store(engine, row(reps["ana"], "year", D(2026, 1, 1), 2530))  # 10 per business day
    key = (reps["ana"], "calls")
    assert read(engine, settings, "month", D(2026, 11, 17)) == {key: pytest.approx(190)}
    assert read(engine, settings, "month", D(2026, 12, 1)) == {key: pytest.approx(220)}
    assert read(engine, settings, "quarter", D(2026, 11, 17)) == {key: pytest.approx(630)}
    assert read(engine, settings, "week", D(2026, 11, 25)) == {key: pytest.approx(30)}
    assert read(engine, settings, "year", D(2026, 6, 1)) == {key: 2530}
    # The week of 28 Dec 2026 runs into 2027, which has no yearly target; but its 2027 days
    # (1 Jan, a holiday, and a weekend) are not business days, so 2026 covers it: 4 days.
    assert read(engine, settings, "week", D(2026, 12, 28)) == {key: pytest.approx(40)}
    assert read(engine, settings, "week", D(2027, 1, 4)) == {}


def test_shortest_covering_kind_wins(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    ana = reps["ana"]
    store(
        engine,
        row(ana, "year", D(2026, 1, 1), 5060),  # 20 per business day
        row(ana, "quarter", D(2026, 10, 1), 630),  # 10 per business day in Q4
    )
    assert read(engine, settings, "month", D(2026, 11, 2)) == {(ana, "calls"): pytest.approx(190)}
    # September is outside the quarter: the year applies (21 business days).
    assert read(engine, settings, "month", D(2026, 9, 2)) == {(ana, "calls"): pytest.approx(420)}


def test_shorter_periods_make_up_a_longer_one(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    ana, ben = reps["ana"], reps["ben"]
    months = [(D(2026, 10, 1), 220), (D(2026, 11, 1), 190), (D(2026, 12, 1), 220)]
    store(
        engine,
        *(row(ana, "month", start, value) for start, value in months),
        *(row(ben, "month", start, value) for start, value in months[:2]),
        row(ana, "year", D(2026, 1, 1), 5060),
        row(ben, "year", D(2026, 1, 1), 5060),  # 20 per business day
    )
    # Ana's three months make her quarter, ahead of her year; Ben lacks December, so his
    # quarter is his year's share, 5060 * 63/253.
    assert read(engine, settings, "quarter", D(2026, 11, 1)) == {
        (ana, "calls"): pytest.approx(630),
        (ben, "calls"): pytest.approx(1260),
    }
    # Weeks make up a month: the weeks of 2, 9 and 16 Nov (50 each), 23 Nov (30: three
    # business days), and 30 Nov, of which one business day of five is in November.
    store(
        engine,
        *(row(ana, "week", D(2026, 11, d), 50, metric="proposals") for d in (2, 9, 16, 30)),
        row(ana, "week", D(2026, 11, 23), 30, metric="proposals"),
    )
    november = read(engine, settings, "month", D(2026, 11, 1), ("proposals",))
    assert november == {(ana, "proposals"): pytest.approx(190)}


def test_week_across_two_months(engine: Engine, settings: Settings, reps: dict[str, int]) -> None:
    ana = reps["ana"]
    store(
        engine,
        row(ana, "month", D(2026, 11, 1), 380),  # 20 per business day
        row(ana, "month", D(2026, 12, 1), 440),  # 20 per business day
        row(ana, "year", D(2026, 1, 1), 2530),  # 10 per business day
    )
    # 30 Nov: 380 * 1/19 = 20; 1-4 Dec: 440 * 4/22 = 80.
    assert read(engine, settings, "week", D(2026, 12, 2)) == {(ana, "calls"): pytest.approx(100)}


def test_gap_falls_back_to_longer_kind_or_to_no_target(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    ana, ben = reps["ana"], reps["ben"]
    store(
        engine,
        row(ana, "month", D(2026, 11, 1), 380),
        row(ben, "month", D(2026, 11, 1), 380),
        row(ben, "year", D(2026, 1, 1), 2530),
    )
    # December has no month target: Ana has nothing for the week of 30 Nov; Ben's comes
    # from his year, 2530 * 5/253.
    week = read(engine, settings, "week", D(2026, 11, 30))
    assert week == {(ben, "calls"): pytest.approx(50)}
    # The week of 23 Nov lies inside November: 380 * 3/19 for both.
    inside = read(engine, settings, "week", D(2026, 11, 23))
    assert inside == {(ana, "calls"): pytest.approx(60), (ben, "calls"): pytest.approx(60)}


def test_exact_period_overrides_prorated(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    ana = reps["ana"]
    store(
        engine,
        row(ana, "year", D(2026, 1, 1), 2530),
        row(ana, "month", D(2026, 11, 1), 999),
        row(ana, "week", D(2026, 11, 23), 2.7),
        row(ana, "month", D(2026, 9, 1), 12.6),
    )
    assert read(engine, settings, "month", D(2026, 11, 10)) == {(ana, "calls"): 999}
    assert read(engine, settings, "month", D(2026, 10, 10)) == {(ana, "calls"): pytest.approx(220)}
    # November's own target is prorated to its weeks, not the year's: 999 * 5/19.
    assert read(engine, settings, "week", D(2026, 11, 2)) == {
        (ana, "calls"): pytest.approx(999 * 5 / 19)
    }
    # An exact target is returned as stored, not as value * days / days (2.7 * 3 / 3 and
    # 12.6 * 21 / 21 are not 2.7 and 12.6 in floating point).
    assert read(engine, settings, "week", D(2026, 11, 23)) == {(ana, "calls"): 2.7}
    assert read(engine, settings, "month", D(2026, 9, 15)) == {(ana, "calls"): 12.6}


def test_exact_target_of_a_period_without_business_days(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    # A company closed between Christmas and New Year: the week of 28 Dec 2026 has no
    # business day, but a target set for exactly that week is still that week's target.
    closed = settings.calendar.model_copy(
        update={"holidays": [*settings.calendar.holidays, *(D(2026, 12, d) for d in range(28, 32))]}
    )
    calendar = BusinessCalendar(CalendarSettings.model_validate(closed.model_dump()))
    assert calendar.business_days(D(2026, 12, 28), D(2027, 1, 4)) == 0
    ana = reps["ana"]
    store(engine, row(ana, "week", D(2026, 12, 28), 4))
    assert read(engine, settings, "week", D(2026, 12, 30), calendar=calendar) == {(ana, "calls"): 4}


def test_fiscal_year_prorated_across_calendar_years(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    # Fiscal year from February: Feb 2026 - Jan 2027 has 2026's 253 business days minus
    # January 2026's 20 (22 weekdays, 1 and 19 Jan) plus January 2027's 19 = 252.
    fiscal = CalendarSettings.model_validate(
        {**settings.calendar.model_dump(), "fiscal_year_start_month": 2}
    )
    calendar = BusinessCalendar(fiscal)
    ana = reps["ana"]
    store(engine, row(ana, "year", D(2026, 2, 1), 2520))  # 10 per business day
    january = read(engine, settings, "month", D(2027, 1, 20), calendar=calendar)
    assert january == {(ana, "calls"): pytest.approx(190)}
    # January 2026 belongs to the previous fiscal year, which has no target.
    assert read(engine, settings, "month", D(2026, 1, 20), calendar=calendar) == {}


def test_reps_and_metrics_are_kept_apart(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    ana, ben = reps["ana"], reps["ben"]
    store(
        engine,
        row(ana, "month", D(2026, 11, 1), 190),
        row(ana, "month", D(2026, 11, 1), 12, metric="proposals"),
        row(ben, "quarter", D(2026, 10, 1), 63, metric="meetings_set"),
    )
    both = read(engine, settings, "month", D(2026, 11, 1), ("calls", "proposals", "meetings_set"))
    assert both == {
        (ana, "calls"): 190,
        (ana, "proposals"): 12,
        (ben, "meetings_set"): pytest.approx(19),
    }
    only_ben = read(engine, settings, "month", D(2026, 11, 1), ("calls", "meetings_set"), [ben])
    assert only_ben == {(ben, "meetings_set"): pytest.approx(19)}
    assert read(engine, settings, "month", D(2026, 11, 1), ()) == {}


def test_save_targets_replaces_the_same_period(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    ana = reps["ana"]
    with engine.begin() as conn:
        assert save_targets(conn, [row(ana, "month", D(2026, 11, 1), 190)]) == 1
        assert save_targets(conn, []) == 0
        assert (
            save_targets(conn, [TargetRow(ana, "calls", "month", D(2026, 11, 1), 150, "plan")]) == 1
        )
    with engine.connect() as conn:
        stored = conn.execute(select(Target.value, Target.origin)).all()
    assert [tuple(r) for r in stored] == [(150.0, "plan")]


def count_targets(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Target)) or 0)


def test_set_target_stores_the_containing_period(
    engine: Engine, settings: Settings, reps: dict[str, int]
) -> None:
    done = set_target(engine, settings, "ana  ruiz", "calls", "month", D(2026, 11, 17), 190)
    november = Period("month", D(2026, 11, 1), D(2026, 12, 1))
    # the stored name, as every face shows it (the API did; the CLI echoed what was typed)
    assert done == SetTarget(rep="Ana Ruiz", metric="calls", period=november, value=190)
    # A week set from a Wednesday starts on its Monday; setting it again replaces it.
    set_target(engine, settings, "Ana Ruiz", "proposals", "week", D(2026, 11, 25), 3)
    set_target(engine, settings, "Ana Ruiz", "proposals", "week", D(2026, 11, 27), 4)
    with engine.connect() as conn:
        stored = conn.execute(
            select(Target.rep_id, Target.metric, Target.period_kind, Target.period_start,
                   Target.value, Target.origin).order_by(Target.metric)
        ).all()  # fmt: skip
    assert [tuple(r) for r in stored] == [
        (reps["ana"], "calls", "month", D(2026, 11, 1), 190.0, "manual"),
        (reps["ana"], "proposals", "week", D(2026, 11, 23), 4.0, "manual"),
    ]
    assert read(engine, settings, "month", D(2026, 11, 3)) == {(reps["ana"], "calls"): 190}


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"metric": "cals"}, UserInputError, "metric: unknown metric 'cals'"),
        ({"metric": "connect_rate"}, UserInputError, "is a ratio"),
        ({"value": -1.0}, UserInputError, "cannot be negative"),
        ({"value": float("nan")}, UserInputError, "value"),
        ({"value": float("inf")}, UserInputError, "value"),
        ({"period_kind": "day"}, UserInputError, "targets are set per week, month, quarter, year"),
        ({"rep": "Ana Ruis"}, InputError, "no rep named 'Ana Ruis'; did you mean 'Ana Ruiz'?"),
        ({"rep": "Zed"}, InputError, "no rep named 'Zed' (add one"),
    ],
)
def test_set_target_refuses_bad_input(
    engine: Engine,
    settings: Settings,
    reps: dict[str, int],
    arguments: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    call: dict[str, Any] = {
        "rep": "Ana Ruiz",
        "metric": "calls",
        "period_kind": "month",
        "day": D(2026, 11, 17),
        "value": 190.0,
        **arguments,
    }
    with pytest.raises(error) as caught:
        set_target(engine, settings, **call)
    assert message in str(caught.value)
    assert count_targets(engine) == 0
