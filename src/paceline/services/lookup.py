"""One record by id, for a person about to read or change it: the look-up activities and deals
share, so both answer the same way.

- `readable`: a record the caller may see. One out of their reach is "not found", exactly
  like one that does not exist (`paceline.access.scope_of`): ids cannot be probed.
- `changeable`: a readable record whose rep's records the caller may also change
  (`paceline.access.require_change`: Forbidden otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from sqlalchemy import Engine

from paceline import access
from paceline.errors import NotFound
from paceline.store.records import RepRef, Scope

if TYPE_CHECKING:
    from paceline.services.activities import Writer


class OfRep(Protocol):
    """A stored record that belongs to a rep (an activity, a deal)."""

    @property
    def rep_id(self) -> int: ...
    @property
    def rep(self) -> str: ...
    @property
    def team_id(self) -> int | None: ...
    @property
    def team(self) -> str | None: ...


R = TypeVar("R", bound=OfRep)


@dataclass(frozen=True)
class Lookup(Generic[R]):
    """How to find one kind of record: its name ("activity") and its scoped query."""

    kind: str
    get: Callable[[Engine, Scope, int], R | None]

    def missing(self, record_id: int) -> NotFound:
        """Not found, naming the path parameter (`activity_id`) the faces answer 404 on."""
        where = f"{self.kind} {record_id}"
        return NotFound(where, f"no {where}", f"{self.kind}_id")

    def readable(self, writer: Writer, record_id: int) -> R:
        """A record the writer may see; one out of reach is not found, as a missing one is."""
        found = self.get(writer.engine, access.scope_of(writer.principal), record_id)
        if found is None:
            raise self.missing(record_id)
        return found

    def changeable(self, writer: Writer, record_id: int) -> R:
        """A record the writer may change (Forbidden when they may only see it)."""
        found = self.readable(writer, record_id)
        access.require_change(writer.principal, rep_of(found))
        return found


def rep_of(found: OfRep) -> RepRef:
    """The rep a record belongs to, as the access policy asks about it."""
    return RepRef(found.rep_id, found.rep, found.team_id, found.team)
