"""CSV and XLSX exports of the tables the pages show, safe to open in a spreadsheet.

Each page's table becomes a `Sheet` (a name, column headings, rows of typed cells) built from
the very result the page renders, so a download never disagrees with the screen; the numbers
are the unrounded figures behind the page's formatting.

Formula injection: a spreadsheet treats a cell typed as `=...`, `+...`, `-...` or `@...`
(and, in some, one starting with a tab or carriage return) as a formula, so a rep named
`=HYPERLINK(...)` or an activity note `+cmd|...` would run when a manager opens the file.
Every *text* cell starting with one of those characters is written with a leading apostrophe
(OWASP's advice), in CSV and XLSX alike; numbers are written as numbers (a real -3 stays the
number -3 in XLSX, and in CSV it is the plain number it always was).

CSV is UTF-8 with a byte-order mark, so Excel reads accented names right.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import xlsxwriter

from paceline.analytics.diagnose import RepDiagnosis, TeamDiagnosis
from paceline.analytics.forecast import Forecast
from paceline.analytics.leaderboard import Leaderboard
from paceline.analytics.scorecard import MetricLine, Scorecard, TeamScorecard
from paceline.config import Settings
from paceline.describe import count_cell, finding_text
from paceline.store.records import ActivityRecord

Cell = str | int | float | bool | dt.date | dt.datetime | None
Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
RISKY_START = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SHEET_NAME_LIMIT = 31  # Excel's


@dataclass(frozen=True)
class Sheet:
    """One table: a name (the sheet's, and the CSV file's), headings and rows."""

    name: str
    columns: list[str]
    rows: list[list[Cell]]


def neutralise(text: str) -> str:
    """Text a spreadsheet will not run: a leading apostrophe before a formula character."""
    return "'" + text if text.startswith(RISKY_START) else text


# --- writers ---------------------------------------------------------------------------------


def csv_bytes(sheet: Sheet) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(cell: Cell) -> str | int | float:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int | float):
        return cell
    if isinstance(cell, dt.date | dt.datetime):
        return cell.isoformat(sep=" ") if isinstance(cell, dt.datetime) else cell.isoformat()
    return neutralise(cell)


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """A workbook with a sheet per table (header row bold and frozen), in memory."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    used: set[str] = set()
    for sheet in sheets:
        page = book.add_worksheet(_sheet_name(sheet.name, used))
        for col, heading in enumerate(sheet.columns):
            page.write_string(0, col, neutralise(heading), bold)
        for r, row in enumerate(sheet.rows, start=1):
            for col, cell in enumerate(row):
                _write(page, r, col, cell, day, moment)
        page.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def _write(page: object, row: int, col: int, cell: Cell, day: object, moment: object) -> None:
    write = page  # xlsxwriter's Worksheet (untyped)
    if cell is None:
        return
    if isinstance(cell, bool):
        write.write_boolean(row, col, cell)  # type: ignore[attr-defined]
    elif isinstance(cell, int | float):
        write.write_number(row, col, cell)  # type: ignore[attr-defined]
    elif isinstance(cell, dt.datetime):
        write.write_datetime(row, col, cell, moment)  # type: ignore[attr-defined]
    elif isinstance(cell, dt.date):
        write.write_datetime(row, col, cell, day)  # type: ignore[attr-defined]
    else:
        write.write_string(row, col, neutralise(cell))  # type: ignore[attr-defined]


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the book."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:SHEET_NAME_LIMIT] or "sheet"
    candidate, n = clean, 2
    while candidate.lower() in used:
        suffix = f" {n}"
        candidate, n = clean[: SHEET_NAME_LIMIT - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def export_bytes(sheets: Sequence[Sheet], fmt: Format, table: str | None = None) -> bytes:
    """XLSX: every sheet; CSV: the one named `table` (default: the first). An unknown table
    name is a KeyError, which the faces answer as not found."""
    if fmt == "xlsx":
        return xlsx_bytes(sheets)
    if table is None:
        return csv_bytes(sheets[0])
    found = next((s for s in sheets if s.name == table), None)
    if found is None:
        raise KeyError(table)
    return csv_bytes(found)


# --- the pages' tables -----------------------------------------------------------------------

PACE_COLUMNS = [
    "metric",
    "label",
    "unit",
    "actual",
    "expected_to_date",
    "target",
    "pace",
    "projected",
    "needed_per_day",
    "status",
    "amounts_unknown",
    "unrecorded",
]


def _pace_cells(line: MetricLine) -> list[Cell]:
    """A line's cells; a line not recorded (nobody in the organisation has any of it) has no
    figure, expectation or pace, as on the pages and in the terminal: its 0 is no count, and a
    download that said 0.0 where the page says "not recorded" read as a shortfall.
    `unrecorded` names what is missing."""
    p = line.pace
    shown = line.recorded
    return [
        line.metric,
        line.label,
        line.unit,
        p.actual if shown else None,
        p.expected_to_date if shown else None,
        p.target,
        p.pace if shown else None,
        p.projected if shown else None,
        p.needed_per_day if shown else None,
        p.status,
        line.amounts_unknown,
        line.unrecorded,
    ]


def scorecard_sheets(card: Scorecard) -> list[Sheet]:
    """A rep's scorecard page: one row per key metric."""
    rows = [[card.rep, card.period.label, card.as_of, *_pace_cells(line)] for line in card.lines]
    return [Sheet("scorecard", ["rep", "period", "as_of", *PACE_COLUMNS], rows)]


def team_sheets(cards: TeamScorecard) -> list[Sheet]:
    """The team page: a row per rep and key metric, then the team's totals."""
    columns = ["rep", "role", "team", "rep_status", *PACE_COLUMNS]
    rows: list[list[Cell]] = [
        [c.rep, c.role, c.team, c.status, *_pace_cells(line)]
        for c in cards.reps
        for line in c.lines
    ]
    rows += [["Team total", None, cards.team, None, *_pace_cells(line)] for line in cards.total]
    return [Sheet("team", columns, rows)]


def leaderboard_sheets(board: Leaderboard) -> list[Sheet]:
    """The board's rows, each naming the period and day it ranks: a file read apart from its
    page must say whether its counts are the week's or the month's."""
    columns = [
        "period",
        "as_of",
        "by",
        "rank",
        "rep",
        "team",
        "role",
        "value",
        "numerator",
        "denominator",
        "previous_rank",
        "previous_value",
        "rank_change",
        "standing",
        "amounts_unknown",
    ]
    rows: list[list[Cell]] = [
        [
            board.period.label,
            board.as_of,
            board.by,
            r.rank,
            r.rep,
            r.team,
            r.role,
            r.value,
            r.numerator,
            r.denominator,
            r.previous_rank,
            r.previous_value,
            r.rank_change,
            r.standing,  # why an empty rank is empty: "amounts_unknown", "no_target"...
            r.amounts_unknown,  # deals the value left out for want of an amount
        ]
        for r in board.rows
    ]
    return [Sheet(f"leaderboard {board.metric}"[:SHEET_NAME_LIMIT], columns, rows)]


def activity_sheets(records: Sequence[ActivityRecord], zone: ZoneInfo) -> list[Sheet]:
    """The activity list: local time in the business time zone, as the page shows it."""
    columns = [
        "id",
        "when",
        "local_date",
        "rep",
        "team",
        "kind",
        "outcome",
        "ask",
        "engaged",
        "minutes",
        "account",
        "contact",
        "deal_id",
        "notes",
        "source",
        "external_id",
    ]
    rows: list[list[Cell]] = [
        [
            a.id,
            a.occurred_at.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None),
            a.local_date,
            a.rep,
            a.team,
            a.kind,
            a.outcome,
            a.has_ask,
            a.engaged,
            a.duration_min,
            a.account,
            a.contact,
            a.deal_id,
            a.notes,
            a.source,
            a.external_id,
        ]
        for a in records
    ]
    return [Sheet("activities", columns, rows)]


