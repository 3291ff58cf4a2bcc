"""Prospects in, in the pipeline flow, where the Ask is not recorded; on SQLite and PostgreSQL.

Zoho's events carry no Ask: from November 2020 to January 2021 the export's only selling-kind
work is meetings, and the flow read "0 prospects in" every week, where the activity summary,
busy vs productive and the equation say "Ask not recorded". A week (or window) whose
selling-kind work is only of kinds on which nobody records an Ask now reads None, "not
recorded"; one where such activities sit beside selling says how many it left out, in the one
phrasing (`describe.asks_not_counted_text`).

Hand-built, window "14d" as of 2026-11-18 (ISO weeks W45 Nov 2-8, W46 Nov 9-15, W47 Nov
16-18), everyone in East, nobody anywhere records an Ask on a meeting:
  Ana  W45: 3 calls with an Ask on accounts A0, A1, A2 and 2 meetings on A3, A4
  Mo   W46: 4 meetings on A5..A8 (and nothing else)
  Zed  W47: 2 calls without an Ask on A9 (calls do carry Asks: a real "no Ask")
Prospects in: W45 3 (2 activities with no Ask recorded, not counted), W46 not recorded (4),
W47 0; the window 3 (6 not counted). Mo alone: 0, not recorded, 0; the window not recorded.
Zed alone: 0, 0, 0; the window 0. The old code read 3, 0, 0 with nothing said, and Mo's 0.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from factories import (
    AS_OF,
    accounts,
    activity_row,
    login,
    made_app,
    quick_user,
    read_export,
    wide_default_cli,
    zoho_no_ask_days,
    zoho_utc_local_day,
)
from paceline.analytics.flow import FlowReport, pipeline_flow
from paceline.analytics.report import team_report
from paceline.analytics.window import diagnosis_window
from paceline.auth.accounts import create_token
from paceline.config import Settings
from paceline.describe import asks_not_counted_text, prospects_cell
from paceline.reports.render import report_html
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

W45, W46, W47 = dt.date(2026, 11, 3), dt.date(2026, 11, 10), dt.date(2026, 11, 17)


def _build(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    reps = {
        name: add_rep(engine, settings, name, "ae", team="East") for name in ["Ana", "Mo", "Zed"]
    }
    a = accounts(engine, 10, "A")
    meeting = {"kind": "meeting", "outcome": "held", "engaged": True, "ask": False}
    rows = [activity_row(reps["Ana"], W45, account_id=a[i]) for i in range(3)]
    rows += [activity_row(reps["Ana"], W45, account_id=a[i], **meeting) for i in (3, 4)]
    rows += [activity_row(reps["Mo"], W46, account_id=a[i], **meeting) for i in range(5, 9)]
    rows += [activity_row(reps["Zed"], W47, account_id=a[9], ask=False) for _ in range(2)]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return reps


@pytest.fixture
def built(engine: Engine, settings: Settings) -> dict[str, int]:
    return _build(engine, settings)


def _flow(engine: Engine, settings: Settings, **scope: str) -> FlowReport:
    return pipeline_flow(engine, settings, diagnosis_window(settings, "14d", AS_OF), **scope)


def _prospects(report: FlowReport) -> list[tuple[int | None, int]]:
    return [(w.prospects_in, w.asks_not_recorded) for w in report.weeks]


def test_a_week_of_meetings_alone_reads_not_recorded(
    engine: Engine, built: dict[str, int], settings: Settings
) -> None:
    everyone = _flow(engine, settings)
    assert _prospects(everyone) == [(3, 2), (None, 4), (0, 0)]  # was 3, 0, 0
    assert (everyone.prospects_in, everyone.asks_not_recorded) == (3, 6)

    mo = _flow(engine, settings, rep="Mo")
    assert _prospects(mo) == [(0, 0), (None, 4), (0, 0)]
    assert (mo.prospects_in, mo.asks_not_recorded) == (None, 4)  # was 0

    zed = _flow(engine, settings, rep="Zed")  # calls without an Ask: a real zero
    assert _prospects(zed) == [(0, 0), (0, 0), (0, 0)]
    assert (zed.prospects_in, zed.asks_not_recorded) == (0, 0)


def test_an_ask_recorded_on_a_meeting_makes_the_others_real_no_asks(
    engine: Engine, built: dict[str, int], settings: Settings
) -> None:
    """Once anyone records an Ask on a meeting (here Zed, in W47), meetings without one are
    not selling, as calls without one are: Mo's W46 is a real 0 and Ana's W45 a bare 3."""
    with engine.begin() as conn:
        conn.execute(insert(Activity), [activity_row(built["Zed"], W47, kind="meeting")])
    report = _flow(engine, settings)
    assert _prospects(report) == [(3, 0), (0, 0), (0, 0)]
    assert (report.prospects_in, report.asks_not_recorded) == (3, 0)


def test_the_phrasing() -> None:
    assert prospects_cell(None, 4) == "not recorded"
    assert prospects_cell(3, 2) == "3 (2 activities with no Ask recorded, not counted)"
    assert prospects_cell(1_200, 1) == "1,200 (1 activity with no Ask recorded, not counted)"
    assert prospects_cell(0, 0) == "0" and asks_not_counted_text(0) == ""


def test_every_face_says_not_recorded(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal, --json (null and a count), the API, the page and the team report's
    HTML (its text has no prospects column) printed W46's "0" and a bare total of 3."""
    _build(sqlite_engine, settings)
    quick_user(sqlite_engine, "root", "admin")
    run = wide_default_cli(
        sqlite_engine, tmp_path, monkeypatch, "flow", "--as-of", AS_OF.isoformat()
    )
    answer = json.loads(run("--period", "14d", "--json"))
    assert [(w["prospects_in"], w["asks_not_recorded"]) for w in answer["weeks"]] == [
        (3, 2),
        (None, 4),
        (0, 0),
    ]
    assert (answer["prospects_in"], answer["asks_not_recorded"]) == (3, 6)

    table = run("--period", "14d")
    rows = {line.split()[1]: line for line in table.splitlines() if "2026-W4" in line}
    joined = " ".join(table.split())
    assert "3 (2 activities with no Ask recorded, not counted)" in " ".join(
        rows["2026-W45"].split()
    )
    assert "not recorded" in rows["2026-W46"], table
    assert "total │ 3 (6 activities with no Ask recorded, not counted)" in joined, table

    token = create_token(sqlite_engine, "root", "tests").token
    with TestClient(made_app(settings, sqlite_engine)) as client:
        params = {"period": "14d", "as_of": AS_OF.isoformat()}
        reply = client.get("/api/v1/flow", params=params,
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert reply.json() == answer
        login(client, sqlite_engine, "root")
        page = client.get("/flow", params=params).text
    body = page[page.index('data-testid="flow-table"') :]
    rows_html = re.findall(r"<tr>\s*<th scope=\"row\".*?</tr>", body, re.S)
    cells = [
        " ".join(re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[0]).split())
        for r in rows_html
    ]
    assert cells == [
        "3 (2 activities with no Ask recorded, not counted)",
        "not recorded",
        "0",
    ]

    r = team_report(sqlite_engine, settings, "East", AS_OF)
    html = report_html(settings, r, charts_too=False)
    flow_table = html[html.index("Pipeline flow</h2>") :]
    firsts = re.findall(r"<tr>\s*<td[^>]*>2026-W4\d</td>\s*<td[^>]*>(.*?)</td>", flow_table)
    assert firsts[-3:] == [
        "3 (2 activities with no Ask recorded, not counted)",
        "not recorded",
        "0",
    ]


