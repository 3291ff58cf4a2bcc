"""The same question on every face, each with its own defaults: the same answer, and each face
names what it used.

Leaderboard. Data: `report_org`'s hand-built November 2026, read on Wednesday 18 November
with no day given to any face (the clock is frozen there). Proposals, counted by hand from the
days `report_org` plants them on:

- month to date (1-18 Nov): Ana Ruiz 9 (9, 11, 12 x3, 16 x2, 17, 18), Ben Cole 2 (9, 16),
  Dee Fox 2 (10, 17);
- week to date (Mon 16 - Wed 18 Nov, ISO week 2026-W47): Ana 4, Ben 1, Dee 1.

The leaderboard page, its CSV download, `paceline leaderboard` and `GET /api/v1/leaderboard`
default to `leaderboard.period` (month); the TV board and kiosk links to
`leaderboard.tv_period` (week). Before, the page, its CSV and the TV board said "week" in the
code of each face and the API and CLI "month", so the page and the API gave different rows for
the same request.

Forecast. Data: `factories.make_world` (seed 11), twelve months of one AE's deals through
three stages up to 18 November 2026; the quarter's forecast with `runs` 500 and `seed` 7.
The page ignored both (it ran the configured 5,000 runs with seed 20261123), so its P10, P50
and P90 were not the API's nor the CLI's for the same question.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import Site, make_site, make_world, variant, write_world
from paceline import clock
from paceline.auth.kiosks import create_kiosk_link
from paceline.cli import app, load_commands
from paceline.config import Settings
from report_org import SETTINGS, build

AS_OF = dt.date(2026, 11, 18)
MONTH_ROWS = [(1, "Ana Ruiz", 9.0), (2, "Ben Cole", 2.0), (2, "Dee Fox", 2.0)]
WEEK_ROWS = [(1, "Ana Ruiz", 4.0), (2, "Ben Cole", 1.0), (2, "Dee Fox", 1.0)]
USERS = {"root": ("admin", None), "max": ("manager", "Max Stone")}

Row = tuple[int | None, str, float | None]


@pytest.fixture(autouse=True)
def on_the_day() -> Iterator[None]:
    """Every face's "today" is Wednesday 18 November 2026; no face is given a day."""
    with clock.frozen(AS_OF):
        yield


def _cli_json(engine: Engine, *args: str) -> Any:
    """`paceline --db URL ARGS --json` with the default configuration, as JSON."""
    load_commands()
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--db", url, "--today", AS_OF.isoformat(), *args, "--json"])
    assert result.exit_code == 0, (args, result.output)
    return json.loads(result.output)


def _board_rows(board: dict[str, Any]) -> list[Row]:
    return [(r["rank"], r["rep"], r["value"]) for r in board["rows"]]


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


class _Cells(HTMLParser):
    """The text of each row's cells in the page's tables' bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _page_rows(text: str) -> list[Row]:
    """(rank, rep, value) of the leaderboard page's table: #, rep, team, value, ..."""
    parser = _Cells()
    parser.feed(text)
    return [(int(r[0]), r[1], float(r[3].replace(",", ""))) for r in parser.rows]


def _tv_rows(text: str) -> list[Row]:
    found = re.findall(
        r'class="tv-rank">(\d+)</span>\s*<span class="tv-name" data-testid="tv-name">([^<]+)'
        r'.*?data-testid="tv-value">([^<]+)</span>',
        text,
        re.S,
    )
    return [(int(rank), name.strip(), float(value)) for rank, name, value in found]


def _follow(site: Site, href: str) -> Any:
    """The page's own link (as written in its HTML), opened by the admin."""
    path, _, query = html.unescape(href).partition("?")
    return site.page("root", path, **dict(parse_qsl(query)))


@pytest.fixture
def site(engine: Engine) -> Site:
    build(engine)
    return make_site(engine, SETTINGS, USERS)


def test_every_face_that_asks_ranks_the_month_by_default(engine: Engine, site: Site) -> None:
    """The page, its CSV, the API and the CLI, asked for the proposals board and nothing else,
    rank the same reps on the same month-to-date counts, and each names the month."""
    api = site.api("root", "/leaderboard", metric="proposals")
    assert api.status_code == 200, api.text
    assert _board_rows(api.json()) == MONTH_ROWS
    assert api.json()["period"]["kind"] == "month"
    cli = _cli_json(engine, "leaderboard", "proposals")
    assert _board_rows(cli) == MONTH_ROWS
    assert cli["period"] == api.json()["period"]
    page = site.page("root", "/leaderboard", metric="proposals")
    assert page.status_code == 200, page.text
    assert _page_rows(page.text) == MONTH_ROWS
    assert "month 2026-11 to 2026-11-18" in page.text  # the page names the period it ranks
    download = site.page("root", "/leaderboard/export.csv", metric="proposals")
    assert download.status_code == 200, download.text
    rows = _csv_rows(download.text)
    assert [(int(r["rank"]), r["rep"], float(r["value"])) for r in rows] == MONTH_ROWS
    assert {(r["period"], r["as_of"]) for r in rows} == {("2026-11", "2026-11-18")}


