"""Fair leaderboards, on a hand-built two-role team (SQLite and PostgreSQL).

The data (as of Wednesday 2026-11-18: business day 13 of November's 19, Thanksgiving off;
the comparable stretch of October is its first 13 business days, Oct 1-19):

| rep | role | Nov conversations | target (month) | expected to date | Oct 1-19 | Oct 20-31 |
|-----|------|------------------:|---------------:|-----------------:|---------:|----------:|
| Ana | sdr  | 20 | 190 | 130 | 10 | 5 |
| Ben | sdr  | 12 |  38 |  26 |  4 | 0 |
| Eve | sdr  | 30 |   - |   - |  0 | 0 |
| Cy  | ae   |  6 |  19 |  13 |  6 | 0 |
| Dan | ae   |  3 |  19 |  13 |  1 | 0 |

So by count Eve leads the SDRs (30) and Cy the AEs (6); by share of target Ben (12/26) and
Cy (6/13) lead, tied at 46.2% when the roles are ranked together, and Eve, without a target,
is listed apart; by improvement Ben (+200%: 4 -> 12) and Dan (+200%: 1 -> 3) lead, and Eve,
with nothing in the comparable stretch, is listed apart (not first by an infinite rise).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from board_org import AS_OF, build_two_roles, calls_rows
from factories import made_app, quick_user
from paceline.analytics.leaderboard import comparable_stretch, leaderboard, recent_wins
from paceline.analytics.scorecard import rep_scorecard
from paceline.api.deps import SESSION_COOKIE
from paceline.auth.accounts import start_session
from paceline.calendar import BusinessCalendar, Period
from paceline.cli import app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Activity


@pytest.fixture
def team(engine: Engine, settings: Settings) -> Engine:
    build_two_roles(engine, settings)
    return engine


def _ranks(board: Any) -> list[tuple[str, str, int | None, str]]:
    return [(r.group, r.rep, r.rank, r.standing) for r in board.rows]


def test_by_count_ranks_each_role_apart(team: Engine, settings: Settings) -> None:
    board = leaderboard(team, settings, "conversations", "month", AS_OF)
    assert board.groups == ("sdr", "ae")
    assert _ranks(board) == [
        ("sdr", "Eve", 1, "ranked"),
        ("sdr", "Ana", 2, "ranked"),
        ("sdr", "Ben", 3, "ranked"),
        ("ae", "Cy", 1, "ranked"),
        ("ae", "Dan", 2, "ranked"),
    ]
    rows = {r.rep: r for r in board.rows}
    # October as a whole: Ana 15, Ben 4, Eve 0 | Cy 6, Dan 1.
    assert (rows["Eve"].previous_rank, rows["Eve"].rank_change) == (3, 2)
    assert (rows["Ana"].previous_rank, rows["Ana"].rank_change) == (1, -1)
    # Every row carries the share of target, whatever the ranking: Eve is first with none.
    assert rows["Ana"].target_to_date == pytest.approx(130)
    assert rows["Ana"].of_target == pytest.approx(20 / 130)
    assert rows["Eve"].target_to_date is None and rows["Eve"].of_target is None
    assert board.total == 71


def test_share_of_target_is_the_scorecards_pace(team: Engine, settings: Settings) -> None:
    board = leaderboard(team, settings, "conversations", "month", AS_OF, by="target")
    assert _ranks(board) == [
        ("sdr", "Ben", 1, "ranked"),
        ("sdr", "Ana", 2, "ranked"),
        ("sdr", "Eve", None, "no_target"),  # apart: not 0%, not an error
        ("ae", "Cy", 1, "ranked"),
        ("ae", "Dan", 2, "ranked"),
    ]
    rows = {r.rep: r for r in board.rows}
    assert rows["Ben"].score == pytest.approx(12 / 26)
    assert rows["Dan"].score == pytest.approx(3 / 13)
    assert rows["Eve"].score is None and rows["Eve"].value == 30
    card = rep_scorecard(team, settings, "Ana", "month", AS_OF)
    line = next(x for x in card.lines if x.metric == "conversations")
    assert line.pace.pace == pytest.approx(20 / 130) == rows["Ana"].of_target


def test_share_of_target_across_roles_ties(team: Engine, settings: Settings) -> None:
    board = leaderboard(team, settings, "conversations", "month", AS_OF, role="all", by="target")
    assert board.groups == ("all",)
    assert [(r.rep, r.rank) for r in board.rows] == [
        ("Ben", 1),  # 12/26 = 6/13: tied with Cy
        ("Cy", 1),
        ("Dan", 3),
        ("Ana", 4),
        ("Eve", None),
    ]


def test_most_improved_against_the_same_business_days(team: Engine, settings: Settings) -> None:
    board = leaderboard(team, settings, "conversations", "month", AS_OF, by="improved")
    assert (board.comparable_start, board.comparable_end) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 20),
    )
    assert board.business_days_elapsed == 13
    assert _ranks(board) == [
        ("sdr", "Ben", 1, "ranked"),
        ("sdr", "Ana", 2, "ranked"),
        ("sdr", "Eve", None, "no_history"),
        ("ae", "Dan", 1, "ranked"),
        ("ae", "Cy", 2, "ranked"),
    ]
    rows = {r.rep: r for r in board.rows}
    assert (rows["Ana"].comparable_value, rows["Ana"].change) == (10, pytest.approx(1.0))
    assert (rows["Ben"].comparable_value, rows["Ben"].change) == (4, pytest.approx(2.0))
    assert (rows["Cy"].change, rows["Dan"].change) == (pytest.approx(0.0), pytest.approx(2.0))
    assert rows["Eve"].change is None and rows["Eve"].comparable_value == 0


def test_comparable_stretch_by_hand(settings: Settings) -> None:
    calendar = BusinessCalendar(settings.calendar)
    october = Period("month", dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    assert comparable_stretch(calendar, october, 1) == (dt.date(2026, 10, 1), dt.date(2026, 10, 2))
    # The 3rd business day is Monday the 5th: the weekend before it is inside.
    assert comparable_stretch(calendar, october, 3) == (dt.date(2026, 10, 1), dt.date(2026, 10, 6))
    assert comparable_stretch(calendar, october, 0) == (dt.date(2026, 10, 1), dt.date(2026, 10, 1))
    # November has 19 business days (Thanksgiving and the day after off); October has 22:
    # asking for more than a period holds gives the whole period.
    assert comparable_stretch(calendar, october, 30) == (october.start, october.end)


def test_one_role_and_bad_choices(team: Engine, settings: Settings) -> None:
    aes = leaderboard(team, settings, "conversations", "month", AS_OF, role="ae")
    assert [(r.rep, r.rank) for r in aes.rows] == [("Cy", 1), ("Dan", 2)]
    with pytest.raises(UserInputError, match="by: use one of count, target, improved"):
        leaderboard(team, settings, "conversations", "month", AS_OF, by="fastest")  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="or all"):
        leaderboard(team, settings, "conversations", "month", AS_OF, role="ceo")


def test_recent_wins_are_the_last_minutes(team: Engine, settings: Settings) -> None:
    ids = {"Ana": 1}
    with team.begin() as conn:
        ana = conn.execute(Activity.__table__.select().limit(1)).first()
        assert ana is not None
        ids["Ana"] = ana.rep_id
        rows = calls_rows(ana.rep_id, AS_OF, 1, "meeting_set")
        rows[0]["occurred_at"] = dt.datetime(2026, 11, 18, 16, 50)
        late = calls_rows(ana.rep_id, AS_OF, 1, "meeting_set")
        late[0]["occurred_at"] = dt.datetime(2026, 11, 18, 16, 30)
        conn.execute(insert(Activity), rows + late)
    since = dt.datetime(2026, 11, 18, 16, 45, tzinfo=dt.UTC)
    until = since + dt.timedelta(minutes=15)
    wins = recent_wins(
        team, settings, ["meetings_set", "deals_won"], since, [ids["Ana"]], until=until
    )
    assert [(w.rep, w.metric, w.at) for w in wins] == [
        ("Ana", "meetings_set", dt.datetime(2026, 11, 18, 16, 50))
    ]
    assert recent_wins(team, settings, ["meetings_set"], since, [], until=until) == []


def test_cli_ranks_by_target_and_improvement(tmp_path: Any, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'fair.db'}"
    build_two_roles(make_engine(url), settings)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["--db", url, "leaderboard", "conversations", *args])

    data = json.loads(run("--by", "target", "--as-of", "2026-11-18", "--json").output)
    assert data["by"] == "target" and data["groups"] == ["sdr", "ae"]
    assert [(r["rep"], r["rank"], r["standing"]) for r in data["rows"]][:3] == [
        ("Ben", 1, "ranked"),
        ("Ana", 2, "ranked"),
        ("Eve", None, "no_target"),
    ]
    shown = run("--by", "improved", "--role", "sdr", "--as-of", "2026-11-18")
    assert shown.exit_code == 0, shown.output
    said = " ".join(shown.output.split())  # wherever the title and cells wrap
    assert "+200%" in said and "nothing in the comparable days" in said
    assert "2026-10-01 to 2026-10-19" in said
    bad = run("--by", "luck")
    assert bad.exit_code == 1 and "--by" in bad.output


def _calls_without_connections(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ana (SDR) 25 calls and Cy (AE) 22 in November 2026, none of them marked connected:
    a CRM that records no call results (the Zoho export), as the import leaves it."""
    upgrade(engine)
    ids = {
        name: add_rep(engine, settings, name, role) for name, role in [("Ana", "sdr"), ("Cy", "ae")]
    }
    rows = calls_rows(ids["Ana"], dt.date(2026, 11, 10), 25, "no_answer")
    rows += calls_rows(ids["Cy"], dt.date(2026, 11, 4), 22, "no_answer")
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return ids


