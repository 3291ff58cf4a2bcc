"""`paceline diagnose`: the one-on-one brief for a rep, or a team's reps at a glance.

The brief puts the findings first (alerts, weak funnel steps, the factor holding revenue back,
busy-versus-productive flags, stalled deals), then the coaching the rule table draws from
them, then the funnel and the revenue equation behind it all.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.diagnosis_options import AS_OF_OPTION, PERIOD_OPTION, option_window
from paceline.describe import (
    count_cell,
    days_text,
    equation_measured_text,
    equation_worked_text,
    evidence_stats,
    evidence_text,
    factor_value,
    finding_stats,
    finding_text,
    note_cell,
    note_lines,
    number,
    p_text,
    rate,
    role_text,
    rule_verdict_text,
    times_text,
    verdict_text,
)
from paceline.errors import UserInputError
from paceline.terminal import new_table

if TYPE_CHECKING:
    from paceline.analytics.diagnose import RepDiagnosis, TeamDiagnosis
    from paceline.config import Settings


@app.command()
@handles_errors
def diagnose(
    ctx: typer.Context,
    rep: str | None = typer.Option(None, "--rep", "-r", help="The rep's name: their full brief."),
    team: str | None = typer.Option(
        None, "--team", "-t", help="Every rep of a team, one line each."
    ),
    period: str | None = PERIOD_OPTION,
    as_of: dt.datetime | None = AS_OF_OPTION,
    as_json: bool = JSON_OPTION,
    stats: bool = typer.Option(
        False,
        "--stats",
        help="Show the statistics behind each finding (p-values, the test, the counts).",
    ),
) -> None:
    """Why a rep is where they are: funnel, equation, quality, stalled deals and coaching."""
    from paceline.analytics.diagnose import diagnose_rep, diagnose_team
    from paceline.serialize import dumps

    if rep is not None and team is not None:
        raise UserInputError("give --rep NAME or --team NAME, not both")
    c = _ctx(ctx)
    window = option_window(c.settings, period, as_of)
    if rep is not None:
        brief = diagnose_rep(c.reader(), c.settings, window, rep)
        if as_json:
            out.print_json(dumps(brief))
        else:
            print_brief(c.settings, brief, stats=stats)
        return
    result = diagnose_team(c.reader(), c.settings, window, team)
    out.print_json(dumps(result)) if as_json else _print_team(c.settings, result, stats)


def print_brief(settings: Settings, d: RepDiagnosis, *, stats: bool = False) -> None:
    """The brief in words; `stats` adds the statistics under each finding (How we know)."""
    out.print(
        f"[bold]{d.rep}[/] ({role_text(settings, d.role)}{', ' + d.team if d.team else ''}):"
        f" {d.window.label} ({d.window.spec}), compared with {d.coaching.peers} peers"
    )
    out.print("\n[bold]Findings[/]")
    for finding in d.findings or []:
        out.print(f"  • {finding_text(settings, d, finding)}", highlight=False)
        how = finding_stats(settings, d, finding) if stats else None
        if how:
            out.print(f"    [dim]How we know: {how}[/]", highlight=False)
    if not d.findings:
        out.print("  nothing stands out against the peers in this window")
    out.print("\n[bold]Coaching[/]")
    for check in d.coaching.hints:
        out.print(f"  • [bold]{check.label}[/]: {check.advice}", highlight=False)
        out.print(f"    [dim]{evidence_text(settings, check)}[/]", highlight=False)
        how = evidence_stats(settings, check) if stats else None
        if how:
            out.print(f"    [dim]How we know: {how}[/]", highlight=False)
    if not d.coaching.hints:
        out.print("  no rule of the coaching table fires")
    for check in (c for c in d.coaching.checks if not c.fired):
        out.print(f"  [dim]- {rule_verdict_text(settings, check)}[/]", highlight=False)
    _print_funnel(d, stats)
    _print_equation(d, stats)
    if not stats:
        out.print("[dim]The statistics behind these findings: --stats (or --json).[/]")


def _print_funnel(d: RepDiagnosis, stats: bool) -> None:
    table = new_table(title="Funnel", title_justify="left")
    table.add_column("step")
    names = ["count", "conversion", "peers", "verdict"] + (["p"] if stats else [])
    for name in [*names, "median days", "peers' days"]:
        table.add_column(name, justify="right")
    for step in d.funnel.steps:
        p = step.comparison.p_value if step.comparison else None
        table.add_row(
            step.label,
            count_cell(step) or number(step.count),
            note_cell(step) or rate(step.conversion),
            note_cell(step, peers=True) or rate(step.peer_conversion),
            verdict_text(step.verdict),
            *([p_text(p).replace("p = ", "")] if stats else []),
            days_text(step.median_days),
            days_text(step.peer_median_days),
        )
    out.print(table)
    for line in note_lines(d.funnel):
        out.print(f"  [dim]{line}[/]", highlight=False)


def _print_equation(d: RepDiagnosis, stats: bool) -> None:
    e = d.equation
    if e is None:
        return
    if e.measured_from is not None:
        out.print(f"Revenue equation: {equation_measured_text(e.measured_from)}.")
    if worked := equation_worked_text(e):
        out.print(f"Revenue equation: {worked}.")
    if e.missing:
        out.print(f"Revenue equation: {e.reason}")
        return
    if not e.applicable:
        out.print(f"Revenue equation: not applicable ({e.reason})")
        return
    table = new_table(
        title=f"Revenue equation: {number(e.revenue)} won against {number(e.reference_revenue)}"
        " at the peers' medians",
        title_justify="left",
    )
    for name, justify in (("factor", "left"), ("rep", "right"), ("peers' median", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("rep against median", justify="right")
    if stats:
        table.add_column("ln of the ratio", justify="right")
    for f in e.factors:
        table.add_row(
            f.label,
            factor_value(f.name, f.value),
            factor_value(f.name, f.reference),
            times_text(f.relative),
            *([_signed(f.contribution)] if stats else []),
        )
    whole = times_text(e.revenue / e.reference_revenue if e.reference_revenue else None)
    table.add_row(
        "[bold]revenue[/]",
        number(e.revenue),
        number(e.reference_revenue),
        whole,
        *([_signed(e.gap)] if stats else []),
    )
    out.print(table)


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _print_team(settings: Settings, result: TeamDiagnosis, stats: bool = False) -> None:
    who = f"team {result.team}" if result.team else "all reps"
    table = new_table(title=f"Diagnosis of {who}: {result.window.label}", title_justify="left")
    for name in ("rep", "role", "findings", "coaching"):
        table.add_column(name)
    for d in result.reps:
        table.add_row(
            d.rep,
            role_text(settings, d.role),
            "\n".join(_finding_lines(settings, d, stats)) or "—",
            ", ".join(h.label for h in d.coaching.hints) or "—",
        )
    out.print(table)
    measured = next((d.equation.measured_from for d in result.reps if d.equation), None)
    if measured is not None:
        out.print(f"Revenue equation: {equation_measured_text(measured)}.")
    out.print("For one rep's brief: paceline diagnose --rep NAME")


def _finding_lines(settings: Settings, d: RepDiagnosis, stats: bool) -> list[str]:
    lines = []
    for f in d.findings:
        lines.append(finding_text(settings, d, f))
        how = finding_stats(settings, d, f) if stats else None
        if how:
            lines.append(f"[dim]How we know: {how}[/]")
    return lines
