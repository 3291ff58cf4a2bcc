"""The leaderboard chart's hover says what an average rests on, in chromium at 1366x900.

July's revenue per win in East as of 2026-07-15 (tests/unknown_amounts_org.py): Ben 20,000
over 1 of his 3 wins, Ana 2,500 over 2 of her 4. The table beside the chart says "(per win
with an amount: 1 of 3)"; the bar's hover said "1. Ben: 20,000" alone. Hovering each bar
must show the table's words (`describe.amounts_text`), as plotly.js draws them.
"""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import Browser
from sqlalchemy import Engine

from browser_org import served, session_cookie, unexpected, watched_page
from factories import users_without_password
from paceline import clock
from paceline.config import default_config_text, parse_settings
from unknown_amounts_org import AS_OF, EXTRA_METRICS, build_unknown_amounts_org

BOARD = f"/leaderboard?metric=revenue_per_win&period=month&team=East&as_of={AS_OF.isoformat()}"
# the bars in the figure's order: Plotly draws the first at the bottom, the leader on top
HOVERS = [
    "2. Ana: 2,500 (per win with an amount: 2 of 4)",
    "1. Ben: 20,000 (per win with an amount: 1 of 3)",
]


def test_hovering_a_bar_says_what_its_average_rests_on(
    browser: Browser, sqlite_engine: Engine
) -> None:
    settings = parse_settings(default_config_text() + EXTRA_METRICS)
    build_unknown_amounts_org(sqlite_engine, settings)
    root = users_without_password(sqlite_engine, {"root": ("admin", None)})["root"]
    with (
        clock.frozen(dt.datetime(2026, 7, 15, 17, tzinfo=dt.UTC)),
        served(sqlite_engine, settings) as url,
        watched_page(
            browser, url, {"width": 1366, "height": 900},
            session=session_cookie(sqlite_engine, root, url),
        ) as (page, problems),
    ):  # fmt: skip
        page.goto(BOARD)
        chart = page.get_by_test_id("leaderboard-chart").first
        bars = chart.locator("g.trace.bars g.point path")
        bars.first.wait_for()
        assert bars.count() == len(HOVERS)
        said = []
        for i in range(len(HOVERS)):
            box = bars.nth(i).bounding_box()  # the drag layer above the bars takes the mouse
            assert box is not None
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            label = chart.locator(".hoverlayer .hovertext")
            label.first.wait_for()
            said.append(" ".join(label.first.text_content().split()))  # type: ignore[union-attr]
            page.mouse.move(0, 0)
            label.first.wait_for(state="detached")
        assert said == HOVERS
    left = unexpected(problems)
    assert not left, left
