"""The scorecard, team, leaderboard, tipping, forecast and stalled pages and their API answers
say how many deals a sum of amounts left out, in one wording (`describe.not_counted_text`;
hand-counted worlds: tests/unknown_amounts_org.py and `factories.build_unknown_amount_wins`)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Engine

from factories import build_unknown_amount_wins, make_site, replay_july_from
from paceline import clock
from paceline.config import Settings, default_config_text, parse_settings
from unknown_amounts_org import (
    AS_OF,
    EXTRA_METRICS,
    build_unknown_amounts_org,
    config_with_revenue_per_win,
)

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
        # Cy's whole 0 is ranked; Ana's and Ben's partial sums are apart, by name
        assert [(r["rep"], r["rank"], r["amounts_unknown"]) for r in board["rows"]] == [
            ("Cy", 1, 0),
            ("Ana", None, 2),
            ("Ben", None, 2),
        ]
        assert board["amounts_unknown"] == 4


def _tv_rows(html: str) -> dict[str, str]:
    """Each TV bar's name -> its value and note, the tags as "|"."""
    rows = re.findall(
        r'data-testid="tv-name">([^<]+)<.*?data-testid="tv-value">(.*?)</span>', html, re.S
    )
    return {name.strip(): re.sub(r"<[^>]+>", "|", value) for name, value in rows}


def test_the_tv_board_draws_no_partial_sum_and_notes_what_an_average_rests_on(
    engine: Engine, settings: Settings
) -> None:
    """July in East as of 2026-07-15 (tests/unknown_amounts_org.py). Revenue: Ben 20,000 and
    Ana 5,000 each left 2 wins out; the board drew them 1st and 2nd, "+2 without amount"
    under each, above Cy's whole 0. Now their partial sums are not drawn but named at the
    foot, and Cy's 0 stands alone. Revenue per win, an average over the wins with an amount:
    Ana 5,000 over 2 of her 4 wins (2,500), Ben 20,000 over 1 of his 3: drawn, each with what
    it rests on under it."""
    wider = parse_settings(default_config_text() + EXTRA_METRICS)
    build_unknown_amounts_org(engine, wider)
    site = make_site(engine, wider, {"root": ("admin", None)})
    with clock.frozen(dt.datetime(2026, 7, 15, 17, tzinfo=dt.UTC)), site.client:
        revenue = site.page("root", "/leaderboard/tv", metric="revenue", period="month",
                            team="East", as_of=DAY)  # fmt: skip
        per_win = site.page("root", "/leaderboard/tv", metric="revenue_per_win",
                            period="month", team="East", as_of=DAY)  # fmt: skip
    assert revenue.status_code == per_win.status_code == 200, (revenue.text, per_win.text)
    assert _tv_rows(revenue.text) == {"Cy": "0"}
    foot = revenue.text.split('data-testid="tv-partial">')[1].split("</span>")[0]
    assert foot == "Ana, Ben: deals without an amount, not ranked"
    assert _tv_rows(per_win.text) == {
        "Ben": "20,000|1 of 3 wins with amount|",
        "Ana": "2,500|2 of 4 wins with amount|",
    }
    assert 'data-testid="tv-partial"' not in per_win.text


def test_the_leaderboard_page_and_api_read_an_average_over_the_wins_with_an_amount(
    engine: Engine,
) -> None:
    """Revenue per win in July to the 15th: Ben 20,000 over 1 of his 3 wins, Ana 2,500 over
    2 of her 4, everyone 25,000 over 3 of 7; Cy won nothing (no data). The page said "(2
    without an amount, not in the sum)" beside each average; now what it rests on."""
    wider = parse_settings(default_config_text() + EXTRA_METRICS)
    build_unknown_amounts_org(engine, wider)
    site = make_site(engine, wider, {"root": ("admin", None)})
    query = {"metric": "revenue_per_win", "period": "month", "team": "East", "as_of": DAY}
    with site.client:
        page = site.page("root", "/leaderboard", **query)
        api = site.api("root", "/leaderboard", **query).json()
    assert page.status_code == 200, page.text
    assert notes(page.text) == [
        "(per win with an amount: 1 of 3)",  # Ben
        "(per win with an amount: 2 of 4)",  # Ana
        "(per win with an amount: 3 of 7)",  # everyone pooled
    ]
    rows = [(r["rep"], r["rank"], r["value"], r["denominator"], r["amounts_unknown"])
            for r in api["rows"]]  # fmt: skip
    assert rows == [("Ben", 1, 20_000, 1, 2), ("Ana", 2, 2_500, 2, 2), ("Cy", None, None, 0, 0)]
    assert (api["average_of"], api["total_denominator"], api["amounts_unknown"]) == ("win", 3, 4)


def test_the_scorecard_and_team_pages_say_what_revenue_per_win_rests_on(engine: Engine) -> None:
    """Revenue per win in July to the 15th: Ana 2,500 over 2 of her 4 wins, Ben 20,000 over
    1 of 3, the team 25,000 over 3 of 7 (Cy won nothing: no figure, no note). The pages said
    "(2 without an amount, not in the sum)" beside each average, a sum's words."""
    wider = parse_settings(config_with_revenue_per_win())
    reps = build_unknown_amounts_org(engine, wider)
    site = make_site(engine, wider, {"root": ("admin", None)})
    with site.client:
        ana = site.page("root", f"/reps/{reps['Ana']}", as_of=DAY)
        team = site.page("root", "/team", team="East", as_of=DAY)
    assert ana.status_code == team.status_code == 200, (ana.text, team.text)
    # revenue (a sum), then revenue per win (an average)
    assert notes(ana.text) == [
        "(2 without an amount, not in the sum)",
        "(per win with an amount: 2 of 4)",
    ]
    said = notes(team.text)
    for note in ("(per win with an amount: 2 of 4)", "(per win with an amount: 1 of 3)",
                 "(per win with an amount: 3 of 7)"):  # fmt: skip
        assert said.count(note) == 1, said
    assert not any("not in the sum" in n and "per win" in n for n in said)
