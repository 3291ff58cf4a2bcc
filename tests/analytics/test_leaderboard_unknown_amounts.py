"""Rankings on a share of target or a change of a sum of amounts, for a rep whose wins lack
amounts (`factories.build_unknown_amount_wins`, East, as of Sunday 2026-07-05), on the
analysis, the TV board and the CLI.

Revenue won in July to date (by close day), counted by hand:
- Cy: Paid 5,000 (Jul 2), Pilot a real 0 (Jul 2), Unknown win without an amount (Jul 3):
  5,000 known, 1 win left out; three wins, the most of anyone;
- Ana: one win of 8,000 (Jul 2); Ben: one win of 6,000 (Jul 2); Dee is in West.
Each has the same month target of revenue, 100,000, so on the same days elapsed the shares of
target order as the sums: Ana 8,000, Ben 6,000, Cy 5,000. Cy ranked 3rd of 3 on the known
part, though he won most: now he is listed apart (`amounts_unknown`), Ana 1st, Ben 2nd.

Most improved against the comparable days of June: July has had 2 business days (Jul 1-2;
Jul 3 is a holiday), so June's first 2, Jun 1-2 (Mon-Tue): Ana 4,000 on Jun 1 (8,000:
+100%), Ben 2,000 on Jun 1 (6,000: +200%), Cy 1,000 on Jun 1 and "Cy June blank" without an
amount on Jun 2 (his builder's June wins close from Jun 3). On the known parts Cy read
(5,000 - 1,000) / 1,000 = +400% and ranked 1st, though neither sum is whole: now he is
listed apart, Ben 1st, Ana 2nd.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from factories import at, build_unknown_amount_wins, make_site, put_deal
from paceline import clock
from paceline.analytics.leaderboard import leaderboard
from paceline.cli import app
from paceline.config import Settings
from paceline.services.targets import TargetRow, save_targets
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Rep

AS_OF = dt.date(2026, 7, 5)
JULY = dt.date(2026, 7, 1)


def _won(
    engine: Engine, rep_id: int, name: str, amount: float | None, month: int, day: int
) -> None:
    moment = at(month, day)
    put_deal(engine, rep_id, name, amount, moment, status="won", stage="closed_won",
             closed=moment, history=[("closed_won", moment)])  # fmt: skip


def _build(engine: Engine, settings: Settings) -> dict[str, int]:
    build_unknown_amount_wins(engine, settings)
    with engine.connect() as conn:
        ids = {str(name): int(i) for i, name in conn.execute(select(Rep.id, Rep.name))}
    _won(engine, ids["Ana"], "Ana July", 8_000, 7, 2)
    _won(engine, ids["Ben"], "Ben July", 6_000, 7, 2)
    _won(engine, ids["Ana"], "Ana June", 4_000, 6, 1)
    _won(engine, ids["Ben"], "Ben June", 2_000, 6, 1)
    _won(engine, ids["Cy"], "Cy June", 1_000, 6, 1)
    _won(engine, ids["Cy"], "Cy June blank", None, 6, 2)
    with engine.begin() as conn:
        save_targets(conn, [TargetRow(ids[n], "revenue", "month", JULY, 100_000)
                            for n in ("Ana", "Ben", "Cy")])  # fmt: skip
    return ids


@pytest.fixture
def east(engine: Engine, settings: Settings) -> Engine:
    _build(engine, settings)
    return engine


def _standings(board: Any) -> list[tuple[str, int | None, str, int]]:
    return [(r.rep, r.rank, r.standing, r.amounts_unknown) for r in board.rows]


def test_a_share_of_target_on_a_partial_sum_is_not_ranked(east: Engine, settings: Settings) -> None:
    board = leaderboard(east, settings, "revenue", "month", AS_OF, team="East", by="target")
    assert _standings(board) == [
        ("Ana", 1, "ranked", 0),
        ("Ben", 2, "ranked", 0),
        ("Cy", None, "amounts_unknown", 1),
    ]
    cy = board.rows[2]
    assert cy.value == 5_000 and cy.score is None  # the known part, shown, not ranked on
    # July: 22 business days (Jul 3 off), 2 elapsed: 100,000 x 2 / 22 = 9,091 to date
    assert cy.target_to_date == pytest.approx(100_000 * 2 / 22)
    assert cy.of_target == pytest.approx(5_000 / (100_000 * 2 / 22))  # 55%, on the known part


def test_most_improved_on_a_partial_sum_is_not_ranked(east: Engine, settings: Settings) -> None:
    board = leaderboard(east, settings, "revenue", "month", AS_OF, team="East", by="improved")
    assert _standings(board) == [
        ("Ben", 1, "ranked", 0),
        ("Ana", 2, "ranked", 0),
        ("Cy", None, "amounts_unknown", 1),
    ]
    assert [r.change for r in board.rows][:2] == [pytest.approx(2.0), pytest.approx(1.0)]
    assert board.rows[2].change is None


def test_by_count_still_ranks_the_known_sum(east: Engine, settings: Settings) -> None:
    """The classic board ranks the known sums, the deals left out beside each (unchanged)."""
    board = leaderboard(east, settings, "revenue", "month", AS_OF, team="East")
    assert _standings(board) == [
        ("Ana", 1, "ranked", 0),
        ("Ben", 2, "ranked", 0),
        ("Cy", 3, "ranked", 1),
    ]


def test_the_tv_board_and_the_cli_name_the_rep_left_apart(
    tmp_path: Any, settings: Settings
) -> None:
    """The TV board drew Cy's bar last at 5% with "+1 without amount" under it; the CLI
    ranked him 3rd. Now the TV board draws Ana and Ben and names Cy at its foot; the CLI
    lists him unranked, "amounts missing"."""
    url = f"sqlite:///{tmp_path / 'amounts.db'}"
    engine = make_engine(url)
    upgrade(engine)
    _build(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with clock.frozen(dt.datetime(2026, 7, 5, 17, tzinfo=dt.UTC)), site.client:
        for by in ("target", "improved"):
            tv = site.page("root", "/leaderboard/tv", metric="revenue", period="month",
                           team="East", by=by, as_of=AS_OF.isoformat())  # fmt: skip
            assert tv.status_code == 200, tv.text
            names = [n.strip() for n in tv.text.split('data-testid="tv-name">')[1:]]
            assert [n.split("<")[0].strip() for n in names] == (
                ["Ana", "Ben"] if by == "target" else ["Ben", "Ana"]
            ), by
            foot = tv.text.split('data-testid="tv-partial">')[1].split("</span>")[0]
            assert foot == "Cy: deals without an amount, not ranked", by
    day = AS_OF.isoformat()
    args = ["--db", url, "leaderboard", "revenue", "--period", "month", "--team", "East"]
    shown = CliRunner().invoke(app, [*args, "--by", "target", "--as-of", day])
    assert shown.exit_code == 0, shown.output
    cy = next(line for line in shown.output.splitlines() if " Cy " in line)
    assert cy.split()[1] == "-" and "amounts missing" in cy, cy
