"""Salesforce exports: the real sample files, a generated org in the same layout, awkward rows.

The real files (shared/data/crm_samples/salesforce, see PROVENANCE.md there) are demo-org
extracts: sparse, one owner, mostly open tasks and bulk-loaded deals. Their expected figures
below were counted by hand from the files (the comments say how); the field values checked
are read off the file's lines. Volume and the analyses are tested on `salesforce_org`, a
generated org whose planted truth is counted while the files are written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Engine, func, insert, select
from typer.testing import CliRunner

from factories import quick_user
from paceline import plugins
from paceline.analytics.funnel import funnel
from paceline.analytics.metrics import metric_totals
from paceline.analytics.pipeline_history import forecast_scope, snapshot, stage_history_usable
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.window import Window
from paceline.cli import app as cli_app
from paceline.config import Settings, default_config_text, parse_settings
from paceline.ingest.accounting import IgnoredOwner, ImportOptions, ImportResult
from paceline.ingest.crm.salesforce import (
    OBJECTS,
    REFERENCE,
    SKIP_REASONS,
    CsvExportTable,
    Owners,
    id18,
    object_named,
    raw_records,
)
from paceline.ingest.crm.salesforce_folder import LeftOut, import_folder, plan_folder
from paceline.ingest.crm.shipped import resolve_mapping, shipped_mappings
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.importer import import_file
from paceline.ingest.mapping import Entity, MappingError
from paceline.ingest.placeholders import PLACEHOLDERS_REMOVED, KeptPlaceholder
from paceline.ingest.sources import ReadOptions
from paceline.ingest.writers import ACTIVITIES_LINKED, CLOSED_BEFORE_CREATED
from paceline.store.models import (
    Account,
    Activity,
    Contact,
    Deal,
    DealStageHistory,
    Rep,
    Target,
)
from salesforce_org import PICKLIST, REPS, Truth, generate_org

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "crm_samples" / "salesforce"
ORMDEMO = SAMPLES / "sfdc-assets-ormdemo"
WORKSHOP = SAMPLES / "sfdc-assets-data-cloud-workshop"
DATA_EXPORT = SAMPLES / "elastic-dbt-duckdb-dataexport"
TREE = SAMPLES / "sfdc-assets-event-monitoring-demo"
HACKATHON = SAMPLES / "stomita-tdx2025-hackathon"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the Salesforce sample exports are not at {SAMPLES}"
)
NOW = dt.datetime(2026, 12, 7, 12)  # "in the future" is measured from here


def _without_stages(text: str) -> str:
    kept, in_stage = [], False
    for line in text.splitlines():
        if line.startswith("[[stages]]"):
            in_stage = True
            continue
        if in_stage and (line.startswith("[") or line.startswith("# ---")):
            in_stage = False
        if not in_stage:
            kept.append(line)
    return "\n".join(kept)


# The [[stages]] block docs/salesforce.md tells a user to add for the standard picklist.
STANDARD_STAGES = """
[[stages]]
name = "prospecting"
probability = 0.1

[[stages]]
name = "qualification"
probability = 0.1

[[stages]]
name = "needs_analysis"
probability = 0.2

[[stages]]
name = "value_proposition"
probability = 0.5

[[stages]]
name = "id_decision_makers"
probability = 0.6

[[stages]]
name = "perception_analysis"
probability = 0.7

[[stages]]
name = "proposal_price_quote"
probability = 0.75

[[stages]]
name = "negotiation_review"
probability = 0.9

[[stages]]
name = "closed_won"
status = "won"
probability = 1

[[stages]]
name = "closed_lost"
status = "lost"
probability = 0
"""


@pytest.fixture(scope="module")
def sf_settings() -> Settings:
    """The default configuration with Salesforce's standard stage picklist as its stages."""
    return parse_settings(_without_stages(default_config_text()) + "\n" + STANDARD_STAGES)


def run(
    engine: Engine,
    settings: Settings,
    path: Path,
    obj: str | None,
    tmp_path: Path,
    reader: str = "salesforce",
    **options: object,
) -> ImportResult:
    """Import one file as `paceline import ENTITY FILE --mapping salesforce:OBJ` does."""
    mapping = resolve_mapping(f"salesforce:{obj}") if obj else None
    entity = cast(Entity, mapping.entity if mapping else options.pop("entity"))
    errors = tmp_path / f"{path.stem}.errors.csv"
    opts = ImportOptions(errors_path=errors, now=NOW, **options)  # type: ignore[arg-type]
    reader_source = plugins.import_source(reader)
    return import_file(engine, settings, path, entity, mapping, opts, None, reader_source)


def counts(r: ImportResult) -> tuple[int, ...]:
    return (r.read, r.inserted, r.updated, r.unchanged, r.duplicate, r.skipped, r.rejected)


def reasons(r: ImportResult) -> dict[str, int]:
    return {f"{field}: {reason}": rows for field, reason, rows, _ in r.rejected_by_reason}


# --- ids, names, mappings ---------------------------------------------------------------------


def test_15_character_ids_gain_the_checksum_salesforce_gives() -> None:
    """Pairs read off the real exports: the 18-character id Salesforce wrote, and its first
    15 characters (what a report prints)."""
    assert id18("0051U000003DQo8") == "0051U000003DQo8QAG"
    assert id18("006Ec00000AieKF") == "006Ec00000AieKFIAZ"
    assert id18("006Hp000015Yh8C") == "006Hp000015Yh8CIAS"
    assert id18("0051U000003DQo8QAG") == "0051U000003DQo8QAG"  # already 18
    assert id18("000000000000000AAA") == ""  # Data Export's "no record"
    assert id18("@AccountRef1") == "AccountRef1"  # a tree export's reference
    assert id18("0060000000000001") == "0060000000000001"  # a made-up id is kept


def test_files_are_recognised_by_object_name() -> None:
    assert object_named("Task.csv") == "Task"
    assert object_named("opportunity.csv") == "Opportunity"
    assert object_named("Opportunitys.json") == "Opportunity"
    assert object_named("timeline-Events.json") == "Event"
    assert object_named("OpportunityHistory.csv") == "OpportunityHistory"
    assert object_named("notes.csv") is None


def test_shipped_mappings_are_named_crm_colon_object(tmp_path: Path) -> None:
    assert shipped_mappings()["salesforce"] == sorted(
        ["User", "Account", "Contact", "Opportunity", "OpportunityHistory", "Task", "Event"]
    )
    task = resolve_mapping("salesforce:task")  # case does not matter
    assert (task.entity, task.source, task.reader) == ("activities", "salesforce", "salesforce")
    with pytest.raises(MappingError, match=r"not a shipped mapping \(shipped: .*salesforce:Task"):
        resolve_mapping("salesforce:Lead")
    for name, sobject in OBJECTS.items():  # each object's mapping is for its entity
        assert resolve_mapping(f"salesforce:{name}").entity == sobject.entity
    skipped = {
        value
        for name in ("Task", "Event")
        for value in resolve_mapping(f"salesforce:{name}").skip["paceline:skip"]
    }
    assert skipped == set(SKIP_REASONS)  # every reason the reader gives is skipped somewhere
    own = tmp_path / "mine.toml"
    own.write_text('entity = "reps"\n[columns]\nname = "Full Name"\n')
    assert resolve_mapping(str(own)).entity == "reps"


# --- the real files ----------------------------------------------------------------------------


