"""The import source "close-json": Close (close.com) API responses as import rows.

It reads what `GET /v1/opportunity/`, `/v1/activity/` and `/v1/user/` answer and adds the
columns only Close's conventions require:

- `amount`: the opportunity's `annualized_value` in currency units (Close counts money in
  cents: 50000 is $500; a monthly deal's annualized value is twelve months of it);
- `status`: open/won/lost from the opportunity's `status_type` (active/won/lost), and
  `closed_at`: `date_won` or `date_lost`;
- `activity_type`: an activity's `_type`, with `Incoming` appended to an incoming e-mail, so a
  mapping can skip the prospect's mail and keep the rep's;
- `activity_outcome`: a call's `disposition`, `sent` for an outgoing e-mail;
- `full_name`: a user's first and last name.

Close names the owner in every record (`user_name`), so no owners list is needed; its
statuses carry their type, so no pipeline file is needed to import (the pipelines response
only feeds `paceline import stages`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from paceline.hookspecs import hookimpl
from paceline.ingest.crm.jsonrows import (
    CrmStage,
    Flat,
    FlatRecord,
    JsonTable,
    StageStatus,
    endpoints,
    find_records,
    flatten,
    load_json,
    sample_records,
)
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.sources import ImportSource, ReadOptions, RowTable

ACTIVITY_COLUMNS = ("duration", "disposition", "contact_id", "lead_id")
STATUS_TYPES: dict[str, StageStatus] = {"active": "open", "won": "won", "lost": "lost"}


def read_pipelines(path: Path) -> list[CrmStage]:
    """Every opportunity status of every pipeline in a `GET /v1/pipeline/` response."""
    stages = []
    for pipeline in find_records(load_json(path), path.name):
        statuses = pipeline.get("statuses")
        if not isinstance(statuses, list):
            raise ImportFileError(
                f"{path.name}: pipeline {pipeline.get('id')!r} has no statuses: is this the "
                "answer of GET /v1/pipeline/?"
            )
        for status in statuses:
            kind = STATUS_TYPES.get(str(status.get("type")))
            if kind is None or not status.get("label"):
                raise ImportFileError(
                    f"{path.name}: status {status.get('id')!r} has type {status.get('type')!r}"
                    f" (expected {', '.join(STATUS_TYPES)}) or no label"
                )
            stages.append(
                CrmStage(str(status["id"]), str(status["label"]), str(pipeline["name"]), kind, None)
            )
    return stages


def open_close(path: Path, options: ReadOptions) -> RowTable:
    records = [flatten(r) for r in find_records(load_json(path), path.name)]
    columns = {c for flat in records for c in flat}
    rows = []
    for flat in records:
        problem = None
        if "status_type" in columns:
            problem = _add_opportunity(flat)
        if "_type" in columns:
            incoming = flat.get("_type") == "Email" and flat.get("direction") == "incoming"
            flat["activity_type"] = flat.get("_type", "") + ("Incoming" if incoming else "")
            flat["activity_outcome"] = _outcome(flat)
        if "first_name" in columns or "last_name" in columns:
            parts = (flat.get("first_name", ""), flat.get("last_name", ""))
            flat["full_name"] = " ".join(p for p in parts if p) or flat.get("email", "")
        rows.append(FlatRecord(flat, problem))
    # Columns only some activity types have: present (empty) whatever types a file holds.
    always = ACTIVITY_COLUMNS if "_type" in columns else ()
    return JsonTable(path.name, rows, always=always)


def _outcome(flat: Flat) -> str:
    if flat.get("_type") == "Call":
        return flat.get("disposition", "")
    if flat.get("_type") == "Email" and flat.get("direction") == "outgoing":
        return "sent"
    return ""


def _add_opportunity(flat: Flat) -> str | None:
    raw = flat.get("status_type", "")
    flat["status"] = STATUS_TYPES.get(raw, "")
    flat["closed_at"] = flat.get("date_won", "") or flat.get("date_lost", "")
    flat.setdefault("value_currency", "")  # the mapping reads it; absent: no currency said
    cents = flat.get("annualized_value", "")
    try:
        flat["amount"] = str(Decimal(cents) / 100) if cents else ""
    except InvalidOperation:
        return f"annualized_value {cents!r} is not a number of cents"
    if raw and raw not in STATUS_TYPES:
        return f"status_type {raw!r} is none of {', '.join(STATUS_TYPES)}"
    return None


# Close's object ids carry their type: acti_..., oppo_..., user_..., pipe_..., lead_...
CLOSE_ID_PREFIXES = ("acti_", "oppo_", "user_", "pipe_", "lead_", "task_", "cont_", "stat_")


def is_close(path: Path) -> bool:
    """A Close answer: records whose ids carry Close's type prefixes."""
    data, records = sample_records(path)
    recorded = endpoints(data)
    if recorded:
        return any(p.startswith("/v1/") and p.endswith("/") for p in recorded)
    return any(str(r.get("id", "")).startswith(CLOSE_ID_PREFIXES) for r in records)


CLOSE_JSON = ImportSource(
    name="close-json",
    description="Close API responses (opportunities, activities, users).",
    open=open_close,
    stages=read_pipelines,
    extensions=(".json", ".jsonl"),
    sniff=is_close,
)


@hookimpl
def register_import_sources() -> list[ImportSource]:
    return [CLOSE_JSON]
