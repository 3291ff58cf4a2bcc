"""CLI commands: `plan` (revenue goal → activity targets) and `target set` / `target list`.

A thin face over `paceline.analytics.plan`: it turns options into a `PlanInput`, asks the
database only for what the options need (weights without --reps, history with
--from-history, storage with --save), and prints the result as tables or --json.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.dates import DAY_METAVAR, parse_day
from paceline.errors import UserInputError, did_you_mean
from paceline.terminal import new_table

if TYPE_CHECKING:  # the analyses and services load when a command runs
    from paceline.analytics.plan import Plan, StepTarget, TargetList
    from paceline.calendar import PeriodKind
    from paceline.services.targets import SavedTargets

target_app = typer.Typer(no_args_is_help=True, help="Set, override and list targets.")
app.add_typer(target_app, name="target")

SPLITS = ("year", "quarter", "month", "week", "day")


@app.command()
@handles_errors
def plan(
    ctx: typer.Context,
    revenue: str = typer.Option(
        ..., "--revenue", help="Revenue goal for the year, e.g. 70000000 or 70M."
    ),
    deal_size: str = typer.Option(..., "--deal-size", help="Average deal size, e.g. 35000 or 35k."),
    rate: list[str] | None = typer.Option(
        None,
        "--rate",
        help="Conversion between two consecutive funnel steps, upper:lower=rate, e.g. "
        "proposal:deal=0.25 or proposal:deal=25%. Repeat for each step.",
    ),
    reps: int | None = typer.Option(
        None, "--reps", help="Plan for this many equal reps instead of the reps in the database."
    ),
    role: str | None = typer.Option(
        None, help="Only reps of this role carry the plan (history: each step on its owners)."
    ),
    team: str | None = typer.Option(
        None, "--team", "-t", help="Only reps of this team (weights and history)."
    ),
    year: int | None = typer.Option(
        None, help="Fiscal year starting in this calendar year; default: the current one."
    ),
    from_history: bool = typer.Option(
        False, "--from-history", help="Measure every rate not given from recent history."
    ),
    history_months: int | None = typer.Option(
        None, min=1, max=60, help="Months of history to measure rates on (default: paceline.toml)."
    ),
    as_of: dt.datetime | None = typer.Option(
        None,
        "--as-of",
        parser=parse_day,
        metavar=DAY_METAVAR,
        help="History ends the day before this date.",
    ),
    by_month: bool = typer.Option(
        False, "--by-month", help="Also show each month of the year (by business days)."
    ),
    save: bool = typer.Option(
        False, "--save", help="Store each rep's yearly targets (scaled by their weight)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Reverse-engineer a revenue goal into activity targets per period and per rep."""
    from paceline.access import OPERATOR
    from paceline.analytics.plan import (
        PlanInput,
        build_plan,
        measure_rates,
        parse_amount,
        parse_rate,
        plan_period,
        plan_weights,
    )
    from paceline.calendar import BusinessCalendar
    from paceline.serialize import dumps
    from paceline.services.targets import save_plan_targets

    c = _ctx(ctx)
    settings = c.settings
    calendar = BusinessCalendar(settings.calendar)
    given = tuple(parse_rate(text) for text in rate or [])
    revenue_value = parse_amount("revenue", revenue)
    deal_size_value = parse_amount("deal size", deal_size)
    if save and reps is not None:
        raise UserInputError("--save: targets are saved for the reps in the database; drop --reps")
    period = plan_period(calendar, year)
    weights = () if reps is not None else plan_weights(c.engine(), settings, period, role, team)
    measured = None
    if from_history:
        measured = measure_rates(
            c.engine(),
            settings,
            as_of.date() if as_of else calendar.today(),
            None,  # each step on the reps of the role owning it, whoever carries the plan
            team,
            history_months,
            by_role=True,
        )
    result = build_plan(
        settings,
        calendar,
        PlanInput(
            revenue_value,
            deal_size_value,
            given,
            year,
            reps,
            weights,
            role if reps is not None else None,
        ),
        measured,
    )
    saved = save_plan_targets(c.engine(), result, principal=OPERATOR) if save else None
    if as_json:
        out.print_json(dumps({"plan": result, "saved": saved}))
        return
    _print_plan(result)
    if by_month:
        _print_months(result)
    if saved:
        _print_saved(saved)


def _number(value: float) -> str:
    from paceline.analytics.plan import round_up

    return f"{round_up(value):,}"