@needs_samples
def test_ormdemo_tasks_only_the_completed_one_is_an_activity(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Task.csv: 158 rows; IsClosed is 1 on one row only (line 146, Status Completed, "Send
    Letter", ActivityDate 2021-01-05, TaskSubtype Task, no Type); the 157 others are open
    to-dos. There is no User export, so its owner is a rep named by the OwnerId."""
    first = run(engine, settings, ORMDEMO / "Task.csv", "Task", tmp_path)
    assert counts(first) == (158, 1, 0, 0, 0, 157, 0)
    assert first.notes == {"skipped, open task": 157}
    again = run(engine, settings, ORMDEMO / "Task.csv", "Task", tmp_path)
    assert counts(again) == (158, 0, 0, 1, 0, 157, 0)
    with engine.connect() as conn:
        row = conn.execute(
            select(Activity.kind, Activity.occurred_at, Activity.local_date, Rep.name)
            .join(Rep, Rep.id == Activity.rep_id)
            .where(Activity.external_id == "00T1U00002H5QeXUAV")
        ).one()
    # A calendar date counts on that day: midnight in New York, 05:00 UTC in January.
    assert row == ("admin", dt.datetime(2021, 1, 5, 5), dt.date(2021, 1, 5),
                   "salesforce user 0051U000003DQo8QAG")  # fmt: skip


@needs_samples
def test_workshop_opportunities_with_their_offsets_and_refusals(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Opportunity.csv (50 rows), with the default stages. StageName counts: Qualification 9,
    Negotiation 9 (both default stages), Discovery 9 and Proposal/Quote 8 (not), Closed Won
    12 and Closed Lost 3. Every closed one has CloseDate in 2023 and CreatedDate
    2024-01-22 (the org was bulk-loaded): closed before created, kept on its close date with
    a warning counted in the report (15). So 33 in, 17 out (the stages).
    Read with --timezone America/New_York: "+0000" timestamps must not move."""
    result = run(
        engine, settings, WORKSHOP / "Opportunity.csv", "Opportunity", tmp_path,
        timezone="America/New_York",
    )  # fmt: skip
    assert counts(result) == (50, 33, 0, 0, 0, 0, 17)
    assert result.notes[CLOSED_BEFORE_CREATED] == 15
    assert reasons(result) == {
        "stage: unknown stage 'Discovery' (known: prospect, qualification, needs_analysis, "
        "proposal, negotiation, closed_won, closed_lost); add it to [[stages]] in the "
        "configuration or map it to a known stage in the mapping file": 9,
        "stage: unknown stage 'Proposal/Quote'; did you mean 'proposal'?; add it to "
        "[[stages]] in the configuration or map it to a known stage in the mapping file": 8,
    }
    with engine.connect() as conn:
        deal = conn.execute(
            select(Deal.name, Deal.stage, Deal.status, Deal.amount, Deal.created_at,
                   Deal.expected_close).where(Deal.external_id == "006Ec00000AieKFIAZ")
        ).one()  # fmt: skip
    # Line 2: Qualification, 1124741.15, CloseDate 2024-11-10, 2024-01-22T16:14:25.000+0000.
    assert deal == (
        "Patterson-Hansen - Merchant Services - November 2024", "qualification", "open",
        Decimal("1124741.15"), dt.datetime(2024, 1, 22, 16, 14, 25), dt.date(2024, 11, 10),
    )  # fmt: skip


@needs_samples
def test_a_won_row_reads_as_won_on_its_close_date() -> None:
    """Line 3 of the workshop's Opportunity.csv: 006Ec00000AieKGIAZ, Closed Won, IsWon 1,
    CloseDate 2023-06-17. IsClosed is empty on the open rows (false, as Data Loader
    writes it): they read as open, not as unknown."""
    table = CsvExportTable(WORKSHOP / "Opportunity.csv", ReadOptions(), Owners(None))
    try:
        rows = {row[0]: dict(zip(table.header, row, strict=True)) for _, row, _ in table.rows()}
    finally:
        table.close()
    won = rows["006Ec00000AieKGIAZ"]
    assert (won["paceline:status"], won["CloseDate"], won["IsWon"]) == ("won", "2023-06-17", "1")
    assert rows["006Ec00000AieKFIAZ"]["paceline:status"] == "open"
    lost = rows["006Ec00000AieKaIAJ"]  # Closed Lost: IsClosed 1, IsWon empty
    assert lost["paceline:status"] == "lost"
    assert sum(r["paceline:status"] == "won" for r in rows.values()) == 12


@needs_samples
def test_workshop_tasks_are_all_open_to_dos(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Task.csv: 75 rows, every Status "Not Started" (IsClosed empty): no activity yet, and
    the import says so, not only "75 skipped"."""
    result = run(engine, settings, WORKSHOP / "Task.csv", "Task", tmp_path)
    assert counts(result) == (75, 0, 0, 0, 0, 75, 0)
    assert result.notes == {"skipped, open task": 75}


@needs_samples
def test_data_export_with_its_stage_history(
    engine: Engine, sf_settings: Settings, tmp_path: Path
) -> None:
    """The weekly Data Export: 0/1 booleans, "2023-10-28 20:45:25" times (UTC), dates
    printed "2023-09-06 00:00:00". opportunity.csv: 31 rows, 18 Closed Won (CloseDate before
    the load's CreatedDate: kept, and counted as a warning), 13 open in the standard stages.
    OpportunityHistory.csv: 2 rows per opportunity, both at the load instant with the same
    stage and amount: for the 13 open deals, the first is the entry the deal import already
    made (unchanged), the second a duplicate; see the won ones below."""
    deals = run(engine, sf_settings, DATA_EXPORT / "opportunity.csv", "Opportunity", tmp_path)
    assert counts(deals) == (31, 31, 0, 0, 0, 0, 0)
    assert deals.notes[CLOSED_BEFORE_CREATED] == 18
    history = run(
        engine, sf_settings, DATA_EXPORT / "OpportunityHistory.csv", "OpportunityHistory",
        tmp_path,
    )  # fmt: skip
    # The 18 won deals: their first row (Closed Won at the load instant) replaces the entry the
    # deal import guessed at the CloseDate, their second repeats it (a duplicate).
    assert counts(history) == (62, 18, 0, 13, 31, 0, 0)
    assert counts(run(engine, sf_settings, DATA_EXPORT / "OpportunityHistory.csv",
                      "OpportunityHistory", tmp_path)) == (62, 0, 0, 31, 31, 0, 0)  # fmt: skip
    with engine.connect() as conn:
        deal = conn.execute(
            select(Deal.id, Deal.name, Deal.stage, Deal.amount, Deal.created_at,
                   Deal.expected_close).where(Deal.external_id == "006Hp000015Yh7kIAC")
        ).one()  # fmt: skip
        entries = conn.execute(
            select(DealStageHistory.stage, DealStageHistory.entered_at).where(
                DealStageHistory.deal_id == deal.id
            )
        ).all()
    assert tuple(deal)[1:] == (
        "Dickenson Mobile Generators",
        "qualification",
        Decimal(15000),
        dt.datetime(2023, 10, 28, 20, 45, 25),
        dt.date(2023, 9, 6),
    )
    assert entries == [("qualification", dt.datetime(2023, 10, 28, 20, 45, 25))]


@needs_samples
def test_exports_without_owner_or_creation_are_refused_whole(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The tree export's query (Opportunities-Export.soql) selects OwnerId, but the tree
    file has no OwnerId and no CreatedDate (278 records); the hackathon files have neither
    either. Deals need both: the file is refused before anything is written."""
    with pytest.raises(ImportFileError, match=r"needs the column\(s\) CreatedDate, OwnerId"):
        run(engine, settings, TREE / "Opportunitys.json", "Opportunity", tmp_path, "sfdx-tree")
    with pytest.raises(ImportFileError, match=r"needs the column\(s\) CreatedDate, OwnerId"):
        run(engine, settings, HACKATHON / "Opportunity.csv", "Opportunity", tmp_path)
    with pytest.raises(ImportFileError, match=r"Task export needs the column\(s\) OwnerId"):
        run(engine, settings, HACKATHON / "Task.csv", "Task", tmp_path)
    with pytest.raises(ImportFileError, match=r"Event export needs the column\(s\) OwnerId"):
        run(engine, settings, ORMDEMO / "timeline-Events.json", None, tmp_path, "sfdx-tree",
            entity="activities")  # fmt: skip
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Deal)).scalar_one() == 0


@needs_samples
def test_tree_exports_read_every_record() -> None:
    """Opportunitys.json holds 278 records (`grep -c referenceId`), the ormDemo timeline
    files 9 events and 17 tasks (PROVENANCE.md). Each record's referenceId stands in for the
    Id a tree export leaves out; numbers (Amount 3000) read as their text. None has OwnerId,
    so none can be imported as such (see the test above)."""
    read = ReadOptions()
    for path, records in ((ORMDEMO / "timeline-Events.json", 9),
                          (ORMDEMO / "timeline-Tasks.json", 17),
                          (TREE / "Opportunitys.json", 278)):  # fmt: skip
        rows = list(raw_records(path, read))
        assert len(rows) == records
    assert (TREE / "Opportunitys.json").read_text("utf-8").count('"referenceId"') == 278
    first = rows[0]  # "Roseburg Sound Products Co-45K", Closed Won, 3000, 2020-04-02
    assert (first[REFERENCE], first["Name"], first["StageName"], first["Amount"],
            first["CloseDate"]) == ("OpportunityRef1", "Roseburg Sound Products Co-45K",
                                    "Closed Won", "3000", "2020-04-02")  # fmt: skip
    task = next(raw_records(ORMDEMO / "timeline-Tasks.json", read))
    assert (task[REFERENCE], task["WhoId"], task["ActivityDate"]) == (
        "TaskRef1", "@ContactRef1", "2021-02-28",
    )  # fmt: skip
    assert id18(task["WhoId"]) == "ContactRef1"


# --- a tree export with owners -----------------------------------------------------------------


def test_tree_layout_imports_with_its_users(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A tree export folder with Users.json: events link owner and contact by reference."""
    folder = tmp_path / "tree"
    folder.mkdir()

    def tree(name: str, kind: str, records: list[dict[str, object]]) -> None:
        body = [{"attributes": {"type": kind, "referenceId": f"{kind}Ref{i}"}, **r}
                for i, r in enumerate(records, start=1)]  # fmt: skip
        (folder / name).write_text(json.dumps({"records": body}))

    tree("Users.json", "User", [{"Id": "0055g0000000001AAA", "FirstName": "Ana",
                                  "LastName": "Ruiz", "IsActive": True}])  # fmt: skip
    tree("Contacts.json", "Contact", [{"FirstName": "Bo", "LastName": "Chen"}])
    tree("Events.json", "Event", [
        {"OwnerId": "0055g0000000001AAA", "WhoId": "@ContactRef1", "Subject": "Demo",
         "ActivityDateTime": "2026-11-03T15:00:00.000+0000", "DurationInMinutes": 45},
        {"OwnerId": "0055g0000000001AAA", "Subject": "Holiday", "IsAllDayEvent": True,
         "ActivityDate": "2026-11-04", "DurationInMinutes": 1440},
    ])  # fmt: skip
    done = import_folder(engine, settings, folder, ImportOptions(now=NOW), tmp_path)
    assert [(obj, counts(r)) for obj, r in done.results] == [
        ("User", (1, 1, 0, 0, 0, 0, 0)),
        ("Contact", (1, 1, 0, 0, 0, 0, 0)),
        ("Event", (2, 1, 0, 0, 0, 1, 0)),
    ]
    with engine.connect() as conn:
        row = conn.execute(
            select(Rep.name, Activity.kind, Activity.duration_min, Activity.occurred_at,
                   Contact.name)
            .join(Rep, Rep.id == Activity.rep_id).join(Contact, Contact.id == Activity.contact_id)
        ).one()  # fmt: skip
    assert tuple(row) == ("Ana Ruiz", "meeting", 45.0, dt.datetime(2026, 11, 3, 15), "Bo Chen")


# --- awkward rows --------------------------------------------------------------------------------


def _write(path: Path, header: str, *lines: str) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_awkward_rows_are_refused_by_name(
    engine: Engine, sf_settings: Settings, tmp_path: Path
) -> None:
    """An OwnerId missing from User.csv, a stage the configuration lacks, a queue as owner
    are refused by name; the good rows beside them get in, and so does an open deal without
    an Amount, stored with its amount unknown (NULL), never as 0."""
    folder = tmp_path / "org"
    folder.mkdir()
    _write(folder / "User.csv", "Id,Name", "0055g0000000001AAA,Ana Ruiz")
    _write(
        folder / "Opportunity.csv",
        "Id,Name,StageName,Amount,CloseDate,CreatedDate,OwnerId,IsClosed,IsWon",
        "0065g0000000001AAA,Good,Closed Won,5000,2026-03-10,2026-02-01T10:00:00.000+0000,"
        "0055g0000000001AAA,true,true",
        "0065g0000000002AAA,Nobody,Prospecting,100,2026-05-01,2026-02-01T10:00:00.000+0000,"
        "0055g0000000009AAA,false,false",
        "0065g0000000003AAA,Odd stage,Discovery,100,2026-05-01,2026-02-01T10:00:00.000+0000,"
        "0055g0000000001AAA,false,false",
        "0065g0000000004AAA,No amount,Qualification,,2026-05-01,2026-02-01T10:00:00.000+0000,"
        "0055g0000000001AAA,false,false",
        "0065g0000000005AAA,Queued,Qualification,10,2026-05-01,2026-02-01T10:00:00.000+0000,"
        "00G5g0000000001AAA,false,false",
    )
    done = import_folder(engine, sf_settings, folder, ImportOptions(now=NOW), tmp_path)
    result = dict(done.results)["Opportunity"]
    assert counts(result) == (5, 2, 0, 0, 0, 0, 3)
    found = {line: (field, reason) for line, field, reason in result.first_errors}
    assert found[3] == (
        "",
        "OwnerId '0055g0000000009AAA' is not a user in User.csv: export that user with the "
        "others (rows are never credited to a made-up rep)",
    )
    assert found[4][0] == "stage" and "unknown stage 'Discovery'" in found[4][1]
    assert 5 not in found
    assert found[6] == ("", "OwnerId '00G5g0000000001AAA' is a queue, not a user: assign "
                        "the record first")  # fmt: skip
    errors = (tmp_path / "Opportunity.errors.csv").read_text("utf-8")
    assert "No amount" not in errors and "Good" not in errors
    with engine.connect() as conn:
        won = conn.execute(select(Deal.status, Deal.closed_at, Deal.amount, Rep.name)
                           .join(Rep, Rep.id == Deal.rep_id)
                           .where(Deal.name == "Good")).one()  # fmt: skip
        unknown = conn.execute(select(Deal.amount).where(Deal.name == "No amount")).scalar_one()
        assert conn.execute(select(func.count()).select_from(Rep)).scalar_one() == 1
    assert unknown is None
    # IsWon true: won, on its CloseDate (a calendar date: New York midnight, on daylight
    # time since March 8, so 04:00 UTC).
    assert tuple(won) == ("won", dt.datetime(2026, 3, 10, 4), Decimal(5000), "Ana Ruiz")


def test_a_picklist_the_configuration_lacks_stops_the_folder_before_any_write(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "org"
    generate_org(folder, tasks=50, events=10)
    with pytest.raises(ImportFileError) as caught:
        import_folder(engine, settings, folder, ImportOptions(now=NOW), tmp_path)
    message = str(caught.value)
    assert "Prospecting, Value Proposition, Id. Decision Makers" in message
    assert '[[stages]]\nname = "id_decision_makers"\nprobability = 0.6' in message
    assert '[[stages]]\nname = "closed_won"\nstatus = "won"\nprobability = 1' in message
    # The block it prints is the configuration the test's sf_settings use.
    printed = message[message.index("\n\n[[stages]]") :].strip()
    assert parse_settings(_without_stages(default_config_text()) + "\n" + printed).stages == (
        parse_settings(_without_stages(default_config_text()) + STANDARD_STAGES).stages
    )
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Rep)).scalar_one() == 0


def test_history_of_an_unknown_deal_and_an_unknown_stage_is_refused(
    engine: Engine, sf_settings: Settings, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "OpportunityHistory.csv",
        "Id,OpportunityId,StageName,Amount,CreatedDate",
        "0085g0000000001AAA,0065g0000000042AAA,Prospecting,10,2026-01-02T10:00:00.000+0000",
        "0085g0000000002AAA,0065g0000000042AAA,Initial Offer,10,2026-01-05T10:00:00.000+0000",
    )
    result = run(engine, sf_settings, path, "OpportunityHistory", tmp_path)
    assert counts(result) == (2, 0, 0, 0, 0, 0, 2)
    assert [(line, field) for line, field, _ in result.first_errors] == [
        (3, "stage"),
        (2, "deal_ref"),
    ]
    assert result.first_errors[1][2].startswith(
        "no deal with this deal_ref from source 'salesforce' (import the deals first"
    )
    errors = (tmp_path / "OpportunityHistory.errors.csv").read_text("utf-8")
    assert "0065g0000000042AAA" in errors.splitlines()[2]  # the row, with its id


# --- --skip and --owner: an export that cannot import whole -----------------------------------


def _tree(path: Path, kind: str, records: list[dict[str, object]]) -> Path:
    body = [{"attributes": {"type": kind, "referenceId": f"{kind}Ref{i}"}, **r}
            for i, r in enumerate(records, start=1)]  # fmt: skip
    path.write_text(json.dumps({"records": body}), "utf-8")
    return path


def test_owner_credits_only_the_files_without_an_owner_column(
    engine: Engine, sf_settings: Settings, tmp_path: Path
) -> None:
    """--owner Sam Lee: Task.csv has no OwnerId column, so its two done tasks are Sam's (the
    open one is skipped); Opportunity.csv has the column, so its rows keep their own owner
    and the row whose OwnerId is empty is refused as before, never given to Sam."""
    folder = tmp_path / "org"
    folder.mkdir()
    _write(folder / "User.csv", "Id,Name", "0055g0000000001AAA,Ana Ruiz")
    _write(
        folder / "Opportunity.csv",
        "Id,Name,StageName,Amount,CloseDate,CreatedDate,OwnerId,IsClosed,IsWon",
        "0065g0000000001AAA,Ana's,Prospecting,100,2026-05-01,2026-02-01T10:00:00.000+0000,"
        "0055g0000000001AAA,false,false",
        "0065g0000000002AAA,Nobody's,Prospecting,100,2026-05-01,2026-02-01T10:00:00.000+0000,"
        ",false,false",
    )
    _write(
        folder / "Task.csv",
        "Id,Subject,ActivityDate,Status,WhatId",
        "00T5g0000000001AAA,Call back,2026-11-02,Completed,0065g0000000001AAA",
        "00T5g0000000002AAA,Send deck,2026-11-03,Completed,",
        "00T5g0000000003AAA,Later,2026-11-20,Not Started,",
    )
    plan = plan_folder(sf_settings, folder, ImportOptions(now=NOW), owner=" Sam  Lee ")
    assert (plan.owner, plan.owner_files, plan.left_out) == ("Sam Lee", ["Task.csv"], [])
    done = import_folder(engine, sf_settings, folder, ImportOptions(now=NOW), tmp_path, plan=plan)
    assert [(obj, counts(r)) for obj, r in done.results] == [
        ("User", (1, 1, 0, 0, 0, 0, 0)),
        ("Opportunity", (2, 1, 0, 0, 0, 0, 1)),
        ("Task", (3, 2, 0, 0, 0, 1, 0)),
    ]
    assert (done.owner, done.owner_files) == ("Sam Lee", ["Task.csv"])
    assert reasons(dict(done.results)["Opportunity"]) == {
        ": OwnerId is empty: the row has no owner to credit": 1
    }
    with engine.connect() as conn:
        deals = conn.execute(select(Deal.name, Rep.name).join(Rep, Rep.id == Deal.rep_id)).all()
        tasks = conn.execute(
            select(Activity.external_id, Rep.name, Activity.deal_id.is_not(None))
            .join(Rep, Rep.id == Activity.rep_id)
            .order_by(Activity.external_id)
        ).all()
    assert [tuple(d) for d in deals] == [("Ana's", "Ana Ruiz")]
    assert [tuple(t) for t in tasks] == [
        ("00T5g0000000001AAA", "Sam Lee", True),  # its WhatId is Ana's deal
        ("00T5g0000000002AAA", "Sam Lee", False),
    ]


def test_skip_names_the_file_left_out_and_the_rest_imports(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Two files for Task: refused with the --skip that resolves it; with it, the other
    file imports and the one left out is named, with its object, as not absent."""
    folder = tmp_path / "org"
    folder.mkdir()
    _write(
        folder / "Task.csv",
        "Id,OwnerId,Subject,ActivityDate,Status",
        "00T5g0000000001AAA,0055g0000000001AAA,Call back,2026-11-02,Completed",
    )
    _tree(folder / "timeline-Tasks.json", "Task", [{"Subject": "Old", "Status": "Completed"}])
    with pytest.raises(ImportFileError) as caught:
        import_folder(engine, settings, folder, ImportOptions(now=NOW), tmp_path)
    assert str(caught.value).endswith(
        "two files for Task (Task.csv, timeline-Tasks.json); keep one, or name the one to "
        "leave out: --skip timeline-Tasks.json or --skip Task.csv"
    )
    named_twice = ("timeline-Tasks.json", "timeline-Tasks.json")
    plan = plan_folder(settings, folder, ImportOptions(now=NOW), skip=named_twice)
    assert plan.left_out == [LeftOut("timeline-Tasks.json", "Task", "--skip")]
    done = import_folder(engine, settings, folder, ImportOptions(now=NOW), tmp_path, plan=plan)
    assert [(obj, counts(r)) for obj, r in done.results] == [("Task", (1, 1, 0, 0, 0, 0, 0))]
    assert "Task" not in done.absent and done.left_out == plan.left_out
    with pytest.raises(ImportFileError, match=r"^--skip Tasks\.json: no file of that name in "):
        plan_folder(settings, folder, skip=("Tasks.json",))


def test_a_refused_file_stops_the_folder_before_any_write(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """--owner does not make up a CreatedDate: deals without one are refused with why, and
    the folder's good Task.csv (an owner of its own) is not written either."""
    folder = tmp_path / "org"
    folder.mkdir()
    _write(
        folder / "Task.csv",
        "Id,OwnerId,Subject,ActivityDate,Status",
        "00T5g0000000001AAA,0055g0000000001AAA,Call back,2026-11-02,Completed",
    )
    _write(
        folder / "Opportunity.csv",
        "Id,Name,StageName,Amount,CloseDate",
        "0065g0000000001AAA,Big,Closed Won,100,2026-05-01",
    )
    with pytest.raises(ImportFileError) as caught:
        plan_folder(settings, folder, owner="Sam Lee")
    assert str(caught.value) == (
        "Opportunity.csv: a Salesforce Opportunity export needs the column(s) CreatedDate; "
        "export them too (in Data Loader, or in the SOQL query of a tree export); a deal "
        "without CreatedDate cannot be placed in time, and is never guessed; `paceline import "
        "salesforce` can leave the file out with --skip Opportunity.csv"
    )
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(Rep)).scalar_one() == 0


# --- the generated org, end to end ------------------------------------------------------------


@pytest.mark.slow
def test_generated_org_end_to_end(engine: Engine, sf_settings: Settings, tmp_path: Path) -> None:
    """~5,000 tasks, 500 events, 150 opportunities with shuffled history; every row is
    accounted for as the generator planted it, a re-run changes nothing, and the funnel, the
    metric totals behind the scorecards and the stage history agree with the planted truth."""
    folder = tmp_path / "org"
    truth = generate_org(folder, seed=11)
    done = import_folder(engine, sf_settings, folder, ImportOptions(now=NOW), tmp_path)
    assert not done.failed and done.absent == []
    for obj, result in done.results:
        assert result.read == truth.file_rows[obj], obj
        assert result.skipped == truth.skipped[obj], obj
        assert result.rejected == truth.rejected[obj], obj
        assert result.inserted + result.unchanged == truth.kept[obj], obj
        assert result.accounted == result.read, obj
    again = import_folder(engine, sf_settings, folder, ImportOptions(now=NOW), tmp_path)
    for obj, result in again.results:
        assert (result.inserted, result.updated) == (0, 0), obj
        assert result.unchanged == truth.kept[obj], obj

    start, end = dt.date(2026, 1, 1), dt.date(2026, 11, 1)
    everyone = funnel(engine, sf_settings, Window("custom", start, end), timing=False)
    planted = {
        "calls": sum(truth.calls.values()),
        "conversations": sum(truth.conversations.values()),
        "meetings_set": sum(truth.meetings_set.values()),
        "deals_won": sum(truth.won.values()),
    }
    assert {m: everyone.step(m).count for m in planted} == planted  # type: ignore[union-attr]

    # One rep's March, as the scorecard's metric engine totals it.
    rep = REPS[2]
    march = (dt.date(2026, 3, 1), dt.date(2026, 4, 1))

    def in_march(planted: Counter[tuple[str, dt.date]]) -> int:
        return sum(n for (r, d), n in planted.items() if r == rep and march[0] <= d < march[1])

    names = ["calls", "conversations", "meetings_set", "revenue"]
    ensure_rollup(engine, sf_settings)
    with engine.connect() as conn:
        rep_id = conn.execute(select(Rep.id).where(Rep.name == rep)).scalar_one()
        totals = metric_totals(conn, sf_settings, names, *march, [rep_id])
    got = {n: totals.get(rep_id, n) for n in names}
    assert got == {
        "calls": in_march(truth.calls),
        "conversations": in_march(truth.conversations),
        "meetings_set": in_march(truth.meetings_set),
        "revenue": in_march(truth.won_amount),
    }
    _check_history_and_links(engine, sf_settings, truth)


def _check_history_and_links(engine: Engine, settings: Settings, truth: Truth) -> None:
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Deal.external_id, Deal.id)).all())
        stored: dict[int, list[tuple[str, dt.datetime]]] = {}
        for deal_id, stage, entered in conn.execute(
            select(
                DealStageHistory.deal_id, DealStageHistory.stage, DealStageHistory.entered_at
            ).order_by(DealStageHistory.deal_id, DealStageHistory.entered_at)
        ):
            stored.setdefault(deal_id, []).append((stage, entered))
        seconds = dict(
            conn.execute(
                select(Activity.external_id, Activity.duration_min).where(
                    Activity.external_id.in_(list(truth.call_seconds)[:200])
                )
            ).all()
        )
        links = dict(
            conn.execute(
                select(Activity.external_id, Deal.external_id).join(
                    Deal, Deal.id == Activity.deal_id
                )
            ).all()
        )
        scope = forecast_scope(conn, None, None)
        cutoff = dt.datetime(2026, 6, 1)
        snap = snapshot(conn, scope, cutoff, dt.datetime(2025, 6, 1))
    slug = {label: re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") for label, *_ in PICKLIST}
    assert {ext: stored[ids[ext]] for ext in truth.paths} == {
        ext: [(slug[label], moment) for label, moment in path] for ext, path in truth.paths.items()
    }
    # A call's duration is its CallDurationInSeconds, in minutes.
    assert seconds == {
        k: pytest.approx(v / 60) for k, v in truth.call_seconds.items() if k in seconds
    }
    assert len(seconds) == 200
    # Tasks linked by WhatId (half of them written in the 15-character form) reach their deal.
    assert links == truth.task_deal
    assert len(links) > 300
    # The forecast reads real stage history, not a snapshot of current stages: as known on
    # June 1, each deal created by then is in the last stage it had entered before it (None
    # for one already closed then).
    assert stage_history_usable(snap)
    external = {deal_id: ext for ext, deal_id in ids.items()}
    known = {external[d.deal_id]: d.stage for d in snap.deals}
    expected = {}
    for ext, path in truth.paths.items():
        before = [label for label, moment in path if moment < cutoff]
        if before:
            expected[ext] = None if before[-1].startswith("Closed") else slug[before[-1]]
    assert {ext: known.get(ext, "missing") for ext in expected} == expected
    assert 40 < len(expected) < len(truth.paths)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Account)).scalar_one() == 40


