"""Every write of an activity by a person: log, edit, delete and undo, for every face.

The CLI's `log`, the API and the web forms all call this module, and nothing else writes a
single activity (imports write in bulk through `ingest`). Each write is checked by the rules
an imported activity passes (`ingest.entities.finish_activity`), and by the access policy
(`paceline.access`). Errors are domain errors each face translates: `InputError` naming the
field (CLI: message and exit 1; API: 422; page: the form again, the field marked),
`Forbidden` (403) and `NotFound` (404).

An edit merges the fields it changes onto the stored activity: a field not changed keeps
its value. `engaged` is recomputed from the outcome only when the outcome changes and
`engaged` itself is not given; the local day follows the time whenever the time changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from paceline import access, clock
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.errors import InputError, NotFound, UserInputError
from paceline.ingest.entities import finish_activity
from paceline.ingest.fields import FieldError
from paceline.services.audit import actor_of
from paceline.services.lookup import Lookup, rep_of
from paceline.store import records
from paceline.store.day_zone import align_stored_days
from paceline.store.records import ActivityRecord, NewActivity, RepRef, Stored

MANUAL_SOURCE = "manual"
Stash = dict[str, Any]
EDITABLE = frozenset(
    {"rep", "kind", "occurred_at", "duration_min", "outcome", "has_ask", "engaged",
     "account", "contact", "deal_id", "notes"}
)  # fmt: skip
NOT_NULL = ("rep", "kind", "occurred_at", "has_ask")

OPERATOR = access.OPERATOR  # the command line's `log` writes as an admin would


@dataclass(frozen=True)
class Writer:
    """Who writes, where, and when "now" is (naive UTC; default: the clock)."""

    engine: Engine
    settings: Settings
    principal: Principal
    now: dt.datetime | None = None
    reps: dict[str, RepRef] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        engine: Engine,
        settings: Settings,
        principal: Principal,
        now: dt.datetime | None = None,
    ) -> Writer:
        return cls(engine, settings, principal, now, records.rep_refs(engine))

    @property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.settings.calendar)

    def current(self) -> dt.datetime:
        """Now, aware UTC."""
        if self.now is None:
            return clock.now(dt.UTC)
        moment = self.now if self.now.tzinfo else self.now.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)

    def moment(self, moment: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
        """(UTC, business-local), both naive. Without an offset a time is business-local, as
        a person entering a call or a deal means it; no time at all is now."""
        zone = self.calendar.zone
        moment = moment or self.current().astimezone(zone)
        aware = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
        local = aware.astimezone(zone).replace(tzinfo=None)
        utc = aware.astimezone(dt.UTC).replace(tzinfo=None)
        return utc, local


@dataclass(frozen=True)
class Entry:
    """One activity to log, as a person gave it. No rep: the writer's own."""

    rep: str | None
    kind: str
    occurred_at: dt.datetime | None = None  # naive = business-local time; default now
    duration_min: float | None = None
    outcome: str | None = None
    has_ask: bool = False
    engaged: bool | None = None  # default: follows from the outcome
    account: str | None = None
    contact: str | None = None
    deal_id: int | None = None
    notes: str | None = None
    external_id: str | None = None


# --- create ----------------------------------------------------------------------------------


def check_new(writer: Writer, entry: Entry, source: str = records.API_SOURCE) -> NewActivity:
    """The checked activity to store, or InputError / Forbidden."""
    rep = access.writable_rep(writer.reps, writer.principal, entry.rep)
    values = {
        "kind": entry.kind,
        "outcome": entry.outcome,
        "has_ask": entry.has_ask or None,  # unticked is "not said", not "no Ask"
        "engaged": entry.engaged,
        "duration_min": entry.duration_min,
        "notes": entry.notes,
    }
    record = _checked(writer, rep, values, _moment(writer, entry.occurred_at))
    _check_deal(writer, entry.deal_id)
    return _new_activity(
        record,
        rep,
        account=entry.account,
        contact=entry.contact,
        deal_id=entry.deal_id,
        external_id=entry.external_id,
        source=source,
    )


def store(writer: Writer, items: list[NewActivity]) -> list[Stored]:
    """Store checked activities together; an external id already stored is not doubled."""
    align_stored_days(writer.engine, writer.calendar.zone)  # theirs: the days they join
    return records.insert_activities(writer.engine, items, actor_of(writer.principal))


def create(writer: Writer, entry: Entry, source: str = records.API_SOURCE) -> Stored:
    """Check and store one activity."""
    (stored,) = store(writer, [check_new(writer, entry, source)])
    return stored


# --- read, edit, delete, undo ----------------------------------------------------------------


ACTIVITIES = Lookup("activity", records.get_activity)
# An activity the writer may see (out of reach: not found, as a missing one), or change.
readable = ACTIVITIES.readable
changeable = ACTIVITIES.changeable


