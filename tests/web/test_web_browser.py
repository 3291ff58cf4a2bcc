"""The web pages in a real browser: Playwright driving Debian's chromium, headless.

A uvicorn server runs the application on 127.0.0.1 (a free port) in a background thread over
a seeded SQLite file. Each test uses a fresh browser context (no shared cookies), fails on
any console error or uncaught page error (a Content-Security-Policy violation shows up as
one), and writes a screenshot of each page it visits to tests/web/screenshots/ for review.
The browser (one chromium per worker) is tests/web/conftest.py's; the server and the
watched page are tests/browser_org.py's.

`.ci/run` installs chromium with apt-get when it is missing; without it these tests are
skipped with that reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from browser_org import (
    PASSWORD,
    SCREENSHOTS,
    log_in,
    seeded_demo,
    served,
    session_cookie,
    unexpected,
    watched_page,
)
from paceline.config import Settings

LAPTOP = {"width": 1366, "height": 900}


@dataclass(frozen=True)
class Site:
    url: str
    rep: str  # the `rep` user's rep, an East SDR
    west_rep_id: int
    engine: Engine  # the served database
    users: dict[str, int]  # user name -> id: admin, manager, rep


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, today: dt.date
) -> Iterator[Site]:
    demo = seeded_demo(tmp_path_factory, settings, today, reps=12, months=3)
    west = next(r for r in demo.reps if r.team == "West" and r.role == "sdr")
    with served(demo.engine, settings) as url:
        yield Site(url, demo.rep.name, west.id, demo.engine, demo.users)


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    with watched_page(browser, site.url, LAPTOP) as (opened, problems):
        yield opened
    left = unexpected(problems)
    assert not left, left


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def actual(page: Page, metric: str, scope: str = "") -> float:
    text = page.locator(f'{scope} tr[data-metric="{metric}"] td.actual').first.inner_text()
    return float(text.replace(",", ""))


def test_log_in(page: Page, site: Site) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_label("User name")).to_be_focused()
    shot(page, "01-login")
    page.get_by_label("User name").fill("rep")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My scorecard")).to_be_visible()
    expect(page.get_by_text(site.rep).first).to_be_visible()
    expect(page.locator(".pacebar").first).to_be_visible()
    shot(page, "02-my-scorecard")


def test_log_an_activity_and_see_the_scorecard_change(page: Page) -> None:
    log_in(page, "rep", "/scorecard?period=week")
    before = actual(page, "meetings_set")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log activity").click()
    kind = page.get_by_label("Kind")
    expect(kind).to_be_focused()  # typing starts at once
    kind.select_option("call")
    page.get_by_label("Outcome").select_option("meeting_set")
    page.get_by_label("Asked for a yes/no").check()
    page.get_by_label("Account").fill("Globex Ltd")
    page.get_by_label("Minutes").fill("12")
    page.get_by_label("Notes").fill("demo booked for Tuesday")
    page.get_by_label("Notes").press("Enter")  # Enter submits
    expect(page.get_by_test_id("logged")).to_contain_text("call")
    assert actual(page, "meetings_set", '[data-testid="week-scorecard"]') == before + 1
    expect(page.get_by_label("Account")).to_have_value("Globex Ltd")  # remembered
    shot(page, "03-log-activity")
    page.goto("/scorecard?period=week")
    assert actual(page, "meetings_set") == before + 1
    shot(page, "04-scorecard-after-logging")


def test_manager_sees_the_team_page(page: Page) -> None:
    log_in(page, "manager")
    expect(page.get_by_role("heading", name="Team East")).to_be_visible()
    tables = page.get_by_test_id("team-table")  # one per role
    rows = tables.locator("tbody tr")
    assert rows.count() >= 4
    shot(page, "05-team")
    table = tables.first
    table.get_by_role("button", name="Rep").click()
    names = [n.strip() for n in table.locator("tbody tr th[scope=row]").all_inner_texts()]
    assert names == sorted(names, key=str.casefold)
    expect(table.locator("thead th").first).to_have_attribute("aria-sort", "ascending")


def test_rep_is_refused_another_teams_rep_page(page: Page, site: Site) -> None:
    log_in(page, "rep")
    response = page.goto(f"/reps/{site.west_rep_id}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shot(page, "06-refused")


def test_tv_leaderboard_renders_its_chart(page: Page) -> None:
    log_in(page, "manager", "/leaderboard?metric=conversations&period=month")
    chart = page.get_by_test_id("leaderboard-chart").first  # one chart per role
    expect(chart).to_have_attribute("data-rendered", "true")
    shot(page, "07-leaderboard")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.get_by_test_id("tv-link").click()
    expect(page).to_have_url(re.compile(r"/leaderboard/tv\?"))
    tv = page.get_by_test_id("tv-board")
    assert tv.get_by_test_id("tv-name").count() >= 2  # a named bar per East SDR (page 1)
    refresh = page.locator('meta[http-equiv="refresh"]').get_attribute("content")
    assert refresh is not None and int(refresh.split(";")[0]) > 0
    shot(page, "08-leaderboard-tv")


def test_csv_upload_reports_its_row_accounting(page: Page, site: Site) -> None:
    log_in(page, "admin", "/import")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "rep", "kind", "occurred_at", "outcome", "account"])
    writer.writerow(["b1", site.rep, "call", "2025-01-06 10:00", "conversation", "Initech"])
    writer.writerow(["b2", site.rep, "email", "2025-01-06 11:00", "", "Initech"])
    writer.writerow(["b3", site.rep, "telepathy", "2025-01-06 12:00", "", ""])
    page.get_by_label("CSV file").set_input_files(
        {"name": "calls.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode()}
    )
    page.get_by_role("button", name="Import").click()
    accounting = page.get_by_test_id("accounting")
    expect(accounting.locator('[data-count="read"]')).to_have_text("3")
    expect(accounting.locator('[data-count="inserted"]')).to_have_text("2")
    expect(accounting.locator('[data-count="rejected"]')).to_have_text("1")
    expect(page.get_by_text("Every row is accounted for")).to_be_visible()
    shot(page, "09-import")
    with page.expect_download() as download:
        page.get_by_test_id("errors-download").click()
    saved = download.value.path()
    rows = list(csv.reader(io.StringIO(Path(saved).read_text("utf-8"))))
    assert rows[1][:2] == ["4", "kind"]


def test_other_pages_for_review(page: Page) -> None:
    """Plan builder, activities (delete and undo), tokens and users, as screenshots."""
    log_in(page, "admin", "/plan")
    page.get_by_label("Revenue goal for the year").fill("20M")
    page.get_by_label("Average deal size").fill("35k")
    page.get_by_label("Meetings set → Meetings held").fill("80%")
    page.get_by_role("button", name="Build plan").click()
    expect(page.get_by_test_id("cascade")).to_be_visible()
    shot(page, "10-plan")

    page.goto("/activities")
    first = page.locator("tbody tr[data-id]").first
    activity_id = first.get_attribute("data-id")
    first.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("deleted")).to_be_visible()
    assert page.locator(f'tr[data-id="{activity_id}"]').count() == 0
    shot(page, "11-activities-deleted")
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_test_id("restored")).to_be_visible()
    expect(page.locator(f'tr[data-id="{activity_id}"]')).to_have_count(1)

    page.goto("/tokens")
    page.get_by_label("What is it for?").fill("calendar sync")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("new-token")).to_be_visible()
    shot(page, "12-tokens")
    page.goto("/users")
    shot(page, "13-users")


@pytest.mark.parametrize(
    ("path", "charts"),
    [
        ("/funnel", ["funnel-chart", "conversion-chart"]),
        ("/equation", []),  # the team's table; a rep's waterfall is below
        ("/quality", ["quality-chart"]),
        ("/when", ["when-chart"]),
        ("/flow", ["flow-chart"]),
        ("/stalled", []),
    ],
)
def test_diagnosis_pages_draw_their_charts(
    browser: Browser, site: Site, path: str, charts: list[str]
) -> None:
    """Each analysis page of the manager's team draws its Plotly charts (no CSP error).

    Signed in by a session cookie (the form is test_log_in's), and each wait is for an event
    that comes: the page's answer, then each chart's own `data-rendered`, set when Plotly has
    drawn it. Through the form, one 15 s click waited for the login page, the redirect and
    the whole analysis page (Playwright waits for a navigation the click starts), and timed
    out once on a loaded machine."""
    session = session_cookie(site.engine, site.users["manager"], site.url)
    with watched_page(browser, site.url, LAPTOP, session=session) as (page, problems):
        page.goto(f"{path}?period=90d", wait_until="commit")
        for chart in charts:
            drawn = page.get_by_test_id(chart)
            expect(drawn).to_have_attribute("data-rendered", "true")
            assert drawn.locator("svg").count() >= 1
        page.wait_for_load_state()
        shot(page, f"diagnose{path.replace('/', '-')}")
    left = unexpected(problems)
    assert not left, left


def test_manager_reads_a_reps_brief(page: Page, site: Site) -> None:
    """From the team's diagnosis to one rep's brief, with its charts and coaching."""
    log_in(page, "manager", "/diagnose?period=90d")
    table = page.get_by_test_id("team-diagnosis")
    expect(table).to_be_visible()
    shot(page, "diagnose-team")
    table.get_by_role("link", name=site.rep).click()
    expect(page.get_by_role("heading", name=f"Diagnosis: {site.rep}")).to_be_visible()
    expect(page.get_by_test_id("diagnose-funnel-chart")).to_have_attribute("data-rendered", "true")
    expect(page.get_by_role("heading", name="Coaching")).to_be_visible()
    shot(page, "diagnose-brief")
    page.goto("/equation?period=90d")
    rows = page.get_by_test_id("equation-table").locator("tbody tr")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    closer = next(t for t in texts if "applicable" not in t and "zero" not in t)
    rows.nth(texts.index(closer)).get_by_role("link").click()
    expect(page.get_by_test_id("equation-chart")).to_have_attribute("data-rendered", "true")
    shot(page, "diagnose-equation-rep")
    page.goto(f"/diagnose?period=90d&rep={site.rep}")
    page.get_by_role("link", name="Funnel", exact=True).click()
    expect(page).to_have_url(re.compile(r"/funnel\?.*rep="))
    expect(page.get_by_test_id("funnel-chart")).to_have_attribute("data-rendered", "true")


def test_tipping_point_page_draws_the_curve(page: Page) -> None:
    """The manager's tipping point page: scatter, fitted curve and interval (or a refusal)."""
    log_in(page, "manager", "/tipping")
    summary = page.get_by_test_id("tipping-summary").or_(page.get_by_test_id("tipping-refusal"))
    expect(summary.first).to_be_visible()
    chart = page.get_by_test_id("tipping-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    assert chart.locator("svg").count() >= 1
    shot(page, "insight-tipping")


def test_forecast_page_draws_its_fan_and_backtest(page: Page) -> None:
    """The admin's forecast: the fan chart against target, then the backtest on demand."""
    log_in(page, "admin", "/forecast")
    expect(page.get_by_test_id("p50")).to_be_visible()
    chart = page.get_by_test_id("forecast-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    shot(page, "insight-forecast")
    page.get_by_test_id("run-backtest").click()
    expect(page.get_by_test_id("backtest-scores")).to_be_visible()
    shot(page, "insight-backtest")


def test_api_docs_list_every_operation(page: Page, site: Site) -> None:
    """Swagger UI 4 could not read FastAPI's OpenAPI 3.1 and showed "Unable to render this
    definition" (the page still answered 200): count the operations a person sees."""
    spec = page.request.get("/api/v1/openapi.json").json()
    operations = sum(
        1
        for methods in spec["paths"].values()
        for m in methods
        if m in {"get", "post", "put", "patch", "delete"}
    )
    page.goto("/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    assert "Unable to render" not in page.content()
    assert page.locator(".opblock").count() == operations
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/scorecard").first
    ).to_be_visible()
