"""One analysis, one result, every face, for the two imports no CRM sample covers: a folder of
iCalendar files (docs/calendars.md) and a spreadsheet (docs/import.md, "Spreadsheets"). There
are no real files of either in ../shared/data, so awkward real-shaped ones are written here by
hand (the ICS as text, the .xlsx as the XML parts Excel saves, with the stdlib's zipfile:
nothing is shared with the readers under test), imported through the CLI as the docs say,
then read as of a passed-in day by the CLI (`--json` and tables), the JSON API, the pages,
their downloads and the weekly report, on SQLite and on PostgreSQL.

Every figure below is counted by hand from the files (the business calendar is New York's,
the default; US daylight saving time ended on Sunday 1 November 2026, Europe's on Sunday 25
October). The import runs as of Saturday 7 November 2026, 12:00 in New York.

Ana's calendar (a Google export: owner ana@, floating times in X-WR-TIMEZONE Los Angeles):
| event | local day (New York) | local time | UTC | minutes |
|---|---|---|---|---|
| Acme weekly #1 (RRULE weekly x5, 10:00) | Mon 2026-10-19 | 10:00 EDT | 14:00 | 30 |
| Acme weekly #2 | EXDATE: not an occurrence | | | |
| Berlin night, 23:00 CEST to 03:00 CET | Sat 2026-10-24 | 17:00 EDT | 21:00 | 300 |
| Globex standup #1 (RRULE daily x3, 08:00) | Wed 2026-10-28 | 08:00 EDT | 12:00 | 15 |
| Globex standup #2 | cancelled instance (RECURRENCE-ID): skipped | | | |
| Globex standup #3 | Fri 2026-10-30 | 08:00 EDT | 12:00 | 15 |
| Pipeline review (Ana, Ben): internal | Fri 2026-10-30 | 09:00 EDT | 13:00 | 60 |
| Halloween call, 23:30 EDT to 02:30 EST | Sat 2026-10-31 | 23:30 EDT | 11-01 03:30 | 240 |
| Sunday dinner, 20:00 EST | Sun 2026-11-01 | 20:00 EST | 11-02 01:00 | 90 |
| Acme weekly #3 | Mon 2026-11-02 | 10:00 EST | 15:00 | 30 |
| Late call, UTC 'Z' 00:30 on 11-04 | Tue 2026-11-03 | 19:30 EST | 11-04 00:30 | 60 |
| West coast dinner, floating 22:30 11-05 | Fri 2026-11-06 | 01:30 EST | 06:30 | 60 |
| Acme with Ben (Ana declined): Ben's | Fri 2026-11-06 | 11:30 EST | 16:30 | 60 |
Skipped: Offsite (all-day), Vendor pitch (declined by Ana), Cancelled demo (STATUS:CANCELLED),
Focus time (nobody else invited), Still going (11:30 to 13:00 on the 7th: not over yet); Acme
weekly #4 (cancelled) and #5 fall after the import's moment and are not read.

An Outlook export (no owner, Windows zone names): Ben's 21:00 "Pacific Standard Time" on
Monday 2 November is 05:00 UTC on the 3rd, midnight in New York: Tuesday 3 November; and a
meeting of two strangers, rejected with their e-mails.

So the meetings held: Ana 2 in 2026-W43, 4 in W44 (10-28, 10-30, 10-31, 11-01), 3 in W45
(11-02, 11-03, 11-06); Ben 2 in W45. October: Ana 5. November to the 6th: Ana 4, Ben 2. Read by
UTC days instead, the Halloween call would fall in November and the Sunday dinner in W45.

The spreadsheet (sheet "Activity log": a merged title row, a merged group row above the
header, then the generic columns):
| row | what is awkward | read as (calls and e-mail with an Ask unless said) |
|---|---|---|
| 4 | id a number; a date-time cell (a serial) | Ana call Mon 11-02 09:30, conversation, 5 min |
| 5 | id, date and duration stored as text | Ana call Tue 11-03 09:15, meeting set, 12 min |
| 6 | a date cell; notes open with a stray quote | Ben email Wed 11-04 |
| 7 | duration =E4*3 (saved 15); quoted account | Ben call Thu 11-05 23:45, no Ask, 15 min |
| 8 | id a formula ("F-"&A4); a US date as text | rejected: D8 not a date and time |
| 9 | a serial in a General cell (46331.5) | rejected: D9 not a date and time |
| 10 | the duration an error (#DIV/0!): empty | Ben call Fri 11-06 10:00, conversation |
| 11-12 | formatted empty rows (dimension to row 40) | nothing |
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from factories import (
    GOOGLE_ICS,
    IMPORTED_AT,
    OUTLOOK_ICS,
    REPS_CSV,
    FacesOrg,
    csv_rows,
    make_site,
    page_text,
    run_cli_ok,
    scratch_pg_databases,
    shows,
    table_with,
)
from paceline.cli import load_commands
from paceline.config import load_settings
from paceline.store.engine import make_engine

pytestmark = pytest.mark.slow

# Every meeting and activity imported, by hand: (rep, notes) -> (local day and time, kind).
MEETINGS = {
    ("Ana Ruiz", "Acme weekly", "2026-10-19 10:00"),
    ("Ana Ruiz", "Berlin night session", "2026-10-24 17:00"),
    ("Ana Ruiz", "Globex standup", "2026-10-28 08:00"),
    ("Ana Ruiz", "Globex standup", "2026-10-30 08:00"),
    ("Ana Ruiz", "Halloween call", "2026-10-31 23:30"),
    ("Ana Ruiz", "Sunday dinner", "2026-11-01 20:00"),
    ("Ana Ruiz", "Acme weekly", "2026-11-02 10:00"),
    ("Ana Ruiz", "Late call", "2026-11-03 19:30"),
    ("Ana Ruiz", "West coast dinner", "2026-11-06 01:30"),
    ("Ben Okafor", "Ben in Pacific time", "2026-11-03 00:00"),
    ("Ben Okafor", "Acme with Ben", "2026-11-06 11:30"),
}
INTERNAL = {("Ana Ruiz", "Pipeline review", "2026-10-30 09:00")}
SHEET_ACTIVITIES = {
    ("Ana Ruiz", "first call", "2026-11-02 09:30"),
    ("Ana Ruiz", "set a demo", "2026-11-03 09:15"),
    ("Ben Okafor", '"Globex wants a quote', "2026-11-04 00:00"),
    ("Ben Okafor", "late", "2026-11-05 23:45"),
    ("Ben Okafor", "error cell", "2026-11-06 10:00"),
}
MINUTES = {
    "Berlin night session": 300.0,  # 23:00 CEST to 03:00 CET: five hours, not four
    "Halloween call": 240.0,  # 23:30 EDT to 02:30 EST: four hours, not three
    "Sunday dinner": 90.0,
    "Globex standup": 15.0,
    "first call": 5.0,
    "set a demo": 12.0,
    "late": 15.0,  # the formula's saved value
}
# Meetings held per rep per week (Monday) and per month, counted from the table above.
WEEKLY = {
    "2026-10-25": {"Ana Ruiz": 2, "Ben Okafor": 0},  # W43, as of its Sunday
    "2026-11-01": {"Ana Ruiz": 4, "Ben Okafor": 0},  # W44
    "2026-11-06": {"Ana Ruiz": 3, "Ben Okafor": 2},  # W45 to Friday
}
MONTHLY = {
    "2026-10-31": {"Ana Ruiz": 5, "Ben Okafor": 0},
    "2026-11-06": {"Ana Ruiz": 4, "Ben Okafor": 2},
}


# --- a spreadsheet, part by part ------------------------------------------------------------

Cell = tuple[Any, ...] | None


def column_name(index: int) -> str:
    name, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def excel_serial(moment: dt.datetime | dt.date) -> float:
    """Excel's 1900 date system: days since 1899-12-30, the time of day as a fraction."""
    if isinstance(moment, dt.datetime):
        return (moment - dt.datetime(1899, 12, 30)) / dt.timedelta(days=1)
    return float((moment - dt.date(1899, 12, 30)).days)


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLES = f"""{XML}<styleSheet xmlns="{MAIN}">\
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm"/></numFmts>\
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
</cellXfs></styleSheet>"""
DATE_TIME_STYLE, DATE_STYLE = 1, 2


