"""Plain-language sentences for diagnosis results, shared by the CLI, the web pages and the
reports.

Analyses return numbers; a manager reads sentences. Writing them once here keeps the terminal,
the browser and the reports saying the same thing in the same words. A finding says what a
sales manager would say ("very unlikely to be chance", labels from the configuration); the
statistics behind it (p-values, the test, the counts) are worded separately (`finding_stats`,
`evidence_stats`), so each face can keep them one click away (a "How we know" disclosure on
the web, `--stats` or `--json` on the CLI) instead of in the sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the hints only: the faces import these words without the analyses
    import datetime as dt

    from paceline.analytics.alerts import Alert
    from paceline.analytics.coaching import RuleCheck
    from paceline.analytics.diagnose import Finding, RepDiagnosis
    from paceline.analytics.equation import RepEquation
    from paceline.analytics.flow import FlowReport
    from paceline.analytics.forecast import DealChance, Forecast
    from paceline.analytics.funnel import Funnel, FunnelStep
    from paceline.analytics.leaderboard import Leaderboard
    from paceline.analytics.report import MetricChange
    from paceline.analytics.scorecard import MetricLine, RepDay, Scorecard, TeamScorecard
    from paceline.analytics.stalled import RepStalled
    from paceline.analytics.tipping import TippingPoint
    from paceline.config import Settings
    from paceline.store.loads import Completed

FLAG_TEXT = {
    "low_selling_time": "Busy, not productive: too little of the logged time is selling",
    "high_volume_low_engagement": "High volume, low engagement: many touches, few prospects act",
}
FACTOR_TEXT = {
    "prospects": "prospects worked",
    "activities_per_prospect": "selling activities per prospect",
    "wins_per_activity": "wins per selling activity",
    "revenue_per_win": "revenue per win",
}
FLAG_UNKNOWN_TEXT = {
    "low_selling_time": "fewer than two days with logged minutes: no selling share to read",
    "high_volume_low_engagement": "no engagement recorded to set against the peers'",
}
RULE_STATUS_TEXT = {
    "hint": "fires",
    "not_weak": "checked: not weak",
    "too_few": "looks low, but too few to tell",
    "no_flag": "checked: not flagged",
    "flag_unknown": "not measurable: the data records too little to tell",
    "no_data": "nothing to compare in this window",
    "not_measurable": "not measurable: a step not recorded, or outnumbering the step before",
    "not_for_role": "not for this role",
}
MISSING_TEXT = {
    "activities": "No activities logged in this window: prospects and selling activity are"
    " unknown, not zero",
    "accounts": "The selling activities in this window name no account: prospects are unknown,"
    " not zero",
    "asks": "No Ask is recorded on the kinds of selling activity logged in this window:"
    " prospects and selling activity are unknown, not zero",
}
ALERT_TEXT = {
    "behind_pace": "Behind pace",
    "no_selling": "No selling activity",
    "zero_key_metric": "Still at zero",
}


def rate(value: float | None) -> str:
    """A conversion: a percentage up to 100%, "2.4 per" above (meetings held per set)."""
    if value is None:
        return "—"
    if value > 1:
        return f"{value:.2f} per"
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) < 1:
        return f"{value:.2g}"
    return f"{value:,.2f}"


def days_text(value: float | None) -> str:
    """A median of days, to a tenth as the funnel shows it everywhere (22.1, 32.0, 0.0)."""
    return "—" if value is None else f"{value:,.1f}"


def metric_text(value: float | None, unit: str | None, *, compact: bool = False) -> str:
    """A metric's figure in its unit: 17.0%, 2,866 (money), 2.40 (a plain ratio), 45 min.

    `compact` is the pages' and reports' form, where a figure shares a cell with a bar or a
    badge: whole percents (17%) and money in thousands and millions (28.7k, 1.25M). Both forms
    live here so a figure never reads one way in the terminal and another on a page by
    accident of two formatters."""
    if value is None:
        return ""
    if unit == "percent":
        return f"{value:.0%}" if compact else f"{value:.1%}"
    if unit == "currency":
        return money_text(value) if compact else f"{value:,.0f}"
    if unit == "ratio":
        return f"{value:,.2f}"
    if unit == "days":
        return f"{value:,.1f} d"
    amount = count_text(value)
    return f"{amount} min" if unit == "minutes" else amount


def count_text(value: float) -> str:
    """A count or an average of counts: whole when large or whole, else one decimal."""
    whole = abs(value) >= 100 or float(value).is_integer()
    return f"{value:,.0f}" if whole else f"{value:,.1f}"


def money_text(value: float) -> str:
    """Money at a glance: 2,866; 28.7k; 1.25M (exact amounts: `metric_text`)."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:,.2f}M".replace(".00M", "M")
    if size >= 1e4:
        return f"{value / 1e3:,.1f}k".replace(".0k", "k")
    return f"{value:,.0f}"


NO_DATA = "-"  # a measured figure that does not exist: a ratio with nothing to divide by


def measured_text(value: float | None, unit: str) -> str:
    """A measured figure (an actual, a leaderboard value) in its unit, a dash when there is
    none: unlike a blank (no target asked for), the dash says "nothing to measure", and
    unlike 0% it is not a number nobody measured."""
    return NO_DATA if value is None else metric_text(value, unit)


def not_counted_text(count: int) -> str:
    """What a sum of amounts left out for want of an amount, to follow the figure: " (2
    without an amount, not in the sum)"; empty when nothing was. The sum is of the known
    amounts: saying so keeps it honest, and saying it in these words on every face (terminal
    tables, pages, chart hovers, reports) lets a reader comparing two of them see one fact,
    where the terminal's "(2 deals without an amount)" beside the page's words read as two.
    In a flow cell it keeps "+0 / -8,000" from reading as a week where nothing came in when
    a deal of unknown amount did."""
    return f" ({count:,} without an amount, not in the sum)" if count else ""


def not_counted_short(count: int) -> str:
    """The same fact where a figure is printed big and its note must stay small (the TV
    board, a chart's value label): "+2 without amount"; empty when nothing was left out. A
    partial total shown alone reads as whole."""
    return f"+{count:,} without amount" if count else ""


