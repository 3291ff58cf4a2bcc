"""`activity` partitioned by month on PostgreSQL (store.partition): Paceline runs unchanged.

The same small organisation is written the same way into a plain and a partitioned database;
logging, importing (and re-importing), the API's retried write, an edit that moves a row to
another month and a delete must leave the same rows, and the scorecards, funnel and
diagnosis must read the same values. The hand counts come from `build_tracking_team`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from factories import build_tracking_team, postgres_engine
from paceline.analytics.aggregates import DayRange
from paceline.analytics.diagnose import diagnose_team
from paceline.analytics.funnel import funnel
from paceline.analytics.rollup import rebuild_days
from paceline.analytics.scorecard import team_scorecards
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.services import activities
from paceline.services.activities import OPERATOR, Entry, Writer
from paceline.store.models import Activity
from paceline.store.partition import (
    PARTITIONED,
    add_months,
    is_partitioned,
    partition_by_month,
    partitioned_tables,
)

AS_OF = dt.date(2026, 11, 18)
NOW = dt.datetime(2026, 11, 18, 20, 0)

HEADER = "external_id,rep,kind,occurred_at,outcome,has_ask,account\n"
FILE = (
    HEADER
    + "i1,Ana,call,2026-10-21T10:00:00,conversation,yes,Acme\n"
    + "i2,Ana,call,2026-11-16T10:00:00,conversation,yes,Acme\n"
    + "i3,Ben,meeting,2026-11-17T15:00:00,held,yes,Globex\n"
    + "i4,Dee,call,2026-09-30T09:00:00,conversation,yes,Initech\n"
)
# i1 moved from October to November; i4 unchanged; i2 and i3 left out.
CHANGED = (
    HEADER
    + "i1,Ana,call,2026-11-04T10:00:00,conversation,yes,Acme\n"
    + "i4,Dee,call,2026-09-30T09:00:00,conversation,yes,Initech\n"
)


@pytest.fixture
def plain(request: pytest.FixtureRequest) -> Iterator[Engine]:
    yield from postgres_engine(request)


@pytest.fixture
def parted(request: pytest.FixtureRequest) -> Iterator[Engine]:
    yield from postgres_engine(request)


def _import(engine: Engine, settings: Settings, folder: Path, name: str, body: str) -> ImportResult:
    path = folder / f"{name}.csv"
    path.write_text(body, encoding="utf-8")
    options = ImportOptions(errors_path=folder / f"{name}.errors.csv")
    return import_csv(engine, settings, path, "activities", options=options)


def _counts(result: ImportResult) -> tuple[int, int, int, int]:
    return result.inserted, result.updated, result.unchanged, result.rejected


def _scenario(engine: Engine, settings: Settings, folder: Path) -> dict[str, Any]:
    """Write the organisation as every face would; what each step answered."""
    folder.mkdir()
    seen: dict[str, Any] = {}
    writer = Writer.of(engine, settings, OPERATOR, NOW)
    call = Entry(
        rep="Ben",
        kind="call",
        occurred_at=dt.datetime(2026, 11, 18, 11),
        outcome="conversation",
        has_ask=True,
    )
    logged = activities.log_activity(engine, settings, call, now=NOW)
    seen["logged"] = logged.local_date
    seen["import"] = _counts(_import(engine, settings, folder, "first", FILE))
    seen["re-import"] = _counts(_import(engine, settings, folder, "again", FILE))
    seen["changed"] = _counts(_import(engine, settings, folder, "changed", CHANGED))
    retry = Entry(
        rep="Dee", kind="call", occurred_at=dt.datetime(2026, 11, 3, 9), external_id="api-1"
    )
    first, again = (activities.create(writer, retry) for _ in range(2))
    seen["api retry"] = (again.id == first.id, first.duplicate, again.duplicate)
    # A retry that dates the record in another month is the same record (its id is answered).
    other = activities.create(writer, replace(retry, occurred_at=dt.datetime(2026, 10, 20, 9)))
    seen["api retry, other month"] = (other.id == first.id, other.duplicate)
    # Ben's logged call moves to October: its row changes month.
    activities.edit(writer, logged.id, {"occurred_at": dt.datetime(2026, 10, 29, 11)})
    with engine.connect() as conn:
        oldest = conn.scalar(
            select(func.min(Activity.id)).where(Activity.kind == "internal_meeting")
        )
    assert oldest is not None
    activities.delete(writer, oldest)  # Max's internal meeting
    return seen


def _reads(engine: Engine, settings: Settings) -> dict[str, Any]:
    window = diagnosis_window(settings, "180d", AS_OF)
    return {
        "scorecards": team_scorecards(engine, settings, "month", AS_OF),
        "october": team_scorecards(engine, settings, "month", dt.date(2026, 10, 30)),
        "funnel": funnel(engine, settings, window, team="East"),
        "diagnosis": diagnose_team(engine, settings, window, "East"),
    }


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    columns = [c for c in Activity.__table__.columns if c.key not in ("created_at", "updated_at")]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*columns).order_by(Activity.id))]


def _partition_of(engine: Engine, external_id: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.scalar(
                text("SELECT tableoid::regclass::text FROM activity WHERE external_id = :e"),
                {"e": external_id},
            )
        )


def test_the_partitioned_schema_stores_and_reads_the_same(
    plain: Engine, parted: Engine, settings: Settings, tmp_path: Path
) -> None:
    for engine in (plain, parted):
        build_tracking_team(engine, settings)
    months = partition_by_month(parted, [dt.date(2026, 11, 1)])
    assert months == [dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    with parted.connect() as conn:
        assert is_partitioned(conn)
        # every table, not only the first: the list was read from an exhausted result
        assert partitioned_tables(conn) == list(PARTITIONED)

    seen = _scenario(plain, settings, tmp_path / "plain")
    assert _scenario(parted, settings, tmp_path / "parted") == seen
    assert seen == {
        "logged": dt.date(2026, 11, 18),
        "import": (4, 0, 0, 0),
        "re-import": (0, 0, 4, 0),
        "changed": (0, 1, 1, 0),
        "api retry": (True, False, True),
        "api retry, other month": (True, True),
    }
    assert _rows(parted) == _rows(plain)
    assert _reads(parted, settings) == _reads(plain, settings)

    # October's aggregates lost without a mark (as after a definition change): rebuilding
    # that month alone brings every read back.
    with parted.begin() as conn:
        for table in ("metric_day", "kind_day", "prospect_day"):
            month = "local_date >= '2026-10-01' AND local_date < '2026-11-01'"
            conn.execute(text(f"DELETE FROM {table} WHERE {month}"))
    assert _reads(parted, settings) != _reads(plain, settings)
    october = DayRange(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    analysed = _last_analyzed(parted)
    assert rebuild_days(parted, settings, october) > 0
    assert _reads(parted, settings) == _reads(plain, settings)
    # autovacuum never analyses a partitioned parent: the rebuild does (docs/scaling.md)
    after = _last_analyzed(parted)
    for table in ("metric_day", "kind_day", "prospect_day"):
        assert after[table] is not None
        assert analysed[table] is None or after[table] > analysed[table]

    # Each row is in its month: i1 moved to November with its re-import, i4 (September,
    # no partition made) is in the default one.
    assert _partition_of(parted, "i1") == "activity_2026_11"
    assert _partition_of(parted, "i3") == "activity_2026_11"
    assert _partition_of(parted, "i4") == "activity_default"
    assert _partition_of(parted, "api-1") == "activity_2026_11"
    with parted.connect() as conn:  # Ben's logged call, edited into October
        moved = "SELECT tableoid::regclass::text FROM activity WHERE local_date = '2026-10-29'"
        assert conn.scalars(text(moved)).all() == ["activity_2026_10"]

    # the months to come are made for the aggregates too, not only for `activity`
    add_months(parted, [dt.date(2027, 1, 1)])
    with parted.connect() as conn:
        made = conn.scalars(text("SELECT relname FROM pg_class WHERE relname LIKE '%\\_2027\\_01'"))
        assert sorted(made) == sorted(f"{table}_2027_01" for table in PARTITIONED)


def _last_analyzed(engine: Engine) -> dict[str, dt.datetime | None]:
    """When each day aggregate's partitioned parent was last analysed by hand."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, last_analyze FROM pg_stat_user_tables "
                "WHERE relname IN ('metric_day', 'kind_day', 'prospect_day')"
            )
        )
        return {name: at for name, at in rows}


