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


def lost(deal_id: int) -> KnownDeal:
    """A deal created March 2 and lost March 21."""
    return KnownDeal(deal_id, f"lost {deal_id}", 1, 1000.0, dt.datetime(2026, 3, 2, 17), None,
                     "lost", dt.datetime(2026, 3, 21, 4), ())  # fmt: skip


def test_every_close_won_still_leaves_the_win_chance_uncertain() -> None:
    """3 wins of 3 closes. The share's Jeffreys posterior is Beta(3.5, 0.5): mean 7/8,
    variance (7/8)(1/8) / 5; relative to the mean squared, (1/8) / (7/8 x 5) = 1/35. The
    plain (1 - p) / (p n) read 0: a chance known exactly from three deals."""
    snap = Snapshot(CUTOFF, START, [won(1, 5000.0), won(2, 5000.0), won(3, 7000.0)])
    assert learnt_uncertainty(snap, 10).win == pytest.approx(1 / 35)


def test_no_close_won_leaves_the_win_chance_as_uncertain_as_allowed() -> None:
    """0 wins of 3 closes: Beta(0.5, 3.5), mean 1/8, relative variance (7/8) / (1/8 x 5) =
    1.4, over the cap: 1 (it read 0)."""
    snap = Snapshot(CUTOFF, START, [lost(1), lost(2), lost(3)])
    assert learnt_uncertainty(snap, 10).win == MAX_VARIANCE


def test_one_win_of_two_closes() -> None:
    """1 of 2: Beta(1.5, 1.5), mean 1/2, relative variance (1/2) / (1/2 x 4) = 1/4 (the
    plain formula: (1/2) / (1/2 x 2) = 1/2, which ignored the prior's half win and loss)."""
    snap = Snapshot(CUTOFF, START, [won(1, 5000.0), lost(2)])
    assert learnt_uncertainty(snap, 10).win == pytest.approx(0.25)


def test_equal_won_amounts_do_not_make_the_size_certain() -> None:
    """Five wins all at 8,000 (a price list): no spread measured, so cv^2 is taken as 1 and
    the mean's relative variance is 1/5 (it read 0: every won deal of every run worth
    exactly 8,000)."""
    snap = Snapshot(CUTOFF, START, [won(i, 8000.0) for i in range(1, 6)])
    assert learnt_uncertainty(snap, 10).size == pytest.approx(0.2)


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
