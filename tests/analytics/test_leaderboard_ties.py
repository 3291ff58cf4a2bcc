"""A leaderboard move to or from a tie, on the hand-built two-role team (tests/board_org.py),
on every face that prints moves: the CLI, the API, the page and its download.

Conversations by hand (board_org): November Eve 30 (Nov 3), Ana 20 (Nov 10), Ben 12
(Nov 16) | Cy 6 (Nov 4), Dan 3 (Nov 18); October Ana 15, Ben 4, Eve 0 | Cy 6, Dan 1.

- Tuesday 1 December, the month's first day: nobody has any yet, every rep of each board
  is level at #1. November's standing was Eve #1, Ana #2, Ben #3 | Cy #1, Dan #2, so Ben
  read "▲2" and Dan "▲1" for doing nothing. Now no move is given (previous ranks stay).
- Tuesday 3 November, by week (Mon 2 - Sun 8): Eve 30, Ana 0, Ben 0; the week before
  (26 Oct - 1 Nov) nobody had any, all level at #1, so Ana and Ben read "▼1". No move.
- Tuesday 3 November, by month, every role together: Eve 30 (#1), Ana, Ben, Cy, Dan 0 (tied
  #2); October Ana 15 #1, Cy 6 #2, Ben 4 #3, Dan 1 #4, Eve 0 #5: moves are from the shared
  ranks: Eve up 4, Ana down 1, Cy 0, Ben up 1, Dan up 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from board_org import build_two_roles
from factories import make_site
from paceline.analytics.leaderboard import leaderboard
from paceline.cli import app
from paceline.config import Settings
from paceline.store.engine import make_engine

FIRST_OF_DECEMBER = dt.date(2026, 12, 1)
NOV_3 = dt.date(2026, 11, 3)


@pytest.fixture
def team(engine: Engine, settings: Settings) -> Engine:
    build_two_roles(engine, settings)
    return engine


def _moves(board: Any) -> list[tuple[str, int | None, int | None, int | None]]:
    return [(r.rep, r.rank, r.previous_rank, r.rank_change) for r in board.rows]


def test_the_first_day_of_a_period_moves_nobody(team: Engine, settings: Settings) -> None:
    board = leaderboard(team, settings, "conversations", "month", FIRST_OF_DECEMBER)
    assert _moves(board) == [
        ("Ana", 1, 2, None),
        ("Ben", 1, 3, None),
        ("Eve", 1, 1, None),
        ("Cy", 1, 1, None),
        ("Dan", 1, 2, None),
    ]


def test_a_previous_standing_all_level_moves_nobody(team: Engine, settings: Settings) -> None:
    board = leaderboard(team, settings, "conversations", "week", NOV_3, role="sdr")
    assert _moves(board) == [
        ("Eve", 1, 1, None),
        ("Ana", 2, 1, None),
        ("Ben", 2, 1, None),
    ]


def test_a_move_to_a_tie_is_from_the_shared_rank(team: Engine, settings: Settings) -> None:
    board = leaderboard(team, settings, "conversations", "month", NOV_3, role="all")
    assert _moves(board) == [
        ("Eve", 1, 5, 4),
        ("Ana", 2, 1, -1),
        ("Ben", 2, 3, 1),
        ("Cy", 2, 2, 0),
        ("Dan", 2, 4, 2),
    ]


def test_every_face_gives_no_move_on_the_first_day(tmp_path: Any, settings: Settings) -> None:
    """The CLI's table printed "▲2" beside Ben, its JSON, the API and the CSV download
    `rank_change` 2, the page "▲ 2"."""
    url = f"sqlite:///{tmp_path / 'ties.db'}"
    engine = make_engine(url)
    build_two_roles(engine, settings)
    day = FIRST_OF_DECEMBER.isoformat()
    args = ["--db", url, "leaderboard", "conversations", "--period", "month", "--as-of", day]
    runner = CliRunner()
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "▲" not in shown.output and "▼" not in shown.output and "#3" in shown.output
    data = json.loads(runner.invoke(app, [*args, "--json"]).output)
    moves = [(r["rep"], r["rank_change"]) for r in data["rows"]]
    assert moves[:2] == [("Ana", None), ("Ben", None)]
    site = make_site(engine, settings, {"root": ("admin", None)})
    query = {"metric": "conversations", "period": "month", "as_of": day}
    api = site.api("root", "/leaderboard", **query)
    assert api.status_code == 200, api.text
    assert {r["rep"]: r["rank_change"] for r in api.json()["rows"]}["Ben"] is None
    page = site.page("root", "/leaderboard", **query)
    assert page.status_code == 200, page.text
    assert "▲" not in page.text and "▼" not in page.text
    download = site.page("root", "/leaderboard/export.csv", **query)
    assert download.status_code == 200, download.text
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert {r["rep"]: (r["previous_rank"], r["rank_change"]) for r in rows}["Ben"] == ("3", "")