def known_part_text(known: float | None, left_out: int, of: str = "win") -> str:
    """What an average over the deals with an amount rests on, to follow the figure: " (per
    win with an amount: 3 of 4)"; empty when no deal was left out. Unlike a sum, such an
    average is an honest estimate over the known part when it says so (revenue per win is
    not lowered by the wins whose amount is unknown, as a sum is), so it is ranked and
    compared; the count says how much of the whole it reads."""
    if not left_out:
        return ""
    counted = round(known or 0)
    return f" (per {of} with an amount: {counted:,} of {counted + left_out:,})"


def known_part_short(known: float | None, left_out: int, of: str = "win") -> str:
    """The same where the note must stay small (the TV board, a chart's value label): "3 of
    4 wins with amount"; empty when no deal was left out."""
    if not left_out:
        return ""
    counted = round(known or 0)
    return f"{counted:,} of {counted + left_out:,} {of}s with amount"


def amounts_text(left_out: int, average_of: str | None = None, known: float | None = None) -> str:
    """The note after a figure that left deals out for want of an amount, chosen by what the
    figure is: an average over the deals with an amount (`average_of` "win" or "deal", over
    `known` of them) says what it rests on (`known_part_text`), a sum what it left out
    (`not_counted_text`). One choice for every face, so a page and the terminal never word
    the same figure two ways."""
    if average_of:
        return known_part_text(known, left_out, average_of)
    return not_counted_text(left_out)


def amounts_short(left_out: int, average_of: str | None = None, known: float | None = None) -> str:
    """`amounts_text` in the small words (`known_part_short`, `not_counted_short`)."""
    if average_of:
        return known_part_short(known, left_out, average_of)
    return not_counted_short(left_out)


def line_amounts_text(line: MetricLine) -> str:
    """`amounts_text` after a scorecard line's figure: a sum's deals left out, or what an
    average over the deals with an amount rests on."""
    return amounts_text(line.amounts_unknown, line.average_of, line.known)


def change_amounts_text(change: MetricChange, *, previous: bool = False) -> str:
    """`amounts_text` after one week's figure of a week-over-week change (`previous`: last
    week's)."""
    if previous:
        return amounts_text(
            change.previous_amounts_unknown, change.average_of, change.previous_known
        )
    return amounts_text(change.amounts_unknown, change.average_of, change.known)


def change_amounts_short(change: MetricChange, *, previous: bool = False) -> str:
    """`change_amounts_text` in the small words, for a chart's value label."""
    if previous:
        return amounts_short(
            change.previous_amounts_unknown, change.average_of, change.previous_known
        )
    return amounts_short(change.amounts_unknown, change.average_of, change.known)


# A week-over-week change where either week's sum left deals out for want of an amount:
# an unknown amount can be of any size, so the two partial sums are not subtracted (an
# average over the deals with an amount is: `known_part_text`).
NOT_COMPARABLE_TEXT = "not comparable"

# Why a leaderboard row is not ranked (`LeaderboardRow.standing`), in one wording for the
# terminal, the page, the TV board's foot and the API's readers: the terminal's "amounts
# missing" beside the page's "deals without an amount: not ranked" read as two reasons.
STANDING_TEXT = {
    "ranked": "",
    "low_volume": "too little volume to rank",
    "no_target": "no target",
    "no_history": "nothing in the comparable days",
    "amounts_unknown": "deals without an amount, not ranked",
    "no_value": "no data",
    "not_recorded": "not recorded",
}


def standing_text(standing: str) -> str:
    """Why a leaderboard row is not ranked, in words ("" when it is)."""
    return STANDING_TEXT.get(standing, standing.replace("_", " "))


# A week-over-week figure that did not move: said once, not as a signed zero with a signed
# zero share ("±0 (+0%)"), on every face of the report (text, HTML, PDF).
NO_CHANGE_TEXT = "no change"


def tipping_unknown_text(count: int) -> str:
    """The deals the tipping point's weekly sums of amounts left out, said once for the
    terminal and the page: "3 deals in these rep-weeks have no amount: the weekly sums count
    known amounts only"; empty when none were."""
    if not count:
        return ""
    deals, have = ("deals", "have") if count != 1 else ("deal", "has")
    return (
        f"{count:,} {deals} in these rep-weeks {have} no amount:"
        " the weekly sums count known amounts only"
    )


def departure_text(last_day: dt.date, as_of: dt.date) -> str:
    """A rep's departure as of a day: "left 2026-11-11" once the last day is past, "leaves
    2026-11-20" up to it (on it the rep is still there), as on the scorecards."""
    return f"{'left' if last_day < as_of else 'leaves'} {last_day.isoformat()}"


def history_text(forecast: Forecast) -> str:
    """What the forecast's curves learnt from, and the wins they could not: a win entered in
    the CRM after it closed has no known sales cycle, so a reader told "learnt from 40 deals"
    must also be told when 12 more wins were set aside (nothing said so when only some were),
    and when deals closed without a close date were left out of the curves and the deals
    created alike (`late_entry`).
    """
    f = forecast
    text = (
        f"Learnt from {f.history_deals:,} deals watched since {f.history_start} "
        f"({f.history_wins:,} won)"
    )
    late = f.wins_without_cycle
    if late:
        text += (
            f"; {late:,} win{'s' if late != 1 else ''} entered after "
            f"{'they' if late != 1 else 'it'} closed {'have' if late != 1 else 'has'} no "
            f"known cycle and {'are' if late != 1 else 'is'} not in the curves"
        )
    undated = f.closed_without_date
    if undated:
        text += (
            f"; {undated:,} deal{'s' if undated != 1 else ''} closed without a close date "
            f"{'are' if undated != 1 else 'is'} in no curve and not counted as created"
        )
    return (
        text
        + measured_zero_text(f.none_won_of)
        + deals_measured_zero_text(f.open_deals)
        + prior_deals_text(f.open_deals)
        + sizes_text(f.new_deals.sizes_from)
        + "."
    )


