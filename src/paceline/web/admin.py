"""Pages for planning and running the system: plan builder, CSV import, users, API tokens."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from paceline import params, plugins
from paceline.analytics.plan import (
    Plan,
    PlanInput,
    RateNeeded,
    build_plan,
    funnel_steps,
    measure_rates,
    parse_amount,
    parse_rate,
    plan_period,
    plan_weights,
)
from paceline.auth.access import ROLES
from paceline.auth.accounts import list_tokens, list_users
from paceline.calendar import BusinessCalendar, local_midnight_utc
from paceline.callers import AppState, Caller, app_state
from paceline.config import Settings
from paceline.errors import NotFound, UserInputError
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.importer import ImportOptions, ImportResult, import_file
from paceline.ingest.mapping import ENTITIES, Mapping, MappingError, load_mapping
from paceline.ingest.sources import ImportSource
from paceline.services import audit, users
from paceline.services.targets import SavedTargets, save_plan_targets
from paceline.store.audit import ENTITIES as ENTITY_NAMES
from paceline.store.records import storable_id
from paceline.store.runs import run_progress
from paceline.web import queries
from paceline.web.common import (
    PageError,
    User,
    check_csrf,
    checked_params,
    not_found,
    page_errors,
    refused,
    render,
)
from paceline.web.import_jobs import ImportJob
from paceline.web.state import WebState

router = APIRouter(include_in_schema=False)

MAPPINGS_ENV = "PACELINE_MAPPINGS"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# The form's one question about owners. A Salesforce file without OwnerId (`--owner`) and
# a calendar (`--rep`) both leave some rows without a rep the file names, and a sales ops
# user uploading either thinks "these are Ben's": the page asks that once and hands the
# answer to whichever the file's reader takes (two fields side by side left them guessing).
WHOSE_ROWS = "Whose rows are these?"
# How a refusal of a file without an owner column names that field (the command line's
# `--owner REP` is no option here).
OWNER_FIELD = f"the field “{WHOSE_ROWS}” of this page"
# The calendar's two reading options, as `paceline import calendar --since` and
# `--internal-domain` take them; the page's labels name them in its refusals.
SINCE_FIELD = "Meetings since"
DOMAINS_FIELD = "Your company's e-mail domains"


# --- plan builder ---------------------------------------------------------------------------


def _planner(caller: Caller) -> None:
    if caller.principal.role == "rep":
        raise refused("build plans (plans are for managers and admins)")


def _steps(state: AppState) -> list[tuple[str, str]]:
    return list(pairwise(funnel_steps(state.settings)))


@router.get("/plan")
def plan_page(request: Request, caller: User) -> Response:
    _planner(caller)
    state = app_state(request)
    pairs = _steps(state)
    values: dict[str, Any] = {
        "revenue": "",
        "deal_size": "",
        "year": "",
        "team": "",
        "role": "",
        "headcount": "",
        "from_history": True,
        "history_months": "",
        "rates": [""] * len(pairs),
    }
    return _plan_form(request, caller, values)


def _plan_form(
    request: Request,
    caller: Caller,
    values: dict[str, Any],
    plan: Plan | None = None,
    saved: SavedTargets | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    principal = caller.principal
    own_team = queries.team_by_id(state.engine, principal.team_id)
    return render(
        request,
        "plan.html",
        caller,
        {
            "active": "plan",
            "values": values,
            "pairs": _steps(state),
            "plan": plan,
            "saved": saved,
            "error": error,
            "teams": queries.teams(state.engine) if principal.is_admin else [],
            "own_team": own_team.name if own_team else None,
            "roles": [r for r in state.settings.roles if r.key_metrics],
            "cascade": (plan.revenue_target, *reversed(plan.steps)) if plan else (),
        },
        status=status,
    )


def _optional_int(name: str, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise UserInputError(f"{name}: {text!r} is not a whole number") from None


@router.post("/plan")
def plan_post(
    request: Request,
    caller: User,
    csrf: Annotated[str, Form()] = "",
    revenue: Annotated[str, Form()] = "",
    deal_size: Annotated[str, Form()] = "",
    year: Annotated[str, Form()] = "",
    team: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    headcount: Annotated[str, Form()] = "",
    from_history: Annotated[str, Form()] = "",
    history_months: Annotated[str, Form()] = "",
    rate: Annotated[list[str] | None, Form()] = None,
    action: Annotated[str, Form()] = "build",
) -> Response:
    _planner(caller)
    check_csrf(caller, csrf)
    state = app_state(request)
    pairs = _steps(state)
    rates = list(rate or [])
    rates += [""] * (len(pairs) - len(rates))
    values: dict[str, Any] = {
        "revenue": revenue,
        "deal_size": deal_size,
        "year": year,
        "team": team,
        "role": role,
        "headcount": headcount,
        "from_history": bool(from_history),
        "history_months": history_months,
        "rates": rates[: len(pairs)],
    }
    principal = caller.principal
    if principal.is_admin:
        team_name = team or None
        if team_name and queries.team_by_name(state.engine, team_name) is None:
            raise not_found(f"team named {team_name!r}")
    else:
        own = queries.team_by_id(state.engine, principal.team_id)
        if own is None:
            raise refused("build plans (your account has no team)")
        team_name = own.name
    try:
        plan = _build(state, values, pairs, team_name, role or None)
        saved = None
        if action == "save":  # who may set whose targets: the service asks the policy (403)
            with page_errors():
                saved = save_plan_targets(state.engine, plan, principal=principal)
    except UserInputError as exc:
        return _plan_form(request, caller, values, error=str(exc), status=422)
    return _plan_form(request, caller, values, plan=plan, saved=saved)


def _build(
    state: AppState,
    values: dict[str, Any],
    pairs: list[tuple[str, str]],
    team: str | None,
    role: str | None,
) -> Plan:
    settings = state.settings
    calendar = BusinessCalendar(settings.calendar)
    if not str(values["revenue"]).strip():
        raise UserInputError("revenue: give the revenue goal for the year, e.g. 70M")
    if not str(values["deal_size"]).strip():
        raise UserInputError("deal size: give the average deal size, e.g. 35k")
    given = tuple(
        parse_rate(f"{upper}:{lower}={text.strip()}")
        for (upper, lower), text in zip(pairs, values["rates"], strict=True)
        if text.strip()
    )
    year = _optional_int("year", values["year"])
    headcount = _optional_int("reps", values["headcount"])
    months = _optional_int("history months", values["history_months"])
    period = plan_period(calendar, year)
    weights = (
        () if headcount is not None else plan_weights(state.engine, settings, period, role, team)
    )
    measured = (
        measure_rates(state.engine, settings, calendar.today(), None, team, months, by_role=True)
        if values["from_history"]
        else None
    )
    inputs = PlanInput(
        parse_amount("revenue", values["revenue"]),
        parse_amount("deal size", values["deal_size"]),
        given,
        year,
        headcount,
        weights,
        role if headcount is not None else None,
    )
    try:
        return build_plan(settings, calendar, inputs, measured)
    except RateNeeded as exc:
        raise UserInputError(_page_reason(settings, exc, bool(values["from_history"]))) from None


def _page_reason(settings: Settings, exc: RateNeeded, from_history: bool) -> str:
    """A rate the plan needs, in the page's words: its field's label, not CLI syntax."""

    def label(metric: str) -> str:
        return settings.metric(metric).label or metric

    field = f"“{label(exc.upper)} → {label(exc.lower)}”"
    if exc.reason == "missing" and not from_history:
        return (
            f"Conversion rate {field} is blank: fill it in (e.g. 25%), or tick "
            "“Measure rates I leave blank from history”."
        )
    return f"Conversion rate {field}: {exc.reason}. Fill in the {field} rate (e.g. 25%)."


# --- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingChoice:
    key: str  # "<dir index>:<relative path>"
    label: str
    path: Path


def mapping_dirs() -> list[Path]:
    """Where mapping files can be picked from: $PACELINE_MAPPINGS, or ./mappings and
    ./examples/mappings of the directory the server runs in."""
    configured = os.environ.get(MAPPINGS_ENV)
    if configured:
        return [Path(p) for p in configured.split(os.pathsep) if p]
    return [Path.cwd() / "mappings", Path.cwd() / "examples" / "mappings"]


SHIPPED = "shipped:"  # a choice's key prefix for the mappings Paceline ships (crm:Object)


def mapping_choices() -> list[MappingChoice]:
    """The shipped CRM mappings (as `paceline import --mapping crm:Object` names them), then
    the mapping files found in `mapping_dirs()`."""
    from paceline.ingest.crm.shipped import shipped_mapping_path, shipped_names

    choices = []
    for name in shipped_names():
        path = shipped_mapping_path(name)
        if path is not None:
            choices.append(MappingChoice(f"{SHIPPED}{name}", f"{name} (shipped)", path))
    for index, folder in enumerate(mapping_dirs()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.toml")):  # files found in the folders
            relative = path.relative_to(folder).as_posix()
            choices.append(MappingChoice(f"{index}:{relative}", relative, path))
    return choices


def _picked_mapping(key: str) -> Mapping:
    if key.startswith(SHIPPED):
        from paceline.ingest.crm.shipped import resolve_mapping, shipped_names

        name = key.removeprefix(SHIPPED)
        if name not in shipped_names():
            raise MappingError(f"mapping: no shipped mapping {name!r}")
        return resolve_mapping(name)
    for choice in mapping_choices():
        if choice.key == key:
            return load_mapping(choice.path)
    raise MappingError(f"mapping: no mapping file {key.partition(':')[2]!r} to pick")


def _admin(caller: Caller, what: str) -> None:
    if not caller.principal.can_administer:
        raise refused(what)


def _web(request: Request) -> WebState:
    web = request.app.state.web
    assert isinstance(web, WebState)
    return web


# The delimiters the Import page offers (value sent, label shown); "" is the mapping's or comma.
DELIMITERS = (
    ("", "default"),
    (",", "comma ,"),
    (";", "semicolon ;"),
    ("\t", "tab"),
    ("|", "pipe |"),
)
# Encodings the Import page suggests (any Python codec name is accepted, as `--encoding`).
ENCODINGS = ("utf-8", "cp1252", "latin-1", "utf-16", "mac-roman", "cp1250", "shift_jis")


def _import_form(
    request: Request,
    caller: Caller,
    values: dict[str, Any],
    result: ImportResult | None = None,
    errors_url: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "import.html",
        caller,
        {
            "active": "import",
            "entities": ENTITIES,
            "delimiters": DELIMITERS,
            "encodings": ENCODINGS,
            "mappings": mapping_choices(),
            "values": values,
            "result": result,
            "errors_url": errors_url,
            "error": error,
            "failure": result.failure if result is not None else None,
        },
        status=status,
    )


def _blank_form(entity: str) -> dict[str, Any]:
    """The Import form's fields as a new import starts them: nothing chosen but `entity`."""
    return {
        "entity": entity,
        "mapping": "",
        "source": "",
        "sheet": "",
        "delimiter": "",
        "encoding": "",
        "allow_new_reps": True,
        "allow_new_rep": [],
        "owner": "",
        "unlinked_events": False,
        "since": "",
        "internal_domain": "",
    }


