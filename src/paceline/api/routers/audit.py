"""The audit log (admins only): every change to activities, deals, targets, users, reps
and tokens, and one entry per import run, newest first, a page at a time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, MAX_PAGE, Name, domain_errors
from paceline.api.shapes import RecordOut, page_model, record_model
from paceline.services import audit
from paceline.store.audit_log import Entry, EntryPage

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=AUTH)
# A changed field's value: what a column holds, as JSON (times and amounts as text), or a
# list of them (a password change lists the tokens it revoked: a list here answered 500).
Scalar = str | int | float | bool | None
FieldValue = Scalar | list[Scalar]
EntityName = Literal["activity", "deal", "target", "user", "rep", "token", "import"]


# Times as stored (naive UTC), as `paceline audit --json` prints them: one page type.
AuditEntryOut = record_model(
    Entry,
    "AuditEntryOut",
    types_={
        "face": Literal["cli", "api", "web", "import"],
        "before": dict[str, FieldValue] | None,
        "after": dict[str, FieldValue] | None,
    },
    describe={
        "before": "The changed fields before (none for a creation).",
        "after": "The changed fields after (none for a deletion).",
    },
    utc=False,
)
AuditPage = page_model(EntryPage, "AuditPage", AuditEntryOut, utc=False)


@router.get("", response_model=AuditPage, summary="The audit log, newest first (admins)")
def list_(
    state: State,
    caller: ApiCaller,
    since: Annotated[
        dt.datetime | None, Query(description="Only changes at or after this time (UTC).")
    ] = None,
    user: Annotated[
        Name | None, Query(description='Only changes by this actor ("operator", "import N").')
    ] = None,
    entity: Annotated[EntityName | None, Query(description="Only this kind of record.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> RecordOut:
    """Who changed what and when, from which face (`cli`, `api`, `web`, `import`), with the
    changed fields before and after. Never a password hash or a token."""
    if since is not None and since.tzinfo is not None:
        since = since.astimezone(dt.UTC).replace(tzinfo=None)
    with domain_errors("query"):
        page = audit.read(
            state.engine,
            caller,
            since=since,
            user=user,
            entity=entity,
            limit=limit,
            offset=offset,
        )
    return AuditPage.of(page)
