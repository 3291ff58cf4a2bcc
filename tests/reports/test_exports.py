"""CSV and XLSX exports: formula injection neutralised, numbers kept, the page's figures.

Data: the hand-built organisation of test_reports (as of Wed 2026-11-18), plus an activity
whose note and account are written to look like formulas.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from factories import activity_row as activity
from factories import login, made_app, migrated_sqlite_copy, quick_user
from paceline import clock
from paceline.reports.export import Sheet, csv_bytes, export_bytes, neutralise, xlsx_bytes
from paceline.store.models import Account, Activity
from report_org import SETTINGS, build

SUITE_DAY = dt.date(2026, 12, 7)  # the day the pages run as
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


@pytest.fixture(autouse=True)
def suite_day() -> Iterator[None]:
    """Fixed dates whatever day the suite runs as (PACELINE_TEST_TODAY), and the clock put
    back after each test: `--today` in a CLI test sets it for the whole process."""
    with clock.frozen(SUITE_DAY):
        yield


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Acme = best", "Acme = best"),
        ("", ""),
    ],
)
def test_neutralise(text: str, shown: str) -> None:
    assert neutralise(text) == shown


SHEET = Sheet("t", ["name", "change", "day"], [['=HYPERLINK("x")', -3, dt.date(2026, 11, 18)]])


def test_csv_escapes_text_and_keeps_numbers() -> None:
    data = csv_bytes(SHEET)
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["name", "change", "day"], ['\'=HYPERLINK("x")', "-3", "2026-11-18"]]


def _xlsx_cells(data: bytes, sheet: int = 1) -> list[tuple[str, str | None, str]]:
    """(cell reference, type, text) of every cell of a sheet, strings resolved."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
            for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", NS)
        ]
        root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{sheet}.xml"))
    cells = []
    for c in root.iter(f"{{{NS['m']}}}c"):
        value = c.find("m:v", NS)
        text = value.text if value is not None and value.text is not None else ""
        if c.get("t") == "s":
            text = shared[int(text)]
        cells.append((c.get("r") or "", c.get("t"), text))
    return cells


def test_xlsx_escapes_text_and_keeps_negative_numbers() -> None:
    cells = {ref: (kind, text) for ref, kind, text in _xlsx_cells(xlsx_bytes([SHEET]))}
    assert cells["A2"] == ("s", '\'=HYPERLINK("x")')
    assert cells["B2"] == (None, "-3")  # a number cell (no type attribute), not text
    assert cells["C2"][0] is None  # a date is a number with a date format
    assert not any(kind == "str" for kind, _ in cells.values())  # no formula results


def test_csv_picks_the_named_table() -> None:
    sheets = [SHEET, Sheet("other", ["a"], [[1]])]
    assert export_bytes(sheets, "csv", "other").decode("utf-8-sig") == "a\r\n1\r\n"
    with pytest.raises(KeyError):
        export_bytes(sheets, "csv", "missing")


# --- the pages' downloads ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, TestClient, dict[str, int]]:
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path_factory.mktemp("exports"))
    ids = build(engine)
    with engine.begin() as conn:
        acct = conn.execute(
            insert(Account).values(name="=cmd|'/C calc'!A0").returning(Account.id)
        ).scalar_one()
        row = activity(ids["ana"], dt.date(2026, 11, 18), account_id=acct)
        conn.execute(insert(Activity), [{**row, "notes": "@SUM(1+1)"}])
    quick_user(engine, "max", "manager", "Max Stone")
    quick_user(engine, "ana", "rep", "Ana Ruiz")
    return engine, TestClient(made_app(SETTINGS, engine)), ids


def _csv(client: TestClient, path: str, **params: str) -> list[dict[str, str]]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_activity_export_neutralises_typed_formulas(
    world: tuple[Engine, TestClient, dict[str, int]],
) -> None:
    engine, client, ids = world
    login(client, engine, "max")
    rows = _csv(
        client, "/activities/export.csv", rep=str(ids["ana"]), start="2026-11-18", end="2026-11-18"
    )
    risky = next(r for r in rows if r["notes"])
    assert risky["account"] == "'=cmd|'/C calc'!A0"
    assert risky["notes"] == "'@SUM(1+1)"
    # Ana on Nov 18: one proposal (test_reports) and this call
    assert sorted(r["kind"] for r in rows) == ["call", "proposal"]
    xlsx = client.get("/activities/export.xlsx", params={"rep": str(ids["ana"])})
    assert xlsx.status_code == 200
    texts = [text for _, kind, text in _xlsx_cells(xlsx.content) if kind == "s"]
    assert "'=cmd|'/C calc'!A0" in texts and "=cmd|'/C calc'!A0" not in texts


