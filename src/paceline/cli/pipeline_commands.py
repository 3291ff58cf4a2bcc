"""CLI commands about the pipeline: stalled deals and weekly pipeline flow.

Each prints its analysis's result object: Rich tables for people, JSON with --json. No
arithmetic here beyond formatting.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.diagnosis_options import (
    AS_OF_OPTION,
    REP_OPTION,
    TEAM_OPTION,
    analysis_command,
    as_of_day,
)
from paceline.describe import (
    NET_UNMEASURED_CELL,
    NET_UNMEASURED_TEXT,
    not_counted_text,
    unrecorded_cell,
)
from paceline.terminal import new_table

if TYPE_CHECKING:  # the analyses load when their command runs
    from paceline.analytics.flow import CountValue, FlowReport, FlowWeek
    from paceline.analytics.stalled import StalledDeal, StalledReport


def money(value: float | None) -> str:
    """Amounts as a manager reads them: 1.25M, 35.4k, 900."""
    if value is None:
        return ""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if size >= 1e4:
        return f"{value / 1e3:,.1f}k"
    return f"{value:,.0f}"


# --- stalled --------------------------------------------------------------------------------


@app.command("stalled")
@handles_errors
def stalled_command(
    ctx: typer.Context,
    rep: str | None = REP_OPTION,
    team: str | None = TEAM_OPTION,
    as_of: dt.datetime | None = AS_OF_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Open deals with no selling activity for a while, or in their stage longer than usual."""
    from paceline.analytics.stalled import stalled_deals
    from paceline.calendar import BusinessCalendar
    from paceline.serialize import dumps

    c = _ctx(ctx)
    day = as_of_day(as_of) or BusinessCalendar(c.settings.calendar).today()
    report = stalled_deals(c.reader(), c.settings, day, team=team, rep=rep)
    out.print_json(dumps(report)) if as_json else print_stalled(report)


def print_stalled(report: StalledReport) -> None:
    who = _who(report.team, report.rep)
    title = (
        f"Stalled deals — {who}, as of {report.as_of}: {report.count} of {report.open_deals} "
        f"open deals, {money(report.value)}{not_counted_text(report.without_amount)}"
        f" of {money(report.open_value)}{not_counted_text(report.open_without_amount)}"
    )
    if not report.deals:
        out.print(f"{title}. Nothing is stalled.")
    else:
        table = new_table(title=title, title_justify="left")
        for name in ("rep", "deal (account)", "stage"):
            table.add_column(name)
        table.add_column("amount", justify="right")
        table.add_column("last selling")
        table.add_column("why", ratio=2)
        for row in report.by_rep:
            if not row.deals:
                continue
            summary = f"{row.count} of {row.open_deals}, {money(row.value)}" + not_counted_text(
                row.without_amount
            )
            for i, deal in enumerate(row.deals):
                table.add_row(
                    f"{row.rep}\n[dim]{summary}[/]" if i == 0 else "",
                    deal.name + (f"\n[dim]{deal.account}[/]" if deal.account else ""),
                    deal.stage or "not recorded",
                    "—" if deal.amount is None else money(deal.amount),
                    str(deal.last_selling_day) if deal.last_selling_day else "never",
                    "\n".join(reason_text(deal)),
                )
            table.add_section()
        out.print(table)
    clear = [r.rep for r in report.by_rep if not r.count]
    if clear and report.deals:
        out.print("Nothing stalled: " + ", ".join(sorted(clear)))
    out.print(_rules(report))


def reason_text(deal: StalledDeal) -> list[str]:
    """Each reason in words, with the numbers behind it."""
    from paceline.analytics.stalled import LONG_IN_STAGE, NO_SELLING

    words: list[str] = []
    if NO_SELLING in deal.reasons:
        never = "" if deal.last_selling_day else f" (none since created {deal.created_on})"
        words.append(f"no selling activity for {deal.idle_business_days} business days{never}")
    if LONG_IN_STAGE in deal.reasons:
        bar = deal.stage_percentile_days or 0.0
        words.append(f"{deal.days_in_stage:.1f} days in {deal.stage} (usual: at most {bar:.1f})")
    return words


