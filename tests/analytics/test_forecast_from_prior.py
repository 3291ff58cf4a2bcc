"""Forecast readings that read a silent 0 without evidence: now read from the prior.

- An open deal whose comparison set (the stays still open as long) saw no close by the
  period's end has no evidence of a loss: until 2026-12-08 it read 0%, in every run. It is
  read from the prior (`forecast._from_prior`): the rule of a measured 0 of one curve at k = 0
  closes, Beta(1/2, (L + 1/2) / (2W + 1)), mean (W + 1/2) / (W + L + 1), its closes at the
  pace of a stay of the scope from its start; and every face marks it (`from_prior`).
- A scope whose history has no won amount (its deals were all lost) valued its new deals, and
  its open deals without an amount, at nothing, though the posterior gives them a chance: now
  at its own lost and open deals' amounts (`forecast.deal_sizes`), said on every face.

Hand-built on `factories.east_and_west`, as of 2026-05-15 (Q2's middle cut-off: 46 days left,
the history from 2025-05-16).
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.stats import beta, binom
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import (
    STALE_AMOUNT,
    STALE_DEALS,
    at,
    east_and_west,
    login,
    made_app,
    put_deal,
    put_old_win,
    quick_user,
    stale_losses,
)
from paceline.analytics.forecast import forecast
from paceline.cli import app as cli_app
from paceline.cli import out as cli_out
from paceline.config import Settings
from paceline.describe import PRIOR_LEGEND, history_text

MAY_15 = dt.date(2026, 5, 15)
RUNS, SEED = 20_000, 3
MC_LEVEL = 0.01  # as in test_forecast_measured_zero: 4.5 standard errors at 20,000 runs
# `stale_losses` with no stale loss: Ana's 30 wins, 10 days in negotiation, are the scope's
# closes (W = 30, L = 0): the prior's share (30 + 1/2) / 31 = 61/62, b = (1/2) / 61. A stay of
# the scope closes within the 46 days left from its start with chance 30/50: at day 10, the
# 30 wins and Cy's 20 stale stays (censored at 210.5 days) at risk, 30 closed.
SHARE, PRIOR_B, CLOSING = 61 / 62, 0.5 / 61, 30 / 50


def mixture_cdf(wins: int) -> float:
    """P(at most `wins` of the 20 stale deals won) when each run draws one share p from
    Beta(1/2, b) and each deal is then won with chance 0.6 p (its closing in time times p):
    the Binomial's CDF averaged over the Beta, by the midpoint rule on its quantiles (a
    numerical integral of the model, not the forecast's own runs)."""
    levels = (np.arange(200_000) + 0.5) / 200_000
    shares = beta(0.5, PRIOR_B).ppf(levels)
    return float(np.mean(binom(STALE_DEALS, CLOSING * shares).cdf(wins)))


def mixture_ppf(level: float) -> float:
    """The revenue at quantile `level` of that mixture: the fewest wins whose CDF reaches it."""
    return STALE_AMOUNT * next(k for k in range(STALE_DEALS + 1) if mixture_cdf(k) >= level)


def test_a_deal_staler_than_the_history_is_read_from_the_scopes_prior(
    engine: Engine, settings: Settings
) -> None:
    """Cy's 20 open deals 210.5 days in negotiation, where no deal of the history stayed
    longer than 10 days: their comparison set is empty. Each reads 61/62 x 30/50 = 0.5903
    (it read 0%), marked `from_prior`, with the prior's mean share 61/62; East's revenue
    is 1,000 x Binomial(20, 0.6 p), p from Beta(1/2, 1/122) once per run (the deals share
    the draw): mean 20,000 x 0.6 x 61/62 = 11,806.45, P10 to P90 within Monte Carlo error of
    the mixture's (was P10 = P50 = P90 = 0)."""
    stale_losses(engine, settings, 0)
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=RUNS, seed=SEED)
    assert (made.history_wins, made.none_won_of, made.won_so_far) == (30, 0, 0.0)
    chance = SHARE * CLOSING
    assert [d.win_probability for d in made.open_deals] == pytest.approx([chance] * STALE_DEALS)
    assert [(d.from_prior, d.none_won_of) for d in made.open_deals] == [(True, 0)] * STALE_DEALS
    assert made.open_deals[0].zero_share == pytest.approx(SHARE)
    assert made.expected_open == pytest.approx(STALE_DEALS * STALE_AMOUNT * chance, abs=0.01)
    for level, found in zip((0.1, 0.5, 0.9), (made.p10, made.p50, made.p90), strict=True):
        assert mixture_ppf(level - MC_LEVEL) <= found <= mixture_ppf(level + MC_LEVEL)
    assert made.p10 > 0
    assert made.mean == pytest.approx(STALE_DEALS * STALE_AMOUNT * chance, rel=0.03)