PRIOR_MARK = "*"  # beside a chance read from the prior, in the terminal's and the page's table
PRIOR_LEGEND = (
    f"{PRIOR_MARK} read from the prior: no deal of the history open as long closed in time,"
    " so its chance is the scope's share of closes won times its chance of closing, not a"
    " measurement of deals like it"
)


def prior_deals_text(deals: Sequence[DealChance]) -> str:
    """The open deals whose chance is the scope's prior, to follow the "Learnt from" line: a
    reader shown 9% for a deal staler than any of the history must be told no deal as stale
    was seen to close (`forecast._from_prior`), where it read 0% as if certain to be lost;
    empty when none is."""
    read = [d for d in deals if d.from_prior]
    if not read:
        return ""
    many = len(read) != 1
    shares = sorted({round(1 / d.zero_share) for d in read if d.zero_share > 0})
    won = (
        f", won 1 time in {shares[0]:,} of {'their' if many else 'its'} closes"
        if len(shares) == 1
        else ""
    )
    return (
        f"; {len(read):,} open deal{'s' if many else ''} ({PRIOR_MARK}) read from the prior:"
        f" no deal of the history open as long closed in time, so {'each' if many else 'it'}"
        f" is read at the scope's share{won}, closing as the scope's stays do from their start"
    )


def sizes_source_text(sizes_from: str | None) -> str:
    """Whose sizes an open deal without an amount is valued from, in words."""
    if sizes_from == "lost_and_open":
        return "the scope's lost and open deals (no win has an amount)"
    return "the deals won"


def sizes_text(sizes_from: str | None) -> str:
    """Where a won deal's size comes from when no win of the history has an amount (a scope
    whose deals were all lost): said on every face, since its new deals' revenue rests on
    it; empty when the won amounts stand (`forecast.deal_sizes`)."""
    if sizes_from != "lost_and_open":
        return ""
    return (
        "; no win of the history has an amount, so a deal won is valued at the sizes of the"
        " scope's lost and open deals (what they would have been worth won)"
    )


def deals_measured_zero_text(deals: Sequence[DealChance]) -> str:
    """How open deals whose own comparison set closed only as losses are read, to follow the
    "Learnt from" line: a reader shown 17% for a deal that stale, where every deal as stale
    was lost, must be told it is the posterior of those few closes (the rest of the scope's
    share as its prior, `rate_uncertainty.stale_posterior_losses`), not a win the history
    saw; empty when no deal is read so."""
    stale = [d for d in deals if d.none_won_of]
    if not stale:
        return ""
    counts = sorted({d.none_won_of for d in stale})
    times = sorted({round(1 / d.zero_share) for d in stale})
    read = len(stale)
    low, high = counts[0], counts[-1]
    closes = f"{low:,}" if low == high else f"{low:,} to {high:,}"
    ones = f"{times[0]:,}" if len(times) == 1 else f"{times[0]:,} to {times[-1]:,}"
    return (
        f"; for {read:,} open deal{'s' if read != 1 else ''}, none of the {closes}"
        f" close{'s' if high != 1 else ''} of deals open as long was won: closing in time,"
        f" {'each is' if read != 1 else 'it is'} won 1 time in {ones} (the share's posterior"
        " mean, the scope's other closes its prior), each run drawing its own"
    )


def measured_zero_text(closes: int) -> str:
    """How a measured 0 is read, to follow "(0 won)": a reader shown chances above 0 beside no
    win must be told where they come from (the share's Jeffreys posterior, whose mean for 0
    wins of n is 1 / (2n + 2)); empty when some close was won."""
    if not closes:
        return ""
    return (
        f"; with none of {closes:,} close{'s' if closes != 1 else ''} won, a deal closing in"
        f" time is won 1 time in {2 * closes + 2:,} (the share's posterior mean), each run"
        " drawing its own"
    )


def entered_late_text(report: FlowReport) -> str:
    """The deals the flow leaves out as entered after they closed, to follow its table: a
    reader comparing the week's wins with the CRM's must be told where the others went;
    empty when there are none."""
    late = report.entered_late
    if not late.count:
        return ""
    many = late.count != 1
    value = f" ({money_text(late.value)})" if late.value else ""
    return (
        f"{late.count:,} deal{'s' if many else ''} closed in these weeks{value} "
        f"{'were' if many else 'was'} entered in the CRM a day or more after closing: never "
        "open pipeline as recorded, so neither in nor out (a win is still revenue won)."
    )


def p_text(p: float | None) -> str:
    """A p-value for the statistics view: 0.012, 4.3e-47 (never in a finding's sentence)."""
    if p is None:
        return ""
    return f"p = {p:.1e}" if p < 0.001 else f"p = {p:.3f}"


def chance_text(p: float | None) -> str:
    """How likely a gap is to be luck, as a manager says it (the p-value is `p_text`).

    The thresholds follow the analyses' own: a weak step or an alert needs under 1%, so
    "very unlikely to be chance" is what a finding usually says; above 10% the gap is
    something the rep's numbers could show by luck alone."""
    if p is None:
        return "nothing to test"
    if p < 0.001:
        return "very unlikely to be chance"
    if p < 0.01:
        return "unlikely to be chance"
    if p < 0.1:
        return "could be chance"
    return "quite possibly chance"


COMPARISON_TEST = (
    "exact conditional test of two Poisson rates: the chance of a rate this low if the rep"
    " converted at the peers' rate"
)


def kind_label(settings: Settings, name: str) -> str:
    """An activity kind as the configuration labels it ("order_chasing" reads "Chasing orders
    or invoices"); an unknown name with its underscores as spaces."""
    kind = next((k for k in settings.kinds if k.name == name), None)
    return kind.label if kind is not None and kind.label else name.replace("_", " ")


def outcome_label(settings: Settings, name: str) -> str:
    """An outcome as the configuration labels it ("meeting_set" reads "Meeting set")."""
    outcome = next((o for o in settings.outcomes if o.name == name), None)
    return outcome.label if outcome is not None and outcome.label else name.replace("_", " ")


