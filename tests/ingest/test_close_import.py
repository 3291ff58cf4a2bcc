"""Close: the recorded API responses in ../shared/data/crm_samples/close, and awkward records
in the same layout, imported with the shipped mappings. Expected figures are counted by hand
from the files."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from factories import SHARED_DATA
from paceline.config import Settings, default_config_text, parse_settings
from paceline.ingest.crm.close import read_pipelines
from paceline.ingest.crm.jsonrows import stages_toml
from paceline.ingest.crm.shipped import mapping_path
from paceline.ingest.importer import ImportOptions, ImportResult, import_file
from paceline.ingest.mapping import Entity, load_mapping
from paceline.plugins import import_source
from paceline.store.models import Activity, Deal, Rep

SAMPLES = SHARED_DATA / "crm_samples" / "close" / "nango-integration-templates"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no Close samples at {SAMPLES}")
PIPELINES = SAMPLES / "pipelines.test.json"


def close_settings() -> Settings:
    base = parse_settings(default_config_text(), origin="test")
    extra = stages_toml(read_pipelines(PIPELINES), [s.name for s in base.stages])
    return parse_settings(default_config_text() + "\n" + extra, origin="test")


def run(engine: Engine, path: Path, entity: Entity, mapping: str, tmp_path: Path) -> ImportResult:
    loaded = load_mapping(mapping_path(mapping))
    assert loaded.reader == "close-json"
    options = ImportOptions(errors_path=tmp_path / f"{path.stem}.errors.csv")
    return import_file(
        engine, close_settings(), path, entity, loaded, options, reader=import_source(loaded.reader)
    )


def test_the_sample_pipeline_has_three_open_statuses_a_won_and_a_lost() -> None:
    stages = read_pipelines(PIPELINES)
    assert [(s.label, s.status) for s in stages] == [
        ("Demo Completed", "open"),
        ("Proposal Sent", "open"),
        ("Contract Sent", "open"),
        ("Won", "won"),
        ("Lost", "lost"),
    ]
    text = stages_toml(stages)
    assert 'name = "won"\nlabel = "Won"\nstatus = "won"' in text


def test_the_sample_opportunities_import_in_currency_units(engine: Engine, tmp_path: Path) -> None:
    """Counted in the file: 2 opportunities, both active; annualized_value 50000 ("$500
    annual") and 25000 ("$250"), i.e. cents; owner "Nango Developer"."""
    result = run(
        engine, SAMPLES / "opportunities.test.json", "deals", "close:opportunities", tmp_path
    )
    assert (result.read, result.inserted, result.rejected) == (2, 2, 0)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Deal.stage, Deal.status, Deal.amount, Rep.name, Deal.created_at)
            .join(Rep, Deal.rep_id == Rep.id)
            .order_by(Deal.created_at)
        ).all()
    assert [tuple(r) for r in rows] == [
        (
            "proposal_sent",
            "open",
            Decimal(250),
            "Nango Developer",
            dt.datetime(2026, 6, 19, 11, 4, 54, 421000),
        ),
        (
            "demo_completed",
            "open",
            Decimal(500),
            "Nango Developer",
            dt.datetime(2026, 6, 19, 12, 4, 53, 517000),
        ),
    ]


def test_the_sample_activities_keep_the_completed_task_and_skip_lead_creations(
    engine: Engine, tmp_path: Path
) -> None:
    """Counted in the file: 6 activities: 5 `Created` (a lead created), 1 `TaskCompleted` at
    2026-06-19T12:06:45.260000+00:00."""
    result = run(
        engine, SAMPLES / "activities.test.json", "activities", "close:activities", tmp_path
    )
    assert (result.read, result.skipped, result.inserted, result.rejected) == (6, 5, 1, 0)
    with engine.connect() as conn:
        kind, at, rep = conn.execute(
            select(Activity.kind, Activity.occurred_at, Rep.name).join(Rep)
        ).one()
    assert (kind, at, rep) == (
        "follow_up",
        dt.datetime(2026, 6, 19, 12, 6, 45, 260000),
        "Nango Developer",
    )


def activity(ident: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "_type": kind,
        "activity_at": "2026-06-22T15:30:00+00:00",
        "user_id": "user_1",
        "user_name": "Ana Ruiz",
        "lead_id": "lead_1",
        **extra,
    }


def test_calls_e_mails_and_unknown_types_read_as_the_mapping_says(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "activities.json"
    path.write_text(
        json.dumps(
            {
                "data": [
                    activity(
                        "a1", "Call", disposition="answered", duration=125, direction="outbound"
                    ),
                    activity(
                        "a2", "Call", disposition="vm-left", duration=30, direction="outbound"
                    ),
                    activity("a3", "Email", direction="outgoing", status="sent"),
                    activity("a4", "Email", direction="incoming", status="inbox"),
                    activity("a5", "CustomActivity"),
                ],
                "has_more": False,
            }
        ),
        "utf-8",
    )
    result = run(engine, path, "activities", "close:activities", tmp_path)
    assert (result.inserted, result.skipped, result.rejected) == (3, 1, 1)
    assert result.rejected_by_reason[0][1].startswith("unknown kind 'CustomActivity'")
    with engine.connect() as conn:
        got = {
            r.external_id: (r.kind, r.outcome, r.duration_min)
            for r in conn.execute(
                select(Activity.external_id, Activity.kind, Activity.outcome, Activity.duration_min)
            )
        }
    assert got == {
        "a1": ("call", "conversation", pytest.approx(125 / 60)),
        "a2": ("call", "voicemail", 0.5),
        "a3": ("email", "sent", None),
    }


def test_a_won_opportunity_is_won_on_its_date_and_one_without_value_has_no_amount(
    engine: Engine, tmp_path: Path
) -> None:
    won = {
        "id": "oppo_1",
        "lead_name": "Acme",
        "user_name": "Ana Ruiz",
        "lead_id": "lead_1",
        "status_type": "won",
        "status_label": "Won",
        "annualized_value": 1234567,
        "date_created": "2026-05-01T10:00:00+00:00",
        "date_won": "2026-06-30",
        "date_lost": None,
    }
    empty = won | {"id": "oppo_2", "annualized_value": None}
    path = tmp_path / "opportunities.json"
    path.write_text(json.dumps({"data": [won, empty]}), "utf-8")
    result = run(engine, path, "deals", "close:opportunities", tmp_path)
    # The one without a value is stored with its amount unknown (NULL), never as 0.
    assert (result.inserted, result.rejected) == (2, 0)
    with engine.connect() as conn:
        deal = conn.execute(
            select(Deal.status, Deal.amount, Deal.closed_at).where(Deal.external_id == "oppo_1")
        ).one()
        unknown = conn.execute(select(Deal.amount).where(Deal.external_id == "oppo_2"))
        assert unknown.scalar_one() is None
    midnight = dt.datetime(2026, 6, 30, tzinfo=ZoneInfo("America/New_York"))
    assert tuple(deal) == (
        "won",
        Decimal("12345.67"),
        midnight.astimezone(dt.UTC).replace(tzinfo=None),
    )
