"""The leaderboard and the TV board in a real browser, at 1366x900 and at phone size 390x844.

On the demo with 27 reps (11 SDRs, 9 AEs, 7 field reps, in three teams): every name on each
TV page is present, horizontal, inside the screen and clear of the others; the leaderboard
page does not scroll sideways on a phone; the viewer's own row is highlighted. Screenshots go
to docs/images/. The fixtures are copied from test_web_browser.py, not imported from it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from factories import free_port
from paceline.analytics.roster import list_reps
from paceline.auth.accounts import add_user
from paceline.config import Settings
from paceline.demo import build_demo
from paceline.server import create_app
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade

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
# Screenshots go to docs/images/ only when asked (PACELINE_DOCS_IMAGES=1), to refresh the
# pictures the docs show; otherwise beside the other browser screenshots, so a test run never
# leaves the work tree changed.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "images"
    if os.environ.get("PACELINE_DOCS_IMAGES") == "1"
    else Path(__file__).resolve().parent / "screenshots"
)
PASSWORD = "correct-horse-battery"

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does this)",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402  (only once chromium is known to be there)
    Browser,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)


@dataclass(frozen=True)
class Site:
    url: str
    rep: str  # the `rep` user's rep, an East SDR
    west_rep_id: int


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, today: dt.date
) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("browser") / "paceline.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    build_demo(engine, settings, seed=7, reps=30, months=2, today=today)  # 27 reps, 3 managers
    reps = list_reps(engine)
    rep = next(r for r in reps if r.team == "East" and r.role == "sdr")
    manager = next(r for r in reps if r.team == "East" and r.role == "manager")
    west = next(r for r in reps if r.team == "West" and r.role == "sdr")
    add_user(engine, "admin", PASSWORD, "admin")
    add_user(engine, "manager", PASSWORD, "manager", rep=manager.name)
    add_user(engine, "rep", PASSWORD, "rep", rep=rep.name)

    port = free_port()
    config = uvicorn.Config(
        create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", rep.name, west.id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


SIZES = {"wide": (1366, 900), "phone": (390, 844)}


@pytest.fixture(params=sorted(SIZES))
def page(browser: Browser, site: Site, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = SIZES[request.param]
    context = browser.new_context(
        base_url=site.url, viewport={"width": width, "height": height}, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield opened
    context.close()
    # Refusals (a wrong password, another team's page) are what some tests ask for.
    expected = re.compile(r"Failed to load resource: .* status of (401|403)\b")
    unexpected = [p for p in problems if not expected.search(p)]
    assert not unexpected, unexpected


def shot(page: Page, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def log_in(page: Page, username: str, next_path: str = "/") -> None:
    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _size(page: Page) -> str:
    viewport = page.viewport_size
    assert viewport is not None
    return "phone" if viewport["width"] < 600 else "wide"


def _boxes(page: Page, test_id: str) -> list[dict[str, float]]:
    boxes = []
    for element in page.get_by_test_id(test_id).all():
        box = element.bounding_box()
        assert box is not None, f"a {test_id} is not displayed"
        boxes.append(box)
    return boxes


def _apart(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] + a["width"] <= b["x"] + 0.5
        or b["x"] + b["width"] <= a["x"] + 0.5
        or a["y"] + a["height"] <= b["y"] + 0.5
        or b["y"] + b["height"] <= a["y"] + 0.5
    )


def _check_tv_page(page: Page) -> list[str]:
    """Every name and value on this TV page legible; returns the names shown."""
    viewport = page.viewport_size
    assert viewport is not None
    names = [n.strip() for n in page.get_by_test_id("tv-name").all_inner_texts()]
    assert 1 <= len(names) <= 10 and all(names)
    labels = _boxes(page, "tv-name") + _boxes(page, "tv-value")
    for box in labels:
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 0.5, box
        assert box["width"] > box["height"] * 0.5  # horizontal text, not a sideways column
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert _apart(a, b), (a, b)
    size = page.get_by_test_id("tv-name").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= (16 if viewport["width"] < 600 else 32), size  # a phone; across a room
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= viewport["width"], scroll
    return names


def test_tv_board_shows_every_name_legibly(page: Page) -> None:
    log_in(page, "admin", "/leaderboard/tv?metric=selling_activities&period=month&role=all")
    first = page.get_by_test_id("tv-page").inner_text()
    count = int(re.search(r"of (\d+)", first).group(1))  # type: ignore[union-attr]
    assert count == 3  # 27 reps, 10 a page
    seen: list[str] = []
    for number in range(1, count + 1):
        page.goto(f"/leaderboard/tv?metric=selling_activities&period=month&role=all&page={number}")
        if number == 1:
            shot(page, f"tv-board-{_size(page)}", full_page=False)
        seen += _check_tv_page(page)
    assert len(seen) == len(set(seen)) == 27  # nobody skipped, nobody twice


def test_tv_board_each_role_on_its_own_pages(page: Page) -> None:
    log_in(page, "admin", "/leaderboard/tv?metric=conversations&period=month")
    titles = []
    for number in range(1, 5):
        page.goto(f"/leaderboard/tv?metric=conversations&period=month&page={number}")
        _check_tv_page(page)
        titles.append(page.locator(".tv-head p").inner_text().split(" · ")[0])
    assert titles == [
        "Sales development rep",
        "Sales development rep",
        "Account executive",
        titles[3],
    ]
    assert "page 4 of 4" in page.get_by_test_id("tv-page").inner_text()


def test_leaderboard_fits_and_marks_you(page: Page, site: Site) -> None:
    log_in(page, "rep", "/leaderboard?metric=conversations&period=month&by=target")
    you = page.get_by_test_id("you-row")
    expect(you).to_have_count(1)
    expect(you).to_contain_text(site.rep)
    expect(you).to_contain_text("you")
    colour = you.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")
    other = page.locator("tbody tr:not(.you) td").first.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert colour != other
    expect(page.get_by_test_id("leaderboard-chart").first).to_have_attribute(
        "data-rendered", "true"
    )
    viewport = page.viewport_size
    assert viewport is not None
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= viewport["width"], f"the page scrolls sideways: {scroll}px"
    shot(page, f"leaderboard-{_size(page)}")