def factor_label(name: str) -> str:
    """A factor of the revenue equation in words."""
    return FACTOR_TEXT.get(name, name.replace("_", " "))


def flag_label(name: str) -> str:
    """A busy-versus-productive flag in words."""
    return FLAG_TEXT.get(name, name.replace("_", " ")).split(":")[0]


def rule_status_text(status: str) -> str:
    """A coaching rule's verdict in words."""
    return RULE_STATUS_TEXT.get(status, status.replace("_", " "))


def metric_label(settings: Settings, name: str) -> str:
    try:
        metric = settings.metric(name)
    except KeyError:
        return name.replace("_", " ")
    return (metric.label or name).lower()


NOTE_CELL = {
    "not_recorded": "not recorded",
    "after_unrecorded": "not measurable",
    "exceeds_previous": "not measurable",
    "under_recorded": "not measurable",
    "handed_over": "handed over",
}


# The pipeline flow's net change when the data records no won deal (`FlowReport.net` is
# None): in minus out with the wins "out" a 0 nobody measured read as a known change, so
# every face shows this cell instead, and says why under its table.
NET_UNMEASURED_CELL = NOTE_CELL["after_unrecorded"]
NET_UNMEASURED_TEXT = (
    "Net change: not measurable. The data records no won deal, so what went out of the"
    " pipeline is unknown: opportunities in minus lost would count every deal won as one"
    " still open."
)


def note_cell(step: FunnelStep, *, peers: bool = False) -> str | None:
    """A conversion's cell when it is not a measured rate ("not recorded", "not
    measurable"), else None (show the rate)."""
    note = step.peer_note if peers else step.note
    return NOTE_CELL[note] if note else None


def count_cell(step: FunnelStep, *, peers: bool = False) -> str | None:
    """A step's count cell when the organisation records no such step: "not recorded", as
    the scorecard, the leaderboard and the reports print the same metric; else None (show
    the count). Its count is 0 only because nobody records it: printed as a count it read as
    a measured nothing beside the conversion's "not recorded" (the Salesforce, Pipedrive and
    Close samples, with no calls or meetings at all: "Calls 0 not recorded")."""
    note = step.peer_note if peers else step.note
    return unrecorded_cell(note != "not_recorded")


def unrecorded_cell(recorded: bool) -> str | None:
    """ "not recorded" for a figure the organisation's data does not record (a funnel step,
    the flow's and the forecast's wins: `step_rules.wins_recorded`), else None (show the
    figure): one wording for every face that would otherwise print a measured-looking 0."""
    return None if recorded else NOTE_CELL["not_recorded"]


def note_text(result: Funnel, step: FunnelStep, *, peers: bool = False) -> str | None:
    """Why a step's conversion is not a measured rate, in plain words (`step_rules`), or
    None when it is. The peers' side is worded with the peers' counts."""
    note = step.peer_note if peers else step.note
    if note is None:
        return None
    position = result.steps.index(step)
    before = result.steps[position - 1] if position else None
    after = result.steps[position + 1] if position + 1 < len(result.steps) else None
    label = step.label.lower()
    whose = "the peers' " if peers else ""

    def count(s: FunnelStep) -> str:
        return number(s.peer_count if peers else s.count)

    if note == "handed_over":
        return _handed_over_text(result, step)
    if note == "not_recorded":
        return (
            f"{step.label}: not recorded. Nobody in the organisation has any {label} up to"
            f" {result.window.as_of}, so the CRM does not record them: the conversion is"
            " unknown, not 0%"
        )
    assert before is not None
    pair = f"{before.label} → {step.label}"
    if note == "after_unrecorded":
        return f"{pair}: not measurable, {before.label.lower()} are not recorded"
    if note == "exceeds_previous":
        return (
            f"{pair}: not measurable, {whose}{label} ({count(step)}) outnumber"
            f" {before.label.lower()} ({count(before)}) in this period: {label} are recorded"
            f" without {before.label.lower()} recorded in it, so the ratio is not a conversion"
        )
    following = f" ({after.label.lower()}: {count(after)})" if after else ""
    return (
        f"{pair}: not measurable, {whose}{label} ({count(step)}) are fewer than the step"
        f" after them{following} in this period: not all {label} are recorded in it"
    )


def _handed_over_text(result: Funnel, step: FunnelStep) -> str:
    """Why a rep's step past their role's hand-over has no conversion: once, at the first
    such step, naming the last step the rep's role owns."""
    position = result.steps.index(step)
    if position and result.steps[position - 1].note == "handed_over":
        return ""
    last = result.steps[position - 1].label.lower() if position else "the first step"
    return (
        f"{step.label} and the steps after it: handed over. This rep's role hands over after"
        f" {last}; another role takes the prospects from there and is credited with them, so"
        " they are not this rep's conversions"
    )


def note_lines(result: Funnel) -> list[str]:
    """Why each conversion shown as "not recorded", "not measurable" or "handed over" is not
    a rate: the lines under a funnel's table, on the terminal and on the page alike."""
    lines = []
    for step in result.steps:
        text = note_text(result, step)
        peer_text = note_text(result, step, peers=True) if result.compared_with else None
        if text:
            lines.append(f"{text}.")
        if peer_text and step.peer_note != step.note:
            lines.append(f"Peers: {peer_text}.")
    return lines


def step_label(settings: Settings, step: str) -> str:
    source, _, target = step.partition("->")
    return f"{metric_label(settings, source)} → {metric_label(settings, target)}"


def step_rate(settings: Settings, step: str, value: float | None) -> str:
    """A step's conversion as a percentage, or, above 100% (AEs hold meetings SDRs did not
    set), as a count per one of the step's start in the configuration's words: "4.02
    meetings held per meeting set", never a bare "4.02 per"."""
    if value is None or value <= 1:
        return rate(value)
    source, _, target = step.partition("->")
    per = _singular(metric_label(settings, source))
    return f"{value:.2f} {metric_label(settings, target)} per {per}"