# --- the command -------------------------------------------------------------------------------


def test_the_folder_command_prints_one_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paceline import salesforce DIR --json`, then one file again with --mapping
    salesforce:Task (the shipped name; its reader, salesforce, chosen by the mapping)."""
    folder = tmp_path / "org"
    truth = generate_org(folder, tasks=300, events=40)
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "paceline.toml").write_text(
        _without_stages(default_config_text()) + "\n" + STANDARD_STAGES
    )
    runner = CliRunner()
    db = ["--db", f"sqlite:///{tmp_path / 'p.db'}"]
    assert runner.invoke(cli_app, [*db, "init"]).exit_code == 0
    result = runner.invoke(
        cli_app,
        [*db, "import", "salesforce", str(folder), "--json", "--errors-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [obj for obj, _ in data["results"]] == [
        "User", "Account", "Contact", "Opportunity", "OpportunityHistory", "Task", "Event",
    ]  # fmt: skip
    assert data["totals"]["read"] == sum(truth.file_rows.values())
    assert data["totals"]["rejected"] == sum(truth.rejected.values())
    one = runner.invoke(
        cli_app,
        [*db, "import", "activities", str(folder / "Task.csv"), "--mapping", "salesforce:Task",
         "--json"],
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    assert json.loads(one.output)["unchanged"] == truth.kept["Task"]


def test_the_folder_command_says_what_it_leaves_out_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--skip` and `--owner` are said before the first file is imported, and again under
    the summary; `--json` carries them as fields."""
    folder = tmp_path / "org"
    folder.mkdir()
    _write(
        folder / "Task.csv",
        "Id,Subject,ActivityDate,Status",
        "00T5g0000000001AAA,Call back,2026-11-02,Completed",
    )
    _write(folder / "Opportunity.csv", "Id,Name,StageName,Amount", "0065g0000000001AAA,Big,X,1")
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    db = ["--db", f"sqlite:///{tmp_path / 'p.db'}"]
    assert runner.invoke(cli_app, [*db, "init"]).exit_code == 0
    command = [*db, "import", "salesforce", str(folder), "--skip", "Opportunity.csv"]
    refused = runner.invoke(cli_app, command)
    assert refused.exit_code == 1
    assert "--owner REP, or leave the file out with --skip Task.csv" in refused.output
    blank = runner.invoke(cli_app, [*command, "--owner", " "])
    assert blank.exit_code == 1 and "--owner" in blank.output
    assert "a rep's name, not an empty text" in blank.output
    result = runner.invoke(cli_app, [*command, "--owner", "Sam Lee"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    left = "left out: Opportunity.csv (Opportunity), --skip"
    owned = "Task.csv: no OwnerId column: every row credited to 'Sam Lee' (--owner)"
    first = lines.index("importing Task.csv ...")
    assert lines[:first] == [left, owned]
    assert lines[first + 1 :].count(left) == lines[first + 1 :].count(owned) == 1
    assert "no file for: User, Account, Contact, OpportunityHistory, Event" in lines
    again = runner.invoke(cli_app, [*command, "--owner", "Sam Lee", "--json"])
    data = json.loads(again.output)
    assert (data["left_out"], data["owner"], data["owner_files"]) == (
        [{"file": "Opportunity.csv", "object": "Opportunity", "reason": "--skip"}],
        "Sam Lee",
        ["Task.csv"],
    )
    assert data["totals"]["unchanged"] == 1


@needs_samples
def test_the_command_says_an_owner_it_does_not_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paceline import activities Task.csv --owner "Sam Lee"` on the ormdemo's Task.csv,
    which has OwnerId: said before the first row is written and under the summary, with the
    reason; `--json` carries it as `owner_ignored` (it had no word of it)."""
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    db = ["--db", f"sqlite:///{tmp_path / 'p.db'}"]
    assert runner.invoke(cli_app, [*db, "init"]).exit_code == 0
    command = [*db, "import", "activities", str(ORMDEMO / "Task.csv"), "--owner", "Sam Lee",
               "--mapping", "salesforce:Task", "--errors", str(tmp_path / "e.csv")]  # fmt: skip
    said = runner.invoke(cli_app, command)
    assert said.exit_code == 0, said.output
    unused = "--owner 'Sam Lee' not used: every row names its owner in OwnerId (Task.csv)"
    lines = said.output.splitlines()
    assert lines.count(unused) == 2, said.output
    assert lines.index(unused) < next(i for i, line in enumerate(lines) if "inserted" in line)
    data = json.loads(runner.invoke(cli_app, [*command, "--json"]).output)
    assert (data["owner"], data["unchanged"]) == ("", 1)
    assert data["owner_ignored"] == {
        "rep": "Sam Lee",
        "reason": "every row names its owner in OwnerId",
    }