def edit(writer: Writer, activity_id: int, changes: dict[str, Any]) -> ActivityRecord:
    """Merge `changes` (field -> new value; None clears an optional field) onto the stored
    activity, check the result as a whole, and store it."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InputError(sorted(unknown)[0], "cannot be changed")
    for required in NOT_NULL:
        if required in changes and changes[required] is None:
            raise InputError(required, "cannot be null")
    align_stored_days(writer.engine, writer.calendar.zone)  # the day kept is of this zone
    current = changeable(writer, activity_id)
    item = _merged(writer, current, changes)
    if not records.replace_activity(writer.engine, activity_id, item, actor_of(writer.principal)):
        raise ACTIVITIES.missing(activity_id)
    return readable(writer, activity_id)


def delete(writer: Writer, activity_id: int) -> Stash:
    """Delete an activity; returns everything needed to put it back exactly (`undo`)."""
    changeable(writer, activity_id)
    stash = records.take_activity(writer.engine, activity_id, actor_of(writer.principal))
    if stash is None:
        raise ACTIVITIES.missing(activity_id)
    return stash


def undo(writer: Writer, stash: Stash) -> int:
    """Put a deleted activity back, same id, source and external id; its id."""
    rep = records.rep_ref(writer.engine, int(stash["rep_id"]))
    if rep is None:
        raise NotFound("rep of this activity", "its rep no longer exists", "rep")
    access.require_change(writer.principal, rep)
    zone = writer.calendar.zone
    if not records.restore_activity(writer.engine, stash, zone, actor_of(writer.principal)):
        raise UserInputError(
            "activity: cannot undo, an activity with the same id or source record exists again"
        )
    return int(stash["id"])


# --- the rules -------------------------------------------------------------------------------


def _merged(writer: Writer, current: ActivityRecord, changes: dict[str, Any]) -> NewActivity:
    def pick(name: str, old: Any) -> Any:
        return changes.get(name, old)

    if "rep" in changes:
        rep = access.writable_rep(writer.reps, writer.principal, changes["rep"])
    else:
        rep = rep_of(current)
    if "occurred_at" in changes:
        moment = _moment(writer, changes["occurred_at"])
    else:
        moment = (current.occurred_at, dt.datetime.combine(current.local_date, dt.time()))
    engaged = changes.get("engaged", None if "outcome" in changes else current.engaged)
    values = {
        "kind": pick("kind", current.kind),
        "outcome": pick("outcome", current.outcome),
        "has_ask": pick("has_ask", current.has_ask) or None,
        "engaged": engaged,
        "duration_min": pick("duration_min", current.duration_min),
        "notes": pick("notes", current.notes),
    }
    record = _checked(writer, rep, values, moment)
    if "deal_id" in changes:
        _check_deal(writer, changes["deal_id"])
    return _new_activity(
        record,
        rep,
        account_id=None if "account" in changes else current.account_id,
        account=changes.get("account"),
        contact_id=None if "contact" in changes else current.contact_id,
        contact=changes.get("contact"),
        deal_id=pick("deal_id", current.deal_id),
    )


def _checked(
    writer: Writer,
    rep: RepRef,
    values: dict[str, Any],
    moment: tuple[dt.datetime, dt.datetime],
) -> dict[str, Any]:
    """The import's rules, applied to one activity; FieldError becomes InputError."""
    now = writer.current().replace(tzinfo=None)
    try:
        return finish_activity(
            {**values, "rep": rep.name, "occurred_at": moment}, writer.settings, now=now
        )
    except FieldError as exc:
        raise InputError(exc.field, exc.reason) from None


def _moment(writer: Writer, moment: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    return writer.moment(moment)


def _check_deal(writer: Writer, deal_id: int | None) -> None:
    scope = access.scope_of(writer.principal)
    if deal_id is not None and not records.deal_in_scope(writer.engine, scope, deal_id):
        raise InputError("deal_id", f"no deal {deal_id}")


def _new_activity(record: dict[str, Any], rep: RepRef, **placed: Any) -> NewActivity:
    return NewActivity(
        rep_id=rep.id,
        kind=record["kind"],
        occurred_at=record["occurred_at"],
        local_date=record["local_date"],
        duration_min=record["duration_min"],
        outcome=record["outcome"],
        has_ask=record["has_ask"],
        engaged=record["engaged"],
        notes=record["notes"],
        **placed,
    )


# --- the command line's `log` -----------------------------------------------------------------


@dataclass(frozen=True)
class LoggedActivity:
    """What `paceline log` answers (and prints with --json)."""

    id: int
    rep: str
    kind: str
    occurred_at: dt.datetime
    local_date: dt.date
    outcome: str | None
    has_ask: bool
    engaged: bool
    selling: bool
    account: str | None


def log_activity(
    engine: Engine, settings: Settings, entry: Entry, now: dt.datetime | None = None
) -> LoggedActivity:
    """Log one activity as the operator (any rep, named); `now` (aware, or naive UTC) is the
    default time and what "in the future" is measured from."""
    if entry.rep is None:
        raise InputError("rep", "required")
    writer = Writer.of(engine, settings, OPERATOR, now)
    try:
        stored = create(writer, entry, MANUAL_SOURCE)
    except InputError as exc:
        if exc.field == "rep":
            raise InputError("rep", f"{exc.reason} (add one with `paceline rep add`)") from None
        raise
    found = readable(writer, stored.id)
    return LoggedActivity(
        id=found.id,
        rep=found.rep,
        kind=found.kind,
        occurred_at=found.occurred_at,
        local_date=found.local_date,
        outcome=found.outcome,
        has_ask=found.has_ask,
        engaged=found.engaged,
        selling=settings.is_selling(found.kind, found.has_ask),
        account=found.account,
    )
