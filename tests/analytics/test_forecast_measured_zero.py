"""A measured 0 of n widens: a scope none of whose n closes was won is forecast with the
uncertainty of its win chance, not as a certain 0 (`rate_uncertainty`, "a measured 0").

Until 2026-12-07 each run's win chance was the curves' chance times a factor of mean 1, and
0 times any factor stays 0: 0 wins of 2 closes printed P10 = P50 = P90 = won so far, as if
two losses proved the scope would never win. Now a close is won with the share's Jeffreys
posterior, Beta(1/2, n + 1/2), drawn per run: mean (1/2) / (n + 1).

Hand-built on `factories.east_and_west`, as of 2026-05-15 (Q2's middle cut-off; 46 days
left, the history from 2025-05-16). Cy (East) lost `n` deals, each a proposal from its
creation (one a day from 2025-06-01) lost exactly 100 days later, and has 20 open proposals
of 1,000, each a proposal since 2026-02-10 (94.5 days in at the cut-off): every deal of the
history still a proposal that long closed at 100 days, so each open deal closes in time for
sure, and is won with the run's share p. Nothing was created in the 90 days before the
cut-off: no new deals. So East's revenue in a run is 1,000 x Binomial(20, p), p drawn from
Beta(1/2, n + 1/2): over the runs, 1,000 x BetaBinomial(20, 1/2, n + 1/2) (scipy's), of mean
20,000 x (1/2) / (n + 1). Dee (West) won a deal in 2024 (`put_old_win`): the organisation
records wins, so the 0 is a measurement, not a gap in the data.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.stats import beta, betabinom
from sqlalchemy import Engine

from factories import at, business_days, east_and_west, east_forecast_totals, put_deal, put_old_win
from paceline.analytics.forecast import forecast
from paceline.analytics.rate_uncertainty import Uncertainty, draw_factors
from paceline.config import Settings

MAY_15 = dt.date(2026, 5, 15)
OPEN_DEALS, AMOUNT = 20, 1000.0
RUNS, SEED = 20_000, 3
# A quantile of the runs is the Beta-Binomial's at a level within this of its own (4.5 standard
# errors at 20,000 runs): 0 of 2's P90 is 9,000 (its CDF at 9 deals is 0.9031) or, in a run
# set whose share at 9 falls below 0.9, 10,000 (seed 3 here: the CDF's 0.9023 at 100,000 runs).
MC_LEVEL = 0.01


def lost_scope(engine: Engine, settings: Settings, closes: int) -> None:
    """East: Cy's `closes` lost proposals and 20 open ones (see the module's notes)."""
    reps = east_and_west(engine, settings)
    put_old_win(engine, reps["Dee"])
    cy = reps["Cy"]
    for i in range(closes):
        created = at(6, 1, 2025) + dt.timedelta(days=i % 150)
        lost = created + dt.timedelta(days=100)
        put_deal(engine, cy, f"Lost {i}", 1000, created, status="lost", stage="closed_lost",
                 closed=lost, history=[("proposal", created), ("closed_lost", lost)])  # fmt: skip
    for i in range(OPEN_DEALS):
        put_deal(engine, cy, f"Open {i}", AMOUNT, at(2, 10), stage="proposal",
                 history=[("proposal", at(2, 10))])  # fmt: skip


def east_totals(engine: Engine, settings: Settings) -> np.ndarray:
    """East's revenue in Q2 in each of the runs (the forecast's own simulation)."""
    return east_forecast_totals(engine, settings, MAY_15, RUNS, SEED)


@pytest.mark.parametrize("closes", [2, 20])
def test_a_measured_zero_is_forecast_with_its_posterior(
    engine: Engine, settings: Settings, closes: int
) -> None:
    """0 of 2: the share's posterior is Beta(1/2, 5/2), mean 1/6: each open deal's chance
    1/6, the mean 20,000 / 6 = 3,333.33; P10-P90 of 1,000 x BetaBinomial(20, 1/2, 5/2) is 0
    to 9,000 (P50 2,000), where it read 0 to 0. 0 of 20: mean 1/42 (476.19 in all), P10-P90
    0 to 2,000. The runs' distribution is the Beta-Binomial's within Monte Carlo error."""
    lost_scope(engine, settings, closes)
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=RUNS, seed=SEED)
    share = 0.5 / (closes + 1)
    assert (made.history_wins, made.won_so_far, made.expected_new) == (0, 0.0, 0.0)
    assert [d.win_probability for d in made.open_deals] == pytest.approx([share] * OPEN_DEALS)
    assert made.expected_open == pytest.approx(OPEN_DEALS * AMOUNT * share, abs=0.01)
    truth = betabinom(OPEN_DEALS, 0.5, closes + 0.5)
    for level, found in zip((0.1, 0.5, 0.9), (made.p10, made.p50, made.p90), strict=True):
        assert AMOUNT * truth.ppf(level - MC_LEVEL) <= found <= AMOUNT * truth.ppf(level + MC_LEVEL)
    assert made.p90 >= AMOUNT  # at least a deal won (it read 0)
    assert made.mean == pytest.approx(AMOUNT * truth.mean(), rel=0.03)
    totals = east_totals(engine, settings)
    for wins in range(8):
        assert np.mean(totals <= AMOUNT * wins) == pytest.approx(truth.cdf(wins), abs=0.015)


def test_the_interval_narrows_as_the_losses_grow(engine: Engine, settings: Settings) -> None:
    """0 of 200: mean 20,000 / 402 = 49.75; 95.35% of the runs win nothing, so P10 = P50 =
    P90 = 0: the honest interval of 200 losses, where 0 of 2 spanned 9,000."""
    lost_scope(engine, settings, 200)
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=RUNS, seed=SEED)
    assert made.open_deals[0].win_probability == pytest.approx(0.5 / 201)
    assert (made.p10, made.p50, made.p90) == (0.0, 0.0, 0.0)
    assert made.mean == pytest.approx(AMOUNT * betabinom(20, 0.5, 200.5).mean(), rel=0.1)


def test_new_deals_of_a_measured_zero_are_won_at_its_share(
    engine: Engine, settings: Settings
) -> None:
    """Cy's 2 losses (0 of 2, share 1/6) were created on 2026-03-02 and 2026-03-03, each lost
    exactly 10 days later: the opportunity run rate is 2 per business day of the 90 before
    the cut-off (2026-02-15 to 2026-05-15), and a deal created on a day left closes 10 days
    later, so it is won in time when created by 2026-06-20 (day 35 of the 46 left). Expected
    new wins: 1/6 x the rate x the business days from 2026-05-16 to 2026-06-20 (they read 0).
    No won size in the scope: a new deal won is worth what its 2 lost deals would have been,
    1,000 each (`forecast.deal_sizes`), so the new deals' revenue is 1,000 x the expected
    wins: 2/65 x 24 / 6 x 1,000 = 123.08 (until 2026-12-08 it read 0, nothing to value them
    by, though the posterior gave them a chance)."""
    reps = east_and_west(engine, settings)
    put_old_win(engine, reps["Dee"])
    for day in (2, 3):
        created, lost = at(3, day), at(3, day + 10)
        put_deal(engine, reps["Cy"], f"Lost {day}", 1000, created, status="lost",
                 stage="closed_lost", closed=lost,
                 history=[("proposal", created), ("closed_lost", lost)])  # fmt: skip
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=200, seed=SEED)
    rate = 2 / len(business_days(settings, dt.date(2026, 2, 15), dt.date(2026, 5, 16)))
    in_time = len(business_days(settings, dt.date(2026, 5, 16), dt.date(2026, 6, 21)))
    assert made.new_deals.opportunity_run_rate == pytest.approx(rate)
    assert made.new_deals.expected_wins == pytest.approx(rate * in_time / 6)
    assert made.expected_new == pytest.approx(rate * in_time / 6 * 1_000, abs=0.01)
    assert made.expected_new == 123.08  # 2/65 x 24 / 6 x 1,000, to the cent
    assert (made.new_deals.average_won_amount, made.new_deals.sizes_from) == (
        1_000,
        "lost_and_open",
    )


def test_a_measured_zero_draws_each_runs_share_from_the_beta_posterior() -> None:
    """0 of 2 closes: each run's factor times the posterior mean 1/6 is its share, drawn from
    Beta(1/2, 5/2): its quantiles are scipy's (0.0035, 0.0955, 0.4481 at 10%, 50%, 90%)
    within Monte Carlo error, and it is never above 1 (a Gamma factor of the same variance,
    capped at 1, on 1/6 would be; and on the old curves' 0 it was nothing at all)."""
    spread = Uncertainty(0.0, 1.0, 0.0, none_won_of=2)
    factors = draw_factors(np.random.default_rng(1), spread, 200_000)
    shares = factors.win / 6
    expected = beta(0.5, 2.5).ppf([0.1, 0.5, 0.9])
    assert np.quantile(shares, [0.1, 0.5, 0.9]) == pytest.approx(expected, rel=0.03)
    assert shares.max() <= 1.0
    assert shares.mean() == pytest.approx(1 / 6, rel=0.01)
