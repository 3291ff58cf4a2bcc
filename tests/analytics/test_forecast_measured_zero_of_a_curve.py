"""A measured 0 of one curve widens too: in a scope with wins, an open deal whose own
comparison set (the stays still open that long) closed only as losses is forecast with the
posterior of those few closes, not as a certain 0 (`forecast._measured_zero`): Beta(1/2, b),
b = k + (L + 1/2) / (2W + 1), the rest of the scope's W wins and L losses its prior
(`rate_uncertainty.stale_posterior_losses`), the rule a scope with no win follows too.

Until 2026-12-07 only a scope with no win at all was read so: a team with 30 wins whose
only deals ever 200 days in negotiation were lost read 0% for an open deal 210 days in,
in every run, however few those losses were.

Hand-built on `factories.east_and_west`, as of 2026-05-15 (Q2's middle cut-off: 46 days
left, the history from 2025-05-16). Ana won 30 deals, each 10 days in negotiation from its
creation (one a day from 2025-06-01). Cy lost `k` deals, each in negotiation from its
creation (one a day from 2025-06-01) and lost exactly 230 days later, and has 20 open
deals of 1,000 in negotiation since 2025-10-17 (210.5 days in at the cut-off). The stays
still in negotiation 210.5 days in are Cy's `k` losses (the wins left at 10 days), and
each closed 230 days in, within the 46 days left: so every stale deal closes in time for
sure, and is won with the run's share p of that set. Nothing was created in the 90 days
before the cut-off: no new deals. The rest of the scope is the 30 wins and no loss, a prior
of b = 1/2 / 61 = 1/122. So East's revenue in a run is 1,000 x Binomial(20, p), p drawn
from Beta(1/2, k + 1/122): over the runs, 1,000 x BetaBinomial(20, 1/2, k + 1/122)
(scipy's), each deal's chance the posterior mean (1/2) / (1/2 + k + 1/122). Until the rule
took the scope's other closes as the prior (2026-12-07) it was Beta(1/2, k + 1/2), 1/6 for
0 of 2 however the rest of the scope fared: now 0.199 (the other 30 closes all won), and
1/41.0 for 0 of 20 (was 1/42).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.stats import beta, betabinom
from sqlalchemy import Engine

from factories import (
    STALE_AMOUNT,
    STALE_DEALS,
    at,
    east_forecast_totals,
    login,
    made_app,
    put_deal,
    put_old_win,
    quick_user,
    stale_losses,
)
from paceline.analytics.forecast import forecast
from paceline.analytics.pipeline_history import spells
from paceline.analytics.rate_uncertainty import measured_zero_factors
from paceline.config import Settings
from paceline.describe import history_text

MAY_15 = dt.date(2026, 5, 15)
STALE, AMOUNT = STALE_DEALS, STALE_AMOUNT
WINS = 30  # `stale_losses`' default
RUNS, SEED = 20_000, 3
# A quantile of the runs is the Beta-Binomial's at a level within this of its own (4.5
# standard errors at 20,000 runs), as in test_forecast_measured_zero.
MC_LEVEL = 0.01
PRIOR = 0.5 / (2 * WINS + 1)  # the rest of the scope: 30 wins, no loss
STALE_READ = (
    "for 20 open deals, none of the 2 closes of deals open as long was won: closing in time,"
    " each is won 1 time in 5"
)


def posterior_mean(closes: int, prior: float = PRIOR) -> float:
    """The mean of Beta(1/2, closes + prior)."""
    return 0.5 / (0.5 + closes + prior)


def east_totals(engine: Engine, settings: Settings) -> np.ndarray:
    """East's revenue in Q2 in each of the runs (the forecast's own simulation)."""
    return east_forecast_totals(engine, settings, MAY_15, RUNS, SEED)


@pytest.mark.parametrize("closes", [2, 20])
def test_a_stale_deal_whose_comparison_set_was_all_lost_carries_its_posterior(
    engine: Engine, settings: Settings, closes: int
) -> None:
    """0 of 2: each stale deal's chance is 0.5 / 2.508 = 0.199 (it read 0%, then 1/6),
    P10-P90 of 1,000 x BetaBinomial(20, 1/2, 2 + 1/122) is 0 to 11,000 with P50 2,000 (it
    read 0 to 0, then 0 to 9,000). 0 of 20: 1/41.0 each, P10-P90 0 to 2,000. The runs share
    one draw of the unknown share (their totals follow the Beta-Binomial, not the narrower
    Binomial(20, 0.199) of independent draws)."""
    stale_losses(engine, settings, closes)
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=RUNS, seed=SEED)
    share = posterior_mean(closes)
    assert (made.history_wins, made.none_won_of, made.won_so_far) == (WINS, 0, 0.0)
    assert made.expected_new == 0.0
    assert [d.win_probability for d in made.open_deals] == pytest.approx([share] * STALE)
    assert made.expected_open == pytest.approx(STALE * AMOUNT * share, abs=0.01)
    truth = betabinom(STALE, 0.5, closes + PRIOR)
    for level, found in zip((0.1, 0.5, 0.9), (made.p10, made.p50, made.p90), strict=True):
        assert AMOUNT * truth.ppf(level - MC_LEVEL) <= found <= AMOUNT * truth.ppf(level + MC_LEVEL)
    assert made.p90 >= AMOUNT  # at least a deal won (it read 0)
    assert made.mean == pytest.approx(AMOUNT * truth.mean(), rel=0.03)
    totals = east_totals(engine, settings)
    for wins in range(8):
        assert np.mean(totals <= AMOUNT * wins) == pytest.approx(truth.cdf(wins), abs=0.015)


def test_a_stale_deal_read_by_age_carries_its_posterior_too(
    engine: Engine, settings: Settings
) -> None:
    """Without stage history every deal is read by its age: the lives still open 210.5 days
    after creation are Cy's 2 losses (230 days; the wins lived 10), so each stale deal reads
    0.199 and the runs 1,000 x BetaBinomial(20, 1/2, 2 + 1/122) again: P10-P90 0 to 11,000."""
    stale_losses(engine, settings, 2, staged=False)
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=RUNS, seed=SEED)
    assert not made.by_stage
    assert [d.win_probability for d in made.open_deals] == pytest.approx(
        [posterior_mean(2)] * STALE
    )
    assert [d.none_won_of for d in made.open_deals] == [2] * STALE
    truth = betabinom(STALE, 0.5, 2 + PRIOR)
    for level, found in zip((0.1, 0.5, 0.9), (made.p10, made.p50, made.p90), strict=True):
        assert AMOUNT * truth.ppf(level - MC_LEVEL) <= found <= AMOUNT * truth.ppf(level + MC_LEVEL)


def test_a_deal_whose_comparison_set_holds_wins_reads_as_before(
    engine: Engine, settings: Settings
) -> None:
    """Ana's fresh deal, in negotiation since 2026-05-11 (4.5 days in): its comparison set is
    the 30 wins (10 days in), the 2 losses and the 20 stale deals (still open, censored at
    210.5 days): at 10 days 52 at risk, 30 won, so its chance is 30/52 as it always was, and
    read off its curves (no share of a measured 0); the stale deals still read 0.199."""
    reps = stale_losses(engine, settings, 2)
    put_deal(engine, reps["Ana"], "Fresh", 7000, at(5, 11), stage="negotiation",
             history=[("negotiation", at(5, 11))])  # fmt: skip
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=200, seed=SEED)
    chances = {d.name: d.win_probability for d in made.open_deals}
    assert chances["Fresh"] == pytest.approx(30 / 52)
    assert chances["Stale 0"] == pytest.approx(posterior_mean(2))


def test_each_count_of_closes_draws_its_share_from_one_uniform() -> None:
    """Posteriors Beta(1/2, 5/2) and Beta(1/2, 41/2) (0 of 2 and 0 of 20 with the Jeffreys
    prior alone): each row times its mean (1/6, 1/42) is a share drawn from its Beta:
    scipy's quantiles within Monte Carlo error; the rows rise together (one uniform per run:
    a run where stale deals win is one for all)."""
    factors = measured_zero_factors(np.random.default_rng(1), [2.5, 20.5], 200_000)
    for row, losses in zip(factors, (2.5, 20.5), strict=True):
        shares = row * 0.5 / (losses + 0.5)
        expected = beta(0.5, losses).ppf([0.1, 0.5, 0.9])
        assert np.quantile(shares, [0.1, 0.5, 0.9]) == pytest.approx(expected, rel=0.03)
        assert shares.max() <= 1.0
    assert np.array_equal(np.argsort(factors[0]), np.argsort(factors[1]))


def test_a_comparison_set_counts_its_wins_and_closes_by_the_horizon() -> None:
    """Deals' lives (one state, from 0 days): won at 5, lost at 12, open at 20, won at 30.
    Still open 4 days in and closed by 25: the win at 5 and the loss at 12, (1, 2); 10 days
    in: the loss alone, (0, 1), a measured 0; by 40, the win at 30 too, (1, 2). Stays in a
    stage (one watched from 3 days in, one left for another stage at 6 and won at 30): 7
    days in, the stays longer than 7 (lost at 15 and 12) are (0, 2) by 20 and by 40 (the
    win left the stage at 6); 5 days in, all three by 40, (1, 3)."""
    lives = spells([(0, 5, 5, True, True), (0, 12, 12, False, True),
                    (0, 20, 20, False, False), (0, 30, 30, True, True)])  # fmt: skip
    assert lives.outcomes_within(4, 25) == (1, 2)
    assert lives.outcomes_within(10, 25) == (0, 1)
    assert lives.outcomes_within(10, 40) == (1, 2)
    stays = spells([(-3, 8, 15, False, True), (0, 12, 12, False, True), (0, 6, 30, True, True)])
    assert stays.outcomes_within(7, 20) == (0, 2)
    assert stays.outcomes_within(7, 40) == (0, 2)
    assert stays.outcomes_within(5, 40) == (1, 3)


def test_every_face_says_how_a_stale_deal_is_read(engine: Engine, settings: Settings) -> None:
    """The "Learnt from" line (the terminal's, the page's and the team report's, one text)
    says the 20 stale deals are won 1 time in 5 (1 / 0.199 = 5.02) and why; the API gives
    each deal its 2 closes (`none_won_of`) and P90 11,000 (the Beta-Binomial's, as above)."""
    stale_losses(engine, settings, 2)
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=RUNS, seed=SEED)
    assert STALE_READ in history_text(made)
    assert [d.none_won_of for d in made.open_deals] == [2] * STALE
    quick_user(engine, "root", "admin")
    args = {"period": "quarter", "team": "East", "as_of": MAY_15.isoformat()}
    with TestClient(made_app(settings, engine)) as client:
        login(client, engine, "root")
        answer = client.get("/api/v1/forecast", params={**args, "runs": str(RUNS), "seed": "3"})
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        assert [d["none_won_of"] for d in shown["open_deals"]] == [2] * STALE
        assert (shown["p50"], shown["p90"]) == (made.p50, made.p90)
        page = client.get("/forecast", params=args)
        assert page.status_code == 200 and STALE_READ in page.text, page.text


@pytest.mark.parametrize(("wins", "share"), [(0, 1 / 402), (1, 3 / 410)])
def test_one_early_win_elsewhere_barely_moves_a_stale_deal(
    engine: Engine, settings: Settings, wins: int, share: float
) -> None:
    """200 closes: Ana's `wins` early wins and 198 - `wins` quick losses (10 days in), and
    Cy's 2 losses 230 days in, the stale deals' whole comparison set. With no win the scope
    is a measured 0 (Dee's win in West, 2024, says the organisation records wins):
    Beta(1/2, 200 + 1/2), 1/402 for each deal. One early win elsewhere
    made it, until this rule, the Jeffreys posterior of the 2 losses alone: 1/6, 67 times
    as much, for a deal whose 199 companions but one were lost. Now the rest of the scope (1
    win, 197 losses) is the prior, b = 2 + 197.5 / 3: mean 0.5 / (0.5 + 2 + 65.83) = 3/410
    (1 in 137), and the runs 1,000 x BetaBinomial(20, 1/2, b): P90 1,000 (it read 9,000)."""
    reps = stale_losses(engine, settings, 2, wins=wins, quick_losses=198 - wins)
    put_old_win(engine, reps["Dee"])
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=RUNS, seed=SEED)
    assert made.history_wins == wins
    assert [d.win_probability for d in made.open_deals] == pytest.approx([share] * STALE)
    if wins:
        truth = betabinom(STALE, 0.5, 2 + 197.5 / 3)
        assert made.expected_open == pytest.approx(STALE * AMOUNT * share, abs=0.01)
        assert (made.p10, made.p50, made.p90) == (0.0, 0.0, AMOUNT * truth.ppf(0.9))
        # The runs' mean is the Beta-Binomial's within 4.5 standard errors (1,000 x sd
        # 0.430 / sqrt(20,000) = 3.04 each), the share of runs at each total within 0.015.
        assert made.mean == pytest.approx(AMOUNT * truth.mean(), abs=4.5 * 3.05)
        totals = east_totals(engine, settings)
        for won in range(3):
            assert np.mean(totals <= AMOUNT * won) == pytest.approx(truth.cdf(won), abs=0.015)