def write_xlsx(
    path: Path, sheet: str, rows: list[tuple[int, list[Cell]]], merged: list[str]
) -> None:
    """An .xlsx as Excel saves it: shared strings, styled number cells (dates are serials with
    a date format), formulas with their saved value, an error cell, merged ranges and a
    dimension running past the data. Cells: ("s", text), ("n", number, style), ("f", formula,
    saved value), ("e", error), ("blank", style)."""
    strings: dict[str, int] = {}
    xml_rows = []
    for number, cells in rows:
        xml_cells = []
        for index, cell in enumerate(cells):
            ref = f"{column_name(index)}{number}"
            if cell is None:
                continue
            kind = cell[0]
            if kind == "s":
                at = strings.setdefault(cell[1], len(strings))
                xml_cells.append(f'<c r="{ref}" t="s"><v>{at}</v></c>')
            elif kind == "n":
                xml_cells.append(f'<c r="{ref}" s="{cell[2]}"><v>{cell[1]!r}</v></c>')
            elif kind == "f":
                typed = ' t="str"' if isinstance(cell[2], str) else ""
                formula, saved = escape(cell[1]), escape(str(cell[2]))
                xml_cells.append(f'<c r="{ref}"{typed}><f>{formula}</f><v>{saved}</v></c>')
            elif kind == "e":
                xml_cells.append(f'<c r="{ref}" t="e"><f>1/0</f><v>{cell[1]}</v></c>')
            else:
                xml_cells.append(f'<c r="{ref}" s="{cell[1]}"/>')
        xml_rows.append(f'<row r="{number}">{"".join(xml_cells)}</row>')
    merges = "".join(f'<mergeCell ref="{m}"/>' for m in merged)
    worksheet = (
        f'{XML}<worksheet xmlns="{MAIN}" xmlns:r="{RELS}"><dimension ref="A1:I40"/>'
        f"<sheetData>{''.join(xml_rows)}</sheetData>"
        f'<mergeCells count="{len(merged)}">{merges}</mergeCells></worksheet>'
    )
    shared = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
    count = len(strings)
    kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": (
            f'{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{kinds}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{kinds}.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{kinds}.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'{XML}<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
            f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{XML}<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{XML}<Relationships xmlns="{PACKAGE_RELS}">'
            f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{RELS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId3" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": worksheet,
        "xl/styles.xml": STYLES,
        "xl/sharedStrings.xml": (
            f'{XML}<sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">{shared}</sst>'
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)


def s(text: str) -> Cell:
    return ("s", text)


def n(value: float) -> Cell:
    return ("n", value, 0)


def when(moment: dt.datetime) -> Cell:
    return ("n", excel_serial(moment), DATE_TIME_STYLE)


HEADER = ["external_id", "rep", "kind", "occurred_at", "duration_min", "outcome", "has_ask"]
HEADER += ["account", "notes"]
SHEET_ROWS: list[tuple[int, list[Cell]]] = [
    (1, [s("East team: activity log, November 2026")]),
    (2, [s("Who"), None, s("What"), None, None, None, None, s("With")]),
    (3, [s(h) for h in HEADER]),
    (4, [n(1001), s("Ana Ruiz"), s("call"), when(dt.datetime(2026, 11, 2, 9, 30)), n(5),
         s("conversation"), s("yes"), s("Acme"), s("first call")]),
    (5, [s("1002"), s("Ana Ruiz"), s("call"), s("2026-11-03 09:15"), s("12"),
         s("meeting_set"), s("yes"), s("Acme"), s("set a demo")]),
    (6, [n(1003), s("Ben Okafor"), s("email"), ("n", excel_serial(dt.date(2026, 11, 4)),
         DATE_STYLE), None, None, s("yes"), s("Globex"), s('"Globex wants a quote')]),
    (7, [n(1004), s("Ben Okafor"), s("call"), when(dt.datetime(2026, 11, 5, 23, 45)),
         ("f", "E4*3", 15), s("conversation"), s("no"), s('Initech "big" deal'), s("late")]),
    (8, [("f", '"F-"&A4', "F-1001"), s("Ana Ruiz"), s("call"), s("11/04/2026 14:00"), n(3),
         None, s("no"), s("Acme"), s("US date")]),
    (9, [n(1006), s("Ana Ruiz"), s("call"), n(46331.5), n(4), None, s("no"), s("Acme"),
         s("serial as General")]),
    (10, [n(1007), s("Ben Okafor"), s("call"), when(dt.datetime(2026, 11, 6, 10, 0)),
          ("e", "#DIV/0!"), s("conversation"), s("yes"), s("Globex"), s("error cell")]),
    (11, [("blank", 0)] * 9),
    (12, [("blank", DATE_TIME_STYLE), None, None, s("  ")]),
]  # fmt: skip


# --- the organisation, built through the CLI ------------------------------------------------

IMPORTED: dict[str, Any] = {}


def build(folder: Path, url: str) -> None:
    """What docs/calendars.md and docs/import.md tell a user to run."""
    run_cli_ok("--db", url, "init")
    (folder / "users.csv").write_text(REPS_CSV, "utf-8")
    run_cli_ok("import", "reps", "users.csv")
    calendars = folder / "exports"
    calendars.mkdir()
    (calendars / "ana@paceline.test.ics").write_text(GOOGLE_ICS, "utf-8")
    (calendars / "outlook.ics").write_text(OUTLOOK_ICS.replace("\n", "\r\n"), "utf-8")
    shown = run_cli_ok("--today", IMPORTED_AT, "import", "calendar", "exports", "--json")
    IMPORTED["calendar"] = json.loads(shown)
    write_xlsx(folder / "log.xlsx", "Activity log", SHEET_ROWS, ["A1:I1", "A2:B2", "C2:G2"])
    shown = run_cli_ok("import", "activities", "log.xlsx", "--no-new-reps", "--json")
    IMPORTED["sheet"] = json.loads(shown)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def org(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FacesOrg]:
    load_commands()
    folder = tmp_path_factory.mktemp("calendar_sheets")
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{folder / 'paceline.db'}"
        if request.param == "postgresql":
            (url,) = stack.enter_context(scratch_pg_databases("calendar_sheets"))
        with contextlib.chdir(folder):
            build(folder, url)
        settings = load_settings(folder / "paceline.toml")
        engine = make_engine(url)
        site = make_site(engine, settings, {"root": ("admin", None)})
        faces = FacesOrg(folder, engine, settings, site, {})
        faces.rep_ids = {r["name"]: r["id"] for r in faces.api("/reps")}
        try:
            yield faces
        finally:
            engine.dispose()


# --- the imports' own accounts ----------------------------------------------------------------


def test_the_calendar_import_accounts_for_every_occurrence(org: FacesOrg) -> None:
    """19 occurrences read (17 in Ana's export, 2 in Outlook's): 12 imported (11 meetings and
    the internal review), 6 skipped by reason, 1 rejected with the e-mails it has."""
    result = IMPORTED["calendar"]
    assert (result["read"], result["inserted"], result["skipped"], result["rejected"]) == (
        19,
        len(MEETINGS) + len(INTERNAL),
        6,
        1,
    )
    assert result["notes"] == {
        "skipped, cancelled": 2,
        "skipped, declined by the rep": 1,
        "skipped, all-day event": 1,
        "skipped, nobody else invited": 1,
        "skipped, not over yet": 1,
    }
    # Its line (19) is its place among the occurrences of both files: the reason says where.
    ((line, _, reason),) = result["first_errors"]
    assert line == 19
    where = "outlook.ics, event 'strangers@outlook' at 2026-11-02 09:00 PST: no rep"
    assert reason.startswith(where), reason
    assert "(dave@unknown.test, eve@other.test)" in reason, reason


def test_the_sheet_import_accounts_for_every_row(org: FacesOrg) -> None:
    """Seven rows with data (4 to 10; the empty formatted rows 11 and 12 are no rows): five
    imported, the two dates Paceline cannot read rejected naming their cells."""
    result = IMPORTED["sheet"]
    assert (result["read"], result["inserted"], result["rejected"]) == (7, 5, 2)
    errors = {line: (field, reason) for line, field, reason in result["first_errors"]}
    assert set(errors) == {8, 9}
    assert errors[8][0] == "occurred_at (Activity log!D8)"
    assert "'11/04/2026 14:00'" in errors[8][1]
    assert errors[9][0] == "occurred_at (Activity log!D9)"
    assert "date serial? 46331.5 would be 2026-11-05 12:00: format the column" in errors[9][1]


# --- every face ------------------------------------------------------------------------------


def listed(org: FacesOrg, **params: str) -> set[tuple[str, str, str]]:
    """The API's activities (every page) as (rep, notes, local day and time)."""
    zone = org.settings.calendar.zone
    found: set[tuple[str, str, str]] = set()
    cursor: str | None = None
    while True:
        answer = org.api(
            "/activities", per_page="100", **params, **({"cursor": cursor} if cursor else {})
        )
        for item in answer["items"]:
            moment = dt.datetime.fromisoformat(item["occurred_at"])
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(zone)
            assert item["local_date"] == moment.date().isoformat(), item
            found.add((item["rep"], item["notes"], moment.strftime("%Y-%m-%d %H:%M")))
        cursor = answer.get("next")
        if not cursor:
            return found


def test_every_activity_on_its_local_day(org: FacesOrg) -> None:
    """The API lists every meeting and sheet row at its New York time, and a day's filter
    (API, page, download) finds on Tuesday 3 November exactly what happened on it there:
    Ben's Pacific 21:00 of the 2nd, Ana's 00:30 UTC of the 4th, and the sheet's call."""
    assert listed(org) == MEETINGS | INTERNAL | SHEET_ACTIVITIES
    tuesday = {t for t in MEETINGS | INTERNAL | SHEET_ACTIVITIES if t[2].startswith("2026-11-03")}
    assert {t[1] for t in tuesday} == {"Ben in Pacific time", "Late call", "set a demo"}
    assert listed(org, **{"from": "2026-11-03", "to": "2026-11-03"}) == tuesday
    page = page_text(org.page("/activities", start="2026-11-03", end="2026-11-03"))
    for _, notes, moment in tuesday:
        assert moment in page and notes in page, (moment, notes)
    assert "2026-11-04 00:30" not in page
    exported = csv_rows(org.page("/activities/export.csv", start="2026-11-03", end="2026-11-03"))
    assert sorted(r["notes"] for r in exported) == sorted(t[1] for t in tuesday)


def test_durations_over_midnight_and_the_dst_change(org: FacesOrg) -> None:
    items = org.api("/activities", per_page="100")["items"]
    minutes = {i["notes"]: i["duration_min"] for i in items if i["notes"] in MINUTES}
    assert minutes == MINUTES
    empty = {i["notes"]: i["duration_min"] for i in items if i["notes"] in ("error cell",)}
    assert empty == {"error cell": None}


def scorecard_meetings(org: FacesOrg, rep: str, period: str, day: str) -> float:
    """Meetings held on the rep's scorecard of `period` to `day`, the same on the CLI's JSON,
    the API, the printed table and the rep's page."""
    shown = org.cli("scorecard", "--rep", rep, "--period", period, "--as-of", day)
    assert org.api("/scorecard", rep=rep, period=period, as_of=day) == shown
    (line,) = [line for line in shown["lines"] if line["metric"] == "meetings_held"]
    actual = float(line["pace"]["actual"])
    table = {
        r[0]: r for r in org.text("scorecard", "--rep", rep, "--period", period, "--as-of", day)
    }
    shows(table["Meetings held"][1], actual, f"printed {rep} {period} {day}")
    page = table_with(
        org.page(f"/reps/{org.rep_ids[rep]}", period=period, as_of=day), "Expected by today"
    )
    shows(page["Meetings held"][2], actual, f"page {rep} {period} {day}")
    return actual


@pytest.mark.parametrize("day", sorted(WEEKLY))
def test_meetings_held_per_rep_per_week_on_every_face(org: FacesOrg, day: str) -> None:
    for rep, truth in WEEKLY[day].items():
        assert scorecard_meetings(org, rep, "week", day) == truth, (rep, day)
    args = {"metric": "meetings_held", "period": "week", "as_of": day}
    shown = org.cli("leaderboard", "meetings_held", "--period", "week", "--as-of", day)
    assert org.api("/leaderboard", **args) == shown
    assert {r["rep"]: r["value"] for r in shown["rows"]} == WEEKLY[day]
    exported = csv_rows(org.page("/leaderboard/export.csv", **args))
    assert {r["rep"]: float(r["value"]) for r in exported} == WEEKLY[day]


@pytest.mark.parametrize("day", sorted(MONTHLY))
def test_meetings_held_per_rep_per_month_on_every_face(org: FacesOrg, day: str) -> None:
    """The months cut at New York's midnight: the Halloween call (03:30 UTC on 1 November)
    is October's."""
    for rep, truth in MONTHLY[day].items():
        assert scorecard_meetings(org, rep, "month", day) == truth, (rep, day)
    team = org.cli("scorecard", "--all", "--as-of", day)
    assert org.api("/scorecard/team", as_of=day) == team
    exported = csv_rows(org.page("/team/export.csv", as_of=day))
    held = {r["rep"]: float(r["actual"]) for r in exported if r["metric"] == "meetings_held"}
    assert held == MONTHLY[day] | {"Team total": sum(MONTHLY[day].values())}


def test_the_sheets_calls_per_rep_on_every_face(org: FacesOrg) -> None:
    """Week 45 to Friday: calls Ana 2, Ben 2 (the rejected rows are no calls); conversations
    (connected calls: a conversation or a meeting set) Ana 2, Ben 2; meetings set Ana 1;
    and every activity counted once in the summary (Ana 3 meetings and 2 calls, Ben 2
    meetings, 1 e-mail, 2 calls)."""
    day = "2026-11-06"
    truths = {
        "calls": {"Ana Ruiz": 2, "Ben Okafor": 2},
        "conversations": {"Ana Ruiz": 2, "Ben Okafor": 2},
        "meetings_set": {"Ana Ruiz": 1, "Ben Okafor": 0},
    }
    for metric, truth in truths.items():
        args = {"metric": metric, "period": "week", "as_of": day}
        shown = org.cli("leaderboard", metric, "--period", "week", "--as-of", day)
        assert org.api("/leaderboard", **args) == shown
        assert {r["rep"]: r["value"] for r in shown["rows"]} == truth, metric
        exported = csv_rows(org.page("/leaderboard/export.csv", **args))
        assert {r["rep"]: float(r["value"]) for r in exported} == truth, metric
    summary = org.cli("summary", "--period", "week", "--as-of", day)
    counted = {r["rep"]: r["activities"] for r in summary["reps"]}
    assert counted == {"Ana Ruiz": 5, "Ben Okafor": 5}


def test_the_weekly_report_counts_the_local_weeks(org: FacesOrg) -> None:
    """Ana's one-on-one of the week of Monday 2 November: 3 meetings held, 4 the week before
    (the Sunday dinner is the 1st in New York, the 2nd in UTC)."""
    rep = "Ana Ruiz"
    shown = org.cli("report", "rep", rep, "--week", "2026-11-02")
    assert org.api("/reports/rep", rep=rep, week="2026-11-02") == shown
    changes = {c["metric"]: c for c in shown["changes"]}
    assert (changes["meetings_held"]["current"], changes["meetings_held"]["previous"]) == (3, 4)
    page = table_with(
        org.page(f"/reps/{org.rep_ids[rep]}/report.html", week="2026-11-02"), "This week"
    )
    shows(page["Meetings held"][1], 3, "this week")
    shows(page["Meetings held"][2], 4, "last week")


def test_calendar_meetings_are_not_busywork_on_any_face(org: FacesOrg) -> None:
    """A calendar records no Ask, so whether Ana's meetings were selling is not known: in
    week 45 her 150 meeting minutes are on neither side and her 17 minutes of calls, all
    with an Ask, are 100% selling, the same in the activity summary and in busy vs productive
    (CLI, API, page), and the diagnosis finds no "Busy, not productive" (it read 7% of 4
    hours for November, p = 0.006, when the meetings' minutes counted as non-selling)."""
    rep, day = "Ana Ruiz", "2026-11-06"
    summary = org.cli("summary", "--period", "week", "--as-of", day)
    (line,) = [r for r in summary["reps"] if r["rep"] == rep]
    assert (line["logged_minutes"], line["ask_not_recorded_minutes"]) == (167, 150)
    assert line["selling_share_of_time"] == 1.0
    for period in ("week", "month"):
        shown = org.cli("quality", "--rep", rep, "--period", period, "--as-of", day)
        assert org.api("/quality", rep=rep, period=period, as_of=day) == shown
        assert shown["asks_not_recorded"] == ["meeting"]
        (quality,) = shown["reps"]
        assert (quality["selling_share"], quality["flags"]) == (1.0, []), period
        page = table_with(org.page("/quality", rep=rep, period=period, as_of=day), "Selling time")
        shows(page[rep][2], 1.0, f"{period} page")
    diagnosis = org.cli("diagnose", "--rep", rep, "--as-of", day)
    assert org.api("/diagnosis", rep=rep, as_of=day) == diagnosis
    assert diagnosis["quality"]["flags"] == [] and diagnosis["findings"] == []
    printed = " ".join(org.invoke("diagnose", "--rep", rep, "--as-of", day).output.split())
    assert "nothing stands out against the peers" in printed
    assert "Time management: checked: not flagged" in printed
    page = page_text(org.page("/diagnose", rep=rep, as_of=day))
    assert "Time management checked: not flagged" in page
    assert "against the 33% benchmark" not in printed + page
