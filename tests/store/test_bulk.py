"""Driver-level bulk inserts store exactly what SQLAlchemy's own inserts store."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.exc import IntegrityError

from factories import recorded_statements
from paceline.store.bulk import (
    ROWS_PER_STATEMENT,
    Staged,
    check_references,
    check_table_references,
    insert_columns,
    insert_rows,
    validate_references,
)
from paceline.store.engine import write_transaction_unchecked
from paceline.store.models import Account, Activity, Rep

COLUMNS = (
    "rep_id",
    "kind",
    "occurred_at",
    "local_date",
    "duration_min",
    "has_ask",
    "engaged",
    "source",
    "external_id",
    "created_at",
    "updated_at",
)


def _row(external_id: str, moment: dt.datetime) -> tuple[object, ...]:
    return (1, "call", moment, moment.date(), 2.5, True, False, "bulk", external_id, moment, moment)


def test_bulk_rows_match_orm_rows(engine: Engine) -> None:
    moments = [dt.datetime(2026, 11, 20, 15, 0), dt.datetime(2026, 11, 20, 15, 0, 0, 123456)]
    with engine.begin() as conn:
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
        conn.execute(
            insert(Activity),
            [dict(zip(COLUMNS, _row(f"core{i}", m), strict=True)) for i, m in enumerate(moments)],
        )
        insert_rows(
            conn,
            Activity.__table__,
            COLUMNS,  # type: ignore[arg-type]
            [_row(f"bulk{i}", m) for i, m in enumerate(moments)],
        )
    with engine.connect() as conn:
        raw = {
            r[0]: tuple(r[1:])
            for r in conn.execute(
                text(
                    "SELECT external_id, occurred_at, local_date, has_ask, engaged, "
                    "duration_min FROM activity"
                )
            )
        }
        typed = conn.execute(
            select(Activity.external_id, Activity.occurred_at, Activity.local_date)
            .where(Activity.occurred_at >= moments[1])
            .order_by(Activity.external_id)
        ).all()
    for i in range(len(moments)):
        assert raw[f"bulk{i}"] == raw[f"core{i}"]  # byte-identical storage on both dialects
    assert [r.external_id for r in typed] == ["bulk1", "core1"]  # comparisons agree
    assert typed[0].occurred_at == moments[1] and typed[0].local_date == moments[1].date()


def test_column_inserts_store_what_row_inserts_store(engine: Engine) -> None:
    """The same values given by column (`insert_columns`) and by row (`insert_rows`) are
    stored byte for byte alike: a timestamp with and without microseconds, a numpy boolean,
    None in nullable columns, a float, an account given or not."""
    import numpy as np

    moments = [dt.datetime(2026, 11, 20, 15, 0), dt.datetime(2026, 11, 20, 15, 0, 0, 7)]
    columns = (*COLUMNS, "account_id", "outcome", "notes")

    def row(prefix: str, i: int) -> tuple[object, ...]:
        extra = (None, None, None) if i else (1, "meeting_set", 'said "no", then yes')
        return (
            *_row(f"{prefix}{i}", moments[i])[:5],
            np.bool_(i),  # has_ask
            *_row(f"{prefix}{i}", moments[i])[6:],
            *extra,
        )

    with engine.begin() as conn:
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
        conn.execute(insert(Account).values(id=1, name="Acme", name_key="acme", source="test"))
    with engine.begin() as conn:
        insert_rows(conn, Activity.__table__, columns, [row("r", i) for i in range(2)])
        by_row = [row("c", i) for i in range(2)]
        insert_columns(conn, Activity.__table__, columns, list(zip(*by_row, strict=True)))
    with engine.connect() as conn:
        names = ", ".join(c for c in columns if c != "external_id")
        stored = {
            r[0]: tuple(r[1:])
            for r in conn.execute(text(f"SELECT external_id, {names} FROM activity"))
        }
    assert sorted(stored) == ["c0", "c1", "r0", "r1"]
    assert stored["c0"] == stored["r0"] and stored["c1"] == stored["r1"]
    assert stored["c0"] != stored["c1"]  # the two rows differ: the comparison can fail


def test_a_column_insert_refused_by_the_database_is_sqlalchemys_error(engine: Engine) -> None:
    """Rep 7 does not exist (planted): the driver's refusal comes out as IntegrityError,
    as from every other statement, and nothing of the insert is left."""
    moment = dt.datetime(2026, 11, 20, 15, 0)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        values = list(zip((7, *_row("x", moment)[1:]), strict=True))
        insert_columns(conn, Activity.__table__, COLUMNS, values)  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 0


def test_rows_inserted_several_a_statement_go_in_in_the_order_given(engine: Engine) -> None:
    """Two whole statements of rows and 3 rows left over (SQLite puts several rows in one
    INSERT): all 113 stored, their ids in the order given, each with its own values."""
    moment = dt.datetime(2026, 11, 20, 15, 0)
    count = 2 * ROWS_PER_STATEMENT + 3
    names = [f"x{(i * 37) % count:03d}" for i in range(count)]  # not in sorted order
    with engine.begin() as conn:
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
        rows = [
            (*_row(name, moment)[:4], float(i), *_row(name, moment)[5:])
            for i, name in enumerate(names)
        ]
        insert_columns(conn, Activity.__table__, COLUMNS, list(zip(*rows, strict=True)))  # type: ignore[arg-type]
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT external_id, duration_min FROM activity ORDER BY id")
        ).all()
    assert [tuple(r) for r in stored] == [(name, float(i)) for i, name in enumerate(names)]


def test_a_row_refused_inside_a_statement_of_many_refuses_the_insert(engine: Engine) -> None:
    """Row 60 of 120 names rep 7, which does not exist (planted): the insert raises
    IntegrityError and, rolled back, leaves none of the 120."""
    moment = dt.datetime(2026, 11, 20, 15, 0)
    with engine.begin() as conn:
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
    rows = [(7 if i == 60 else 1, *_row(f"x{i}", moment)[1:]) for i in range(120)]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_columns(conn, Activity.__table__, COLUMNS, list(zip(*rows, strict=True)))  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 0


def test_a_set_check_on_sqlite_refuses_a_missing_reference_by_column_and_value(
    sqlite_engine: Engine,
) -> None:
    """Reps 1 and 2 and account 5 exist; rep 3 and account 9 do not (planted). The check
    names the first missing value of a column, and passes when every value is there."""
    with sqlite_engine.begin() as conn:
        conn.execute(
            insert(Rep),
            [{"id": i, "name": f"Rep {i}", "role": "ae", "source": "test"} for i in (1, 2)],
        )
        conn.execute(insert(Account).values(id=5, name="Acme", name_key="acme", source="test"))
    table = Activity.__table__
    with sqlite_engine.begin() as conn:
        check_references(conn, table, {"rep_id": {1, 2}, "account_id": {5}, "deal_id": set()})
        with pytest.raises(
            IntegrityError, match=r"activity.rep_id = 3 is not present in table rep"
        ):
            check_references(conn, table, {"rep_id": {2, 3, 1}})
        with pytest.raises(IntegrityError, match=r"activity.account_id = 9 is not present"):
            check_references(conn, table, {"rep_id": {1}, "account_id": {9, 5}})


def test_a_whole_table_check_finds_a_row_written_without_its_reference(
    sqlite_engine: Engine,
) -> None:
    """A rep naming team 99 (no such team), written with the row checks off, is found by the
    check of the rep table; the account table, whose rows are sound, passes."""
    with write_transaction_unchecked(sqlite_engine) as conn:
        conn.execute(insert(Account).values(id=5, name="Acme", name_key="acme", source="test"))
        check_table_references(conn, [Rep.__table__, Account.__table__])
        conn.execute(
            insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test", team_id=99)
        )
        with pytest.raises(IntegrityError, match="rep row 1 names a missing row of table team"):
            check_table_references(conn, [Account.__table__, Rep.__table__])


def test_bulk_insert_joins_the_callers_transaction(engine: Engine) -> None:
    moment = dt.datetime(2026, 11, 20, 15, 0)
    with engine.begin() as conn:
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
    try:
        with engine.begin() as conn:
            insert_rows(conn, Activity.__table__, COLUMNS, [_row("x", moment)])  # type: ignore[arg-type]
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 0


def test_conversions_per_distinct_value_match_the_converters() -> None:
    """SQLite's values, computed once per distinct value in C calls, are the converters'
    own, None left as None."""
    import numpy as np

    from paceline.store.bulk import _converted, _sqlite_bool, _sqlite_date, _sqlite_datetime

    moments = [dt.datetime(2026, 11, 20, 15, 0), None, dt.datetime(2026, 11, 20, 15, 0, 0, 7)]
    columns = {
        _sqlite_datetime: [*moments, moments[0]],
        _sqlite_date: [dt.date(2026, 1, 2), None, dt.date(2026, 1, 2)],
        _sqlite_bool: [True, False, None, np.bool_(True)],
    }
    for convert, column in columns.items():
        converted = _converted(convert, column)
        assert [converted[v] for v in column] == [convert(v) for v in column]  # type: ignore[arg-type]
    assert _converted(_sqlite_datetime, moments)[moments[2]] == "2026-11-20 15:00:00.000007"


def test_naive_moments_are_written_as_sqlalchemy_writes_them() -> None:
    """The text of a naive moment put together from its day's and its time's (hand-written
    here, as SQLAlchemy's SQLite DateTime stores them): microseconds always six digits."""
    from paceline.store.bulk import _naive_datetime_texts

    moments = [
        dt.datetime(2026, 11, 20, 15, 0),
        dt.datetime(2026, 11, 20, 15, 0, 0, 7),
        dt.datetime(2026, 11, 21, 0, 0),
        dt.datetime(1999, 1, 2, 3, 4, 5, 600000),
        dt.datetime(2026, 11, 20, 15, 0),  # the same moment again
    ]
    assert list(_naive_datetime_texts(moments)) == [
        "2026-11-20 15:00:00.000000",
        "2026-11-20 15:00:00.000007",
        "2026-11-21 00:00:00.000000",
        "1999-01-02 03:04:05.600000",
        "2026-11-20 15:00:00.000000",
    ]


def test_a_moment_with_a_zone_keeps_its_offset_in_a_column_conversion() -> None:
    """A column holding a moment with a zone is converted moment by moment, as the converter
    writes it (its offset included), not from the naive day and time."""
    from paceline.store.bulk import _converted, _sqlite_datetime

    aware = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    naive = dt.datetime(2026, 11, 20, 15, 0)
    converted = _converted(_sqlite_datetime, [naive, aware])
    assert converted[aware] == "2026-11-20 15:00:00.000000+02:00"
    assert converted[naive] == "2026-11-20 15:00:00.000000"


SAME_MOMENT = dt.datetime(2026, 11, 21, 8, 30, 0, 5)
# The columns an import's every row shares: its source, run and moment.
SAME = {"source": "shared", "created_at": SAME_MOMENT, "updated_at": SAME_MOMENT}


def _varying_and_same(count: int) -> tuple[tuple[str, ...], list[list[object]]]:
    """`count` rows of COLUMNS without the columns of SAME, by column (rep 1, own ids,
    durations 0, 1, 2...)."""
    names = tuple(c for c in COLUMNS if c not in SAME)
    moment = dt.datetime(2026, 11, 20, 15, 0)
    rows = [
        tuple(v for c, v in zip(COLUMNS, _row(f"s{i:03d}", moment), strict=True) if c not in SAME)
        for i in range(count)
    ]
    by_column = [list(column) for column in zip(*rows, strict=True)]
    by_column[names.index("duration_min")] = [float(i) for i in range(count)]
    return names, by_column


def test_values_the_same_in_every_row_are_stored_in_every_row(engine: Engine) -> None:
    """Two whole statements and 3 rows left over, with a source and two moments given once
    (`same`): every row stores them, in the order given, each with its own duration; the
    rows stored are those of an insert given every value in every row."""
    count = 2 * ROWS_PER_STATEMENT + 3
    names, values = _varying_and_same(count)
    with engine.begin() as conn:
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
        insert_columns(conn, Activity.__table__, names, values, same=SAME)
        every = [*values, *([v] * count for v in SAME.values())]
        every[names.index("external_id")] = [f"e{i:03d}" for i in range(count)]
        insert_columns(conn, Activity.__table__, [*names, *SAME], every)
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                Activity.external_id,
                Activity.duration_min,
                Activity.source,
                Activity.created_at,
                Activity.updated_at,
            ).order_by(Activity.id)
        ).all()
        raw = conn.execute(
            text(
                "SELECT substr(external_id, 2), occurred_at, local_date, has_ask, source, "
                "created_at, updated_at FROM activity ORDER BY id"
            )
        ).all()
    shared = [r for r in stored if r.external_id.startswith("s")]
    assert [(r.external_id, r.duration_min) for r in shared] == [
        (f"s{i:03d}", float(i)) for i in range(count)
    ]
    assert {(r.source, r.created_at, r.updated_at) for r in stored} == {
        ("shared", SAME_MOMENT, SAME_MOMENT)
    }
    assert [tuple(r) for r in raw[:count]] == [tuple(r) for r in raw[count:]]


