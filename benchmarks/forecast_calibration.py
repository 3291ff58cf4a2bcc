"""Forecast calibration: a rolling-origin backtest over generated worlds with different dynamics.

The question: does the forecast's P10-P90 interval hold the actual about 80% of the time, on
data whose dynamics the model does not assume, and does its P50 beat the two baselines
(trailing run rate, the CRM's weighted pipeline)?

The worlds (seeded; not the demo's generator): three AEs of one team, deals created Poisson
per business day, walking prospect -> qualification -> proposal -> negotiation -> won with
exponential stays, every stage change written to the stage history. Each world bends one
thing the model takes as steady:

- `steady`: nothing (the control);
- `trend`: deal creation grows 80% a year;
- `seasonal`: deal creation swings +-50% over the year (peak in the fourth quarter);
- `win_rate_drop`: the last stage's advance chance falls from 0.75 to 0.35 over the two years;
- `lumpy`: one deal in twelve is an enterprise deal at 15x the usual size;
- `missing_amounts`: as `steady`, but open and lost deals carry no amount (as many CRMs export
  them): only won deals say what they were worth.

Each world has two years of deals up to its as-of day; the backtest replays its last
`--calibration-periods` months, forecasting each at the start and in the middle of the month (what
`paceline forecast --backtest` does), and the table pools the rows over worlds: P10-P90
coverage and the WAPE of Paceline's P50 against the baselines.

Run it through ``benchmarks/run.py --only forecast_calibration`` or directly:
``python benchmarks/forecast_calibration.py --calibration-seeds 3`` (the README's figures).
`tests/analytics/test_backtest.py` runs a light version on three small worlds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, insert

from paceline.analytics.backtest import METHODS, POINTS, Backtest, backtest
from paceline.analytics.metrics import utc_bounds
from paceline.calendar import BusinessCalendar
from paceline.config import Settings, default_settings
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Deal, DealStageHistory

NAME = "forecast_calibration"
RESULTS = Path(__file__).resolve().parent / "results" / f"{NAME}.json"
AS_OF = dt.date(2026, 10, 31)
STAGES = ("prospect", "qualification", "proposal", "negotiation")
ADVANCE = (0.6, 0.6, 0.6, 0.6)  # a win: 0.6^4 = 13%
STAY_DAYS = (6.0, 10.0, 12.0, 9.0)  # exponential means
REPS = ("Ana", "Ben", "Cy")


@dataclass(frozen=True)
class Dynamics:
    """How one world departs from a steady process."""

    name: str
    per_day: float = 4.0  # deals created per business day (the team), at the start
    growth: float = 0.0  # relative growth of deal creation per year
    seasonality: float = 0.0  # amplitude of a yearly cycle in deal creation
    last_advance: tuple[float, float] = (ADVANCE[-1], ADVANCE[-1])  # at the start, the end
    lumpy: float = 0.0  # share of deals that are enterprise deals (15x)
    missing_amounts: bool = False  # open and lost deals have no amount


WORLDS: tuple[Dynamics, ...] = (
    Dynamics("steady"),
    Dynamics("trend", per_day=3.0, growth=0.8),
    Dynamics("seasonal", seasonality=0.5),
    Dynamics("win_rate_drop", last_advance=(0.75, 0.35)),
    Dynamics("lumpy", lumpy=1 / 12),
    Dynamics("missing_amounts", missing_amounts=True),
)


@dataclass
class GeneratedDeal:
    rep: str
    created: dt.datetime
    amount: float
    entries: list[tuple[str, str, dt.datetime]] = field(default_factory=list)


def generate(dynamics: Dynamics, settings: Settings, seed: int, months: int = 24,
             as_of: dt.date = AS_OF) -> list[GeneratedDeal]:  # fmt: skip
    """The world's deals, as known at the end of `as_of` (later events are not written)."""
    rng = np.random.default_rng(seed)
    calendar = BusinessCalendar(settings.calendar)
    first = dt.date(as_of.year - months // 12, as_of.month, 1)
    end = utc_bounds(settings, as_of, as_of)[1]
    span = (as_of - first).days
    deals = []
    day = first
    while day <= as_of:
        if calendar.is_business_day(day):
            t = (day - first).days / 365.25
            season = 1 + dynamics.seasonality * np.cos(2 * np.pi * (day.month - 11) / 12)
            rate = dynamics.per_day * (1 + dynamics.growth) ** t * season
            start = utc_bounds(settings, day, day)[0]
            share = (day - first).days / span
            last = dynamics.last_advance[0] + share * (
                dynamics.last_advance[1] - dynamics.last_advance[0]
            )
            for _ in range(int(rng.poisson(rate))):
                created = start + dt.timedelta(hours=float(rng.uniform(9, 17)))
                deals.append(_walk(rng, dynamics, created, last, end))
        day += dt.timedelta(days=1)
    return deals


def _walk(rng: np.random.Generator, dynamics: Dynamics, created: dt.datetime,
          last_advance: float, end: dt.datetime) -> GeneratedDeal:  # fmt: skip
    amount = round(10_000 * float(rng.lognormal(0, 0.6)), -1)
    if rng.random() < dynamics.lumpy:
        amount *= 15
    deal = GeneratedDeal(str(rng.choice(REPS)), created, amount)
    advance = (*ADVANCE[:-1], last_advance)
    at, stage = created, 0
    deal.entries.append((STAGES[0], "open", at))
    while True:
        at += dt.timedelta(days=float(rng.exponential(STAY_DAYS[stage])))
        if at >= end:
            return deal
        if rng.random() >= advance[stage]:
            deal.entries.append(("closed_lost", "lost", at))
            return deal
        if stage + 1 == len(STAGES):
            deal.entries.append(("closed_won", "won", at))
            return deal
        stage += 1
        deal.entries.append((STAGES[stage], "open", at))


def write(engine: Engine, settings: Settings, deals: Sequence[GeneratedDeal],
          missing_amounts: bool = False) -> None:  # fmt: skip
    """The deals and their stage history into a Paceline database (reps of team East)."""
    reps = {name: add_rep(engine, settings, name, "ae", team="East") for name in REPS}
    rows, history = [], []
    for i, deal in enumerate(deals, start=1):
        stage, status, last = deal.entries[-1]
        blank = missing_amounts and status != "won"
        amount = None if blank else Decimal(str(deal.amount))  # blank: unknown, not 0
        rows.append(
            {
                "id": i,
                "rep_id": reps[deal.rep],
                "name": f"deal {i}",
                "amount": amount,
                "stage": stage,
                "status": status,
                "created_at": deal.created,
                "closed_at": last if status != "open" else None,
                "expected_close": (deal.created + dt.timedelta(days=40)).date(),
                "source": "bench",
                "external_id": str(i),
            }
        )
        history += [
            {"deal_id": i, "stage": s, "status": st, "amount": amount, "entered_at": at}
            for s, st, at in deal.entries
        ]
    with engine.begin() as conn:
        conn.execute(insert(Deal), rows)
        conn.execute(insert(DealStageHistory), history)


def world_engine(folder: Path, dynamics: Dynamics, settings: Settings, seed: int,
                 months: int = 24) -> Engine:  # fmt: skip
    engine = make_engine(f"sqlite:///{folder / f'{dynamics.name}_{seed}.db'}")
    upgrade(engine)
    write(engine, settings, generate(dynamics, settings, seed, months), dynamics.missing_amounts)
    return engine


@dataclass(frozen=True)
class Pooled:
    """Backtest rows pooled over worlds."""

    rows: int
    coverage: float
    coverage_by_point: dict[str, float | None]  # at the periods' start, in their middle
    wape: dict[str, float | None]


def pooled(results: Sequence[Backtest]) -> Pooled:
    rows = [r for b in results for r in b.rows]
    wape: dict[str, float | None] = {}
    for method, _ in METHODS:
        made = [(r, f) for r in rows if (f := r.forecast_of(method)) is not None]
        total = sum(r.actual for r, _ in made)
        error = sum(abs(f - r.actual) for r, f in made)
        wape[method] = error / total if total else None
    covered = sum(1 for r in rows if r.covered)
    by_point: dict[str, float | None] = {}
    for point in POINTS:
        at = [r for r in rows if r.point == point]
        by_point[point] = sum(1 for r in at if r.covered) / len(at) if at else None
    return Pooled(len(rows), covered / len(rows) if rows else 0.0, by_point, wape)


def run_worlds(worlds: Sequence[Dynamics], seeds: Sequence[int], periods: int, runs: int,
               months: int = 24) -> list[tuple[Dynamics, int, Backtest]]:  # fmt: skip
    settings = default_settings()
    found = []
    with tempfile.TemporaryDirectory() as folder:
        for dynamics in worlds:
            for seed in seeds:
                engine = world_engine(Path(folder), dynamics, settings, seed, months)
                result = backtest(
                    engine, settings, "month", periods=periods, as_of=AS_OF, runs=runs, seed=seed
                )
                engine.dispose()
                found.append((dynamics, seed, result))
    return found


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def table(found: Sequence[tuple[Dynamics, int, Backtest]]) -> str:
    lines = [
        f"{'world':<18}{'rows':>6}{'P10-P90 coverage':>18}{'at start':>10}{'in middle':>11}"
        f"{'WAPE P50':>10}"
        f"{'WAPE run rate':>15}{'WAPE weighted':>15}"
    ]
    names = list(dict.fromkeys(d.name for d, _, _ in found))
    groups = [(n, [b for d, _, b in found if d.name == n]) for n in names]
    for name, results in [*groups, ("pooled", [b for _, _, b in found])]:
        p = pooled(results)
        lines.append(
            f"{name:<18}{p.rows:>6}{_fmt(p.coverage):>18}"
            f"{_fmt(p.coverage_by_point['start']):>10}{_fmt(p.coverage_by_point['middle']):>11}"
            f"{_fmt(p.wape['paceline']):>10}"
            f"{_fmt(p.wape['run_rate']):>15}{_fmt(p.wape['weighted_pipeline']):>15}"
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calibration-seeds", type=int, default=2, help="worlds per dynamics")
    parser.add_argument("--calibration-periods", type=int, default=12, help="months replayed")
    parser.add_argument("--calibration-runs", type=int, default=2000, help="Monte Carlo runs")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    seeds = range(1, args.calibration_seeds + 1)
    found = run_worlds(WORLDS, list(seeds), args.calibration_periods, args.calibration_runs)
    print(table(found))
    p = pooled([b for _, _, b in found])
    print(f"({time.perf_counter() - started:.0f}s)")
    RESULTS.parent.mkdir(exist_ok=True)
    figures: dict[str, Any] = {
        "as_of": AS_OF.isoformat(),
        "pooled": {"rows": p.rows, "coverage": p.coverage, "wape": p.wape},
        "worlds": [
            {"world": d.name, "seed": s, "coverage": pooled([b]).coverage, **pooled([b]).wape}
            for d, s, b in found
        ],
    }
    RESULTS.write_text(json.dumps(figures, indent=2))
    return 0 if 0.7 <= p.coverage <= 0.9 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
