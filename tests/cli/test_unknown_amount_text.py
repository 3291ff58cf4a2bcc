"""`paceline scorecard` and `paceline tipping` print how many deals a sum of amounts left out
(hand-counted world: tests/unknown_amounts_org.py)."""

from __future__ import annotations

from pathlib import Path

from factories import cli_in
from paceline.config import Settings
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from unknown_amounts_org import AS_OF, build_unknown_amounts_org

DAY = AS_OF.isoformat()


def under(text: str, label: str) -> tuple[str, str]:
    """The actual cell of the first row labelled `label` and the line under it (table cells
    split on the box-drawing bar; the actual is the first cell after the label)."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if label in line)
    cells = [c.strip() for c in lines[at].split("│")]
    column = cells.index(label) + 1
    return cells[column], lines[at + 1].split("│")[column].strip()


def test_the_cli_prints_the_deals_left_out_next_to_the_figure(
    tmp_path: Path, settings: Settings
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    build_unknown_amounts_org(engine, settings)
    engine.dispose()
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Ana", "--as-of", DAY)
    assert code == 0, text
    assert under(text, "Revenue won") == ("5,000", "(2 deals without an amount)")
    assert "without an amount" not in under(text, "Deals won")[1]
    code, text = cli_in(tmp_path, "scorecard", "--team", "East", "--as-of", DAY)
    assert code == 0, text
    assert text.count("(2 deals without an amount)") == 2  # Ana and Ben; not Cy
    assert "(4 deals without an amount)" in text  # the total
    code, text = cli_in(tmp_path, "leaderboard", "revenue", "--team", "East", "--as-of", DAY)
    assert code == 0, text
    assert text.count("(2 deals without an amount)") == 2  # Ben's and Ana's rows
    assert "(4 deals without an amount)" in text  # the total
    code, text = cli_in(tmp_path, "tipping", "conversations", "--outcome", "revenue",
                        "--lag", "0", "--as-of", DAY)  # fmt: skip
    assert code == 0, text
    assert "3 deals in the rep-weeks read have no amount" in " ".join(text.split())
