"""What the API routers share: input types, scopes, name look-ups, the refusal policy, and
the query and subject rules every diagnosis follows.

Refusals, the same in every router:
- 401: no credentials, or an unknown or revoked API token.
- 404: a record addressed by id in the path (an activity, deal, rep or token) that does not
  exist *or* that the caller may not see: both answers are identical, so ids cannot be probed
  for what other teams have.
- 404 too: a rep or team named in a query that does not exist, with `detail` naming the
  parameter (`loc` `["query", "rep"]`), as on the web pages. The policy is `paceline.access`.
- 403: anything else the caller's role does not allow: an action (a rep setting targets,
  saving a plan, listing users) or a rep or team named in a query or body that is outside the
  caller's reach. Names of reps and teams are not secret inside a company (leaderboards show
  them); their records are.
- 422: input that cannot be used (an unknown rep or team named in a body included), with
  `detail` a list of `{loc, msg, type}` whose `loc` names the field (`["body", "kind"]`,
  `["query", "as_of"]`), as FastAPI's own validation errors do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, NoReturn, TypeVar, overload

from fastapi import Depends, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import AfterValidator, StringConstraints, TypeAdapter
from sqlalchemy import Engine

from paceline import access, clock
from paceline.analytics.window import Window, diagnosis_window
from paceline.api.deps import AppState
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.errors import (
    Conflict,
    Forbidden,
    InputError,
    NotFound,
    UserInputError,
    did_you_mean,
)
from paceline.ingest.entities import slug
from paceline.params import EARLIEST, LATEST
from paceline.serialize import to_jsonable
from paceline.store.listings import COUNT_LIMIT, MAX_OFFSET, Cursor, CursorError, Paging
from paceline.store.records import RepRef

Location = Literal["body", "query", "path"]
MAX_ID = 2**63 - 1
MAX_PAGE = 500
# A record by id in the path: not found is 404 "not found: <what>", whatever else was asked.
PATH_FIELDS = frozenset({"activity_id", "deal_id", "rep_id", "token_id"})
T = TypeVar("T")


# Documents the bearer token in the OpenAPI description; `deps.api_caller` does the checking
# (and also accepts the browser's session cookie).
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A personal API token (create one with POST /tokens or `paceline token`).",
)
AUTH = [Depends(_bearer)]


# --- input types -----------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Text any database stores: no NUL characters, no lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _plausible_day(value: dt.date) -> dt.date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


def _plausible_moment(value: dt.datetime) -> dt.datetime:
    _plausible_day(value.date())
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(clean_text),
]
LongName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(clean_text),
]
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(clean_text),
]
Notes = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(clean_text)]
ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(clean_text),
]
Day = Annotated[dt.date, AfterValidator(_plausible_day)]
Moment = Annotated[dt.datetime, AfterValidator(_plausible_moment)]
# No upper bound here: an id no row can have is "not found" (404), as the store answers it.
RecordId = Annotated[int, Path(ge=1)]


# --- errors ----------------------------------------------------------------------------------


def known_value(value: str, known: Iterable[str], field: str) -> str:
    """A filter value that must be one of the configured names (a stage, a role), in the
    stored spelling; anything else is a 422 naming the field and the close names, never an
    empty answer that looks like "nothing there"."""
    wanted = slug(value)
    names = sorted(known)
    if wanted not in names:
        hint = did_you_mean(value, names)
        raise invalid("query", field, f"unknown {field} {value!r}{hint}")
    return wanted


def invalid(location: Location, field: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors."""
    loc: list[str] = [location, field] if field else [location]
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"type": "value_error", "loc": loc, "msg": message}],
    )


@contextmanager
def input_errors(location: Location) -> Iterator[None]:
    """UserInputError ("field: reason") from an analysis -> 422 naming the field where it was.

    The application maps it to a body error; analyses read query parameters too.
    """
    try:
        yield
    except UserInputError as exc:
        field, _, reason = str(exc).partition(": ")
        raise (
            invalid(location, field, reason) if reason else invalid(location, "", field)
        ) from None


def refuse(what: str) -> NoReturn:
    raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed: {what}")


def missing(what: str) -> NoReturn:
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"not found: {what}")