def _singular(label: str) -> str:
    """'meetings set' -> 'meeting set', 'calls' -> 'call': the head word, English plural -s."""
    head, space, rest = label.partition(" ")
    if head.endswith("s") and not head.endswith("ss"):
        head = head[:-1]
    return head + space + rest


def no_selling_text(alert: Alert) -> str:
    """The idle alert as the team page words it: how long, and since when (its metric is
    selling activity itself, so naming it again would read "no selling activity on selling
    activities")."""
    since = f" (since {alert.since.isoformat()})" if alert.since else ""
    return f"{ALERT_TEXT['no_selling']} for {alert.business_days} business days{since}"


def stage_label(settings: Settings, name: str) -> str:
    """A deal stage as the configuration labels it, else its name with spaces."""
    stage = next((st for st in settings.stages if st.name == name), None)
    return stage.label if stage is not None and stage.label else name.replace("_", " ")


def factor_value(name: str, value: float | None) -> str:
    """A factor of the revenue equation in the unit a manager reads it in: wins per selling
    activity as a percentage (0.19%, not 0.0019), revenue per win as money."""
    if value is None:
        return "—"
    if name == "wins_per_activity":
        return f"{value:.2%}" if value < 0.1 else f"{value:.0%}"
    if name == "revenue_per_win":
        return money_text(value)
    return number(value)


def finding_text(settings: Settings, diagnosis: RepDiagnosis, finding: Finding) -> str:
    """One finding as a sentence a sales manager would say; the statistics behind it are
    `finding_stats`."""
    f = finding
    if f.kind == "alert":
        alert = next(
            (a for a in diagnosis.alerts if a.rule == f.subject and a.metric == f.metric), None
        )
        if alert is not None and alert.rule == "no_selling":
            return no_selling_text(alert)
        what = ALERT_TEXT.get(f.subject, f.subject.replace("_", " ").capitalize())
        metric = f" on {alert.metric_label.lower()}" if alert and alert.metric_label else ""
        days = alert.trailing_days if alert else None
        when = f"over the last {days} business days" if days else "by now"
        numbers = f": {number(f.value)} against {number(f.reference)} expected {when}"
        return what + metric + (numbers if f.value is not None and f.reference else "")
    if f.kind == "weak_step":
        return (
            f"Weak step {step_label(settings, f.subject)}:"
            f" {step_rate(settings, f.subject, f.value)} against the peers'"
            f" {step_rate(settings, f.subject, f.reference)}, a gap {chance_text(f.p_value)}"
        )
    if f.kind == "too_few":
        source = metric_label(settings, f.subject.partition("->")[0])
        return (
            f"{_first_upper(step_label(settings, f.subject))} looks low"
            f" ({step_rate(settings, f.subject, f.value)} against the peers'"
            f" {step_rate(settings, f.subject, f.reference)}),"
            f" but {f.count or 0} {source} are too few to tell"
        )
    if f.kind == "holding_back":
        return (
            f"What holds revenue back most: {factor_label(f.subject)}"
            f" ({factor_value(f.subject, f.value)} against the peers' median"
            f" {factor_value(f.subject, f.reference)})"
        )
    if f.kind == "missing_data":
        equation = diagnosis.equation
        unknown = equation.wins_without_amount if equation else 0
        return _missing_text(f, unknown, equation.measured_from if equation else None)
    if f.kind == "zero_factor":
        factor = factor_label(f.subject)
        equation = diagnosis.equation
        revenue = equation.revenue if equation else 0.0
        if revenue > 0:  # deals won without the logged selling behind them
            since = _measured_since(equation.measured_from if equation else None)
            return (
                f"No {factor} in this window, yet {number(revenue)} won{since}: the revenue"
                " equation cannot say which factor holds the rep back"
            )
        return f"No {factor} in this window, so no revenue"
    if f.kind == "flag":
        return _flag_text(diagnosis, f.subject)
    return (
        f"{f.count} stalled deal{'s' if f.count != 1 else ''}"
        f" {_stalled_worth(diagnosis.stalled, f.value, f.reference)}"
    )


def _stalled_worth(
    stalled: RepStalled | None, value: float | None, open_value: float | None
) -> str:
    """ "worth X of Y open", each sum followed by the deals it left out for want of an amount,
    in the words every face uses (`not_counted_text`)."""
    stalled_unknown = stalled.without_amount if stalled else 0
    open_unknown = stalled.open_without_amount if stalled else 0
    return (
        f"worth {number(value)}{not_counted_text(stalled_unknown)}"
        f" of {number(open_value)} open{not_counted_text(open_unknown)}"
    )


def finding_stats(settings: Settings, diagnosis: RepDiagnosis, finding: Finding) -> str | None:
    """The statistics behind a finding ("How we know"): the counts, the test and its
    p-value, for the reader who wants them; None when the finding is a plain count."""
    f = finding
    if f.kind == "alert":
        if f.subject == "no_selling" or f.p_value is None:
            return None
        rules = settings.alerts
        limit = (
            rules.zero_key_metric.max_chance
            if f.subject == "zero_key_metric"
            else rules.behind_pace.max_chance
        )
        return (
            "Chance of a figure this low if the rep were working at target pace:"
            f" {p_text(f.p_value)}; the alert needs under p = {limit:g}."
        )
    if f.kind in ("weak_step", "too_few"):
        step = _step_of(diagnosis, f.subject)
        c = step.comparison if step is not None else None
        if c is None:
            return None
        source, _, target = f.subject.partition("->")
        counts = (
            f"{number(c.rep_to)} {metric_label(settings, target)} from {number(c.rep_from)}"
            f" {metric_label(settings, source)}, against the peers' {number(c.peer_to)} from"
            f" {number(c.peer_from)}"
        )
        return (
            f"{counts}. {_first_upper(COMPARISON_TEST)}: {p_text(c.p_value)}; a step is weak"
            f" under p = {settings.diagnose.significance:g}."
        )
    if f.kind == "holding_back" and diagnosis.equation is not None:
        e = diagnosis.equation
        parts = ", ".join(
            f"{factor_label(x.name)} {_signed_log(x.contribution)}" for x in e.factors
        )
        return (
            "Each factor's share of the gap is the natural log of the rep's factor over the"
            f" peers' median; the shares add up to the whole gap: {parts}; gap"
            f" {_signed_log(e.gap)}. The factor with the most negative share holds revenue"
            " back most."
        )
    if f.kind == "flag" and diagnosis.quality is not None:
        q = diagnosis.quality
        if f.subject == "low_selling_time":
            t = q.selling_time
            return (
                f"Selling share read day by day over {t.days} days against the"
                f" {t.benchmark:.0%} benchmark: {p_text(t.p_value)} (one-sided; flagged under"
                f" p = {settings.diagnose.significance:g})."
            )
        if f.subject == "high_volume_low_engagement" and q.engagement_vs_peers is not None:
            c = q.engagement_vs_peers
            return (
                f"{number(c.rep_to)} engaged of {number(c.rep_from)} attempts against the"
                f" peers' {number(c.peer_to)} of {number(c.peer_from)}."
                f" {_first_upper(COMPARISON_TEST)}: {p_text(c.p_value)}."
            )
    return None