@router.get("/import")
def import_page(request: Request, caller: User) -> Response:
    _admin(caller, "import files (imports are for admins)")
    values = _blank_form("activities")
    return _import_form(request, caller, values)


@router.post("/import")
def import_post(
    request: Request,
    caller: User,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form()] = "",
    entity: Annotated[str, Form()] = "activities",
    mapping: Annotated[str, Form()] = "",
    mapping_file: Annotated[UploadFile | None, File()] = None,
    pipelines_file: Annotated[UploadFile | None, File()] = None,
    owners_file: Annotated[UploadFile | None, File()] = None,
    source: Annotated[str, Form()] = "",
    sheet: Annotated[str, Form()] = "",
    delimiter: Annotated[str, Form()] = "",
    encoding: Annotated[str, Form()] = "",
    allow_new_reps: Annotated[str, Form()] = "",
    allow_new_rep: Annotated[list[str] | None, Form()] = None,
    owner: Annotated[str, Form()] = "",
    unlinked_events: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
    internal_domain: Annotated[str, Form()] = "",
) -> Response:
    _admin(caller, "import files (imports are for admins)")
    check_csrf(caller, csrf)
    confirmed = [n for n in allow_new_rep or [] if n.strip()]
    values = {
        "entity": entity,
        "mapping": mapping,
        "source": source,
        "sheet": sheet,
        "delimiter": delimiter,
        "encoding": encoding,
        "allow_new_reps": bool(allow_new_reps),
        "allow_new_rep": confirmed,
        "owner": owner,
        "unlinked_events": bool(unlinked_events),
        "since": since,
        "internal_domain": internal_domain,
    }
    chosen = next((e for e in ENTITIES if e == entity), None)
    if chosen is None:
        error = f"entity: unknown {entity!r}"
        return _import_form(request, caller, values, error=error, status=422)
    if delimiter not in dict(DELIMITERS):
        error = f"delimiter: one of comma, semicolon, tab or |, not {delimiter!r}"
        return _import_form(request, caller, values, error=error, status=422)
    web = _web(request)
    files = web.imports
    folder = files.workspace()
    name = SAFE_NAME.sub("_", Path(file.filename or "upload.csv").name) or "upload.csv"
    upload = folder / name
    try:
        with upload.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        if upload.stat().st_size == 0:
            raise ImportFileError(f"{name}: the file is empty (choose a file to upload)")
        loaded = _mapping(folder, mapping, mapping_file)
        companions = _companions(folder, pipelines_file, owners_file)
        # The mapping's reader when it names one (a CRM's JSON), else by the file's extension
        # (a spreadsheet, a calendar), else CSV: as `paceline import` picks it.
        reader = plugins.import_source_for(upload, (loaded and loaded.reader) or None)
        whose = whose_rows(reader, owner)
        meetings = calendar_reading(reader, since, internal_domain, app_state(request).settings)
    except (ImportFileError, MappingError, UserInputError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _import_form(request, caller, values, error=str(exc), status=422)
    options = ImportOptions(
        source=source.strip() or None,
        allow_new_reps=bool(allow_new_reps),
        confirmed_new_reps=frozenset(confirmed),
        errors_path=folder / f"{upload.stem}.errors.csv",
        sheet=sheet.strip() or None,
        delimiter=delimiter or None,
        encoding=encoding.strip() or None,  # checked by the import, as `--encoding` is
        pipelines=companions.get("pipelines"),
        owners=companions.get("owners"),
        owner=whose.owner,
        unlinked_events=bool(unlinked_events),
        calendar_owner=whose.calendar_owner,
        internal_domains=meetings.internal_domains,
        since=meetings.since,
        owner_field=OWNER_FIELD,
    )
    state = app_state(request)

    def work(on_start: Callable[[int], None]) -> ImportResult:
        opened: list[ImportResult] = []

        def started(run_id: int) -> None:  # the job is known by its run from here on
            on_start(run_id)
            job = web.jobs.get(run_id)
            if job is not None and opened:
                job.owner = opened[0].owner
                job.owner_ignored = opened[0].owner_ignored

        return import_file(
            state.engine,
            state.settings,
            upload,
            chosen,
            loaded,
            options,
            reader=reader,
            on_start=started,
            on_open=opened.append,
        )

    def finished(job: ImportJob) -> None:
        if job.result is not None and job.result.errors_file:
            errors = Path(job.result.errors_file)
            job.errors_token = files.offer(errors, f"{upload.stem}.errors.csv")

    job = web.jobs.start(work, name, folder, upload, finished)
    job.started.wait()  # the file-level checks: an unusable file is refused here
    if job.run_id is None:
        error = job.error or "the import did not start"
        return _import_form(request, caller, values, error=error, status=422)
    job.done.wait(state.settings.web.import_wait_seconds)
    return RedirectResponse(f"/import/runs/{job.run_id}", status_code=303)


@router.get("/import/runs/{run_id}")
def import_run_page(request: Request, caller: User, run_id: int) -> Response:
    """One import: its progress while it runs (the page reloads itself), then its report."""
    _admin(caller, "see imports (imports are for admins)")
    state = app_state(request)
    run = run_progress(state.engine, run_id) if storable_id(run_id) else None
    if run is None:
        raise not_found("import here")
    job = _web(request).jobs.get(run_id)
    values = _blank_form(run.entity)
    if job is not None and job.done.is_set() and job.result is not None:
        token = job.errors_token
        errors_url = f"/import/errors/{token}" if token else None
        return _import_form(request, caller, values, result=job.result, errors_url=errors_url)
    # The run's record ends a moment before this process has its report (the errors file is
    # still being offered): the page keeps polling until the job is done, rather than saying
    # the report is kept by another process when it is about to be here.
    running = run.status == "running" or (job is not None and not job.done.is_set())
    return render(
        request,
        "import_run.html",
        caller,
        {
            "active": "import",
            "run": run,
            "running": running,
            "file_name": job.file_name if job is not None else Path(run.file_name).name,
            "error": job.error if job is not None and job.done.is_set() else None,
            "owner": job.owner if job is not None else "",
            "owner_ignored": job.owner_ignored if job is not None else None,
        },
        headers={"Refresh": "2"} if running else None,
    )


@dataclass(frozen=True)
class WhoseRows:
    """The form's one owner answer, as the import options the file's reader takes."""

    owner: str = ""  # a Salesforce file's rep for every row (`--owner`)
    calendar_owner: str | None = None  # a calendar's rep (`--rep`)


def whose_rows(reader: ImportSource, answer: str) -> WhoseRows:
    """Hand "Whose rows are these?" to the option `reader` reads: a calendar's owner, or the
    rep credited with every row of a Salesforce file without OwnerId. A file of any other
    reader names each row's rep itself: an answer for it is refused on the form (the rows
    would not be that rep's, and the user would believe they were)."""
    name = " ".join(answer.split())
    if not name:
        return WhoseRows()
    if reader.takes_calendar_owner:
        return WhoseRows(calendar_owner=name)
    if reader.takes_owner:
        return WhoseRows(owner=name)
    raise UserInputError(
        f"{WHOSE_ROWS} {name!r}: a file read as {reader.name} names each row's rep itself "
        "(its rep or owner column), so no rep can be given for it; leave the field empty. "
        "It is for a calendar (.ics: the rep whose calendar it is) or a Salesforce file "
        "without an OwnerId column (every row is credited to that rep)"
    )


@dataclass(frozen=True)
class CalendarReading:
    """The form's calendar options, as `paceline import calendar` takes them."""

    since: dt.datetime | None = None  # naive UTC: the business day's start (`--since`)
    internal_domains: tuple[str, ...] = ()  # besides [meetings]' (`--internal-domain`)


def calendar_reading(
    reader: ImportSource, since: str, domains: str, settings: Settings
) -> CalendarReading:
    """The form's “Meetings since” and e-mail domains, for a calendar. Any other file
    refuses a value in either, before anything is written: it has no meetings to leave out
    or attendees to tell apart, and the user would believe the option had done something."""
    since, names = since.strip(), domains.replace(",", " ").split()
    given = [(SINCE_FIELD, since)] if since else []
    given += [(DOMAINS_FIELD, " ".join(names))] if names else []
    if given and not reader.takes_calendar_owner:
        field, value = given[0]
        raise UserInputError(
            f"“{field}” {value!r}: only a calendar (.ics) takes it; a file read as "
            f"{reader.name} is imported whole, with the reps and accounts it names. Leave "
            "the field empty"
        )
    return CalendarReading(_since(since, settings), tuple(map(_domain, names)))


def _since(text: str, settings: Settings) -> dt.datetime | None:
    """The start of that business day (the configured time zone), as naive UTC."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise UserInputError(
            f"“{SINCE_FIELD}” {text!r}: not a date; write it as YYYY-MM-DD, e.g. 2026-11-01"
        ) from None
    return local_midnight_utc(settings.calendar.zone, day)


def _domain(text: str) -> str:
    """A domain as [meetings] internal_domains keeps it (lower case); an e-mail address
    is refused rather than cut: “ana@acme.com” may be a mistake for either side of it."""
    name = text.lower().removeprefix("@")
    if "@" in name or "." not in name:
        raise UserInputError(
            f"“{DOMAINS_FIELD}” {text!r}: not an e-mail domain; write the part after the @, "
            "e.g. acme.com (several separated by commas)"
        )
    return name


def _companions(
    folder: Path, pipelines: UploadFile | None, owners: UploadFile | None
) -> dict[str, Path]:
    """The CRM's pipeline definition and owners list uploaded beside a JSON export (what
    `--pipelines` and `--owners` give the command line), saved into the workspace."""
    found = {}
    for key, uploaded in (("pipelines", pipelines), ("owners", owners)):
        if uploaded is None or not uploaded.filename:
            continue
        path = folder / f"{key}.json"
        with path.open("wb") as out:
            shutil.copyfileobj(uploaded.file, out)
        if path.stat().st_size:
            found[key] = path
    return found


def _mapping(folder: Path, picked: str, uploaded: UploadFile | None) -> Mapping | None:
    if uploaded is not None and uploaded.filename:
        path = folder / "mapping.toml"
        with path.open("wb") as out:
            shutil.copyfileobj(uploaded.file, out)
        if path.stat().st_size:
            return load_mapping(path)
    if picked:
        return _picked_mapping(picked)
    return None


@router.get("/import/errors/{token}")
def import_errors(request: Request, caller: User, token: str) -> Response:
    _admin(caller, "download import errors")
    found = _web(request).imports.get(token)
    if found is None:
        raise not_found("errors file here (it may have expired; import the file again)")
    path, name = found
    return FileResponse(path, media_type="text/csv", filename=name)


# --- users ----------------------------------------------------------------------------------


def _users_form(
    request: Request,
    caller: Caller,
    values: dict[str, str],
    error: str | None = None,
    added: str | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    return render(
        request,
        "users.html",
        caller,
        {
            "active": "users",
            "users": list_users(state.engine),
            "roles": ROLES,
            "reps": queries.all_reps(state.engine),
            "teams": queries.teams(state.engine),
            "values": values,
            "error": error,
            "added": added,
        },
        status=status,
    )


@router.get("/users")
def users_page(request: Request, caller: User, added: str | None = None) -> Response:
    _admin(caller, "manage users (that page is for admins)")
    values = {"username": "", "role": "rep", "rep": "", "team": ""}
    return _users_form(request, caller, values, added=added)


@router.post("/users")
def users_post(
    request: Request,
    caller: User,
    csrf: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "rep",
    rep: Annotated[str, Form()] = "",
    team: Annotated[str, Form()] = "",
) -> Response:
    _admin(caller, "manage users (that page is for admins)")
    check_csrf(caller, csrf)
    values = {"username": username, "role": role, "rep": rep, "team": team}
    try:
        user = users.add_user(
            app_state(request).engine,
            caller.principal,
            username,
            password,
            role,
            rep or None,
            team or None,
        )
    except UserInputError as exc:
        return _users_form(request, caller, values, error=str(exc), status=422)
    return RedirectResponse(f"/users?added={user.username}", status_code=303)


@router.post("/users/{username}/active")
def users_active(
    request: Request,
    caller: User,
    username: str,
    csrf: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Deactivate (every session and token of theirs ends at once) or activate a user."""
    _admin(caller, "manage users (that page is for admins)")
    check_csrf(caller, csrf)
    values = {"username": "", "role": "rep", "rep": "", "team": ""}
    try:
        users.set_active(app_state(request).engine, caller.principal, username, active == "1")
    except UserInputError as exc:
        return _users_form(request, caller, values, error=str(exc), status=422)
    return RedirectResponse("/users", status_code=303)