def result(value: Any, status_code: int = 200) -> JSONResponse:
    """An analysis's result object, as the CLI's --json prints it.

    A response, so FastAPI neither checks nor re-serialises it (Pydantic would write a float
    that holds 3 as 3.0): the route's `response_model=json_model(ResultType)` only publishes
    the shape, and tests/test_openapi.py checks real answers against it."""
    return JSONResponse(to_jsonable(value), status_code=status_code)


class Answer(Generic[T]):
    """A route's response model, written to JSON in the endpoint's own worker thread.

    FastAPI checks and writes what a plain (`def`) endpoint returns in one more hand-over to
    a worker thread after the endpoint's own (`fastapi.routing.serialize_response`); a
    `Response` it sends as it is. So a list or a record the endpoint builds from the store
    goes out through `Answer(Model).json(value)`: the same bytes, written the way FastAPI
    writes them (Pydantic's `dump_json` by alias), one hand-over fewer per request. The
    route keeps `response_model=` for the published schema."""

    def __init__(self, model: Any) -> None:
        self.adapter: TypeAdapter[T] = TypeAdapter(model)

    def json(self, value: T, status_code: int = 200) -> Response:
        return Response(
            self.adapter.dump_json(value, by_alias=True),
            status_code=status_code,
            media_type="application/json",
        )


# --- who may see what: `paceline.access`, translated -----------------------------------------


@contextmanager
def domain_errors(location: Location) -> Iterator[None]:
    """The access policy's and the services' answers as HTTP: not found 404 (a name in a body
    is a value to store, so there an unknown one is 422), forbidden 403, a clash with a record
    out of reach 409, unusable input 422; each 404 and 422 names the parameter, as FastAPI's
    own validation errors do."""
    try:
        yield
    except NotFound as exc:
        if exc.field in PATH_FIELDS:  # a record by id, whatever else was asked
            missing(exc.what)
        if location == "body":
            raise invalid(location, exc.field, exc.message) from None
        loc = [location, exc.field] if exc.field else [location]
        detail = [{"type": "not_found", "loc": loc, "msg": exc.message}]
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=detail) from None
    except Forbidden as exc:
        refuse(exc.what)
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except InputError as exc:
        raise invalid(location, exc.field, exc.reason) from None


scope_of = access.scope_of
own_rep = access.own_rep


def find_rep(
    reps: dict[str, RepRef], principal: Principal, name: str, field: str = "rep"
) -> RepRef:
    """The rep of a name given in a body (unknown: 422 naming the field)."""
    with domain_errors("body"):
        return access.find_rep(reps, principal, name, field)


def readable_rep(
    reps: dict[str, RepRef], principal: Principal, name: str, location: Location, field: str
) -> RepRef:
    """A rep named in a request whose records the caller may read."""
    with domain_errors(location):
        return access.readable_rep(reps, principal, name, field=field)


def find_team(
    engine: Engine, name: str, location: Location, field: str = "team"
) -> tuple[int, str]:
    """(id, name) of a team named in a request."""
    with domain_errors(location):
        return access.find_team(engine, name, field)


# --- lists ---------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Items per page, at most {MAX_PAGE}.")]
Offset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_OFFSET,
        description=f"Items to skip (at most {MAX_OFFSET:,}); kept for old clients: page "
        "with `cursor` instead, which costs the same on every page.",
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Where the page starts: the `next` of the previous answer (with the same "
        "filters). Leave out for the newest page.",
    ),
]
CountQuery = Annotated[
    bool,
    Query(
        description=f"Count every match exactly. Without it `total` is exact when at most "
        f"{COUNT_LIMIT:,} match, and null when more do."
    ),
]
TOTAL_DOC = (
    f"How many match the filters: exact when at most {COUNT_LIMIT:,} match or `count=true` was "
    "asked; null when more match (counting them all on every page is what made lists slow)."
)
NEXT_DOC = "The `cursor` of the next (older) page; null on the last page."


def paging(limit: int, offset: int, cursor: str | None, count: bool, list_: str) -> Paging:
    """The page a list request asks for; a cursor this list did not hand out, or a cursor
    with an offset, is a 422 naming the parameter."""
    after = None
    if cursor is not None:
        if offset:
            raise invalid("query", "offset", "give a cursor or an offset, not both")
        try:
            after = Cursor.parse(cursor, list_)
        except CursorError as exc:
            raise invalid("query", "cursor", str(exc)) from None
    return Paging(limit, offset, after=after, count="exact" if count else "bounded")


