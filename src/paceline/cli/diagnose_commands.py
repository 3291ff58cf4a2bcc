"""`paceline diagnose`: the one-on-one brief for a rep, or a team's reps at a glance.

The brief puts the findings first (alerts, weak funnel steps, the factor holding revenue back,
busy-versus-productive flags, stalled deals), then the coaching the rule table draws from
them, then the funnel and the revenue equation behind it all.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.diagnosis_options import AS_OF_OPTION, PERIOD_OPTION, option_window
from paceline.describe import (
    evidence_text,
    finding_text,
    number,
    p_text,
    rate,
    rule_verdict_text,
)
from paceline.errors import UserInputError

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
) -> None:
    """Why a rep is where they are: funnel, equation, quality, stalled deals and coaching."""
    from paceline.analytics.diagnose import diagnose_rep, diagnose_team
    from paceline.serialize import dumps

    if rep is not None and team is not None:
        raise UserInputError("give --rep NAME or --team NAME, not both")
    c = _ctx(ctx)
    window = option_window(c.settings, period, as_of)
    if rep is not None:
        brief = diagnose_rep(c.engine(), c.settings, window, rep)
        out.print_json(dumps(brief)) if as_json else print_brief(c.settings, brief)
        return
    result = diagnose_team(c.engine(), c.settings, window, team)
    out.print_json(dumps(result)) if as_json else _print_team(c.settings, result)


def print_brief(settings: Settings, d: RepDiagnosis) -> None:
    out.print(
        f"[bold]{d.rep}[/] ({d.role}{', ' + d.team if d.team else ''}):"
        f" {d.window.label} ({d.window.spec}), compared with {d.coaching.peers} peers"
    )
    out.print("\n[bold]Findings[/]")
    for finding in d.findings or []:
        out.print(f"  • {finding_text(settings, d, finding)}", highlight=False)
    if not d.findings:
        out.print("  nothing stands out against the peers in this window")
    out.print("\n[bold]Coaching[/]")
    for check in d.coaching.hints:
        out.print(f"  • [bold]{check.label}[/]: {check.advice}", highlight=False)
        out.print(f"    [dim]{evidence_text(settings, check)}[/]", highlight=False)
    if not d.coaching.hints:
        out.print("  no rule of the coaching table fires")
    for check in (c for c in d.coaching.checks if not c.fired):
        out.print(f"  [dim]- {rule_verdict_text(settings, check)}[/]", highlight=False)
    _print_funnel(settings, d)
    _print_equation(d)


def _print_funnel(settings: Settings, d: RepDiagnosis) -> None:
    table = Table(title="Funnel", title_justify="left")
    table.add_column("step")
    for name in ("count", "conversion", "peers", "p", "median days", "peers' days"):
        table.add_column(name, justify="right")
    for step in d.funnel.steps:
        p = step.comparison.p_value if step.comparison else None
        table.add_row(
            step.label,
            number(step.count),
            rate(step.conversion),
            rate(step.peer_conversion),
            p_text(p).replace("p = ", "").replace("p ", ""),
            number(step.median_days),
            number(step.peer_median_days),
        )
    out.print(table)


def _print_equation(d: RepDiagnosis) -> None:
    e = d.equation
    if e is None:
        return
    if e.missing:
        out.print(f"Revenue equation: {e.reason}")
        return
    if not e.applicable:
        out.print(f"Revenue equation: not applicable ({e.reason})")
        return
    table = Table(
        title=f"Revenue equation: {number(e.revenue)} won against {number(e.reference_revenue)}"
        " at the peers' medians",
        title_justify="left",
    )
    for name, justify in (("factor", "left"), ("rep", "right"), ("median", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("share of the gap (log)", justify="right")
    for f in e.factors:
        table.add_row(f.label, number(f.value), number(f.reference), _signed(f.contribution))
    table.add_row("[bold]gap[/]", "", "", _signed(e.gap))
    out.print(table)


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _print_team(settings: Settings, result: TeamDiagnosis) -> None:
    who = f"team {result.team}" if result.team else "all reps"
    table = Table(title=f"Diagnosis of {who}: {result.window.label}", title_justify="left")
    for name in ("rep", "role", "findings", "coaching"):
        table.add_column(name)
    for d in result.reps:
        table.add_row(
            d.rep,
            d.role,
            "\n".join(finding_text(settings, d, f) for f in d.findings) or "—",
            ", ".join(h.label for h in d.coaching.hints) or "—",
        )
    out.print(table)
    out.print("For one rep's brief: paceline diagnose --rep NAME")
