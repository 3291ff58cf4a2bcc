"""`paceline forecast`: revenue won in the period as a distribution, and its backtest.

Prints the analysis's result objects (`Forecast`, `Backtest`): Rich tables for people, JSON
with --json. No arithmetic here beyond formatting.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.pipeline_commands import money
from paceline.cli.track_commands import AS_OF_OPTION
from paceline.describe import (
    PRIOR_LEGEND,
    PRIOR_MARK,
    history_text,
    not_counted_text,
    sizes_source_text,
    unrecorded_cell,
)
from paceline.terminal import new_table

if TYPE_CHECKING:  # the analyses (NumPy) load when the command runs
    from paceline.analytics.backtest import Backtest
    from paceline.analytics.forecast import Forecast, NewDeals

TOP_DEALS = 10


@app.command("forecast")
@handles_errors
def forecast_command(
    ctx: typer.Context,
    period: str = typer.Option("quarter", "--period", "-p", help="month, quarter or year."),
    as_of: dt.datetime | None = AS_OF_OPTION,
    team: str | None = typer.Option(
        None, "--team", "-t", help="Only this team (default: everyone)."
    ),
    rep: str | None = typer.Option(None, "--rep", "-r", help="Only this rep's deals."),
    runs: int | None = typer.Option(
        None, "--runs", help="Monte Carlo runs (default: insight.forecast.runs)."
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Random seed; the same seed gives the same forecast."
    ),
    run_backtest: bool = typer.Option(
        False,
        "--backtest",
        help="Replay the last complete periods: forecast each at its start and in its middle, "
        "against the weighted pipeline and the run rate.",
    ),
    periods: int | None = typer.Option(
        None, "--periods", help="With --backtest: how many periods (default: backtest_periods)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Revenue won by the period's end as P10/P50/P90 and the chance of reaching the target,
    from the open pipeline and from deals not created yet (driven by activity)."""
    from paceline.analytics.backtest import backtest
    from paceline.analytics.forecast import forecast
    from paceline.serialize import dumps

    c = _ctx(ctx)
    day = as_of.date() if as_of else None
    if run_backtest:
        result = backtest(
            c.reader(),
            c.settings,
            period,
            team=team,
            rep=rep,
            periods=periods,
            as_of=day,
            runs=runs,
            seed=seed,
        )
        out.print_json(dumps(result)) if as_json else print_backtest(result)
        return
    found = forecast(c.reader(), c.settings, period, day, team=team, rep=rep, runs=runs, seed=seed)
    out.print_json(dumps(found)) if as_json else print_forecast(found)


def _who(team: str | None, rep: str | None) -> str:
    if rep:
        return rep
    return f"team {team}" if team else "everyone"


def _percent(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value * 100:.{digits}f}%"


