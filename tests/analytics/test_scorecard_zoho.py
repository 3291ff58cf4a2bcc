"""Scorecards and alerts on the real Zoho CRM export (`../shared/data/zoho_crm_export`),
imported with the shipped mappings: the export has no call result anywhere (Calls.csv has no
result column), so nobody has a conversation, ever.

The reps (AEs: the export names no roles) are paced here on calls, conversations, the connect
rate and meetings held, as an inside-sales team would be; Jasmine Frank is given April 2021
targets and read as of April 14th. Her conversations read "0, behind" (and were alerted "at
zero"), her connect rate 0.0%; both are now "not recorded". Meetings held are recorded (the
events), but not hers: her last event starts 2021-03-25 02:02 UTC (March 24th in New York),
so her 0 of 20 x 10/22 expected is still behind, and alerted at zero since March 25th.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from factories import ZOHO_EXPORT, read_export, shared_zoho, sqlite_copy
from paceline.analytics.alerts import alerts
from paceline.analytics.scorecard import rep_scorecard
from paceline.config import Settings
from paceline.services.targets import TargetRow, save_targets
from paceline.store.models import Rep

AS_OF = dt.date(2021, 4, 14)
APRIL = dt.date(2021, 4, 1)
REP = "Jasmine Frank"


def inside_sales(settings: Settings) -> Settings:
    """AEs paced on calls, conversations, connect rate and meetings held."""
    metrics = ["calls", "conversations", "connect_rate", "meetings_held"]
    roles = [
        r.model_copy(update={"key_metrics": metrics}) if r.name == "ae" else r
        for r in settings.roles
    ]
    return settings.model_copy(update={"roles": roles})


@pytest.mark.slow
def test_zoho_scorecard_says_conversations_are_not_recorded(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, tmp_path: Path
) -> None:
    if not ZOHO_EXPORT.is_dir():
        pytest.skip(f"the Zoho CRM export is not at {ZOHO_EXPORT}")
    assert "Call Result" not in read_export("Calls")[0].values
    events = [row["Start DateTime"] for row in read_export("Events") if row["Event Owner"] == REP]
    assert max(events) == "2021-03-25 02:02:00"
    # the whole export, imported with the example mappings (once per run, copied)
    engine = sqlite_copy(shared_zoho(tmp_path_factory, settings), tmp_path)
    paced = inside_sales(settings)
    with engine.begin() as conn:
        rep_id = conn.scalar(select(Rep.id).where(Rep.name == REP))
        assert rep_id is not None
        save_targets(
            conn,
            [
                TargetRow(rep_id, "calls", "month", APRIL, 500),
                TargetRow(rep_id, "conversations", "month", APRIL, 150),
                TargetRow(rep_id, "meetings_held", "month", APRIL, 20),
            ],
        )
    card = rep_scorecard(engine, paced, REP, "month", AS_OF)
    assert (card.business_days_elapsed, card.business_days_total) == (10, 22)
    lines = {line.metric: line for line in card.lines}
    conversations = lines["conversations"]
    assert (conversations.pace.actual, conversations.pace.status) == (0.0, "not_recorded")
    assert conversations.unrecorded == "Conversations"  # was behind
    assert lines["connect_rate"].unrecorded == "Conversations"  # was 0.0%
    assert lines["calls"].recorded and lines["calls"].pace.actual
    held = lines["meetings_held"]
    assert (held.pace.actual, held.pace.status, held.unrecorded) == (0.0, "behind", None)
    assert held.pace.expected_to_date == pytest.approx(20 * 10 / 22)

    report = alerts(engine, paced, AS_OF)
    mine = [(a.rule, a.metric, a.since) for a in report.alerts if a.rep == REP]
    assert mine == [("zero_key_metric", "meetings_held", dt.date(2021, 3, 25))]
    assert all(a.metric not in ("conversations", "connect_rate") for a in report.alerts)