def test_values_the_same_in_every_row_fit_a_lower_parameter_limit(sqlite_engine: Engine) -> None:
    """A SQLite built with a limit of 100 parameters a statement: the rows of a statement
    and the shared values still fit in it (8 varying columns and 3 shared: 12 rows a
    statement), and all 60 rows are stored with their own ids."""
    names, values = _varying_and_same(60)
    with sqlite_engine.begin() as conn:
        driver: Any = conn.connection.driver_connection
        driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100)
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
        insert_columns(conn, Activity.__table__, names, values, same=SAME)
    with sqlite_engine.connect() as conn:
        stored = conn.execute(text("SELECT external_id, source FROM activity ORDER BY id")).all()
    assert [tuple(r) for r in stored] == [(f"s{i:03d}", "shared") for i in range(60)]


def _fk_state(engine: Engine) -> dict[str, bool]:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT conname, convalidated FROM pg_constraint "
                "WHERE conrelid = 'activity'::regclass AND contype = 'f'"
            )
        )
        return {name: bool(valid) for name, valid in found}


def _staged_pair(conn: Connection) -> Staged:
    moment = dt.datetime(2026, 11, 20, 15, 0)
    conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
    return Staged(conn, Activity.__table__, COLUMNS, [_row("a", moment), _row("b", moment)])


