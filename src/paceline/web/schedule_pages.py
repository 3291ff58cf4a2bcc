"""`/jobs` (admins: each configured job, its last run and outcome, its next time), `/syncs`
(admins: each CRM connector's last sync, rows, errors and cursors) and
`/preferences` (every user, for themself: which digests and alerts, which channel, quiet
hours). The web faces of `paceline jobs list` and `paceline user prefs`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from paceline import clock, plugins
from paceline.callers import app_state
from paceline.errors import UserInputError
from paceline.scheduling import job_statuses, personal_channels
from paceline.services import preferences
from paceline.store import syncs
from paceline.store.schedule import Preference
from paceline.web.common import User, check_csrf, refused, render

router = APIRouter(include_in_schema=False)


@router.get("/jobs")
def jobs_page(request: Request, caller: User) -> Response:
    if not caller.principal.can_administer:
        raise refused("see the scheduled jobs (that page is for admins)")
    state = app_state(request)
    statuses = job_statuses(state.engine, state.settings, clock.utcnow())
    return render(request, "jobs.html", caller, {"active": "jobs", "jobs": statuses})


@router.get("/syncs")
def syncs_page(request: Request, caller: User) -> Response:
    """Each CRM connector's last `paceline sync`: when, how it ended, rows, cursors."""
    if not caller.principal.can_administer:
        raise refused("see the CRM syncs (that page is for admins)")
    state = app_state(request)
    found = syncs.statuses(state.engine, sorted(plugins.sync_connectors()))
    jobs = [j for j in state.settings.jobs if j.kind == "sync"]
    # When each scheduled sync runs next, by the scheduler's own reckoning (as on /jobs).
    next_runs = {
        s.name: s.next_run
        for s in job_statuses(state.engine, state.settings, clock.utcnow())
        if s.kind == "sync"
    }
    context = {"active": "syncs", "syncs": found, "jobs": jobs, "next_runs": next_runs}
    return render(request, "syncs.html", caller, context)


def _page(
    request: Request,
    caller: User,
    preference: Preference,
    error: str | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    context = {
        "active": "preferences",
        "pref": preference,
        "channels": personal_channels(),
        "error": error,
        "saved": saved,
    }
    return render(request, "preferences.html", caller, context, status=status)


@router.get("/preferences")
def preferences_page(request: Request, caller: User) -> Response:
    principal = caller.principal
    engine = app_state(request).engine
    return _page(request, caller, preferences.preferences(engine, principal, principal.username))


@router.post("/preferences")
def preferences_post(
    request: Request,
    caller: User,
    csrf: Annotated[str, Form()] = "",
    rep_digest: Annotated[str, Form()] = "",
    manager_digest: Annotated[str, Form()] = "",
    alerts: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    quiet_start: Annotated[str, Form()] = "",
    quiet_end: Annotated[str, Form()] = "",
) -> Response:
    """An unticked box is not sent by the browser: absent means off."""
    check_csrf(caller, csrf)
    principal = caller.principal
    engine = app_state(request).engine
    changes: dict[str, object] = {
        "rep_digest": bool(rep_digest),
        "manager_digest": bool(manager_digest),
        "alerts": bool(alerts),
        "channel": channel,
        "quiet_start": quiet_start,
        "quiet_end": quiet_end,
    }
    try:
        saved = preferences.set_preferences(
            engine, principal, principal.username, changes, personal_channels(), clock.utcnow()
        )
    except UserInputError as exc:
        current = preferences.preferences(engine, principal, principal.username)
        return _page(request, caller, current, error=str(exc), status=422)
    return _page(request, caller, saved, saved=True)
