"""`paceline tipping METRIC`: the weekly level of an activity past which returns diminish.

Prints the tipping point with its bootstrap interval, the marginal return below and above it,
the rep-weeks behind it and the recommended weekly target, or why the data cannot support an
estimate. No arithmetic here beyond formatting: the analysis computed every number.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.dates import DAY_METAVAR, parse_day
from paceline.describe import tipping_recorded_text, tipping_unknown_text
from paceline.terminal import escape, new_table

if TYPE_CHECKING:  # the analysis (NumPy, SciPy) loads when the command runs
    from paceline.analytics.tipping import Interval, TippingPoint

DASH = "\u2013"


@app.command("tipping")
@handles_errors
def tipping_command(
    ctx: typer.Context,
    metric: str = typer.Argument(..., help="The activity metric, e.g. meetings_held."),
    outcome: str = typer.Option(
        "opportunities_created", "--outcome", help="The result metric that follows it."
    ),
    team: str | None = typer.Option(
        None, "--team", "-t", help="One team's reps (default: everyone)."
    ),
    role: list[str] | None = typer.Option(
        None,
        "--role",
        help="Only reps of this role; repeat for several (default: the roles that do the "
        "activity and get the outcome).",
    ),
    lag: int | None = typer.Option(
        None,
        "--lag",
        min=0,
        max=26,
        help="Weeks from the activity to the outcome (default: [insight.tipping] lag_weeks, "
        "or measured).",
    ),
    as_of: dt.datetime | None = typer.Option(
        None,
        "--as-of",
        parser=parse_day,
        metavar=DAY_METAVAR,
        help="History ends the week before this day.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """The weekly level of an activity below which results suffer and above which returns
    diminish, with its interval and a recommended weekly target."""
    from paceline.analytics.tipping import tipping_point
    from paceline.serialize import dumps

    c = _ctx(ctx)
    result = tipping_point(
        c.reader(),
        c.settings,
        metric,
        outcome=outcome,
        team=team,
        roles=role or None,
        lag_weeks=lag,
        as_of=as_of.date() if as_of else None,
    )
    out.print_json(dumps(result)) if as_json else print_tipping(result)


def print_tipping(r: TippingPoint) -> None:
    out.print(title(r), highlight=False)
    out.print(basis(r), highlight=False)
    recorded = tipping_recorded_text(r)
    if recorded:
        out.print(f"[yellow]{escape(recorded)}.[/]", highlight=False)
    if r.amounts_unknown:
        out.print(f"[yellow]{tipping_unknown_text(r.amounts_unknown)}.[/]", highlight=False)
    if r.lag_measured and r.lags:
        _print_lags(r)
    if not r.supported:
        out.print(f"[bold yellow]No tipping point:[/] {escape(r.reason or '')}.", highlight=False)
        if r.line_slope is not None:
            out.print(line_sentence(r), highlight=False)
        return
    table = new_table(title_justify="left")
    table.add_column("")
    table.add_column("estimate", justify="right")
    table.add_column(f"{r.confidence:.0%} interval", justify="right")
    table.add_row(
        f"tipping point ({_unit(r)} a week)", _num(r.tipping_point), _iv(r.tipping_interval)
    )
    per = f"{r.outcome_label.lower()} per {r.unit_label}"
    table.add_row(f"below it: {per}", _num(r.slope_below, 3), _iv(r.slope_below_interval, 3))
    table.add_row(f"above it: {per}", _num(r.slope_above, 3), _iv(r.slope_above_interval, 3))
    out.print(table)
    corrected = f", corrected for {r.lags_compared} lags" if r.lags_compared > 1 else ""
    out.print(
        f"Rep-weeks behind it: {r.rep_weeks_below:,} at or below, {r.rep_weeks_above:,} above. "
        f"Chance of a bend this strong if a straight line were the truth: "
        f"p = {_p(r.curvature_p_value)}{corrected}.",
        highlight=False,
    )
    out.print(target_sentence(r), highlight=False)


def title(r: TippingPoint) -> str:
    who = f"team {r.team}" if r.team else "all teams"
    return f"Tipping point of {r.metric_label} for {r.outcome_label}, {who}"


def basis(r: TippingPoint) -> str:
    roles = ", ".join(r.roles) or "none"
    chosen = "" if r.roles_given else " (the roles that do it)"
    measured = " (lag measured)" if r.lag_measured else ""
    return (
        f"{r.rep_weeks:,} rep-weeks of {r.reps} rep{'s' if r.reps != 1 else ''}, roles "
        f"{roles}{chosen}; activity weeks {r.measured_from or r.first_week}..{r.last_day}; "
        f"outcome read "
        f"{_lag(r.lag_weeks)}{measured}"
    )


def _lag(weeks: int) -> str:
    if weeks == 0:
        return "the same week"
    return f"{weeks} week{'s' if weeks != 1 else ''} later"


def target_sentence(r: TippingPoint) -> str:
    """The recommendation: the target, what it should bring, and why more or less is worse."""
    if r.recommended_target is None:
        return ""
    unit = _unit(r)
    return (
        f"Recommended weekly target: {r.recommended_target} {unit}, expected to bring "
        f"{_num(r.expected_at_target, 2)} {r.outcome_label.lower()} a week. Fewer loses about "
        f"{_num(r.slope_below, 2)} for each {r.unit_label} short; more adds only "
        f"{_num(r.slope_above, 2)} each."
    )


def line_sentence(r: TippingPoint) -> str:
    r2 = f" (R\u00b2 {r.line_r_squared:.2f})" if r.line_r_squared is not None else ""
    return (
        f"A straight line{r2}: each {r.unit_label} goes with {_num(r.line_slope, 3)} "
        f"{r.outcome_label.lower()}."
    )


def _print_lags(r: TippingPoint) -> None:
    table = new_table(title="Lag measured (same activity weeks for each)", title_justify="left")
    table.add_column("lag (weeks)", justify="right")
    table.add_column("rep-weeks", justify="right")
    table.add_column("R\u00b2 of the hinge", justify="right")
    for fit in r.lags:
        chosen = " \u2190" if fit.lag_weeks == r.lag_weeks else ""
        r2 = DASH if fit.r_squared is None else f"{fit.r_squared:.3f}{chosen}"
        table.add_row(str(fit.lag_weeks), f"{fit.rep_weeks:,}", r2)
    out.print(table)


def _unit(r: TippingPoint) -> str:
    return r.metric_label.lower()


def _num(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def _iv(interval: Interval | None, digits: int = 1) -> str:
    if interval is None:
        return DASH
    return f"{interval.low:,.{digits}f} {DASH} {interval.high:,.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