def test_a_measured_zeros_deal_beyond_its_history_takes_the_scopes_share(
    engine: Engine, settings: Settings
) -> None:
    """A scope with no win: Cy lost 2 proposals, each 10 days after its creation (2026-03-02
    and 03), and has one open proposal since 2025-10-17, 210.5 days in: staler than any stay
    of the history, so its set is empty. The scope's Jeffreys posterior of 0 wins of 2 has
    mean 1/6; a stay of the scope closes within 46 days from its start with chance 2/3 (at
    day 10, 3 at risk, 2 closed): it reads 1/6 x 2/3 = 1/9 (it read 0%), and draws the
    scope's own share each run (no Beta of its own: `zero_share` is the scope's 1/6)."""
    reps = east_and_west(engine, settings)
    put_old_win(engine, reps["Dee"])
    for day in (2, 3):
        created, lost = at(3, day), at(3, day + 10)
        put_deal(engine, reps["Cy"], f"Lost {day}", 1000, created, status="lost",
                 stage="closed_lost", closed=lost,
                 history=[("proposal", created), ("closed_lost", lost)])  # fmt: skip
    put_deal(engine, reps["Cy"], "Stale", 4000, at(10, 17, 2025), stage="proposal",
             history=[("proposal", at(10, 17, 2025))])  # fmt: skip
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=2000, seed=SEED)
    assert made.none_won_of == 2
    [stale] = made.open_deals
    assert stale.win_probability == pytest.approx(1 / 9)
    assert (stale.from_prior, stale.none_won_of) == (True, 0)
    assert stale.zero_share == pytest.approx(1 / 6)
    assert made.expected_open == pytest.approx(4000 / 9, abs=0.01)


def test_a_scope_without_won_amounts_is_valued_at_its_lost_and_open_deals(
    engine: Engine, settings: Settings
) -> None:
    """Cy lost 1,000 and 3,000 (created 2026-03-02 and 03, lost 10 days later) and has two
    proposals open since 2026-05-10: one of 2,000, one without an amount. No win has an
    amount: a deal won is worth one of 1,000, 3,000 and 2,000 (2,000 on average), so the
    amountless proposal is valued at 2,000 (it read 0) and the new deals' expected revenue
    is their expected wins x 2,000: 4 created in the 65 business days before the cut-off
    (the two lost, the two open), over the 24 business days left whose deals close in time
    (by 2026-06-20, each closing 10 days after its creation), won 1 time in 6 (0 of 2):
    4/65 x 24 / 6 x 2,000 = 492.31 (it read 0). Every face says where the sizes come from."""
    reps = east_and_west(engine, settings)
    put_old_win(engine, reps["Dee"])
    for day, amount in ((2, 1000), (3, 3000)):
        created, lost = at(3, day), at(3, day + 10)
        put_deal(engine, reps["Cy"], f"Lost {day}", amount, created, status="lost",
                 stage="closed_lost", closed=lost,
                 history=[("proposal", created), ("closed_lost", lost)])  # fmt: skip
    for name, amount in (("Priced", 2000.0), ("Unpriced", None)):
        put_deal(engine, reps["Cy"], name, amount, at(5, 10), stage="proposal",
                 history=[("proposal", at(5, 10))])  # fmt: skip
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=2000, seed=SEED)
    n = made.new_deals
    assert n.expected_wins == pytest.approx(4 / 65 * 24 / 6)
    assert made.expected_new == 492.31
    deals = {d.name: d for d in made.open_deals}
    assert (deals["Unpriced"].amount, deals["Unpriced"].amount_recorded) == (2000, False)
    assert (n.average_won_amount, n.sizes_from) == (2000, "lost_and_open")
    assert "valued at the sizes of the scope's lost and open deals" in history_text(made)


def test_every_face_marks_a_chance_read_from_the_prior(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal's table marks each stale deal's chance with "*" and prints the legend;
    the page marks it (`from-prior`) with the same legend; the JSON gives `from_prior`; the
    "Learnt from" line (terminal, page, team report) says how many and why."""
    stale_losses(engine, settings, 0)
    monkeypatch.setattr(cli_out, "width", 300)
    url = engine.url.render_as_string(hide_password=False)
    base = ["--db", url, "forecast", "--as-of", MAY_15.isoformat(), "--team", "East"]
    runner = CliRunner()
    table = runner.invoke(cli_app, [*base, "--runs", "1000"])
    assert table.exit_code == 0, table.output
    assert "59% *" in table.output and PRIOR_LEGEND in table.output
    said = "20 open deals (*) read from the prior: no deal of the history open as long closed"
    assert said in " ".join(table.output.split())
    printed = runner.invoke(cli_app, [*base, "--runs", "1000", "--json"])
    assert printed.exit_code == 0, printed.output
    shown = json.loads(printed.output)
    assert [d["from_prior"] for d in shown["open_deals"]] == [True] * STALE_DEALS
    quick_user(engine, "root", "admin")
    args = {"period": "quarter", "team": "East", "as_of": MAY_15.isoformat()}
    with TestClient(made_app(settings, engine)) as client:
        login(client, engine, "root")
        page = client.get("/forecast", params=args)
        assert page.status_code == 200, page.text
        assert page.text.count('data-testid="from-prior"') == 15  # the 15 deals shown
        assert 'data-testid="prior-legend"' in page.text and said in page.text
