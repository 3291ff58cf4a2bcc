"""Is a rep's rate really below their peers', or is the sample just small?

A conversion such as meetings set per conversation is compared as a ratio of two counts, and
the counts can exceed each other (a meeting set can be held twice), so a binomial test on
"successes out of trials" does not fit. Instead each count is treated as Poisson with a mean
proportional to its exposure (the step before), and the exact conditional test for two
Poisson rates is used: given the combined count, the rep's share is binomial with the rep's
share of the exposure. The one-sided p-value is the chance of a share this low if the rep
converted at the peers' rate.

Both sides must be counts of events. A sum (revenue, minutes) is not: read as a count, every
dollar would be an event, and the p-value would change with the unit (dollars or cents), so
callers never test one (the funnel shows a sum step's rate untested; a coaching rule's
`weak_step` must name counts, which the configuration checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binom


@dataclass(frozen=True)
class RateComparison:
    """The rep's `to/from` rate beside the peers' pooled rate, with the evidence for a gap."""

    rep_from: float
    rep_to: float
    peer_from: float
    peer_to: float
    p_value: float | None  # None: nothing to test (no exposure on one side)

    @property
    def rep_rate(self) -> float | None:
        return self.rep_to / self.rep_from if self.rep_from else None

    @property
    def peer_rate(self) -> float | None:
        return self.peer_to / self.peer_from if self.peer_from else None

    @property
    def relative(self) -> float | None:
        """The rep's rate as a share of the peers' (0.5 = half the peers' rate)."""
        rep, peer = self.rep_rate, self.peer_rate
        if rep is None or not peer:
            return None
        return rep / peer

    def is_below(self, significance: float, min_gap: float = 0.0) -> bool:
        """At least `min_gap` below the peers' rate, and not plausibly by chance.

        Both are needed: with thousands of calls a 1-point gap is "significant" but not worth
        a coaching conversation; with four proposals a big gap can still be luck.
        """
        relative = self.relative
        return (
            self.p_value is not None
            and self.p_value < significance
            and relative is not None
            and relative <= 1.0 - min_gap
        )


def compare_rates(
    rep_from: float, rep_to: float, peer_from: float, peer_to: float
) -> RateComparison:
    """Compare the rep's rate `rep_to / rep_from` with the peers' `peer_to / peer_from`."""
    return RateComparison(
        rep_from, rep_to, peer_from, peer_to, _p_below(rep_from, rep_to, peer_from, peer_to)
    )


def _p_below(rep_from: float, rep_to: float, peer_from: float, peer_to: float) -> float | None:
    if rep_from <= 0 or peer_from <= 0:
        return None
    total = round(rep_to + peer_to)
    if total == 0:
        return None  # nobody converted anything: no evidence either way
    share = rep_from / (rep_from + peer_from)
    return binom_cdf(round(rep_to), total, share)


def binom_cdf(k: int, n: int, p: float) -> float:
    """`scipy.stats.binom.cdf(k, n, p)`, the same number, without its argument checks for
    the arguments a rate comparison passes (0 <= k, 0 < n, 0 < p < 1).

    Why: the checks of the public `cdf` cost about fifty times the answer, and a team's
    diagnosis asks for some 2,000 of these (every rep's funnel steps and coaching rules).
    For k >= n the public `cdf` answers 1 without computing, so this does too; anything
    outside those bounds goes through the public `cdf`.
    """
    if k >= n >= 1 and 0.0 < p < 1.0:
        return 1.0
    if 0 <= k < n and 0.0 < p < 1.0:
        return float(binom._cdf(k, n, p))
    return float(binom.cdf(k, n, p))
