"""Pages that write a rep's day: the quick-add form, and the activity list with edit, delete
and undo.

Quick-add is built for seconds: the kind field has the focus, Enter submits from any text
field, the last account and rep are remembered (cookies), and the answer is the rep's
updated week right under the form. A deleted activity is kept in an undo stash for a
quarter of an hour and put back exactly (same id, source and external id) on undo.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from paceline import params
from paceline.analytics.scorecard import Scorecard, rep_scorecard
from paceline.calendar import BusinessCalendar
from paceline.callers import AppState, Caller, app_state
from paceline.config import Settings
from paceline.errors import InputError, UserInputError
from paceline.services import activities
from paceline.services.activities import Entry, Writer
from paceline.store.listings import ActivityFilter, CursorError
from paceline.store.records import ActivityRecord
from paceline.web import queries
from paceline.web.common import (
    PageError,
    User,
    check_csrf,
    checked_params,
    page_errors,
    refused,
    render,
)
from paceline.web.state import WebState

router = APIRouter(include_in_schema=False)

LAST_ACCOUNT_COOKIE = "paceline_last_account"
LAST_REP_COOKIE = "paceline_last_rep"
REMEMBER_SECONDS = 90 * 24 * 3600
PER_PAGE = 50


def _web(request: Request) -> WebState:
    web = request.app.state.web
    assert isinstance(web, WebState)
    return web


# --- parsing what people type ---------------------------------------------------------------


def parse_minutes(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise InputError("duration_min", f"{text!r} is not a number of minutes") from None
    if not math.isfinite(value) or value < 0:
        raise InputError("duration_min", "minutes cannot be negative")
    return value


def parse_when(text: str) -> dt.datetime | None:
    """A local date and time from a datetime-local field (or a plain date); blank is now."""
    text = text.strip()
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError("occurred_at", f"{text!r} is not a date and time") from None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


# --- log activity ---------------------------------------------------------------------------


def _writable_reps(state: AppState, caller: Caller) -> list[queries.RepRef]:
    return [
        r
        for r in queries.all_reps(state.engine)
        if caller.principal.can_write_for_rep(r.id, r.team_id)
    ]


def _week(state: AppState, rep: queries.RepRef | None) -> Scorecard | None:
    if rep is None:
        return None
    today = BusinessCalendar(state.settings.calendar).today()
    card = rep_scorecard(state.engine, state.settings, rep.name, "week", today)
    return card if card.lines else None


def _log_form(
    request: Request,
    caller: Caller,
    values: dict[str, Any],
    error: InputError | None = None,
    done: ActivityRecord | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    reps = _writable_reps(state, caller)
    if not reps:
        raise refused("log activities (your account is linked to no rep)")
    chosen = next((r for r in reps if r.id == values.get("rep_id")), None)
    chosen = chosen or next((r for r in reps if r.id == caller.principal.rep_id), reps[0])
    settings = state.settings
    return render(
        request,
        "log.html",
        caller,
        {
            "active": "log",
            "reps": reps,
            "rep": chosen,
            "kinds": settings.kinds,
            "outcomes": settings.outcomes,
            "values": values,
            "error": error,
            "done": done,
            "week": _week(state, chosen),
            "accounts": queries.recent_accounts(state.engine, chosen.id),
        },
        status=status,
    )


@router.get("/log")
def log_page(
    request: Request, caller: User, rep: str | None = None, done: str | None = None
) -> Response:
    state = app_state(request)
    with checked_params():
        asked_rep = params.REP_ID.parse(rep)
        done_id = params.record_id("done").parse(done)
    rep_id = asked_rep or _int(request.cookies.get(LAST_REP_COOKIE))
    logged = None
    if done_id is not None:
        logged = queries.readable_activity(state.engine, caller.principal, done_id)
    # After a log the next one starts like it: same kind, and the Ask box as it was (a rep
    # logging a run of calls with an Ask should not have to tick it every time).
    values = {
        "rep_id": rep_id,
        "kind": logged.kind if logged else "call",
        "ask": logged.has_ask if logged else False,
        "account": unquote(request.cookies.get(LAST_ACCOUNT_COOKIE, "")),
    }
    return _log_form(request, caller, values, done=logged)


@router.post("/log")
def log_post(
    request: Request,
    caller: User,
    csrf: Annotated[str, Form()] = "",
    rep: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    account: Annotated[str, Form()] = "",
    ask: Annotated[str, Form()] = "",
    minutes: Annotated[str, Form()] = "",
    when: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(caller, csrf)
    state = app_state(request)
    values: dict[str, Any] = {
        "rep_id": _int(rep),
        "kind": kind,
        "outcome": outcome,
        "account": account,
        "ask": bool(ask),
        "minutes": minutes,
        "when": when,
        "notes": notes,
    }
    target = queries.rep_ref(state.engine, _int(rep) or -1) if rep else None
    if target is None and caller.principal.rep_id is not None and not rep:
        target = queries.rep_ref(state.engine, caller.principal.rep_id)
    if target is None:
        error = InputError("rep", "choose whose activity this is")
        return _log_form(request, caller, values, error, status=422)
    writer = _writer(state, caller)
    try:
        entry = Entry(
            rep=target.name,
            kind=kind,
            occurred_at=parse_when(when),
            account=account.strip() or None,
            outcome=outcome or None,
            has_ask=bool(ask),
            duration_min=parse_minutes(minutes),
            notes=notes.strip() or None,
        )
        with page_errors():
            logged = activities.create(writer, entry, activities.MANUAL_SOURCE)
    except InputError as exc:
        return _log_form(request, caller, values, exc, status=422)
    response = RedirectResponse(f"/log?{urlencode({'done': logged.id})}", status_code=303)
    secure = request.url.scheme == "https"
    if account.strip():
        response.set_cookie(
            LAST_ACCOUNT_COOKIE,
            quote(account.strip()[:200]),
            max_age=REMEMBER_SECONDS,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    response.set_cookie(
        LAST_REP_COOKIE,
        str(target.id),
        max_age=REMEMBER_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    return response


# --- the activity list ----------------------------------------------------------------------


def _back(text: str | None) -> str:
    """A return address inside the activity list only."""
    if text and text.startswith("/activities") and "//" not in text and "\\" not in text:
        return text
    return "/activities"


def _with(url: str, **params: str | int) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def activity_filter(
    settings: Settings, rep: str | None, kind: str | None, start: str | None, end: str | None
) -> ActivityFilter:
    """The activity list's filters (the page's and its download's), each by its rule in
    `paceline.params`: a rep's id, a configured kind, days; a bad one is a 422 page."""
    with checked_params("/activities"):
        return ActivityFilter(
            rep_id=params.REP_ID.parse(rep),
            kind=params.activity_kind(settings, kind),
            start=params.day("start", start),
            end=params.day("end", end),
        )


