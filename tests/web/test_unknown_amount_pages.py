"""The scorecard, team, leaderboard, tipping, forecast and stalled pages and their API answers
say how many deals a sum of amounts left out, in one wording (`describe.not_counted_text`;
hand-counted worlds: tests/unknown_amounts_org.py and `factories.build_unknown_amount_wins`)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Engine

from factories import build_unknown_amount_wins, make_site, replay_july_from
from paceline import clock
from paceline.config import Settings
from unknown_amounts_org import AS_OF, build_unknown_amounts_org

DAY = AS_OF.isoformat()


def notes(html: str) -> list[str]:
    """The text of each missing-amounts note on a page, spaces collapsed."""
    found = re.findall(r'data-testid="missing-amounts"[^>]*>(.*?)</small>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", n).split()) for n in found]


def test_pages_note_the_deals_left_out_of_money_figures(engine: Engine, settings: Settings) -> None:
    reps = build_unknown_amounts_org(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        ana = site.page("root", f"/reps/{reps['Ana']}", as_of=DAY)
        assert ana.status_code == 200, ana.text
        assert notes(ana.text) == ["(2 without an amount, not in the sum)"]
        team = site.page("root", "/team", team="East", as_of=DAY)
        assert team.status_code == 200, team.text
        # Ana's 2, Ben's 2, the team total's 4; Cy has none, so no note.
        assert sorted(notes(team.text)) == [
            "(2 without an amount, not in the sum)",
            "(2 without an amount, not in the sum)",
            "(4 without an amount, not in the sum)",
        ]
        board = site.page("root", "/leaderboard", metric="revenue", period="month", team="East",
                          as_of=DAY)  # fmt: skip
        assert board.status_code == 200, board.text
        # Ben's and Ana's rows, then the board's total, in the same words (the rows once said
        # "(2 without an amount)" beside a total "not counted"; the terminal says these too).
        assert notes(board.text) == [
            "(2 without an amount, not in the sum)",
            "(2 without an amount, not in the sum)",
            "(4 without an amount, not in the sum)",
        ]
        tipping = site.page("root", "/tipping", metric="conversations", outcome="revenue",
                            lag="0", as_of=DAY)  # fmt: skip
        assert tipping.status_code == 200, tipping.text
        assert notes(tipping.text) == [
            "3 deals in these rep-weeks have no amount: the weekly sums count known amounts only."
        ]


def test_the_forecast_page_says_the_wins_left_out_beside_won_so_far_and_each_actual(
    engine: Engine, settings: Settings
) -> None:
    """Cy's July: 5,000 won and one win without an amount. "Won so far" said 5,000 with "1 won
    deal(s) have no amount recorded" in the next column, and the backtest's actual 5,000
    with nothing at all; both now say it beside the figure, in the flow's words."""
    replay_july_from(engine, build_unknown_amount_wins(engine, settings))
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", "/forecast", rep="Cy", period="month", as_of="2026-07-05",
                         runs="200")  # fmt: skip
        assert page.status_code == 200, page.text[:300]
        cell = re.search(r"<th scope=\"row\">Won so far</th><td[^>]*>(.*?)</td>", page.text, re.S)
        assert cell is not None
        assert " ".join(re.sub(r"<[^>]+>", "", cell.group(1)).split()) == (
            "5,000 (1 without an amount, not in the sum)"
        )
        replay = site.page("root", "/forecast", rep="Cy", period="month", as_of="2026-08-01",
                           runs="200", backtest="1", periods="1")  # fmt: skip
        assert replay.status_code == 200, replay.text[:300]
        table = replay.text[replay.text.index('data-testid="backtest-table"') :]
        assert (
            notes(table[: table.index("</table>")]) == ["(1 without an amount, not in the sum)"] * 2
        )  # July from its start and from its middle


def test_the_stalled_page_says_what_each_sum_left_out_in_the_words_of_every_face(
    engine: Engine, settings: Settings
) -> None:
    """Cy as of Friday 2026-07-31 (`build_unknown_amount_wins`): open in proposal since July 4,
    "W" 7,000, "Z" a real 0 and "X" without an amount; no selling activity since (20 business
    days, Jul 6-31: over the 10 allowed), so all three are stalled: 7,000 of 7,000 open, X
    left out of both sums. The page said "(1 open without an amount, not counted in the
    values)", in words of its own, and nothing beside the stalled value or Cy's row."""
    build_unknown_amount_wins(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", "/stalled", team="East", as_of="2026-07-31")
        assert page.status_code == 200, page.text[:300]
        head = page.text[: page.text.index('data-testid="stalled-reps"')]
        said = " ".join(re.sub(r"<[^>]+>", "", head[head.index("open deals stalled") :]).split())
        assert said.startswith(
            "open deals stalled, 7,000 (1 without an amount, not in the sum) of 7,000"
            " (1 without an amount, not in the sum)"
        ), said
        table = page.text[page.text.index('data-testid="stalled-reps"') :]
        cy = re.search(r'<th scope="row">.*?Cy.*?</tr>', table, re.S)
        assert cy is not None
        assert notes(cy.group(0)) == ["(1 without an amount, not in the sum)"] * 2  # stalled, open


def test_the_api_gives_amounts_unknown_per_line_and_per_tipping_estimate(
    engine: Engine, settings: Settings
) -> None:
    build_unknown_amounts_org(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        card = site.api("root", "/scorecard", rep="Ana", as_of=DAY).json()
        lines = {line["metric"]: line for line in card["lines"]}
        assert (lines["revenue"]["pace"]["actual"], lines["revenue"]["amounts_unknown"]) == (
            5_000,
            2,
        )
        assert lines["deals_won"]["amounts_unknown"] == 0
        team = site.api("root", "/scorecard/team", team="East", as_of=DAY).json()
        (total,) = [line for line in team["total"] if line["metric"] == "revenue"]
        assert total["amounts_unknown"] == 4
        tipping = site.api("root", "/tipping", metric="conversations", outcome="revenue",
                           lag="0", as_of=DAY).json()  # fmt: skip
        assert tipping["amounts_unknown"] == 3
        board = site.api("root", "/leaderboard", metric="revenue", period="month", team="East",
                         as_of=DAY).json()  # fmt: skip
        assert [(r["rep"], r["amounts_unknown"]) for r in board["rows"]] == [
            ("Ben", 2),
            ("Ana", 2),
            ("Cy", 0),
        ]
        assert board["amounts_unknown"] == 4


def test_the_tv_board_notes_the_deals_each_score_left_out_under_it(
    engine: Engine, settings: Settings
) -> None:
    """July's revenue in East as of 2026-07-15 (tests/unknown_amounts_org.py): Ben 20,000 with
    2 wins left out, Ana 5,000 with 2 left out, Cy 0 with none. The big figures read as the
    whole of each rep's revenue, with nothing under them."""
    build_unknown_amounts_org(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with clock.frozen(dt.datetime(2026, 7, 15, 17, tzinfo=dt.UTC)), site.client:
        tv = site.page("root", "/leaderboard/tv", metric="revenue", period="month", team="East",
                       as_of=DAY)  # fmt: skip
    assert tv.status_code == 200, tv.text
    rows = re.findall(
        r'data-testid="tv-name">([^<]+)<.*?data-testid="tv-value">(.*?)</span>', tv.text, re.S
    )
    shown = {name.strip(): re.sub(r"<[^>]+>", "|", value) for name, value in rows}
    assert shown["Ben"] == "20,000|+2 without amount|", shown
    assert shown["Ana"] == "5,000|+2 without amount|", shown
    assert shown.get("Cy", "0") == "0", shown  # nothing left out: no note