def _percent(rate: float) -> str:
    """25%, 12.5%, 18.25%: as many decimals as the rate has, up to two."""
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _weight(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _print_plan(p: Plan) -> None:
    reps = f"{p.headcount:,} reps"
    if p.reps and abs(p.total_weight - p.headcount) > 1e-9:
        reps += f" ({_weight(p.total_weight)} full-weight)"
    out.print(
        f"[bold]Plan for fiscal year {p.year}[/] ({p.period.start}..{p.period.last_day}): "
        f"{p.business_days} business days, {reps}",
        highlight=False,
    )
    deals = p.steps[-1]
    note = "" if p.deals_exact == deals.total.year else f" (rounded up from {p.deals_exact:,.2f})"
    out.print(
        f"{p.revenue:,.0f} revenue ÷ {p.deal_size:,.0f} average deal = "
        f"{deals.total_rounded.year:,} {deals.metric}{note}",
        highlight=False,
    )
    cascade = (p.revenue_target, *reversed(p.steps))
    team = new_table(
        title="Targets for the team (counts rounded up; quarter and month are averages, "
        f"week = {p.work_days_per_week} business days)",
        title_justify="left",
    )
    team.add_column("step")
    team.add_column("from the step below", justify="right")
    for name in SPLITS:
        team.add_column(name, justify="right")
    for step in cascade:
        team.add_row(step.metric, _rate_cell(step), *_cells(step))
    out.print(team)
    rep = new_table(
        title=f"Targets per full-weight rep of the roles carrying each step (the team counts "
        f"{_weight(p.total_weight)}; below 1 a day: one every N business days)",
        title_justify="left",
    )
    rep.add_column("step")
    rep.add_column("carried by")
    for name in SPLITS:
        rep.add_column(name, justify="right")
    for step in cascade:
        if step.per_rep_rounded is None:
            rep.add_row(step.metric, "not this plan's reps", *([""] * len(SPLITS)))
            continue
        rep.add_row(step.metric, ", ".join(step.owners) or "every rep", *_rep_cells(step))
    out.print(rep)
    _print_rates(p)
    _print_weights(p)


def _rate_cell(step: StepTarget) -> str:
    """How a step follows from the one below: ÷ its conversion rate."""
    if step.rate is None:
        return "÷ deal size" if step.unit == "count" else ""
    return f"÷ {_percent(step.rate.rate)}"


def _cells(step: StepTarget) -> list[str]:
    split = step.total_rounded
    return [f"{getattr(split, name):,}" for name in SPLITS]


def _rep_cells(step: StepTarget) -> list[str]:
    """A rep's figures: whole from 1 up, two decimals below (never rounded up to 1), and a
    day's figure below one as "0.12 (1 every 8.4 days)"."""
    split = step.per_rep_rounded
    assert split is not None
    cells = [_figure(getattr(split, name)) for name in SPLITS]
    if step.pace is not None and step.pace.every_days is not None:
        cells[-1] += f" (1 every {step.pace.every_days:,.1f} days)"
    return cells


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 or value == 0 else f"{value:.2f}"


def _print_rates(p: Plan) -> None:
    if not p.rates:
        return
    table = new_table(title="Conversion rates", title_justify="left")
    table.add_column("step")
    table.add_column("rate", justify="right")
    table.add_column("source")
    table.add_column("history", justify="right")
    for r in p.rates:
        history = ""
        if r.measured is not None and r.measured.rate is not None:
            history = (
                f"{_percent(r.measured.rate)} = {r.measured.numerator:,.0f} / "
                f"{r.measured.denominator:,.0f}"
            )
        elif r.measured is not None:
            history = f"no {r.upper}"
        source = f"{r.source}, hand-over" if r.hand_over else r.source
        table.add_row(f"{r.upper} → {r.lower}", _percent(r.rate), source, history)
    out.print(table)
    if p.history is not None:
        h = p.history
        measured = len(p.measured)
        out.print(
            f"history: {h.scope}, {h.reps:,} reps with activity; "
            f"{measured} of {len(p.rates)} rates measured from it, "
            f"{len(p.rates) - measured} given",
            highlight=False,
        )
    else:
        out.print("all rates given (add --from-history to compare with history)", highlight=False)


def _print_weights(p: Plan) -> None:
    partial = [r for r in p.reps if r.weight < 1 - 1e-9 or r.weight > 1 + 1e-9]
    if not partial:
        return
    table = new_table(
        title="Reps below full weight (their targets are scaled)",
        title_justify="left",
    )
    for name in ("rep", "role", "team"):
        table.add_column(name)
    for name in ("capacity", "ramp", "weight"):
        table.add_column(name, justify="right")
    for r in partial:
        table.add_row(
            r.name, r.role, r.team or "", f"{r.capacity:.2f}", f"{r.ramp:.2f}", f"{r.weight:.2f}"
        )
    out.print(table)


def _print_months(p: Plan) -> None:
    table = new_table(
        title="Each month of the year (team, shared by business days, rounded up)",
        title_justify="left",
    )
    table.add_column("month")
    table.add_column("days", justify="right")
    metrics = [s.metric for s in reversed(p.steps)]
    for name in ("revenue", *metrics):
        table.add_column(name, justify="right")
    for m in p.months:
        table.add_row(
            m.period.label,
            str(m.business_days),
            *(_number(m.totals[name]) for name in ("revenue", *metrics)),
        )
    out.print(table)


def _print_saved(saved: SavedTargets) -> None:
    out.print(
        f"saved {saved.targets:,} yearly targets ({len(saved.metrics)} metrics, "
        f"{saved.reps:,} reps, each the steps of their role) for "
        f"{saved.period.start}..{saved.period.last_day}",
        highlight=False,
    )


# --- target ---------------------------------------------------------------------------------


def _period_kind(period: str | None) -> PeriodKind | None:
    from paceline.analytics.targets import TARGET_KINDS

    if period is None:
        return None
    if period not in TARGET_KINDS:
        hint = did_you_mean(period, TARGET_KINDS)
        raise UserInputError(f"--period: must be {', '.join(TARGET_KINDS)}, not {period!r}{hint}")
    return period


@target_app.command("set")
@handles_errors
def target_set(
    ctx: typer.Context,
    value: float = typer.Argument(..., help="The target for the whole period."),
    rep: str = typer.Option(..., "--rep", "-r", help="Whose target."),
    metric: str = typer.Option(..., "--metric", help="Metric name, e.g. proposals."),
    period: str = typer.Option("month", "--period", "-p", help="week, month, quarter or year."),
    date: dt.datetime | None = typer.Option(
        None, parser=parse_day, metavar=DAY_METAVAR, help="Any day in the period; default today."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Set or override one rep's target for one metric and period."""
    from paceline.access import OPERATOR
    from paceline.calendar import BusinessCalendar
    from paceline.serialize import dumps
    from paceline.services.targets import set_target

    c = _ctx(ctx)
    kind = _period_kind(period)
    assert kind is not None
    day = date.date() if date else BusinessCalendar(c.settings.calendar).today()
    # The operator, as the policy (`paceline.access`) sees whoever runs the command line.
    result = set_target(c.engine(), c.settings, rep, metric, kind, day, value, principal=OPERATOR)
    if as_json:
        out.print_json(dumps(result))
        return
    out.print(
        f"target set: {result.rep}, {result.metric} {result.value:,g} for the {kind} "
        f"{result.period.start}..{result.period.last_day}",
        highlight=False,
    )


@target_app.command("list")
@handles_errors
def target_list(
    ctx: typer.Context,
    rep: str | None = typer.Option(None, "--rep", "-r", help="Only this rep."),
    period: str | None = typer.Option(
        None,
        "--period",
        "-p",
        help="Show the targets in force for this week, month, quarter or year "
        "(prorated from longer ones); without it, the stored targets.",
    ),
    date: dt.datetime | None = typer.Option(
        None,
        parser=parse_day,
        metavar=DAY_METAVAR,
        help="The period containing this day (default today).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """List targets: as stored, or as scorecards see them for one period."""
    from paceline.analytics.plan import list_targets
    from paceline.serialize import dumps

    c = _ctx(ctx)
    result = list_targets(
        c.engine(), c.settings, rep, _period_kind(period), date.date() if date else None
    )
    if as_json:
        out.print_json(dumps(result))
        return
    _print_targets(result)


def _print_targets(result: TargetList) -> None:
    if result.period is None:
        title = "Stored targets"
    else:
        p = result.period
        title = f"Targets for the {p.kind} {p.start}..{p.last_day}"
    table = new_table(title=title, title_justify="left")
    for name in ("rep", "metric", "period", "from", "to"):
        table.add_column(name)
    table.add_column("target", justify="right")
    table.add_column("origin")
    for e in result.entries:
        table.add_row(
            e.rep,
            e.metric,
            e.period.kind,
            str(e.period.start),
            str(e.period.last_day),
            f"{e.value:,.2f}".rstrip("0").rstrip("."),
            e.origin,
        )
    out.print(table)
    if not result.entries:
        out.print("no targets (save a plan with `paceline plan --save`, or `paceline target set`)")
