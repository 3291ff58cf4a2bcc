"""The TV board's recent wins (`leaderboard.recent_wins`) on hand-built wins, SQLite and
PostgreSQL: which rows, in which order, and the time index they are read through.

The board's now is Wednesday 2026-11-18 16:00 UTC and it celebrates the last 15 minutes,
[15:45, 16:00] (both ends in). Planted (meetings set are activities with outcome
meeting_set, deals won are won deals dated by their close):

| rep | what                                          | celebrated?                          |
|-----|-----------------------------------------------|--------------------------------------|
| Eve | meeting set 15:56 and a deal won 15:56        | both, meetings first (config order)  |
| Cy  | deal won 15:52, its amount unknown            | yes: a win is counted, not summed    |
| Ben | meeting set 15:50                             | yes, before Ana's (tie: name last 1st)|
| Ana | meeting set 15:50                             | yes                                  |
| Ben | deal won 15:46, entered in the CRM 15:48      | yes: dated by its close              |
| Cy  | deal won 15:45:00, amount 5,000               | yes: the window's first instant      |
| Ana | meeting set 15:44:59                          | no: before the window                |
| Ana | call at 15:55 with no answer                  | no: not a win                        |
| Ben | deal won 2026-11-15, entered in the CRM 15:58 | no: a late-entered win, closed before|
| Dan | deal lost 15:53                               | no: not won                          |
| Dan | deal won 16:05, meeting set 16:01             | no: after the board's now            |
| Zed | meeting set 15:57                             | no: not on this board                |

So, newest first: Eve meetings_set 15:56, Eve deals_won 15:56, Cy deals_won 15:52, Ben
meetings_set 15:50, Ana meetings_set 15:50, Ben deals_won 15:46, Cy deals_won 15:45.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert

from factories import activity_row, put_deal, recorded_executions
from paceline.analytics.leaderboard import RECENT_WINS_PER_METRIC, recent_wins
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store.models import Activity

DAY = dt.date(2026, 11, 18)
NOW = dt.datetime(2026, 11, 18, 16, 0, tzinfo=dt.UTC)
SINCE = NOW - dt.timedelta(minutes=15)
METRICS = ["meetings_set", "deals_won"]


def _at(hour: int, minute: int, second: int = 0, day: dt.date = DAY) -> dt.datetime:
    """A naive UTC moment, as stored."""
    return dt.datetime.combine(day, dt.time(hour, minute, second))


def _meeting(rep_id: int, moment: dt.datetime, outcome: str = "meeting_set") -> dict[str, object]:
    row = activity_row(rep_id, moment.date(), outcome=outcome)
    row["occurred_at"] = moment
    return row


def _won(engine: Engine, rep_id: int, amount: float | None, closed: dt.datetime,
         created: dt.datetime | None = None, status: str = "won") -> None:  # fmt: skip
    put_deal(engine, rep_id, f"deal {closed:%d %H:%M:%S}", amount,
             created or _at(9, 0, day=dt.date(2026, 10, 1)), status=status,
             stage="closed_won" if status == "won" else "closed_lost", closed=closed)  # fmt: skip


def _build(engine: Engine, settings: Settings) -> dict[str, int]:
    reps = {name: add_rep(engine, settings, name, "ae", team="East")
            for name in ("Ana", "Ben", "Cy", "Dan", "Eve", "Zed")}  # fmt: skip
    ana, ben, cy, dan, eve, zed = (reps[n] for n in ("Ana", "Ben", "Cy", "Dan", "Eve", "Zed"))
    with engine.begin() as conn:
        conn.execute(
            insert(Activity),
            [
                _meeting(eve, _at(15, 56)),
                _meeting(ben, _at(15, 50)),
                _meeting(ana, _at(15, 50)),
                _meeting(ana, _at(15, 44, 59)),
                _meeting(ana, _at(15, 55), outcome="no_answer"),
                _meeting(dan, _at(16, 1)),
                _meeting(zed, _at(15, 57)),
            ],
        )
    _won(engine, eve, 1200.0, _at(15, 56))
    _won(engine, cy, None, _at(15, 52))
    _won(engine, ben, 800.0, _at(15, 46), created=_at(15, 48))
    _won(engine, cy, 5000.0, _at(15, 45))
    _won(engine, ben, 3000.0, _at(11, 0, day=dt.date(2026, 11, 15)), created=_at(15, 58))
    _won(engine, dan, 700.0, _at(15, 53), status="lost")
    _won(engine, dan, 900.0, _at(16, 5))
    return reps


def test_recent_wins_are_the_window_newest_first(engine: Engine, settings: Settings) -> None:
    reps = _build(engine, settings)
    board = [reps[n] for n in ("Ana", "Ben", "Cy", "Dan", "Eve")]  # Zed is on another board
    wins = recent_wins(engine, settings, METRICS, SINCE, board, until=NOW)
    assert [(w.rep, w.metric, w.at) for w in wins] == [
        ("Eve", "meetings_set", _at(15, 56)),
        ("Eve", "deals_won", _at(15, 56)),
        ("Cy", "deals_won", _at(15, 52)),
        ("Ben", "meetings_set", _at(15, 50)),
        ("Ana", "meetings_set", _at(15, 50)),
        ("Ben", "deals_won", _at(15, 46)),
        ("Cy", "deals_won", _at(15, 45)),
    ]
    assert [w.rep_id for w in wins[:2]] == [reps["Eve"], reps["Eve"]]
    assert {w.label for w in wins} == {"Meetings set", "Deals won"}
    # the same board a minute after 16:05: Dan's deal won at 16:05 and meeting at 16:01 landed
    later = recent_wins(engine, settings, METRICS, SINCE, board, until=_at(16, 6))
    assert [(w.rep, w.at) for w in later[:2]] == [("Dan", _at(16, 5)), ("Dan", _at(16, 1))]


def test_a_busy_board_keeps_the_newest_wins(engine: Engine, settings: Settings) -> None:
    """More wins than are kept: the newest of them, whichever rep landed them."""
    ana = add_rep(engine, settings, "Ana", "ae", team="East")
    ben = add_rep(engine, settings, "Ben", "ae", team="East")
    # 60 meetings 10 s apart from 15:45:00 (Ana's the first 30, Ben's the last 30), written
    # oldest first; the newest is Ben's at 15:54:50
    moments = [_at(15, 45) + dt.timedelta(seconds=10 * i) for i in range(60)]
    with engine.begin() as conn:
        conn.execute(
            insert(Activity), [_meeting(ana if i < 30 else ben, m) for i, m in enumerate(moments)]
        )
    wins = recent_wins(engine, settings, ["meetings_set"], SINCE, [ana, ben], until=NOW)
    assert RECENT_WINS_PER_METRIC == 50
    assert [w.at for w in wins] == moments[::-1][:50]  # 15:54:50 down to 15:46:40
    assert [w.rep for w in wins].count("Ben") == 30


def test_recent_wins_read_the_time_index(sqlite_engine: Engine, settings: Settings) -> None:
    """SQLite's plan for the board's reads: the rows found by time, not every row of the
    board's reps (which cost 0.4 CPU s a refresh on the demo's 480,000 activities). SQLite
    only: PostgreSQL plans by its statistics, which tables this small cannot show."""
    engine = sqlite_engine
    reps = _build(engine, settings)
    with recorded_executions(engine) as executed:
        recent_wins(engine, settings, METRICS, SINCE, list(reps.values()), until=NOW)
    plans = []
    with engine.connect() as conn:
        for statement, params in executed:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            plans.append(" | ".join(str(r[-1]) for r in rows))
    assert len(plans) == 2
    assert "USING INDEX ix_activity_occurred_id (occurred_at>? AND occurred_at<?)" in plans[0]
    assert (
        "USING INDEX ix_deal_status_closed (status=? AND closed_at>? AND closed_at<?)" in plans[1]
    )
    assert all("TEMP B-TREE" not in p and "ix_activity_rep_day_kind" not in p for p in plans)