@router.get("/activities")
def activities_page(
    request: Request,
    caller: User,
    rep: str | None = None,
    kind: str | None = None,
    start: str | None = None,
    end: str | None = None,
    older: str | None = None,
    newer: str | None = None,
    deleted: str | None = None,
    restored: str | None = None,
    saved: str | None = None,
) -> Response:
    state = app_state(request)
    reps = queries.visible_reps(state.engine, caller.principal)
    wanted = activity_filter(state.settings, rep, kind, start, end)
    with checked_params():
        restored_id = params.record_id("restored").parse(restored)
        saved_id = params.record_id("saved").parse(saved)
    if wanted.rep_id is not None and wanted.rep_id not in {r.id for r in reps}:
        raise refused("see that rep's activities")
    try:
        listing = queries.activity_page(
            state.engine,
            caller.principal,
            wanted,
            PER_PAGE,
            zone=state.settings.calendar.zone,
            older=older,
            newer=newer,
        )
    except CursorError:
        raise PageError(422, "Cannot show this page", "The page link is not valid.") from None
    filters = {
        "rep": rep or "",
        "kind": kind or "",
        "start": start or "",
        "end": end or "",
    }
    position = {"older": older} if older else {"newer": newer} if newer else {}
    here = "/activities?" + urlencode({**{k: v for k, v in filters.items() if v}, **position})
    return render(
        request,
        "activities.html",
        caller,
        {
            "active": "activities",
            "listing": listing,
            "reps": reps,
            "kinds": state.settings.kinds,
            "filters": filters,
            "filter_query": urlencode({k: v for k, v in filters.items() if v}),
            "here": here,
            "deleted": deleted,
            "restored": restored_id,
            "saved": saved_id,
        },
    )


def _writer(state: AppState, caller: Caller) -> Writer:
    return Writer.of(state.engine, state.settings, caller.principal)


