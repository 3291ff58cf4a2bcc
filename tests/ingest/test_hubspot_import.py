"""HubSpot: the recorded CRM v3 API responses in ../shared/data/crm_samples/hubspot, a
generated portal in the same layout (owners, two pipelines, deals, ~5,000 calls, meetings and
e-mails) and HubSpot's deal export CSV, imported with the shipped mappings.

Expected figures for the samples were counted by hand from the files (see each test); those
for the generated portal are the generator's planted truth, never the importer's output.
"""

from __future__ import annotations

import csv
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
from paceline.ingest.crm.hubspot import DEFAULT_PIPELINE, open_hubspot, read_pipelines
from paceline.ingest.crm.jsonrows import stages_toml
from paceline.ingest.crm.shipped import mapping_path
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.importer import ImportOptions, ImportResult, import_file
from paceline.ingest.mapping import Entity, MappingError, load_mapping
from paceline.ingest.sources import ReadOptions
from paceline.plugins import import_source
from paceline.store.models import Activity, Deal, Rep

SAMPLES = SHARED_DATA / "crm_samples" / "hubspot" / "nango-integration-templates"
pytestmark = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the HubSpot samples are not at {SAMPLES}"
)
PIPELINES = SAMPLES / "fetch-pipelines.test.json"
CONNECTED = "f240bbac-87c9-4f6e-bf70-924b57d47db7"
NO_ANSWER = "73a0d17f-1163-4015-bdd5-ec830791da20"
VOICEMAIL = "b2cf5968-551e-4856-9783-52b3da59a7d0"


def hubspot_settings(*pipeline_files: Path) -> Settings:
    """The default configuration plus the [[stages]] `paceline import stages` prints."""
    stages = [s for f in pipeline_files for s in read_pipelines(f)] or list(DEFAULT_PIPELINE)
    base = parse_settings(default_config_text(), origin="test")
    extra = stages_toml(stages, [s.name for s in base.stages])
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
    assert loaded.reader is not None
    options = ImportOptions(errors_path=tmp_path / f"{path.stem}.errors.csv", **read)
    return import_file(
        engine, settings, path, entity, loaded, options, reader=import_source(loaded.reader)
    )


def local_midnight(day: dt.date, zone: str = "America/New_York") -> dt.datetime:
    """The naive UTC instant a calendar date starts at in the business zone."""
    start = dt.datetime.combine(day, dt.time(), ZoneInfo(zone))
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), "utf-8")
    return path


def sample_results(name: str) -> list[dict[str, Any]]:
    data = json.loads((SAMPLES / name).read_text("utf-8"))
    page: dict[str, Any] = next(iter(data["api"]["get"].values()))["response"]
    results: list[dict[str, Any]] = page["results"]
    return results


# --- the recorded responses --------------------------------------------------------------------


def test_the_sample_pipeline_gives_seven_stages_won_and_lost_from_metadata() -> None:
    stages = read_pipelines(PIPELINES)
    # Counted in the file: one pipeline "Sales Pipeline", 7 stages, 2 of them isClosed.
    assert [s.id for s in stages] == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    ]
    status = {s.id: s.status for s in stages}
    assert status["closedwon"] == "won" and status["closedlost"] == "lost"
    assert [s.status for s in stages[:5]] == ["open"] * 5
    assert stages[3].name == "decision_maker_bought_in" and stages[4].probability == 0.9
    # The built-in default pipeline is this very one, used when --pipelines is not given.
    assert stages == list(DEFAULT_PIPELINE)


def test_import_stages_prints_only_the_stages_the_configuration_lacks() -> None:
    configured = [s.name for s in parse_settings(default_config_text(), origin="t").stages]
    text = stages_toml(read_pipelines(PIPELINES), configured)
    # closed_won and closed_lost are default stages already; the five open ones are not.
    assert text.count("[[stages]]") == 5
    assert 'name = "appointment_scheduled"\nlabel = "Appointment Scheduled"' in text
    assert "closed_won" not in text and 'status = "won"' not in text