def _rules(report: StalledReport) -> str:
    known = [
        f"{n.label} {n.days:.1f} d ({n.samples} stays)" for n in report.stages if n.days is not None
    ]
    few = [n.label for n in report.stages if n.days is None]
    text = (
        f"Rules: no selling activity (an Ask) for {report.business_days}+ business days; or "
        f"longer in the stage than {report.stage_percentile:.0%} of the team's finished stays"
    )
    if known:
        text += ": " + ", ".join(known)
    if few:
        text += f". Too few stays (under {report.min_stage_samples}) to judge: " + ", ".join(few)
    return text + "."


def _who(team: str | None, rep: str | None) -> str:
    if rep:
        return rep
    return f"team {team}" if team else "everyone"


# --- flow -----------------------------------------------------------------------------------


def print_flow(report: FlowReport) -> None:
    from paceline.analytics.flow import CountValue
    from paceline.describe import entered_late_text, prospects_cell

    title = (
        f"Pipeline flow — {_who(report.team, report.rep)}, {report.window.label} "
        f"({report.window.spec}), by ISO week"
    )
    table = new_table(title=title, title_justify="left")
    table.add_column("week")
    table.add_column("prospects in", justify="right")
    table.add_column("opps in", justify="right")
    table.add_column("won", justify="right")
    for stage in report.lost_stages:
        table.add_column(stage.replace("_", " "), justify="right")
    for name in ("net", "open at end", "coverage"):
        table.add_column(name, justify="right")
    for week in report.weeks:
        table.add_row(
            _week_label(week),
            prospects_cell(week.prospects_in, week.asks_not_recorded),
            _count_value(week.created),
            unrecorded_cell(report.wins_recorded) or _count_value(week.won),
            *(_count_value(week.lost[stage]) for stage in report.lost_stages),
            _net(week.net),
            _count_value(week.open_pipeline),
            _coverage(week),
        )
    table.add_section()
    table.add_row(
        "total",
        prospects_cell(report.prospects_in, report.asks_not_recorded),
        _count_value(report.created),
        unrecorded_cell(report.wins_recorded) or _count_value(report.won),
        *(
            _count_value(sum((w.lost[s] for w in report.weeks), CountValue()))
            for s in report.lost_stages
        ),
        _net(report.net),
        "",
        "",
    )
    out.print(table)
    out.print(
        "Counts with values (count / value); a value adds the known amounts only. Net ="
        " opportunities in - won - lost. Coverage ="
        " open pipeline value / the quarter's revenue target still to win"
        + (f" ({report.revenue_metric})" if report.revenue_metric else " (no revenue metric)")
        + "; blank without a target or once it is met."
    )
    if report.net is None:
        out.print(NET_UNMEASURED_TEXT)
    if report.entered_late.count:
        out.print(entered_late_text(report))
    last = report.weeks[-1] if report.weeks else None
    if last is not None and (last.untargeted_won or last.untargeted_open):
        out.print(
            f"[yellow]The quarter's target covers {last.target_reps} rep(s)[/]: only their "
            f"revenue and pipeline are read against it. Without a target: "
            f"{money(last.untargeted_won)} won and {money(last.untargeted_open)} open."
        )


def _week_label(week: FlowWeek) -> str:
    last = week.end - dt.timedelta(days=1)
    return f"{week.label} ({week.start:%b %d} to {last:%b %d})"


def _count_value(amount: CountValue) -> str:
    if not amount.count:
        return "0"
    return f"{amount.count} / {money(amount.value)}{not_counted_text(amount.without_amount)}"


def _net(amount: CountValue | None) -> str:
    """The net change, and the deals (in or out) its value leaves out for want of an amount:
    "+0 / -8,000" alone read as a week where nothing came in when a deal of unknown amount did.
    None (wins not recorded): "not measurable", never in minus lost."""
    if amount is None:
        return NET_UNMEASURED_CELL
    style = "green" if amount.value > 0 else ("red" if amount.value < 0 else "")
    text = f"{amount.count:+d} / {money(amount.value)}"
    return (f"[{style}]{text}[/]" if style else text) + not_counted_text(amount.without_amount)


def _coverage(week: FlowWeek) -> str:
    cover = week.coverage
    if cover is None:
        return ""
    # Below 1x the open pipeline cannot reach the target even if every deal closes.
    return f"[red]{cover:.1f}x[/]" if cover < 1 else f"{cover:.1f}x"


analysis_command(
    "flow",
    "paceline.analytics.flow:pipeline_flow",
    print_flow,
    "Per week: prospects and opportunities in, won and lost out, net change, open pipeline "
    "and its coverage of the quarter's remaining revenue target.",
)
