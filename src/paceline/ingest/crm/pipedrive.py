"""The import source "pipedrive-json": Pipedrive API responses as import rows.

It reads what `GET /v1/deals`, `/v1/activities` and `/v1/users` answer (and the v2 lists of
the same objects), flattens each record (a `user_id` object gives `user_id`, its id, and
`user_id.name`...) and adds the columns only Pipedrive's other responses can give:

- `stage_name`: the deal's stage name, from the stages list (`GET /v2/stages` or
  `/v1/stages`, passed with `--pipelines`). A `stage_id` the list lacks rejects its deal.
  Pipedrive keeps won/lost on the deal (`status`), not on the stage: a won deal keeps the
  stage it was won from, with status won;
- `closed_at`: `won_time` for a won deal, `lost_time` for a lost one (else `close_time`);
- `due_at`: an activity's `due_date` and `due_time` (UTC in the API) as one ISO instant, or
  the bare date when the activity has no time (it then counts on that date);
- `duration_min`: an activity's `duration` ("01:30") in minutes;
- `user_name`: the owner's name: `user_id.name` (deals), `owner_name` (v1 activities), else
  the users list (`--owners`, `GET /v1/users`). An owner id the list lacks rejects its row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paceline.hookspecs import hookimpl
from paceline.ingest.crm.jsonrows import (
    CrmStage,
    Flat,
    FlatRecord,
    JsonTable,
    by_id,
    endpoints,
    find_records,
    flatten,
    load_json,
    sample_records,
)
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.sources import ImportSource, ReadOptions, RowTable
from paceline.ingest.sync.pipedrive import PipedriveConnector

DERIVED_HINT = (
    "; stage_name and closed_at are made from a deal's stage_id and status, due_at and "
    "duration_min from an activity's due_date, due_time and duration, user_name from user_id"
)


def read_stages(path: Path) -> list[CrmStage]:
    """Every stage in a stages response; Pipedrive's probability is a percentage."""
    stages = []
    for stage in find_records(load_json(path), path.name):
        ident, name = stage.get("id"), stage.get("name")
        if ident is None or not name or "pipeline_id" not in stage:
            raise ImportFileError(
                f"{path.name}: a record without id, name or pipeline_id: is this the answer of "
                "GET /v2/stages (or /v1/stages)?"
            )
        if stage.get("is_deleted") is True or stage.get("active_flag") is False:
            continue
        stages.append(
            CrmStage(str(ident), str(name), str(stage["pipeline_id"]), None, _share(stage))
        )
    return stages


def _share(stage: dict[str, Any]) -> float | None:
    raw = stage.get("deal_probability")
    if raw is None:
        return None
    try:
        return min(max(float(raw) / 100, 0.0), 1.0)
    except (TypeError, ValueError):
        return None


def read_users(path: Path) -> dict[str, str]:
    """User id -> name, from a `GET /v1/users` response."""
    return {
        str(u["id"]): str(u["name"])
        for u in find_records(load_json(path), path.name)
        if u.get("id") is not None and u.get("name")
    }


def open_pipedrive(path: Path, options: ReadOptions) -> RowTable:
    records = [flatten(r) for r in find_records(load_json(path), path.name)]
    columns = {c for flat in records for c in flat}
    stages = by_id(read_stages(options.pipelines)) if options.pipelines else None
    users = read_users(options.owners) if options.owners else {}
    rows = []
    for flat in records:
        problems = []
        if "stage_id" in columns and "status" in columns:
            problems.append(_add_stage(flat, stages, options.pipelines))
            flat["closed_at"] = _closed_at(flat)
            flat.setdefault("currency", "")  # the mapping reads it; absent: no currency said
        if "due_date" in columns:
            flat["due_at"] = _due_at(flat.get("due_date", ""), flat.get("due_time", ""))
            flat["duration_min"] = _minutes(flat.get("duration", ""))
        if "user_id" in columns:
            problems.append(_add_user(flat, users, options.owners))
        rows.append(FlatRecord(flat, "; ".join(p for p in problems if p) or None))
    return JsonTable(path.name, rows, hint=DERIVED_HINT)


def _add_stage(flat: Flat, stages: dict[str, CrmStage] | None, where: Path | None) -> str | None:
    raw = flat.get("stage_id", "")
    flat["stage_name"] = ""
    if not raw:
        return None
    if stages is None or where is None:
        return (
            f"stage_id {raw} cannot be named: pass the stages list (GET /v2/stages) "
            "with --pipelines"
        )
    stage = stages.get(raw)
    if stage is None:
        return f"stage_id {raw} is not a stage in {where.name}"
    flat["stage_name"] = stage.label
    return None


def _closed_at(flat: Flat) -> str:
    status = flat.get("status", "")
    chosen = {"won": "won_time", "lost": "lost_time"}.get(status)
    return (flat.get(chosen, "") if chosen else "") or flat.get("close_time", "")


def _due_at(day: str, time: str) -> str:
    if not day or not time:
        return day
    return f"{day}T{time if time.count(':') == 2 else time + ':00'}Z"


def _minutes(duration: str) -> str:
    """'01:30' -> '90'; empty or unreadable stays empty (the duration is optional)."""
    parts = duration.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return ""
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = int(parts[2]) if len(parts) == 3 else 0
    return f"{hours * 60 + minutes + seconds / 60:g}"


def _add_user(flat: Flat, users: dict[str, str], where: Path | None) -> str | None:
    ident = flat.get("user_id", "")
    flat["user_name"] = flat.get("user_id.name") or flat.get("owner_name") or users.get(ident, "")
    if not ident or flat["user_name"]:
        return None
    if where is None:
        return f"user_id {ident} cannot be named: pass the users list (GET /v1/users) with --owners"
    return f"user_id {ident} is not in {where.name}"


def is_pipedrive(path: Path) -> bool:
    """A Pipedrive answer: `{"success": ..., "data": ...}`, or records stamped with
    Pipedrive's `add_time`/`update_time` or `active_flag`."""
    data, records = sample_records(path)
    recorded = endpoints(data)
    if recorded:
        return any(p.startswith(("/v1/", "/v2/")) and not p.endswith("/") for p in recorded)
    if isinstance(data, dict) and "success" in data and "data" in data:
        return True
    first = records[0] if records else {}
    return any(key in first for key in ("add_time", "update_time", "active_flag"))


PIPEDRIVE_JSON = ImportSource(
    name="pipedrive-json",
    description="Pipedrive API responses (deals, activities, users); --pipelines names stages.",
    open=open_pipedrive,
    stages=read_stages,
    extensions=(".json", ".jsonl"),
    sniff=is_pipedrive,
    sync=PipedriveConnector(),
)


@hookimpl
def register_import_sources() -> list[ImportSource]:
    return [PIPEDRIVE_JSON]