def test_the_sample_deals_flatten_with_stage_labels_and_are_all_refused_without_owner(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    table = open_hubspot(SAMPLES / "deals.test.json", ReadOptions(pipelines=PIPELINES))
    rows = list(table.rows())
    assert len(rows) == 21  # counted: 21 results, one page, no paging
    index = {c: i for i, c in enumerate(table.header)}
    last = rows[-1][1]  # id 493593663734, the only deal in qualifiedtobuy, with a closedate
    assert last[index["hs_object_id"]] == "493593663734"
    assert last[index["dealstage_label"]] == "Qualified To Buy"
    assert last[index["deal_status"]] == "open"
    assert last[index["closedate"]] == "2026-12-31T00:00:00Z"
    # hubspot_owner_id is null on every deal of this sandbox: all 21 are refused, none written.
    result = run(
        engine,
        settings,
        SAMPLES / "deals.test.json",
        "deals",
        "hubspot:deals",
        tmp_path,
        pipelines=PIPELINES,
    )
    assert (result.read, result.inserted, result.rejected) == (21, 0, 21)
    assert result.rejected_by_reason[0][1].startswith("no owner: hubspot_owner_id is empty")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Deal)) == 0


def test_the_sample_deals_with_an_owner_import_and_empty_amounts_are_unknown_not_zero(
    engine: Engine, tmp_path: Path
) -> None:
    """The real records with only hubspot_owner_id filled in (the sandbox left it null).

    Counted in the file: 8 deals have a dealstage (7 appointmentscheduled, 1 qualifiedtobuy),
    8 have neither amount nor stage, 5 have an amount but no stage. An empty amount is stored
    as unknown (never as 0), so the 13 without a stage are refused for that alone."""
    results = sample_results("deals.test.json")
    for record in results:
        record["properties"]["hubspot_owner_id"] = "101"
    deals = write_json(tmp_path / "deals.json", {"results": results})
    owners = write_json(
        tmp_path / "owners.json",
        {
            "results": [
                {"id": "101", "email": "ana@example.com", "firstName": "Ana", "lastName": "Ruiz"}
            ]
        },
    )
    settings = hubspot_settings(PIPELINES)
    result = run(
        engine,
        settings,
        deals,
        "deals",
        "hubspot:deals",
        tmp_path,
        pipelines=PIPELINES,
        owners=owners,
    )
    assert (result.read, result.inserted, result.rejected) == (21, 8, 13)
    reasons = {(f, r): n for f, r, n, _ in result.rejected_by_reason}
    assert reasons == {("stage", "required value is empty"): 13}
    with engine.connect() as conn:
        deal = conn.execute(
            select(
                Deal.stage,
                Deal.status,
                Deal.amount,
                Rep.name,
                Deal.created_at,
                Deal.expected_close,
                Deal.closed_at,
            )
            .join(Rep, Deal.rep_id == Rep.id)
            .where(Deal.external_id == "493593663734")
        ).one()
        stages = Counter(conn.scalars(select(Deal.stage)))
    assert tuple(deal[:4]) == ("qualified_to_buy", "open", Decimal(15000), "Ana Ruiz")
    assert deal.created_at == dt.datetime(2026, 3, 12, 7, 36, 6, 332000)  # "...07:36:06.332Z"
    assert deal.expected_close == dt.date(2026, 12, 31) and deal.closed_at is None
    assert stages == {"appointment_scheduled": 7, "qualified_to_buy": 1}
    again = run(
        engine,
        settings,
        deals,
        "deals",
        "hubspot:deals",
        tmp_path,
        pipelines=PIPELINES,
        owners=owners,
    )
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 8)


