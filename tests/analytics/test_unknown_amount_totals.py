"""Sums of amounts in the scorecard, the metric totals and the tipping analysis add the known
amounts and count the deals they left out, so no face shows a silently short figure.

The world and its hand-counted truths: tests/unknown_amounts_org.py.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import Engine

from factories import recorded_statements
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.metrics import amounts_unknown, metric_totals, ratio_parts
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import rep_scorecard, team_scorecards
from paceline.analytics.tipping import tipping_point
from paceline.config import Settings, default_config_text, parse_settings
from paceline.services.targets import TargetRow, save_targets
from unknown_amounts_org import AS_OF, EXTRA_METRICS, build_unknown_amounts_org

JULY, AFTER_AS_OF = AS_OF.replace(day=1), AS_OF.replace(day=16)


@pytest.fixture
def wider() -> Settings:
    """The defaults with a pipeline sum over every status and revenue per win, and a tipping
    history of four weeks."""
    text, found = re.subn(r"(?m)^history_weeks = .*$", "history_weeks = 4", default_config_text())
    assert found == 1
    return parse_settings(text + EXTRA_METRICS)


def test_metric_totals_sum_known_amounts_and_count_the_rest(
    engine: Engine, wider: Settings
) -> None:
    reps = build_unknown_amounts_org(engine, wider)
    ana, ben, cy = reps["Ana"], reps["Ben"], reps["Cy"]
    ensure_rollup(engine, wider)
    names = ["revenue", "deals_won", "pipeline_created"]
    with engine.connect() as conn:
        totals = metric_totals(conn, wider, names, JULY, AFTER_AS_OF)
        by_query = amounts_unknown(conn, wider, "revenue", JULY, AFTER_AS_OF)
    assert (totals.get(ana, "revenue"), totals.amounts_unknown([ana], "revenue")) == (5_000, 2)
    assert (totals.get(ben, "revenue"), totals.amounts_unknown([ben], "revenue")) == (20_000, 2)
    assert (totals.get(cy, "revenue"), totals.amounts_unknown([cy], "revenue")) == (0, 0)
    assert totals.amounts_unknown([ana, ben, cy], "revenue") == 4
    assert (totals.get(ana, "deals_won"), totals.amounts_unknown([ana], "deals_won")) == (4, 0)
    created = "pipeline_created"
    assert (totals.get(ana, created), totals.amounts_unknown([ana], created)) == (5_000, 3)
    assert by_query == {ana: 2, ben: 2}  # the separate count agrees with the one in the sum


def test_metrics_on_the_same_deals_read_them_once(engine: Engine, wider: Settings) -> None:
    """Deals won and revenue (won deals by close day) are one read of the deals, and so are
    deals created and pipeline created (every status by creation day): two statements for
    the four metrics, and every number as counted by hand in unknown_amounts_org."""
    reps = build_unknown_amounts_org(engine, wider)
    ana, ben, cy = reps["Ana"], reps["Ben"], reps["Cy"]
    ensure_rollup(engine, wider)
    names = ["revenue", "deals_won", "pipeline_created", "opportunities_created"]
    with recorded_statements(engine) as statements, engine.connect() as conn:
        totals = metric_totals(conn, wider, names, JULY, AFTER_AS_OF)
    read = [s for s in statements if re.search(r"\bFROM deal\b", s)]
    assert len(read) == 2
    figures = {
        rep: [(totals.get(rep, n), totals.amounts_unknown([rep], n)) for n in names]
        for rep in (ana, ben, cy)
    }
    assert figures == {
        ana: [(5_000, 2), (4, 0), (5_000, 3), (5, 0)],
        ben: [(20_000, 2), (3, 0), (20_000, 2), (3, 0)],
        cy: [(0, 0), (0, 0), (0, 0), (0, 0)],
    }


def test_scorecard_lines_say_how_many_deals_their_sums_left_out(
    engine: Engine, wider: Settings
) -> None:
    build_unknown_amounts_org(engine, wider)
    card = rep_scorecard(engine, wider, "Ana", "month", AS_OF)
    lines = {line.metric: line for line in card.lines}
    assert (lines["revenue"].pace.actual, lines["revenue"].amounts_unknown) == (5_000, 2)
    assert (lines["deals_won"].pace.actual, lines["deals_won"].amounts_unknown) == (4, 0)
    assert lines["meetings_held"].amounts_unknown == 0

    team = team_scorecards(engine, wider, "month", AS_OF, team="East")
    by_rep = {c.rep: {line.metric: line for line in c.lines} for c in team.reps}
    assert by_rep["Ben"]["revenue"].amounts_unknown == 2
    assert by_rep["Cy"]["revenue"].amounts_unknown == 0
    (total,) = [line for line in team.total if line.metric == "revenue"]
    assert (total.pace.actual, total.amounts_unknown) == (25_000, 4)
    (ae_total,) = [line for line in team.role_totals["ae"] if line.metric == "revenue"]
    assert ae_total.amounts_unknown == 4


def test_a_ratio_over_a_sum_of_amounts_counts_the_deals_its_numerator_left_out(
    engine: Engine, wider: Settings
) -> None:
    """Revenue per win for Ana: 5,000 over the 2 of her 4 wins that have an amount (Paid,
    and Pilot's real 0), not over all 4, which would read the two blanks as 0; the line says
    two were left out. The team's: 25,000 over Ana's 2 and Ben's 1 win with an amount."""
    roles = [
        r.model_copy(update={"key_metrics": [*r.key_metrics, "revenue_per_win"]})
        if r.name == "ae"
        else r
        for r in wider.roles
    ]
    settings = wider.model_copy(update={"roles": roles})
    build_unknown_amounts_org(engine, settings)
    card = rep_scorecard(engine, settings, "Ana", "month", AS_OF)
    (line,) = [line for line in card.lines if line.metric == "revenue_per_win"]
    assert (line.pace.actual, line.amounts_unknown) == (2_500, 2)
    assert (line.average_of, line.known) == ("win", 2)  # the faces: "2 of 4"
    team = team_scorecards(engine, settings, "month", AS_OF, team="East")
    (total,) = [line for line in team.total if line.metric == "revenue_per_win"]
    assert total.pace.actual == pytest.approx(25_000 / 3)
    assert (total.amounts_unknown, total.average_of, total.known) == (4, "win", 3)
    (revenue,) = [line for line in card.lines if line.metric == "revenue"]
    assert (revenue.average_of, revenue.known) == (None, None)  # a sum: no known part


def test_an_average_over_the_wins_with_an_amount_is_ranked_on_that_part(
    engine: Engine, wider: Settings
) -> None:
    """Revenue per win by % of a level target of 10,000 per win: Ben 20,000 over 1 of his 3
    wins (200%), Ana 5,000 over 2 of her 4 (2,500: 25%); Cy won nothing (no data). Both were
    set apart as partial sums ("amounts_unknown"), though an average over the wins with an
    amount is no partial total: now ranked on it, the wins it rests on on the row."""
    reps = build_unknown_amounts_org(engine, wider)
    with engine.begin() as conn:
        save_targets(conn, [TargetRow(reps[n], "revenue_per_win", "month", JULY, 10_000)
                            for n in ("Ana", "Ben", "Cy")])  # fmt: skip
    board = leaderboard(engine, wider, "revenue_per_win", "month", AS_OF, team="East",
                        by="target")  # fmt: skip
    rows = [(r.rank, r.rep, r.standing, r.value, r.of_target, r.denominator, r.amounts_unknown)
            for r in board.rows]  # fmt: skip
    assert rows == [
        (1, "Ben", "ranked", 20_000, 2.0, 1, 2),
        (2, "Ana", "ranked", 2_500, 0.25, 2, 2),
        (None, "Cy", "no_value", None, None, 0, 0),
    ]
    assert board.average_of == "win"
    revenue = leaderboard(engine, wider, "revenue", "month", AS_OF, team="East")
    assert revenue.average_of is None


def test_a_ratio_of_a_sum_over_other_deals_keeps_its_whole_denominator(
    engine: Engine, wider: Settings
) -> None:
    """Pipeline created per win divides deals of every status, dated by creation, by wins
    dated by close: not the same deals, so the wins are not reduced by the blanks."""
    extra = """
[[metrics]]
name = "pipeline_per_win"
aggregate = "ratio"
numerator = "pipeline_created"
denominator = "deals_won"
"""
    settings = parse_settings(default_config_text() + EXTRA_METRICS + extra)
    reps = build_unknown_amounts_org(engine, settings)
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        totals = metric_totals(conn, settings, ["pipeline_created", "deals_won"], JULY,
                               AFTER_AS_OF)  # fmt: skip
    assert ratio_parts(settings, totals, [reps["Ana"]], "pipeline_per_win") == (5_000, 4)


def test_tipping_counts_the_deals_without_an_amount_in_the_rep_weeks_read(
    engine: Engine, wider: Settings
) -> None:
    build_unknown_amounts_org(engine, wider)
    result = tipping_point(engine, wider, "conversations", outcome="revenue", lag_weeks=0,
                           as_of=AS_OF)  # fmt: skip
    points = sorted((p.activity, p.outcome, p.rep_weeks) for p in result.points)
    assert points == [(4, 20_000, 1), (5, 0, 1)]  # from Jul 6, the first whole week recorded
    assert result.measured_from == dt.date(2026, 7, 6)
    assert result.amounts_unknown == 3
    counted = tipping_point(engine, wider, "conversations", outcome="deals_won", lag_weeks=0,
                            as_of=AS_OF)  # fmt: skip
    assert counted.amounts_unknown == 0


def test_a_revenue_leaderboard_says_how_many_deals_each_sum_left_out(
    engine: Engine, wider: Settings
) -> None:
    """Ben 20,000 (2 blanks), Ana 5,000 (2 blanks), Cy 0: each row and the total carry the
    deals they left out, and the partial sums are not ranked against Cy's whole one (they
    were, 1st and 2nd on the known amounts): apart, by name."""
    build_unknown_amounts_org(engine, wider)
    board = leaderboard(engine, wider, "revenue", "month", AS_OF, team="East")
    rows = [(r.rank, r.rep, r.value, r.amounts_unknown) for r in board.rows]
    assert rows == [(1, "Cy", 0, 0), (None, "Ana", 5_000, 2), (None, "Ben", 20_000, 2)]
    assert (board.total, board.amounts_unknown) == (25_000, 4)
    wins = leaderboard(engine, wider, "deals_won", "month", AS_OF, team="East")
    assert wins.amounts_unknown == 0 and not any(r.amounts_unknown for r in wins.rows)
