"""Upgraded databases get the schema a fresh one gets, compared by meaning (`schema_facts`).

A user's database was created at some earlier revision and upgraded since; if a migration
had been edited after release, or a batch copy lost an index, a default or a trigger, that
database would differ from every fresh one the tests run on. Each earlier revision is
migrated to, given a few rows, upgraded to head and compared with a fresh head database.

The comparison first has to be able to see a difference: the planted tables below differ in
one thing each (nullability, default, index, ON DELETE, trigger) and only the order of their
constraints, which SQLite's stored CREATE TABLE text shows but nothing else does, is allowed
to be the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from factories import scratch_pg_databases
from paceline.store.engine import make_engine
from paceline.store.migrate import current_revision, upgrade
from paceline.store.schema import schema_facts

VERSIONS = resources.files("paceline.store") / "migrations" / "versions"
EARLIER = sorted(p.name[:4] for p in VERSIONS.iterdir() if p.name[0].isdigit())[:-1]

PARENT = "CREATE TABLE parent (id INTEGER NOT NULL, CONSTRAINT pk_parent PRIMARY KEY (id))"
CHILD = """CREATE TABLE child (
    id INTEGER NOT NULL,
    parent_id INTEGER NOT NULL,
    code VARCHAR(8) {null} DEFAULT {default},
    CONSTRAINT pk_child PRIMARY KEY (id),
    {constraints}
)"""
FK = "CONSTRAINT fk_child_parent FOREIGN KEY(parent_id) REFERENCES parent (id) ON DELETE {delete}"
UNIQUE = "CONSTRAINT uq_child_code UNIQUE (parent_id, code)"
TRIGGER = "CREATE TRIGGER child_seen AFTER INSERT ON child BEGIN SELECT {value}; END"


def planted(
    folder: Path,
    *,
    null: str = "NOT NULL",
    default: str = "'x'",
    delete: str = "CASCADE",
    fk_first: bool = True,
    index: bool = False,
    trigger: str = "1",
) -> list[tuple[str, ...]]:
    """The facts of a two-table SQLite schema written by hand, varied one way at a time."""
    pair = [FK.format(delete=delete), UNIQUE]
    constraints = ",\n    ".join(pair if fk_first else pair[::-1])
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder / 'planted.db'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(PARENT)
            conn.exec_driver_sql(CHILD.format(null=null, default=default, constraints=constraints))
            if index:
                conn.exec_driver_sql("CREATE INDEX ix_child_code ON child (code)")
            conn.exec_driver_sql(TRIGGER.format(value=trigger))
        return schema_facts(engine)
    finally:
        engine.dispose()


ON_DELETE = "ondelete=CASCADE"


def test_facts_of_a_planted_schema(tmp_path: Path) -> None:
    facts = planted(tmp_path / "a")
    assert [f for f in facts if f[1] == "child" and f[0] != "column"] == [
        ("foreign key", "child", "fk_child_parent", "parent_id", "parent", "id", ON_DELETE),
        ("primary key", "child", "pk_child", "id"),
        ("trigger", "child", "child_seen", TRIGGER.format(value="1")),
        ("unique", "child", "uq_child_code", "parent_id", "code"),
    ]
    columns = [f[2:6] for f in facts if f[:2] == ("column", "child")]
    assert columns == [
        ("000", "id", "INTEGER", "NOT NULL"),
        ("001", "parent_id", "INTEGER", "NOT NULL"),
        ("002", "code", "VARCHAR(8)", "NOT NULL"),
    ]
    assert [f[6] for f in facts if f[:2] == ("column", "child")] == ["", "", "'x'"]


def test_constraint_order_is_no_difference_and_everything_else_is(tmp_path: Path) -> None:
    base = planted(tmp_path / "base")
    assert planted(tmp_path / "reordered", fk_first=False) == base
    variants = {
        "nullable": {"null": "NULL"},
        "default": {"default": "'y'"},
        "on delete": {"delete": "SET NULL"},
        "index": {"index": True},
        "trigger": {"trigger": "2"},
    }
    for name, change in variants.items():
        assert planted(tmp_path / name.replace(" ", "_"), **change) != base, name


# --- every earlier revision, upgraded -------------------------------------------------------

T0 = dt.datetime(2026, 11, 2, 15, 0)
ROWS = {  # columns every revision has (0001's), so the rows fit whichever one they meet
    "team": [{"id": 1, "name": "East", "created_at": T0}],
    "rep": [
        {"id": 1, "name": "Ana", "role": "ae", "team_id": 1, "capacity": 1.0, "source": "test"}
        | {"created_at": T0},
    ],
    "account": [{"id": 1, "name": "Acme", "source": "test", "created_at": T0}],
    "deal": [
        {"id": 1, "rep_id": 1, "account_id": 1, "name": "Acme renewal", "amount": 1250}
        | {"stage": "proposal", "status": "open", "source": "test", "created_at": T0}
        | {"updated_at": T0},
    ],
    "deal_stage_history": [
        {"id": 1, "deal_id": 1, "stage": "proposal", "status": "open", "amount": 1250}
        | {"entered_at": T0}
    ],
    "activity": [
        {"id": 1, "rep_id": 1, "account_id": 1, "deal_id": 1, "kind": "call"}
        | {"occurred_at": T0, "local_date": T0.date(), "has_ask": True, "engaged": False}
        | {"source": "test", "created_at": T0, "updated_at": T0},
    ],
}
TYPES = {dt.datetime: sa.DateTime(), dt.date: sa.Date(), bool: sa.Boolean()}


def table_of(name: str) -> sa.TableClause:
    """A bare table with the row's columns, typed so each driver gets the values it expects."""
    row = ROWS[name][0]
    return sa.table(name, *(sa.column(c, TYPES.get(type(v))) for c, v in row.items()))


def kept_rows(engine: Engine) -> dict[str, list[dict[str, object]]]:
    with engine.connect() as conn:
        return {
            name: [dict(r._mapping) for r in conn.execute(sa.select(table_of(name)))]
            for name in ROWS
        }


@pytest.fixture
def empty_url(db_url_and_engine: tuple[str, Engine], tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the fresh head one the test compares with."""
    if db_url_and_engine[0] == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with scratch_pg_databases("upgrade") as (url,):
            yield url


@pytest.mark.parametrize("revision", EARLIER)
def test_upgrade_from_revision_matches_fresh_schema(
    revision: str, db_url_and_engine: tuple[str, Engine], empty_url: str
) -> None:
    fresh = db_url_and_engine[1]
    old = make_engine(empty_url)
    try:
        upgrade(old, revision)
        assert current_revision(old) == revision
        with old.begin() as conn:
            for name, rows in ROWS.items():
                conn.execute(sa.insert(table_of(name)), rows)
        upgrade(old)
        assert current_revision(old) == current_revision(fresh)
        assert schema_facts(old) == schema_facts(fresh)
        assert kept_rows(old) == ROWS
    finally:
        old.dispose()
