"""What every page shares: who is asking, CSRF checks, rendering, and number formatting.

Pages need a browser session (the `paceline_session` cookie); without one a page redirects
to the login form. Every form that writes carries the session's CSRF token in a hidden
`csrf` field, checked here in constant time; a wrong or missing token is a 403 page.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from paceline import params
from paceline.analytics.pacing import Pace
from paceline.auth.access import Principal
from paceline.callers import AppState, Caller, optional_caller
from paceline.config import Settings
from paceline.describe import (
    NET_UNMEASURED_CELL,
    NET_UNMEASURED_TEXT,
    PRIOR_LEGEND,
    PRIOR_MARK,
    Words,
    accrual_texts,
    amounts_text,
    count_text,
    entered_late_text,
    history_text,
    metric_text,
    money_text,
    not_counted_text,
    sizes_source_text,
    unrecorded_cell,
    unrecorded_texts,
)
from paceline.errors import BadParameter, Forbidden, NotFound
from paceline.web.assets import asset_url

T = TypeVar("T", bound=str)
HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

DASH = "\u2013"  # shown for a number that does not exist (no target, nothing to divide)

STATUS_LABELS = {
    "ahead": "Ahead",
    "on_pace": "On pace",
    "behind": "Behind",
    "unclear": "Too few to tell",
    "no_target": "No target",
    "not_recorded": "Not recorded",
}


class PageError(Exception):
    """Ends a page request with an HTML error page (403 refusals, 404s, bad input)."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.headers = headers or {}


class BadParameterPage(PageError):
    """A query parameter outside its rule (`paceline.params`): a 422 page naming the field,
    the value and what is allowed, with a link to the page with its defaults (`page`: that
    page's path; None: the path asked for, without its query)."""

    def __init__(self, exc: BadParameter, page: str | None = None) -> None:
        super().__init__(
            422,
            f"Not a valid {exc.field}",
            f"{exc.field}: {exc.value!r} is not allowed here; use {exc.allowed}.",
        )
        self.page = page


@contextmanager
def checked_params(page: str | None = None) -> Iterator[None]:
    """Parameters read inside are the shared rules' (`paceline.params`): a bad one ends the
    request with a 422 page, never a silent default nor another answer than the one asked."""
    try:
        yield
    except BadParameter as exc:
        raise BadParameterPage(exc, page) from None


class LoginRequired(Exception):
    """No browser session: the page redirects to the login form and back."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def refused(what: str) -> PageError:
    return PageError(403, "Not allowed", f"You are not allowed to {what}.")


def not_found(what: str) -> PageError:
    return PageError(404, "Not found", f"There is no {what}.")


@contextmanager
def page_errors() -> Iterator[None]:
    """The access policy's answers (`paceline.access`) as pages: not found 404, out of reach
    403. (`InputError` is left to the form, which shows it at its field.)"""
    try:
        yield
    except NotFound as exc:
        raise not_found(exc.what) from None
    except Forbidden as exc:
        raise refused(exc.what) from None


def page_caller(
    request: Request, caller: Annotated[Caller | None, Depends(optional_caller)]
) -> Caller:
    """The logged-in user of a page; pages are for browser sessions only."""
    if caller is None or caller.csrf_token is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return Caller(replace(caller.principal, face="web"), caller.csrf_token)


User = Annotated[Caller, Depends(page_caller)]


def check_csrf(caller: Caller, sent: str | None) -> None:
    expected = caller.csrf_token or ""
    if not expected or not hmac.compare_digest((sent or "").encode(), expected.encode()):
        raise PageError(
            403,
            "Form expired",
            "The form was missing its security token or it did not match your session. "
            "Reload the page and try again.",
        )


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after a login (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_url(next_url: str) -> str:
    return "/login" + (f"?next={quote(next_url, safe='')}" if next_url not in ("", "/") else "")


# --- navigation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str


def navigation(principal: Principal) -> list[NavItem]:
    items: list[NavItem] = []
    if principal.rep_id is not None and principal.role == "rep":
        items.append(NavItem("scorecard", "My scorecard", "/scorecard"))
    if principal.role != "rep":
        items.append(NavItem("team", "Team", "/team"))
    items.append(NavItem("leaderboard", "Leaderboard", "/leaderboard"))
    items.append(NavItem("diagnose", "Diagnose", "/diagnose"))
    if principal.role != "rep":
        items.append(NavItem("forecast", "Forecast", "/forecast"))
        items.append(NavItem("tipping", "Tipping point", "/tipping"))
    if principal.role != "rep":
        items.append(NavItem("plan", "Plan", "/plan"))
    items.append(NavItem("log", "Log activity", "/log"))
    items.append(NavItem("activities", "Activities", "/activities"))
    if principal.role != "rep":
        items.append(NavItem("kiosks", "Wall screens", "/kiosks"))
    if principal.can_administer:
        items.append(NavItem("import", "Import", "/import"))
        items.append(NavItem("users", "Users", "/users"))
        items.append(NavItem("deliveries", "Deliveries", "/deliveries"))
        items.append(NavItem("audit", "Audit", "/audit"))
        items.append(NavItem("jobs", "Jobs", "/jobs"))
        items.append(NavItem("syncs", "Syncs", "/syncs"))
    items.append(NavItem("preferences", "My deliveries", "/preferences"))
    items.append(NavItem("tokens", "API tokens", "/tokens"))
    return items


# --- rendering ------------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    caller: Caller | None,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    state: AppState = request.app.state.paceline
    data: dict[str, Any] = {
        "user": caller.principal if caller else None,
        "csrf": caller.csrf_token if caller else None,
        "nav": navigation(caller.principal) if caller else [],
        "active": "",
        "units": metric_units(state.settings),
        "labels": metric_labels(state.settings),
        "zone": state.settings.calendar.zone,
        "words": Words(state.settings),
    }
    data.update(context or {})
    response = TEMPLATES.TemplateResponse(request, template, data, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def metric_units(settings: Settings) -> dict[str, str]:
    """Each metric's unit (configured, or natural from its definition), for `fmt_metric`."""
    return {m.name: settings.metric_unit(m.name) for m in settings.metrics}


