"""Sums of amounts in the scorecard, the metric totals and the tipping analysis add the known
amounts and count the deals they left out, so no face shows a silently short figure.

The world and its hand-counted truths: tests/unknown_amounts_org.py.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from paceline.analytics.metrics import amounts_unknown, metric_totals
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import rep_scorecard, team_scorecards
from paceline.analytics.tipping import tipping_point
from paceline.config import Settings, default_config_text, parse_settings
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
    """Revenue per win for Ana: 5,000 over 4 wins, two of them without an amount; the line
    says so (the ratio divides known amounts by every win)."""
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
    assert (line.pace.actual, line.amounts_unknown) == (1_250, 2)


def test_tipping_counts_the_deals_without_an_amount_in_the_rep_weeks_read(
    engine: Engine, wider: Settings
) -> None:
    build_unknown_amounts_org(engine, wider)
    result = tipping_point(engine, wider, "conversations", outcome="revenue", lag_weeks=0,
                           as_of=AS_OF)  # fmt: skip
    points = sorted((p.activity, p.outcome, p.rep_weeks) for p in result.points)
    assert points == [(3, 5_000, 1), (4, 20_000, 1), (5, 0, 1)]
    assert result.amounts_unknown == 3
    counted = tipping_point(engine, wider, "conversations", outcome="deals_won", lag_weeks=0,
                            as_of=AS_OF)  # fmt: skip
    assert counted.amounts_unknown == 0
