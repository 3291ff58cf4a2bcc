"""The web pages: `mount(app)` adds them, their static files and their error pages.

Pages are thin: each route checks who may see it, calls one analysis or ingest function and
renders its typed result with a Jinja2 template. Charts are drawn by plotly.js, a partial bundle
vendored in the package (web/vendor/plotly; the machine may have no internet; no CDN).

Logging in: the form carries a pre-session CSRF token (double-submit: a random cookie and
the same value in the form), failed attempts are rate-limited by `authenticate`, and a
successful login sets the `paceline_session` cookie HttpOnly, SameSite=Lax and, over https,
Secure. Every later form carries the session's own CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.responses import HTMLResponse

from paceline.auth.accounts import (
    SESSION_LIFETIME,
    LoginRefused,
    TooManyAttempts,
    authenticate,
    end_session,
    start_session,
)
from paceline.callers import SESSION_COOKIE, Caller, State, app_state, optional_caller
from paceline.web import (
    admin,
    dashboards,
    delivery_pages,
    diagnose_pages,
    forecast_pages,
    funnel_pages,
    kiosk_pages,
    pipeline_pages,
    quality_pages,
    report_pages,
    schedule_pages,
    tipping_pages,
    work,
)
from paceline.web.assets import PLOTLY, PLOTLY_DIR, STATIC, AssetFiles
from paceline.web.common import (
    BadParameterPage,
    LoginRequired,
    PageError,
    User,
    check_csrf,
    login_url,
    render,
    safe_next,
)
from paceline.web.import_jobs import UploadLimit
from paceline.web.state import WebState

LOGIN_CSRF_COOKIE = "paceline_login_csrf"


router = APIRouter(include_in_schema=False)


def mount(app: FastAPI) -> None:
    """Add the pages to the API's application (`paceline.server.create_app` does)."""
    app.state.web = WebState()
    app.add_middleware(UploadLimit)  # before the body is read: see web.import_jobs
    app.add_exception_handler(PageError, _page_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.mount("/static", AssetFiles(STATIC), name="static")
    app.mount("/vendor/plotly", AssetFiles(PLOTLY_DIR, only=frozenset({PLOTLY})), name="plotly")
    app.include_router(router)
    for module in (
        report_pages,  # before the pages whose paths it extends (/reps/{id}/report.pdf)
        dashboards,
        diagnose_pages,
        forecast_pages,
        funnel_pages,
        pipeline_pages,
        quality_pages,
        tipping_pages,
        work,
        admin,
        delivery_pages,
        kiosk_pages,
        schedule_pages,
    ):
        app.include_router(module.router)


def _page_error(request: Request, exc: Exception) -> Response:
    """An HTML error page (sync: Starlette runs it in a thread, it reads the session)."""
    assert isinstance(exc, PageError)
    caller = _caller_or_none(request)
    # A bad parameter's way on: the page asked for, with its defaults.
    link = (exc.page or request.url.path) if isinstance(exc, BadParameterPage) else None
    return render(
        request,
        "error.html",
        caller,
        {"title": exc.title, "message": exc.message, "link": link},
        status=exc.status,
        headers=exc.headers,
    )


def invalid_request_page(request: Request, exc: RequestValidationError) -> Response:
    """A page's typed parameter that does not parse (a record's id in the path, a number of a
    form's redirect): the 422 page a bad `paceline.params` value gets, naming the field, the
    value and FastAPI's rule, not the API's JSON (sync: it reads the session)."""
    first = exc.errors()[0] if exc.errors() else {}
    where = tuple(first.get("loc", ()))
    field = str(where[-1]) if where else "parameter"
    value = first.get("input")
    rule = str(first.get("msg", "not valid")).rstrip(".")
    shown = f"{value!r} is not allowed here: " if isinstance(value, str) else ""
    return render(
        request,
        "error.html",
        _caller_or_none(request),
        {
            "title": f"Not a valid {field}",
            "message": f"{field}: {shown}{rule}.",
            # a bad query has a way on (the page with its defaults); a bad path has none
            "link": request.url.path if where[:1] == ("query",) else None,
        },
        status=422,
    )


def busy_page(request: Request, retry_after_s: int) -> Response:
    """The page a saturated server answers (503, Retry-After), for any user: it names no one,
    because finding out who is asking would need the database that is busy."""
    return render(
        request,
        "error.html",
        None,
        {"title": "Busy", "message": "The server is busy. Try again in a few seconds."},
        status=503,
        headers={"Retry-After": str(retry_after_s)},
    )


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_url), status_code=303)


def _caller_or_none(request: Request) -> Caller | None:
    try:
        caller = optional_caller(request, app_state(request))
    except HTTPException:  # a bad API token: no page user
        return None
    return caller if caller is not None and caller.csrf_token is not None else None


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


# --- logging in and out ---------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    caller = _caller_or_none(request)
    if caller is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, safe_next(next))


def _login_form(
    request: Request,
    next_url: str,
    error: str | None = None,
    status: int = 200,
    username: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        {"login_csrf": token, "next": next_url, "error": error, "username": username},
        status=status,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    state: State,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        return _login_form(
            request,
            safe_next(next),
            "The login form expired. Please try again.",
            status=403,
            username=username,
        )
    address = request.client.host if request.client else "unknown"
    try:
        principal = authenticate(state.engine, username, password, address)
    except TooManyAttempts as exc:
        minutes = max(1, round(exc.retry_after / 60))
        when = f"about {minutes} minute{'s' if minutes != 1 else ''}"
        message = (
            f"Too many failed logins for this user. Every password, the right one too, is "
            f"refused for {when}; an administrator can lift the lock now."
            if exc.user_locked
            else f"Too many failed logins. Try again in {when}."
        )
        return _login_form(
            request,
            safe_next(next),
            message,
            status=429,
            username=username,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except LoginRefused:
        return _login_form(
            request,
            safe_next(next),
            "Wrong user name or password.",
            status=401,
            username=username,
        )
    cookie, _csrf = start_session(state.engine, principal.user_id)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, state: State, caller: User, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(caller, csrf)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        end_session(state.engine, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/")
def home(caller: User) -> Response:
    principal = caller.principal
    if principal.role == "rep" and principal.rep_id is not None:
        return RedirectResponse("/scorecard", status_code=303)
    return RedirectResponse("/team", status_code=303)