def metric_labels(settings: Settings) -> dict[str, str]:
    return {m.name: m.label or m.name for m in settings.metrics}


def parse_choice(
    rule: params.Choice[T], text: str | None, default: T, page: str | None = None
) -> T:
    """`rule`'s value (the API's), `default` when absent or blank; else a 422 page."""
    with checked_params(page):
        return rule.parse(text, default)


def parse_number(rule: params.Number, text: str | None, page: str | None = None) -> int | None:
    """`rule`'s whole number within its limits (the API's), None when absent or blank."""
    with checked_params(page):
        return rule.parse(text)


def parse_date(text: str | None, field: str = "as_of", page: str | None = None) -> dt.date | None:
    """A day as the API reads it (`params.day`), None when absent or blank; else a 422 page
    naming `field`."""
    with checked_params(page):
        return params.day(field, text)


# --- formatting (Jinja filters) -------------------------------------------------------------


def fmt_number(value: float | None, digits: int | None = None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    if digits is not None:
        return f"{value:,.{digits}f}"
    return count_text(value)


def fmt_metric(value: float | None, unit: str | None) -> str:
    """A figure in its unit as the pages show it: `describe.metric_text`, compact."""
    return DASH if value is None else metric_text(value, unit, compact=True)


def fmt_money(value: float | None) -> str:
    return DASH if value is None else money_text(value)


def fmt_percent(value: float | None, digits: int = 0) -> str:
    if value is None:
        return DASH
    return f"{value * 100:.{digits}f}%"


def fmt_status(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " "))


def fmt_when(moment: dt.datetime | None, zone: Any) -> str:
    """A stored UTC time in the business time zone."""
    if moment is None:
        return ""
    local = moment.replace(tzinfo=dt.UTC).astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M")


def pace_bar(p: Pace) -> dict[str, float] | None:
    """Positions (percent of the bar) of actual, expected-to-date and target (None: no bar,
    for want of a target or, for a rate with nothing to divide by, of an actual)."""
    if p.target is None or p.actual is None:
        return None
    scale = max(p.target, p.actual, p.expected_to_date or 0.0)
    if scale <= 0:
        return {"actual": 0.0, "expected": 0.0, "target": 100.0}
    return {
        "actual": round(100 * p.actual / scale, 1),
        "expected": round(100 * (p.expected_to_date or 0.0) / scale, 1),
        "target": round(100 * p.target / scale, 1),
    }


TEMPLATES.env.filters.update(
    number=fmt_number,
    metric=fmt_metric,
    money=fmt_money,
    percent=fmt_percent,
    status_label=fmt_status,
)
TEMPLATES.env.globals.update(
    pace_bar=pace_bar,
    when=fmt_when,
    asset_url=asset_url,
    unrecorded_texts=unrecorded_texts,
    accrual_texts=accrual_texts,
    unrecorded_cell=unrecorded_cell,
    not_counted_text=not_counted_text,
    amounts_text=amounts_text,
    NET_UNMEASURED_CELL=NET_UNMEASURED_CELL,
    NET_UNMEASURED_TEXT=NET_UNMEASURED_TEXT,
    history_text=history_text,
    entered_late_text=entered_late_text,
    PRIOR_MARK=PRIOR_MARK,
    PRIOR_LEGEND=PRIOR_LEGEND,
    sizes_source_text=sizes_source_text,
)