def test_a_set_check_refuses_a_missing_reference_by_column_and_value(pg_engine: Engine) -> None:
    """Rep 1 exists, rep 7 does not (planted): the set check names rep_id = 7 and inserts
    nothing; the rolled-back transaction leaves every constraint as it was."""
    before = _fk_state(pg_engine)
    missing = r"activity\.rep_id = 7 is not present in table rep"
    with pytest.raises(IntegrityError, match=missing), pg_engine.begin() as conn:
        staged = _staged_pair(conn)
        staged.insert_checked(None, ["external_id"], {"rep_id": {1, 7}})
    assert _fk_state(pg_engine) == before
    assert all(before.values())
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 0


def test_a_set_check_inserts_and_leaves_the_constraint_not_valid(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        staged = _staged_pair(conn)
        assert staged.insert_checked(None, ["external_id"], {"rep_id": {1}}) == 2
    state = _fk_state(pg_engine)
    assert not state.pop("fk_activity_rep_id_rep") and all(state.values())
    with pg_engine.begin() as conn:  # still enforced for every later write
        with pytest.raises(IntegrityError, match="fk_activity_rep_id_rep"), conn.begin_nested():
            insert_rows(
                conn,
                Activity.__table__,
                COLUMNS,
                [(7, *_row("c", dt.datetime(2026, 11, 20))[1:])],
            )
        assert validate_references(conn, Activity.__table__) == ("fk_activity_rep_id_rep",)
    assert all(_fk_state(pg_engine).values())


def test_a_set_check_steps_aside_when_a_table_is_in_use(pg_engine: Engine) -> None:
    """Another session reads `rep` in an open transaction: the check takes no lock, does
    nothing and says so (None), leaving the batch to the row-by-row insert."""
    with pg_engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM rep")).scalar()  # holds its lock till rollback
        with pg_engine.begin() as conn:
            staged = _staged_pair(conn)
            assert staged.insert_checked(None, ["external_id"], {"rep_id": {1}}) is None
            assert staged.insert(None, ["external_id"]) == 2
        reader.rollback()
    assert all(_fk_state(pg_engine).values())


AWKWARD_KEYS = ['say "hi"', "back\\slash", "a,b", "{braces}", "Café ☕", "", "NULL", "x" * 200]


def test_keys_sent_as_one_parameter_arrive_whatever_their_characters(engine: Engine) -> None:
    """The keys of `insert_new_keys` and `rows_where_in` go to the server as one JSON text:
    quotes, backslashes, commas, braces, accents, an empty key and the word NULL arrive as
    written, and only the new ones are reported new."""
    from paceline.store.bulk import insert_new_keys, rows_where_in
    from paceline.store.migrate import upgrade
    from paceline.store.models import Account, ImportSeen
    from paceline.store.runs import start_run

    upgrade(engine)
    with engine.begin() as conn:
        run_id = start_run(conn, "activities", "csv", "a.csv")
        seen = ImportSeen.__table__
        first = insert_new_keys(conn, seen, ("run_id", run_id), "external_id", AWKWARD_KEYS[:4])
        again = insert_new_keys(conn, seen, ("run_id", run_id), "external_id", AWKWARD_KEYS)
        stored = conn.execute(select(ImportSeen.external_id)).scalars().all()
        rows = [{"name": k or "-", "name_key": k, "source": "csv"} for k in AWKWARD_KEYS]
        conn.execute(insert(Account), rows)
        found = rows_where_in(conn, Account.__table__, "name_key", AWKWARD_KEYS, ("name_key",))
    assert first == set(AWKWARD_KEYS[:4])
    assert again == set(AWKWARD_KEYS[4:])
    assert sorted(stored) == sorted(AWKWARD_KEYS)
    assert [key for (key,) in found] == AWKWARD_KEYS  # in id order


def _rollup_marks(engine: Engine) -> list[tuple[int, dt.date]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT rep_id, local_date FROM rollup_dirty ORDER BY 1, 2"))
        return [(rep, day) for rep, day in found]


def _insert_trigger_on(engine: Engine) -> bool:
    with engine.connect() as conn:
        state = conn.execute(
            text("SELECT tgenabled FROM pg_trigger WHERE tgname = 'activity_rollup_insert'")
        ).scalar()
        return bool(state != "D")


def test_a_set_insert_writes_the_rollup_marks_it_is_given_once(pg_engine: Engine) -> None:
    """Rows of rep 1 on Nov 20 (twice) and Nov 21, copied with their two (rep, day) pairs:
    rollup_dirty holds exactly those two marks (the trigger, had it fired as well, would
    have added two more), and the trigger is on again after the commit."""
    day_1, day_2 = dt.datetime(2026, 11, 20, 9), dt.datetime(2026, 11, 21, 9)
    rows = [_row("a", day_1), _row("b", day_1), _row("c", day_2)]
    with pg_engine.begin() as conn:
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
        staged = Staged(conn, Activity.__table__, COLUMNS, rows)
        marks = {(1, day_1.date()), (1, day_2.date())}
        assert staged.insert_checked(None, ["external_id"], {"rep_id": {1}}, marks) == 3
    assert _rollup_marks(pg_engine) == [(1, day_1.date()), (1, day_2.date())]
    assert _insert_trigger_on(pg_engine)
    with pg_engine.begin() as conn:  # the trigger marks the next insert, as before
        insert_rows(conn, Activity.__table__, COLUMNS, [_row("d", dt.datetime(2026, 11, 23))])
    assert _rollup_marks(pg_engine)[-1] == (1, dt.date(2026, 11, 23))


def test_a_refused_set_insert_leaves_no_mark_and_the_trigger_on(pg_engine: Engine) -> None:
    """Row "b" is stored already (planted, its mark cleared): the batch's insert is refused
    by the unique key after the trigger went off; nothing of the batch stays (no row, no
    mark) and the rollback leaves the trigger on."""
    moment = dt.datetime(2026, 11, 20, 9)
    with pg_engine.begin() as conn:
        conn.execute(insert(Rep).values(id=1, name="Ana Ruiz", role="ae", source="test"))
        insert_rows(conn, Activity.__table__, COLUMNS, [_row("b", moment)])
        conn.execute(text("DELETE FROM rollup_dirty"))
    refused = pytest.raises(IntegrityError, match="uq_activity_source_external_id")
    with refused, pg_engine.begin() as conn:
        rows = [_row("a", moment), _row("b", moment)]
        staged = Staged(conn, Activity.__table__, COLUMNS, rows)
        staged.insert_checked(None, ["external_id"], {"rep_id": {1}}, {(1, moment.date())})
    assert _rollup_marks(pg_engine) == []
    assert _insert_trigger_on(pg_engine)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 1


def test_rows_by_value_probe_the_index_once_per_distinct_value(pg_engine: Engine) -> None:
    """Two accounts share the key "acme" (planted), one is "beta": asking for acme twice
    and for a key nobody has gives both acme accounts once each, in id order; and the
    statement probes the key's index (an IN was planned as a hash join over a scan of
    every account, even on a table of three)."""
    from paceline.store.bulk import rows_where_in
    from paceline.store.models import Account

    accounts = [("Acme", "acme"), ("Beta", "beta"), ("ACME", "acme")]
    with pg_engine.begin() as conn:
        rows = [{"name": n, "name_key": k, "source": "csv"} for n, k in accounts]
        conn.execute(insert(Account), rows)
        with recorded_statements(pg_engine) as statements:
            found = rows_where_in(
                conn, Account.__table__, "name_key", ["acme", "none", "acme"], ("name",)
            )
        assert [name for (name,) in found] == ["Acme", "ACME"]
        plan = conn.exec_driver_sql("EXPLAIN " + statements[-1], {"values": '["acme"]'})
        assert "Index Scan using ix_account_name_key" in " ".join(r[0] for r in plan)
