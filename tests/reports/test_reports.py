"""The weekly reports, against a small organisation built by hand, as of Wed 2026-11-18.

Calendar: the defaults (New York; Thanksgiving Thu Nov 26 and Fri Nov 27 are holidays), so
November 2026 has 19 business days and week 2026-W48 (Nov 23-29) has 3 (Mon-Wed).

Team East: Ana Ruiz and Ben Cole (AEs), manager Max; team West: Dee Fox (AE). Activities at
noon New York time. Proposals sent (kind "proposal"):
- Ana, last week: Mon Nov 9: 1, Wed Nov 11: 1, Thu Nov 12: 3 (Thursday is after the weekday
  of the report, so week over week compares 1 + 1 = 2); this week: Mon 16: 2, Tue 17: 1,
  Wed 18: 1 = 4, and Thu 19: 5 (after the as-of day: never read). Change +2, +100%.
- Ben: Mon Nov 9: 1 and Mon Nov 16: 1. The team's proposals: 5 this week against 3.
Meetings held (kind "meeting", outcome "held"): Ana, Tue Nov 10: 3; none this week: -3, -100%.

Ana's target: 38 proposals for November (stored for the month). Month to date: 2 + 4 + 3 = 9
(Nov 9, 11, 12, 16, 17, 18). Business days left after the 18th: 19, 20, 23, 24, 25, 30 = 6,
so the month needs (38 - 9) / 6 = 4.8333 a day; next week has 3 business days in November:
14.5 to finish the month on target. Next week's own target: 38 x 3/19 = 6.0.

Deals: Ana's "Acme expansion" (50,000, created Mon Nov 2, no activity ever): idle from Nov 3
to Nov 18 = 4 + 5 + 3 = 12 business days, stalled (10 or more). Her "Fresh start" (10,000,
created Nov 16, a selling call on it Nov 17): not stalled.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import PipeReader, login, made_app, migrated_sqlite_copy, quick_user
from paceline import clock
from paceline.analytics.report import rep_report, report_day, team_report
from paceline.cli import app as cli_app
from paceline.cli import out as cli_out
from paceline.errors import UserInputError
from paceline.reports.render import (
    report_html,
    report_message,
    report_pdf,
    weekly_message,
)
from paceline.services.reps import add_rep
from report_org import SETTINGS, build, nov

AS_OF = dt.date(2026, 11, 18)
SUITE_DAY = dt.date(2026, 12, 7)  # the day the faces' tests run as (a Monday)


@pytest.fixture(autouse=True)
def suite_day() -> Iterator[None]:
    """Fixed dates whatever day the suite runs as (PACELINE_TEST_TODAY), and the clock put
    back after each test: `--today` in a CLI test sets it for the whole process."""
    with clock.frozen(SUITE_DAY):
        yield


@pytest.fixture
def org(engine: Engine) -> Engine:
    build(engine)
    return engine


@pytest.fixture(scope="module")
def sqlite_org(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """One SQLite build the rendering and face tests share (they only read)."""
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path_factory.mktemp("reports"))
    build(engine)
    for username, role, rep in (
        ("ana", "rep", "Ana Ruiz"),
        ("ben", "rep", "Ben Cole"),
        ("max", "manager", "Max Stone"),
        ("wes", "manager", "Dee Fox"),  # linked to Dee: manages West
    ):
        quick_user(engine, username, role, rep)
    return engine


# --- which week ------------------------------------------------------------------------------


def test_report_day_is_the_weeks_last_day_or_today() -> None:
    # today Wed Nov 18: last week (default) is read to its Sunday, Nov 15
    assert report_day(SETTINGS, None, AS_OF) == nov(15)
    assert report_day(SETTINGS, nov(10), AS_OF) == nov(15)
    # the running week is read to today, never to its Sunday
    assert report_day(SETTINGS, nov(16), AS_OF) == AS_OF
    with pytest.raises(UserInputError, match="week"):
        report_day(SETTINGS, nov(23), AS_OF)


# --- the numbers ----------------------------------------------------------------------------


def test_rep_report_numbers(org: Engine) -> None:
    r = rep_report(org, SETTINGS, "ana ruiz", AS_OF)
    assert (r.rep, r.team, r.week.label) == ("Ana Ruiz", "East", "2026-W47")
    assert (r.compared_from, r.compared_to) == (nov(9), nov(12))  # Mon-Wed of last week
    change = {c.metric: c for c in r.changes}
    proposals = change["proposals"]
    assert (proposals.current, proposals.previous) == (4, 2)
    assert (proposals.change, proposals.relative, proposals.better) == (2, 1.0, True)
    held = change["meetings_held"]
    assert (held.current, held.previous, held.change, held.relative) == (0, 3, -3, -1.0)
    assert held.better is False
    week = {line.metric: line for line in r.week_card.lines}
    assert week["proposals"].pace.actual == 4
    assert week["proposals"].pace.target == pytest.approx(38 * 5 / 19)
    month = {line.metric: line for line in r.month_card.lines}
    assert month["proposals"].pace.actual == 9
    nxt = {t.metric: t for t in r.next_targets}
    assert r.next_week.label == "2026-W48"
    assert nxt["proposals"].target == pytest.approx(6.0)
    assert nxt["proposals"].month_needed == pytest.approx(14.5)
    assert nxt["meetings_held"].target is None  # no target stored: nothing asked
    assert [d.name for d in r.stalled] == ["Acme expansion"]
    assert r.stalled[0].idle_business_days == 12


def test_team_report_numbers(org: Engine) -> None:
    r = team_report(org, SETTINGS, "east", AS_OF)
    assert r.team == "East"
    assert sorted(c.rep for c in r.month_cards.reps) == ["Ana Ruiz", "Ben Cole"]
    change = {c.metric: c for c in r.changes}
    assert (change["proposals"].current, change["proposals"].previous) == (5, 3)
    assert (change["meetings_held"].current, change["meetings_held"].previous) == (0, 3)
    ana = next(a for a in r.attention if a.rep == "Ana Ruiz")
    assert any(f.kind == "stalled" and f.count == 1 for f in ana.findings)
    assert {a.rep for a in r.attention} | set(r.quiet) == {"Ana Ruiz", "Ben Cole"}
    # Dee (West) is in no part of East's report
    assert all(w.open_pipeline.count == 2 for w in r.flow.weeks if w.start >= nov(16))
    assert r.forecast is not None or r.forecast_note


def test_unknown_names_are_clear_errors(sqlite_org: Engine) -> None:
    with pytest.raises(UserInputError, match="Ana Ruiz"):
        rep_report(sqlite_org, SETTINGS, "Ana Ruis", AS_OF)
    with pytest.raises(UserInputError, match="team"):
        team_report(sqlite_org, SETTINGS, "Nowhere", AS_OF)


# --- the rendering ---------------------------------------------------------------------------


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


needs_pdftotext = pytest.mark.skipif(
    subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0,
    reason="pdftotext (poppler-utils) is not installed",
)


@needs_pdftotext
@pytest.mark.slow
def test_rep_pdf_says_the_numbers(sqlite_org: Engine, tmp_path: Path) -> None:
    report = rep_report(sqlite_org, SETTINGS, "Ana Ruiz", AS_OF)
    data = report_pdf(SETTINGS, report)
    assert data.startswith(b"%PDF")
    text = pdf_text(data, tmp_path)
    assert "Ana Ruiz: weekly one-on-one" in text
    assert "week 2026-W47" in text
    assert "+2 (+100%)" in text  # proposals, week over week
    assert "\u22123 (\u2212100%)" in text  # meetings held
    assert "Acme expansion" in text and "50,000" in text
    assert "no selling for 12 business days" in text
    assert "Next week (2026-W48)" in text
    next_week = text[text.index("Next week (2026-W48)") :]
    assert re.search(r"Proposals sent\s+6\s+14\.5", next_week)  # 38 x 3/19; 29/6 x 3
    assert "<svg" not in text and "script" not in text.lower()


@needs_pdftotext
@pytest.mark.slow
def test_team_pdf_says_the_numbers(sqlite_org: Engine, tmp_path: Path) -> None:
    report = team_report(sqlite_org, SETTINGS, "East", AS_OF)
    text = pdf_text(report_pdf(SETTINGS, report), tmp_path)
    assert "Team East: weekly report" in text
    assert "Who needs attention" in text
    assert "1 stalled deal worth 50,000 of 60,000 open" in text
    assert "Pipeline flow" in text and "2026-W47" in text
    assert "Dee Fox" not in text


def test_email_html_is_safe_for_mail(sqlite_org: Engine) -> None:
    """Inline styles only, no scripts, no SVG (mail clients drop them), names escaped."""
    message = report_message(SETTINGS, rep_report(sqlite_org, SETTINGS, "Ana Ruiz", AS_OF))
    assert message.subject == "Weekly one-on-one: Ana Ruiz, week 2026-W47"
    html = message.html.lower()
    for absent in ("<script", "<svg", "<link", "<style", "javascript:"):
        assert absent not in html
    assert '<table style="' in html
    assert "+2 (+100%)" in message.text
    assert "Acme expansion" in message.text
    assert message.pdf.startswith(b"%PDF")
    browser = report_html(SETTINGS, rep_report(sqlite_org, SETTINGS, "Ana Ruiz", AS_OF))
    assert "<svg" in browser and "<script" not in browser


def test_a_name_with_markup_is_escaped(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    add_rep(engine, SETTINGS, "<b>Eve</b> & co", "ae", "East")
    add_rep(engine, SETTINGS, "Ben Cole", "ae", "East")
    report = rep_report(engine, SETTINGS, "<b>Eve</b> & co", AS_OF)
    html = report_html(SETTINGS, report)
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in html


def test_weekly_message_reads_last_week_by_default(sqlite_org: Engine) -> None:
    message = weekly_message(sqlite_org, SETTINGS, "rep", "Ana Ruiz", today=AS_OF)
    assert message.subject == "Weekly one-on-one: Ana Ruiz, week 2026-W46"
    assert "Week 2026-W46" in message.text


# --- the faces -------------------------------------------------------------------------------


def test_cli_writes_pdf_and_html(sqlite_org: Engine, tmp_path: Path) -> None:
    url = str(sqlite_org.url)
    pdf, html = tmp_path / "ana.pdf", tmp_path / "ana.html"
    runner = CliRunner()
    args = ["--db", url, "--today", "2026-11-18", "report", "rep", "Ana Ruiz"]
    result = runner.invoke(
        cli_app, [*args, "--week", "2026-11-16", "--pdf", str(pdf), "--html", str(html)]
    )
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "Acme expansion" in html.read_text("utf-8")
    with cli_out.capture() as captured:
        text = runner.invoke(cli_app, [*args, "--week", "2026-11-16"])
    assert text.exit_code == 0
    assert "Proposals sent: 4 against 2 (+2 (+100%))" in captured.get()
    bad = runner.invoke(cli_app, ["--db", url, "report", "team", "Nowhere", "--week", "2026-11-16"])
    assert bad.exit_code == 1


def test_cli_writes_a_report_through_a_pipe_it_is_named(sqlite_org: Engine, tmp_path: Path) -> None:
    """`--html /dev/stdout` (or a pipe, or /dev/null): written through, not replaced by a
    regular file (as root the old move-into-place replaced the machine's /dev/null)."""
    pipe = PipeReader(tmp_path / "out")
    args = ["--db", str(sqlite_org.url), "--today", "2026-11-18", "report", "rep", "Ana Ruiz"]
    result = CliRunner().invoke(cli_app, [*args, "--week", "2026-11-16", "--html", str(pipe.path)])
    assert result.exit_code == 0, result.output
    assert pipe.is_pipe()
    assert "Acme expansion" in pipe.received().decode("utf-8")


@pytest.fixture(scope="module")
def client(sqlite_org: Engine) -> TestClient:
    return TestClient(made_app(SETTINGS, sqlite_org))


def _ids(engine: Engine) -> dict[str, int]:
    from paceline.store.records import rep_refs, team_ids

    reps = {ref.name: ref.id for ref in rep_refs(engine).values()}
    teams = {name: team_id for team_id, name in team_ids(engine).values()}
    return {**reps, **teams}


def test_report_downloads_follow_the_access_policy(sqlite_org: Engine, client: TestClient) -> None:
    ids = _ids(sqlite_org)
    ana, ben, east = ids["Ana Ruiz"], ids["Ben Cole"], ids["East"]
    week = {"week": "2026-11-16"}
    login(client, sqlite_org, "ana")
    own = client.get(f"/reps/{ana}/report.pdf", params=week)
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    assert own.headers["content-type"] == "application/pdf"
    assert client.get(f"/reps/{ben}/report.pdf", params=week).status_code == 403
    assert client.get(f"/teams/{east}/report.pdf", params=week).status_code == 403
    page = client.get(f"/reps/{ana}")
    assert f"/reps/{ana}/report.pdf" in page.text
    login(client, sqlite_org, "max")
    assert client.get(f"/reps/{ben}/report.pdf", params=week).status_code == 200
    team = client.get(f"/teams/{east}/report.html", params=week)
    assert team.status_code == 200 and "Team East: weekly report" in team.text
    assert f"/teams/{east}/report.pdf" in client.get("/team").text
    login(client, sqlite_org, "wes")
    assert client.get(f"/reps/{ana}/report.pdf", params=week).status_code == 403
    assert client.get(f"/teams/{east}/report.pdf", params=week).status_code == 403
    assert client.get("/reps/99999/report.pdf").status_code == 404


def test_api_reports(sqlite_org: Engine, client: TestClient) -> None:
    from paceline.auth.accounts import create_token

    def get(user: str, path: str, **params: str) -> Any:
        token = create_token(sqlite_org, user, "tests").token
        headers = {"Authorization": f"Bearer {token}"}
        return client.get(f"/api/v1/reports/{path}", params=params, headers=headers)

    week = "2026-11-16"
    own = get("ana", "rep", week=week)  # no rep named: the caller's own report
    assert own.status_code == 200
    body = own.json()
    assert (body["rep"], body["week"]["start"]) == ("Ana Ruiz", "2026-11-16")
    # The suite's clock (2026-12-07) is past week W47: the whole week is read, to Sunday the
    # 22nd, against the whole week before: Ana's 4 + 5 (Thu 19) = 9 against 1 + 1 + 3 = 5.
    assert body["as_of"] == "2026-11-22"
    proposals = next(c for c in body["changes"] if c["metric"] == "proposals")
    assert (proposals["current"], proposals["previous"], proposals["change"]) == (9, 5, 4)
    assert [d["name"] for d in body["stalled"]] == ["Acme expansion"]
    assert get("ana", "rep", rep="Ben Cole", week=week).status_code == 403
    assert get("ana", "team", week=week).status_code == 403
    assert get("ana", "rep", rep="Nobody", week=week).status_code == 404
    assert get("ana", "rep", week="2027-01-04").status_code == 422  # not started yet
    pdf = get("max", "team", week=week, format="pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert get("wes", "team", team="East", week=week).status_code == 403
    html = get("max", "rep", rep="Ben Cole", week=week, format="html")
    assert html.status_code == 200 and "Ben Cole: weekly one-on-one" in html.text


def test_cli_json(sqlite_org: Engine) -> None:
    url = str(sqlite_org.url)
    args = ["--db", url, "--today", "2026-11-18", "report", "team", "East", "--json"]
    with cli_out.capture() as captured:
        result = CliRunner().invoke(cli_app, [*args, "--week", "2026-11-16"])
    assert result.exit_code == 0, result.output
    data = json.loads(captured.get())
    proposals = next(c for c in data["changes"] if c["metric"] == "proposals")
    assert (data["team"], proposals["current"], proposals["previous"]) == ("East", 5, 3)
