"""The estimation error of the forecast's learnt rates, by hand (pure: snapshots built here).

The average won size rests on the won amounts: with n of them, its relative variance is
cv^2 / n. One amount tells nothing of the spread: that is no certainty, so the factor's
variance is the cap (1: sd at most the estimate itself), as for a creation rate resting on
no deal. Before, one amount read a variance of 0: every won deal of every run worth exactly
that amount, the interval narrowest exactly where the evidence was thinnest."""

from __future__ import annotations

import datetime as dt

import pytest

from paceline.analytics.pipeline_history import KnownDeal, Snapshot
from paceline.analytics.rate_uncertainty import MAX_VARIANCE, learnt_uncertainty

START, CUTOFF = dt.datetime(2026, 1, 1, 5), dt.datetime(2026, 7, 1, 4)


def won(deal_id: int, amount: float | None) -> KnownDeal:
    """A deal created March 1 and won March 20."""
    return KnownDeal(deal_id, f"won {deal_id}", 1, amount, dt.datetime(2026, 3, 1, 17), None,
                     "won", dt.datetime(2026, 3, 20, 4), ())  # fmt: skip


def test_one_won_amount_leaves_the_size_as_uncertain_as_allowed() -> None:
    snap = Snapshot(CUTOFF, START, [won(1, 5000.0)])
    assert learnt_uncertainty(snap, 10).size == MAX_VARIANCE == 1.0


def test_two_won_amounts_give_cv_squared_over_n() -> None:
    """4,000 and 6,000: mean 5,000, sample variance 2,000,000, cv^2 = 0.08, over 2: 0.04."""
    snap = Snapshot(CUTOFF, START, [won(1, 4000.0), won(2, 6000.0)])
    assert learnt_uncertainty(snap, 10).size == pytest.approx(0.04)


def test_no_won_amount_has_no_size_to_vary() -> None:
    """Wins without an amount: no size is drawn at all (the forecast values nothing with
    it), so there is no factor to widen."""
    snap = Snapshot(CUTOFF, START, [won(1, None)])
    assert learnt_uncertainty(snap, 10).size == 0.0
