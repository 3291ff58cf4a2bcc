"""Spreadsheets import like CSV: real .xlsx files written here with xlsxwriter, read back.

Each expected value is worked out by hand from what the test writes into the cells: an id
typed as the number 42 is stored as "42"; 10:30 on 20 November 2026 in New York (the default
calendar's zone, EST, UTC-5) is 15:30 UTC; a date cell counts on that date.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from factories import made_app
from paceline import plugins
from paceline.cli import app
from paceline.config import Settings
from paceline.ingest import xlsx_source
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.importer import ImportOptions, import_file
from paceline.ingest.mapping import Mapping
from paceline.ingest.sources import ReadOptions
from paceline.ingest.xlsx_source import cell_text, column_letter, open_workbook_table
from paceline.store.models import Activity, AuditEntry, Contact, Deal
from paceline.store.runs import run_progress

NOW = dt.datetime(2026, 12, 7, 12, 0)


def test_cells_become_the_text_a_csv_export_holds() -> None:
    assert cell_text(42.0) == "42"
    assert cell_text(-7.0) == "-7"
    assert cell_text(22700.5) == "22700.5"
    assert cell_text(0.1) == "0.1"
    assert cell_text(4420794600000.0) == "4420794600000"  # a phone number typed as a number
    assert cell_text(1e20) == "1e+20"  # beyond exact integers: no invented digits
    assert cell_text(True) == "TRUE" and cell_text(False) == "FALSE"
    assert cell_text(dt.date(2026, 11, 20)) == "2026-11-20"
    assert cell_text(dt.datetime(2026, 11, 20, 10, 30)) == "2026-11-20T10:30:00"
    assert cell_text(dt.datetime(2026, 11, 20, 10, 30, 0, 250000)) == "2026-11-20T10:30:00.250"
    assert cell_text(dt.time(9, 5)) == "09:05:00"
    assert cell_text(dt.timedelta(hours=26, minutes=3, seconds=4)) == "26:03:04"
    assert cell_text("  kept as is ") == "  kept as is "
    assert cell_text("") == ""


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"
    ]  # fmt: skip


def write_workbook(path: Path) -> None:
    """Three sheets: a note, activities under a merged title, deals. Every cell by hand."""
    book = xlsxwriter.Workbook(str(path))
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    book.add_worksheet("Read me").write(0, 0, "Exported for Paceline")
    calls = book.add_worksheet("Calls")
    calls.merge_range("A1:F1", "Activity report, November 2026", None)  # header garbage
    calls.write_row(2, 0, ["external_id", "rep", "kind", "occurred_at", "duration_min", "notes"])
    # row 4 (Excel numbering): number id, datetime cell, a formula with its cached value
    calls.write_number(3, 0, 42)
    calls.write_row(3, 1, ["Ana Ruiz", "call"])
    calls.write_datetime(3, 3, dt.datetime(2026, 11, 20, 10, 30), stamp)
    calls.write_formula(3, 4, "=2+3", None, 5)
    calls.write_number(3, 5, 4420794600000)
    # row 5 is empty; row 6: a date-only cell, duration 7.5
    calls.write_number(5, 0, 43)
    calls.write_row(5, 1, ["Ana Ruiz", "email"])
    calls.write_datetime(5, 3, dt.datetime(2026, 11, 2), day)
    calls.write_number(5, 4, 7.5)
    # row 7: a bad timestamp (text), rejected with its cell
    calls.write_number(6, 0, 44)
    calls.write_row(6, 1, ["Ana Ruiz", "call", "next Tuesday"])
    # rows 8-9: blank rows at the end
    calls.write_blank(8, 0, None)
    deals = book.add_worksheet("Deals")
    deals.write_row(
        0, 0, ["external_id", "name", "rep", "amount", "stage", "created_at", "closed_at"]
    )
    deals.write_number(1, 0, 1001)
    deals.write_row(1, 1, ["Initech renewal", "Ana Ruiz"])
    deals.write_number(1, 3, 22700.5)
    deals.write(1, 4, "Closed Won")
    deals.write_datetime(1, 5, dt.datetime(2026, 10, 1), day)
    deals.write_datetime(1, 6, dt.datetime(2026, 11, 30), day)
    book.close()


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "export.xlsx"
    write_workbook(path)
    return path


def run(
    engine: Engine, settings: Settings, path: Path, entity: str, sheet: str | None, **kw: object
) -> object:
    options = ImportOptions(
        sheet=sheet,
        now=NOW,
        errors_path=path.parent / "errors.csv",
        **kw,  # type: ignore[arg-type]
    )
    reader = plugins.import_source_for(path)
    return import_file(engine, settings, path, entity, None, options, None, reader)  # type: ignore[arg-type]


def test_activities_sheet_under_a_merged_title(
    engine: Engine, settings: Settings, workbook: Path
) -> None:
    result = run(engine, settings, workbook, "activities", "Calls")
    assert (result.read, result.inserted, result.rejected) == (3, 2, 1)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Activity.external_id,
                Activity.kind,
                Activity.occurred_at,
                Activity.local_date,
                Activity.duration_min,
                Activity.notes,
            ).order_by(Activity.external_id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("42", "call", dt.datetime(2026, 11, 20, 15, 30), dt.date(2026, 11, 20), 5.0,
         "4420794600000"),
        # a date cell is the start of that day in the business calendar: 05:00 UTC in November
        ("43", "email", dt.datetime(2026, 11, 2, 5, 0), dt.date(2026, 11, 2), 7.5, None),
    ]  # fmt: skip
    with (workbook.parent / "errors.csv").open(newline="") as handle:
        errors = list(csv.reader(handle))
    assert errors[0][:4] == ["line", "cell", "field", "reason"]
    assert errors[1][:3] == ["7", "Calls!D7", "occurred_at"]
    assert "next Tuesday" in errors[1][3]
    again = run(engine, settings, workbook, "activities", "2")  # the same sheet by number
    assert (again.read, again.inserted, again.unchanged) == (3, 0, 2)  # type: ignore[attr-defined]


def test_second_sheet_of_deals(engine: Engine, settings: Settings, workbook: Path) -> None:
    result = run(engine, settings, workbook, "deals", "Deals")
    assert (result.read, result.inserted) == (1, 1)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        deal = conn.execute(
            select(Deal.external_id, Deal.amount, Deal.status, Deal.created_at, Deal.closed_at)
        ).one()
    # dates are calendar dates: midnight New York = 04:00 UTC in October (EDT), 05:00 in Nov.
    assert tuple(deal) == (
        "1001",
        Decimal("22700.50"),
        "won",
        dt.datetime(2026, 10, 1, 4, 0),
        dt.datetime(2026, 11, 30, 5, 0),
    )


def test_the_default_sheet_is_the_first_and_errors_name_the_sheets(
    engine: Engine, settings: Settings, workbook: Path
) -> None:
    with pytest.raises(ImportFileError, match=r"sheet 'Read me'.*missing required column"):
        run(engine, settings, workbook, "activities", None)
    with pytest.raises(ImportFileError, match=r"no sheet 'Leads' \(its sheets: 1: 'Read me'"):
        run(engine, settings, workbook, "activities", "Leads")


def test_a_mapping_finds_its_header_below_title_rows(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("People")
    sheet.write_row(0, 0, ["Contacts", "exported 2026-12-01"])  # two title cells
    sheet.write_row(2, 0, ["Contact Id", "Full Name", "Company", "E-mail"])
    sheet.write_row(3, 0, [900000000000017, "Becki Tucker", "Dayrep", "becki@dayrep.com"])
    sheet.write_row(4, 0, [18, "Gary Denson", "Cuvox", "gary@cuvox.de"])
    book.close()
    mapping = Mapping(
        entity="contacts",
        source="sheet",
        columns={
            "external_id": "Contact Id",
            "name": "Full Name",
            "account": "Company",
            "email": "E-mail",
        },
    )
    options = ImportOptions(now=NOW, errors_path=tmp_path / "e.csv")
    reader = plugins.import_source_for(path)
    result = import_file(engine, settings, path, "contacts", mapping, options, None, reader)
    assert (result.read, result.inserted) == (2, 2)
    with engine.connect() as conn:
        got = conn.execute(select(Contact.external_id, Contact.name).order_by(Contact.id)).all()
    assert [tuple(r) for r in got] == [
        ("900000000000017", "Becki Tucker"),
        ("18", "Gary Denson"),
    ]


def test_a_cell_merged_down_counts_in_each_row(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "merged.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["rep", "kind", "occurred_at"])
    sheet.merge_range("A2:A3", "Ana Ruiz", None)  # one rep for two rows, as the eye reads it
    sheet.write_row(1, 1, ["call", "2026-11-20T09:00:00"])
    sheet.write_row(2, 1, ["call", "2026-11-20T09:30:00"])
    book.close()
    result = run(engine, settings, path, "activities", None)
    assert (result.read, result.inserted, result.rejected) == (2, 2, 0)  # type: ignore[attr-defined]


def test_the_command_picks_the_reader_by_extension(
    workbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    reply = runner.invoke(app, ["import", "deals", str(workbook), "--sheet", "Deals", "--json"])
    assert reply.exit_code == 0, reply.output
    said = json.loads(reply.output)
    assert (said["inserted"], said["reader"], said["source"]) == (1, "xlsx", "csv")
    plain = tmp_path / "deals.csv"
    plain.write_text("external_id,name\n")
    reply = runner.invoke(app, ["import", "deals", str(plain), "--sheet", "Deals"])
    assert reply.exit_code == 1 and "has no sheets" in reply.output
    reply = runner.invoke(app, ["import", "deals", str(workbook), "--from", "xlsx", "--sheet", "9"])
    assert reply.exit_code == 1 and "no sheet '9'" in reply.output


def test_not_a_spreadsheet_is_refused(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("rep,kind,occurred_at\n")
    with pytest.raises(ImportFileError, match="cannot read it as a spreadsheet"):
        run(engine, settings, path, "activities", None)


def test_the_web_import_page_takes_a_spreadsheet(
    sqlite_engine: Engine, settings: Settings, workbook: Path
) -> None:
    from fastapi.testclient import TestClient

    from paceline.api.deps import SESSION_COOKIE
    from paceline.auth.accounts import add_user, start_session

    admin = add_user(sqlite_engine, "admin", "correct-horse-battery", "admin")
    cookie, csrf = start_session(sqlite_engine, admin.id)
    with TestClient(made_app(settings, sqlite_engine)) as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        page = client.get("/import")
        assert ".xlsx" in page.text and 'name="sheet"' in page.text
        reply = client.post(
            "/import",
            data={"csrf": csrf, "entity": "deals", "sheet": "Deals", "allow_new_reps": "yes"},
            files={"file": ("export.xlsx", workbook.read_bytes(), "application/octet-stream")},
        )
        assert reply.status_code == 200, reply.text
        counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', reply.text))
        assert (counts["read"], counts["inserted"]) == ("1", "1")
        assert 'read as <span data-testid="import-reader">xlsx</span>, source csv' in reply.text
        wrong = client.post(
            "/import",
            data={"csrf": csrf, "entity": "deals", "sheet": "Nope"},
            files={"file": ("export.xlsx", workbook.read_bytes(), "application/octet-stream")},
        )
        assert wrong.status_code == 422 and "no sheet" in wrong.text


ODS_CELL = (
    '<table:table-cell office:value-type="{kind}" {value}><text:p>{text}</text:p>'
    "</table:table-cell>"
)


def write_ods(path: Path, rows: list[list[tuple[str, str, str]]]) -> None:
    """A minimal OpenDocument spreadsheet, written by hand: (type, value attribute, text)."""
    import zipfile

    body = "".join(
        "<table:table-row>"
        + "".join(ODS_CELL.format(kind=k, value=v, text=t) for k, v, t in row)
        + "</table:table-row>"
        for row in rows
    )
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
        'office:version="1.2"><office:body><office:spreadsheet>'
        f'<table:table table:name="Calls">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)


def test_an_opendocument_spreadsheet(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "calls.ods"
    text = [("string", "", name) for name in ("external_id", "rep", "kind", "occurred_at")]
    write_ods(
        path,
        [
            text,
            [
                ("float", 'office:value="42"', "42"),
                ("string", "", "Ana Ruiz"),
                ("string", "", "call"),
                ("date", 'office:date-value="2026-11-20T10:30:00"', "20/11/2026 10:30"),
            ],
        ],
    )
    result = run(engine, settings, path, "activities", None)
    assert (result.read, result.inserted) == (1, 1)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        got = conn.execute(select(Activity.external_id, Activity.occurred_at)).one()
    assert tuple(got) == ("42", dt.datetime(2026, 11, 20, 15, 30))  # 10:30 EST


def write_block_sheet(path: Path) -> None:
    """Sheet "Calls": a title in B1, the header in row 3 from column B (A is empty), five
    data rows of exactly 100 characters each ("1" + "R" + 98 x's) in rows 4, 5, 7, 8 and 9
    (row 6 empty)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Calls")
    sheet.write(0, 1, "Calls export")
    sheet.write_row(2, 1, ["external_id", "rep", "notes"])
    for index, row in enumerate((3, 4, 6, 7, 8), start=1):
        sheet.write_row(row, 1, [str(index), "R", "x" * 98])
    book.close()


def test_a_sheet_is_read_in_blocks_bounded_by_rows_and_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "blocks.xlsx"
    write_block_sheet(path)
    monkeypatch.setattr(xlsx_source, "BLOCK_CHARS", 250)  # a block ends at the row reaching it
    wanted = ReadOptions(sheet="Calls", columns=("external_id", "rep", "notes"))
    table = open_workbook_table(path, wanted)
    assert [name for name in table.header if name] == ["external_id", "rep", "notes"]
    blocks = list(table.chunks(10))
    # 100 + 100 + 100 >= 250 after the third row: blocks of 3 and 2 rows, not one of 5
    assert [[line for line, _, _ in block] for block in blocks] == [[4, 5, 7], [8, 9]]
    assert [value for value in blocks[0][0][1] if value] == ["1", "R", "x" * 98]
    notes = table.header.index("notes")
    assert table.locate(7, notes) == "Calls!D7"  # columns named as the sheet names them
    assert table.progress() == (6, 6)  # rows 4 to 9, the empty one counted as read
    by_rows = open_workbook_table(path, wanted).chunks(2)
    assert [[line for line, _, _ in block] for block in by_rows] == [[4, 5], [7, 8], [9]]


def test_a_merge_down_spans_blocks(tmp_path: Path) -> None:
    path = tmp_path / "merged.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("S")
    sheet.write_row(0, 0, ["rep", "kind"])
    sheet.merge_range("A2:A4", "Ana Ruiz", None)  # over rows 2-4, across the blocks of 2
    sheet.write_column(1, 1, ["call", "email", "meeting", "call"])
    sheet.write(4, 0, "Ben Okafor")
    book.close()
    table = open_workbook_table(path, ReadOptions(columns=("rep", "kind")))
    assert [[(line, values) for line, values, _ in block] for block in table.chunks(2)] == [
        [(2, ["Ana Ruiz", "call"]), (3, ["Ana Ruiz", "email"])],
        [(4, ["Ana Ruiz", "meeting"]), (5, ["Ben Okafor", "call"])],
    ]


def test_an_import_in_small_blocks_accounts_for_every_row(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "calls.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Calls")
    sheet.write(0, 0, "Activity report")
    sheet.write_row(1, 0, ["external_id", "rep", "kind", "occurred_at", "notes"])
    for index in range(7):  # rows 3-9; row 6 has a bad timestamp
        stamp = "soon" if index == 3 else f"2026-11-{index + 2:02d}T10:00:00"
        sheet.write_row(2 + index, 0, [f"C{index}", "Ana Ruiz", "call", stamp, "n" * 200])
    book.close()
    monkeypatch.setattr(xlsx_source, "BLOCK_CHARS", 500)  # two rows a block
    result = run(engine, settings, path, "activities", "Calls")
    assert (result.read, result.inserted, result.rejected) == (7, 6, 1)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        ids = conn.execute(select(Activity.external_id).order_by(Activity.external_id)).all()
    assert [r[0] for r in ids] == ["C0", "C1", "C2", "C4", "C5", "C6"]
    with (tmp_path / "errors.csv").open(newline="") as handle:
        errors = list(csv.reader(handle))
    assert errors[1][:3] == ["6", "Calls!D6", "occurred_at"]


def test_an_empty_sheet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Blank")
    book.close()
    with pytest.raises(ImportFileError, match="sheet 'Blank' is empty: no header row"):
        open_workbook_table(path, ReadOptions())


def test_the_record_says_the_spreadsheet_reader_and_keeps_the_csv_keys(
    engine: Engine, settings: Settings, workbook: Path, tmp_path: Path
) -> None:
    """The summary, the import's record and its audit entry say the file was read as xlsx
    (before 2026-12-07 the spreadsheet said "csv" everywhere, as if it were CSV text), while
    its ids stay under the source "csv" that every generic file's ids are kept under: the
    CSV export of the same two rows then changes nothing, and doubles nothing."""
    result = run(engine, settings, workbook, "activities", "Calls")
    assert (result.reader, result.source, result.inserted) == ("xlsx", "csv", 2)  # type: ignore[attr-defined]
    progress = run_progress(engine, result.import_run_id)  # type: ignore[attr-defined]
    assert progress is not None and (progress.reader, progress.source) == ("xlsx", "csv")
    with engine.connect() as conn:
        (after,) = conn.execute(
            select(AuditEntry.after).where(AuditEntry.entity == "import")
        ).scalars()
    assert (json.loads(after)["reader"], json.loads(after)["source"]) == ("xlsx", "csv")
    same = tmp_path / "calls.csv"
    same.write_text(
        "external_id,rep,kind,occurred_at,duration_min,notes\n"
        "42,Ana Ruiz,call,2026-11-20 10:30,5,4420794600000\n"
        "43,Ana Ruiz,email,2026-11-02,7.5,\n"
    )
    options = ImportOptions(now=NOW, errors_path=tmp_path / "csv.errors.csv")
    again = import_file(engine, settings, same, "activities", None, options)
    assert (again.reader, again.read, again.inserted, again.unchanged) == ("csv", 2, 0, 2)
