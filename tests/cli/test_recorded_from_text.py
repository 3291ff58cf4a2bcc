"""`paceline scorecard` says when a team's records begin part-way into the period
(`factories.build_north_recorded_from_mid_month`: North recorded from Tuesday Nov 10; as of
the 18th Sam is on business day 7 of 13, owed 28 conversations, not 52), and `--json`
carries the day."""

from __future__ import annotations

import json
from pathlib import Path

from factories import AS_OF, build_north_recorded_from_mid_month, cli_in
from paceline.config import Settings
from paceline.store.engine import make_engine

DAY = AS_OF.isoformat()
SAID = (
    "recorded from 2026-11-10: nothing is recorded for team North before it, so the target "
    "and expectations are pro rata from then"
)


def _north(tmp_path: Path, settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    build_north_recorded_from_mid_month(engine, settings)
    engine.dispose()


def test_the_card_and_the_team_table_say_where_the_records_begin(
    tmp_path: Path, settings: Settings
) -> None:
    _north(tmp_path, settings)
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Sam", "--as-of", DAY)
    assert code == 0, text
    flat = " ".join(text.split())
    assert "business day 7 of 13 (6 left)" in flat
    assert SAID in flat
    assert "joined" not in flat
    code, text = cli_in(tmp_path, "scorecard", "--team", "North", "--as-of", DAY)
    assert code == 0, text
    assert " ".join(text.split()).count(SAID) == 1
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Lee", "--as-of", DAY)
    assert code == 0, text
    flat = " ".join(text.split())
    assert "joined 2026-11-12" in flat and "recorded from" not in flat


def test_the_json_carries_the_day(tmp_path: Path, settings: Settings) -> None:
    _north(tmp_path, settings)
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Sam", "--as-of", DAY, "--json")
    assert code == 0, text
    card = json.loads(text)
    assert (card["recorded_from"], card["business_days_total"]) == ("2026-11-10", 13)