def _days(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


# --- the forecast ---------------------------------------------------------------------------


def print_forecast(f: Forecast) -> None:
    out.print(
        f"[bold]Forecast[/] — {_who(f.team, f.rep)}, {f.period.label}, as of {f.as_of} "
        f"({f.days_left} days left, {f.business_days_left} business days)"
    )
    out.print(
        f"Revenue won by the period's end: [bold]P10 {money(f.p10)} · P50 {money(f.p50)} · "
        f"P90 {money(f.p90)}[/] (mean {money(f.mean)}; {f.runs:,} runs, seed {f.seed})"
    )
    if f.target is None:
        out.print("No revenue target stored for this period.")
    elif f.probability_of_target is None:  # the covered reps' wins teach no chance
        out.print(
            f"Target {money(f.target)} ({f.revenue_metric}): [yellow]chance of reaching it "
            f"not known[/]: the {f.target_reps} rep(s) it covers have no win with a known sales "
            "cycle in the history (all entered after they closed)."
        )
    else:
        chance = f.probability_of_target
        style = "green" if chance >= 0.5 else "red"
        out.print(
            f"Target {money(f.target)} ({f.revenue_metric}): [{style}]{chance:.0%} chance[/] "
            "of reaching it."
        )
        if f.untargeted_reps:
            out.print(
                f"[yellow]The target covers {f.target_reps} rep(s)[/]: the chance is read on "
                f"their revenue alone ({money(f.targeted_won_so_far or 0.0)} won so far, P50 "
                f"{money(f.targeted_p50 or 0.0)}). No target for "
                f"{', '.join(f.untargeted_reps)}: {money(f.untargeted_won_so_far or 0.0)} won "
                "so far is revenue no target covers."
            )
    parts = new_table(title="Where it comes from (expected values)", title_justify="left")
    parts.add_column("part")
    parts.add_column("revenue", justify="right")
    parts.add_column("how", ratio=2)
    won = unrecorded_cell(f.wins_recorded) or money(f.won_so_far) + not_counted_text(
        f.won_without_amount
    )
    parts.add_row("won so far", won, "known: won in the period by the as-of day")
    parts.add_row(
        "open pipeline",
        money(f.expected_open),
        f"{len(f.open_deals)} open deals worth {money(f.open_value)}, each at its chance of a "
        "win in time",
    )
    parts.add_row("new deals", money(f.expected_new), new_deals_text(f.new_deals))
    out.print(parts)
    _print_stages(f)
    _print_deals(f)
    basis = "by stage and days in it" if f.by_stage else "by age (no usable stage history)"
    out.print(f"{history_text(f)} Open deals read {basis}.")
    if f.open_without_amount:
        average = f.new_deals.average_won_amount
        valued = f"at {money(average)} on average" if average is not None else "(none won yet)"
        out.print(
            f"[yellow]{f.open_without_amount} of {len(f.open_deals)} open deals have no amount "
            f"recorded[/]: each is valued from the sizes of "
            f"{sizes_source_text(f.new_deals.sizes_from)} {valued}, not as zero."
        )


def new_deals_text(n: NewDeals) -> str:
    """How the deals not created yet were counted, in words."""
    text = f"{n.expected_deals:,.0f} new deals expected, {n.expected_wins:,.1f} of them won in time"
    if n.average_won_amount is not None:
        text += f" at {money(n.average_won_amount)} on average"
    passed = ", ".join(s.label for s in n.passed_over)
    passed = (
        f" Passed over (under-recorded: the step after outnumbers them): {passed}."
        if passed
        else ""
    )
    if n.driver is None or n.conversion is None:
        return (
            f"{text}. Source: the opportunity run rate, {n.opportunity_run_rate:.2f} created per "
            f"business day (no measurable activity step to drive it).{passed}"
        )
    from paceline.describe import NOTE_CELL

    chain = " → ".join(
        f"{s.label} {s.count:,.0f}"
        + (
            f" ({NOTE_CELL[s.note]})"
            if s.note
            else (f" ({s.conversion:.1%})" if s.conversion else "")
        )
        for s in n.chain
    )
    volume = (
        f"{n.planned_reps} reps at their target, the rest at their run rate"
        if n.source == "activity_plan"
        else "the reps' run rate"
    )
    lag = f", {n.lag_days} days later" if n.lag_days else ", the same day"
    driver = (n.driver_label or n.driver or "").lower()
    since = (
        f" since {n.measured_from.isoformat()} (the first {driver} recorded)"
        if n.measured_from
        else ""
    )
    return (
        f"{text}. Source: {n.source.replace('_', ' ')}: {n.driver_per_day or 0:,.1f} {driver} "
        f"per business day ({volume}) x {n.conversion:.3f}{lag}. Measured chain{since}: "
        f"{chain}.{passed}"
    )


def _print_stages(f: Forecast) -> None:
    table = new_table(title="Open pipeline by stage", title_justify="left")
    table.add_column("stage")
    for name in ("history stays", "won", "win rate", "median days to win"):
        table.add_column(name, justify="right")
    for name in ("open deals", "open value", "expected", "CRM probability"):
        table.add_column(name, justify="right")
    for s in f.stages:
        table.add_row(
            s.label,
            f"{s.history_stays:,}",
            f"{s.history_wins:,}",
            _percent(s.win_rate),
            _days(s.median_days_to_win),
            f"{s.open_deals:,}",
            money(s.open_value),
            money(s.expected_value),
            _percent(s.crm_probability),
        )
    out.print(table)


def _print_deals(f: Forecast) -> None:
    if not f.open_deals:
        out.print("No open deals.")
        return
    table = new_table(title=f"The {TOP_DEALS} open deals worth most", title_justify="left")
    table.add_column("deal")
    table.add_column("stage")
    for name in ("days in stage", "amount", "chance in time", "CRM", "expected"):
        table.add_column(name, justify="right")
    shown = f.open_deals[:TOP_DEALS]
    valued = "wins" if f.new_deals.sizes_from != "lost_and_open" else "the scope's deals"
    for d in shown:
        table.add_row(
            d.name,
            d.stage or "not recorded",
            f"{d.days_in_stage:.0f}",
            money(d.amount) + ("" if d.amount_recorded else f" (no amount: from {valued})"),
            _percent(d.win_probability) + (f" {PRIOR_MARK}" if d.from_prior else ""),
            _percent(d.crm_probability),
            money(d.expected),
        )
    out.print(table)
    if any(d.from_prior for d in shown):
        out.print(PRIOR_LEGEND + ".")


# --- the backtest ---------------------------------------------------------------------------


def print_backtest(b: Backtest) -> None:
    title = (
        f"Backtest — {_who(b.team, b.rep)}: each {b.period_kind} forecast at its start and in "
        f"its middle ({b.runs:,} runs, seed {b.seed})"
    )
    if not b.rows:
        out.print(f"{title}: no period has enough history before it.")
    else:
        table = new_table(title=title, title_justify="left")
        table.add_column("period")
        table.add_column("forecast at")
        for name in ("actual", "Paceline P50", "P10 - P90", "inside", "weighted pipeline"):
            table.add_column(name, justify="right")
        table.add_column("run rate", justify="right")
        for r in b.rows:
            table.add_row(
                r.period.label,
                f"{r.point} (end of {r.cutoff})",
                money(r.actual) + not_counted_text(r.actual_without_amount),
                money(r.p50),
                f"{money(r.p10)} - {money(r.p90)}",
                "yes" if r.covered else "[red]no[/]",
                "n/a" if r.weighted_pipeline is None else money(r.weighted_pipeline),
                money(r.run_rate),
            )
        out.print(table)
    scores = new_table(title="Scores over the forecasts", title_justify="left")
    scores.add_column("method")
    for name in ("forecasts", "WAPE", "bias", "P10-P90 coverage"):
        scores.add_column(name, justify="right")
    for s in b.scores:
        scores.add_row(
            s.label,
            str(s.forecasts),
            _percent(s.wape, 1),
            "" if s.bias is None else f"{s.bias * 100:+.1f}%",
            _percent(s.coverage),
        )
    out.print(scores)
    for s in b.scores:
        if s.unavailable:
            out.print(f"{s.label}: {s.unavailable}; not compared.")
    if b.skipped:
        out.print("Skipped: " + "; ".join(skip.label for skip in b.skipped))
    unknown = b.actual_without_amount
    if unknown:
        out.print(
            f"[yellow]{unknown} won deal(s) in the periods have no amount recorded[/]: the "
            "actuals are the sums of the others (unknown, not zero)."
        )
    out.print(
        "WAPE = sum |forecast - actual| / sum actual; bias = sum (forecast - actual) / sum "
        "actual; coverage: share of forecasts whose actual fell inside Paceline's P10-P90 "
        "(80% when honest). Weighted pipeline: won so far + open deals due by the period's "
        "end x the configured stage probability; run rate: won so far + revenue won per day "
        "over the trailing run_rate_days x the days left."
    )
