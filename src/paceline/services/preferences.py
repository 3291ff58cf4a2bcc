"""Every write of a user's delivery preferences: the `/preferences` page (the user, for
themself) and `paceline user prefs` (an admin, for anyone).

What a preference means is decided by the scheduler (`paceline.scheduling`); this module
checks the values (a known channel, quiet hours as two "HH:MM" times that differ) and who may
change them, raising `InputError` naming the field and `Forbidden`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Collection

from sqlalchemy import Engine

from paceline.auth.access import Principal
from paceline.errors import Forbidden, InputError, NotFound
from paceline.store import schedule
from paceline.store.schedule import Preference

TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
FIELDS = ("rep_digest", "manager_digest", "alerts", "channel", "quiet_start", "quiet_end")


def _user(engine: Engine, principal: Principal, username: str) -> int:
    found = schedule.user_by_name(engine, username)
    if found is None:
        if principal.is_admin:
            raise NotFound("user", f"no user named {username!r}", "username")
        raise Forbidden(f"the preferences of user {username!r}")
    user_id, name = found
    if not (principal.is_admin or principal.user_id == user_id):
        raise Forbidden(f"the preferences of user {name!r}")
    return user_id


def preferences(engine: Engine, principal: Principal, username: str) -> Preference:
    """A user's preferences (defaults when never set): theirs, or anyone's for an admin."""
    return schedule.preference_of(engine, _user(engine, principal, username))


def set_preferences(
    engine: Engine,
    principal: Principal,
    username: str,
    changes: dict[str, object],
    channels: Collection[str],
    now: dt.datetime,
) -> Preference:
    """Change some of a user's preferences; the others keep their values. `channels`: the
    channels that can carry a personal message (checked against `channel`). Quiet hours are
    set both or neither ("" clears them); they may wrap midnight (22:00 to 07:00)."""
    user_id = _user(engine, principal, username)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InputError(unknown[0], f"not a preference (known: {', '.join(FIELDS)})")
    current = dataclasses.asdict(schedule.preference_of(engine, user_id))
    for name, value in changes.items():
        if name in ("channel", "quiet_start", "quiet_end"):
            current[name] = str(value).strip() or None if value is not None else None
        else:
            current[name] = bool(value)
    channel = current["channel"]
    if channel is not None and channel not in channels:
        raise InputError("channel", f"unknown channel {channel!r} (one of {', '.join(channels)})")
    start, end = current["quiet_start"], current["quiet_end"]
    for name, value in (("quiet_start", start), ("quiet_end", end)):
        if value is not None and not TIME.match(value):
            raise InputError(name, f"{value!r} is not a time HH:MM (24-hour)")
    if (start is None) != (end is None):
        raise InputError("quiet_end" if end is None else "quiet_start", "give both or neither")
    if start is not None and start == end:
        raise InputError("quiet_end", "quiet hours must end at another time than they start")
    preference = Preference(**current)
    schedule.save_preference(engine, user_id, preference, now)
    return preference
