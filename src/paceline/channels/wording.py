"""The words of an alert message, shared by every channel, so e-mail, Slack, Teams and the
webhook say the same thing in the same words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paceline.channels import AlertMessage

if TYPE_CHECKING:  # hints only: loading the channels must not load the analyses (SciPy)
    from paceline.analytics.alerts import Alert

RULE_WORDS = {
    "behind_pace": "behind pace",
    "zero_key_metric": "at zero",
    "no_selling": "no selling activity",
}


def number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def who(alert: Alert) -> str:
    return f"{alert.rep} ({alert.team})" if alert.team else alert.rep


def what(alert: Alert) -> str:
    """The alert without the rep: "Conversations behind pace: 14 of 130 expected (89%
    behind), since 2026-11-01"."""
    since = f", since {alert.since.isoformat()}" if alert.since else ""
    if alert.rule == "no_selling":
        return f"no selling activity for {alert.business_days} business days{since}"
    label = alert.metric_label or alert.metric or ""
    over = f" over the last {alert.trailing_days} business days" if alert.trailing_days else ""
    counted = f"{number(alert.actual)} of {number(alert.expected)} expected{over}"
    if alert.rule == "zero_key_metric":
        return f"{label} at zero ({counted}){since}"
    behind = f", {alert.shortfall:.0%} behind" if alert.shortfall is not None else ""
    return f"{label} behind pace ({counted}{behind}){since}"


def line(alert: Alert) -> str:
    return f"{who(alert)}: {what(alert)}"


def subject(message: AlertMessage) -> str:
    count = len(message.alerts)
    noun = "alert" if count == 1 else "alerts"
    return f"Paceline: {count} new {noun} as of {message.as_of.isoformat()}"


def intro(message: AlertMessage) -> str:
    """Whose alerts these are, and what is left out (those already sent and still standing)."""
    recipient = message.recipient
    if recipient.role == "rep":
        whose = "your"
    elif recipient.role == "manager" and recipient.teams:
        whose = f"team {', '.join(sorted(recipient.teams))}'s"
    else:
        whose = "the"
    text = f"New since the last message, {whose} alerts for {message.period_label}"
    text += f" as of {message.as_of.isoformat()}."
    if message.standing:
        earlier = "alert" if message.standing == 1 else "alerts"
        text += f" {message.standing} earlier {earlier} still stand."
    return text
