"""`paceline diagnose` in words, with the statistics behind `--stats`.

On the hand-built coaching team (`factories.build_coaching_team`), Ana's conversations →
meetings set step is weak: the brief says so in words, and only `--stats` prints the counts,
the test and the p-value ("How we know").
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from factories import AS_OF, build_coaching_team
from paceline.cli import app
from paceline.config import Settings
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade


def test_the_brief_speaks_plainly_and_stats_shows_how_we_know(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build_coaching_team(engine, settings)
    base = ["--db", url, "diagnose", "--rep", "Ana", "--period", "month"]
    base += ["--as-of", AS_OF.isoformat()]
    runner = CliRunner()
    plain = runner.invoke(app, base)
    assert plain.exit_code == 0, plain.output
    said = " ".join(plain.output.split())
    assert "Weak step conversations → meetings set" in said
    assert "unlikely to be chance" in said
    assert "p = " not in said and "How we know" not in said
    assert "share of the gap" not in said
    assert "--stats" in said  # where the statistics are
    stats = runner.invoke(app, [*base, "--stats"])
    assert stats.exit_code == 0, stats.output
    shown = " ".join(stats.output.split())
    assert "How we know:" in shown and "p = " in shown and "Poisson" in shown
