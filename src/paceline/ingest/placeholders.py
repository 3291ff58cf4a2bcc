"""Reps made from an owner id alone, and their removal once nothing names them.

A CRM export without its users list names each row's owner by an id only. The Salesforce
reader then credits the row to a placeholder rep named after that id (`salesforce user
005...`), so the rows are counted rather than refused. When the users list arrives and the
same rows are imported again, they move to the real names; the placeholder is left with no
row at all, and an empty rep is "behind" or "idle" in every alert and drags the team's
pace. `drop_emptied_placeholders` deletes those, in the transaction that emptied them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

from paceline.store.models import Account, Activity, AppUser, Deal, Rep, Target

# The note an import's summary gives for the placeholders it emptied and removed.
PLACEHOLDERS_REMOVED = (
    "reps named by an owner id alone removed: every row they had now names its user "
    "(the users list arrived)"
)

# The columns of the rows an import moves: a placeholder named by none of them is emptied.
_ROW_COLUMNS = (Activity.rep_id, Deal.rep_id, Deal.sourced_by_id, Account.owner_id)
# What someone set up by hand on a placeholder, which an import never moves (what it is,
# for the summary): such a placeholder is kept, and said.
_HAND_COLUMNS = (
    (Target.rep_id, "a target"),
    (AppUser.rep_id, "a login"),
    (Rep.manager_id, "reps it manages"),
)


@dataclass(frozen=True)
class KeptPlaceholder:
    """A placeholder rep whose rows have all moved to their user, kept for what someone
    set up on it by hand (`reasons`: "a target", "a login", "reps it manages")."""

    name: str
    reasons: tuple[str, ...]

    def warning(self) -> str:
        """The import summary's line: who is kept, why, and what to do about it."""
        return (
            f"rep {self.name!r}, made from an owner id alone, is kept though no row names "
            f"it any more (they name its user now): it has {' and '.join(self.reasons)}, "
            "set up by hand. Set those up on the user's rep (paceline target set --rep, "
            "paceline user add --rep, paceline rep edit --manager), then end the placeholder "
            f"(paceline rep edit {self.name!r} --end YYYY-MM-DD), or it stays a rep with "
            "nothing done, behind in every alert"
        )


def placeholder_rep(source: str, owner_id: str) -> str:
    """The name of the rep standing in for the user `owner_id` of `source` (a CRM) when
    the export came without its users: one rep a user, so the rows are still counted."""
    return f"{source} user {owner_id}"


def drop_emptied_placeholders(conn: Connection, source: str) -> tuple[int, list[KeptPlaceholder]]:
    """Delete the placeholder reps of `source` that no row names any more: their number,
    and the emptied ones kept, with why.

    Only reps the import itself made from an id (named `placeholder_rep`, of this source,
    with no source id of their own) are candidates: a rep someone created, or one a users
    list named, stays even when empty. One named by a target, a login or as a manager is
    kept too: someone set it up by hand, and deleting it would lose that. It was kept in
    silence, a rep with nothing done behind in every alert while the summary said only
    that the others went; it is returned so the summary names it, says why and what to do."""
    prefix = placeholder_rep(source, "")
    query = select(Rep.id, Rep.name).where(
        Rep.source == source,
        Rep.external_id.is_(None),
        Rep.name.startswith(prefix, autoescape=True),
    )
    candidates: dict[Any, str] = {rep_id: name for rep_id, name in conn.execute(query)}
    if not candidates:
        return 0, []
    empty = set(candidates) - _named_by(conn, set(candidates), _ROW_COLUMNS)
    if not empty:
        return 0, []
    reasons: dict[Any, list[str]] = {}
    for column, what in _HAND_COLUMNS:
        for rep_id in _named_by(conn, empty, (column,)):
            reasons.setdefault(rep_id, []).append(what)
    emptied = empty - set(reasons)
    if emptied:
        conn.execute(delete(Rep).where(Rep.id.in_(emptied)))
    kept = [KeptPlaceholder(candidates[i], tuple(why)) for i, why in sorted(reasons.items())]
    return len(emptied), kept


def _named_by(conn: Connection, ids: set[Any], columns: tuple[Any, ...]) -> set[Any]:
    """The reps of `ids` that some row names in one of `columns`."""
    named: set[Any] = set()
    for column in columns:
        query = select(column).where(column.in_(ids)).distinct()
        named.update(conn.execute(query).scalars())
    return named
