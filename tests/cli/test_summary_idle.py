"""`paceline summary` lists every selling rep working in the period, those who logged
nothing too (they were left out: exactly the rep a manager needed to see)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from paceline.cli import app


def test_a_rep_who_logged_nothing_is_listed_with_zeros(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'p.db'}", "--config", str(tmp_path / "p.toml")]

    def cli(*args: str) -> str:
        ran = CliRunner().invoke(app, [*db, *args])
        assert ran.exit_code == 0, ran.output
        return ran.stdout

    cli("init")
    cli("rep", "add", "Ana Ruiz", "--role", "ae", "--team", "East")
    cli("rep", "add", "Bo Chen", "--role", "sdr", "--team", "East")  # logs nothing
    cli("rep", "add", "Max Lee", "--role", "manager", "--team", "East")  # has no key metrics
    cli("rep", "add", "Cy New", "--role", "sdr", "--team", "East", "--start", "2026-12-01")
    cli("log", "call", "--rep", "Ana Ruiz", "--ask", "--at", "2026-11-19 10:30")
    cli("log", "call", "--rep", "Ana Ruiz", "--at", "2026-11-20 11:00")
    summary = json.loads(cli("summary", "--as-of", "2026-11-20", "--json"))
    listed = [(r["rep"], r["activities"], r["selling"]) for r in summary["reps"]]
    # Ana first (most activities; the call without an Ask is not selling), then Bo with zeros;
    # not the manager, not Cy (starts in December).
    assert listed == [("Ana Ruiz", 2, 1), ("Bo Chen", 0, 0)]
    table = cli("summary", "--as-of", "2026-11-20")
    assert "Bo Chen" in table and "Max Lee" not in table
