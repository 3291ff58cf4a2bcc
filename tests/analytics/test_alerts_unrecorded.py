"""Alerts on a CRM that records no call results: a metric nobody in the organisation has is
never alerted on, nor pooled into behind pace; a metric someone else records still is.

The team is `factories.build_unrecorded_team` (November 2026 as of Wednesday the 18th). The
month is 13 business days old, under `min_business_days` (15), so the alerts read the
trailing 15 business days (from October 28th; no October targets, so 13/19 of November's
are expected), the stretch path. By hand: Ana's meetings set are 0 of 13 expected, P = e^-13:
at zero (her only alert); her conversations (0 of 130) and Ben's (0 of 65) used to be alerted
"at zero" too, and nobody can have any. Ben's 12 of 13 meetings set is on pace. Both made
selling calls every business day, so neither is idle.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from factories import AS_OF, build_unrecorded_team, paced_on_connect_rate
from paceline.analytics.alerts import alerts
from paceline.config import Settings


def test_a_metric_nobody_records_raises_no_alert(engine: Engine, settings: Settings) -> None:
    paced = paced_on_connect_rate(settings)
    build_unrecorded_team(engine, paced)
    report = alerts(engine, paced, AS_OF, team="East")
    assert report.stretch.trailing
    assert [(a.rep, a.rule, a.metric, a.actual) for a in report.alerts] == [
        ("Ana", "zero_key_metric", "meetings_set", 0.0)
    ]
    (zero,) = report.alerts
    assert zero.expected == pytest.approx(13)


def test_the_period_to_date_path_too(engine: Engine, settings: Settings) -> None:
    """As of November 30th (business day 19 of 19: the period itself, no trailing stretch),
    the same: Ana at zero on meetings set (0 of 19), never on conversations."""
    paced = paced_on_connect_rate(settings)
    build_unrecorded_team(engine, paced)
    report = alerts(engine, paced, dt.date(2026, 11, 30), team="East")
    assert not report.stretch.trailing
    found = [(a.rep, a.rule, a.metric) for a in report.alerts]
    assert ("Ana", "zero_key_metric", "meetings_set") in found
    assert all(a.metric not in ("conversations", "connect_rate") for a in report.alerts)