def test_scorecard_export_has_the_pages_numbers(
    world: tuple[Engine, TestClient, dict[str, int]],
) -> None:
    engine, client, ids = world
    login(client, engine, "ana")
    page = client.get(f"/reps/{ids['ana']}", params={"period": "month", "as_of": "2026-11-18"})
    assert f"/reps/{ids['ana']}/scorecard.csv" in page.text
    rows = _csv(client, f"/reps/{ids['ana']}/scorecard.csv", period="month", as_of="2026-11-18")
    proposals = next(r for r in rows if r["metric"] == "proposals")
    # 9 proposals to Nov 18 against 38; 13 of 19 business days elapsed: 38 x 13/19 expected
    assert float(proposals["actual"]) == 9
    assert float(proposals["target"]) == 38
    assert float(proposals["expected_to_date"]) == pytest.approx(38 * 13 / 19)
    assert 'data-metric="proposals"' in page.text and ">9</td>" in page.text
    assert client.get(f"/reps/{ids['ben']}/scorecard.csv").status_code == 403


def test_team_and_leaderboard_exports(world: tuple[Engine, TestClient, dict[str, int]]) -> None:
    engine, client, _ = world
    login(client, engine, "max")
    rows = _csv(client, "/team/export.csv", period="week", as_of="2026-11-18")
    proposals = {r["rep"]: float(r["actual"]) for r in rows if r["metric"] == "proposals"}
    assert proposals == {"Ana Ruiz": 4, "Ben Cole": 1, "Team total": 5}
    page = client.get("/team", params={"period": "week", "as_of": "2026-11-18"}).text
    assert "/team/export.csv?period=week&amp;team=East&amp;as_of=2026-11-18" in page
    team_total = page[page.index("Team total") :]
    assert '<span class="big">5</span>' in team_total  # proposals: the page says 5 too
    board = _csv(
        client, "/leaderboard/export.csv", metric="proposals", period="week", as_of="2026-11-18"
    )
    assert [(r["rank"], r["rep"], r["value"]) for r in board] == [
        ("1", "Ana Ruiz", "4.0"),
        ("2", "Ben Cole", "1.0"),
    ]
    assert client.get("/team/export.pdf").status_code == 404
    login(client, engine, "ana")
    assert client.get("/team/export.csv").status_code == 403


def test_diagnosis_and_forecast_exports(world: tuple[Engine, TestClient, dict[str, int]]) -> None:
    engine, client, _ = world
    login(client, engine, "max")
    findings = _csv(client, "/diagnose/export.csv", rep="Ana Ruiz", as_of="2026-11-18")
    stalled = next(r for r in findings if r["kind"] == "stalled")
    assert (stalled["rep"], float(stalled["value"]), stalled["count"]) == ("Ana Ruiz", 50000, "1")
    coaching = _csv(
        client, "/diagnose/export.csv", rep="Ana Ruiz", as_of="2026-11-18", table="coaching"
    )
    assert coaching and all(r["rep"] == "Ana Ruiz" for r in coaching)
    book = client.get("/diagnose/export.xlsx", params={"rep": "Ana Ruiz", "as_of": "2026-11-18"})
    with zipfile.ZipFile(io.BytesIO(book.content)) as z:
        assert "xl/worksheets/sheet3.xml" in z.namelist()  # findings, coaching, funnel
    response = client.get(
        "/forecast/export.csv", params={"as_of": "2026-11-18", "table": "open deals"}
    )
    if response.status_code == 200:  # a forecast needs some history; when made, its deals
        deals = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert {d["deal"] for d in deals} == {"Acme expansion", "Fresh start"}
    else:
        assert response.status_code == 422


def test_too_many_activities_are_refused_not_cut_short(
    world: tuple[Engine, TestClient, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from paceline.web import report_pages

    engine, client, ids = world
    login(client, engine, "max")
    monkeypatch.setattr(report_pages, "EXPORT_ROWS", 1)
    response = client.get("/activities/export.csv", params={"rep": str(ids["ana"])})
    assert response.status_code == 422
    assert "a download holds up to 1" in response.text
