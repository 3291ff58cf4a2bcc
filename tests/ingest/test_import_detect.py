"""`paceline import detect`: the real Zoho export's files named by their mapping, hand-built
headers recognised or given a starting mapping that then imports.

Expected mappings are listed by hand from examples/mappings/zoho/README.md (which file each
mapping is for); the starting mappings' guesses are checked field by field.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from factories import ZOHO_EXPORT
from paceline import plugins
from paceline.cli import app
from paceline.config import Settings
from paceline.ingest.detect import detect, fit_layouts, guess_date_formats, known_layouts, words
from paceline.ingest.importer import ImportOptions, import_csv
from paceline.ingest.mapping import load_mapping
from paceline.store.models import Activity

ROOT = Path(__file__).resolve().parents[2]
ZOHO = ROOT / "examples" / "mappings" / "zoho"
ZOHO_LAYOUTS = {  # file -> (entity, mapping): the README's table
    "Users.csv": ("reps", "users.toml"),
    "Accounts.csv": ("accounts", "accounts.toml"),
    "Contacts.csv": ("contacts", "contacts.toml"),
    "Calls.csv": ("activities", "calls.toml"),
    "Events.csv": ("activities", "events.toml"),
    "Tasks.csv": ("activities", "tasks.toml"),
    "Potentials.csv": ("deals", "potentials.toml"),
}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PACELINE_MAPPINGS", raising=False)
    return tmp_path


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


@pytest.mark.skipif(not ZOHO_EXPORT.is_dir(), reason=f"no Zoho export at {ZOHO_EXPORT}")
@pytest.mark.parametrize("name", sorted(ZOHO_LAYOUTS))
def test_every_mapped_zoho_file_is_recognised(name: str, settings: Settings) -> None:
    path = ZOHO_EXPORT / name
    found = detect(path, plugins.import_source_for(path), settings)
    entity, mapping = ZOHO_LAYOUTS[name]
    assert found.known and found.written is None
    assert found.entity == entity
    assert found.mapping is not None and Path(found.mapping).resolve() == ZOHO / mapping
    assert found.command == (f"paceline import {entity} {path} --mapping {found.mapping}")


@pytest.mark.skipif(not ZOHO_EXPORT.is_dir(), reason=f"no Zoho export at {ZOHO_EXPORT}")
def test_zoho_leads_get_a_starting_mapping_that_imports(
    settings: Settings, sqlite_engine: Engine, in_tmp: Path
) -> None:
    path = ZOHO_EXPORT / "Leads.csv"
    found = detect(path, plugins.import_source_for(path), settings)
    assert not found.known
    # no mapping reads a leads file; the closest, contacts.toml, lacks the contact columns
    assert str(found.fits[0]["mapping"]).endswith("examples/mappings/zoho/contacts.toml")
    assert found.fits[0]["missing"] == ["Account Id", "CONTACTID"]
    assert found.entity == "contacts" and found.written == str(in_tmp / "Leads.mapping.toml")
    mapping = load_mapping(in_tmp / "Leads.mapping.toml")
    assert mapping.entity == "contacts"
    assert mapping.columns == {
        "external_id": "LEADID",
        "name": "Last Name",
        "account": "Company",
        "email": "Email",
    }
    with (ZOHO_EXPORT / "Leads.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    options = ImportOptions(errors_path=in_tmp / "leads.errors.csv")
    result = import_csv(sqlite_engine, settings, path, "contacts", mapping, options)
    assert result.read == len(rows)
    assert result.accounted == result.read


def test_generic_columns_and_delimiters(settings: Settings, in_tmp: Path) -> None:
    path = write_csv(
        in_tmp / "acts.csv",
        [["external_id", "rep", "kind", "occurred_at"], ["a1", "Ana", "call", "2026-11-20"]],
        delimiter=";",
    )
    found = detect(path, plugins.import_source_for(path), settings)
    assert found.known and found.entity == "activities" and found.mapping is None
    assert found.command == f"paceline import activities {path} --delimiter ';'"


def test_an_unknown_activity_layout(
    settings: Settings, sqlite_engine: Engine, in_tmp: Path
) -> None:
    path = write_csv(
        in_tmp / "Activity Log.csv",
        [
            ["Activity ID", "Activity Date", "Owner", "Type", "Duration (sec)", "Company", "Notes"],
            ["7", "11/20/2026 10:30", "Ana Ruiz", "Phone Call", "300", "Acme", "first call"],
            ["8", "11/20/2026 14:00", "Ana Ruiz", "Meeting", "1800", "Acme", ""],
            ["9", "11/23/2026 12:00", "Ben Ode", "Lunch", "3600", "", ""],
        ],
    )
    found = detect(path, plugins.import_source_for(path), settings)
    assert not found.known and found.entity == "activities" and found.missing_fields == []
    written = Path(found.written or "")
    assert written == in_tmp / "Activity Log.mapping.toml"
    assert found.command == (
        f"paceline import activities '{path}' --mapping 'Activity Log.mapping.toml'"
    )
    text = written.read_text()
    assert '# "Lunch" = "?"' in text  # no configured kind looks like lunch: left to the user
    mapping = load_mapping(written)
    specs = mapping.specs()
    assert specs["external_id"].column == "Activity ID"
    assert specs["occurred_at"].column == "Activity Date"
    assert specs["rep"].column == "Owner"
    assert specs["account"].column == "Company"
    assert specs["notes"].column == "Notes"
    assert (specs["duration_min"].column, specs["duration_min"].unit) == (
        "Duration (sec)",
        "seconds",
    )
    assert (specs["kind"].column, specs["kind"].map) == (
        "Type",
        {"Phone Call": "call", "Meeting": "meeting"},
    )
    assert mapping.date_formats == ["%m/%d/%Y %H:%M"]
    options = ImportOptions(errors_path=in_tmp / "e.csv", now=dt.datetime(2026, 12, 7))
    result = import_csv(sqlite_engine, settings, path, "activities", mapping, options)
    assert (result.read, result.inserted, result.rejected) == (3, 2, 1)  # Lunch: unknown kind
    with sqlite_engine.connect() as conn:
        got = conn.execute(
            select(Activity.kind, Activity.occurred_at, Activity.duration_min).order_by(
                Activity.occurred_at
            )
        ).all()
    # 10:30 in New York on 20 November (EST) is 15:30 UTC; 300 s are 5 minutes
    assert [tuple(r) for r in got] == [
        ("call", dt.datetime(2026, 11, 20, 15, 30), 5.0),
        ("meeting", dt.datetime(2026, 11, 20, 19, 0), 30.0),
    ]


def test_an_unknown_deal_layout_maps_its_stages(settings: Settings, in_tmp: Path) -> None:
    path = write_csv(
        in_tmp / "opps.csv",
        [
            ["Opportunity Name", "Opportunity Owner", "Amount", "Stage", "Created", "Close Date"],
            ["Big one", "Ana", "1000", "Closed Won", "2026-01-05", "2026-02-01"],
            ["Small one", "Ana", "10", "Negotiation/Review", "2026-01-06", ""],
            ["Odd one", "Ana", "10", "Parked", "2026-01-06", ""],
        ],
    )
    found = detect(path, plugins.import_source_for(path), settings)
    assert found.entity == "deals"
    assert found.missing_fields == ["external_id"]  # deals need an id no column offers
    text = Path(found.written or "").read_text()
    assert '# external_id = "?"   # REQUIRED' in text
    assert '"Closed Won" = "closed_won"' in text
    assert '"Negotiation/Review" = "negotiation"' in text
    assert '# "Parked" = "?"' in text
    assert 'name = "Opportunity Name"' in text and 'rep = "Opportunity Owner"' in text
    assert 'created_at = "Created"' in text and 'closed_at = "Close Date"' in text
    assert "date_formats" not in text  # ISO dates need none


def test_a_spreadsheet_under_a_title(settings: Settings, in_tmp: Path) -> None:
    path = in_tmp / "book.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Summary").write(0, 0, "see the next sheet")
    sheet = book.add_worksheet("Deals")
    sheet.merge_range("A1:E1", "Pipeline export", None)
    sheet.write_row(1, 0, ["external_id", "name", "rep", "amount", "stage", "created_at"])
    book.close()
    found = detect(path, plugins.import_source_for(path), settings, sheet="Deals")
    assert found.known and found.entity == "deals"
    assert found.command == f"paceline import deals {path} --sheet Deals"


def test_any_mapping_in_the_registry_joins_by_its_columns(
    settings: Settings, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = in_tmp / "ours"
    folder.mkdir()
    (folder / "crm-calls.toml").write_text(
        'entity = "activities"\nsource = "ourcrm"\n[columns]\nrep = "Agent"\n'
        'occurred_at = "Dialled"\nkind = { value = "call" }\n'
    )
    (folder / "broken.toml").write_text("entity = 'nonsense'\n")  # ignored, not fatal
    monkeypatch.setenv("PACELINE_MAPPINGS", str(folder))
    path = write_csv(in_tmp / "dial.csv", [["Agent", "Dialled", "Number"]])
    names = [layout.name for layout in known_layouts()]
    assert "ours/crm-calls.toml" in names and "generic" in names
    found = detect(path, plugins.import_source_for(path), settings)
    assert found.known and found.mapping == "ours/crm-calls.toml"
    # a layout that reads a column the file lacks does not fit, however much else matches
    fits = fit_layouts(["Agent", "Number"], known_layouts())
    assert not fits[0].fits and fits[0].missing == ("Dialled",)


def test_an_existing_starting_mapping_is_kept(settings: Settings, in_tmp: Path) -> None:
    path = write_csv(in_tmp / "x.csv", [["Owner", "When", "Type"], ["Ana", "2026-11-20", "Call"]])
    (in_tmp / "x.mapping.toml").write_text("# mine\n")
    found = detect(path, plugins.import_source_for(path), settings)
    assert found.written is None and (in_tmp / "x.mapping.toml").read_text() == "# mine\n"
    found = detect(path, plugins.import_source_for(path), settings, force=True)
    assert found.written is not None and "[columns]" in (in_tmp / "x.mapping.toml").read_text()


def test_helpers() -> None:
    assert words("Call Start Time") == "call start time"
    assert words("E-mail") == "e mail"
    assert words("OwnerId") == "owner id"
    assert guess_date_formats(["2026-11-20", "2026-11-20T10:00:00"]) == ([], False)
    assert guess_date_formats(["15 Apr, 2021 00:02:00"]) == (["%d %b, %Y %H:%M:%S"], False)
    # 03/04/2026 reads both ways: month first is kept, and the ambiguity is said
    assert guess_date_formats(["03/04/2026"]) == (["%m/%d/%Y"], True)
    assert guess_date_formats(["25/04/2026"]) == (["%d/%m/%Y"], False)


def test_the_detect_command(in_tmp: Path) -> None:
    path = write_csv(in_tmp / "x.csv", [["Owner", "When", "Type"], ["Ana", "2026-11-20", "Call"]])
    runner = CliRunner()
    reply = runner.invoke(app, ["import", "detect", str(path), "--output", "m.toml", "--json"])
    assert reply.exit_code == 0, reply.output
    result = json.loads(reply.output)
    assert result["known"] is False and result["written"] == "m.toml"
    reply = runner.invoke(app, ["import", "detect", str(path), "--output", "m.toml"])
    assert "kept the existing m.toml" in reply.output
    reply = runner.invoke(app, ["import", "detect", str(path), "--sheet", "1"])
    assert reply.exit_code == 1 and "has no sheets" in reply.output
