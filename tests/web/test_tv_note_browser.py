"""The TV board's note under a partial figure, in chromium at 1366x900 and at phone size
390x844.

July's revenue per win in East as of 2026-07-15 (tests/unknown_amounts_org.py): Ben 20,000
over 1 of his 3 wins, Ana 2,500 over 2 of her 4, each average read over the wins with an
amount (a sum that left wins out is not drawn at all: it is not ranked). The note must sit
under its figure, inside its row and the screen, smaller than the figure, clear of every
other row.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from browser_org import served, session_cookie, unexpected, watched_page
from factories import users_without_password
from paceline import clock
from paceline.config import default_config_text, parse_settings
from unknown_amounts_org import AS_OF, EXTRA_METRICS, build_unknown_amounts_org

BOARD = f"/leaderboard/tv?metric=revenue_per_win&period=month&team=East&as_of={AS_OF.isoformat()}"
NOTES = {"Ben": "1 of 3 wins with amount", "Ana": "2 of 4 wins with amount"}


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)])
def test_the_note_sits_small_under_the_figure(
    browser: Browser, sqlite_engine: Engine, size: tuple[int, int]
) -> None:
    settings = parse_settings(default_config_text() + EXTRA_METRICS)
    build_unknown_amounts_org(sqlite_engine, settings)
    root = users_without_password(sqlite_engine, {"root": ("admin", None)})["root"]
    width, height = size
    with (
        clock.frozen(dt.datetime(2026, 7, 15, 17, tzinfo=dt.UTC)),
        served(sqlite_engine, settings) as url,
        watched_page(
            browser, url, {"width": width, "height": height},
            session=session_cookie(sqlite_engine, root, url),
        ) as (page, problems),
    ):  # fmt: skip
        page.goto(BOARD)
        rows = page.get_by_test_id("tv-row").all()
        noted = [row for row in rows if row.get_by_test_id("tv-note").count()]
        assert len(noted) == 2, page.content()
        row_boxes = [row.bounding_box() for row in rows]
        for row in noted:
            note = row.get_by_test_id("tv-note")
            name = row.get_by_test_id("tv-name").inner_text().strip()
            assert note.inner_text() == NOTES[name]
            box, value, own = (
                note.bounding_box(),
                row.get_by_test_id("tv-value").bounding_box(),
                row.bounding_box(),
            )
            assert box and value and own
            assert box["y"] >= value["y"] + value["height"] * 0.4, (box, value)  # under it
            assert _inside(box, own), (box, own)
            assert box["x"] + box["width"] <= width + 0.5, box
            others = [b for b in row_boxes if b and b != own]
            assert all(not _inside(box, b) for b in others)
            sizes = note.evaluate(
                "e => [parseFloat(getComputedStyle(e).fontSize),"
                " parseFloat(getComputedStyle(e.parentElement).fontSize)]"
            )
            assert sizes[0] < sizes[1] * 0.75, sizes  # small, yet legible on a phone
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, scroll
    left = unexpected(problems)
    assert not left, left
