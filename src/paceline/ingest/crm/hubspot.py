"""The import source "hubspot-json": HubSpot CRM v3 API responses as import rows.

It reads what `GET /crm/v3/objects/{deals,calls,meetings,emails,tasks,companies,contacts}`
and `GET /crm/v3/owners` answer (one page, several pages saved as a list, or JSON lines of
records), flattens each record's `properties` into columns named by HubSpot's internal
property names (`dealstage`, `hs_call_duration`, ...) and adds the columns only HubSpot's
other responses can give:

- `dealstage_label` and `deal_status`: the stage's label and open/won/lost, from the deals
  pipelines (`GET /crm/v3/pipelines/deals`, passed with `--pipelines`; without it, HubSpot's
  default "Sales Pipeline"). A closed stage with probability 1 is won, with 0 lost. A
  `dealstage` the pipelines do not define rejects its deal, never guessed open;
- `hubspot_owner_name`: the owner's name, from the owners list (`--owners`). A deal or
  engagement whose owner id the list lacks is rejected with that id;
- `meeting_duration_min`: a meeting's end minus its start;
- `full_name`: an owner's first and last name (for `hubspot:owners`).

Times in epoch milliseconds (HubSpot accepts and sometimes returns `hs_timestamp` that way)
are rewritten as ISO 8601 UTC, so every time column reads the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from paceline.hookspecs import hookimpl
from paceline.ingest.crm.jsonrows import (
    CrmStage,
    Flat,
    FlatRecord,
    JsonTable,
    StageStatus,
    by_id,
    endpoints,
    epoch_ms_to_iso,
    find_records,
    flatten,
    load_json,
    sample_records,
)
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.sources import ImportSource, ReadOptions, RowTable
from paceline.ingest.sync.hubspot import HubSpotConnector

# Columns whose values are instants (converted from epoch milliseconds when given so).
_TIME_COLUMN = re.compile(r"(date|time|timestamp|At)$")
# Associations a shipped mapping reads: always present (empty when a record has none).
ENGAGEMENT_PREFIXES = ("hs_call_", "hs_meeting_", "hs_email_", "hs_task_")
ASSOCIATIONS = ("associations.companies", "associations.contacts", "associations.deals")


DERIVED_HINT = (
    "; hubspot_owner_name is made from the property hubspot_owner_id, dealstage_label and "
    "deal_status from dealstage, meeting_duration_min from hs_meeting_start_time and "
    "hs_meeting_end_time: request the properties the mapping's comments list"
)


def _default_stage(ident: str, label: str, closed: bool, probability: float) -> CrmStage:
    return CrmStage(
        ident, label, "Sales Pipeline", _status(closed, probability, ident), probability
    )


def _status(closed: bool, probability: float | None, ident: str) -> StageStatus:
    if not closed:
        return "open"
    if probability == 1.0:
        return "won"
    if probability == 0.0:
        return "lost"
    raise ImportFileError(
        f"HubSpot stage {ident!r} is closed with probability {probability}: neither won (1.0) "
        "nor lost (0.0), so its deals' outcome cannot be told"
    )


# HubSpot's default deals pipeline (its ids and metadata as GET /crm/v3/pipelines/deals
# returns them on a new portal; the sample fixture has exactly these).
DEFAULT_PIPELINE: tuple[CrmStage, ...] = (
    _default_stage("appointmentscheduled", "Appointment Scheduled", False, 0.2),
    _default_stage("qualifiedtobuy", "Qualified To Buy", False, 0.4),
    _default_stage("presentationscheduled", "Presentation Scheduled", False, 0.6),
    _default_stage("decisionmakerboughtin", "Decision Maker Bought-In", False, 0.8),
    _default_stage("contractsent", "Contract Sent", False, 0.9),
    _default_stage("closedwon", "Closed Won", True, 1.0),
    _default_stage("closedlost", "Closed Lost", True, 0.0),
)


def read_pipelines(path: Path) -> list[CrmStage]:
    """Every stage of every pipeline in a `GET /crm/v3/pipelines/deals` response."""
    stages = []
    for pipeline in find_records(load_json(path), path.name):
        listed = pipeline.get("stages")
        if not isinstance(listed, list):
            raise ImportFileError(
                f"{path.name}: pipeline {pipeline.get('id')!r} has no stages: is this the "
                "answer of GET /crm/v3/pipelines/deals?"
            )
        for stage in listed:
            stages.append(_pipeline_stage(stage, str(pipeline.get("label", "")), path.name))
    return stages


def _pipeline_stage(stage: dict[str, Any], pipeline: str, name: str) -> CrmStage:
    ident = str(stage.get("id", ""))
    metadata = stage.get("metadata") or {}
    closed = str(metadata.get("isClosed", "false")).lower() == "true"
    raw = metadata.get("probability")
    try:
        probability = float(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        raise ImportFileError(
            f"{name}: stage {ident!r}: probability {raw!r} is not a number"
        ) from None
    if not ident or not stage.get("label"):
        raise ImportFileError(f"{name}: a stage of pipeline {pipeline!r} has no id or label")
    return CrmStage(
        ident, str(stage["label"]), pipeline, _status(closed, probability, ident), probability
    )


def read_owners(path: Path) -> dict[str, str]:
    """Owner id -> name, from a `GET /crm/v3/owners` response ("First Last", else e-mail)."""
    names = {}
    for owner in find_records(load_json(path), path.name):
        name = owner_name(flatten(owner))
        if owner.get("id") is not None and name:
            names[str(owner["id"])] = name
    return names


def owner_name(flat: Flat) -> str:
    full = " ".join(p for p in (flat.get("firstName", ""), flat.get("lastName", "")) if p)
    return full.strip() or flat.get("email", "")


def open_hubspot(path: Path, options: ReadOptions) -> RowTable:
    records = [flatten(r, lift=("properties",)) for r in find_records(load_json(path), path.name)]
    for flat in records:
        for column, value in flat.items():
            if _TIME_COLUMN.search(column):
                flat[column] = epoch_ms_to_iso(value)
    columns = {c for flat in records for c in flat}
    stages = by_id(read_pipelines(options.pipelines) if options.pipelines else DEFAULT_PIPELINE)
    where = options.pipelines.name if options.pipelines else "HubSpot's default pipeline"
    owners = read_owners(options.owners) if options.owners else None
    owned = _needs_owner(columns)
    rows = []
    for flat in records:
        problems = []
        if "dealstage" in columns:
            problems.append(_add_stage(flat, stages, where))
        if "hubspot_owner_id" in columns:
            problem = _add_owner(flat, owners)
            problems.append(problem if owned else None)
        if "hs_meeting_start_time" in columns:
            flat["meeting_duration_min"] = _minutes_between(
                flat.get("hs_meeting_start_time", ""), flat.get("hs_meeting_end_time", "")
            )
        if "firstName" in columns or "lastName" in columns:
            flat["full_name"] = owner_name(flat)
        rows.append(FlatRecord(flat, "; ".join(p for p in problems if p) or None))
    return JsonTable(path.name, rows, always=ASSOCIATIONS, hint=DERIVED_HINT)


def _needs_owner(columns: set[str]) -> bool:
    """Deals and engagements count for their owner, so an owner that cannot be named rejects
    them; companies and contacts keep their rows (their owner is optional)."""
    return "dealstage" in columns or any(
        c == "hs_timestamp" or c.startswith(ENGAGEMENT_PREFIXES) for c in columns
    )


def _add_stage(flat: Flat, stages: dict[str, CrmStage], where: str) -> str | None:
    raw = flat.get("dealstage", "")
    stage = stages.get(raw)
    flat["dealstage_label"] = stage.label if stage else ""
    flat["deal_status"] = (stage.status or "") if stage else ""
    if raw and stage is None:
        return (
            f"dealstage {raw!r} is not a stage of {where}: pass the portal's deal pipelines "
            "(GET /crm/v3/pipelines/deals) with --pipelines"
        )
    return None


def _add_owner(flat: Flat, owners: dict[str, str] | None) -> str | None:
    ident = flat.get("hubspot_owner_id", "")
    flat["hubspot_owner_name"] = ""
    if not ident:
        return "no owner: hubspot_owner_id is empty (Paceline counts every record for a rep)"
    if owners is None:
        return (
            f"hubspot_owner_id {ident} cannot be named: pass the owners list "
            "(GET /crm/v3/owners) with --owners"
        )
    if ident not in owners:
        return f"hubspot_owner_id {ident} is not in the owners list"
    flat["hubspot_owner_name"] = owners[ident]
    return None


def _minutes_between(start: str, end: str) -> str:
    try:
        began = dt.datetime.fromisoformat(start)
        ended = dt.datetime.fromisoformat(end)
    except ValueError:
        return ""
    minutes = (ended - began).total_seconds() / 60
    return f"{minutes:g}" if minutes >= 0 else ""


def is_hubspot(path: Path) -> bool:
    """A HubSpot v3 answer: records with `properties`, owners, or deal pipelines."""
    data, records = sample_records(path)
    if any(p.startswith("/crm/") for p in endpoints(data)):
        return True
    first = records[0] if records else {}
    stages = first.get("stages")
    return (
        isinstance(first.get("properties"), dict)
        or ("firstName" in first and "email" in first)
        or (
            isinstance(stages, list)
            and any(isinstance(stage, dict) and "metadata" in stage for stage in stages)
        )
    )


HUBSPOT_JSON = ImportSource(
    name="hubspot-json",
    description="HubSpot CRM v3 API responses (deals, calls, meetings, emails, tasks, owners); "
    "--pipelines and --owners name stages and owners.",
    open=open_hubspot,
    stages=read_pipelines,
    extensions=(".json", ".jsonl"),
    sniff=is_hubspot,
    sync=HubSpotConnector(),
)


@hookimpl
def register_import_sources() -> list[ImportSource]:
    return [HUBSPOT_JSON]
