"""The activity writer's bulk path on SQLite: the batches by column of a load into an empty
table go in with the foreign keys' row checks off, and their references checked by set
before each commit. A bad id still cannot get in: an account id no account has (planted
through the name look-up) costs its rows, refused one by one with SQLite's own message,
as before. Every figure below is counted by hand from the file."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text

from factories import call_rows, calls_file, recorded_statements
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, import_csv
from paceline.store.models import Account, Activity
from paceline.store.names import AccountResolver

NO_SUCH_ACCOUNT = 424_242


def test_a_bad_id_in_a_bulk_batch_is_refused_with_its_rows(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 calls in batches of 3, all to Acme but calls 5 and 9 to Hooli, whose id the name
    look-up gives as 424242 (no account has it). The first batch finds the table empty and
    defers its indexes; the later ones are written unchecked and checked by set, which
    refuses the batches holding calls 5 and 9 (lines 6 and 10); their rows, written again
    one by one with the row checks, cost calls 5 and 9 only."""
    real = AccountResolver.ids_by_name

    def planted(self: AccountResolver, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        return {**real(self, conn, names), "Hooli": NO_SUCH_ACCOUNT}

    monkeypatch.setattr(AccountResolver, "ids_by_name", planted)
    rows = call_rows(1, 12, account=lambda i: "Hooli" if i in (5, 9) else "Acme")
    path = calls_file(tmp_path / "calls.csv", rows)
    options = ImportOptions(errors_path=tmp_path / "errors.csv", batch_size=3)
    with recorded_statements(sqlite_engine) as statements:
        result = import_csv(sqlite_engine, settings, path, "activities", options=options)
    assert (result.read, result.inserted, result.rejected) == (12, 10, 2)
    # The set check ran (the bulk path was taken), and refused what the row check refuses.
    assert "PRAGMA foreign_key_list(activity)" in statements
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        refused = [(r["line"], r["reason"]) for r in csv.DictReader(handle)]
    reason = "the database refused this row: FOREIGN KEY constraint failed"
    assert refused == [("6", reason), ("10", reason)]
    with sqlite_engine.connect() as conn:
        acme = conn.execute(select(Account.id).where(Account.name == "Acme")).scalar_one()
        stored = conn.execute(select(Activity.external_id, Activity.account_id)).all()
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    expected = {f"c{i}" for i in range(1, 13)} - {"c5", "c9"}
    assert {external for external, _ in stored} == expected
    assert {account for _, account in stored} == {acme}


def _probes(statements: list[str]) -> int:
    """How many look-ups of stored activities by external id (`store.bulk.stored_by_keys`)."""
    return sum("CROSS JOIN activity AS t" in s for s in statements)


def test_a_fresh_source_is_not_probed_until_the_unique_key_refuses_a_batch(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A source with nothing stored: 6 new calls in batches of 2 look up no stored row. A
    second file (source "csv" now stored) is probed batch by batch, as before. A third,
    fresh source ("crm") repeats c1 unchanged in its third batch and c2 with other values
    in its fourth: the unique key refuses the third batch, which is written again with the
    look-up, as is every batch after it (2 probes), and the repeats count as ever: one
    duplicate, one row refused."""
    options = ImportOptions(errors_path=tmp_path / "errors.csv", batch_size=2)
    path = calls_file(tmp_path / "a.csv", call_rows(1, 6))
    with recorded_statements(sqlite_engine) as statements:
        result = import_csv(sqlite_engine, settings, path, "activities", options=options)
    assert (result.inserted, _probes(statements)) == (6, 0)
    path = calls_file(tmp_path / "b.csv", call_rows(7, 4))
    with recorded_statements(sqlite_engine) as statements:
        result = import_csv(sqlite_engine, settings, path, "activities", options=options)
    assert (result.inserted, _probes(statements)) == (4, 2)
    rows = call_rows(1, 4)
    other = rows[1].replace(",no_answer,", ",voicemail,")
    path = calls_file(
        tmp_path / "c.csv", [*rows, rows[0], "c5" + rows[0][2:], other, "c6" + rows[1][2:]]
    )
    crm = ImportOptions(errors_path=tmp_path / "errors.csv", batch_size=2, source="crm")
    with recorded_statements(sqlite_engine) as statements:
        result = import_csv(sqlite_engine, settings, path, "activities", options=crm)
    assert (result.read, result.inserted, result.duplicate, result.rejected) == (8, 6, 1, 1)
    assert _probes(statements) == 2
    with sqlite_engine.connect() as conn:
        crm_ids = conn.execute(select(Activity.external_id).where(Activity.source == "crm"))
        assert sorted(crm_ids.scalars()) == ["c1", "c2", "c3", "c4", "c5", "c6"]
