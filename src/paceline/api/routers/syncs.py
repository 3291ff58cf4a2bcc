"""The live CRM syncs' status (admins only): per source, its last `paceline sync` run, how
it ended, its row counts and its cursors. The web's Syncs page shows the same.

The answer is `paceline sync --status --json`'s (`store.syncs.SyncStatus`, its schema derived
by `serialize.json_model`), with its times marked as UTC."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from paceline import plugins
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, as_utc, refuse, result
from paceline.api.shapes import many
from paceline.serialize import json_model
from paceline.store import syncs

router = APIRouter(prefix="/syncs", tags=["syncs"], dependencies=AUTH)


@router.get(
    "",
    response_model=many(json_model(syncs.SyncStatus)),
    summary="Each CRM sync's status (admins)",
)
def list_(state: State, caller: ApiCaller) -> JSONResponse:
    """Every connector (and any source synced before), its last run and cursors."""
    if not caller.can_administer:
        refuse("the sync status (admins only)")
    found = syncs.statuses(state.engine, sorted(plugins.sync_connectors()))
    return result([_in_utc(s) for s in found])


def _in_utc(status: syncs.SyncStatus) -> syncs.SyncStatus:
    """Stored times are naive UTC; the answer says so (`+00:00`), as the records' do."""
    return dataclasses.replace(
        status,
        started_at=as_utc(status.started_at),
        finished_at=as_utc(status.finished_at),
        last_done_at=as_utc(status.last_done_at),
    )