def _activity_for_writing(state: AppState, caller: Caller, activity_id: int) -> ActivityRecord:
    """An activity the user may change; others' are "not found", as in the API (no probing)."""
    with page_errors():
        return activities.changeable(_writer(state, caller), activity_id)


def _local_input(settings: Settings, moment: dt.datetime) -> str:
    zone = BusinessCalendar(settings.calendar).zone
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%Y-%m-%dT%H:%M")


@router.get("/activities/{activity_id}/edit")
def edit_page(
    request: Request, caller: User, activity_id: int, back: str | None = None
) -> Response:
    state = app_state(request)
    found = _activity_for_writing(state, caller, activity_id)
    values = {
        "kind": found.kind,
        "outcome": found.outcome or "",
        "account": found.account or "",
        "ask": found.has_ask,
        "minutes": "" if found.duration_min is None else f"{found.duration_min:g}",
        "when": _local_input(state.settings, found.occurred_at),
        "notes": found.notes or "",
    }
    return _edit_form(request, caller, found, values, _back(back))


def _edit_form(
    request: Request,
    caller: Caller,
    found: ActivityRecord,
    values: dict[str, Any],
    back: str,
    error: InputError | None = None,
    status: int = 200,
) -> Response:
    settings = app_state(request).settings
    return render(
        request,
        "activity_edit.html",
        caller,
        {
            "active": "activities",
            "activity": found,
            "values": values,
            "kinds": settings.kinds,
            "outcomes": settings.outcomes,
            "error": error,
            "back": back,
        },
        status=status,
    )


def _changes(settings: Settings, found: ActivityRecord, values: dict[str, Any]) -> dict[str, Any]:
    """The fields the form changes. The form sends every field back; a field sent as it was
    shown is not a change, so what the form does not show (engaged, the contact, seconds of
    the time) is kept."""
    moment = parse_when(values["when"])
    if moment is None:
        raise InputError("occurred_at", "when did it happen?")
    typed = {
        "kind": values["kind"],
        "outcome": values["outcome"] or None,
        "account": values["account"].strip() or None,
        "has_ask": values["ask"],
        "duration_min": parse_minutes(values["minutes"]),
        "notes": values["notes"].strip() or None,
    }
    shown = {
        "kind": found.kind,
        "outcome": found.outcome,
        "account": found.account,
        "has_ask": found.has_ask,
        "duration_min": found.duration_min,
        "notes": found.notes,
    }
    changes = {name: value for name, value in typed.items() if value != shown[name]}
    if values["when"].strip() != _local_input(settings, found.occurred_at):
        changes["occurred_at"] = moment
    return changes


@router.post("/activities/{activity_id}/edit")
def edit_post(
    request: Request,
    caller: User,
    activity_id: int,
    csrf: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    account: Annotated[str, Form()] = "",
    ask: Annotated[str, Form()] = "",
    minutes: Annotated[str, Form()] = "",
    when: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(caller, csrf)
    state = app_state(request)
    found = _activity_for_writing(state, caller, activity_id)
    values = {
        "kind": kind,
        "outcome": outcome,
        "account": account,
        "ask": bool(ask),
        "minutes": minutes,
        "when": when,
        "notes": notes,
    }
    try:
        changes = _changes(state.settings, found, values)
        with page_errors():
            activities.edit(_writer(state, caller), activity_id, changes)
    except InputError as exc:
        return _edit_form(request, caller, found, values, _back(back), exc, status=422)
    return RedirectResponse(_with(_back(back), saved=activity_id), status_code=303)


@router.post("/activities/{activity_id}/delete")
def delete_post(
    request: Request,
    caller: User,
    activity_id: int,
    csrf: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(caller, csrf)
    state = app_state(request)
    with page_errors():
        stash = activities.delete(_writer(state, caller), activity_id)
    token = _web(request).undo.put(caller.principal.user_id, stash)
    return RedirectResponse(_with(_back(back), deleted=token), status_code=303)


@router.post("/activities/undo")
def undo_post(
    request: Request,
    caller: User,
    csrf: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(caller, csrf)
    state = app_state(request)
    stash = _web(request).undo.take(caller.principal.user_id, token)
    if stash is None:
        raise PageError(410, "Too late to undo", "This undo has expired or was already used.")
    try:
        with page_errors():
            restored = activities.undo(_writer(state, caller), stash)
    except UserInputError as exc:
        raise PageError(409, "Cannot undo", str(exc)) from None
    return RedirectResponse(_with(_back(back), restored=restored), status_code=303)
