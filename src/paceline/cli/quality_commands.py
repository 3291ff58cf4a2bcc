"""CLI commands for the revenue equation, busy-versus-productive and when-to-sell.

Each prints one analysis's result object: Rich tables for people, JSON with --json. No
arithmetic happens here beyond formatting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paceline.cli import out
from paceline.cli.diagnosis_options import analysis_command
from paceline.describe import equation_asks_text, equation_measured_text, equation_worked_text
from paceline.terminal import new_table

if TYPE_CHECKING:  # the analyses load when their command runs (analysis_command)
    from paceline.analytics.equation import EquationReport, RepEquation
    from paceline.analytics.quality import QualityReport, RepQuality
    from paceline.analytics.timing import WhenCell, WhenToSell
    from paceline.analytics.window import Window


def _scope(window: Window, team: str | None, rep: str | None) -> str:
    who = f"rep {rep}" if rep else f"team {team}" if team else "all reps"
    return f"{who}, {window.spec} {window.label}"


# --- equation ---------------------------------------------------------------------------------


def print_equation(report: EquationReport) -> None:
    title = f"Revenue equation: {_scope(report.window, report.team, report.rep)}"
    if report.measured_from is not None:
        out.print(f"{equation_measured_text(report.measured_from)}.")
    if len(report.reps) == 1:
        _print_rep_equation(title, report.reps[0])
        return
    table = new_table(title=title, title_justify="left")
    table.add_column("rep")
    table.add_column("role")
    for name in ("revenue", "reference", "vs ref"):
        table.add_column(name, justify="right")
    for label in ("prospects", "acts/prospect", "wins/act", "revenue/win"):
        table.add_column(label, justify="right")
    table.add_column("holding back")
    for eq in report.reps:
        cells = [_factor_cell(eq, i) for i in range(len(eq.factors))]
        table.add_row(
            eq.rep,
            eq.role,
            _money(eq.revenue),
            _money(eq.reference_revenue),
            _times(eq.relative_revenue),
            *cells,
            _holding(eq),
        )
    out.print(table)
    if not report.reps:
        out.print("no selling reps in this window")
    out.print(
        "Each factor: the rep's value (its log contribution to the gap). The reference is the "
        "median of rep and peers; contributions add up to ln(revenue / reference)."
    )
    for eq in report.reps:
        if eq.selling_without_account:
            out.print(_unnamed_note(eq))
        if asks := equation_asks_text(eq):
            out.print(f"{asks}.")
        if worked := equation_worked_text(eq):
            out.print(f"{worked}.")


def _unnamed_note(eq: RepEquation) -> str:
    """How many selling activities named no account, so were no one's prospect."""
    return (
        f"{eq.rep}: {eq.selling_without_account:,} of {eq.selling_activities:,} selling "
        "activities name no account: "
        + (
            "too many to count prospects by"
            if eq.missing == "accounts"
            else "prospects count the accounts the others name"
        )
    )


def _print_rep_equation(title: str, eq: RepEquation) -> None:
    table = new_table(title=f"{title} ({eq.role}, {len(eq.peers)} peers)", title_justify="left")
    table.add_column("factor")
    for name in ("rep", "reference", "vs ref", "contribution"):
        table.add_column(name, justify="right")
    for f in eq.factors:
        money = f.name == "revenue_per_win"
        fmt = _money if money else _value
        table.add_row(
            f.label, fmt(f.value), fmt(f.reference), _times(f.relative), _log(f.contribution)
        )
    table.add_section()
    table.add_row(
        "Revenue",
        _money(eq.revenue),
        _money(eq.reference_revenue),
        _times(eq.relative_revenue),
        _log(eq.gap),
    )
    out.print(table)
    out.print(f"holding back: {_holding(eq)}")
    if worked := equation_worked_text(eq):
        out.print(f"{worked}.")
    if eq.selling_without_account:
        out.print(_unnamed_note(eq))
    if asks := equation_asks_text(eq):
        out.print(f"{asks}.")
    if eq.reason:
        out.print(f"[dim]{eq.reason}[/]")


