"""A small organisation with e-mail addresses, and hand-built alert reports, shared by the
alert-delivery tests (`test_alert_delivery`, `test_channels_email`, `test_channels_webhooks`).

East: Ana (ana@example.com), Ben (ben@example.com) and their manager Max (max@example.com,
who logs in as the manager of East). West: Dee, who has no address. Who should receive what
is therefore known by hand: a rep their own alerts, Max East's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from factories import quick_user
from paceline.analytics.alerts import Alert, AlertReport, Rule
from paceline.analytics.stretch import Stretch
from paceline.config import Settings
from paceline.services.reps import add_rep

AS_OF = dt.date(2026, 12, 7)
RULES = {"no_selling": "no selling activities for 3 business days or more"}


def build_org(engine: Engine, settings: Settings) -> None:
    add_rep(engine, settings, "Ana", "sdr", team="East", email="ana@example.com")
    add_rep(engine, settings, "Ben", "sdr", team="East", email="ben@example.com")
    add_rep(engine, settings, "Max", "manager", team="East", email="max@example.com")
    add_rep(engine, settings, "Dee", "sdr", team="West")
    quick_user(engine, "max", "manager", "Max")  # manages East, the team of his rep record


def alert(rep: str, team: str, rule: Rule, metric: str = "conversations") -> Alert:
    """An alert as the analysis would make it, with round numbers to word by hand."""
    idle = rule == "no_selling"
    return Alert(
        rep=rep,
        team=team,
        rule=rule,
        metric="selling_activities" if idle else metric,
        metric_label="Selling activities" if idle else metric.capitalize(),
        actual=0.0 if rule != "behind_pace" else 14.0,
        expected=None if idle else 130.0,
        shortfall=None if rule != "behind_pace" else 0.9,
        chance=None,
        since=dt.date(2026, 11, 30),
        business_days=5 if idle else None,
    )


ANA_BEHIND = alert("Ana", "East", "behind_pace")
BEN_IDLE = alert("Ben", "East", "no_selling")
DEE_IDLE = alert("Dee", "West", "no_selling")


def report(alerts: list[Alert], as_of: dt.date = AS_OF, period: str = "2026-12") -> AlertReport:
    return AlertReport(
        as_of=as_of,
        period_label=period,
        rules=RULES,
        alerts=alerts,
        stretch=Stretch(dt.date(2026, 12, 1), as_of + dt.timedelta(days=1), 5, False),
    )
