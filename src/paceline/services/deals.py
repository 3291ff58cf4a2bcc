"""Every write of a deal by a person: create, change and delete, for every face.

The API calls this module, and nothing else writes a single deal (imports write in bulk
through `ingest`). A deal is checked by the rules an imported one passes
(`ingest.entities.finish_deal`): a stage of the configuration, a status that is open, won or
lost (by default the stage's), an amount of 0 or more or none (unknown), and a close date
for a won or lost deal, not before its creation. Who may: `paceline.access` (a rep their own
deals, a manager their team's, an admin everyone's; `sourced_by` the caller, a rep of their
team, or for an admin anyone). Errors are the domain errors each face translates:
`InputError` naming the field, `Forbidden`, `NotFound` (a deal out of reach is not found,
like a missing one) and `Conflict` (an external id already used by a deal the caller cannot
see).

Choices worth knowing:
- Changing a deal to won or lost without `closed_at` closes it now (creating one needs the
  date: it may be history being entered).
- A changed stage or status adds a stage-history row entered at `stage_changed_at`, else at
  the close date, else now, so the funnel sees every step.
- Deleting a deal keeps its activities, unlinked (activities are history).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from paceline import access
from paceline.errors import Conflict, InputError
from paceline.ingest.entities import finish_deal, slug
from paceline.ingest.fields import FieldError
from paceline.services.activities import Writer
from paceline.services.audit import actor_of
from paceline.services.lookup import Lookup, rep_of
from paceline.store import deal_records
from paceline.store.day_zone import align_stored_days
from paceline.store.deal_records import DealRecord, NewDeal
from paceline.store.records import RepRef

EDITABLE = frozenset(
    {"rep", "name", "amount", "stage", "status", "created_at", "closed_at", "expected_close",
     "account", "sourced_by", "stage_changed_at"}
)  # fmt: skip
NOT_NULL = ("rep", "name", "stage", "created_at")  # amount may be cleared: unknown
CLOSED = ("won", "lost")


@dataclass(frozen=True)
class DealEntry:
    """One deal to create, as a person gave it. No rep: the writer's own."""

    name: str
    amount: Decimal | None  # None: not known yet (not the same as 0)
    stage: str
    rep: str | None = None
    status: str | None = None  # default: the stage's status from the configuration
    created_at: dt.datetime | None = None  # naive = business-local time; default now
    closed_at: dt.datetime | None = None
    expected_close: dt.date | None = None
    account: str | None = None  # by name, made if new
    sourced_by: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class Created:
    """The stored deal; `duplicate` when it was already stored under its external id."""

    deal: DealRecord
    duplicate: bool


# --- create ----------------------------------------------------------------------------------


def create(writer: Writer, entry: DealEntry) -> Created:
    """Check and store one deal, with its first stage-history row. A retried request with the
    same external id is answered with the stored deal, never stored twice."""
    align_stored_days(writer.engine, writer.calendar.zone)  # stored dates in this zone first
    rep = access.writable_rep(writer.reps, writer.principal, entry.rep)
    sourced_by_id = _sourcer(writer, entry.sourced_by)
    record = _finished(
        writer,
        {
            "name": entry.name,
            "rep": rep.name,
            "sourced_by": entry.sourced_by,
            "amount": entry.amount,
            "stage": entry.stage,
            "status": entry.status,
            "created_at": writer.moment(entry.created_at),
            "closed_at": _moment(writer, entry.closed_at),
            "expected_close": entry.expected_close,
            "account": entry.account,
            "account_ref": None,
            "external_id": entry.external_id,
        },
    )
    deal = _new_deal(
        record, rep, sourced_by_id, account=entry.account, external_id=entry.external_id
    )
    (stored,) = deal_records.insert_deals(writer.engine, [deal], actor_of(writer.principal))
    found = deal_records.get_deal(writer.engine, access.scope_of(writer.principal), stored.id)
    if found is None:  # the external id belongs to a deal out of the writer's reach
        raise Conflict("external_id", "already used by a deal you cannot see; use another id")
    return Created(found, stored.duplicate)


# --- read, change, delete --------------------------------------------------------------------


DEALS = Lookup("deal", deal_records.get_deal)
# A deal the writer may see (out of reach: not found, as a missing one), or change.
readable = DEALS.readable
changeable = DEALS.changeable