def _factor_cell(eq: RepEquation, i: int) -> str:
    f = eq.factors[i]
    value = _money(f.value) if f.name == "revenue_per_win" else _value(f.value)
    return value if f.contribution is None else f"{value} ({_log(f.contribution)})"


def _holding(eq: RepEquation) -> str:
    if eq.too_few_accounts_named:
        return "[yellow]unknown: too few accounts named[/]"
    if eq.missing:
        return f"[yellow]unknown: no {eq.missing} logged[/]"
    if not eq.applicable:
        return "[dim]n/a: the role closes no deals[/]"
    if eq.zero_factor:
        return f"[bold red]{eq.zero_factor} at zero[/]"
    return eq.holding_back or "[green]nothing[/]"


# --- quality ----------------------------------------------------------------------------------


def print_quality(report: QualityReport) -> None:
    from paceline.analytics.quality import LOW_SELLING_TIME

    title = f"Busy vs productive: {_scope(report.window, report.team, report.rep)}"
    table = new_table(title=title, title_justify="left")
    table.add_column("rep")
    table.add_column("role")
    for name in ("selling", "hours", "attempts", "vs peers"):
        table.add_column(name, justify="right")
    for name in ("connect", "ask", "engaged", "vs peers", "DM share"):
        table.add_column(name, justify="right")
    table.add_column("flags")
    for r in report.reps:
        share = "not recorded" if r.selling_time_not_recorded else _pct(r.selling_share)
        table.add_row(
            r.rep,
            r.role,
            f"[bold red]{share}[/]" if LOW_SELLING_TIME in r.flags else share,
            f"{r.logged_minutes / 60:,.0f}",
            f"{r.attempts:,}",
            _times(r.volume_vs_peers),
            _pct(r.connect_rate),
            _pct(r.ask_rate),
            _pct(r.engagement_rate),
            _times(r.engagement_vs_peer_median),
            _pct(r.decision_maker_share),
            ", ".join(f"[bold red]{f}[/]" for f in r.flags),
        )
    out.print(table)
    if not report.reps:
        out.print("no selling reps in this window")
    out.print(
        "selling: share of logged time in selling activity; vs peers: multiple of the peers' "
        "median; attempts: outreach activities, Ask or not; engaged: client actions at our request "
        "per attempt"
    )
    if report.reps and not report.connects_recorded:
        out.print(NO_CONNECTS)
    if report.reps and report.engagement_not_recorded:
        from paceline.describe import engagement_not_recorded_text

        out.print(engagement_not_recorded_text(report.engagement_not_recorded))
    if report.reps and report.asks_not_recorded:
        from paceline.describe import asks_not_recorded_text

        out.print(asks_not_recorded_text(report.asks_not_recorded))
    if len(report.reps) == 1:
        mix = report.reps[0].activity_mix
        out.print("activity mix: " + ", ".join(f"{kind} {n:,}" for kind, n in mix.items()))
    flagged = [(r, f) for r in report.reps for f in r.flags]
    for r, flag in flagged:
        out.print(f"[bold red]{r.rep}: {flag}[/]: {flag_reason(report, r, flag)}")
    if not flagged and report.reps:
        out.print("no flags: selling time and engagement are in line with benchmark and peers")


def flag_reason(report: QualityReport, r: RepQuality, flag: str) -> str:
    """Why a flag was raised, with its numbers."""
    from paceline.analytics.quality import HIGH_VOLUME_LOW_ENGAGEMENT, LOW_SELLING_TIME

    if flag == LOW_SELLING_TIME:
        test = r.selling_time
        return (
            f"{_pct(test.share)} of {test.logged_minutes / 60:,.0f} logged hours is selling, "
            f"below the {_pct(report.selling_share_benchmark)} benchmark over {test.days} days "
            f"(p = {_p(test.p_value)})"
        )
    if flag == HIGH_VOLUME_LOW_ENGAGEMENT:
        from paceline.describe import engagement_base

        cmp = r.engagement_vs_peers
        return (
            f"{r.attempts:,} outreach attempts ({_times(r.volume_vs_peers)} the "
            f"peers' median) but {_pct(r.engagement_rate, 1)} engaged"
            f"{engagement_base(r.attempts, r.engagement_attempts)} "
            f"({_times(r.engagement_vs_peer_median)} the peers' median; "
            f"p = {_p(cmp.p_value if cmp else None)})"
        )
    return flag