def test_a_metric_nobody_records_ranks_nobody(engine: Engine, settings: Settings) -> None:
    """No call in the organisation's data is connected, ever: the connect rate and the
    conversations are not recorded, not 0% and 0 with everyone tied at #1 (as they read on the
    Zoho export); the calls themselves still rank. One connected call back in September makes
    the connect rate a measured 0% again (Ana: 0 of 25, over the minimum of 20 calls)."""
    ids = _calls_without_connections(engine, settings)
    for metric in ("connect_rate", "conversations"):
        board = leaderboard(engine, settings, metric, "month", AS_OF)
        assert board.unrecorded == "Conversations" and not board.recorded, metric
        assert [(r.rep, r.rank, r.value, r.standing) for r in board.rows] == [
            ("Ana", None, None, "not_recorded"),
            ("Cy", None, None, "not_recorded"),
        ], metric
        assert board.total is None and all(r.previous_rank is None for r in board.rows)
    calls = leaderboard(engine, settings, "calls", "month", AS_OF)
    assert calls.recorded and [(r.rep, r.rank, r.value) for r in calls.rows] == [
        ("Ana", 1, 25.0),
        ("Cy", 1, 22.0),
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), calls_rows(ids["Cy"], dt.date(2026, 9, 1), 1))
    board = leaderboard(engine, settings, "connect_rate", "month", AS_OF)
    assert board.recorded
    assert [(r.rep, r.rank, r.value, r.standing) for r in board.rows] == [
        ("Ana", 1, 0.0, "ranked"),
        ("Cy", 1, 0.0, "ranked"),
    ]


