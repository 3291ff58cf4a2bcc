"""Accounts and contacts are found by a stored, indexed name key (migration 0011).

The look-ups were `lower(name) IN (...)`: no index serves that (a scan per batch), and on
SQLite lower() folds only ASCII, so 'ÉLODIE CAFÉ' was a second account beside 'Élodie Café'.
Checked here: the migration back-fills the key of rows written before it (keys written out by
hand), the resolvers' own statements are planned on the index (EXPLAIN, on SQLite and
PostgreSQL), names match as before and now across accented capitals and Unicode forms, and a
renamed account's key follows its name.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text

from factories import recorded_executions, write
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, import_csv
from paceline.store.engine import make_engine
from paceline.store.keys import name_key
from paceline.store.migrate import downgrade, upgrade
from paceline.store.models import Account, Contact
from paceline.store.names import AccountResolver, ContactResolver

WHEN = dt.datetime(2026, 11, 2, 9)
NFD = unicodedata.normalize("NFD", "Élodie Café")  # as macOS writes it: E + combining accent
FULL_WIDTH = "\uff21\uff23\uff2d\uff25 Inc"  # full-width ACME, NFKC-equal to "ACME Inc"


def test_the_migration_fills_the_key_of_every_existing_row(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0010")
    with engine.begin() as conn:  # rows as 0010 stored them: no key yet
        conn.execute(
            text("INSERT INTO account (id, name, source, created_at) VALUES (:i, :n, 'csv', :t)"),
            [
                {"i": 1, "n": "Élodie Café", "t": WHEN},
                {"i": 2, "n": "ACME  Inc", "t": WHEN},
                {"i": 3, "n": FULL_WIDTH, "t": WHEN},
            ],
        )
        conn.execute(
            text(
                "INSERT INTO contact (id, account_id, name, is_decision_maker, source, created_at)"
                " VALUES (1, 1, 'STRAßE Jörg', 0, 'csv', :t)"
            ),
            {"t": WHEN},
        )
    upgrade(engine)
    with engine.connect() as conn:
        accounts = dict(conn.execute(text("SELECT id, name_key FROM account")).all())
        contacts = dict(conn.execute(text("SELECT id, name_key FROM contact")).all())
        indexes = {row[1] for row in conn.execute(text("PRAGMA index_list('account')"))}
    assert accounts == {1: "élodie café", 2: "acme inc", 3: "acme inc"}
    assert contacts == {1: "strasse jörg"}  # casefold: ß is ss
    assert "ix_account_name_key" in indexes
    downgrade(engine, "0010")  # and back: the column goes, rows stay
    with engine.connect() as conn:
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info('contact')"))}
        assert conn.scalar(text("SELECT count(*) FROM account")) == 3
    assert "name_key" not in columns
    engine.dispose()


def _statements(engine: Engine, run: Any) -> list[tuple[str, Any]]:
    """The SQL statements (with their parameters) `run()` sends that compare name keys."""
    with recorded_executions(engine) as executions:
        run()
    return [
        (statement, params)
        for statement, params in executions
        if ("name_key IN" in statement or "name_key = k.v" in statement)
        and statement.lstrip().upper().startswith("SELECT")
    ]


def _plan(engine: Engine, statement: str, params: Any) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # Tables this small are read whole; forbidding that shows whether the index serves.
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        conn.rollback()
    return "\n".join(str(row[-1]) for row in rows)


def _resolve_accounts(engine: Engine, names: list[str]) -> dict[str, int]:
    with engine.begin() as conn:
        return AccountResolver("csv").resolve_names(conn, names)


def test_the_resolvers_look_names_up_on_the_index(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(Account), [{"name": f"Harbor Foods {n}", "source": "csv"} for n in range(50)]
        )
    looked = _statements(engine, lambda: _resolve_accounts(engine, ["HARBOR FOODS 7", "New Co"]))
    assert looked, "no look-up by name key"
    for statement, params in looked:
        assert "lower(" not in statement.lower()
        assert "ix_account_name_key" in _plan(engine, statement, params)

    account_id = _resolve_accounts(engine, ["Harbor Foods 3"])["harbor foods 3"]

    def contacts() -> None:
        with engine.begin() as conn:
            ContactResolver("csv").resolve(conn, [(account_id, "Ann  LEE")])

    looked = _statements(engine, contacts)
    assert looked
    for statement, params in looked:
        assert "ix_contact_name_key" in _plan(engine, statement, params)


def test_names_match_across_case_spacing_accents_and_unicode_forms(engine: Engine) -> None:
    upgrade(engine)
    first = _resolve_accounts(engine, ["Élodie Café", "ACME Inc", "Harbor Foods"])
    again = _resolve_accounts(
        engine, ["ÉLODIE  CAFÉ", NFD, "élodie café", FULL_WIDTH, "acme inc", " harbor   foods "]
    )
    assert len(set(first.values())) == 3
    assert again == {
        "élodie café": first["élodie café"],
        "acme inc": first["acme inc"],
        "harbor foods": first["harbor foods"],
    }
    other = _resolve_accounts(engine, ["Elodie Cafe"])  # no accents is another name, as before
    assert other["elodie cafe"] not in first.values()
    with engine.connect() as conn:
        stored = conn.execute(select(Account.name, Account.name_key).order_by(Account.id)).all()
    assert [tuple(r) for r in stored] == [
        ("Élodie Café", "élodie café"),
        ("ACME Inc", "acme inc"),
        ("Harbor Foods", "harbor foods"),
        ("Elodie Cafe", "elodie cafe"),
    ]

    elodie = first["élodie café"]
    with engine.begin() as conn:
        ContactResolver("csv").resolve(conn, [(elodie, "Jörg Straße")])
    resolver = ContactResolver("csv")
    with engine.begin() as conn:
        resolver.resolve(conn, [(elodie, "JÖRG STRASSE"), (elodie, "jörg  straße")])
    assert resolver.created == 0  # one contact, however it is spelled
    with engine.connect() as conn:
        assert conn.execute(select(Contact.name, Contact.name_key)).all() == [
            ("Jörg Straße", "jörg strasse")
        ]


def test_a_renamed_account_gets_the_key_of_its_new_name(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    upgrade(engine)
    first = write(tmp_path / "a.csv", "external_id,name\nA1,Old Name\n")
    renamed = write(tmp_path / "b.csv", "external_id,name\nA1,Nouvelle Société\n")
    for path in (first, renamed):
        result = import_csv(
            engine, settings, path, "accounts", options=ImportOptions(errors_path=tmp_path / "e")
        )
        assert result.rejected == 0
    assert _resolve_accounts(engine, ["NOUVELLE SOCIÉTÉ"]) == {"nouvelle société": 1}
    with engine.connect() as conn:
        rows = conn.execute(select(Account.name, Account.name_key)).all()
    assert [tuple(r) for r in rows] == [("Nouvelle Société", "nouvelle société")]
    assert all(key == name_key(name) for name, key in rows)


def test_new_accounts_are_numbered_in_the_order_their_names_first_appear(
    engine: Engine,
) -> None:
    """The same file gives the same account ids in every process: the ids followed a set's
    order, which moves with each process's string hashes (PYTHONHASHSEED)."""
    names = [f"Account {chr(65 + n % 26)}{n}" for n in range(40)]
    written = [*names[:5], names[2], *names[5:], names[0]]  # repeats keep the first place
    with engine.begin() as conn:
        ids = AccountResolver("csv").ids_by_name(conn, written)
        stored = conn.execute(select(Account.name).order_by(Account.id)).scalars().all()
    assert stored == names
    assert [ids[n] for n in names] == sorted(ids[n] for n in names)
