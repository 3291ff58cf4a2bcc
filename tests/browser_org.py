"""What the browser tests share: a seeded demo served by uvicorn in a thread, a watched page.

The fixtures (one chromium per test session and xdist worker) are in tests/web/conftest.py;
the test files (tests/web/test_web_browser.py, test_board_browser.py, test_web_phone.py) keep
their own module-scoped `site`, each on a private copy of a demo built once per test run
(`factories.shared_demo`), because some of them write (log an activity, upload a CSV).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import Engine

from factories import served_app, shared_demo, sqlite_copy
from paceline.analytics.roster import RepInfo, list_reps
from paceline.auth.accounts import add_user, start_session
from paceline.callers import SESSION_COOKIE
from paceline.config import Settings
from paceline.server import create_app

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery"
SCREENSHOTS = Path(__file__).resolve().parent / "web" / "screenshots"
# The pictures the docs show go to docs/images/ only when asked (PACELINE_DOCS_IMAGES=1), to
# refresh them; otherwise beside the other screenshots, so a test run leaves the tree as it was.
IMAGES = (
    Path(__file__).resolve().parents[1] / "docs" / "images"
    if os.environ.get("PACELINE_DOCS_IMAGES") == "1"
    else SCREENSHOTS
)
# Refusals (a wrong password, another team's page) are what some tests ask for.
EXPECTED_REFUSAL = re.compile(r"Failed to load resource: .* status of (401|403)\b")


@dataclass(frozen=True)
class SeededDemo:
    """A private copy of a demo organisation with the users admin, manager and rep."""

    engine: Engine
    reps: list[RepInfo]
    rep: RepInfo  # the `rep` user's rep: the first East SDR
    manager: RepInfo  # the `manager` user's rep: East's manager
    users: dict[str, int]  # user name -> id: admin, manager, rep


def seeded_demo(
    tmp_path_factory: pytest.TempPathFactory,
    settings: Settings,
    today: dt.date,
    *,
    reps: int,
    months: int,
) -> SeededDemo:
    """A copy of the demo (seed 7, built once per test run) with three users added."""
    built = shared_demo(tmp_path_factory, settings, seed=7, reps=reps, months=months, today=today)
    engine = sqlite_copy(built.path, tmp_path_factory.mktemp("browser"))
    roster = list_reps(engine)
    rep = next(r for r in roster if r.team == "East" and r.role == "sdr")
    manager = next(r for r in roster if r.team == "East" and r.role == "manager")
    users = [
        add_user(engine, "admin", PASSWORD, "admin"),
        add_user(engine, "manager", PASSWORD, "manager", rep=manager.name),
        add_user(engine, "rep", PASSWORD, "rep", rep=rep.name),
    ]
    return SeededDemo(engine, roster, rep, manager, {user.username: user.id for user in users})


@contextmanager
def served(engine: Engine, settings: Settings) -> Iterator[str]:
    """The application on `engine`, served by uvicorn on a free loopback port in a thread of
    this process (no subprocess to start): its base URL. Stopped, and the engine disposed,
    on the way out."""
    try:
        with served_app(create_app(settings, engine)) as url:
            yield url
    finally:
        engine.dispose()


@contextmanager
def watched_page(
    browser: Browser,
    base_url: str,
    viewport: dict[str, int],
    timeout_ms: int = 15_000,
    session: SetCookieParam | None = None,
) -> Iterator[tuple[Page, list[str]]]:
    """A page in a fresh browser context (no shared cookies; signed in when given a
    `session_cookie`) and the console errors and uncaught page errors it reports (a
    Content-Security-Policy violation is one); the caller fails the test on those it did not
    ask for."""
    context = browser.new_context(base_url=base_url, viewport=viewport, locale="en-GB")
    context.set_default_timeout(timeout_ms)
    if session is not None:
        context.add_cookies([session])
    page = context.new_page()
    problems: list[str] = []
    if session is not None:
        # A session the server does not know sends every page to the login form, where a
        # test about a page's layout would pass on the wrong page.
        page.on(
            "framenavigated",
            lambda frame: (
                problems.append(f"sent to the login form: {frame.url}")
                if frame is page.main_frame and urlsplit(frame.url).path == "/login"
                else None
            ),
        )

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        yield page, problems
    finally:
        context.close()


def session_cookie(engine: Engine, user_id: int, base_url: str) -> SetCookieParam:
    """A new web session of this user, started on the served database as the login form
    starts one (`start_session`), as the cookie the form's answer sets: a browser context
    given it opens the page a test is about at once. Logging in through the form cost each
    test the login page and the page it lands on (/team or /scorecard, charts and all), drawn
    for nothing before the test went to its own page; the form is tested by
    test_web_browser.py's `log_in`, which lands on the page its test reads."""
    token, _csrf = start_session(engine, user_id)
    return {"name": SESSION_COOKIE, "value": token, "url": base_url, "httpOnly": True}


Opener = Callable[[dict[str, int], str], Page]


@contextmanager
def signed_in_pages(
    browser: Browser, engine: Engine, users: dict[str, int], base_url: str
) -> Iterator[Opener]:
    """Opens signed-in pages (a session of their own each, `session_cookie`) at a viewport
    size, not yet on any page, by user name (`users`: name -> id); fails the test at the end
    on any console or page error they reported. The phone and words browser tests share it."""
    problems: list[list[str]] = []  # what each page opened reported
    with ExitStack() as pages:

        def opener(viewport: dict[str, int], username: str) -> Page:
            session = session_cookie(engine, users[username], base_url)
            page, seen = pages.enter_context(
                watched_page(browser, base_url, viewport, timeout_ms=20_000, session=session)
            )
            problems.append(seen)
            return page

        yield opener
    reported = [problem for seen in problems for problem in seen]
    assert not reported, reported


def unexpected(problems: list[str]) -> list[str]:
    """The problems a page reported, less the refusals (401, 403) a test asks for."""
    return [p for p in problems if not EXPECTED_REFUSAL.search(p)]


def log_in(page: Page, username: str, next_path: str = "/") -> None:
    """Log in through the form, starting from `next_path` (which sends to /login first)."""
    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
