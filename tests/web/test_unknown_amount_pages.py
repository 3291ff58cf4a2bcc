"""The scorecard, team and tipping pages and their API answers say how many deals a sum of
amounts left out (hand-counted world: tests/unknown_amounts_org.py)."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from factories import make_site
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
        assert notes(ana.text) == ["(2 without an amount, not counted)"]
        team = site.page("root", "/team", team="East", as_of=DAY)
        assert team.status_code == 200, team.text
        # Ana's 2, Ben's 2, the team total's 4; Cy has none, so no note.
        assert sorted(notes(team.text)) == [
            "(2 without an amount, not counted)",
            "(2 without an amount, not counted)",
            "(4 without an amount, not counted)",
        ]
        board = site.page("root", "/leaderboard", metric="revenue", period="month", team="East",
                          as_of=DAY)  # fmt: skip
        assert board.status_code == 200, board.text
        # Ben's and Ana's rows, then the board's total.
        assert notes(board.text) == [
            "(2 without an amount)",
            "(2 without an amount)",
            "(4 without an amount, not counted)",
        ]
        tipping = site.page("root", "/tipping", metric="conversations", outcome="revenue",
                            lag="0", as_of=DAY)  # fmt: skip
        assert tipping.status_code == 200, tipping.text
        assert notes(tipping.text) == [
            "3 deals in these rep-weeks have no amount: the weekly sums count known amounts only."
        ]


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
