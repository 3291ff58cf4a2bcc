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

By count (the classic board) Cy's known 5,000 ranked 3rd, a partial sum against whole ones:
now he is apart there too, and in June's standings (previous period, whole month: Ana 4,000,
Ben 2,000, Cy 201,000 with "Cy June blank" left out), so the moves read Ana #1 -> 1st (=),
Ben #2 -> 2nd (=), not Cy #1 -> 3rd (down 2) and Ana and Ben up 1 each on his account.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
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


NO_WIN = -1.0  # `_build`'s Ben June: no such deal at all


def _build(
    engine: Engine, settings: Settings, ben_june: float | None = 2_000, ben_blank: bool = False
) -> dict[str, int]:
    """The module's world; `ben_june` the amount of Ben's June 1 win (None: without an
    amount, `NO_WIN`: no such win), `ben_blank` a July 2 win of Ben's without an amount."""
    build_unknown_amount_wins(engine, settings)
    with engine.connect() as conn:
        ids = {str(name): int(i) for i, name in conn.execute(select(Rep.id, Rep.name))}
    _won(engine, ids["Ana"], "Ana July", 8_000, 7, 2)
    _won(engine, ids["Ben"], "Ben July", 6_000, 7, 2)
    if ben_blank:
        _won(engine, ids["Ben"], "Ben July blank", None, 7, 2)
    _won(engine, ids["Ana"], "Ana June", 4_000, 6, 1)
    if ben_june != NO_WIN:
        _won(engine, ids["Ben"], "Ben June", ben_june, 6, 1)
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


def test_by_count_a_partial_sum_is_not_ranked_now_or_before(
    east: Engine, settings: Settings
) -> None:
    """The classic board ranked Cy's known 5,000 3rd, "(1 without an amount)" beside it, and
    1st in June on a partial 201,000: Ana and Ben read "up 1" for his blanks. Now he is
    apart in both periods, and Ana and Ben did not move."""
    board = leaderboard(east, settings, "revenue", "month", AS_OF, team="East")
    assert _standings(board) == [
        ("Ana", 1, "ranked", 0),
        ("Ben", 2, "ranked", 0),
        ("Cy", None, "amounts_unknown", 1),
    ]
    moves = [(r.rep, r.previous_rank, r.previous_value, r.rank_change) for r in board.rows]
    assert moves == [("Ana", 1, 4_000, 0), ("Ben", 2, 2_000, 0), ("Cy", None, 201_000, None)]
    assert board.rows[2].value == 5_000 and board.rows[2].score is None


@pytest.mark.parametrize(
    ("ben_june", "ben_blank", "standing", "then", "then_unknown", "now_unknown"),
    [
        # June 1-2's only win lacks an amount: known 0, but not nothing
        (None, False, "amounts_unknown", 0, 1, 0),
        # nothing in June 1-2, and a July win without an amount: July's sum is partial
        (NO_WIN, True, "amounts_unknown", 0, 0, 1),
        # nothing in June 1-2 and a whole July: nothing last time, as before
        (NO_WIN, False, "no_history", 0, 0, 0),
    ],
)
def test_most_improved_gives_missing_amounts_before_nothing_last_time(
    engine: Engine,
    settings: Settings,
    ben_june: float | None,
    ben_blank: bool,
    standing: str,
    then: float,
    then_unknown: int,
    now_unknown: int,
) -> None:
    """Ben's comparable days summed to 0 and his amounts are missing (then, or now): he was
    listed "nothing last time", a reason nobody can act on and, with a June win whose amount
    is missing, untrue. Now the reason is the missing amounts, which the CRM can be given;
    with nothing in June and every amount known, still "nothing last time"."""
    _build(engine, settings, ben_june, ben_blank)
    board = leaderboard(engine, settings, "revenue", "month", AS_OF, team="East", by="improved")
    ben = next(r for r in board.rows if r.rep == "Ben")
    assert (ben.rank, ben.standing, ben.change) == (None, standing, None)
    assert (ben.value, ben.amounts_unknown) == (6_000, now_unknown)
    assert (ben.comparable_value, ben.comparable_amounts_unknown) == (then, then_unknown)
    ana = next(r for r in board.rows if r.rep == "Ana")
    assert (ana.rank, ana.change) == (1, pytest.approx(1.0))  # 8,000 against 4,000


TV_ORDER = {"count": ["Ana", "Ben"], "target": ["Ana", "Ben"], "improved": ["Ben", "Ana"]}
APART = "deals without an amount, not ranked"  # describe.STANDING_TEXT, on every face