def test_the_sample_tasks_lack_the_properties_an_activity_needs_and_say_which(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The recorded request did not ask for hs_timestamp, hs_task_status or
    hubspot_owner_id: the import stops before writing and names them."""
    table = open_hubspot(SAMPLES / "tasks.test.json", ReadOptions())
    rows = list(table.rows())
    index = {c: i for i, c in enumerate(table.header)}
    assert len(rows) == 25  # counted: 25 results
    types = Counter(r[1][index["hs_task_type"]] for r in rows)
    assert types == {"TODO": 23, "CALL": 2}
    # The first task's association: {"contacts": {"results": [{"id": "713802347732", ...}]}}
    assert rows[0][1][index["associations.contacts"]] == "713802347732"
    assert rows[2][1][index["associations.contacts"]] == ""  # a task with no associations
    with pytest.raises(ImportFileError) as error:
        run(engine, settings, SAMPLES / "tasks.test.json", "activities", "hubspot:tasks", tmp_path)
    message = str(error.value)
    assert "hs_task_status" in message and "hs_timestamp" in message
    assert "from the property hubspot_owner_id" in message


def test_a_shipped_mapping_name_that_does_not_exist_lists_the_shipped_ones() -> None:
    with pytest.raises(MappingError, match=r"hubspot:deals, hubspot:deals-csv"):
        mapping_path("hubspot:leads")
    assert mapping_path("pipedrive:deals").name == "deals.toml"


# --- awkward shapes ------------------------------------------------------------------------------


def deal_record(ident: str, stage: str, owner: str, amount: str | None = "1000") -> dict[str, Any]:
    return {
        "id": ident,
        "properties": {
            "hs_object_id": ident,
            "dealname": f"Deal {ident}",
            "amount": amount,
            "dealstage": stage,
            "createdate": "2026-01-05T10:00:00Z",
            "closedate": "2026-02-27T00:00:00Z",
            "hubspot_owner_id": owner,
        },
    }


def test_an_unknown_owner_and_a_stage_outside_the_pipeline_are_refused_no_amount_is_kept(
    engine: Engine, tmp_path: Path
) -> None:
    deals = write_json(
        tmp_path / "deals.json",
        {
            "results": [
                deal_record("1", "closedwon", "101"),
                deal_record("2", "closedwon", "999"),  # owner not in the list
                deal_record("3", "12345678", "101"),  # a stage of no pipeline given
                deal_record("4", "closedlost", "101", amount=None),
                deal_record("5", "closedlost", "101", amount=""),
            ]
        },
    )
    owners = write_json(
        tmp_path / "owners.json", [{"id": "101", "firstName": "Ana", "lastName": "Ruiz"}]
    )
    result = run(
        engine, hubspot_settings(), deals, "deals", "hubspot:deals", tmp_path, owners=owners
    )
    # Deals 4 and 5 have no amount: kept, with the amount unknown (NULL), never 0.
    assert (result.read, result.inserted, result.rejected) == (5, 3, 2)
    reasons = sorted(f"{f}: {r}" for f, r, _, _ in result.rejected_by_reason)
    assert reasons == [
        ": dealstage '12345678' is not a stage of HubSpot's default pipeline: pass the portal's "
        "deal pipelines (GET /crm/v3/pipelines/deals) with --pipelines",
        ": hubspot_owner_id 999 is not in the owners list",
    ]
    with engine.connect() as conn:
        unknown = (
            conn.execute(select(Deal.amount).where(Deal.external_id.in_(["4", "5"])))
            .scalars()
            .all()
        )
        won = conn.execute(
            select(Deal.status, Deal.closed_at, Deal.amount).where(Deal.external_id == "1")
        ).one()
    assert unknown == [None, None]
    # closedate "2026-02-27T00:00:00Z" is a calendar date: the deal is won on the 27th in the
    # business zone (America/New_York by default), i.e. at 05:00 UTC.
    assert won == ("won", local_midnight(dt.date(2026, 2, 27)), Decimal(1000))


def test_owner_ids_without_an_owners_list_are_refused_naming_the_option(
    engine: Engine, tmp_path: Path
) -> None:
    deals = write_json(tmp_path / "d.json", {"results": [deal_record("1", "closedwon", "101")]})
    result = run(engine, hubspot_settings(), deals, "deals", "hubspot:deals", tmp_path)
    assert result.rejected == 1
    assert (
        "pass the owners list (GET /crm/v3/owners) with --owners" in result.rejected_by_reason[0][1]
    )


# --- a generated portal in the same layout --------------------------------------------------------

OWNERS = [
    ("Ana", "Ruiz"),
    ("Ben", "Okafor"),
    ("Chloe", "Martin"),
    ("Dev", "Patel"),
    ("Eva", "Lind"),
]
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@dataclass
class Planted:
    conversations: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)  # calls placed (imported)
    call_minutes: dict[str, float] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)  # per file
    held: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    won: Counter[str] = field(default_factory=Counter)
    won_amount: dict[str, Decimal] = field(default_factory=dict)
    linked_to_deals: int = 0
    epoch_call: tuple[str, dt.datetime] = ("", START)
    won_deal: tuple[str, dt.date] = ("", START.date())


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def engagement(
    ident: int, owner: str, moment: dt.datetime, props: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": str(ident),
        "properties": {
            "hs_object_id": str(ident),
            "hs_createdate": iso(moment),
            "hs_lastmodifieddate": iso(moment),
            "hubspot_owner_id": owner,
            **props,
        },
        "createdAt": iso(moment),
        "updatedAt": iso(moment),
        "archived": False,
    }


def generate_portal(folder: Path, seed: int = 11) -> Planted:
    rng = random.Random(seed)
    planted = Planted()
    owner_ids = {str(70001 + i): f"{first} {last}" for i, (first, last) in enumerate(OWNERS)}
    write_json(
        folder / "owners.json",
        {
            "results": [
                {
                    "id": ident,
                    "email": f"{name.split()[0].lower()}@example.com",
                    "firstName": name.split()[0],
                    "lastName": name.split()[1],
                    "userId": 9000 + i,
                    "archived": False,
                    "teams": [{"id": "55", "name": "East", "primary": True}],
                }
                for i, (ident, name) in enumerate(owner_ids.items())
            ]
        },
    )
    renewal = [
        ("1402911", "Renewal Due", "false", "0.5"),
        ("1402912", "Renewed", "true", "1.0"),
        ("1402913", "Churned", "true", "0.0"),
    ]
    default = [
        {
            "id": s.id,
            "label": s.label,
            "displayOrder": n,
            "metadata": {
                "isClosed": str(s.status != "open").lower(),
                "probability": str(s.probability),
            },
        }
        for n, s in enumerate(DEFAULT_PIPELINE)
    ]
    write_json(
        folder / "pipelines.json",
        {
            "results": [
                {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": default},
                {
                    "id": "813497",
                    "label": "Renewals",
                    "displayOrder": 1,
                    "stages": [
                        {
                            "id": i,
                            "label": label,
                            "displayOrder": n,
                            "metadata": {"isClosed": closed, "probability": p},
                        }
                        for n, (i, label, closed, p) in enumerate(renewal)
                    ],
                },
            ]
        },
    )
    stage_ids = [s.id for s in DEFAULT_PIPELINE] + [r[0] for r in renewal]
    won_ids = {"closedwon", "1402912"}
    deals = []
    for n in range(300):
        ident, owner = str(9_000_000 + n), rng.choice(list(owner_ids))
        stage = rng.choice(stage_ids)
        created = START + dt.timedelta(days=rng.randrange(0, 60), minutes=rng.randrange(600))
        closed = created + dt.timedelta(days=rng.randrange(1, 40))
        amount = Decimal(rng.randrange(10, 500) * 100)
        deals.append(deal_record(ident, stage, owner, str(amount)))
        deals[-1]["properties"].update(
            createdate=iso(created), closedate=closed.strftime("%Y-%m-%dT00:00:00Z")
        )
        if stage in won_ids:
            name = owner_ids[owner]
            planted.won[name] += 1
            planted.won_amount[name] = planted.won_amount.get(name, Decimal(0)) + amount
            planted.won_deal = (ident, closed.date())
    write_json(folder / "deals.json", {"results": deals})
    deal_ids = [d["id"] for d in deals]
    calls, meetings, emails = [], [], []
    for n in range(5000):
        owner = rng.choice(list(owner_ids))
        name = owner_ids[owner]
        moment = START + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 90))
        ident = 50_000_000 + n
        kind = rng.choices(["call", "meeting", "email"], [3, 1, 1])[0]
        if kind == "call":
            disposition = rng.choice([CONNECTED, NO_ANSWER, VOICEMAIL, "custom-guid-1"])
            status = rng.choices(["COMPLETED", "CANCELED", "NO_ANSWER"], [8, 1, 1])[0]
            ms = rng.randrange(0, 1_800_000)
            stamp = str(int(moment.timestamp() * 1000)) if n % 3 == 0 else iso(moment)
            record = engagement(
                ident,
                owner,
                moment,
                {
                    "hs_timestamp": stamp,
                    "hs_call_duration": str(ms),
                    "hs_call_disposition": disposition,
                    "hs_call_status": status,
                    "hs_call_title": f"Call {n}",
                },
            )
            if rng.random() < 0.3:
                record["associations"] = {
                    "deals": {"results": [{"id": rng.choice(deal_ids), "type": "call_to_deal"}]}
                }
            calls.append(record)
            if status == "CANCELED":
                planted.skipped["calls"] += 1
                continue
            planted.calls[name] += 1
            planted.call_minutes[name] = planted.call_minutes.get(name, 0.0) + ms / 60_000
            planted.conversations[name] += disposition == CONNECTED
            planted.linked_to_deals += "associations" in record
            if n % 3 == 0:
                planted.epoch_call = (str(ident), moment.replace(tzinfo=None))
        elif kind == "meeting":
            outcome = rng.choice(["COMPLETED", "NO_SHOW", "CANCELED", "SCHEDULED"])
            end = moment + dt.timedelta(minutes=rng.choice([15, 30, 45, 60]))
            meetings.append(
                engagement(
                    ident,
                    owner,
                    moment,
                    {
                        "hs_timestamp": iso(moment),
                        "hs_meeting_start_time": iso(moment),
                        "hs_meeting_end_time": iso(end),
                        "hs_meeting_outcome": outcome,
                        "hs_meeting_title": f"Meeting {n}",
                    },
                )
            )
            planted.skipped["meetings"] += outcome == "CANCELED"
            planted.held[name] += outcome == "COMPLETED"
        else:
            direction = rng.choices(["EMAIL", "INCOMING_EMAIL"], [4, 1])[0]
            emails.append(
                engagement(
                    ident,
                    owner,
                    moment,
                    {
                        "hs_timestamp": iso(moment),
                        "hs_email_direction": direction,
                        "hs_email_subject": f"Re: {n}",
                    },
                )
            )
            planted.skipped["emails"] += direction == "INCOMING_EMAIL"
            planted.sent[name] += direction == "EMAIL"
    half = len(calls) // 2  # two pages saved as a list, like a paging loop writes them
    write_json(
        folder / "calls.json",
        [
            {"results": calls[:half], "paging": {"next": {"after": str(half)}}},
            {"results": calls[half:]},
        ],
    )
    write_json(folder / "meetings.json", {"results": meetings})
    write_json(folder / "emails.json", {"results": emails})
    return planted


def per_rep(engine: Engine, *where: Any) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Rep.name, func.count())
            .select_from(Activity)
            .join(Rep)
            .where(*where)
            .group_by(Rep.name)
        ).all()
    return Counter({name: count for name, count in rows})


def test_a_generated_portal_imports_end_to_end_with_the_planted_counts(
    engine: Engine, tmp_path: Path
) -> None:
    planted = generate_portal(tmp_path)
    folder = tmp_path
    settings = hubspot_settings(folder / "pipelines.json")
    opts = {"owners": folder / "owners.json"}
    reps = run(engine, settings, folder / "owners.json", "reps", "hubspot:owners", tmp_path)
    assert reps.inserted == 5
    deals = run(
        engine,
        settings,
        folder / "deals.json",
        "deals",
        "hubspot:deals",
        tmp_path,
        pipelines=folder / "pipelines.json",
        **opts,
    )
    assert (deals.read, deals.inserted, deals.rejected) == (300, 300, 0)
    results = {
        name: run(
            engine,
            settings,
            folder / f"{name}.json",
            "activities",
            f"hubspot:{name}",
            tmp_path,
            **opts,
        )
        for name in ("calls", "meetings", "emails")
    }
    assert sum(r.read for r in results.values()) == 5000
    for name, result in results.items():
        assert result.skipped == planted.skipped[name], name
        assert result.rejected == 0, (name, result.first_errors)
    assert per_rep(engine, Activity.outcome == "conversation") == planted.conversations
    assert per_rep(engine, Activity.kind == "call") == planted.calls
    assert per_rep(engine, Activity.outcome == "held") == planted.held
    assert per_rep(engine, Activity.outcome == "sent") == planted.sent
    with engine.connect() as conn:
        minutes = dict(
            conn.execute(
                select(Rep.name, func.sum(Activity.duration_min))
                .join(Rep)
                .where(Activity.kind == "call")
                .group_by(Rep.name)
            ).all()
        )
        linked = conn.scalar(
            select(func.count())
            .select_from(Activity)
            .where(Activity.kind == "call", Activity.deal_id.is_not(None))
        )
        won = dict(
            conn.execute(
                select(Rep.name, func.count())
                .select_from(Deal)
                .join(Rep, Deal.rep_id == Rep.id)
                .where(Deal.status == "won")
                .group_by(Rep.name)
            ).all()
        )
        won_amount = dict(
            conn.execute(
                select(Rep.name, func.sum(Deal.amount))
                .select_from(Deal)
                .join(Rep, Deal.rep_id == Rep.id)
                .where(Deal.status == "won")
                .group_by(Rep.name)
            ).all()
        )
        epoch_call = conn.scalar(
            select(Activity.occurred_at).where(Activity.external_id == planted.epoch_call[0])
        )
        won_deal = conn.execute(
            select(Deal.status, Deal.closed_at).where(Deal.external_id == planted.won_deal[0])
        ).one()
    assert minutes == pytest.approx(planted.call_minutes)
    assert linked == planted.linked_to_deals
    assert won == dict(planted.won)
    assert won_amount == planted.won_amount
    # An hs_timestamp in epoch milliseconds lands on the same UTC instant.
    assert epoch_call == planted.epoch_call[1]
    assert won_deal == ("won", local_midnight(planted.won_deal[1]))
    # A second run of the same file changes nothing.
    again = run(
        engine, settings, folder / "calls.json", "activities", "hubspot:calls", tmp_path, **opts
    )
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, sum(planted.calls.values()))


def test_hubspots_deal_export_csv_imports_with_the_csv_mapping(
    engine: Engine, tmp_path: Path
) -> None:
    """HubSpot's export prints labels: "Deal Stage" is "Closed Won", "Deal owner" a name."""
    path = tmp_path / "hubspot-crm-exports-all-deals-2026-03-31.csv"
    header = [
        "Record ID",
        "Deal Name",
        "Deal Stage",
        "Close Date",
        "Deal owner",
        "Amount",
        "Create Date",
        "Pipeline",
    ]
    rows = [
        [
            "16823740001",
            "Acme renewal",
            "Closed Won",
            "2026-03-31 00:00",
            "Ana Ruiz",
            "12500",
            "2026-01-12 09:30",
            "Sales Pipeline",
        ],
        [
            "16823740002",
            "Globex pilot",
            "Qualified To Buy",
            "2026-05-15 00:00",
            "Ben Okafor",
            "4000",
            "2026-02-03 14:05",
            "Sales Pipeline",
        ],
        [
            "16823740003",
            "Initech",
            "Closed Lost",
            "2026-03-02 00:00",
            "Ana Ruiz",
            "800",
            "2026-01-20 11:00",
            "Sales Pipeline",
        ],
        [
            "16823740004",
            "Umbrella",
            "Closed Won",
            "2026-03-10 00:00",
            "Ben Okafor",
            "",
            "2026-01-21 11:00",
            "Sales Pipeline",
        ],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    loaded = load_mapping(mapping_path("hubspot:deals-csv"))
    assert loaded.reader is None  # the csv source
    result = import_file(
        engine,
        hubspot_settings(),
        path,
        "deals",
        loaded,
        ImportOptions(errors_path=tmp_path / "e.csv"),
    )
    assert (result.inserted, result.rejected) == (4, 0)  # Umbrella: amount unknown, kept
    with engine.connect() as conn:
        found = {
            r.external_id: (r.stage, r.status, r.closed_at)
            for r in conn.execute(select(Deal.external_id, Deal.stage, Deal.status, Deal.closed_at))
        }
    assert found == {
        "16823740001": ("closed_won", "won", local_midnight(dt.date(2026, 3, 31))),
        "16823740002": ("qualified_to_buy", "open", None),
        "16823740003": ("closed_lost", "lost", local_midnight(dt.date(2026, 3, 2))),
        "16823740004": ("closed_won", "won", local_midnight(dt.date(2026, 3, 10))),
    }


def test_companies_import_whatever_their_owner_as_an_account_needs_none(
    engine: Engine, tmp_path: Path
) -> None:
    companies = write_json(
        tmp_path / "companies.json",
        {
            "results": [
                {
                    "id": "301",
                    "properties": {
                        "hs_object_id": "301",
                        "name": "Acme",
                        "hubspot_owner_id": "555",
                    },
                },
                {
                    "id": "302",
                    "properties": {
                        "hs_object_id": "302",
                        "name": "Globex",
                        "hubspot_owner_id": None,
                    },
                },
            ]
        },
    )
    result = run(engine, hubspot_settings(), companies, "accounts", "hubspot:companies", tmp_path)
    assert (result.inserted, result.rejected) == (2, 0)


def test_a_whole_export_folder_imports_in_one_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/hubspot.md's short way: `import stages`, paste, `import folder`."""
    from typer.testing import CliRunner

    from paceline.cli import app

    def cli(*args: str) -> tuple[int, str]:
        got = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path / 'p.db'}", *args])
        return got.exit_code, got.output

    export = tmp_path / "export"
    export.mkdir()
    planted = generate_portal(export)
    monkeypatch.chdir(tmp_path)
    assert cli("init")[0] == 0
    code, stages = cli("import", "stages", str(export / "pipelines.json"), "--from", "hubspot-json")
    assert code == 0
    config = tmp_path / "paceline.toml"
    config.write_text(config.read_text("utf-8") + "\n" + stages, "utf-8")
    code, output = cli("import", "folder", str(export), "--crm", "hubspot", "--json")
    assert code == 0, output
    results = {Path(r["file"]).name: r for r in json.loads(output)}
    assert list(results) == [
        "owners.json",
        "deals.json",
        "calls.json",
        "meetings.json",
        "emails.json",
    ]
    assert results["calls.json"]["inserted"] == sum(planted.calls.values())
    assert results["calls.json"]["skipped"] == planted.skipped["calls"]
    assert results["deals.json"]["inserted"] == 300
    (export / "pipelines.json").unlink()
    code, output = cli("import", "folder", str(export), "--crm", "hubspot")
    assert code == 1 and "deals.json needs pipelines.json" in " ".join(output.split())


def in_zone(settings: Settings, zone: str) -> Settings:
    text = default_config_text().replace('timezone = "America/New_York"', f'timezone = "{zone}"', 1)
    base = parse_settings(text, origin="test")
    extra = stages_toml(list(DEFAULT_PIPELINE), [s.name for s in base.stages])
    return parse_settings(text + "\n" + extra, origin="test")


def test_a_closedate_late_in_the_utc_day_counts_on_the_teams_local_day(
    engine: Engine, tmp_path: Path
) -> None:
    """HubSpot gives every date in UTC. A deal won at 23:30 UTC on March 31 was won on
    April 1 in Berlin (01:30 CEST): it was counted on March 31, in the first quarter. The
    same instant in epoch milliseconds (1774999800000) and an open deal's expected close
    read the same way; a picked date (midnight UTC) stays on its day."""

    def deal(ident: str, stage: str, closedate: str) -> dict[str, Any]:
        record = deal_record(ident, stage, "101")
        record["properties"]["closedate"] = closedate
        return record

    deals = write_json(
        tmp_path / "deals.json",
        {
            "results": [
                deal("1", "closedwon", "2026-03-31T23:30:00Z"),
                deal("2", "closedwon", "1774999800000"),
                deal("3", "closedwon", "2026-03-31T00:00:00Z"),
                deal("4", "appointmentscheduled", "2026-03-31T23:30:00.000Z"),
            ]
        },
    )
    owners = write_json(
        tmp_path / "owners.json", [{"id": "101", "firstName": "Ana", "lastName": "Ruiz"}]
    )
    settings = in_zone(hubspot_settings(), "Europe/Berlin")
    result = run(engine, settings, deals, "deals", "hubspot:deals", tmp_path, owners=owners)
    assert (result.inserted, result.rejected) == (4, 0)
    with engine.connect() as conn:
        stored = {
            ident: (closed, expected)
            for ident, closed, expected in conn.execute(
                select(Deal.external_id, Deal.closed_at, Deal.expected_close)
            )
        }
    april_1 = local_midnight(dt.date(2026, 4, 1), "Europe/Berlin")  # 2026-03-31 22:00 UTC
    march_31 = local_midnight(dt.date(2026, 3, 31), "Europe/Berlin")
    assert stored["1"][0] == april_1
    assert stored["2"][0] == april_1
    assert stored["3"][0] == march_31
    assert stored["4"] == (None, dt.date(2026, 4, 1))