# --- the audit log --------------------------------------------------------------------------

AUDIT_PAGE = 100


@router.get("/audit")
def audit_page(
    request: Request,
    caller: User,
    entity: str | None = None,
    user: str | None = None,
    page: str | None = None,
) -> Response:
    """Every change, newest first, a page at a time (admins only)."""
    _admin(caller, "read the audit log (that page is for admins)")
    with checked_params():
        number = params.AUDIT_PAGE.parse(page) or 1
        params.one_of("entity", entity, ENTITY_NAMES)  # the audit log's own rule, said first
    try:
        found = audit.read(
            app_state(request).engine,
            caller.principal,
            entity=entity or None,
            user=user or None,
            limit=AUDIT_PAGE,
            offset=(number - 1) * AUDIT_PAGE,
        )
    except UserInputError as exc:
        raise PageError(422, "Cannot show that", str(exc)) from None
    return render(
        request,
        "audit.html",
        caller,
        {
            "active": "audit",
            "entries": found.items,
            "total": found.total,
            "page": number,
            "pages": max(1, -(-found.total // AUDIT_PAGE)),
            "entity": entity or "",
            "user": user or "",
            "entities": ENTITY_NAMES,
        },
    )


# --- API tokens -----------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    caller: Caller,
    new_token: str | None = None,
    new_name: str | None = None,
    error: str | None = None,
    revoked: int | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    return render(
        request,
        "tokens.html",
        caller,
        {
            "active": "tokens",
            "tokens": list_tokens(state.engine, caller.principal.username),
            "new_token": new_token,
            "new_name": new_name,
            "error": error,
            "revoked": revoked,
        },
        status=status,
    )


@router.get("/tokens")
def tokens_page(request: Request, caller: User, revoked: int | None = None) -> Response:
    return _tokens_page(request, caller, revoked=revoked)


@router.post("/tokens")
def tokens_post(
    request: Request,
    caller: User,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(caller, csrf)
    try:
        engine, principal = app_state(request).engine, caller.principal
        made = users.create_token(engine, principal, principal.username, name)
    except UserInputError as exc:
        return _tokens_page(request, caller, error=str(exc), status=422)
    return _tokens_page(request, caller, new_token=made.token, new_name=made.name)


@router.post("/tokens/{token_id}/revoke")
def tokens_revoke(
    request: Request,
    caller: User,
    token_id: int,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(caller, csrf)
    try:
        engine, principal = app_state(request).engine, caller.principal
        users.revoke_token(engine, principal, principal.username, token_id)
    except NotFound as exc:
        raise PageError(404, "No such token", str(exc)) from None
    return RedirectResponse(f"/tokens?revoked={token_id}", status_code=303)