# --- when to sell -------------------------------------------------------------------------------


def print_when(result: WhenToSell) -> None:
    from paceline.analytics.timing import WEEKDAY_NAMES

    title = (
        f"When to sell: {_scope(result.window, result.team, result.rep)} "
        f"(local time, {result.timezone}): connect rate / calls"
    )
    table = new_table(title=title, title_justify="left")
    table.add_column("hour")
    days = sorted({c.weekday for c in result.cells})
    for day in days:
        table.add_column(WEEKDAY_NAMES[day], justify="right")
    for hour in result.working_hours:
        row = [f"{hour:02d}:00"]
        for day in days:
            cell = result.cell(day, hour)
            if cell is None or not cell.calls:
                row.append("")
            else:
                rate = "  -" if cell.connect_rate is None else f"{cell.connect_rate:.0%}"
                row.append(f"{rate} / {cell.calls:,}")
        table.add_row(*row)
    out.print(table)
    if not result.cells:
        out.print("no activity in this window")
        return
    if result.connects_recorded:
        out.print(f"rates need at least {result.min_volume} calls; '-' marks fewer")
    if result.untimed:
        out.print(
            f"{result.untimed:,} activities at exactly midnight have a date but no time of day "
            "(a due date, a date-only export): they are in no hour above"
        )
    best = ", ".join(
        f"{c.day_name} {c.hour:02d}:00 {_pct(c.connect_rate)} of {c.calls:,}"
        f" ({_engaged_per_attempt(c)})"
        for c in result.best
    )
    if not result.connects_recorded:
        out.print(NO_CONNECTS)
        best = best or "unknown (connect rate not recorded)"
    out.print(f"best hours to call: {best or 'not enough calls to tell'}")
    out.print(
        "engaged: client actions at our request per outreach attempt (an activity of a selling "
        "kind, Ask or not)"
    )
    if result.engagement_not_recorded:
        from paceline.describe import engagement_not_recorded_text

        out.print(engagement_not_recorded_text(result.engagement_not_recorded))


def _engaged_per_attempt(cell: WhenCell) -> str:
    rate = "-" if cell.engagement_rate is None else _pct(cell.engagement_rate)
    return f"{rate} engaged of {cell.attempts:,} attempts"


# --- formatting ---------------------------------------------------------------------------------


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _value(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def _times(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _log(value: float | None) -> str:
    if value is None:
        return ""
    text = f"{value:+.2f}"
    if value < -0.005:
        return f"[red]{text}[/]"
    return f"[green]{text}[/]" if value > 0.005 else text


NO_CONNECTS = (
    "connect: not recorded (no call in the data is marked connected, e.g. an export without "
    "call results): unknown, not 0%"
)


def _pct(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:.{digits}%}"


def _p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1e}" if value < 0.001 else f"{value:.3f}"


# --- the commands (once their printers exist) -----------------------------------------------


analysis_command(
    "equation",
    "paceline.analytics.equation:revenue_equation",
    print_equation,
    "Revenue = prospects x activities/prospect x wins/activity x revenue/win, vs peers.",
)

analysis_command(
    "quality",
    "paceline.analytics.quality:busy_vs_productive",
    print_quality,
    "Busy vs productive: selling time share, activity mix, connect, ask and engagement rates.",
)

analysis_command(
    "when",
    "paceline.analytics.timing:when_to_sell",
    print_when,
    "When to sell: connect rate per call and engagement per outreach attempt by local weekday"
    " and hour.",
)
