"""`paceline funnel`: each funnel step for a rep (or team) beside their peers, and the gap.

The table shows counts, step conversions and the median days between steps; the sentence
under it names the step where the subject falls furthest below the peers, with the p-value,
or says the sample is too small to tell. No arithmetic here beyond formatting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paceline.cli import out
from paceline.cli.diagnosis_options import analysis_command
from paceline.terminal import new_table

if TYPE_CHECKING:  # the analysis loads when the command runs (analysis_command)
    from paceline.analytics.funnel import Funnel, FunnelStep

DASH = "\u2013"  # a number that does not exist (nothing to divide, no account)
VERDICT_STYLE = {"weak": "bold red", "too_few": "yellow", "none": "green"}
VERDICT_TEXT = {"weak": "weak", "too_few": "too few", "none": "fine"}


def print_funnel(result: Funnel) -> None:
    compared = bool(result.compared_with)
    out.print(_title(result), highlight=False)
    table = new_table(title_justify="left")
    table.add_column("step")
    table.add_column(_who(result), justify="right")
    table.add_column("conversion", justify="right")
    if compared:
        table.add_column("peers", justify="right")
        table.add_column("peers' conversion", justify="right")
    table.add_column("median days", justify="right")
    if compared:
        table.add_column("peers' median days", justify="right")
        table.add_column("gap", no_wrap=True)
    for step in result.steps:
        cells = [step.label, _step_count(step), _conversion(step)]
        if compared:
            cells += [_step_count(step, peers=True), _conversion(step, peers=True)]
        cells.append(_days(step.median_days, step.median_accounts))
        if compared:
            cells += [_days(step.peer_median_days, step.peer_median_accounts), _gap(step)]
        table.add_row(*cells)
    out.print(table)
    from paceline.describe import note_lines

    for line in note_lines(result):
        out.print(line, highlight=False)
    out.print(gap_sentence(result), highlight=False)


def _step_count(step: FunnelStep, *, peers: bool = False) -> str:
    from paceline.describe import count_cell

    cell = count_cell(step, peers=peers)
    if cell is not None:
        return cell
    return _count(step.peer_count if peers else step.count)


def _conversion(step: FunnelStep, *, peers: bool = False) -> str:
    from paceline.describe import note_cell

    cell = note_cell(step, peers=peers)
    if cell is not None:
        return cell
    return _percent(step.peer_conversion if peers else step.conversion)


def _title(result: Funnel) -> str:
    window = f"{result.window.label} ({result.window.days} days)"
    if result.subject_kind == "everyone":
        return f"Funnel of all {len(result.reps)} selling reps, {window}"
    who = result.subject if result.subject_kind == "rep" else f"team {result.subject}"
    peers = len(result.compared_with)
    basis = f"{peers} peer{'s' if peers != 1 else ''}" if peers else "no peers to compare with"
    return f"Funnel of {who}, {window}, beside {basis}"


def _who(result: Funnel) -> str:
    return "rep" if result.subject_kind == "rep" else "count"


def gap_sentence(result: Funnel) -> str:
    """One line on the weakest step, its evidence, and any other significantly weak step."""
    if not result.compared_with:
        return "No comparison group: conversions only."
    weakest = result.weakest
    if weakest is None:
        if any(s.note or s.peer_note for s in result.steps):
            return (
                "No step could be compared with the peers (those not recorded or not"
                " measurable are left out; the others had too little activity on a side)."
            )
        return "No step could be compared with the peers (too little activity on a side)."
    text = f"{_step_name(result, weakest)}: {_vs(weakest)}"
    if weakest.verdict == "weak":
        sentence = f"Biggest gap: {text} ({_p(weakest.p_value)})."
    elif weakest.verdict == "too_few":
        before = _previous_label(result, weakest)
        sentence = (
            f"Biggest gap: {text}, but only {_count(weakest.from_count)} {before.lower()}: "
            f"too few to tell ({_p(weakest.p_value)})."
        )
    else:
        sentence = f"No step is far below the peers; the lowest is {text}."
    others = [s for s in result.weak_steps if s is not weakest]
    if others:
        listed = "; ".join(f"{_step_name(result, s)} ({_p(s.p_value)})" for s in others)
        sentence += f" Also weak, and unlikely to be chance: {listed}."
    return sentence


def _step_name(result: Funnel, step: FunnelStep) -> str:
    return f"{_previous_label(result, step)} -> {step.label}"


def _previous_label(result: Funnel, step: FunnelStep) -> str:
    before = result.step(step.previous) if step.previous else None
    return before.label if before else (step.previous or "")


def _vs(step: FunnelStep) -> str:
    return f"{_percent(step.conversion)} vs peers' {_percent(step.peer_conversion)}"


def _gap(step: FunnelStep) -> str:
    if step.verdict is None:
        return ""
    relative = "" if step.relative is None else f", {step.relative:.0%} of peers"
    return f"[{VERDICT_STYLE[step.verdict]}]{VERDICT_TEXT[step.verdict]}[/]{relative}"


def _p(value: float | None) -> str:
    """The evidence in words (the p-value itself is in the table's statistics)."""
    from paceline.describe import chance_text

    return chance_text(value)


def _count(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"


def _percent(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def _days(value: float | None, accounts: int) -> str:
    if value is None:
        return DASH
    return f"{value:.1f} ({accounts:,} acct{'s' if accounts != 1 else ''})"


analysis_command(
    "funnel",
    "paceline.analytics.funnel:funnel",
    print_funnel,
    "Each funnel step's count, conversion and days to the next, and the biggest gap.",
)
