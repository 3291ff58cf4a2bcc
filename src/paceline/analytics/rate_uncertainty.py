"""How far the forecast's learnt rates may be off, and each Monte Carlo run's own rates.

A simulation at fixed rates spreads its runs only by chance: which deals happen to win, how
many new ones happen to come. But the rates are estimates (from a few dozen wins, say), and
at fixed rates every run shares the same estimation error, so the P10-P90 interval is too
narrow exactly where the evidence is thin. Each run therefore first draws its own rates,
as multiplicative factors of mean 1 on what history taught, with the variance of each
estimate (an approximation of drawing them from their posterior):

- **creation**: the rate of new deals, a Poisson rate measured on `n` deals: 1 / n;
- **win**: the chance of a win, for open and new deals alike, a share measured on `n` closes
  of which a share `p` won: (1 - p) / (p n);
- **size**: the average won amount, a mean of `n` amounts: cv^2 / n (a few enterprise deals
  make it large). One amount says nothing of the spread: the cap, as for a creation rate
  measured on no deal (a variance of 0 made every won deal of every run worth exactly it).

Factors are Gamma distributed (mean 1, the variance above): positive, the conjugate shape
for a rate. Tried and left out: widening them further by the variation of creation and of
the share won between four-week blocks of the history. On the generated worlds of
`benchmarks/forecast_calibration.py` it did not move the pooled coverage (86% either way),
while on the demo, whose history starts with a ramp-up and whose losses are recorded in
batches, it doubled the interval's width (every month inside it).
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
    """Relative variances (squared sd / estimate) of the learnt rates."""

    creation: float
    win: float
    size: float


NO_UNCERTAINTY = Uncertainty(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class RunFactors:
    """Each run's factors on the learnt rates (arrays of one value per run)."""

    creation: FloatArray
    win: FloatArray
    size: FloatArray


def learnt_uncertainty(snap: Snapshot, rate_evidence: int) -> Uncertainty:
    """The uncertainty of the rates learnt from `snap`; `rate_evidence`: the deals the new-deal
    rate was measured on."""
    return Uncertainty(
        creation=_capped(1.0 / max(rate_evidence, 1)),
        win=_capped(_win_variance(snap)),
        size=_capped(_size_variance(snap.won_amounts)),
    )


def draw_factors(rng: np.random.Generator, spread: Uncertainty, runs: int) -> RunFactors:
    return RunFactors(
        creation=_gamma(rng, spread.creation, runs),
        win=_gamma(rng, spread.win, runs),
        size=_gamma(rng, spread.size, runs),
    )


def _gamma(rng: np.random.Generator, variance: float, runs: int) -> FloatArray:
    """Mean 1, the given variance (all ones when it is 0)."""
    if variance <= 0:
        return np.ones(runs)
    return np.asarray(rng.gamma(1.0 / variance, variance, size=runs), dtype=np.float64)


def _capped(variance: float) -> float:
    return float(min(max(variance, 0.0), MAX_VARIANCE))


def _win_variance(snap: Snapshot) -> float:
    """Estimation error of the share of the history's closes that were won: the closes the
    curves learn it from. A deal entered after it closed is in no curve, so it is not among
    them (a win of unknown cycle counted here raised the share and narrowed the interval
    around a chance it never moved)."""
    closes = [
        d.status == "won"
        for d in snap.history
        if d.status != OPEN
        and d.closed_at is not None
        and d.closed_at >= snap.history_start
        and not d.entered_after_close
    ]
    wins = sum(closes)
    if not wins:
        return 0.0
    share = wins / len(closes)
    return (1 - share) / (share * len(closes))


def _size_variance(amounts: Sequence[float]) -> float:
    """Estimation error of the average won amount: cv^2 / n; one amount, the cap; none, 0
    (no size is drawn)."""
    if len(amounts) < 2:
        return MAX_VARIANCE if amounts else 0.0
    values = np.asarray(amounts, dtype=float)
    mean = float(values.mean())
    return float(values.var(ddof=1)) / mean**2 / len(values) if mean > 0 else 0.0
