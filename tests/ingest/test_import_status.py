"""An import that fails on its rejections is recorded as failed, with the reason.

Before, `import_run` said "done" for a file whose every row was rejected, or for one over
`--max-rejected`, while the command exited 1: the audit trail contradicted the command.
The file is `factories.PIPELINE`: five deals, four of them with a stage this
configuration does not know (rejected), one stored. Storage on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from factories import PIPELINE, cli_in, write
from paceline.config import Settings
from paceline.ingest.accounting import RejectLimit
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.store.migrate import upgrade
from paceline.store.models import Deal, ImportRun

EVERY_ROW_BAD = PIPELINE.replace("negotiation", "Negotiaton")  # the fifth row too


def _import(
    engine: Engine, settings: Settings, path: Path, limit: str | None = None
) -> ImportResult:
    options = ImportOptions(
        errors_path=path.with_suffix(".errors.csv"),
        max_rejected=RejectLimit.parse(limit) if limit is not None else None,
    )
    return import_csv(engine, settings, path, "deals", options=options)


def _runs(engine: Engine) -> list[tuple[str, str | None, int, int]]:
    query = select(ImportRun.status, ImportRun.failure, ImportRun.inserted, ImportRun.rejected)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query.order_by(ImportRun.id))]  # type: ignore[misc]


def test_every_row_rejected_is_recorded_as_failed(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    upgrade(engine)
    result = _import(engine, settings, write(tmp_path / "deals.csv", EVERY_ROW_BAD))
    assert (result.status, result.failure) == ("failed", "every row was rejected (5 of 5)")
    assert _runs(engine) == [("failed", "every row was rejected (5 of 5)", 0, 5)]  # was "done"


def test_over_max_rejected_is_recorded_as_failed_and_keeps_its_good_rows(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """4 of 5 rejected: over a limit of 3 rows it fails, within 4 it is done; the one good
    deal is stored either way (each batch commits; the second run finds it unchanged)."""
    upgrade(engine)
    path = write(tmp_path / "deals.csv", PIPELINE)
    failed = _import(engine, settings, path, "3")
    reason = "4 of 5 rows were rejected, more than --max-rejected 3 allows"
    assert (failed.status, failed.failure) == ("failed", reason)
    done = _import(engine, settings, path, "4")
    assert (done.status, done.failure) == ("done", None)
    assert _runs(engine) == [("failed", reason, 1, 4), ("done", None, 0, 4)]
    with engine.connect() as conn:
        assert conn.execute(select(Deal.external_id)).scalars().all() == ["p5"]


def test_cli_json_and_exit_say_the_same_as_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the errors file goes to the working directory
    assert cli_in(tmp_path, "init")[0] == 0
    path = write(tmp_path / "deals.csv", PIPELINE)
    code, output = cli_in(tmp_path, "import", "deals", str(path), "--max-rejected", "20%", "--json")
    reason = "4 of 5 rows were rejected, more than --max-rejected 20% allows"
    assert code == 1 and f"import failed: {reason}" in output
    shown = json.loads(output[: output.rindex("}") + 1])
    assert (shown["status"], shown["failure"]) == ("failed", reason)


def test_the_migration_keeps_earlier_runs(engine: Engine) -> None:
    """Runs recorded before the failure column came keep their status, with no reason."""
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            insert(ImportRun).values(
                id=1,
                entity="deals",
                source="csv",
                file_name="old.csv",
                started_at=dt.datetime(2026, 11, 2, 9, 0),
                rows_read=3,
                inserted=3,
                updated=0,
                unchanged=0,
                duplicate=0,
                skipped=0,
                rejected=0,
                status="done",
            )
        )
    upgrade(engine)
    assert _runs(engine) == [("done", None, 3, 0)]