def test_the_wall_screens_rank_the_week_by_default_and_say_so(engine: Engine, site: Site) -> None:
    tv = site.page("root", "/leaderboard/tv", metric="proposals")
    assert tv.status_code == 200, tv.text
    assert _tv_rows(tv.text) == WEEK_ROWS
    assert "Week 2026-W47" in tv.text
    link = create_kiosk_link(engine, "East", "floor")
    kiosk = site.client.get(f"/kiosk/{link.token}", params={"metric": "proposals"})
    assert kiosk.status_code == 200, kiosk.text
    assert _tv_rows(kiosk.text) == [r for r in WEEK_ROWS if r[1] != "Dee Fox"]  # East only
    assert "Week 2026-W47" in kiosk.text
    asked = site.page("root", "/leaderboard/tv", metric="proposals", period="month")
    assert _tv_rows(asked.text) == MONTH_ROWS  # asked: the period asked, as on every face


def test_the_page_and_its_download_keep_the_ranking_asked(engine: Engine, site: Site) -> None:
    """By % of own target: Ana alone has one (38 proposals for November; 13 of 19 business
    days to 18 Nov expected, 26.0; 9 done: 34.6%), Ben and Dee are listed apart. The download
    of the page's board ranked by count before (it dropped `by`)."""
    page = site.page("root", "/leaderboard", metric="proposals", by="target")
    link = re.search(r'href="(/leaderboard/export\.csv\?[^"]+)"', page.text)
    assert link is not None
    download = _follow(site, link.group(1))
    assert download.status_code == 200, download.text
    rows = {r["rep"]: r for r in _csv_rows(download.text)}
    assert (rows["Ana Ruiz"]["rank"], rows["Ben Cole"]["rank"]) == ("1", "")
    assert {r["by"] for r in rows.values()} == {"target"}
    bad = site.page("root", "/leaderboard/export.csv", metric="proposals", by="best")
    assert bad.status_code == 422
    assert "by: &#39;best&#39; is not allowed here; use one of count, target, improved." in bad.text


def test_the_default_period_is_one_setting_every_face_reads(engine: Engine) -> None:
    """`leaderboard.period = "week"` moves the page, its CSV and the API together."""
    build(engine)
    weekly: Settings = variant(SETTINGS, leaderboard={"period": "week"})
    site = make_site(engine, weekly, USERS)
    api = site.api("root", "/leaderboard", metric="proposals")
    assert _board_rows(api.json()) == WEEK_ROWS
    page = site.page("root", "/leaderboard", metric="proposals")
    assert _page_rows(page.text) == WEEK_ROWS
    download = site.page("root", "/leaderboard/export.csv", metric="proposals")
    assert {r["period"] for r in _csv_rows(download.text)} == {"2026-W47"}


# --- the forecast -----------------------------------------------------------------------------


def _money(value: float) -> str:
    """Money as the pages print it (docs/web-and-api.md): 28.7k, 1.25M, 950."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f}M".replace(".00M", "M")
    if abs(value) >= 1e4:
        return f"{value / 1e3:,.1f}k".replace(".0k", "k")
    return f"{value:,.0f}"


def _shown(text: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(?:<strong>)?([^<]+)<', text)
    assert found is not None, testid
    return found.group(1).strip()


def test_the_forecast_page_runs_the_simulation_asked(engine: Engine, settings: Settings) -> None:
    world = make_world(settings, seed=11, as_of=AS_OF)
    write_world(engine, world)
    site = make_site(engine, settings, {"root": ("admin", None)})
    asked = {"runs": "500", "seed": "7"}
    api = site.api("root", "/forecast", **asked)
    assert api.status_code == 200, api.text
    answer = api.json()
    assert (answer["runs"], answer["seed"]) == (500, 7)
    cli = _cli_json(engine, "forecast", "--runs", "500", "--seed", "7")
    assert cli == answer  # the same result object, to the last digit
    page = site.page("root", "/forecast", **asked)
    assert page.status_code == 200, page.text
    for part in ("p10", "p50", "p90"):
        assert _shown(page.text, part) == _money(answer[part]), part
    assert "500 simulated outcomes (seed 7)" in page.text
    default = site.api("root", "/forecast").json()
    assert default["p50"] != answer["p50"]  # the simulation asked is not the configured one
    download = re.search(r'href="(/forecast/export\.csv\?[^"]+)"', page.text)
    assert download is not None
    rows = _follow(site, download.group(1))
    assert rows.status_code == 200, rows.text
    summary = dict(csv.reader(io.StringIO(rows.text.lstrip("\ufeff"))))
    assert (summary["runs"], summary["seed"]) == ("500", "7")
    assert [float(summary[p]) for p in ("p10", "p50", "p90")] == [
        answer["p10"],
        answer["p50"],
        answer["p90"],
    ]


def test_the_forecast_page_says_which_simulation_it_cannot_run(
    engine: Engine, settings: Settings
) -> None:
    """The API's limits (100 to 20,000 runs for a request), as a 422 naming the field."""
    site = make_site(engine, settings, {"root": ("admin", None)})
    page = site.page("root", "/forecast", runs="50")
    assert page.status_code == 422
    assert (
        "runs: &#39;50&#39; is not allowed here; use a whole number from 100 to 20,000" in page.text
    )
    page = site.page("root", "/forecast", seed="x")
    assert page.status_code == 422
    assert "seed: &#39;x&#39; is not allowed here; use a whole number from 0 to" in page.text
    assert site.api("root", "/forecast", runs="50").status_code == 422