def test_the_reader_picks_the_shipped_mapping_by_file_name(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """`paceline import activities Task.csv --from salesforce`, no --mapping: Task.csv is a
    Task export, read with salesforce:Task (a 15-character OwnerId still finds its user)."""
    _write(tmp_path / "User.csv", "Id,FirstName,LastName", "0055g0000000001AAA,Ana,Ruiz")
    path = _write(
        tmp_path / "Task.csv",
        "Id,OwnerId,TaskSubtype,Status,ActivityDate,CallDurationInSeconds,CallDisposition",
        "00T5g0000000001EAA,0055g0000000001,Call,Completed,2026-11-02,125,Left Voicemail",
    )
    result = run(engine, settings, path, None, tmp_path, entity="activities")
    assert counts(result) == (1, 1, 0, 0, 0, 0, 0)
    with engine.connect() as conn:
        row = conn.execute(
            select(Rep.name, Activity.kind, Activity.duration_min, Activity.outcome).join(
                Rep, Rep.id == Activity.rep_id
            )
        ).one()
    assert tuple(row) == ("Ana Ruiz", "call", pytest.approx(125 / 60), "voicemail")
    with pytest.raises(ImportFileError, match="the mapping is for activities, not deals"):
        run(engine, settings, path, None, tmp_path, entity="deals")


# --- --owner on one file, deals not imported, events linked to no prospect -------------------


def test_one_file_without_owner_id_is_credited_to_the_named_owner(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """`paceline import activities Task.csv --owner REP`, as the folder command's --owner:
    a file without an OwnerId column has every row credited to the rep (its name's spacing
    tidied); a file with the column keeps it, its empty OwnerId still refused; another
    reader refuses the option rather than ignore it."""
    bare = _write(
        tmp_path / "Task.csv",
        "\ufeffId,Subject,ActivityDate,Status,TaskSubtype",
        '00T5g0000000001AAA,"Call back, then email",2026-11-02,Completed,Call',
        "00T5g0000000002AAA,To do,2026-11-03,Not Started,Call",
    )
    result = run(engine, settings, bare, "Task", tmp_path, owner="  Sam   Lee ")
    assert counts(result) == (2, 1, 0, 0, 0, 1, 0)
    assert (result.owner, result.new_reps) == ("Sam Lee", ["Sam Lee"])
    owned = tmp_path / "owned"
    owned.mkdir()
    _write(owned / "User.csv", "Id,FirstName,LastName", "0055g0000000001AAA,Ana,Ruiz")
    with_column = _write(
        owned / "Task.csv",
        "Id,OwnerId,Subject,ActivityDate,Status,TaskSubtype",
        "00T5g0000000003AAA,0055g0000000001AAA,Call,2026-11-04,Completed,Call",
        "00T5g0000000004AAA,,Call,2026-11-05,Completed,Call",
    )
    result = run(engine, settings, with_column, "Task", tmp_path, owner="Sam Lee")
    assert counts(result) == (2, 1, 0, 0, 0, 0, 1)
    assert result.owner == ""
    assert reasons(result) == {": OwnerId is empty: the row has no owner to credit": 1}
    with engine.connect() as conn:
        by_rep = dict(
            conn.execute(
                select(Rep.name, func.count()).join(Activity, Activity.rep_id == Rep.id)
                .group_by(Rep.name)
            ).all()
        )  # fmt: skip
    assert by_rep == {"Sam Lee": 1, "Ana Ruiz": 1}
    generic = _write(tmp_path / "calls.csv", "rep,kind,occurred_at", "Ana,call,2026-11-02")
    with pytest.raises(ImportFileError, match="--owner: only Salesforce exports"):
        import_file(engine, settings, generic, "activities", None, ImportOptions(owner="Sam"))


@needs_samples
def test_an_owner_named_for_a_file_with_owner_id_is_reported_unused(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The ormdemo's Task.csv has OwnerId: `--owner Sam Lee` never overrides it, and the
    result says the name was not used and why, for every face to say (it was silent: the
    user believed the rows were Sam's). Its one done task stays its OwnerId's; no Sam Lee is
    made. An Account export credits no row to the name either, with its own reason."""
    result = run(engine, settings, ORMDEMO / "Task.csv", "Task", tmp_path, owner=" Sam  Lee ")
    assert counts(result) == (158, 1, 0, 0, 0, 157, 0)
    assert result.owner == ""
    assert result.owner_ignored == IgnoredOwner("Sam Lee", "every row names its owner in OwnerId")
    with engine.connect() as conn:
        assert conn.execute(select(Rep.name)).scalars().all() == [
            "salesforce user 0051U000003DQo8QAG"
        ]
    bare = _write(tmp_path / "Account.csv", "Id,Name", '0015g0000000001AAA,"Acme, Inc."')
    accounts = run(engine, settings, bare, "Account", tmp_path, owner="Sam Lee")
    assert counts(accounts) == (1, 1, 0, 0, 0, 0, 0)
    assert accounts.owner_ignored == IgnoredOwner(
        "Sam Lee",
        "a Salesforce Account export is not credited to the rep named; only deals, tasks and "
        "events without OwnerId are",
    )
    assert run(engine, settings, ORMDEMO / "Task.csv", "Task", tmp_path).owner_ignored is None


def test_activities_naming_a_deal_not_imported_are_a_counted_warning(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Four done tasks, two batches: one names the imported deal, two a deal that was never
    imported (one in its 15-character form), one another such deal. The three are kept
    without a deal link, counted in one warning naming the first such deal (18 characters)."""
    folder = tmp_path / "org"
    folder.mkdir()
    _write(folder / "User.csv", "Id,FirstName,LastName", "0055g0000000001AAA,Ana,Ruiz")
    _write(
        folder / "Opportunity.csv",
        "Id,Name,StageName,Amount,CreatedDate,OwnerId,IsClosed,IsWon,CloseDate",
        "0065g0000000001AAA,Big,Prospecting,100,2026-10-01T09:00:00.000+0000,"
        "0055g0000000001AAA,false,false,2026-12-20",
    )
    task = _write(
        folder / "Task.csv",
        "Id,OwnerId,WhatId,Subject,ActivityDate,Status,TaskSubtype",
        "00T5g0000000001AAA,0055g0000000001AAA,0065g0000000001AAA,a,2026-11-02,Completed,Call",
        "00T5g0000000002AAA,0055g0000000001AAA,0065g0000000009,b,2026-11-02,Completed,Call",
        "00T5g0000000003AAA,0055g0000000001AAA,0065g0000000008AAA,c,2026-11-03,Completed,Call",
        "00T5g0000000004AAA,0055g0000000001AAA,0065g0000000009AAA,d,2026-11-04,Completed,Call",
    )
    settings = parse_settings(_without_stages(default_config_text()) + STANDARD_STAGES)
    assert run(engine, settings, folder / "Opportunity.csv", "Opportunity", tmp_path).inserted
    result = run(engine, settings, task, "Task", tmp_path, batch_size=2)
    assert counts(result) == (4, 4, 0, 0, 0, 0, 0)
    warning = (
        "warning: deal not imported: names a deal this source has not imported (e.g. "
        "'0065g0000000009AAA'); kept without its deal link"
    )
    assert result.notes == {warning: 3}
    with engine.connect() as conn:
        linked = conn.execute(
            select(Activity.external_id).where(Activity.deal_id.is_not(None))
        ).scalars().all()  # fmt: skip
    assert linked == ["00T5g0000000001AAA"]
    # The warning's way out: the missing deal imported, which links the two tasks that name
    # it; the tasks again find them unchanged, and the third still warns, with its own id.
    _write(
        folder / "Opportunity.csv",
        "Id,Name,StageName,Amount,CreatedDate,OwnerId,IsClosed,IsWon,CloseDate",
        "0065g0000000009AAA,Late,Prospecting,50,2026-10-02T09:00:00.000+0000,"
        "0055g0000000001AAA,false,false,2026-12-21",
    )
    arrived = run(engine, settings, folder / "Opportunity.csv", "Opportunity", tmp_path)
    assert (arrived.inserted, arrived.notes) == (1, {ACTIVITIES_LINKED: 2})
    again = run(engine, settings, task, "Task", tmp_path, batch_size=2)
    assert counts(again) == (4, 0, 0, 4, 0, 0, 0)
    assert again.notes == {warning.replace("0065g0000000009AAA", "0065g0000000008AAA"): 1}
    with engine.connect() as conn:
        links = dict(
            conn.execute(
                select(Activity.external_id, Deal.external_id).join(
                    Deal, Deal.id == Activity.deal_id
                )
            ).all()
        )
    assert links == {
        "00T5g0000000001AAA": "0065g0000000001AAA",
        "00T5g0000000002AAA": "0065g0000000009AAA",
        "00T5g0000000004AAA": "0065g0000000009AAA",
    }
    assert counts(run(engine, settings, task, "Task", tmp_path)) == (4, 0, 0, 4, 0, 0, 0)


def _events_csv(path: Path) -> Path:
    """Seven done events of one owner: with a contact, with a lead, about a support case,
    on an account (AccountId only), with nothing, an all-day one with nothing, and one
    whose WhatId is Data Export's "no record"."""
    return _write(
        path,
        "Id,OwnerId,WhoId,WhatId,AccountId,Subject,ActivityDateTime,DurationInMinutes,"
        "IsAllDayEvent",
        "00U5g0000000001AAA,0055g0000000001AAA,0035g0000000001AAA,,,Demo,"
        "2026-11-02T15:00:00.000+0000,60,false",
        "00U5g0000000002AAA,0055g0000000001AAA,00Q5g0000000001AAA,,,Lead call,"
        "2026-11-03T15:00:00.000+0000,30,false",
        "00U5g0000000003AAA,0055g0000000001AAA,,5005g0000000001AAA,,Case review,"
        "2026-11-04T15:00:00.000+0000,30,false",
        "00U5g0000000004AAA,0055g0000000001AAA,,,0015g0000000001AAA,QBR,"
        "2026-11-05T15:00:00.000+0000,60,false",
        '00U5g0000000005AAA,0055g0000000001AAA,,,,"Xmas Dinner, team",'
        "2026-11-20T19:00:00.000+0000,120,false",
        "00U5g0000000006AAA,0055g0000000001AAA,,,,Holiday,2026-11-26T00:00:00.000+0000,1440,true",
        "00U5g0000000007AAA,0055g0000000001AAA,,000000000000000AAA,,1:1,"
        "2026-11-06T09:00:00.000+0000,30,false",
    )


def test_events_linked_to_no_prospect_are_skipped_unless_kept(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A meeting is selling only with or about a prospect: of the seven events, the ones with
    a contact, a lead or an account are meetings (3); the case review, the dinner and the 1:1
    are skipped, counted as "not linked to any prospect" (3), the holiday as all-day (1).
    `--unlinked-events` keeps the three as meetings."""
    path = _events_csv(tmp_path / "Event.csv")
    result = run(engine, settings, path, "Event", tmp_path)
    assert counts(result) == (7, 3, 0, 0, 0, 4, 0)
    assert result.notes == {
        "skipped, not linked to any prospect": 3,
        "skipped, all-day event": 1,
    }
    kept = run(engine, settings, path, "Event", tmp_path, unlinked_events=True)
    assert counts(kept) == (7, 3, 0, 3, 0, 1, 0)
    with engine.connect() as conn:
        subjects = conn.execute(select(Activity.notes).order_by(Activity.occurred_at))
        assert subjects.scalars().all() == [
            "Demo", "Lead call", "Case review", "QBR", "1:1", "Xmas Dinner, team",
        ]  # fmt: skip


def test_a_tree_file_of_events_follows_the_same_rule(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The rule is the reader's, so a tree export's events (references, not ids) and a
    folder import read it alike: @ContactRef and @AccountRef are prospects, @CaseRef is not,
    a record without WhoId or WhatId is not."""
    folder = tmp_path / "tree"
    folder.mkdir()
    body = [
        {"attributes": {"type": "Event", "referenceId": f"EventRef{i}"},
         "ActivityDateTime": f"2026-11-0{i}", "DurationInMinutes": 60, **link}
        for i, link in enumerate(
            ({"WhoId": "@ContactRef1"}, {"WhatId": "@AccountRef1"}, {"WhatId": "@CaseRef1"},
             {}),
            start=1,
        )
    ]  # fmt: skip
    (folder / "Events.json").write_text(json.dumps({"records": body}))
    plan = plan_folder(settings, folder, owner="Sam Lee")
    done = import_folder(engine, settings, folder, ImportOptions(now=NOW), tmp_path, plan=plan)
    assert [(obj, counts(r)) for obj, r in done.results] == [("Event", (4, 2, 0, 0, 0, 2, 0))]
    assert done.results[0][1].notes == {"skipped, not linked to any prospect": 2}
    again = import_folder(
        engine, settings, folder, ImportOptions(now=NOW, unlinked_events=True), tmp_path,
        plan=plan,
    )  # fmt: skip
    assert [counts(r) for _, r in again.results] == [(4, 2, 0, 2, 0, 0, 0)]


@needs_samples
def test_ormdemo_timeline_events_with_an_owner(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """timeline-Events.json's 9 events (PROVENANCE.md): 5 name @ContactRef1 (among them
    "Xmas Dinner" and "Diwali": the export links them to a contact, and subjects are not
    read), 3 @AccountRef1, 1 only @CaseRef1 ("This was a meeting about the case"), skipped
    as linked to no prospect."""
    path = ORMDEMO / "timeline-Events.json"
    raw = json.loads(path.read_text("utf-8"))["records"]
    assert [r.get("WhoId") or r.get("WhatId") for r in raw].count("@CaseRef1") == 1
    result = run(engine, settings, path, None, tmp_path, "sfdx-tree", entity="activities",
                 owner="sfdata")  # fmt: skip
    assert counts(result) == (9, 8, 0, 0, 0, 1, 0)
    assert (result.owner, result.notes) == ("sfdata", {"skipped, not linked to any prospect": 1})


@needs_samples
def test_one_file_command_says_its_owner_first_and_warns_of_deals_not_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paceline import activities Task.csv --mapping salesforce:Task --owner sfdata` on the
    hackathon's Task.csv (no OwnerId; each WhatId names one of Opportunity.csv's deals, not
    imported): the owner is said before the first write and under the summary, and the
    83 tasks' lost deal links are a counted warning; --json carries both."""
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    db = ["--db", f"sqlite:///{tmp_path / 'p.db'}"]
    assert runner.invoke(cli_app, [*db, "init"]).exit_code == 0
    command = [*db, "import", "activities", str(HACKATHON / "Task.csv"), "--mapping",
               "salesforce:Task", "--owner", "sfdata"]  # fmt: skip
    result = runner.invoke(cli_app, command)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    owned = "Task.csv: no OwnerId column: every row credited to 'sfdata' (--owner)"
    assert lines[0] == owned and lines.count(owned) == 2
    warning = (
        "warning: deal not imported: names a deal this source has not imported (e.g. "
        "'0060000000000001'); kept without its deal link: 83 rows"
    )
    assert warning in lines
    again = runner.invoke(cli_app, [*command, "--json"])
    data = json.loads(again.output)
    assert (data["owner"], data["unchanged"]) == ("sfdata", 83)
    generic = _write(tmp_path / "calls.csv", "rep,kind,occurred_at", "Ana,call,2026-11-02")
    refused = runner.invoke(cli_app, [*db, "import", "activities", str(generic), "--owner", "x"])
    assert refused.exit_code == 1
    assert "--owner: only Salesforce exports" in refused.output


# --- placeholder reps, once the users list arrives ---------------------------------------------


def _reps_and_counts(engine: Engine) -> dict[str, tuple[int, int]]:
    """Every rep's name -> (its activities, its deals)."""
    with engine.connect() as conn:
        names = conn.execute(select(Rep.id, Rep.name)).all()
        acts = dict(
            conn.execute(select(Activity.rep_id, func.count()).group_by(Activity.rep_id)).all()
        )
        deals = dict(conn.execute(select(Deal.rep_id, func.count()).group_by(Deal.rep_id)).all())
    return {name: (acts.get(i, 0), deals.get(i, 0)) for i, name in names}


@needs_samples
def test_data_export_imported_again_with_its_user_leaves_no_placeholder_rep(
    engine: Engine, sf_settings: Settings, tmp_path: Path
) -> None:
    """opportunity.csv: 31 rows, every OwnerId 005Hp00000hnUYPIA2, and no User export: the
    31 deals go to the rep "salesforce user 005Hp00000hnUYPIA2". The same file beside a
    User.csv naming that user moves all 31 to her name; the placeholder, empty, was left
    behind (a rep with nothing, behind in every alert): it is removed, and said."""
    deals = run(engine, sf_settings, DATA_EXPORT / "opportunity.csv", "Opportunity", tmp_path)
    assert counts(deals) == (31, 31, 0, 0, 0, 0, 0)
    assert _reps_and_counts(engine) == {"salesforce user 005Hp00000hnUYPIA2": (0, 31)}
    folder = tmp_path / "with-users"
    folder.mkdir()
    shutil.copy(DATA_EXPORT / "opportunity.csv", folder / "opportunity.csv")
    _write(folder / "User.csv", "Id,Name", "005Hp00000hnUYPIA2,Dana Reyes")
    moved = run(engine, sf_settings, folder / "opportunity.csv", "Opportunity", tmp_path)
    assert counts(moved) == (31, 0, 31, 0, 0, 0, 0)
    assert moved.notes[PLACEHOLDERS_REMOVED] == 1
    assert _reps_and_counts(engine) == {"Dana Reyes": (0, 31)}
    again = run(engine, sf_settings, folder / "opportunity.csv", "Opportunity", tmp_path)
    assert counts(again) == (31, 0, 0, 31, 0, 0, 0)
    assert PLACEHOLDERS_REMOVED not in again.notes


def test_a_placeholder_rep_goes_only_once_every_row_it_had_has_moved(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Tasks and events imported without User.csv: Ana's id owns two tasks, Ben's one task
    and one event. The tasks again, with the users list, move three rows: Ana's
    placeholder is empty and removed; Ben's still has his event, so it stays (2 reps and a
    placeholder with 1 activity). The events again, with the list, empty it too. Batches of
    2: the placeholder emptied in a later batch than its first rows moved."""
    ana, ben = "0055g0000000001AAA", "0055g0000000002AAA"
    bare, full = tmp_path / "bare", tmp_path / "full"
    bare.mkdir()
    full.mkdir()
    for folder in (bare, full):
        _write(
            folder / "Task.csv",
            "Id,OwnerId,WhoId,Subject,ActivityDate,Status,TaskSubtype",
            f"00T5g0000000001AAA,{ana},0035g0000000001AAA,a,2026-11-02,Completed,Call",
            f"00T5g0000000002AAA,{ben},0035g0000000001AAA,b,2026-11-03,Completed,Call",
            f"00T5g0000000003AAA,{ana},0035g0000000001AAA,c,2026-11-04,Completed,Call",
        )
        _write(
            folder / "Event.csv",
            "Id,OwnerId,WhoId,WhatId,AccountId,Subject,ActivityDateTime,DurationInMinutes,"
            "IsAllDayEvent",
            f"00U5g0000000001AAA,{ben},0035g0000000001AAA,,,Demo,"
            "2026-11-05T15:00:00.000+0000,60,false",
        )
    _write(full / "User.csv", "Id,Name", f"{ana},Ana Ruiz", f"{ben},Ben Okafor")
    for name, obj in (("Task.csv", "Task"), ("Event.csv", "Event")):
        assert run(engine, settings, bare / name, obj, tmp_path).inserted
    assert _reps_and_counts(engine) == {
        f"salesforce user {ana}": (2, 0),
        f"salesforce user {ben}": (2, 0),
    }
    tasks = run(engine, settings, full / "Task.csv", "Task", tmp_path, batch_size=2)
    assert counts(tasks) == (3, 0, 3, 0, 0, 0, 0)
    assert tasks.notes == {PLACEHOLDERS_REMOVED: 1}
    assert _reps_and_counts(engine) == {
        "Ana Ruiz": (2, 0),
        "Ben Okafor": (1, 0),
        f"salesforce user {ben}": (1, 0),
    }
    events = run(engine, settings, full / "Event.csv", "Event", tmp_path)
    assert counts(events) == (1, 0, 1, 0, 0, 0, 0)
    assert events.notes == {PLACEHOLDERS_REMOVED: 1}
    assert _reps_and_counts(engine) == {"Ana Ruiz": (2, 0), "Ben Okafor": (2, 0)}


def test_a_placeholder_rep_kept_for_its_target_or_login_is_named_in_the_summary(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Tasks imported without User.csv, one each for the ids of Ana, Ben and Cy. Someone
    sets a weekly target on Ana's placeholder and gives Ben's a login. The tasks again,
    with the users list, move all three: Cy's placeholder goes (the note), Ana's and Ben's
    stay for what was set on them. The summary said only "1 removed"; it now names each
    kept one, why, and what to do; an import that moves nothing says nothing more."""
    ana, ben, cy = "0055g0000000001AAA", "0055g0000000002AAA", "0055g0000000003AAA"
    bare, full = tmp_path / "bare", tmp_path / "full"
    for folder in (bare, full):
        folder.mkdir()
        _write(
            folder / "Task.csv",
            "Id,OwnerId,WhoId,Subject,ActivityDate,Status,TaskSubtype",
            f"00T5g0000000001AAA,{ana},0035g0000000001AAA,a,2026-11-02,Completed,Call",
            f"00T5g0000000002AAA,{ben},0035g0000000001AAA,b,2026-11-03,Completed,Call",
            f"00T5g0000000003AAA,{cy},0035g0000000001AAA,c,2026-11-04,Completed,Call",
        )
    _write(full / "User.csv", "Id,Name", f"{ana},Ana Ruiz", f"{ben},Ben Okafor", f"{cy},Cy Li")
    assert run(engine, settings, bare / "Task.csv", "Task", tmp_path).inserted == 3
    with engine.begin() as conn:
        ana_id = conn.scalar(select(Rep.id).where(Rep.name == f"salesforce user {ana}"))
        conn.execute(
            insert(Target).values(
                rep_id=ana_id, metric="calls", period_kind="week",
                period_start=dt.date(2026, 11, 30), value=40.0,
            )
        )  # fmt: skip
    quick_user(engine, "ben", "rep", rep=f"salesforce user {ben}")
    moved = run(engine, settings, full / "Task.csv", "Task", tmp_path)
    assert counts(moved) == (3, 0, 3, 0, 0, 0, 0)
    assert moved.notes == {PLACEHOLDERS_REMOVED: 1}
    assert moved.warnings == [
        KeptPlaceholder(f"salesforce user {ana}", ("a target",)).warning(),
        KeptPlaceholder(f"salesforce user {ben}", ("a login",)).warning(),
    ]
    assert moved.warnings[0].startswith(
        f"rep 'salesforce user {ana}', made from an owner id alone, is kept though no row "
        "names it any more (they name its user now): it has a target, set up by hand."
    )
    assert f"paceline rep edit 'salesforce user {ben}' --end YYYY-MM-DD" in moved.warnings[1]
    assert _reps_and_counts(engine) == {
        f"salesforce user {ana}": (0, 0),
        f"salesforce user {ben}": (0, 0),
        "Ana Ruiz": (1, 0),
        "Ben Okafor": (1, 0),
        "Cy Li": (1, 0),
    }
    again = run(engine, settings, full / "Task.csv", "Task", tmp_path)
    assert (again.unchanged, again.notes, again.warnings) == (3, {}, [])
