"""CLI commands for tracking: scorecard and leaderboard (alerts: `alert_commands`).

Each prints the analysis's result object: as Rich tables for people, as JSON with --json. No
arithmetic happens here beyond formatting.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.dates import DAY_METAVAR, parse_day
from paceline.describe import (
    accrual_texts,
    amounts_text,
    board_unrecorded_text,
    card_recorded_text,
    headcount_text,
    line_amounts_text,
    measured_text,
    metric_text,
    not_counted_text,
    standing_text,
    unrecorded_texts,
)
from paceline.errors import UserInputError, did_you_mean
from paceline.terminal import new_table
from paceline.terminal import number_cell as _number

if TYPE_CHECKING:  # the analyses (SciPy) load when a command runs
    from paceline.analytics.leaderboard import Leaderboard, LeaderboardRow
    from paceline.analytics.pacing import Status
    from paceline.analytics.scorecard import MetricLine, Scorecard, TeamScorecard
    from paceline.calendar import PeriodKind

STATUS_STYLE: dict[Status, str] = {
    "ahead": "bold green",
    "on_pace": "green",
    "behind": "bold red",
    "unclear": "yellow",
    "no_target": "dim",
    "not_recorded": "dim",
}
STATUS_TEXT: dict[Status, str] = {
    "ahead": "ahead",
    "on_pace": "on pace",
    "behind": "behind",
    "unclear": "too few to tell",
    "no_target": "no target",
    "not_recorded": "not recorded",
}
AS_OF_OPTION = typer.Option(
    None,
    "--as-of",
    parser=parse_day,
    metavar=DAY_METAVAR,
    help="Evaluate as of this day (default: today).",
)


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _period(value: str, allowed: tuple[str, ...]) -> PeriodKind:
    if value not in allowed:
        hint = did_you_mean(value, allowed)
        raise UserInputError(f"--period: must be {', '.join(allowed)}, not {value!r}{hint}")
    return cast("PeriodKind", value)


@app.command()
@handles_errors
def scorecard(
    ctx: typer.Context,
    rep: str | None = typer.Option(None, "--rep", "-r", help="The rep's name."),
    team: str | None = typer.Option(
        None, "--team", "-t", help="Every rep of a team, and its total."
    ),
    everyone: bool = typer.Option(False, "--all", help="Every rep, and the total."),
    period: str = typer.Option("month", "--period", "-p", help="week, month, quarter or year."),
    as_of: dt.datetime | None = AS_OF_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Each key metric against target: expected-to-date, pace, projection, run rate needed."""
    from paceline.analytics.scorecard import rep_scorecard, team_scorecards
    from paceline.calendar import BusinessCalendar
    from paceline.serialize import dumps

    if (rep is not None) + (team is not None) + everyone != 1:
        raise UserInputError("give exactly one of --rep NAME, --team NAME or --all")
    c = _ctx(ctx)
    kind = _period(period, ("week", "month", "quarter", "year"))
    if rep is not None:
        day = _day(as_of) or BusinessCalendar(c.settings.calendar).today()
        card = rep_scorecard(c.reader(), c.settings, rep, kind, day)
        out.print_json(dumps(card)) if as_json else _print_scorecard(card)
        return
    result = team_scorecards(c.reader(), c.settings, kind, _day(as_of), team)
    out.print_json(dumps(result)) if as_json else _print_team(result)


def _print_scorecard(card: Scorecard) -> None:
    title = (
        f"{card.rep} ({card.role}{', ' + card.team if card.team else ''}): "
        f"{card.period.kind} {card.period.label} as of {card.as_of}, business day "
        f"{card.business_days_elapsed} of {card.business_days_total} "
        f"({card.business_days_remaining} left)"
    )
    table = new_table(title=title, title_justify="left")
    table.add_column("metric")
    for name in ("actual", "target", "expected", "pace", "projected", "needed/day"):
        table.add_column(name, justify="right")
    table.add_column("status")
    for line in card.lines:
        table.add_row(line.label, *_pace_cells(line))
    out.print(table)
    for text in unrecorded_texts(card.lines, card.as_of):
        out.print(text)
    for text in accrual_texts(card.lines, card.period.kind):
        out.print(text)
    recorded = card_recorded_text(card)
    if recorded:
        out.print(recorded)
    elif card.measured_from > card.period.start:
        out.print(f"joined {card.measured_from}: target and expectations are pro rata")
    if _left_in_period(card):
        out.print(
            f"{_left_word(card)} {card.end_date}: target and expectations are pro rata to the"
            " last day; no alerts after it"
        )
    if not card.lines:
        out.print(f"the {card.role} role has no key metrics to pace")