def _step_of(diagnosis: RepDiagnosis, subject: str) -> FunnelStep | None:
    source, _, target = subject.partition("->")
    return next(
        (s for s in diagnosis.funnel.steps if s.previous == source and s.metric == target), None
    )


def _signed_log(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}".replace("-", "\u2212")


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _measured_since(day: dt.date | None) -> str:
    """ " from <day>, the first selling activity recorded": the wins and revenue of an equation
    read from part-way into the window (`RepEquation.measured_from`), said beside them."""
    return f" from {day.isoformat()}, the first selling activity recorded" if day else ""


def _missing_text(f: Finding, unknown_wins: int = 0, measured_from: dt.date | None = None) -> str:
    """Which data is missing, and what the deals still show (revenue per win over the wins
    with an amount: one with none is unknown, not a win worth 0), and from which day when the
    equation read part of the window: a brief headed 2021-01-31..2021-04-30 said "the deals
    show 2,621,700 won in 35 deals" beside its funnel's 37 won, the equation's wins being
    those from 2021-02-14."""
    wins = f.count or 0
    if f.subject == "amounts":
        unknown = round(f.reference or 0)
        known = wins - unknown
        per_win = f" ({number((f.value or 0) / known)} per win with an amount)" if known else ""
        return (
            f"{unknown} of {wins} won deals{_measured_since(measured_from) or ' in this window'}"
            " have no amount recorded: revenue"
            f" {number(f.value)} is the sum of the others, not counting those as zero{per_win}"
        )
    known = wins - unknown_wins
    if unknown_wins:
        per_win = f"; {number((f.value or 0) / known)} per win with an amount" if known else ""
        detail = f"{unknown_wins} with no amount recorded, not in the sum{per_win}"
    else:
        detail = f"{number((f.value or 0) / wins)} per win" if wins else ""
    since = _measured_since(measured_from)
    shown = (
        f"the deals show {number(f.value)} won in {wins} deal{'s' if wins != 1 else ''}{since}"
        f" ({detail})"
        if wins
        else f"no deal won either{since}"
    )
    what = MISSING_TEXT.get(f.subject, f"No {f.subject} logged in this window")
    if f.subject == "accounts" and f.reference:
        what = (
            f"{number(f.reference)} selling activities in this window name no account (more"
            " than a tenth of them): prospects are unknown, not zero"
        )
    return f"{what}; {shown}"


def _flag_text(diagnosis: RepDiagnosis, flag: str) -> str:
    text = FLAG_TEXT.get(flag, flag.replace("_", " "))
    quality = diagnosis.quality
    if quality is None:
        return text
    share = quality.selling_share  # over the minutes whose selling is known
    if flag == "low_selling_time" and share is not None:
        return f"{text} ({share:.0%} against the {quality.selling_time.benchmark:.0%} benchmark)"
    if flag == "high_volume_low_engagement" and quality.engagement_rate is not None:
        return (
            f"{text} ({quality.attempts:,} outreach attempts, {quality.engagement_rate:.1%}"
            f" engaged{engagement_base(quality.attempts, quality.engagement_attempts)};"
            f" peers' median {rate(quality.peer_median_engagement_rate)})"
        )
    return text


def engagement_base(attempts: int, measured: int) -> str:
    """What an engagement rate is over, said when it is not every outreach attempt: the
    kinds nobody records an engaged outcome for (calls without call results) are left out."""
    if measured == attempts:
        return ""
    return f" of the {measured:,} whose engagement is recorded"


def engagement_not_recorded_text(kind_labels: list[str]) -> str:
    """The line under a busy-vs-productive table when some outreach kinds' engagement is
    not recorded (`QualityReport.engagement_not_recorded`), in the kinds' labels."""
    one = len(kind_labels) == 1
    return (
        f"Engagement not recorded for {', '.join(kind_labels)}: no activity of"
        f" {'that kind' if one else 'those kinds'} in the data has an engaged outcome (an"
        f" export without call results, say), so {'its' if one else 'their'} attempts are"
        " left out of the engagement rate, not counted as 0%."
    )


def asks_not_recorded_text(kind_labels: list[str]) -> str:
    """The line under a busy-vs-productive table when some outreach kinds never carry an Ask
    (`QualityReport.asks_not_recorded`), in the kinds' labels."""
    one = len(kind_labels) == 1
    return (
        f"Ask not recorded for {', '.join(kind_labels)}: no activity of"
        f" {'that kind' if one else 'those kinds'} in the data carries an Ask (an export"
        f" without it, say), so {'its' if one else 'their'} attempts are left out of the ask"
        " rate, not counted as attempts without one, and the minutes out of the selling"
        " share of time (neither selling nor not)."
    )


