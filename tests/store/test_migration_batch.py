"""The migrations write the same schema text on every run (`paceline.store.migration_batch`).

Alembic's batch mode copies a table on SQLite in the order it walks the reflected table's sets
of constraints and indexes, which changed from run to run; before 2026-12-07 two migrations of
an empty database wrote `CREATE TABLE deal` with its constraints in different orders."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command

from factories import sqlite_file_closed
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade


def _migrated_schema(path: Path) -> list[str]:
    """Every schema statement SQLite keeps for a new database migrated to the head, in the
    order they were made."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    sqlite_file_closed(engine)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
        return [sql for (sql,) in rows]


def _constraints(statements: list[str], table: str) -> list[str]:
    """The names of `table`'s constraints, in the order its CREATE TABLE lists them."""
    create = next(s for s in statements if re.match(rf'CREATE TABLE "?{table}"? \(', s))
    return re.findall(r"CONSTRAINT (\w+)", create)


@pytest.mark.slow
def test_two_migrations_from_nothing_write_the_same_schema(
    tmp_path: Path, replayed_migrations: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three databases migrated from nothing by the real migrations (not the run's replayed
    schema) hold the same statements, letter for letter and in the same order; `deal`, copied
    by 0008 and 0014, lists its constraints by name after its primary key, and `api_token`
    (0007) its reflected ones by name, then the foreign key that 0007 added."""
    monkeypatch.setattr(command, "upgrade", replayed_migrations)  # the real one
    schemas = [_migrated_schema(tmp_path / f"{n}.db") for n in range(3)]
    assert schemas[0] == schemas[1] == schemas[2]
    assert _constraints(schemas[0], "deal") == [
        "pk_deal",
        "fk_deal_account_id_account",
        "fk_deal_rep_id_rep",
        "fk_deal_sourced_by_id_rep",
        "uq_deal_source_external_id",
    ]
    assert _constraints(schemas[0], "api_token") == [
        "pk_api_token",
        "fk_api_token_user_id_app_user",
        "uq_api_token_token_hash",
        "fk_api_token_parent_id_api_token",
    ]
    indexes = [s.split(" ON ")[0] for s in schemas[0] if " ON deal " in s]
    assert indexes == sorted(indexes) and len(indexes) == 6
