"""The few reads the pages need beyond the analyses, as the pages want them.

Reps and teams by id, and the activity list, in the user's scope as `paceline.access` draws
it. The SQL is in `paceline.store.records` and `paceline.store.listings`: route functions,
templates and this module hold none (the import-linter contract in pyproject.toml keeps the
faces off the tables). This module knows nothing of HTTP. Writes of an activity:
`paceline.services.activities`.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from paceline.access import scope_of
from paceline.auth.access import Principal
from paceline.store import listings, records
from paceline.store.listings import ActivityFilter, TeamRef
from paceline.store.listings import RepListing as RepRef
from paceline.store.names import name_key
from paceline.store.records import ActivityRecord

__all__ = ["ActivityPage", "RepRef", "TeamRef"]

RECENT_DAYS = 90  # the quick-add form suggests accounts touched this recently

# --- people ---------------------------------------------------------------------------------


def rep_ref(engine: Engine, rep_id: int) -> RepRef | None:
    return listings.rep_listing(engine, rep_id)


def all_reps(engine: Engine) -> list[RepRef]:
    return listings.rep_listings(engine)


def visible_reps(engine: Engine, principal: Principal) -> list[RepRef]:
    """The reps whose scorecards and activities this user may read."""
    return [r for r in all_reps(engine) if principal.can_read_rep(r.id, r.team_id)]


def teams(engine: Engine) -> list[TeamRef]:
    return listings.team_refs(engine)


def team_by_id(engine: Engine, team_id: int | None) -> TeamRef | None:
    return None if team_id is None else listings.team_ref(engine, team_id)


def team_by_name(engine: Engine, name: str) -> TeamRef | None:
    key = name_key(name)
    return next((t for t in teams(engine) if name_key(t.name) == key), None)


# --- activities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityPage:
    """One page of the activity list, newest first, with the cursors of the pages around it.

    `total` is None when more than `COUNT_LIMIT` match (they are not counted on every page).
    """

    rows: list[ActivityRecord]
    total: int | None
    per_page: int
    older: str | None = None  # the cursor token of the next (older) page
    newer: str | None = None  # the cursor token of the page before (newer)

    @property
    def count_limit(self) -> int:
        return listings.COUNT_LIMIT


def activity_page(
    engine: Engine,
    principal: Principal,
    wanted: ActivityFilter,
    per_page: int,
    *,
    zone: ZoneInfo,
    older: str | None = None,
    newer: str | None = None,
    count: listings.Counting = "bounded",
) -> ActivityPage:
    """Activities the user may read, newest first: the first page, or the one after `older`
    or before `newer` (cursor tokens; `listings.CursorError` when they are not)."""
    after = None if older is None else listings.Cursor.parse(older, "a")
    before = None if newer is None else listings.Cursor.parse(newer, "a")
    paging = listings.Paging(per_page, after=after, before=before, count=count)
    found = listings.list_activities(engine, scope_of(principal), wanted, paging, zone=zone)
    return ActivityPage(
        found.items,
        found.total,
        per_page,
        None if found.next is None else found.next.token(),
        None if found.prev is None else found.prev.token(),
    )


def readable_activity(
    engine: Engine, principal: Principal, activity_id: int
) -> ActivityRecord | None:
    return records.get_activity(engine, scope_of(principal), activity_id)


def recent_accounts(engine: Engine, rep_id: int | None, limit: int = 30) -> list[str]:
    """Accounts the rep touched most recently, for the quick-add form's suggestions."""
    if rep_id is None:
        return []
    return records.recent_accounts(engine, rep_id, limit, RECENT_DAYS)
