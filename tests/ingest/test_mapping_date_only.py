"""`date_only = true` is for timestamp fields; anywhere else the mapping file is refused.

Before, `date_only` on a date, money or text field was silently ignored: the author believed
the column was read one way and it was read another. Now the file is refused before anything
is imported, with the file, the field, the column and the reason named.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from factories import write
from paceline.cli import app
from paceline.ingest.mapping import MappingError, load_mapping
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Deal, ImportRun

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mappings"
DEALS_HEAD = """entity = "deals"
[columns]
external_id = "ID"
name = "Deal"
rep = "Owner"
stage = "Stage"
created_at = { column = "Created", date_only = true }
"""


def refusal(path: Path) -> str:
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    return str(caught.value)


def test_date_only_on_a_date_field_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "deals.toml",
        DEALS_HEAD
        + 'amount = "Amount"\nexpected_close = { column = "Closing Date", date_only = true }\n',
    )
    assert refusal(path) == (
        f"{path}: invalid mapping file\n"
        "  columns.expected_close: date_only = true on column 'Closing Date', but "
        "expected_close is a date field (already read as a calendar date); date_only is only "
        "for the deals timestamp fields (created_at, closed_at, stage_changed_at): remove it"
    )


def test_date_only_on_a_money_field_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "money.toml", DEALS_HEAD + 'amount = { column = "Amount", date_only = true }\n'
    )
    assert "columns.amount: date_only = true on column 'Amount', but amount is a money field" in (
        refusal(path)
    )
    assert "(not a date at all)" in refusal(path)


def test_every_misplaced_date_only_is_named_at_once(tmp_path: Path) -> None:
    """A reps file has no timestamp fields at all; both misplaced keys are listed."""
    path = write(
        tmp_path / "reps.toml",
        'entity = "reps"\n[columns]\nname = { columns = ["First", "Last"], date_only = true }\n'
        'start_date = { column = "Hired", date_only = true }\n',
    )
    lines = refusal(path).splitlines()[1:]
    assert lines == [
        "  columns.name: date_only = true on columns 'First', 'Last', but name is a text field "
        "(not a date at all); date_only is for timestamp fields, and reps have none: remove it",
        "  columns.start_date: date_only = true on column 'Hired', but start_date is a date "
        "field (already read as a calendar date); date_only is for timestamp fields, and reps "
        "have none: remove it",
    ]


def test_date_only_on_timestamps_still_loads(tmp_path: Path) -> None:
    """The Zoho examples put date_only on created_at, closed_at and occurred_at."""
    mapping = load_mapping(write(tmp_path / "ok.toml", DEALS_HEAD + 'amount = "Amount"\n'))
    assert mapping.specs()["created_at"].date_only
    for name in ("potentials.toml", "tasks.toml"):
        load_mapping(EXAMPLES / "zoho" / name)


def test_the_cli_refuses_the_mapping_before_writing_anything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    upgrade(engine)
    mapping = write(
        tmp_path / "deals.toml", DEALS_HEAD + 'amount = { column = "Amount", date_only = true }\n'
    )
    csv = write(
        tmp_path / "deals.csv",
        "ID,Deal,Owner,Stage,Created,Amount\nd1,Acme,Ana Ruiz,prospect,2026-11-02,100\n",
    )
    result = CliRunner().invoke(
        app,
        ["--db", url, "import", "deals", str(csv), "--mapping", str(mapping)],
    )
    assert result.exit_code == 1, result.output
    assert "columns.amount: date_only = true on column 'Amount'" in result.output
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Deal)) == 0
        assert conn.scalar(select(func.count()).select_from(ImportRun)) == 0
