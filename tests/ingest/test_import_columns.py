"""A chunk the column check vouches for whole travels and is written by column
(`accounting.ColumnBatch`), its records never built but for a row refused or updated; any
other batch goes by record. Both must store the same rows: the same activities, reps,
accounts, contacts, rollup marks and matched keys, the same counts, the same errors file,
whether the file is read here or by the second process, on SQLite and PostgreSQL.

Chunks of 5 rows and batches of 7 here, so that a batch holds spans of chunks by column
and rows taken one by one; the counts below are counted by hand from the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from factories import stored_import_tables, two_empty_databases, write
from paceline.config import Settings
from paceline.ingest import importer, pipeline
from paceline.ingest.accounting import Batch, ColumnBatch, Pending
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.ingest.writers import ActivityWriter

HEADER = "external_id,rep,kind,occurred_at,duration_min,outcome,has_ask,account,contact,notes"
ROWS = [
    # chunk 1, lines 2-6: vouched for whole (blank cells, quotes in a note, a stray quote)
    "a01,Ana Ruiz,call,2026-11-02T09:00:00,5,no_answer,no,Acme,,first",
    "a02,Ben Ode,email,2026-11-02T09:10:00,,,,,,",
    'a03,Ana Ruiz,call,2026-11-02T09:20:00,3,conversation,yes,Globex,,"he said ""hi"", twice"',
    "a04,Ben Ode,call,2026-11-03T10:00:00,2,no_answer,no,Acme,,",
    'a05,Cleo Park,meeting,2026-11-03T11:00:00,30,,,Initech,,ab"c',
    # chunk 2, lines 7-11: a bad date and an unknown kind mid-chunk, an identical repeat
    "a06,Ana Ruiz,call,2026-13-45T10:00:00,1,no_answer,no,Acme,,",
    "a01,Ana Ruiz,call,2026-11-02T09:00:00,5,no_answer,no,Acme,,first",
    "a07,Dana Fox,call,2026-11-04T10:00:00,4,no_answer,no,Hooli,,",
    "a08,Ana Ruiz,chat_with_aliens,2026-11-04T11:00:00,1,,,Acme,,",
    "a09,Ben Ode,call,2026-11-04T12:00:00,6,no_answer,no,acme,,",
    # chunk 3, lines 12-16: a contact, a repeat with other values, a look-alike rep
    "a10,Ana Ruiz,call,2026-11-05T09:00:00,2,no_answer,no,Acme,Wile E,",
    "a02,Ben Ode,email,2026-11-02T09:15:00,,,,,,",
    "a11,Ana Ruis,call,2026-11-05T09:30:00,2,no_answer,no,Acme,,",
    "a12,Ben Ode,call,2026-11-05T10:00:00,1,no_answer,no,Globex,,",
    "a13,Cleo Park,email,2026-11-05T11:00:00,,,,,,",
    # chunk 4, lines 17-21, and chunk 5, lines 22-23: by column, with repeats of earlier ids
    "a14,Dana Fox,call,2026-11-06T09:00:00,7,voicemail,no,Umbrella,,",
    "a15,Ana Ruiz,email,2026-11-06T09:05:00,,sent,,Acme,,",
    "a03,Ana Ruiz,call,2026-11-02T09:20:00,4,conversation,yes,Globex,,other",
    "a16,Ben Ode,call,2026-11-06T10:00:00,3,no_answer,no,Globex,,",
    "a17,Cleo Park,call,2026-11-06T11:00:00,1,no_answer,no,Acme,,",
    "a04,Ben Ode,call,2026-11-03T10:00:00,2,no_answer,no,Acme,,",
    "a18,Dana Fox,call,2026-11-06T12:00:00,9,no_answer,no,Hooli,,",
]


def _import(engine: Engine, settings: Settings, path: Path, errors: Path) -> ImportResult:
    options = ImportOptions(batch_size=7, errors_path=errors, now=dt.datetime(2026, 12, 1))
    return import_csv(engine, settings, path, "activities", options=options)


def _counts(result: ImportResult) -> tuple[Any, ...]:
    r = result
    return (
        r.read, r.inserted, r.updated, r.unchanged, r.duplicate, r.skipped, r.rejected,
        r.new_accounts, r.new_contacts, sorted(r.new_reps), r.near_duplicates, r.notes,
        r.first_errors, r.status,
    )  # fmt: skip


@pytest.mark.parametrize("process", ["never", "always"])
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_column_path_stores_what_the_record_path_stores(
    request: pytest.FixtureRequest,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dialect: str,
    process: str,
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 5)
    monkeypatch.setattr(pipeline, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setenv("PACELINE_IMPORT_PROCESS", process)
    forms: list[str] = []  # how each batch was stored: by column, or by record
    real_any, real_records = ActivityWriter.write_any, ActivityWriter.write_batch

    def by_records(self: ActivityWriter, conn: Any, batch: list[Pending]) -> None:
        forms[-1] = "records"
        real_records(self, conn, batch)

    def spied(self: ActivityWriter, conn: Any, batch: Batch) -> None:
        forms.append("columns" if isinstance(batch, ColumnBatch) else "records")
        real_any(self, conn, batch)

    monkeypatch.setattr(ActivityWriter, "write_any", spied)
    monkeypatch.setattr(ActivityWriter, "write_batch", by_records)
    first = write(tmp_path / "acts.csv", "\n".join([HEADER, *ROWS]) + "\n")
    changed = [
        row.replace(
            "a16,Ben Ode,call,2026-11-06T10:00:00,3", "a16,Ben Ode,call,2026-11-06T10:00:00,8"
        )
        for row in ROWS
    ]
    second = write(tmp_path / "again.csv", "\n".join([HEADER, *changed]) + "\n")
    seen: dict[bool, list[Any]] = {}
    with two_empty_databases(request, dialect) as engines:
        for by_column, engine in zip((True, False), engines, strict=True):
            monkeypatch.setattr(pipeline, "BY_COLUMN", by_column)
            forms.clear()
            outcome: list[Any] = []
            for n, path in enumerate((first, second, second)):
                errors = tmp_path / f"{by_column}-{n}.errors.csv"
                result = _import(engine, settings, path, errors)
                outcome += [
                    _counts(result),
                    errors.read_text(encoding="utf-8"),
                    stored_import_tables(engine),
                ]
            outcome.append(list(forms))
            seen[by_column] = outcome
    by_column, by_record = seen[True], seen[False]
    # Batches: lines 2-6 (by column) with 8-9 (by record): a01 repeated, by record; 11-17 (a
    # contact, a look-alike rep): by record; 18-23: by column (on PostgreSQL the first
    # import's second batch is refused by the unique key, a fresh source's rows being copied
    # without a look-up, and written again). With columns off, every batch by record.
    forms_by_column, forms_by_record = by_column.pop(), by_record.pop()
    assert forms_by_column[:2] == ["records", "records"] and forms_by_column[-1] == "columns"
    assert forms_by_column.count("columns") == 3
    assert set(forms_by_record) == {"records"}
    assert by_column == by_record
    fresh, again, third = by_column[0], by_column[3], by_column[6]
    # 22 rows: 15 stored (a01-a05, a07, a09, a10, a12-a18), duplicates a01 and a04, refused
    # the bad date, the unknown kind, a02 and a03 again with other values, the look-alike.
    assert fresh[:7] == (22, 15, 0, 0, 2, 0, 5)
    assert again[:7] == (22, 0, 1, 14, 2, 0, 5)  # a16 changed
    assert third[:7] == (22, 0, 0, 15, 2, 0, 5)
    stored = by_column[8]["activity"]
    assert len(stored) == 15