def test_cli_and_page_say_not_recorded(tmp_path: Any, settings: Settings) -> None:
    """The CLI and the web page say why nobody is ranked; JSON carries `unrecorded`."""
    url = f"sqlite:///{tmp_path / 'z.db'}"
    engine = make_engine(url)
    _calls_without_connections(engine, settings)
    cookie, _ = start_session(engine, quick_user(engine, "viewer", "admin"))
    with TestClient(made_app(settings, engine)) as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        page = client.get(
            "/leaderboard",
            params={"metric": "connect_rate", "period": "month", "as_of": "2026-11-18"},
        )
        assert page.status_code == 200, page.text
        notice = page.text.split('data-testid="not-recorded">')[1].split("</p>")[0]
        assert notice.startswith("Connect rate: not recorded. Nobody in the organisation")
        assert "0.0%" not in page.text and "0%</td>" not in page.text
    runner = CliRunner()
    args = ["--db", url, "leaderboard", "connect_rate", "--as-of", "2026-11-18"]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "Connect rate: not recorded. Nobody in the organisation has any conversations" in (
        shown.output
    )
    assert "0.0%" not in shown.output
    data = json.loads(runner.invoke(app, [*args, "--json"]).output)
    assert data["unrecorded"] == "Conversations"
    assert {r["standing"] for r in data["rows"]} == {"not_recorded"}