def _print_team(result: TeamScorecard) -> None:
    who = f"team {result.team}" if result.team else "all reps"
    title = (
        f"{who}: {result.period.kind} {result.period.label} as of {result.as_of}, "
        f"business day {result.business_days_elapsed} of {result.business_days_total}, "
        f"{headcount_text(result)}"
    )
    table = new_table(title=title, title_justify="left")
    for name in ("rep", "role", "metric"):
        table.add_column(name)
    for name in ("actual", "target", "expected", "pace", "projected", "needed/day"):
        table.add_column(name, justify="right")
    table.add_column("status")
    for card in result.reps:
        for i, line in enumerate(card.lines):
            first = i == 0
            table.add_row(
                _rep_cell(card) if first else "",
                card.role if first else "",
                line.label,
                *_pace_cells(line),
            )
        table.add_section()
    for i, line in enumerate(result.total):
        table.add_row("total" if i == 0 else "", "", line.label, *_pace_cells(line))
    out.print(table)
    every = [*result.total, *(line for card in result.reps for line in card.lines)]
    for text in unrecorded_texts(every, result.as_of):
        out.print(text)
    for text in accrual_texts(every, result.period.kind):
        out.print(text)
    for recorded in dict.fromkeys(card_recorded_text(card) for card in result.reps):
        if recorded:
            out.print(recorded)
    if not result.reps:
        out.print("no reps with key metrics in this period")


def _left_in_period(card: Scorecard) -> bool:
    """Whether the rep's last day falls in the period (their card ends there; the web pages
    say "left" by the same rule)."""
    return card.end_date is not None and card.end_date < card.period.end


def _left_word(card: Scorecard) -> str:
    """ "left" once the last day is past, "leaves" up to it (a departure already set)."""
    return "left" if card.left else "leaves"


def _rep_cell(card: Scorecard) -> str:
    """The rep's name, with "left <date>" when they left during the period ("leaves <date>"
    while the last day is still ahead)."""
    if not _left_in_period(card):
        return card.rep
    return f"{card.rep}\n{_left_word(card)} {card.end_date}"


def _note_cell(note: str) -> str:
    """Under a figure, what it left out for want of an amount (`describe.amounts_text`), in
    the words of every face (on its own line: the column stays narrow)."""
    return f"\n[yellow]{note.strip()}[/]" if note else ""


def _pace_cells(line: MetricLine) -> list[str]:
    p = line.pace

    def fmt(value: float | None) -> str:
        return metric_text(value, line.unit)

    if not line.recorded:  # nobody's 0 of it is a shortfall: no figure, expectation or need
        unrecorded = STATUS_TEXT["not_recorded"]  # with a target or without: not recorded
        return [measured_text(None, line.unit), fmt(p.target), "", "", "", "", unrecorded]
    return [
        measured_text(p.actual, line.unit) + _note_cell(line_amounts_text(line)),
        fmt(p.target),
        fmt(p.expected_to_date),
        "" if p.pace is None else f"{p.pace:.0%}",
        fmt(p.projected),
        "" if p.needed_per_day is None else f"{p.needed_per_day:,.1f}",
        f"[{STATUS_STYLE[p.status]}]{STATUS_TEXT[p.status]}[/]",
    ]


