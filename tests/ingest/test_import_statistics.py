"""An import leaves the planner statistics of what it grew (SQLite's `sqlite_stat1`): the
tables it wrote into, when they had none or have grown by more than a tenth of the rows the
statistics counted, by this import or the ones before it (`store.statistics`). Without them
SQLite plans by fixed guesses. Every count below is counted by hand from the files
(`factories.call_rows`: Ana Ruiz and Ben Ode in turn, all at Acme)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from factories import call_rows, calls_file
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv


def _counted(engine: Engine) -> dict[str, int]:
    """Table -> the rows its statistics counted (the first number of each index's stat)."""
    with engine.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        ).first():
            return {}
        found = conn.execute(text("SELECT tbl, stat FROM sqlite_stat1")).all()
    return {table: int(stat.split()[0]) for table, stat in found}


def _import(engine: Engine, settings: Settings, path: Path) -> ImportResult:
    options = ImportOptions(errors_path=path.with_suffix(".errors.csv"))
    return import_csv(engine, settings, path, "activities", options=options)


def test_a_fresh_import_leaves_statistics_of_what_it_wrote(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    assert _counted(sqlite_engine) == {}  # a migrated database has none
    result = _import(sqlite_engine, settings, calls_file(tmp_path / "a.csv", call_rows(1, 20)))
    assert (result.inserted, result.new_accounts) == (20, 1)
    counted = _counted(sqlite_engine)
    # 20 calls, by 2 reps, at 1 account; the tables it did not write keep none.
    assert (counted["activity"], counted["rep"], counted["account"]) == (20, 2, 1)
    assert "deal" not in counted


def test_the_statistics_are_taken_again_only_past_a_tenth_more_rows(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _import(sqlite_engine, settings, calls_file(tmp_path / "a.csv", call_rows(1, 20)))
    # The same file again writes nothing: nothing is analysed.
    again = _import(sqlite_engine, settings, calls_file(tmp_path / "a.csv", call_rows(1, 20)))
    assert (again.inserted, again.unchanged) == (0, 20)
    assert _counted(sqlite_engine)["activity"] == 20
    # 2 more calls: a tenth of 20, not more; the statistics still count 20.
    _import(sqlite_engine, settings, calls_file(tmp_path / "b.csv", call_rows(21, 2)))
    assert _counted(sqlite_engine)["activity"] == 20
    # 2 more again: 24 rows, 4 more than counted, past a tenth of 20 though neither import
    # was: taken again.
    _import(sqlite_engine, settings, calls_file(tmp_path / "c.csv", call_rows(23, 2)))
    assert _counted(sqlite_engine)["activity"] == 24
    assert _counted(sqlite_engine)["rep"] == 2  # no rep made since
