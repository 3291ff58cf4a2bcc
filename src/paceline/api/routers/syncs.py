"""The live CRM syncs' status (admins only): per source, its last `paceline sync` run, how
it ended, its row counts and its cursors. The web's Syncs page shows the same."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from paceline import plugins
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, refuse
from paceline.store import syncs

router = APIRouter(prefix="/syncs", tags=["syncs"], dependencies=AUTH)


class SyncStatusOut(BaseModel):
    source: str = Field(description="The connector, as `paceline sync SOURCE` names it.")
    status: Literal["running", "done", "failed"] | None = Field(
        description="How its last sync ended; null: never synced."
    )
    full: bool = Field(description="The last sync fetched everything (--full).")
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    last_done_at: dt.datetime | None = Field(description="When its last successful sync ended.")
    failure: str | None = Field(description="Why the last sync failed.")
    fetched: int = Field(description="Records the API sent in the last sync.")
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    duplicate: int
    skipped: int
    rejected: int
    cursors: dict[str, str] = Field(
        description="Per object, the latest modification time fetched (the API's format)."
    )


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.replace(tzinfo=dt.UTC) if moment is not None else None


@router.get("", response_model=list[SyncStatusOut], summary="Each CRM sync's status (admins)")
def list_(state: State, caller: ApiCaller) -> list[SyncStatusOut]:
    """Every connector (and any source synced before), its last run and cursors."""
    if not caller.can_administer:
        refuse("the sync status (admins only)")
    found = syncs.statuses(state.engine, sorted(plugins.sync_connectors()))
    return [
        SyncStatusOut(
            **{
                **s.__dict__,
                "started_at": _utc(s.started_at),
                "finished_at": _utc(s.finished_at),
                "last_done_at": _utc(s.last_done_at),
            }
        )
        for s in found
    ]