@app.command("leaderboard")
@handles_errors
def leaderboard_command(
    ctx: typer.Context,
    metric: str = typer.Argument(..., help="The metric to rank on, e.g. conversations."),
    period: str | None = typer.Option(
        None,
        "--period",
        "-p",
        help="day, week, month, quarter or year (default: leaderboard.period, month).",
    ),
    team: str | None = typer.Option(None, "--team", "-t", help="Only this team."),
    role: str | None = typer.Option(
        None, "--role", help="Only this role; 'all': every role ranked together."
    ),
    by: str = typer.Option(
        "count", "--by", help="Rank on count, target (% of own target) or improved."
    ),
    as_of: dt.datetime | None = AS_OF_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Stack ranking on one metric, each role on its own board, with each rep's move."""
    from paceline.analytics.leaderboard import LEADERBOARD_PERIODS, RANK_BY, leaderboard
    from paceline.serialize import dumps

    c = _ctx(ctx)
    kind = _period(period, LEADERBOARD_PERIODS) if period is not None else None
    if by not in RANK_BY:
        raise UserInputError(f"--by: must be {', '.join(RANK_BY)}, not {by!r}")
    board = leaderboard(c.reader(), c.settings, metric, kind, _day(as_of), team, role, by)
    out.print_json(dumps(board)) if as_json else _print_leaderboard(board)


BY_TEXT = {"count": "", "target": " by % of own target", "improved": " by most improved"}


def _print_leaderboard(board: Leaderboard) -> None:
    scope = f" — team {board.team}" if board.team else ""
    versus = (
        f"against {board.comparable_start} to {board.comparable_end - dt.timedelta(days=1)}"
        if board.comparable_start and board.comparable_end
        else f"change against {board.previous_period.label}"
    )
    for group in board.groups:
        title = (
            f"{board.label}{BY_TEXT[board.by]}: {board.period.kind} {board.period.label} "
            f"to {board.as_of}{scope} — {_group_title(group)} ({versus})"
        )
        _print_group(board, board.group_rows(group), title)
    if not board.groups:
        out.print(f"{board.label}: nobody to rank{scope}")
        return
    table = new_table(show_header=False, box=None)
    total = measured_text(board.total, board.unit) + _note_cell(
        amounts_text(board.amounts_unknown, board.average_of, board.total_denominator)
    )
    table.add_row("total", total)
    out.print(table)
    if not board.recorded:
        out.print(board_unrecorded_text(board))
    if board.is_ratio and any(r.standing == "low_volume" for r in board.rows):
        out.print(f"unranked: fewer than {board.min_volume} in the denominator this period")


def _group_title(group: str) -> str:
    return "every role together" if group == "all" else f"role {group}"


def _print_group(board: Leaderboard, rows: list[LeaderboardRow], title: str) -> None:
    table = new_table(title=title, title_justify="left")
    table.add_column("rank", justify="right")
    table.add_column("rep")
    table.add_column("team")
    table.add_column(board.label, justify="right")
    if board.is_ratio:
        table.add_column("of", justify="right")
    table.add_column("to date", justify="right")
    table.add_column("of target", justify="right")
    if board.by == "improved":
        table.add_column("then", justify="right")
        table.add_column("change", justify="right")
    else:
        table.add_column("last period", justify="right")
        table.add_column("move", justify="right")
    for row in rows:
        rank = str(row.rank) if row.rank else "-"
        value = measured_text(row.value, board.unit) + _note_cell(
            amounts_text(row.amounts_unknown, board.average_of, row.denominator)
        )
        cells = [rank, row.rep, row.team or "", value]
        if board.is_ratio:
            cells.append(_number(row.denominator))
        cells.append(metric_text(row.target_to_date, board.unit))
        cells.append("" if row.of_target is None else f"{row.of_target:.0%}")
        if board.by == "improved":
            then = _then_note(board, row)
            cells.append(metric_text(row.comparable_value, board.unit) + _note_cell(then))
            change = standing_text(row.standing) if row.change is None else f"{row.change:+.0%}"
            cells.append(change)
        else:
            previous = f"#{row.previous_rank}" if row.previous_rank else "-"
            cells += [previous, _move(row.rank_change) or standing_text(row.standing)]
        table.add_row(*cells)
    out.print(table)


def _then_note(board: Leaderboard, row: LeaderboardRow) -> str:
    """What the comparable stretch's sum left out, under its figure: the reason its 0 is not
    "nothing" (an average's stretch is read on its known part, its count not on the row)."""
    return "" if board.average_of else not_counted_text(row.comparable_amounts_unknown)


def _move(change: int | None) -> str:
    if change is None:
        return ""
    if change > 0:
        return f"[green]▲{change}[/]"
    if change < 0:
        return f"[red]▼{-change}[/]"
    return "="