# --- diagnoses ------------------------------------------------------------------------------

RepQuery = Annotated[
    Name | None, Query(description="One rep (name), beside their peers; a rep's default: themself.")
]
TeamQuery = Annotated[
    Name | None, Query(description="One team (name); default: your own (an admin: everyone).")
]
PeriodQuery = Annotated[
    Label | None,
    Query(
        description="week, month, quarter, year (to date) or trailing days such as 90d; "
        "default: the configured diagnosis window."
    ),
]
AsOf = Annotated[Day | None, Query(description="The last day read (default: today).")]
Analysis = Callable[..., Any]


@dataclass(frozen=True)
class Asked:
    """The query of a diagnosis: whom it is about and the window it reads, as given."""

    rep: str | None = None
    team: str | None = None
    period: str | None = None
    as_of: dt.date | None = None


def _subject_and_window(
    rep: RepQuery = None, team: TeamQuery = None, period: PeriodQuery = None, as_of: AsOf = None
) -> Asked:
    return Asked(rep, team, period, as_of)


def _rep_and_window(rep: RepQuery = None, period: PeriodQuery = None, as_of: AsOf = None) -> Asked:
    return Asked(rep=rep, period=period, as_of=as_of)


def _team_and_window(
    team: TeamQuery = None, period: PeriodQuery = None, as_of: AsOf = None
) -> Asked:
    return Asked(team=team, period=period, as_of=as_of)


# One dependency per shape of query, so each endpoint publishes exactly the parameters it reads.
SubjectAsked = Annotated[Asked, Depends(_subject_and_window)]
RepAsked = Annotated[Asked, Depends(_rep_and_window)]
TeamAsked = Annotated[Asked, Depends(_team_and_window)]


def team_in_reach(engine: Engine, caller: Principal, team: str | None, what: str) -> str | None:
    """The team asked about, by its stored name; None (everyone) only for an admin."""
    with domain_errors("query"):
        return access.team_in_reach(engine, caller, team, what)


def diagnosis_subject(
    engine: Engine,
    caller: Principal,
    rep: str | None,
    team: str | None,
    what: str,
    *,
    rep_in_team: bool = False,
) -> tuple[str | None, str | None]:
    """(rep, team) a diagnosis reads (`access.diagnosis_subject`). Both given is a 422,
    unless `rep_in_team`: analyses that look the rep up among the team's reps take both."""
    if rep is not None and team is not None and not rep_in_team:
        raise invalid("query", "team", "give a rep or a team, not both")
    with domain_errors("query"):
        return access.diagnosis_subject(engine, caller, rep, team, what)


def query_window(settings: Settings, period: str | None, as_of: dt.date | None) -> Window:
    """The window a diagnosis reads; a period it cannot read is a 422 naming `period`."""
    with input_errors("query"):
        return diagnosis_window(settings, period or settings.diagnose.window, as_of)


def diagnosis_result(
    state: AppState,
    caller: Principal,
    asked: Asked,
    analysis: Analysis,
    what: str,
    *,
    rep_in_team: bool = False,
) -> JSONResponse:
    """`analysis(engine, settings, window, rep=, team=)` for what the caller asked and may
    read, answered as the CLI's --json prints it."""
    rep, team = diagnosis_subject(
        state.engine, caller, asked.rep, asked.team, what, rep_in_team=rep_in_team
    )
    window = query_window(state.settings, asked.period, asked.as_of)
    with input_errors("query"):
        return result(analysis(state.reads, state.settings, window, rep=rep, team=team))


# --- time ------------------------------------------------------------------------------------


def local_and_utc(
    calendar: BusinessCalendar, moment: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """(UTC, business-local), both naive, for a moment given with an offset or in local time.

    Without an offset a time is business-local, as a person logging a call means it; no
    moment at all means now.
    """
    moment = moment or clock.now(calendar.zone)
    aware = moment.replace(tzinfo=calendar.zone) if moment.tzinfo is None else moment
    local = aware.astimezone(calendar.zone).replace(tzinfo=None)
    utc = aware.astimezone(dt.UTC).replace(tzinfo=None)
    return utc, local


@overload
def as_utc(moment: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored (naive UTC) moment, marked as UTC for output."""
    return None if moment is None else moment.replace(tzinfo=dt.UTC)