def evidence_text(settings: Settings, check: RuleCheck) -> str:
    """Why a coaching rule fired (or did not), in one line."""
    if check.flag is not None and check.status == "flag_unknown":
        return FLAG_UNKNOWN_TEXT.get(check.flag, "")
    if check.flag is not None:
        return FLAG_TEXT.get(check.flag, check.flag)
    comparison = check.comparison
    if check.step is None or comparison is None:
        return ""
    step = "->".join(check.step)
    text = (
        f"{step_label(settings, step)}: {step_rate(settings, step, comparison.rep_rate)}"
        f" against peers' {step_rate(settings, step, comparison.peer_rate)}"
    )
    below = comparison.relative is not None and comparison.relative < 1
    if comparison.p_value is not None and below:  # above the peers: no gap to explain
        text += f", {chance_text(comparison.p_value)}"
    volume = check.volume
    if volume is not None and volume.reference is not None:
        basis = "target" if volume.basis == "target" else "peers' median"
        text += (
            f"; {metric_label(settings, volume.metric)} {number(volume.actual)} against"
            f" {basis} {number(volume.reference)}"
        )
        if volume.days is not None:
            plural = "s" if volume.days != 1 else ""
            text += (
                f" over the {volume.days} business day{plural} the rep worked"
                f" (left {volume.left.isoformat()})"
                if volume.left is not None
                else f" over the {volume.days} business day{plural} since the rep started"
            )
        if check.volume_short:
            text += f": short on {metric_label(settings, volume.metric)} as well"
    return text


def rule_verdict_text(settings: Settings, check: RuleCheck) -> str:
    """A rule that did not fire, with its verdict and the evidence behind it."""
    verdict = rule_status_text(check.status)
    says_more = check.flag is None and check.status not in (
        "no_data",
        "not_measurable",
        "not_for_role",
    )
    says_more = says_more or check.status == "flag_unknown"
    evidence = evidence_text(settings, check) if says_more else ""
    return f"{check.label}: {verdict}" + (f" ({evidence})" if evidence else "")


def evidence_stats(settings: Settings, check: RuleCheck) -> str | None:
    """The statistics behind a coaching rule's evidence ("How we know"), or None."""
    c = check.comparison
    if check.step is None or c is None or c.p_value is None:
        return None
    source, target = check.step[0], check.step[-1]
    return (
        f"{number(c.rep_to)} {metric_label(settings, target)} from {number(c.rep_from)}"
        f" {metric_label(settings, source)}, against the peers' {number(c.peer_to)} from"
        f" {number(c.peer_from)}. {_first_upper(COMPARISON_TEST)}: {p_text(c.p_value)}."
    )


VERDICT_TEXT = {"weak": "weak", "too_few": "too few to tell", "none": "fine"}


def verdict_text(verdict: str | None) -> str:
    """A funnel step's verdict in words ("" for a step not compared, such as the first)."""
    return VERDICT_TEXT.get(verdict, verdict.replace("_", " ")) if verdict else ""


def role_text(settings: Settings, name: str) -> str:
    """A role as the configuration labels it (an unlabelled role in capitals: SDR, AE)."""
    role = next((r for r in settings.roles if r.name == name), None)
    return role.label if role is not None and role.label else name.replace("_", " ").upper()


class Words:
    """This module's labels bound to one configuration, for templates: `words.kind("call")`
    reads "Phone call". The pages word names, verdicts and evidence through it, so a page
    never shows an internal name (`order_chasing`) or a bare p-value by accident."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def kind(self, name: str) -> str:
        return kind_label(self.settings, name)

    def outcome(self, name: str) -> str:
        return outcome_label(self.settings, name)

    def role(self, name: str) -> str:
        return role_text(self.settings, name)

    def stage(self, name: str) -> str:
        return stage_label(self.settings, name)

    def metric(self, name: str) -> str:
        return metric_label(self.settings, name)

    def flag(self, name: str) -> str:
        return flag_label(name)

    def engagement_base(self, attempts: int, measured: int) -> str:
        return engagement_base(attempts, measured)

    def engagement_not_recorded(self, kinds: list[str]) -> str:
        return engagement_not_recorded_text([self.kind(k) for k in kinds])

    def asks_not_recorded(self, kinds: list[str]) -> str:
        return asks_not_recorded_text([self.kind(k) for k in kinds])

    def factor(self, name: str) -> str:
        return factor_label(name)

    def chance(self, p: float | None) -> str:
        return chance_text(p)

    def p(self, p: float | None) -> str:
        return p_text(p)

    def alert_rule(self, rule: str, metric: str | None) -> str:
        return alert_rule_text(self.settings, rule, metric)

    def card_recorded(self, card: Scorecard) -> str | None:
        return card_recorded_text(card)

    def equation_measured(self, day: dt.date) -> str:
        return equation_measured_text(day)

    def equation_worked(self, eq: RepEquation) -> str | None:
        return equation_worked_text(eq)

    def tipping_recorded(self, result: TippingPoint) -> str | None:
        return tipping_recorded_text(result)

    def tipping_unknown(self, result: TippingPoint) -> str:
        return tipping_unknown_text(result.amounts_unknown)


def tipping_recorded_text(result: TippingPoint) -> str | None:
    """Which of the tipping point's metrics are recorded only from part-way into the history,
    and the weeks left out for it (None: both recorded throughout)."""
    if not result.recorded_from or result.measured_from is None:
        return None
    labels = {result.metric: result.metric_label, result.outcome: result.outcome_label}
    which = ", ".join(
        f"{labels.get(name, name)} from {day.isoformat()}"
        for name, day in sorted(result.recorded_from.items(), key=lambda item: item[1])
    )
    return (
        f"Recorded only from part-way into the history ({which}): the weeks before"
        f" {result.measured_from.isoformat()} are left out, not read as weeks without any"
    )


def equation_worked_text(eq: RepEquation) -> str | None:
    """Why a rep's equation reads part of its window: the rep started or left in it (None:
    the whole window)."""
    if eq.worked_from is None or eq.worked_to is None:
        return None
    return (
        f"{eq.rep} was there from {eq.worked_from.isoformat()} to {eq.worked_to.isoformat()}"
        " only: the equation reads those days, the peers' prospects and selling activities per"
        " prospect over the same days (the two ratios' medians are the whole window's)"
    )


def card_recorded_text(card: Scorecard) -> str | None:
    """Why a scorecard is measured from part-way into its period because the records begin
    there (`Scorecard.recorded_from`), or None: the faces say it rather than show the days
    before as a shortfall."""
    day = card.recorded_from
    if day is None:
        return None
    whose = f"team {card.team}" if card.team else "the reps without a team"
    return (
        f"recorded from {day.isoformat()}: nothing is recorded for {whose} before it, so the "
        "target and expectations are pro rata from then"
    )


def equation_measured_text(day: dt.date) -> str:
    """Why the revenue equation reads part of its window: its `measured_from`."""
    return (
        f"Measured from {day.isoformat()}, the first selling activity recorded: wins and revenue"
        " before it are left out with the days no selling activity was recorded (the whole"
        " window's wins over part of its selling would inflate wins per selling activity)"
    )


def alert_rule_text(settings: Settings, rule: str, metric: str | None) -> str:
    """An alert rule and its metric in a few words: "Behind pace: meetings set", and for the
    idle rule only "No selling activity" (its metric is selling activity itself)."""
    what = ALERT_TEXT.get(rule, rule.replace("_", " ").capitalize())
    if rule == "no_selling" or not metric:
        return what
    return f"{what}: {metric_label(settings, metric)}"


TIMES = "\u00d7"  # the multiplication sign: "x0.23" would read as a letter


def times_text(value: float | None) -> str:
    """A multiple of a reference: times sign and two decimals (a dash without a reference)."""
    return "—" if value is None else f"{TIMES}{value:.2f}"


def board_unrecorded_text(board: Leaderboard) -> str:
    """Why a leaderboard ranks nobody: the organisation's data has none of its metric."""
    return (
        f"{board.label}: not recorded. Nobody in the organisation has any"
        f" {(board.unrecorded or board.label).lower()} up to {board.as_of}, so the CRM does not"
        " record them: nobody is ranked, and no value is 0"
    )


