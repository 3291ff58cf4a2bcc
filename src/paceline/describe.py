"""Plain-language sentences for diagnosis results, shared by the CLI and the web pages.

Analyses return numbers; a manager reads sentences. Writing them once here keeps the terminal
and the browser saying the same thing in the same words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the hints only: the faces import these words without the analyses
    from paceline.analytics.alerts import Alert
    from paceline.analytics.coaching import RuleCheck
    from paceline.analytics.diagnose import Finding, RepDiagnosis
    from paceline.config import Settings

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
RULE_STATUS_TEXT = {
    "hint": "fires",
    "not_weak": "checked: not weak",
    "too_few": "looks low, but too few to tell",
    "no_flag": "checked: not flagged",
    "no_data": "nothing to compare in this window",
    "not_for_role": "not for this role",
}
MISSING_TEXT = {
    "activities": "No activities logged in this window: prospects and selling activity are"
    " unknown, not zero",
    "accounts": "The selling activities in this window name no account: prospects are unknown,"
    " not zero",
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


def p_text(p: float | None) -> str:
    if p is None:
        return ""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def metric_label(settings: Settings, name: str) -> str:
    try:
        metric = settings.metric(name)
    except KeyError:
        return name.replace("_", " ")
    return (metric.label or name).lower()


def step_label(settings: Settings, step: str) -> str:
    source, _, target = step.partition("->")
    return f"{metric_label(settings, source)} → {metric_label(settings, target)}"


def no_selling_text(alert: Alert) -> str:
    """The idle alert as the team page words it: how long, and since when (its metric is
    selling activity itself, so naming it again would read "no selling activity on selling
    activities")."""
    since = f" (since {alert.since.isoformat()})" if alert.since else ""
    return f"{ALERT_TEXT['no_selling']} for {alert.business_days} business days{since}"


def finding_text(settings: Settings, diagnosis: RepDiagnosis, finding: Finding) -> str:
    """One finding as a sentence with its evidence."""
    f = finding
    if f.kind == "alert":
        alert = next(
            (a for a in diagnosis.alerts if a.rule == f.subject and a.metric == f.metric), None
        )
        if alert is not None and alert.rule == "no_selling":
            return no_selling_text(alert)
        what = ALERT_TEXT.get(f.subject, f.subject)
        metric = f" on {alert.metric_label.lower()}" if alert and alert.metric_label else ""
        days = alert.trailing_days if alert else None
        when = f"over the last {days} business days" if days else "by now"
        numbers = f": {number(f.value)} against {number(f.reference)} expected {when}"
        return what + metric + (numbers if f.value is not None and f.reference else "")
    if f.kind == "weak_step":
        return (
            f"Weak step {step_label(settings, f.subject)}: {rate(f.value)} against peers'"
            f" {rate(f.reference)} ({p_text(f.p_value)})"
        )
    if f.kind == "too_few":
        source = metric_label(settings, f.subject.partition("->")[0])
        return (
            f"{step_label(settings, f.subject)} looks low ({rate(f.value)} against peers'"
            f" {rate(f.reference)}), but {f.count or 0} {source} are too few to tell"
        )
    if f.kind == "holding_back":
        return (
            f"Revenue equation: {FACTOR_TEXT.get(f.subject, f.subject)} holds the rep back"
            f" ({number(f.value)} against the peers' median {number(f.reference)})"
        )
    if f.kind == "missing_data":
        return _missing_text(f)
    if f.kind == "zero_factor":
        factor = FACTOR_TEXT.get(f.subject, f.subject)
        revenue = diagnosis.equation.revenue if diagnosis.equation else 0.0
        if revenue > 0:  # deals won without the logged selling behind them
            return (
                f"Revenue equation: no {factor} in this window, yet {number(revenue)} won:"
                " the equation cannot split it"
            )
        return f"Revenue equation: no {factor}, so no revenue"
    if f.kind == "flag":
        return _flag_text(diagnosis, f.subject)
    return (
        f"{f.count} stalled deal{'s' if f.count != 1 else ''} worth {number(f.value)}"
        f" of {number(f.reference)} open"
    )


def _missing_text(f: Finding) -> str:
    """Which data is missing, and what the deals still show."""
    wins = f.count or 0
    if f.subject == "amounts":
        unknown = round(f.reference or 0)
        known = wins - unknown
        per_win = f" ({number((f.value or 0) / known)} per win with an amount)" if known else ""
        return (
            f"{unknown} of {wins} won deals in this window have no amount recorded: revenue"
            f" {number(f.value)} is the sum of the others, not counting those as zero{per_win}"
        )
    shown = (
        f"the deals show {number(f.value)} won in {wins} deal{'s' if wins != 1 else ''}"
        f" ({number((f.value or 0) / wins)} per win)"
        if wins
        else "no deal won either"
    )
    what = MISSING_TEXT.get(f.subject, f"No {f.subject} logged in this window")
    return f"{what}; {shown}"


def _flag_text(diagnosis: RepDiagnosis, flag: str) -> str:
    text = FLAG_TEXT.get(flag, flag.replace("_", " "))
    quality = diagnosis.quality
    if quality is None:
        return text
    if flag == "low_selling_time" and quality.logged_minutes:
        share = quality.selling_minutes / quality.logged_minutes
        return f"{text} ({share:.0%} against the {quality.selling_time.benchmark:.0%} benchmark)"
    if flag == "high_volume_low_engagement" and quality.attempts:
        engaged = quality.engaged / quality.attempts
        return (
            f"{text} ({quality.attempts:,} outreach attempts, {engaged:.1%} engaged;"
            f" peers' median {rate(quality.peer_median_engagement_rate)})"
        )
    return text


def evidence_text(settings: Settings, check: RuleCheck) -> str:
    """Why a coaching rule fired (or did not), in one line."""
    if check.flag is not None:
        return FLAG_TEXT.get(check.flag, check.flag)
    comparison = check.comparison
    if check.step is None or comparison is None:
        return ""
    text = (
        f"{step_label(settings, '->'.join(check.step))}: {rate(comparison.rep_rate)} against"
        f" peers' {rate(comparison.peer_rate)}"
    )
    if comparison.p_value is not None:
        text += f" ({p_text(comparison.p_value)})"
    volume = check.volume
    if volume is not None and volume.reference is not None:
        basis = "target" if volume.basis == "target" else "peers' median"
        text += (
            f"; {metric_label(settings, volume.metric)} {number(volume.actual)} against"
            f" {basis} {number(volume.reference)}"
        )
        if check.volume_short:
            text += f": short on {metric_label(settings, volume.metric)} as well"
    return text


def rule_verdict_text(settings: Settings, check: RuleCheck) -> str:
    """A rule that did not fire, with its verdict and the evidence behind it."""
    verdict = RULE_STATUS_TEXT.get(check.status, check.status.replace("_", " "))
    says_more = check.flag is None and check.status not in ("no_data", "not_for_role")
    evidence = evidence_text(settings, check) if says_more else ""
    return f"{check.label}: {verdict}" + (f" ({evidence})" if evidence else "")