def _actual(engine: Engine, settings: Settings, as_of: dt.date, rep: str, metric: str) -> float:
    (card,) = [c for c in team_scorecards(engine, settings, "month", as_of).reps if c.rep == rep]
    (line,) = [m for m in card.lines if m.metric == metric]
    assert line.pace.actual is not None
    return line.pace.actual


def test_hand_counts_on_the_partitioned_schema(parted: Engine, settings: Settings) -> None:
    """build_tracking_team's counts, read through the partitioned tables."""
    ids = build_tracking_team(parted, settings)
    partition_by_month(parted)
    assert _actual(parted, settings, AS_OF, "Ana", "conversations") == 14
    assert _actual(parted, settings, dt.date(2026, 10, 30), "Dee", "conversations") == 20
    with parted.connect() as conn:
        by_month = dict(
            conn.execute(
                text(
                    "SELECT tableoid::regclass::text, count(*) FROM activity WHERE rep_id = :r "
                    "GROUP BY 1"
                ),
                {"r": ids["Dee"]},
            ).all()
        )
    assert by_month == {"activity_2026_10": 20, "activity_2026_11": 14}


def test_a_source_record_stays_unique_across_months(parted: Engine, settings: Settings) -> None:
    """The database alone would accept a second row of the same record in another month;
    `activity_key` refuses it as the plain table's unique key did."""
    ids = build_tracking_team(parted, settings)
    partition_by_month(parted)

    def insert_on(day: dt.date) -> None:
        row = {
            "rep_id": ids["Ana"],
            "kind": "call",
            "occurred_at": dt.datetime.combine(day, dt.time(9)),
            "local_date": day,
            "source": "csv",
            "external_id": "x1",
            "has_ask": False,
            "engaged": False,
        }
        with parted.begin() as conn:
            conn.execute(insert(Activity), [row])

    insert_on(dt.date(2026, 10, 20))
    with pytest.raises(IntegrityError):
        insert_on(dt.date(2026, 11, 20))
    with parted.begin() as conn:
        conn.execute(delete(Activity).where(Activity.external_id == "x1"))
    insert_on(dt.date(2026, 11, 20))  # deleted, the record may come back in any month
    with parted.begin() as conn:  # an edit may move it back
        conn.execute(
            update(Activity)
            .where(Activity.external_id == "x1")
            .values(local_date=dt.date(2026, 10, 21))
        )
    assert _partition_of(parted, "x1") == "activity_2026_10"
    with parted.connect() as conn:
        assert conn.execute(text("SELECT source, external_id FROM activity_key")).all() == [
            ("csv", "x1")
        ]