# --- the real Zoho export ----------------------------------------------------------------------

WINTER_AS_OF = dt.date(2021, 1, 31)  # a Sunday: "91d" is 13 whole ISO weeks from 2020-11-02
SELLING_PURPOSES = ("Prospecting", "Demo", "Negotiation")  # calls.toml's has_ask = yes


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _asked_days(owner: str | None = None) -> list[dt.date]:
    """The local days of the calls with an Ask (calls.toml's selling purposes), by `owner`."""
    return [
        zoho_utc_local_day(r["Call Start Time"])
        for r in read_export("Calls")
        if r["Call Purpose"] in SELLING_PURPOSES and owner in (None, r["Call Owner"])
    ]


def _per_week(days: list[dt.date], first: dt.date, last: dt.date) -> Counter[dt.date]:
    return Counter(_monday(d) for d in days if first <= d <= last)


def test_zoho_winter_prospects_are_not_recorded(zoho_engine: Engine, settings: Settings) -> None:
    """2020-11-02..2021-01-31: 1,868 events (241 naming an account), no call with an Ask, no
    follow-up task: every week's selling-kind work is meetings, and every week read 0."""
    first = dt.date(2020, 11, 2)
    no_ask = _per_week([d for _, d in zoho_no_ask_days()], first, WINTER_AS_OF)
    assert not _per_week(_asked_days(), first, WINTER_AS_OF)
    events = [
        r
        for r in read_export("Events")
        if first <= zoho_utc_local_day(r["Start DateTime"]) <= WINTER_AS_OF
    ]
    assert (len(events), sum(1 for r in events if r["ACCOUNTID"].strip())) == (1_868, 241)
    assert sum(no_ask.values()) == 1_868
    window = diagnosis_window(settings, "91d", WINTER_AS_OF)
    report = pipeline_flow(zoho_engine, settings, window)
    assert [w.start for w in report.weeks] == sorted(no_ask)  # every week has meetings
    assert [(w.prospects_in, w.asks_not_recorded) for w in report.weeks] == [
        (None, no_ask[w.start]) for w in report.weeks
    ]  # was 0 every week
    assert (report.prospects_in, report.asks_not_recorded) == (None, 1_868)


def test_zoho_calls_beside_meetings_say_what_they_leave_out(
    zoho_engine: Engine, settings: Settings
) -> None:
    """Harold Pawlan, April 2021 (weeks 2021-03-29..2021-04-30): calls with an Ask in the
    first three weeks, then only meetings and follow-ups. A week with calls counts prospects
    from them and says how many meetings and follow-ups it left out; a week of meetings and
    follow-ups alone reads not recorded. The flow said 2, 3, 0, 0, 0 with nothing more."""
    owner, first, last = "Harold Pawlan", dt.date(2021, 3, 29), dt.date(2021, 4, 30)
    asked = _per_week(_asked_days(owner), first, last)
    no_ask = _per_week([d for o, d in zoho_no_ask_days() if o == owner], first, last)
    window = diagnosis_window(settings, "month", last)
    report = pipeline_flow(zoho_engine, settings, window, rep=owner)
    weeks = [(w.prospects_in is None, w.asks_not_recorded) for w in report.weeks]
    assert weeks == [(not asked[w.start], no_ask[w.start]) for w in report.weeks]
    assert [w.prospects_in for w in report.weeks][:3] == [2, 3, 0]
    assert weeks[3:] == [(True, no_ask[w.start]) for w in report.weeks[3:]]
    assert (report.prospects_in, report.asks_not_recorded) == (5, sum(no_ask.values()))
    assert sum(no_ask.values()) == 75 and sum(asked.values()) > 0
