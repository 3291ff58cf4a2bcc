"""Hand-entered records: one activity logged in seconds, one rep added.

These share the import's rules (`finish_activity`), so a logged activity and an imported one
are checked identically. Unknown reps are refused here, unlike in imports: a typo at the
keyboard should not create a new colleague.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select

from paceline import clock
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.errors import UserInputError, did_you_mean
from paceline.ingest.entities import default_role, finish_activity, slug
from paceline.ingest.fields import FieldError
from paceline.ingest.resolve import (
    AccountResolver,
    ContactResolver,
    RepResolver,
    TeamResolver,
    name_key,
)
from paceline.store.models import Activity, Rep, utcnow

MANUAL_SOURCE = "manual"


class InputError(UserInputError):
    """Input a person typed that cannot be used; `field` says which."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class ActivityInput:
    rep: str
    kind: str
    occurred_at: dt.datetime | None = None  # naive = business-local time; default now
    account: str | None = None
    contact: str | None = None
    outcome: str | None = None
    has_ask: bool = False
    engaged: bool | None = None
    duration_min: float | None = None
    notes: str | None = None


@dataclass(frozen=True)
class LoggedActivity:
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
    engine: Engine, settings: Settings, entry: ActivityInput, now: dt.datetime | None = None
) -> LoggedActivity:
    """Validate and store one activity; raises InputError naming the field on bad input.

    `now` (aware, or naive UTC; default: the clock) is the default time of the activity and
    what "in the future" is measured from.
    """
    calendar = BusinessCalendar(settings.calendar)
    current = clock.now(dt.UTC) if now is None else _aware_utc(now)
    moment = entry.occurred_at or current.astimezone(calendar.zone)
    aware = moment.replace(tzinfo=calendar.zone) if moment.tzinfo is None else moment
    local = aware.astimezone(calendar.zone).replace(tzinfo=None)
    utc = aware.astimezone(dt.UTC).replace(tzinfo=None)
    try:
        record = finish_activity(
            {
                "rep": entry.rep,
                "kind": entry.kind,
                "occurred_at": (utc, local),
                "outcome": entry.outcome,
                "has_ask": entry.has_ask or None,  # unticked is "not said", not "no Ask"
                "engaged": entry.engaged,
                "duration_min": entry.duration_min,
                "notes": entry.notes,
            },
            settings,
            now=current.replace(tzinfo=None),
        )
    except FieldError as exc:
        raise InputError(exc.field, exc.reason) from None
    with engine.begin() as conn:
        rep_id = existing_rep_id(conn, RepResolver(conn, default_role(settings)), entry.rep)
        conn.execute(select(Rep.name).where(Rep.id == rep_id)).scalar_one()
        account_id = contact_id = None
        if entry.account:
            account_id = AccountResolver(MANUAL_SOURCE).resolve_names(conn, [entry.account])[
                name_key(entry.account)
            ]
        if entry.contact:
            contacts = ContactResolver(MANUAL_SOURCE)
            contacts.resolve(conn, [(account_id, entry.contact)])
            contact_id = contacts.get(account_id, entry.contact)
        activity_id = conn.execute(
            insert(Activity)
            .values(
                rep_id=rep_id,
                account_id=account_id,
                contact_id=contact_id,
                kind=record["kind"],
                occurred_at=utc,
                local_date=local.date(),
                duration_min=record["duration_min"],
                outcome=record["outcome"],
                has_ask=record["has_ask"],
                engaged=record["engaged"],
                notes=record["notes"],
                source=MANUAL_SOURCE,
                updated_at=utcnow(),
            )
            .returning(Activity.id)
        ).scalar_one()
    return LoggedActivity(
        id=activity_id,
        rep=entry.rep,
        kind=record["kind"],
        occurred_at=utc,
        local_date=local.date(),
        outcome=record["outcome"],
        has_ask=record["has_ask"],
        engaged=record["engaged"],
        selling=settings.is_selling(record["kind"], record["has_ask"]),
        account=entry.account,
    )


def _aware_utc(moment: dt.datetime) -> dt.datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC)


def add_rep(
    engine: Engine,
    settings: Settings,
    name: str,
    role: str,
    team: str | None = None,
    manager: str | None = None,
    start_date: dt.date | None = None,
    email: str | None = None,
) -> int:
    clean = " ".join(name.split())
    if not clean:
        raise InputError("name", "a rep needs a name")
    role = slug(role)
    if role not in settings.role_names:
        raise InputError(
            "role", f"unknown role {role!r} (known: {', '.join(sorted(settings.role_names))})"
        )
    with engine.begin() as conn:
        reps = RepResolver(conn, default_role(settings))
        if reps.known(clean) is not None:
            raise InputError("name", f"a rep named {clean!r} already exists")
        manager_id = existing_rep_id(conn, reps, manager) if manager else None
        team_id = TeamResolver(conn).resolve(conn, team) if team else None
        return int(
            conn.execute(
                insert(Rep)
                .values(
                    name=clean,
                    role=role,
                    team_id=team_id,
                    manager_id=manager_id,
                    start_date=start_date,
                    email=email,
                    source=MANUAL_SOURCE,
                )
                .returning(Rep.id)
            ).scalar_one()
        )


def existing_rep_id(conn: Connection, reps: RepResolver, name: str) -> int:
    """The rep of that name, or an error suggesting the closest names (no rep is created)."""
    rep_id = reps.known(name)
    if rep_id is not None:
        return rep_id
    names = [n for (n,) in conn.execute(select(Rep.name))]
    hint = did_you_mean(name, names)
    raise InputError("rep", f"no rep named {name!r}{hint} (add one with `paceline rep add`)")
