"""`paceline scorecard` says when a rep left during the period (the team of
`factories.build_leaver_team`: Lea left on Wednesday Nov 11, her 8th business day of 19),
and `--json` carries the last day; end to end, `rep edit --end` is what makes her a leaver."""

from __future__ import annotations

import json
from pathlib import Path

from factories import (
    AS_OF,
    add_late_starter,
    add_leaver,
    build_leaver_team,
    build_tracking_team,
    cli_in,
)
from paceline.config import Settings
from paceline.store.engine import make_engine

DAY = AS_OF.isoformat()


def _team(tmp_path: Path, settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    build_leaver_team(engine, settings)
    engine.dispose()


def test_a_leavers_card_says_she_left(tmp_path: Path, settings: Settings) -> None:
    _team(tmp_path, settings)
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Lea", "--as-of", DAY)
    assert code == 0, text
    flat = " ".join(text.split())
    assert "business day 8 of 8 (0 left)" in flat
    assert "left 2026-11-11: target and expectations are pro rata to the last day" in flat


def test_the_team_table_says_who_left(tmp_path: Path, settings: Settings) -> None:
    _team(tmp_path, settings)
    code, text = cli_in(tmp_path, "scorecard", "--team", "East", "--as-of", DAY)
    assert code == 0, text
    assert "left 2026-11-11" in text
    # Lea's row and the title's head count ("3 reps (Lea left 2026-11-11)"); Ana and Ben
    # are still there
    assert text.count("left 2026-") == 2


def test_the_team_table_counts_who_is_there(tmp_path: Path, settings: Settings) -> None:
    """East on the 18th: 3 reps there (Ana, Ben, Cy), Lea gone, Zoe not started; the JSON
    carries the same count and names."""
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    build_leaver_team(engine, settings)
    add_late_starter(engine, settings)
    engine.dispose()
    code, text = cli_in(tmp_path, "scorecard", "--team", "East", "--as-of", DAY)
    assert code == 0, text
    flat = " ".join(text.split())
    assert "3 reps (Lea left 2026-11-11; Zoe starts 2026-11-23)" in flat
    code, text = cli_in(tmp_path, "scorecard", "--team", "East", "--as-of", DAY, "--json")
    assert code == 0, text
    body = json.loads(text)
    assert body["headcount"] == 3
    assert body["leavers"] == [{"rep": "Lea", "day": "2026-11-11"}]
    assert body["starting"] == [{"rep": "Zoe", "day": "2026-11-23"}]


def test_the_json_carries_the_last_day(tmp_path: Path, settings: Settings) -> None:
    _team(tmp_path, settings)
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Lea", "--as-of", DAY, "--json")
    assert code == 0, text
    card = json.loads(text)
    assert card["end_date"] == "2026-11-11"
    assert card["business_days_total"] == 8


def _alerted(tmp_path: Path) -> set[str]:
    code, text = cli_in(tmp_path, "alerts", "--as-of", DAY, "--json")
    assert code == 0, text
    return {a["rep"] for a in json.loads(text)["alerts"]}


def test_rep_edit_end_makes_her_a_leaver_end_to_end(tmp_path: Path, settings: Settings) -> None:
    """Lea's calls and target, but no last day yet: paced over the month to the 18th she is
    32 of 52 and idle since the 11th, so she is alerted on. `rep edit Lea --end 2026-11-11`
    and her card says she left (8 of 8 business days) and no alert names her; clearing it
    (`--end none`) brings the alert back."""
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    build_tracking_team(engine, settings)
    add_leaver(engine, settings, left=False)
    engine.dispose()
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Lea", "--as-of", DAY)
    assert code == 0 and "left 2026-" not in text
    assert "Lea" in _alerted(tmp_path)

    code, text = cli_in(tmp_path, "rep", "edit", "Lea", "--end", "2026-11-11")
    assert code == 0, text
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Lea", "--as-of", DAY)
    flat = " ".join(text.split())
    assert "left 2026-11-11" in flat and "business day 8 of 8 (0 left)" in flat
    assert "Lea" not in _alerted(tmp_path)

    assert cli_in(tmp_path, "rep", "edit", "Lea", "--end", "none")[0] == 0
    assert "Lea" in _alerted(tmp_path)


def test_before_her_last_day_she_leaves_rather_than_left(
    tmp_path: Path, settings: Settings
) -> None:
    """As of Tuesday Nov 10 Lea is still there (her last day is the 11th): her card and the
    team table say "leaves 2026-11-11" (they said "left", a day early)."""
    _team(tmp_path, settings)
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Lea", "--as-of", "2026-11-10")
    assert code == 0, text
    flat = " ".join(text.split())
    assert "leaves 2026-11-11: target and expectations are pro rata" in flat
    assert "left 2026-" not in text
    code, text = cli_in(tmp_path, "scorecard", "--team", "East", "--as-of", "2026-11-10")
    assert code == 0, text
    assert "leaves 2026-11-11" in text and "left 2026-" not in text
