"""How far the forecast's learnt rates may be off, and each Monte Carlo run's own rates.

A simulation at fixed rates spreads its runs only by chance: which deals happen to win, how
many new ones happen to come. But the rates are estimates (from a few dozen wins, say), and
at fixed rates every run shares the same estimation error, so the P10-P90 interval is too
narrow exactly where the evidence is thin. Each run therefore first draws its own rates,
as multiplicative factors of mean 1 on what history taught, with the variance of each
estimate (an approximation of drawing them from their posterior):

- **creation**: the rate of new deals, a Poisson rate measured on `n` deals: 1 / n (the cap
  for none: positive and finite at every edge);
- **win**: the chance of a win, for open and new deals alike, learnt from `n` closes of which
  `w` won: the relative variance of its Beta posterior under the Jeffreys prior,
  Beta(w + 1/2, n - w + 1/2), of mean m = (w + 1/2) / (n + 1): (1 - m) / (m (n + 2)). For a
  share inside (0, 1) and many closes that is the familiar (1 - p) / (p n); unlike it, it
  stays positive when every close was won (or none): 3 wins of 3 closes leave the chance
  uncertain, 1/35 (the plain formula said 0, as if 3 of 3 proved a certain win). Jeffreys
  rather than a uniform prior: it moves a share least (half a win and half a loss), and is
  the standard reference prior for a binomial share;
- **size**: the average won amount, a mean of `n` amounts: cv^2 / n (a few enterprise deals
  make it large). Amounts that show no spread (one amount, or several all equal: a price
  list, a CRM's default amount) do not measure it: cv^2 is then taken as 1 (sd as large as
  the mean, the cap's own bound), so 1 / n: the cap for one amount, as for a creation rate
  measured on no deal (a variance of 0 made every won deal of every run worth exactly it),
  and 1/5 for five equal ones.

Factors are Gamma distributed (mean 1, the variance above): positive, the conjugate shape
for a rate. Tried and left out: widening them further by the variation of creation and of
the share won between four-week blocks of the history. On the generated worlds of
`benchmarks/forecast_calibration.py` it did not move the pooled coverage (86% either way),
while on the demo, whose history starts with a ramp-up and whose losses are recorded in
batches, it doubled the interval's width (every month inside it).
Also left out: a scope with wins forecast at the share's posterior mean, (w + 1/2) /
(n + 1), rather than its curves' own chances (of share w / n) with factors of mean 1. A
win factor of that mean moved the pooled coverage from 85.9% to 86.3% and the pooled WAPE
of P50 from 21.52% to 21.54% (`--calibration-seeds 3`): no clear gain, and the chances every
face shows would then no longer be the curves' own.

**A measured 0** (`none_won_of`): when none of the history's `n` closes was won (a rep or a
team whose own deals were all lost, in an organisation that records wins), every curve's
chance of a win is 0, and 0 times any factor stays 0: each run would win nothing, P10 = P50
= P90 = won so far, as if 0 of 2 closes proved the scope will never win. The curves still
measure when deals *close* (their survival); what they cannot say is which closes are won.
With no win to tell stages or ages apart, a close is won with the share's posterior chance,
so the chance of a win by a day is that share times the chance of a close by then
(`WinCurve.closes_won_at`): the curves carry the posterior mean share, (1/2) / (n + 1) (1/6
for 0 of 2, 1/42 for 0 of 20), and each run's factor is the share drawn from the posterior
itself, Beta(1/2, n + 1/2), over that mean. Its relative variance is the one above,
(2n + 1) / (n + 2), but it is drawn from the Beta rather than a Gamma: that variance is above
the cap for every n above 1 (1.25 for 0 of 2, nearly 2 for many closes), the share of a
measured 0 is skewed (most of its weight near 0, a long tail), and the Beta never gives a
chance above 1. Where some close was won nothing changes (the Gamma factor on the learnt
curves, the same random stream, the same figures: the calibration's results file is
byte-identical): a point estimate above 0 has the stages' and ages' own chances to
multiply, and the Gamma's mean 1 keeps them as the forecast's expected value.

**A measured 0 of one curve** (`measured_zero_factors`): in a scope with wins, an open deal
whose own comparison set (the stays still open that long, `forecast._measured_zero`) saw `k`
closes by the period's end and no win reads a posterior Beta(1/2, b): its curves' closes are
won at the mean, (1/2) / (1/2 + b), and each run draws its share.

**One rule for both** (`stale_posterior_losses`): the deal's comparison set is the evidence,
and the rest of the scope (its other closes: W wins, L losses) is the prior, at Jeffreys'
own weight of half a win: a Beta of mean (W + 1/2) / (W + L + 1), the rest's Jeffreys mean,
Beta(1/2, (L + 1/2) / (2W + 1)); the set's `k` losses are added, b = k + (L + 1/2) /
(2W + 1). A scope with no win gives b = (n - k + 1/2) + k = n + 1/2 for every deal, its own
Beta(1/2, n + 1/2) above. Until 2026-12-07 a scope with wins took Jeffreys' Beta(1/2, 1/2) as
the set's prior, whatever the rest of the scope: one early win among 200 closes moved a
stale deal whose 2 comparable closes were lost from 1/402 to 1/6, above the share of the
very scope whose 199 other deals but one were lost. Now 3/410: the scope's other closes
say how often such a scope wins at all, the set says how much less the stale deals do, and
the deal never reads above the rest of its scope (k = 0 gives its mean). Left out: the
whole scope's posterior as the prior (the set's closes counted twice, and a stale deal of
a winning team read as if fresh), and a prior weight fitted to the spread of the sets'
shares (a measured 0 gives no spread to fit). Every such deal's share in a run comes from
the run's one uniform (each count's Beta quantile of it), so 20 deals that stale win
together in the runs where such deals are won at all. Deals whose chance rests on wins keep
their Gamma factor, and a forecast without such a deal draws nothing more (the same random
stream).

**No evidence** (`forecast._from_prior`): a deal whose comparison set saw no close by the
period's end (k = 0 closes, none won or lost: it is staler than any deal of the history, or
every stay as stale was still open then) is the same rule at k = 0: its share is the prior,
Beta(1/2, (L + 1/2) / (2W + 1)), of mean (W + 1/2) / (W + L + 1), the scope's Jeffreys
mean, drawn per run as above; and since the set measured no closing either, its closes come
at the scope's pace from the start of a stay. Until 2026-12-08 it read 0% in every run: a
certain loss drawn from no loss at all (22 of the 25,897 open-deal readings of the
calibration's backtests; on the demo, its stalest negotiation in every scope that holds it).
In a scope with no win that prior is the scope's own Beta(1/2, n + 1/2), and the deal takes
the scope's draw (`RunFactors.win`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from paceline.analytics.pipeline_history import OPEN, Snapshot

FloatArray = NDArray[np.float64]
MAX_VARIANCE = 1.0  # a factor's relative variance is capped: sd at most the estimate itself


@dataclass(frozen=True)
class Uncertainty:
    """Relative variances (squared sd / estimate) of the learnt rates; `none_won_of`: the
    closes of a measured 0 (none of them won), 0 when some close was won or none closed."""

    creation: float
    win: float
    size: float
    none_won_of: int = 0

    @property
    def zero_share(self) -> float | None:
        """The posterior mean share of closes won for a measured 0, (1/2) / (n + 1): the
        chance the curves carry in place of their 0 (`WinCurve.closes_won_at`); None when
        the curves' own chances stand."""
        return measured_zero_share(self.none_won_of)


