"""The leaderboard and the TV board in a real browser, at 1366x900 and at phone size 390x844.

On the demo with 27 reps (11 SDRs, 9 AEs, 7 field reps, in three teams): every name on each
TV page is present, horizontal, inside the screen and clear of the others; the leaderboard
page does not scroll sideways on a phone; the viewer's own row is highlighted. Screenshots go
to tests/web/screenshots/ (to docs/images/ with PACELINE_DOCS_IMAGES=1). The browser is
tests/web/conftest.py's; the server and the watched page are tests/browser_org.py's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from browser_org import IMAGES, log_in, seeded_demo, served, unexpected, watched_page
from paceline.config import Settings


@dataclass(frozen=True)
class Site:
    url: str
    rep: str  # the `rep` user's rep, an East SDR


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, today: dt.date
) -> Iterator[Site]:
    demo = seeded_demo(tmp_path_factory, settings, today, reps=30, months=2)  # 27 reps, 3 teams
    with served(demo.engine, settings) as url:
        yield Site(url, demo.rep.name)


SIZES = {"wide": (1366, 900), "phone": (390, 844)}


@pytest.fixture(params=sorted(SIZES))
def page(browser: Browser, site: Site, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = SIZES[request.param]
    with watched_page(browser, site.url, {"width": width, "height": height}) as (opened, problems):
        yield opened
    left = unexpected(problems)
    assert not left, left


def shot(page: Page, name: str, full_page: bool = True) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=full_page)


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
