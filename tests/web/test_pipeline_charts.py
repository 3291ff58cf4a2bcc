"""The pipeline flow chart (`pipeline_charts.flow_figure`) against hand-computed figures and
against the page's own table, on three hand-built Easts (tests/factories.py) as of Wednesday
2026-11-18 over "14d": ISO weeks W45 (Nov 2-8), W46 (Nov 9-15) and W47 (Nov 16-18).

- `build_flow_unknown_amounts`: won 1 deal of unknown amount in W45, 2 in W46 (20,000 known,
  one unknown), none in W47; in 0 / 1 (12,000) / 1 (amount unknown); lost 0 / 0 / 8,000;
  open at the weeks' ends 28,000 / 20,000 / 12,000 (known amounts).
- `build_flow_with_wins`: in 15,000 / 8,000 / 0; won 0 / 5,000 / 0; lost 0 / 0 / 8,000.
- `build_flow_without_wins`: the same without the win: no deal won, ever: "not recorded".

The chart drew a bar of height 0 for a week whose wins had no amount (the table counted them)
and a row of 0 bars for wins the data does not record. Then the same bars in chromium.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import (
    build_flow_unknown_amounts,
    build_flow_with_wins,
    build_flow_without_wins,
    login,
    made_app,
    quick_user,
)
from paceline.analytics.flow import pipeline_flow
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings
from paceline.web.pipeline_charts import flow_figure

AS_OF = dt.date(2026, 11, 18)
WEEKS = ["2026-W45", "2026-W46", "2026-W47"]
ONE_UNKNOWN = " (1 without an amount, not in the sum)"  # the table's words, after the value
Builder = Callable[[Engine, Settings], dict[str, int]]


def _figure(engine: Engine, settings: Settings) -> dict[str, Any]:
    window = diagnosis_window(settings, "14d", AS_OF)
    return flow_figure(pipeline_flow(engine, settings, window, team="East"))


def _traces(figure: dict[str, Any], kind: str, mode: str | None = None) -> dict[str, Any]:
    return {
        t["name"]: t
        for t in figure["data"]
        if t["type"] == kind and (mode is None or t.get("mode") == mode)
    }


def test_wins_without_an_amount_are_marked_not_drawn_as_zero(
    engine: Engine, settings: Settings
) -> None:
    build_flow_unknown_amounts(engine, settings)
    figure = _figure(engine, settings)
    bars = _traces(figure, "bar")
    assert {name: t["y"] for name, t in bars.items()} == {
        "Opportunities in": [0, 12_000, None],  # W47's one deal has no amount: no bar
        "Won": [None, -20_000, 0],  # W45's win has no amount; W47 won nothing: a true 0
        "Closed lost": [0, 0, -8_000],
    }
    assert bars["Won"]["customdata"] == [[1, ONE_UNKNOWN], [2, ONE_UNKNOWN], [0, ""]]
    assert bars["Opportunities in"]["customdata"] == [[0, ""], [1, ""], [1, ONE_UNKNOWN]]
    marks = _traces(figure, "scatter", "markers")
    assert {name: (t["x"], t["y"], t["customdata"]) for name, t in marks.items()} == {
        "Opportunities in: amount not recorded": (["2026-W47"], [0], [1]),
        "Won: amount not recorded": (["2026-W45"], [0], [1]),
    }
    assert marks["Won: amount not recorded"]["marker"]["color"] == bars["Won"]["marker"]["color"]
    assert "%{y:,.0f}%{customdata[1]}" in bars["Won"]["hovertemplate"]
    line = _traces(figure, "scatter", "lines+markers")["Open pipeline (end of week)"]
    assert line["y"] == [28_000, 20_000, 12_000]
    # Open at W45's end: the Nov 12 and Nov 13 wins and the deal lost Nov 17, one of unknown
    # amount; W46's: "new" and "lost", both known; W47's: "new" and "new, amount unknown".
    # The line's hover said nothing of them, where the table's cell did.
    assert [c[0] for c in line["customdata"]] == [3, 2, 2]
    assert [c[3] for c in line["customdata"]] == [ONE_UNKNOWN, "", ONE_UNKNOWN]
    assert "%{y:,.0f}%{customdata[3]}" in line["hovertemplate"]
    assert figure["layout"]["annotations"] == []


def test_wins_the_data_does_not_record_draw_no_bars(engine: Engine, settings: Settings) -> None:
    build_flow_without_wins(engine, settings)
    figure = _figure(engine, settings)
    assert {name: t["y"] for name, t in _traces(figure, "bar").items()} == {
        "Opportunities in": [10_000, 8_000, 0],
        "Closed lost": [0, 0, -8_000],
    }
    assert _traces(figure, "scatter", "markers") == {}
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["Won: not recorded"]


def test_wins_with_amounts_draw_their_value(engine: Engine, settings: Settings) -> None:
    build_flow_with_wins(engine, settings)
    figure = _figure(engine, settings)
    bars = _traces(figure, "bar")
    assert bars["Opportunities in"]["y"] == [15_000, 8_000, 0]
    assert bars["Won"]["y"] == [0, -5_000, 0]
    assert bars["Won"]["customdata"] == [[0, ""], [1, ""], [0, ""]]
    assert _traces(figure, "scatter", "markers") == {}
    assert figure["layout"]["annotations"] == []


def _page(engine: Engine, settings: Settings) -> str:
    quick_user(engine, "root", "admin")
    with TestClient(made_app(settings, engine)) as client:
        login(client, engine, "root")
        page = client.get("/flow", params={"period": "14d", "as_of": AS_OF.isoformat(),
                                           "team": "East"})  # fmt: skip
    assert page.status_code == 200, page.text
    return page.text


def _won_cells(html: str) -> list[str]:
    """The Won column of the flow table, tags stripped and spaces collapsed."""
    body = html[html.index('data-testid="flow-table"') :]
    rows = re.findall(r"<tr>\s*<th scope=\"row\".*?</tr>", body, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[2] for row in rows]
    return [" ".join(re.sub(r"<[^>]+>", "", c).split()) for c in cells]


def _page_figure(html: str) -> dict[str, Any]:
    start = html.index('<script type="application/json" id="flow-figure">')
    figure: dict[str, Any] = json.loads(
        html[html.index(">", start) + 1 : html.index("</script>", start)]
    )
    return figure


@pytest.mark.parametrize(
    ("build", "cells", "won"),
    [
        (
            build_flow_unknown_amounts,
            ["1 amount not recorded", "2 20k (1 without an amount, not in the sum)", "0 0"],
            [None, -20_000, 0],
        ),
        (build_flow_with_wins, ["0 0", "1 5,000", "0 0"], [0, -5_000, 0]),
        (build_flow_without_wins, ["not recorded"] * 3, None),
    ],
    ids=["unknown-amounts", "with-amounts", "not-recorded"],
)
def test_the_chart_shows_what_the_table_says(
    sqlite_engine: Engine, settings: Settings, build: Builder, cells: list[str], won: Any
) -> None:
    build(sqlite_engine, settings)
    html = _page(sqlite_engine, settings)
    assert _won_cells(html) == cells
    figure = _page_figure(html)
    bars = _traces(figure, "bar")
    assert (bars["Won"]["y"] if "Won" in bars else None) == won
    marked = _traces(figure, "scatter", "markers").get("Won: amount not recorded", {"x": []})
    # a week the table says has wins of no amount is marked, and only such a week
    assert marked["x"] == [w for w, c in zip(WEEKS, cells, strict=True) if "amount not" in c]
    unrecorded = [a["text"] for a in figure["layout"]["annotations"]]
    assert unrecorded == (["Won: not recorded"] if won is None else [])
    assert ('data-testid="flow-won-unrecorded"' in html) is (won is None)
    assert ('data-testid="flow-amount-unrecorded"' in html) is (build is build_flow_unknown_amounts)


# --- in chromium -------------------------------------------------------------------------------

# From plotly.js's own SVG: each bar trace's bars, [week index, height, centre x, base y] in
# px (a null value is drawn as a path of height 0, as a 0 is: hence the marks), and each
# scatter trace's points, [centre x, centre y].
DRAWN = """() => {
  const chart = document.querySelector('[data-testid="flow-chart"]');
  const box = el => el.getBBox();
  const bars = Array.from(chart.querySelectorAll('.barlayer .trace')).map(trace =>
    Array.from(trace.querySelectorAll('.point')).map(point => {
      const b = box(point.querySelector('path'));
      const base = point.__data__.s < 0 ? b.y : b.y + b.height;
      return [point.__data__.p, Math.round(b.height), Math.round(b.x + b.width / 2),
              Math.round(base)];
    }));
  const points = Array.from(chart.querySelectorAll('.scatterlayer .trace')).map(trace =>
    Array.from(trace.querySelectorAll('path.point')).map(point => {
      const m = /translate\\(([-\\d.]+),\\s*([-\\d.]+)\\)/.exec(point.getAttribute('transform'));
      return [Math.round(+m[1]), Math.round(+m[2])];
    }));
  const texts = sel => Array.from(chart.querySelectorAll(sel)).map(t => t.textContent);
  return {bars, points, legend: texts('.legendtext'), notes: texts('.annotation-text')};
}"""


@pytest.mark.parametrize(
    "build", [build_flow_unknown_amounts, build_flow_without_wins], ids=["unknown", "unrecorded"]
)
def test_the_bars_render_in_a_browser(
    browser: Any, sqlite_engine: Engine, settings: Settings, build: Builder
) -> None:
    """What chromium draws: W46's known win as a bar of some height, W45's win of no amount as
    a mark on the axis at W45 (its bar, like W47's true 0, of height 0); wins nobody records
    as no Won series at all and the words "Won: not recorded"."""
    from playwright.sync_api import expect

    from browser_org import PASSWORD, SCREENSHOTS, served, unexpected, watched_page
    from paceline.auth.accounts import add_user

    build(sqlite_engine, settings)
    add_user(sqlite_engine, "root", PASSWORD, "admin")
    path = f"/flow?period=14d&as_of={AS_OF.isoformat()}&team=East"
    with served(sqlite_engine, settings) as url:
        with watched_page(browser, url, {"width": 1366, "height": 900}) as (page, problems):
            page.goto(path)
            page.get_by_label("User name").fill("root")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_test_id("flow-chart")).to_have_attribute("data-rendered", "true")
            drawn = page.evaluate(DRAWN)
            page.screenshot(path=str(SCREENSHOTS / f"flow-{build.__name__}.png"), full_page=True)
        assert not unexpected(problems), problems
    bars, points = drawn["bars"], drawn["points"]
    if build is build_flow_unknown_amounts:
        assert drawn["legend"] == [
            "Opportunities in", "Won", "Closed lost", "Open pipeline (end of week)",
            "Opportunities in: amount not recorded", "Won: amount not recorded",
        ]  # fmt: skip
        created, won, lost = bars
        assert [(week, height > 0) for week, height, _, _ in won] == [
            (0, False), (1, True), (2, False)
        ]  # fmt: skip
        assert [height > 0 for _, height, _, _ in created] == [False, True, False]
        assert [height > 0 for _, height, _, _ in lost] == [False, False, True]
        # the marks: one each, on the axis (the bars' base) at the week with no amount
        # the marks' subplot first, then the line's (on the right-hand axis): its 3 weeks
        assert [len(p) for p in points] == [1, 1, 3]
        (created_x, created_y), (won_x, won_y) = points[0][0], points[1][0]
        assert abs(won_x - won[0][2]) <= 1 and abs(won_y - won[0][3]) <= 1  # W45
        assert abs(created_x - created[2][2]) <= 1 and abs(created_y - created[2][3]) <= 1  # W47
        assert drawn["notes"] == []
    else:
        assert len(bars) == 2 and "Won" not in drawn["legend"]  # in, lost: no Won series
        assert drawn["notes"] == ["Won: not recorded"]
