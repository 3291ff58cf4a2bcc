"""Request dependencies shared by the API and the web pages: settings, engine, who is asking.

Below both HTTP faces (the pages import it from here, not from the API; `api.deps` re-exports
it for the routers).

Two ways to be someone: a personal API token (`Authorization: Bearer pl_...`), for other
systems; or the browser's session cookie, for pages (and the pages' own calls to the API,
which must then send the session's CSRF token in `X-CSRF-Token` on anything that writes).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paceline.auth.access import Principal
from paceline.auth.accounts import session_principal, token_principal
from paceline.config import Settings

SESSION_COOKIE = "paceline_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class AppState:
    settings: Settings
    engine: Engine
    # What analyses read from: the read replica (`[database] read_url`) or `engine` itself;
    # writes, sign-ins and the aggregates' refresh use `engine` (see store.engine.read_engine).
    reads: Engine


def app_state(request: Request) -> AppState:
    state = request.app.state.paceline
    assert isinstance(state, AppState)
    return state


async def _app_state(request: Request) -> AppState:
    """`app_state` as a dependency. Async because it does no I/O: FastAPI runs a plain
    function dependency in a worker thread, a hand-over that cost more than the work."""
    return app_state(request)


State = Annotated[AppState, Depends(_app_state)]


@dataclass(frozen=True)
class Caller:
    """The principal and, for a browser session, its CSRF token."""

    principal: Principal
    csrf_token: str | None


def optional_caller(request: Request, state: State) -> Caller | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        principal = token_principal(state.engine, header[7:].strip())
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid or revoked API token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Caller(principal, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = session_principal(state.engine, cookie)
        if found is not None:
            return Caller(*found)
    return None


def api_caller(request: Request) -> Principal:
    """The API's caller; a browser session must prove CSRF on every write.

    One plain dependency that reads the credentials itself (`optional_caller`, in FastAPI's
    worker thread) rather than an async check on top of `optional_caller` and `State`: FastAPI
    solves each dependency of a request in turn, with a cache key and a parameter pass each,
    and every API request paid for three where one does the same checks in the same order."""
    caller = optional_caller(request, app_state(request))
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "log in or send an API token (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if caller.csrf_token is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, caller.csrf_token):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return caller.principal


ApiCaller = Annotated[Principal, Depends(api_caller)]


def forbidden(what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed: {what}")


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"not found: {what}")


# --- headers every response carries -----------------------------------------------------------

BASELINE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
# Data is never a document to run: a JSON or text answer opened in a browser runs nothing.
DATA_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    """Adds the baseline security headers to every response, the API's JSON, static files
    and errors included (the pages set their own, stricter, Content-Security-Policy, which
    is kept). Plain ASGI rather than a Starlette `BaseHTTPMiddleware`: it costs a header
    merge per response, not a task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in BASELINE_HEADERS if n not in present]
                content_type = dict(headers).get(b"content-type", b"")
                if DATA_POLICY[0] not in present and not content_type.startswith(b"text/html"):
                    headers.append(DATA_POLICY)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
