"""How far the forecast's learnt rates may be off, and each Monte Carlo run's own rates.

A simulation at fixed rates spreads its runs only by chance: which deals happen to win, how
many new ones happen to come. Its P10-P90 then holds far fewer than 80% of real outcomes,
because the rates themselves are estimates (from a few dozen wins, say) and move from period
to period (a trend, a season, a win rate that slips). So each run first draws its own rates,
as multiplicative factors of mean 1 on what history taught:

- **creation**: the rate of new deals. Its relative variance is the estimation error of a
  Poisson rate measured on `n` deals (1 / n) plus the variation of deal creation between
  four-week blocks of the history beyond what chance gives (a trend or a season shows there);
- **win**: the chance of a win, for open and new deals alike. Estimation error of a share
  measured on `n` closes, (1 - p) / (p n), plus the between-block variation of the share won
  beyond the binomial's;
- **size**: the average won amount. Estimation error of a mean of `n` amounts,
  cv^2 / n (a few enterprise deals make it large).

Factors are Gamma distributed (mean 1, the variance above): positive, and the right shape
for a rate. Blocks are read only inside the history window, so nothing after the cut-off
moves them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from paceline.analytics.pipeline_history import OPEN, Snapshot

FloatArray = NDArray[np.float64]
BLOCK = dt.timedelta(days=28)
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
        creation=_capped(1.0 / max(rate_evidence, 1) + _creation_variation(snap)),
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


def _blocks(snap: Snapshot) -> list[tuple[dt.datetime, dt.datetime]]:
    """Whole four-week blocks of the history window, ending at the cut-off."""
    found = []
    end = snap.cutoff
    while end - BLOCK >= snap.history_start:
        found.append((end - BLOCK, end))
        end -= BLOCK
    return found


def _creation_variation(snap: Snapshot) -> float:
    """Relative variance of the creation rate between blocks, beyond Poisson's."""
    blocks = _blocks(snap)
    if len(blocks) < 3:
        return 0.0
    counts = np.array(
        [sum(1 for d in snap.created if a <= d.created_at < b) for a, b in blocks], dtype=float
    )
    mean = float(counts.mean())
    if mean <= 0:
        return 0.0
    return max(float(counts.var(ddof=1)) - mean, 0.0) / mean**2


def _win_variance(snap: Snapshot) -> float:
    """Estimation error of the share of closes won, plus its variation between blocks."""
    closes = [
        (d.closed_at, d.status == "won")
        for d in snap.history
        if d.status != OPEN and d.closed_at is not None and d.closed_at >= snap.history_start
    ]
    wins = sum(1 for _, won in closes if won)
    if not closes or not wins:
        return 0.0
    share = wins / len(closes)
    estimation = (1 - share) / (share * len(closes))
    return estimation + _share_variation(closes, _blocks(snap), share)


def _share_variation(
    closes: Sequence[tuple[dt.datetime, bool]],
    blocks: list[tuple[dt.datetime, dt.datetime]],
    share: float,
) -> float:
    """Relative variance of the share won between blocks, beyond the binomial's."""
    shares, noise = [], []
    for a, b in blocks:
        inside = [won for at, won in closes if a <= at < b]
        if not inside:
            continue
        shares.append(sum(inside) / len(inside))
        noise.append(share * (1 - share) / len(inside))
    if len(shares) < 3:
        return 0.0
    excess = float(np.var(shares, ddof=1)) - float(np.mean(noise))
    return max(excess, 0.0) / share**2


def _size_variance(amounts: Sequence[float]) -> float:
    """Estimation error of the average won amount: cv^2 / n."""
    if len(amounts) < 2:
        return 0.0
    values = np.asarray(amounts, dtype=float)
    mean = float(values.mean())
    return float(values.var(ddof=1)) / mean**2 / len(values) if mean > 0 else 0.0
