"""A distinct count's accrual curve reaches every face with the same expected-to-date, and
each face says how it was paced. Team East of `factories.build_book_callers` under
`factories.paced_on_accounts_with_a_new_role` (as a user writes it), as of Wednesday
2026-11-11: Ava's curve expects 16 of her 20 accounts (before 2026-12-08: 8.42, even), the
figure of `tests/analytics/test_accrual.py`, on the CLI's JSON and table, the API's card,
team card and leaderboard, the scorecard and team pages and the scorecard download."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from factories import (
    accounts_called_config,
    build_book_callers,
    cli_with_config,
    make_site,
    paced_on_accounts_with_a_new_role,
    page_text,
)
from paceline.config import Settings

DAY = "2026-11-11"
TEAM_NOTE = (
    "Accounts called: a distinct count climbs fast, then flattens; expected to date follows"
    " how it climbed in the rep's own past months (2 reps); their role's past months (too few"
    " of the rep's own) (1 rep); evenly (no past month to learn from) (1 rep)"
)
EVEN_NOTE = "Accounts called: paced evenly (no past month to learn from)"


def _accounts(card: dict[str, Any]) -> dict[str, Any]:
    return next(line for line in card["lines"] if line["metric"] == "accounts_called")


def test_every_face_reads_the_curves_expected_to_date(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    paced = paced_on_accounts_with_a_new_role(settings)
    ids = build_book_callers(engine, paced)
    config = accounts_called_config(tmp_path, paced)
    code, shown = cli_with_config(engine, config, "scorecard", "--team", "East", "--as-of", DAY)
    assert code == 0, shown
    assert TEAM_NOTE in shown
    code, shown = cli_with_config(engine, config, "scorecard", "--rep", "Dot", "--as-of", DAY)
    assert (code, EVEN_NOTE in shown) == (0, True)
    code, shown = cli_with_config(
        engine, config, "scorecard", "--rep", "Ava", "--as-of", DAY, "--json"
    )
    ava = _accounts(json.loads(shown))
    assert (ava["pace"]["expected_to_date"], ava["accrual"]["source"]) == (16.0, "rep")
    site = make_site(engine, paced, {"root": ("admin", None)})
    with site.client:
        card = site.api("root", "/scorecard", rep="Ava", as_of=DAY).json()
        team = site.api("root", "/scorecard/team", team="East", as_of=DAY).json()
        board = site.api(
            "root", "/leaderboard", metric="accounts_called", role="sdr", by="target", as_of=DAY
        ).json()
        page = page_text(site.page("root", f"/reps/{ids['Ava']}", as_of=DAY).text)
        team_page = page_text(site.page("root", "/team", team="East", as_of=DAY).text)
        download = site.page("root", f"/reps/{ids['Ava']}/scorecard.csv", as_of=DAY).text
    assert _accounts(card)["pace"]["expected_to_date"] == 16.0
    assert _accounts(card)["accrual"]["periods"] == 3
    ava_card = next(c for c in team["reps"] if c["rep"] == "Ava")
    assert _accounts(ava_card)["pace"]["expected_to_date"] == 16.0
    assert next(r for r in board["rows"] if r["rep"] == "Ava")["target_to_date"] == 16.0
    assert "expected to date follows how it climbed in the rep's own past months" in page
    assert TEAM_NOTE in team_page
    row = next(line for line in download.splitlines() if "Accounts called" in line)
    assert ",16," in row or ",16.0," in row, row
