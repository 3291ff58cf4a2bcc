"""Pipedrive: the recorded API responses in ../shared/data/crm_samples/pipedrive and a
generated company in the same layout (users, stages, deals won and lost, ~5,000 activities),
imported with the shipped mappings.

Expected figures for the samples were counted by hand from the files; those for the
generated company are the generator's planted truth, never the importer's output.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from factories import SHARED_DATA
from paceline.config import Settings, default_config_text, parse_settings
from paceline.ingest.crm.jsonrows import stages_toml
from paceline.ingest.crm.pipedrive import open_pipedrive, read_stages
from paceline.ingest.crm.shipped import mapping_path
from paceline.ingest.importer import ImportOptions, ImportResult, import_file
from paceline.ingest.mapping import Entity, load_mapping
from paceline.ingest.sources import ReadOptions
from paceline.plugins import import_source
from paceline.store.models import Activity, Deal, Rep

SAMPLES = SHARED_DATA / "crm_samples" / "pipedrive" / "nango-integration-templates"
pytestmark = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the Pipedrive samples are not at {SAMPLES}"
)
STAGES = SAMPLES / "stages.test.json"


def pipedrive_settings(stages_file: Path) -> Settings:
    """The default configuration plus the [[stages]] `paceline import stages` prints."""
    base = parse_settings(default_config_text(), origin="test")
    extra = stages_toml(read_stages(stages_file), [s.name for s in base.stages])
    return parse_settings(default_config_text() + "\n" + extra, origin="test")


def run(
    engine: Engine,
    settings: Settings,
    path: Path,
    entity: Entity,
    mapping: str,
    tmp_path: Path,
    **read: Path,
) -> ImportResult:
    loaded = load_mapping(mapping_path(mapping))
    assert loaded.reader == "pipedrive-json"
    options = ImportOptions(errors_path=tmp_path / f"{path.stem}.errors.csv", **read)
    return import_file(
        engine, settings, path, entity, loaded, options, reader=import_source(loaded.reader)
    )


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), "utf-8")
    return path


def sample_data(name: str) -> list[dict[str, Any]]:
    recorded = json.loads((SAMPLES / name).read_text("utf-8"))
    data: list[dict[str, Any]] = next(iter(recorded["api"]["get"].values()))["response"]["data"]
    return data


def local_midnight(day: dt.date, zone: str = "America/New_York") -> dt.datetime:
    start = dt.datetime.combine(day, dt.time(), ZoneInfo(zone))
    return start.astimezone(dt.UTC).replace(tzinfo=None)


# --- the recorded responses --------------------------------------------------------------------


def test_the_sample_stages_name_twelve_stages_in_four_pipelines() -> None:
    stages = {s.id: s for s in read_stages(STAGES)}
    # Counted in the file: 12 stages, none deleted; pipelines 1 (9 stages), 2 (1) and 5 (2)
    assert len(stages) == 12
    assert Counter(s.pipeline for s in stages.values()) == {"1": 9, "2": 1, "5": 2}
    assert stages["7"].label == "Prospect Qualified" and stages["7"].probability == 0.3
    assert stages["1"].name == "qualified_lead_updated" and stages["1"].status is None
    # The same name in several pipelines is one Paceline stage: 12 stages, 8 names.
    text = stages_toml(stages.values())
    assert text.count("[[stages]]") == 8
    assert "status" not in text  # Pipedrive keeps won and lost on the deal


def test_the_sample_deals_import_with_the_stage_names(engine: Engine, tmp_path: Path) -> None:
    """Counted in the file: 8 deals, all open, owner "Nango" (user_id 25760681); stage_id 1
    on six, 7 (pipeline 2) on deal 2, 3 on deal 1; value 25000 on deals 1 and 2, 0 on the
    rest (Pipedrive stores 0 for a deal without a value: it cannot be told from a real 0)."""
    settings = pipedrive_settings(STAGES)
    deals = SAMPLES / "deals.test.json"
    result = run(engine, settings, deals, "deals", "pipedrive:deals", tmp_path, pipelines=STAGES)
    assert (result.read, result.inserted, result.rejected) == (8, 8, 0)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Deal.external_id, Deal.stage, Deal.status, Deal.amount, Rep.name, Deal.created_at
            )
            .join(Rep, Deal.rep_id == Rep.id)
            .order_by(Deal.external_id)
        ).all()
    assert [tuple(r) for r in rows[:2]] == [
        (
            "1",
            "prospect_qualified",
            "open",
            Decimal(25000),
            "Nango",
            dt.datetime(2026, 5, 15, 9, 55, 2),
        ),
        (
            "2",
            "prospect_qualified",
            "open",
            Decimal(25000),
            "Nango",
            dt.datetime(2026, 5, 15, 9, 58, 41),
        ),
    ]
    assert Counter(r.stage for r in rows) == {"qualified_lead_updated": 6, "prospect_qualified": 2}
    assert sum(r.amount for r in rows) == Decimal(50000)
    again = run(engine, settings, deals, "deals", "pipedrive:deals", tmp_path, pipelines=STAGES)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 8)


def test_the_sample_deals_without_the_stages_list_are_refused_naming_the_option(
    engine: Engine, tmp_path: Path
) -> None:
    settings = pipedrive_settings(STAGES)
    result = run(
        engine, settings, SAMPLES / "deals.test.json", "deals", "pipedrive:deals", tmp_path
    )
    assert (result.inserted, result.rejected) == (0, 8)
    assert {r for _, r, _, _ in result.rejected_by_reason} == {
        "stage_id 1 cannot be named: pass the stages list (GET /v2/stages) with --pipelines",
        "stage_id 3 cannot be named: pass the stages list (GET /v2/stages) with --pipelines",
        "stage_id 7 cannot be named: pass the stages list (GET /v2/stages) with --pipelines",
    }


def test_the_sample_activities_are_all_planned_and_skipped_and_read_right_when_done(
    engine: Engine, tmp_path: Path
) -> None:
    """Counted in the file: 7 activities, all type call, all done=false; activity 1 and 2 are
    due 2026-05-20 at 10:00 (UTC) for 00:30, on deals 1 and 2; 3 to 7 are due 2026-05-15 with
    no time and no duration."""
    table = open_pipedrive(SAMPLES / "activities.test.json", ReadOptions())
    index = {c: i for i, c in enumerate(table.header)}
    rows = [values for _, values, _ in table.rows()]
    assert len(rows) == 7
    first = rows[0]
    assert first[index["due_at"]] == "2026-05-20T10:00:00Z"
    assert first[index["duration_min"]] == "30"
    assert first[index["user_name"]] == "Nango" and first[index["done"]] == "false"
    assert rows[2][index["due_at"]] == "2026-05-15" and rows[2][index["duration_min"]] == ""
    settings = pipedrive_settings(STAGES)
    planned = run(
        engine,
        settings,
        SAMPLES / "activities.test.json",
        "activities",
        "pipedrive:activities",
        tmp_path,
    )
    assert (planned.read, planned.skipped, planned.inserted) == (7, 7, 0)
    # The same records marked done import, linked to the deals imported first.
    run(
        engine,
        settings,
        SAMPLES / "deals.test.json",
        "deals",
        "pipedrive:deals",
        tmp_path,
        pipelines=STAGES,
    )
    records = sample_data("activities.test.json")
    for record in records:
        record["done"] = True
    done = write_json(tmp_path / "activities.json", {"success": True, "data": records})
    result = run(engine, settings, done, "activities", "pipedrive:activities", tmp_path)
    assert (result.read, result.inserted, result.rejected) == (7, 7, 0)
    with engine.connect() as conn:
        stored = {
            r.external_id: r
            for r in conn.execute(
                select(
                    Activity.external_id,
                    Activity.kind,
                    Activity.occurred_at,
                    Activity.local_date,
                    Activity.duration_min,
                    Deal.external_id.label("deal"),
                ).outerjoin(Deal, Activity.deal_id == Deal.id)
            )
        }
    assert stored["1"].kind == "call" and stored["1"].deal == "1"
    assert stored["1"].occurred_at == dt.datetime(2026, 5, 20, 10, 0)
    assert stored["1"].duration_min == 30
    # No due time: the activity counts on its due date.
    assert stored["3"].local_date == dt.date(2026, 5, 15)
    assert stored["3"].occurred_at == local_midnight(dt.date(2026, 5, 15))
    assert stored["3"].duration_min is None and stored["3"].deal is None


# --- awkward shapes ------------------------------------------------------------------------------


def deal(ident: int, status: str, stage: int, **extra: Any) -> dict[str, Any]:
    record = {
        "id": ident,
        "title": f"Deal {ident}",
        "value": 1000,
        "currency": "EUR",
        "status": status,
        "stage_id": stage,
        "add_time": "2026-03-02 09:00:00",
        "won_time": None,
        "lost_time": None,
        "close_time": None,
        "stage_change_time": None,
        "expected_close_date": None,
        "org_id": None,
        "user_id": {"id": 11, "name": "Ana Ruiz", "email": "ana@example.com", "value": 11},
    }
    return record | extra


def test_unknown_stages_types_and_users_are_refused_and_deleted_deals_skipped(
    engine: Engine, tmp_path: Path
) -> None:
    settings = pipedrive_settings(STAGES)
    deals = write_json(
        tmp_path / "deals.json",
        {
            "data": [
                deal(1, "won", 6, won_time="2026-04-10 15:20:00", close_time="2026-04-10 15:20:00"),
                deal(2, "lost", 5, lost_time="2026-04-11 08:00:00"),
                deal(3, "open", 99),  # a stage the stages list lacks
                deal(4, "deleted", 6),
                deal(5, "won", 6),  # won with no won_time nor close_time
            ]
        },
    )
    result = run(engine, settings, deals, "deals", "pipedrive:deals", tmp_path, pipelines=STAGES)
    assert (result.read, result.inserted, result.skipped, result.rejected) == (5, 2, 1, 2)
    assert sorted(f"{f}: {r}" for f, r, _, _ in result.rejected_by_reason) == [
        ": stage_id 99 is not a stage in stages.test.json",
        "closed_at: a won deal needs closed_at",
    ]
    with engine.connect() as conn:
        closed = dict(conn.execute(select(Deal.external_id, Deal.closed_at)).all())
    assert closed == {"1": dt.datetime(2026, 4, 10, 15, 20), "2": dt.datetime(2026, 4, 11, 8, 0)}

    base = sample_data("activities.test.json")[0] | {"done": 1}
    activities = write_json(
        tmp_path / "activities.json",
        {
            "data": [
                base | {"id": 101},
                base | {"id": 102, "type": "demo"},  # a custom activity type
                base | {"id": 103, "owner_name": None, "user_id": 77},  # named by no one
            ]
        },
    )
    result = run(engine, settings, activities, "activities", "pipedrive:activities", tmp_path)
    assert (result.inserted, result.rejected) == (1, 2)
    reasons = sorted(r for _, r, _, _ in result.rejected_by_reason)
    assert reasons[0].startswith("unknown kind 'demo'")
    assert reasons[1] == (
        "user_id 77 cannot be named: pass the users list (GET /v1/users) with --owners"
    )


# --- a generated company in the same layout ------------------------------------------------------

USERS = {31: "Ana Ruiz", 32: "Ben Okafor", 33: "Chloe Martin", 34: "Dev Patel", 35: "Eva Lind"}
START = dt.datetime(2026, 3, 2, 8, 0)
TYPES = {
    "call": "call",
    "meeting": "meeting",
    "email": "email",
    "task": "follow_up",
    "deadline": "admin",
    "lunch": "meeting",
}


@dataclass
class Planted:
    done: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rep, kind)
    planned: int = 0
    minutes: Counter[str] = field(default_factory=Counter)
    won: Counter[str] = field(default_factory=Counter)
    won_value: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    deleted: int = 0
    won_at: tuple[str, dt.datetime] = ("", START)


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def generate_company(folder: Path, seed: int = 5) -> Planted:
    rng = random.Random(seed)
    planted = Planted()
    write_json(
        folder / "users.json",
        {
            "success": True,
            "data": [
                {
                    "id": i,
                    "name": n,
                    "email": f"{n.split()[0].lower()}@example.com",
                    "active_flag": True,
                    "is_admin": 0,
                }
                for i, n in USERS.items()
            ],
        },
    )
    names = ["Lead In", "Contact Made", "Demo Scheduled", "Proposal Made", "Negotiations Started"]
    write_json(
        folder / "stages.json",
        {
            "success": True,
            "data": [
                {
                    "id": 100 + n,
                    "name": name,
                    "order_nr": n,
                    "pipeline_id": 1,
                    "deal_probability": 100,
                    "is_deleted": False,
                }
                for n, name in enumerate(names)
            ],
        },
    )
    deals = []
    for ident in range(1, 401):
        user = rng.choice(list(USERS))
        status = rng.choices(["open", "won", "lost", "deleted"], [5, 2, 2, 1])[0]
        added = START + dt.timedelta(days=rng.randrange(60), minutes=rng.randrange(600))
        closed = added + dt.timedelta(days=rng.randrange(1, 50), seconds=rng.randrange(86400))
        value = rng.randrange(5, 300) * 100
        record = deal(
            ident,
            status,
            100 + rng.randrange(5),
            value=value,
            add_time=stamp(added),
            user_id={"id": user, "name": USERS[user], "value": user},
        )
        if status == "won":
            record.update(won_time=stamp(closed), close_time=stamp(closed))
            planted.won[USERS[user]] += 1
            planted.won_value[USERS[user]] += value
            planted.won_at = (str(ident), closed)
        elif status == "lost":
            record.update(lost_time=stamp(closed), close_time=stamp(closed))
            planted.lost += 1
        planted.deleted += status == "deleted"
        deals.append(record)
    write_json(folder / "deals.json", {"success": True, "data": deals})
    activities = []
    for ident in range(1, 5001):
        user = rng.choice(list(USERS))
        due = START + dt.timedelta(minutes=15 * rng.randrange(4 * 24 * 80))
        kind = rng.choice(list(TYPES))
        done = rng.random() < 0.85
        minutes = rng.choice([0, 15, 30, 45, 60, 90])
        activities.append(
            {
                "id": ident,
                "user_id": user,
                "done": done,
                "type": kind,
                "due_date": due.strftime("%Y-%m-%d"),
                "due_time": due.strftime("%H:%M"),
                "duration": f"{minutes // 60:02d}:{minutes % 60:02d}",
                "subject": f"{kind} {ident}",
                "deal_id": rng.choice([None, rng.randrange(1, 401)]),
                "org_id": None,
                "person_id": None,
                # A v1 list names the owner; some saved pages do not (the users list then does).
                "owner_name": USERS[user] if ident % 5 else None,
                "marked_as_done_time": stamp(due) if done else "",
            }
        )
        if done:
            planted.done[(USERS[user], TYPES[kind])] += 1
            planted.minutes[USERS[user]] += minutes
        else:
            planted.planned += 1
    write_json(folder / "activities.json", {"success": True, "data": activities})
    return planted


def test_a_generated_company_imports_end_to_end_with_the_planted_counts(
    engine: Engine, tmp_path: Path
) -> None:
    planted = generate_company(tmp_path)
    settings = pipedrive_settings(tmp_path / "stages.json")
    users = run(engine, settings, tmp_path / "users.json", "reps", "pipedrive:users", tmp_path)
    assert users.inserted == 5
    deals = run(
        engine,
        settings,
        tmp_path / "deals.json",
        "deals",
        "pipedrive:deals",
        tmp_path,
        pipelines=tmp_path / "stages.json",
    )
    assert (deals.read, deals.skipped, deals.rejected) == (400, planted.deleted, 0)
    acts = run(
        engine,
        settings,
        tmp_path / "activities.json",
        "activities",
        "pipedrive:activities",
        tmp_path,
        owners=tmp_path / "users.json",
    )
    assert (acts.read, acts.skipped, acts.rejected) == (5000, planted.planned, 0)
    with engine.connect() as conn:
        done = conn.execute(
            select(Rep.name, Activity.kind, func.count())
            .select_from(Activity)
            .join(Rep, Activity.rep_id == Rep.id)
            .group_by(Rep.name, Activity.kind)
        ).all()
        minutes = dict(
            conn.execute(
                select(Rep.name, func.sum(Activity.duration_min))
                .select_from(Activity)
                .join(Rep, Activity.rep_id == Rep.id)
                .group_by(Rep.name)
            ).all()
        )
        won = conn.execute(
            select(Rep.name, func.count(), func.sum(Deal.amount))
            .select_from(Deal)
            .join(Rep, Deal.rep_id == Rep.id)
            .where(Deal.status == "won")
            .group_by(Rep.name)
        ).all()
        lost = conn.scalar(select(func.count()).select_from(Deal).where(Deal.status == "lost"))
        won_at = conn.scalar(select(Deal.closed_at).where(Deal.external_id == planted.won_at[0]))
    assert Counter({(rep, kind): n for rep, kind, n in done}) == planted.done
    assert minutes == pytest.approx({k: float(v) for k, v in planted.minutes.items()})
    assert {rep: n for rep, n, _ in won} == dict(planted.won)
    assert {rep: value for rep, _, value in won} == {
        k: Decimal(v) for k, v in planted.won_value.items()
    }
    assert lost == planted.lost
    assert won_at == planted.won_at[1]  # won_time, a UTC "YYYY-MM-DD HH:MM:SS"


# --- the command line ----------------------------------------------------------------------------


def cli(workdir: Path, *args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from paceline.cli import app

    db = f"sqlite:///{workdir / 'p.db'}"
    # COLUMNS reaches typer's own usage-error box, drawn on a console typer makes for each
    # error (Paceline's consoles are pinned at 132): the refused `--from csv` reads its
    # message on one line of it, which 80 columns would break.
    result = CliRunner().invoke(app, ["--db", db, *args], env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_the_command_line_walk_through_stages_then_deals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/pipedrive.md's steps: the shipped mapping by name picks its reader, the refused
    stages say "[[stages]]", `import stages` prints what to paste, then every deal imports."""
    monkeypatch.chdir(tmp_path)
    assert cli(tmp_path, "init")[0] == 0
    deals = ["import", "deals", str(SAMPLES / "deals.test.json"), "--mapping", "pipedrive:deals"]
    code, output = cli(tmp_path, *deals, "--pipelines", str(STAGES))
    assert code == 1, output  # every stage is unknown to the default configuration
    assert "add it to [[stages]] in the configuration" in output
    code, printed = cli(tmp_path, "import", "stages", str(STAGES), "--from", "pipedrive-json")
    assert code == 0 and printed.count("[[stages]]") == 8
    config = tmp_path / "paceline.toml"
    config.write_text(config.read_text("utf-8") + "\n" + printed, "utf-8")
    code, output = cli(tmp_path, *deals, "--pipelines", str(STAGES), "--json")
    assert code == 0, output
    assert '"inserted": 8' in output and '"source": "pipedrive"' in output
    code, output = cli(tmp_path, "import", "stages", str(STAGES), "--from", "pipedrive-json")
    assert code == 0 and "every stage of stages.test.json is already configured" in output
    code, output = cli(tmp_path, "import", "stages", str(STAGES), "--from", "csv")
    assert code == 1 and "the import source 'csv' reads no pipeline definition" in output