UNRECORDED_CELL = "not recorded"  # a scorecard's actual when nobody records the metric


def line_unrecorded_text(line: MetricLine, as_of: dt.date) -> str:
    """Why a scorecard line is "not recorded" rather than 0 and behind: the organisation's
    data has none of its metric (a ratio: of its numerator) up to the card's day."""
    missing = (line.unrecorded or line.label).lower()
    return (
        f"{line.label}: not recorded. Nobody in the organisation has any {missing} up to"
        f" {as_of}, so the CRM does not record them: a 0 here is no shortfall, and no alert"
        " is raised"
    )


def unrecorded_texts(lines: Iterable[MetricLine], as_of: dt.date) -> list[str]:
    """`line_unrecorded_text` of each metric not recorded among `lines`, once per metric (a
    team's cards repeat it per rep), in the lines' order."""
    seen: dict[str, MetricLine] = {}
    for line in lines:
        if line.unrecorded is not None:
            seen.setdefault(line.metric, line)
    return [line_unrecorded_text(line, as_of) for line in seen.values()]


ACCRUAL_TEXT = {
    "rep": "the rep's own past {kind}s",
    "role": "their role's past {kind}s (too few of the rep's own)",
    "even": "evenly (no past {kind} to learn from)",
}


def accrual_texts(lines: Iterable[MetricLine], kind: str) -> list[str]:
    """How each distinct count among `lines` was paced (`MetricLine.accrual`), once per
    metric, each way it was paced counted when a team's cards differ: "Accounts called:
    expected to date follows how it climbed in the rep's own past months (a distinct count
    climbs fast, then flattens)". Even pacing is said too, so nobody takes it for a curve."""
    ways: dict[str, dict[str, int]] = {}
    labels: dict[str, str] = {}
    for line in lines:
        if line.accrual is not None and line.pace.expected_to_date is not None:
            labels[line.metric] = line.label
            seen = ways.setdefault(line.metric, {})
            seen[line.accrual.source] = seen.get(line.accrual.source, 0) + 1
    texts: list[str] = []
    for metric, seen in ways.items():
        parts = [
            ACCRUAL_TEXT[source].format(kind=kind)
            + (f" ({count} rep{'s' if count != 1 else ''})" if len(seen) > 1 else "")
            for source, count in sorted(seen.items(), key=lambda s: list(ACCRUAL_TEXT).index(s[0]))
        ]
        texts.append(
            f"{labels[metric]}: a distinct count climbs fast, then flattens; expected to date"
            f" follows how it climbed in {'; '.join(parts)}"
            if set(seen) != {"even"}
            else f"{labels[metric]}: paced {parts[0]}"
        )
    return texts


NAMED_AT_MOST = 3  # leavers or starters named beside a head count; more are counted


def headcount_text(cards: TeamScorecard) -> str:
    """How many reps a team has on the cards' day, with who left during the period and who
    starts later named beside them: "3 reps (Lea left 2026-11-11)". The CLI, the team page
    and the weekly reports say it alike; the totals count those named too, over their days."""
    count = cards.headcount
    head = f"{count} rep{'s' if count != 1 else ''}"
    notes = [
        _named(cards.leavers, "left", f"{len(cards.leavers)} left during the {cards.period.kind}"),
        _named(cards.starting, "starts", f"{len(cards.starting)} start later"),
    ]
    said = "; ".join(n for n in notes if n)
    return f"{head} ({said})" if said else head


def _named(people: list[RepDay], verb: str, counted: str) -> str:
    if not people:
        return ""
    if len(people) > NAMED_AT_MOST:
        return counted
    return ", ".join(f"{p.rep} {verb} {p.day.isoformat()}" for p in people)


def completed_lines(completed: Completed) -> list[str]:
    """What completing a killed bulk load did, one line per kind of repair (none when the
    schema was whole): one wording for every process that repairs at start-up (`init`,
    `serve`, `scheduler`, a server's workers)."""
    lines = []
    if completed.indexes:
        lines.append(
            "built the indexes an interrupted import left out: " + ", ".join(completed.indexes)
        )
    if completed.references:
        lines.append(
            "validated the references an interrupted import left unchecked: "
            + ", ".join(completed.references)
        )
    return lines
