"""Wall screens: the kiosk link's TV board, and the page where managers make and revoke links.

`/kiosk/<token>` needs no session: the link is the credential, and it opens only its team's
TV board (the metric, period, ranking and paging may be chosen in the query; the team may
not). A revoked or unknown link is the same 404, so a guess learns nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from paceline.auth.kiosks import (
    NewKioskLink,
    create_kiosk_link,
    kiosk_team,
    list_kiosk_links,
    revoke_kiosk_link,
)
from paceline.callers import Caller, app_state
from paceline.errors import Forbidden, UserInputError
from paceline.web import queries
from paceline.web.common import PageError, User, check_csrf, refused, render
from paceline.web.dashboards import BoardAsk, TvAsk, tv_response

router = APIRouter(include_in_schema=False)


@router.get("/kiosk/{token}")
def kiosk_board(
    request: Request,
    token: str,
    metric: str | None = None,
    period: str | None = None,
    role: str | None = None,
    by: str | None = None,
    refresh: str | None = None,
    top: str | None = None,
    page: str | None = None,
) -> Response:
    team = kiosk_team(app_state(request).engine, token)
    if team is None:
        raise PageError(404, "No such wall-screen link", "This link is unknown or revoked.")
    ask = BoardAsk(metric, period, role, None, by)
    response = tv_response(request, None, team, ask, TvAsk(refresh, top, page), f"/kiosk/{token}")
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL is the secret
    return response


def _manager_or_admin(caller: Caller) -> None:
    if caller.principal.role == "rep":
        raise refused("manage wall-screen links (that page is for managers and admins)")


def _kiosks_page(
    request: Request,
    caller: Caller,
    new: NewKioskLink | None = None,
    error: str | None = None,
    revoked: int | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    principal = caller.principal
    teams = (
        [t.name for t in queries.teams(state.engine)]
        if principal.is_admin
        else [t.name for t in queries.teams(state.engine) if t.id == principal.team_id]
    )
    return render(
        request,
        "kiosks.html",
        caller,
        {
            "active": "kiosks",
            "links": list_kiosk_links(state.engine, principal),
            "teams": teams,
            "new": new,
            "new_url": str(request.base_url).rstrip("/") + new.path if new else "",
            "error": error,
            "revoked": revoked,
        },
        status=status,
    )


@router.get("/kiosks")
def kiosks_page(request: Request, caller: User, revoked: int | None = None) -> Response:
    _manager_or_admin(caller)
    return _kiosks_page(request, caller, revoked=revoked)


@router.post("/kiosks")
def kiosks_post(
    request: Request,
    caller: User,
    csrf: Annotated[str, Form()] = "",
    team: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    _manager_or_admin(caller)
    check_csrf(caller, csrf)
    try:
        made = create_kiosk_link(app_state(request).engine, team, name, caller.principal)
    except (UserInputError, Forbidden) as exc:
        return _kiosks_page(request, caller, error=str(exc), status=422)
    return _kiosks_page(request, caller, new=made)


@router.post("/kiosks/{link_id}/revoke")
def kiosks_revoke(
    request: Request,
    caller: User,
    link_id: int,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _manager_or_admin(caller)
    check_csrf(caller, csrf)
    try:
        revoke_kiosk_link(app_state(request).engine, link_id, caller.principal)
    except UserInputError as exc:
        raise PageError(404, "No such link", str(exc)) from None
    return RedirectResponse(f"/kiosks?revoked={link_id}", status_code=303)
