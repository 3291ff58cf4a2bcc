"""`paceline scorecard`, `leaderboard`, `tipping`, `stalled`, `forecast` and its backtest print
how many deals a sum of amounts left out, in the pages' words (`describe.not_counted_text`;
hand-counted worlds: tests/unknown_amounts_org.py and `factories.build_unknown_amount_wins`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import build_unknown_amount_wins, cli_in, replay_july_from
from paceline.cli import out as cli_out
from paceline.config import Settings, default_config_text, parse_settings
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from unknown_amounts_org import (
    AS_OF,
    EXTRA_METRICS,
    build_unknown_amounts_org,
    config_with_revenue_per_win,
)

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
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_out, "width", 400)  # each note on one line, whatever ran before
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    build_unknown_amounts_org(engine, settings)
    engine.dispose()
    code, text = cli_in(tmp_path, "scorecard", "--rep", "Ana", "--as-of", DAY)
    assert code == 0, text
    # The page's words (it said "(2 deals without an amount)" where the page said these).
    assert under(text, "Revenue won") == ("5,000", "(2 without an amount, not in the sum)")
    assert "without an amount" not in under(text, "Deals won")[1]
    code, text = cli_in(tmp_path, "scorecard", "--team", "East", "--as-of", DAY)
    assert code == 0, text
    assert text.count("(2 without an amount, not in the sum)") == 2  # Ana and Ben; not Cy
    assert "(4 without an amount, not in the sum)" in text  # the total
    code, text = cli_in(tmp_path, "leaderboard", "revenue", "--team", "East", "--as-of", DAY)
    assert code == 0, text
    assert text.count("(2 without an amount, not in the sum)") == 2  # Ben's and Ana's rows
    assert "(4 without an amount, not in the sum)" in text  # the total
    assert "(2 deals without an amount)" not in text
    # their partial sums are not ranked, in the words of every face (`describe.STANDING_TEXT`)
    assert text.count("deals without an amount, not ranked") == 2
    code, text = cli_in(tmp_path, "tipping", "conversations", "--outcome", "revenue",
                        "--lag", "0", "--as-of", DAY)  # fmt: skip
    assert code == 0, text
    # The page's words, from one place (`describe.tipping_unknown_text`): it said "in the
    # rep-weeks read" where the page said "in these rep-weeks".
    assert (
        "3 deals in these rep-weeks have no amount: the weekly sums count known amounts only."
        in " ".join(text.split())
    )


LEFT_OUT = "(1 without an amount, not in the sum)"  # the words of every face


def test_stalled_says_what_each_sum_left_out(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cy as of 2026-07-31 (`build_unknown_amount_wins`): "W" 7,000, "Z" a real 0 and "X"
    without an amount, open in proposal since July 4 with no selling since: all stalled,
    7,000 of 7,000 open, X in neither sum. The title put the note after the open value
    only, as if the stalled value had left nothing out."""
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    build_unknown_amount_wins(engine, settings)
    engine.dispose()
    monkeypatch.setattr(cli_out, "width", 400)  # the title on one line
    code, text = cli_in(tmp_path, "stalled", "--team", "East", "--as-of", "2026-07-31")
    assert code == 0, text
    assert f"3 of 3 open deals, 7,000 {LEFT_OUT} of 7,000 {LEFT_OUT}" in text, text


def test_the_forecast_and_its_backtest_say_the_wins_left_out_in_the_flows_words(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cy's July: won 5,000 (Paid, and Pilot's real 0) and "Unknown win" without an amount.
    The forecast's "won so far" said 5,000 alone (a line further down told of the win), the
    backtest's actual "5,000 / +1 no amount", and its note "2 won deal(s)" for July's one
    (its start and middle rows summed). Each now says it as the flow does, July once."""
    monkeypatch.setattr(cli_out, "width", 400)  # one line per row, whatever ran before
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    replay_july_from(engine, build_unknown_amount_wins(engine, settings))
    engine.dispose()
    code, text = cli_in(tmp_path, "forecast", "--period", "month", "--rep", "Cy",
                        "--as-of", "2026-07-05", "--runs", "200")  # fmt: skip
    assert code == 0, text
    won = next(line for line in text.splitlines() if "won so far" in line)
    assert f"5,000 {LEFT_OUT}" in won, text
    code, text = cli_in(tmp_path, "forecast", "--backtest", "--period", "month", "--rep", "Cy",
                        "--periods", "1", "--as-of", "2026-08-01", "--runs", "200")  # fmt: skip
    assert code == 0, text
    rows = [line for line in text.splitlines() if "2026-07" in line and "end of" in line]
    assert len(rows) == 2 and all(f"5,000 {LEFT_OUT}" in row for row in rows), text
    assert "no amount" not in " ".join(row for row in rows)
    assert "1 won deal(s) in the periods have no amount recorded" in text


def test_the_leaderboard_reads_an_average_over_the_wins_with_an_amount(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revenue per win in July to the 15th (tests/unknown_amounts_org.py): Ben 20,000 over 1
    of his 3 wins, Ana 5,000 over 2 of her 4 (2,500), everyone 25,000 over 3 of 7. The rows
    said "(2 without an amount, not in the sum)", a sum's words beside an average; now each
    says what its average rests on, and the average is ranked on it."""
    monkeypatch.setattr(cli_out, "width", 400)
    config = tmp_path / "paceline.toml"
    config.write_text(default_config_text() + EXTRA_METRICS)
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    build_unknown_amounts_org(engine, parse_settings(config.read_text()))
    engine.dispose()
    code, text = cli_in(tmp_path, "--config", str(config), "leaderboard", "revenue_per_win",
                        "--team", "East", "--as-of", DAY)  # fmt: skip
    assert code == 0, text
    lines = text.splitlines()
    ben, ana = (next(i for i, line in enumerate(lines) if f" {n} " in line) for n in ("Ben", "Ana"))
    assert [c.strip() for c in lines[ben].split("│")][1:5] == ["1", "Ben", "East", "20,000"]
    assert [c.strip() for c in lines[ana].split("│")][1:5] == ["2", "Ana", "East", "2,500"]
    assert lines[ben + 1].split("│")[4].strip() == "(per win with an amount: 1 of 3)"
    assert lines[ana + 1].split("│")[4].strip() == "(per win with an amount: 2 of 4)"
    assert "(per win with an amount: 3 of 7)" in text  # everyone pooled: 25,000 / 3
    assert "not in the sum" not in text


def test_the_scorecard_says_what_revenue_per_win_rests_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ana's July to the 15th: revenue per win 2,500 over 2 of her 4 wins. The card said
    "(2 without an amount, not in the sum)" under it, a sum's words beside an average."""
    monkeypatch.setattr(cli_out, "width", 400)
    config = tmp_path / "paceline.toml"
    config.write_text(config_with_revenue_per_win())
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    build_unknown_amounts_org(engine, parse_settings(config.read_text()))
    engine.dispose()
    code, text = cli_in(tmp_path, "--config", str(config), "scorecard", "--rep", "Ana",
                        "--as-of", DAY)  # fmt: skip
    assert code == 0, text
    assert under(text, "Revenue per win") == ("2,500", "(per win with an amount: 2 of 4)")
    assert under(text, "Revenue won") == ("5,000", "(2 without an amount, not in the sum)")