def edit(writer: Writer, deal_id: int, changes: dict[str, Any]) -> DealRecord:
    """Merge `changes` (field -> new value; None clears an optional field) onto the stored
    deal, check the result as a whole, and store it; a new stage or status is a stage-history
    row."""
    align_stored_days(writer.engine, writer.calendar.zone)  # stored dates in this zone first
    current = changeable(writer, deal_id)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InputError(sorted(unknown)[0], "cannot be changed")
    for required in NOT_NULL:
        if required in changes and changes[required] is None:
            raise InputError(required, "cannot be null")
    if "rep" in changes:
        rep = access.writable_rep(writer.reps, writer.principal, changes["rep"])
    else:
        rep = rep_of(current)
    if "sourced_by" in changes:
        sourced_by_id = _sourcer(writer, changes["sourced_by"])
    else:
        sourced_by_id = current.sourced_by_id
    record = _finished(writer, _merged_values(writer, current, rep, changes))
    deal = _new_deal(
        record,
        rep,
        sourced_by_id,
        account_id=None if "account" in changes else current.account_id,
        account=changes.get("account"),
    )
    entered = record["stage_changed_at"] or record["closed_at"] or _now(writer)
    if not deal_records.replace_deal(
        writer.engine, deal_id, deal, entered, actor_of(writer.principal)
    ):
        raise DEALS.missing(deal_id)
    return readable(writer, deal_id)


def delete(writer: Writer, deal_id: int) -> None:
    """Delete a deal and its stage history; its activities stay, unlinked."""
    changeable(writer, deal_id)
    if not deal_records.delete_deal(writer.engine, deal_id, actor_of(writer.principal)):
        raise DEALS.missing(deal_id)


# --- the rules -------------------------------------------------------------------------------


def _merged_values(
    writer: Writer, current: DealRecord, rep: RepRef, changes: dict[str, Any]
) -> dict[str, Any]:
    """The deal as it will be, in the shape `finish_deal` checks."""

    def pick(name: str, old: Any) -> Any:
        return changes.get(name, old)

    stage = slug(pick("stage", current.stage))
    status = pick("status", None if "stage" in changes else current.status)
    status_now = status or writer.settings.stage_status.get(stage, "open")
    if "closed_at" in changes:
        closed = _moment(writer, changes["closed_at"])
    elif current.closed_at is not None:
        closed = (current.closed_at, current.closed_at)
    elif status_now in CLOSED:  # closed now, unless told when
        closed = (_now(writer), _now(writer))
    else:
        closed = None
    if "created_at" in changes:
        created = writer.moment(changes["created_at"])
    else:
        created = (current.created_at, current.created_at)
    return {
        "name": pick("name", current.name),
        "rep": rep.name,
        "sourced_by": None,
        "amount": pick("amount", current.amount),
        "stage": stage,
        "status": status,
        "created_at": created,
        "closed_at": closed,
        "expected_close": pick("expected_close", current.expected_close),
        "account": None,
        "account_ref": None,
        "external_id": current.external_id,
        "stage_changed_at": _moment(writer, changes.get("stage_changed_at")),
    }


def _finished(writer: Writer, values: dict[str, Any]) -> dict[str, Any]:
    """The import's rules, applied to one deal; FieldError becomes InputError."""
    try:
        return finish_deal(values, writer.settings)
    except FieldError as exc:
        raise InputError(exc.field, exc.reason) from None


def _sourcer(writer: Writer, name: str | None) -> int | None:
    if name is None:
        return None
    return access.creditable_rep(writer.reps, writer.principal, name, "sourced_by").id


def _moment(writer: Writer, value: dt.datetime | None) -> tuple[dt.datetime, dt.datetime] | None:
    return None if value is None else writer.moment(value)


def _now(writer: Writer) -> dt.datetime:
    """Now, naive UTC, as deals store their times."""
    return writer.current().replace(tzinfo=None)


def _new_deal(
    record: dict[str, Any], rep: RepRef, sourced_by_id: int | None, **placed: Any
) -> NewDeal:
    return NewDeal(
        rep_id=rep.id,
        name=record["name"],
        amount=record["amount"],
        stage=record["stage"],
        status=record["status"],
        created_at=record["created_at"],
        closed_at=record["closed_at"],
        expected_close=record["expected_close"],
        sourced_by_id=sourced_by_id,
        **placed,
    )