@pytest.mark.parametrize("by", ["count", "target", "improved"])
def test_every_face_sets_the_partial_sum_apart_alike(
    tmp_path: Any, settings: Settings, by: str
) -> None:
    """The TV board drew Cy's bar last by count ("5,000 +1 without amount") and by target at
    55%; the CLI ranked him 3rd by count, and called him "amounts missing" where the page
    said "deals without an amount: not ranked" and the TV's foot "deals without an amount,
    not ranked". Now every ranking sets him apart, and every face says it in one wording:
    the TV board draws Ana and Ben and names Cy at its foot, the page and the terminal give
    the reason beside his row, the API and the download carry his standing."""
    url = f"sqlite:///{tmp_path / 'amounts.db'}"
    engine = make_engine(url)
    upgrade(engine)
    _build(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    query = {"metric": "revenue", "period": "month", "team": "East", "by": by,
             "as_of": AS_OF.isoformat()}  # fmt: skip
    with clock.frozen(dt.datetime(2026, 7, 5, 17, tzinfo=dt.UTC)), site.client:
        tv = site.page("root", "/leaderboard/tv", **query)
        page = site.page("root", "/leaderboard", **query)
        api = site.api("root", "/leaderboard", **query)
        download = site.page("root", "/leaderboard/export.csv", **query)
    assert tv.status_code == page.status_code == api.status_code == 200, (tv.text, page.text)
    names = [n.strip() for n in tv.text.split('data-testid="tv-name">')[1:]]
    assert [n.split("<")[0].strip() for n in names] == TV_ORDER[by]
    foot = tv.text.split('data-testid="tv-partial">')[1].split("</span>")[0]
    assert foot == f"Cy: {APART}"
    cy_row = page.text.split("<td>Cy")[1].split("</tr>")[0]
    assert f"({APART})" in cy_row
    rank = page.text.split("<td>Cy")[0].rsplit('<td class="num">', 1)[1]
    assert rank.strip() == "\N{EN DASH}</td>"  # no rank
    rows = {r["rep"]: (r["rank"], r["standing"], r["amounts_unknown"]) for r in api.json()["rows"]}
    assert rows["Cy"] == (None, "amounts_unknown", 1)
    assert [rows[n][0] for n in TV_ORDER[by]] == [1, 2]
    sheet = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert {r["rep"]: (r["rank"], r["standing"], r["amounts_unknown"]) for r in sheet}["Cy"] == (
        "",
        "amounts_unknown",
        "1",
    )
    args = ["--db", url, "leaderboard", "revenue", "--period", "month", "--team", "East"]
    shown = CliRunner().invoke(app, [*args, "--by", by, "--as-of", AS_OF.isoformat()])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    at = next(i for i, line in enumerate(lines) if " Cy " in line)
    assert lines[at].split()[1] == "-", lines[at]
    said = " ".join(cell.strip() for line in lines[at : at + 2] for cell in line.split("│")[-2:])
    assert APART in " ".join(said.split()), lines[at : at + 2]


def test_the_terminal_and_page_say_what_the_comparable_days_left_out(
    tmp_path: Any, settings: Settings
) -> None:
    """Ben's June 1 win without an amount: his comparable days read 0, and he was "nothing
    last time" in the terminal, "nothing in the comparable days" on the page. Now both
    give the missing amounts as the reason, and the "then" figure says what it left out."""
    url = f"sqlite:///{tmp_path / 'then.db'}"
    engine = make_engine(url)
    upgrade(engine)
    _build(engine, settings, ben_june=None)
    site = make_site(engine, settings, {"root": ("admin", None)})
    query = {"metric": "revenue", "period": "month", "team": "East", "by": "improved",
             "as_of": AS_OF.isoformat()}  # fmt: skip
    with site.client:
        page = site.page("root", "/leaderboard", **query)
    ben_row = page.text.split("<td>Ben")[1].split("</tr>")[0]
    assert f"({APART})" in ben_row
    then = ben_row.split('data-testid="then-missing-amounts"')[1].split("<")[0]
    assert then.split(">")[1] == "(1 without an amount, not in the sum)"
    args = ["--db", url, "leaderboard", "revenue", "--period", "month", "--team", "East"]
    shown = CliRunner().invoke(app, [*args, "--by", "improved", "--as-of", AS_OF.isoformat()])
    lines = shown.output.splitlines()
    at = next(i for i, line in enumerate(lines) if " Ben " in line)
    ben = [line.split("│")[1:-1] for line in lines[at : at + 3]]  # the row's three lines
    then, change = (" ".join(" ".join(cells[i] for cells in ben).split()) for i in (6, 7))
    assert (then, change) == ("0 (1 without an amount, not in the sum)", APART), lines[at:]
