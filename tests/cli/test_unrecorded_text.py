"""`paceline scorecard` says "not recorded" for a metric nobody in the organisation records,
in the table and in a sentence under it, and `--json` carries the status and what is missing
(the team of `factories.build_unrecorded_team`: no connected call anywhere, so no
conversations; Ben's meetings set are recorded, Ana's 0 of 13 is behind)."""

from __future__ import annotations

import json
from pathlib import Path

from factories import AS_OF, build_unrecorded_team, cli_in
from paceline.config import Settings
from paceline.store.engine import make_engine

DAY = AS_OF.isoformat()
SENTENCE = (
    "Conversations: not recorded. Nobody in the organisation has any conversations up to"
    " 2026-11-18, so the CRM does not record them"
)


def row(text: str, label: str, occurrence: int = 0) -> list[str]:
    """The cells of the `occurrence`-th table row naming `label` (split on the box bar)."""
    rows = [line for line in text.splitlines() if "│" in line and f" {label} " in line]
    return [c.strip() for c in rows[occurrence].split("│")][1:-1]


def test_the_cli_says_not_recorded(tmp_path: Path, settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    build_unrecorded_team(engine, settings)
    engine.dispose()
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Ana", "--as-of", DAY)
    assert code == 0, text
    # metric, actual, target, expected, pace, projected, needed/day, status: no figure, and
    # "not recorded" whether the line has a target (conversations) or not
    assert row(text, "Conversations") == ["Conversations", "-", "190", "", "", "", "",
                                          "not recorded"]  # fmt: skip
    assert row(text, "Opportunities sourced (sales-accepted)")[1:] == [
        "-",
        "",
        "",
        "",
        "",
        "",
        "not recorded",
    ]
    assert row(text, "Meetings set")[-1] == "behind"
    assert SENTENCE in " ".join(text.split())
    code, text = cli_in(tmp_path, "scorecard", "--team", "East", "--as-of", DAY)
    assert code == 0, text
    # Ana's, Ben's and the total's lines; the sentence once.
    assert [row(text, "Conversations", i)[-1] for i in range(3)] == ["not recorded"] * 3
    assert " ".join(text.split()).count(SENTENCE) == 1
    assert "behind" not in row(text, "Conversations", 2)


def test_the_cli_json_carries_the_status_and_what_is_missing(
    tmp_path: Path, settings: Settings
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    build_unrecorded_team(engine, settings)
    engine.dispose()
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Ana", "--as-of", DAY, "--json")
    assert code == 0, text
    lines = {line["metric"]: line for line in json.loads(text)["lines"]}
    conversations = lines["conversations"]
    assert (conversations["pace"]["status"], conversations["unrecorded"]) == (
        "not_recorded",
        "Conversations",
    )
    assert conversations["recorded"] is False
    assert (lines["meetings_set"]["pace"]["status"], lines["meetings_set"]["unrecorded"]) == (
        "behind",
        None,
    )


def test_the_funnels_count_of_an_unrecorded_step_says_not_recorded(
    tmp_path: Path, settings: Settings
) -> None:
    """Nobody has a connected call, so the funnel's conversations are not recorded: their
    count reads "not recorded", as the scorecard's does, never 0 (it read "Conversations │ 0
    │ not recorded"); a recorded step keeps its count: Ana's 39 calls of November to the
    18th, and her 0 meetings set, which Ben records."""
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    build_unrecorded_team(engine, settings)
    engine.dispose()
    code, text = cli_in(tmp_path, "funnel", "--rep", "Ana", "--period", "month", "--as-of", DAY)
    assert code == 0, text
    assert row(text, "Conversations")[:3] == ["Conversations", "not recorded", "not recorded"]
    assert row(text, "Calls")[:2] == ["Calls", "39"]
    assert row(text, "Meetings set")[1] == "0"
    code, text = cli_in(tmp_path, "diagnose", "--rep", "Ana", "--as-of", DAY)
    assert code == 0, text
    assert row(text, "Conversations")[:3] == ["Conversations", "not recorded", "not recorded"]