def diagnosis_sheets(settings: Settings, found: RepDiagnosis | TeamDiagnosis) -> list[Sheet]:
    """The diagnosis page: findings (worded as on the page, with their numbers), the coaching
    rules' verdicts, and for one rep the funnel."""
    reps = [found] if isinstance(found, RepDiagnosis) else found.reps
    findings: list[list[Cell]] = [
        [
            d.rep,
            d.role,
            d.team,
            f.kind,
            f.subject,
            f.metric,
            finding_text(settings, d, f),
            f.value,
            f.reference,
            f.p_value,
            f.count,
        ]
        for d in reps
        for f in d.findings
    ]
    coaching: list[list[Cell]] = [
        [
            d.rep,
            c.rule,
            c.label,
            c.status,
            c.advice if c.fired else None,
            c.comparison.rep_rate if c.comparison else None,
            c.comparison.peer_rate if c.comparison else None,
            c.comparison.p_value if c.comparison else None,
        ]
        for d in reps
        for c in d.coaching.checks
    ]
    sheets = [
        Sheet(
            "findings",
            [
                "rep",
                "role",
                "team",
                "kind",
                "subject",
                "metric",
                "finding",
                "value",
                "reference",
                "p_value",
                "count",
            ],
            findings,
        ),
        Sheet(
            "coaching",
            ["rep", "rule", "label", "status", "advice", "rep_rate", "peer_rate", "p_value"],
            coaching,
        ),
    ]
    if isinstance(found, RepDiagnosis):
        steps: list[list[Cell]] = [
            [
                s.label,
                None if count_cell(s) else s.count,
                s.conversion,
                s.peer_conversion,
                s.comparison.p_value if s.comparison else None,
                s.median_days,
                s.peer_median_days,
                s.note,
                s.peer_note,
            ]
            for s in found.funnel.steps
        ]
        sheets.append(
            Sheet(
                "funnel",
                [
                    "step",
                    "count",
                    "conversion",
                    "peer_conversion",
                    "p_value",
                    "median_days",
                    "peer_median_days",
                    "note",
                    "peer_note",
                ],
                steps,
            )
        )
    return sheets


