"""Reps made from an owner id alone, and their removal once nothing names them.

A CRM export without its users list names each row's owner by an id only. The Salesforce
reader then credits the row to a placeholder rep named after that id (`salesforce user
005...`), so the rows are counted rather than refused. When the users list arrives and the
same rows are imported again, they move to the real names; the placeholder is left with no
row at all, and an empty rep is "behind" or "idle" in every alert and drags the team's
pace. `drop_emptied_placeholders` deletes those, in the transaction that emptied them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from paceline.store.models import Account, Activity, AppUser, Deal, Rep, Target

# The note an import's summary gives for the placeholders it emptied and removed.
PLACEHOLDERS_REMOVED = (
    "reps named by an owner id alone removed: every row they had now names its user "
    "(the users list arrived)"
)

# Every column that names a rep: a placeholder named by any of them is still someone's.
_REP_COLUMNS = (
    Activity.rep_id,
    Deal.rep_id,
    Deal.sourced_by_id,
    Account.owner_id,
    Rep.manager_id,
    Target.rep_id,
    AppUser.rep_id,
)


def placeholder_rep(source: str, owner_id: str) -> str:
    """The name of the rep standing in for the user `owner_id` of `source` (a CRM) when
    the export came without its users: one rep a user, so the rows are still counted."""
    return f"{source} user {owner_id}"


def drop_emptied_placeholders(conn: Connection, source: str) -> int:
    """Delete the placeholder reps of `source` that no row names any more; their number.

    Only reps the import itself made from an id (named `placeholder_rep`, of this source,
    with no source id of their own) are candidates: a rep someone created, or one a users
    list named, stays even when empty. One named by a target, a login or as a manager is
    kept too: someone set it up by hand, and deleting it would lose that."""
    prefix = placeholder_rep(source, "")
    candidates = set(
        conn.execute(
            select(Rep.id).where(
                Rep.source == source,
                Rep.external_id.is_(None),
                Rep.name.startswith(prefix, autoescape=True),
            )
        ).scalars()
    )
    if not candidates:
        return 0
    emptied = candidates - _named_anywhere(conn, candidates)
    if emptied:
        conn.execute(delete(Rep).where(Rep.id.in_(emptied)))
    return len(emptied)


def _named_anywhere(conn: Connection, ids: set[Any]) -> set[Any]:
    """The reps of `ids` that some row (activity, deal, account, rep, target, login) names."""
    named: set[Any] = set()
    for column in _REP_COLUMNS:
        query = select(column).where(column.in_(ids)).distinct()
        named.update(conn.execute(query).scalars())
    return named