NO_UNCERTAINTY = Uncertainty(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class RunFactors:
    """Each run's factors on the learnt rates (arrays of one value per run)."""

    creation: FloatArray
    win: FloatArray
    size: FloatArray


def learnt_uncertainty(
    snap: Snapshot, rate_evidence: int, sizes: Sequence[float] | None = None
) -> Uncertainty:
    """The uncertainty of the rates learnt from `snap`; `rate_evidence`: the deals the new-deal
    rate was measured on; `sizes`: the amounts a won deal is drawn from (default: the won
    amounts; `forecast.deal_sizes` gives a scope without them its lost and open deals')."""
    wins, closes = win_closes(snap)
    return Uncertainty(
        creation=_capped(1.0 / max(rate_evidence, 1)),
        win=_capped(_win_variance(wins, closes)),
        size=_capped(_size_variance(snap.won_amounts if sizes is None else sizes)),
        none_won_of=closes if wins == 0 else 0,
    )


def measured_zero_share(none_won_of: int) -> float | None:
    """The posterior mean share of `none_won_of` closes none of which was won, under the
    Jeffreys prior: (0 + 1/2) / (n + 1); None when there is no such measured 0 (0 closes)."""
    return 0.5 / (none_won_of + 1) if none_won_of > 0 else None


def draw_factors(rng: np.random.Generator, spread: Uncertainty, runs: int) -> RunFactors:
    creation = _gamma(rng, spread.creation, runs)
    share = spread.zero_share
    if share is None:
        win = _gamma(rng, spread.win, runs)
    else:
        win = _zero_share_factor(rng, spread.none_won_of, share, runs)
    return RunFactors(creation=creation, win=win, size=_gamma(rng, spread.size, runs))


def _zero_share_factor(
    rng: np.random.Generator, closes: int, share: float, runs: int
) -> FloatArray:
    """Each run's share of closes won, drawn from the Jeffreys posterior of 0 wins of
    `closes`, Beta(1/2, n + 1/2), over its mean `share`: a factor of mean 1 on the curves'
    posterior mean chance. A draw that underflows to 0 is kept at the smallest positive float
    (the simulation divides by the factor; such a run wins nothing either way)."""
    drawn = rng.beta(0.5, closes + 0.5, size=runs)
    return np.asarray(np.maximum(drawn, np.finfo(np.float64).tiny) / share, dtype=np.float64)


def stale_posterior_losses(closes: int, wins_elsewhere: int, losses_elsewhere: int) -> float:
    """The second parameter `b` of Beta(1/2, b), the posterior share won of an open deal's
    comparison set whose `closes` were all lost, in a scope whose other closes won
    `wins_elsewhere` and lost `losses_elsewhere` (the module's notes: one rule for a
    measured 0). The prior is the rest of the scope's Jeffreys mean share at Jeffreys' own
    weight of half a win: Beta(1/2, (L + 1/2) / (2W + 1)); the set's `closes` losses are
    added. A scope with no win gives b = n + 1/2 whatever the set (its Jeffreys posterior);
    one win elsewhere keeps a thin set's share near it, not at 1 / (2k + 2)."""
    return (losses_elsewhere + 0.5) / (2 * wins_elsewhere + 1) + closes


def zero_posterior_share(losses: float) -> float:
    """The mean of Beta(1/2, `losses`), the posterior share of a measured 0: (1/2) / (1/2 + b)
    (1 / (2n + 2) for the Jeffreys posterior of 0 wins of n, b = n + 1/2)."""
    return 0.5 / (0.5 + losses)


def measured_zero_factors(
    rng: np.random.Generator, losses: Sequence[float], runs: int
) -> FloatArray:
    """(len(losses), runs): each run's factor on the chance of open deals whose own
    comparison set closed only as losses (a measured 0 of one curve, in a scope with wins):
    the share drawn from its posterior, Beta(1/2, losses[i]) (`stale_posterior_losses`),
    over its mean (the chance the deal's curves carry), as for a scope's measured 0.

    One uniform per run drives every row (each row its Beta's quantile of it): the sets
    overlap (a deal 210 days in a stage and one 220 days in read nearly the same stays), and
    what is unknown is one thing, how often deals that stale are won, so a run where it is
    high is high for all of them. Drawn independently, 20 such deals would win together as
    rarely as 20 coins agree, an interval as narrow as a known chance's. scipy's inverse
    incomplete Beta gives the quantiles, imported only when a forecast has such a deal."""
    from scipy.special import betaincinv

    uniform = rng.random(runs)
    rows = [betaincinv(0.5, b, uniform) / zero_posterior_share(b) for b in losses]
    drawn = np.array(rows, dtype=np.float64).reshape(len(losses), runs)
    return np.asarray(np.maximum(drawn, np.finfo(np.float64).tiny), dtype=np.float64)


def _gamma(rng: np.random.Generator, variance: float, runs: int) -> FloatArray:
    """Mean 1, the given variance (all ones when it is 0)."""
    if variance <= 0:
        return np.ones(runs)
    return np.asarray(rng.gamma(1.0 / variance, variance, size=runs), dtype=np.float64)


def _capped(variance: float) -> float:
    return float(min(max(variance, 0.0), MAX_VARIANCE))


def win_closes(snap: Snapshot) -> tuple[int, int]:
    """The wins and the closes of the history the curves learn from. A deal entered after it
    closed is in no curve, so it is not among them (a win of unknown cycle counted here raised
    the share and narrowed the interval around a chance it never moved)."""
    closes = [
        d.status == "won"
        for d in snap.history
        if d.status != OPEN
        and d.closed_at is not None
        and d.closed_at >= snap.history_start
        and not d.entered_after_close
    ]
    return sum(closes), len(closes)


def _win_variance(wins: int, n: int) -> float:
    """Estimation error of the share of the history's closes that were won: the relative
    variance of its Jeffreys posterior (see the module's notes). With every close won, or
    none, the plain (1 - p) / (p n) read 0, a chance known exactly from 3 wins of 3."""
    mean = (wins + 0.5) / (n + 1)
    return (1 - mean) / (mean * (n + 2))


def _size_variance(amounts: Sequence[float]) -> float:
    """Estimation error of the average won amount: cv^2 / n; amounts without any spread
    (one, or all equal) measure none, so cv^2 is taken as 1 (1 / n: the cap for one amount);
    none, 0 (no size is drawn)."""
    if not amounts:
        return 0.0
    values = np.asarray(amounts, dtype=float)
    mean = float(values.mean())
    if mean <= 0:
        return 0.0  # every won amount 0: nothing to scale
    spread = float(values.var(ddof=1)) / mean**2 if len(values) > 1 else 0.0
    return (spread if spread > 0 else 1.0) / len(values)
