"""The idle alert reads naturally wherever it is worded: diagnosis findings and rule texts.

Before, a diagnosis said "No selling activity on selling activities" (the alert's metric named
after a sentence that already said it) and the rules line "no selling_activities for 3 business
days or more" (the configuration's key, not words). The hand-built team of
`factories.build_tracking_team`: Dee (SDR, West) last sold on Tuesday Nov 3; as of Wednesday
Nov 18 that is 11 business days without selling, since Nov 4.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from factories import AS_OF, build_tracking_team
from paceline.analytics.alerts import alerts
from paceline.analytics.diagnose import diagnose_rep
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings
from paceline.describe import finding_text


def test_the_idle_finding_says_how_long_and_since_when(engine: Engine, settings: Settings) -> None:
    build_tracking_team(engine, settings)
    brief = diagnose_rep(engine, settings, diagnosis_window(settings, "180d", AS_OF), "Dee")
    idle = [f for f in brief.findings if f.kind == "alert" and f.subject == "no_selling"]
    assert len(idle) == 1
    assert finding_text(settings, brief, idle[0]) == (
        "No selling activity for 11 business days (since 2026-11-04)"
    )  # was "No selling activity on selling activities"


def test_the_idle_rule_names_the_metric_in_words(engine: Engine, settings: Settings) -> None:
    build_tracking_team(engine, settings)
    rules = alerts(engine, settings, AS_OF).rules
    assert rules["no_selling"] == "no selling activities for 3 business days or more"
    # was "no selling_activities for 3 business days or more"
    calls = settings.alerts.model_copy(
        update={"no_selling": settings.alerts.no_selling.model_copy(update={"metric": "calls"})}
    )
    by_calls = alerts(engine, settings.model_copy(update={"alerts": calls}), dt.date(2026, 11, 18))
    assert by_calls.rules["no_selling"] == "no calls for 3 business days or more"
