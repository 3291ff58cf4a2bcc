"""The activity writer on SQLite: a load of a source with nothing stored looks up no
stored row until the unique key refuses one of its batches, and counts its repeats as
ever. Every figure below is counted by hand from the file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from factories import call_rows, calls_file, recorded_statements
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, import_csv
from paceline.store.models import Activity


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
