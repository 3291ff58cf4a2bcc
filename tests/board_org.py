"""The hand-built two-role team the leaderboard and TV-board tests read.

Fair leaderboards, on a hand-built two-role team (SQLite and PostgreSQL).

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
from typing import Any

from sqlalchemy import Engine, insert

from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.services.targets import TargetRow, save_targets
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

AS_OF = dt.date(2026, 11, 18)
NOV = dt.date(2026, 11, 1)


def calls_rows(rep_id: int, day: dt.date, n: int, outcome: str = "conversation") -> list[Any]:
    moment = dt.datetime.combine(day, dt.time(17, 0))  # noon in New York, as UTC
    return [
        {
            "rep_id": rep_id,
            "kind": "call",
            "occurred_at": moment,
            "local_date": day,
            "outcome": outcome,
            "has_ask": True,
            "engaged": False,
            "source": "test",
        }
        for _ in range(n)
    ]


def build_two_roles(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    ids = {
        name: add_rep(engine, settings, name, role, team="East")
        for name, role in [
            ("Ana", "sdr"),
            ("Ben", "sdr"),
            ("Eve", "sdr"),
            ("Cy", "ae"),
            ("Dan", "ae"),
        ]
    }
    day = dt.date
    rows = (
        calls_rows(ids["Ana"], day(2026, 11, 10), 20)
        + calls_rows(ids["Ana"], day(2026, 10, 7), 10)
        + calls_rows(ids["Ana"], day(2026, 10, 20), 5)  # after the comparable stretch
        + calls_rows(ids["Ben"], day(2026, 11, 16), 12)
        + calls_rows(ids["Ben"], day(2026, 10, 19), 4)  # the stretch's last day, a Monday
        + calls_rows(ids["Eve"], day(2026, 11, 3), 30)
        + calls_rows(ids["Cy"], day(2026, 11, 4), 6)
        + calls_rows(ids["Cy"], day(2026, 10, 1), 6)
        + calls_rows(ids["Dan"], day(2026, 11, 18), 3)
        + calls_rows(ids["Dan"], day(2026, 10, 2), 1)
    )
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(
            conn,
            [
                TargetRow(ids["Ana"], "conversations", "month", NOV, 190),
                TargetRow(ids["Ben"], "conversations", "month", NOV, 38),
                TargetRow(ids["Cy"], "conversations", "month", NOV, 19),
                TargetRow(ids["Dan"], "conversations", "month", NOV, 19),
            ],
        )
    return ids