def forecast_sheets(f: Forecast) -> list[Sheet]:
    """The forecast page: the summary, the stages and the open deals with their chances."""
    summary: list[list[Cell]] = [
        ["period", f.period.label],
        ["as_of", f.as_of],
        ["won_so_far", f.won_so_far if f.wins_recorded else ""],  # empty: not recorded
        ["won_without_amount", f.won_without_amount],
        ["open_without_amount", f.open_without_amount],
        ["expected_open", f.expected_open],
        ["expected_new", f.expected_new],
        ["mean", f.mean],
        ["p10", f.p10],
        ["p50", f.p50],
        ["p90", f.p90],
        ["target", f.target],
        ["probability_of_target", f.probability_of_target],
        ["runs", f.runs],
        ["seed", f.seed],
    ]
    stages: list[list[Cell]] = [
        [
            s.label,
            s.history_stays,
            s.history_wins,
            s.win_rate,
            s.median_days_to_win,
            s.open_deals,
            s.open_value,
            s.expected_value,
            s.crm_probability,
        ]
        for s in f.stages
    ]
    deals: list[list[Cell]] = [
        [
            d.deal_id,
            d.name,
            d.rep_id,
            d.stage,
            d.amount,
            d.amount_recorded,
            d.days_in_stage,
            d.age_days,
            d.win_probability,
            d.expected,
            d.crm_probability,
            d.from_prior,
        ]
        for d in f.open_deals
    ]
    return [
        Sheet("summary", ["figure", "value"], summary),
        Sheet(
            "stages",
            [
                "stage",
                "history_stays",
                "history_wins",
                "win_rate",
                "median_days_to_win",
                "open_deals",
                "open_value",
                "expected_value",
                "crm_probability",
            ],
            stages,
        ),
        Sheet(
            "open deals",
            [
                "deal_id",
                "deal",
                "rep_id",
                "stage",
                "amount",
                "amount_recorded",
                "days_in_stage",
                "age_days",
                "win_probability",
                "expected_value",
                "crm_probability",
                "from_prior",
            ],
            deals,
        ),
    ]
