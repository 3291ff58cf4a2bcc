"""Meetings from calendars: iCalendar (.ics) files from Google Calendar, Outlook/Exchange or
any CalDAV server, imported as activities through the same pipeline as a CSV file.

A calendar is not a list of rows: one event may repeat (RRULE) with exceptions (EXDATE),
moved or cancelled instances (RECURRENCE-ID), in a zone the file defines itself (VTIMEZONE,
or a Windows zone name such as "Pacific Standard Time" from Outlook). The reading here turns
it into rows of text, one per occurrence, and the activity import does the rest (checks,
batches, row accounting, the errors file, idempotence): nothing is written any other way.

- An occurrence is identified by `UID` and its `RECURRENCE-ID` (the start it was scheduled
  at, in UTC), so re-importing the same or an updated calendar doubles nothing and a moved
  instance updates its activity.
- The calendar is read from `since` up to the import's moment: an occurrence is a meeting
  held once it has ended; later ones come with a later import.
- Skipped (counted, with the reason): cancelled events or instances, events the rep
  declined, all-day events, private events, events with nobody else invited, and
  occurrences not over yet.
- The rep is the organiser when the organiser's e-mail is a rep's; else the first attending
  rep; else the calendar's owner (`--rep`, or a Google export's calendar name when it is a
  rep's e-mail). An event no rep can be found for is rejected with the e-mails it has.
- A meeting whose participants are all from the company's domains is an internal meeting
  (non-selling); otherwise it is a meeting (a video meeting when the invitation holds a video
  link) with the configured outcome ("held"). Its account and contact come from the first
  external attendee whose e-mail is a known contact's, else whose domain is the e-mail
  domain of exactly one account's contacts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paceline.hookspecs import hookimpl
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.people import Directory, domain_of
from paceline.ingest.sources import ImportSource, ReadOptions, Row, RowProblem, RowTable

# The plugin loads with every command that lists the import sources (`paceline --help`
# does not, `paceline import` does): the configuration, the mapping and the store's name
# rules are imported where an import needs them, not here (a third of a second of CPU).
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from paceline.config import Settings
    from paceline.ingest.accounting import ImportOptions, ImportResult
    from paceline.ingest.importer import Progress
    from paceline.ingest.mapping import Mapping

COLUMNS = [
    "file",
    "uid",
    "recurrence_id",
    "external_id",
    "rep",
    "kind",
    "occurred_at",
    "duration_min",
    "outcome",
    "account",
    "contact",
    "notes",
    "organizer",
    "attendees",
    "paceline:skip",
]
# Why an occurrence is not a meeting held (the `paceline:skip` column, whose value is the
# reason: the import counts the rows it skips by it, as for a CRM reader's derived column).
CANCELLED = "cancelled"
DECLINED = "declined by the rep"
ALL_DAY = "all-day event"
PRIVATE = "private event"
ALONE = "nobody else invited"
NOT_OVER = "not over yet"
SKIP_REASONS = [CANCELLED, DECLINED, ALL_DAY, PRIVATE, ALONE, NOT_OVER]

# Google's calendars of rooms and groups are invited like people but are not people.
NOT_PEOPLE_DOMAINS = ("resource.calendar.google.com", "group.calendar.google.com")
VIDEO_LINK = re.compile(
    r"zoom\.us/|meet\.google\.com/|teams\.microsoft\.com/|teams\.live\.com/|webex\.com/"
    r"|whereby\.com/|gotomeeting\.com/|meet\.jit\.si/|chime\.aws/",
    re.IGNORECASE,
)
VIDEO_PROPERTIES = (
    "CONFERENCE",
    "X-GOOGLE-CONFERENCE",
    "X-MICROSOFT-SKYPETEAMSMEETINGURL",
    "X-MICROSOFT-ONLINEMEETINGCONFLINK",
)
EARLIEST = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class CalendarRules:
    """What the user said about this import, with the configuration's kinds and outcome."""

    kind: str
    video_kind: str
    internal_kind: str
    outcome: str | None
    owner: str | None = None  # the rep whose calendar this is (--rep)
    since: dt.datetime | None = None  # naive UTC; occurrences before it are not read
    now: dt.datetime = EARLIEST  # naive UTC; occurrences ending after it are not read


@dataclass(frozen=True)
class Person:
    email: str
    status: str  # PARTSTAT, upper case ("ACCEPTED", "DECLINED", "NEEDS-ACTION", ...)


class CalendarTable(RowTable):
    """One .ics file, or every .ics file in a folder, as rows of meetings (see module doc)."""

    problems_are_warnings = False  # an event without a rep is a row's problem, not the file's
    creates_reps = False  # every rep it names was found in the store by e-mail

    def __init__(
        self, path: Path, directory: Directory, rules: CalendarRules, zone: ZoneInfo
    ) -> None:
        super().__init__(path.name, list(COLUMNS))
        self.files = sorted(path.rglob("*.ics")) if path.is_dir() else [path]
        if not self.files:
            raise ImportFileError(f"{path}: no .ics files in this folder")
        self.calendars = [(f, read_calendar(f)) for f in self.files]
        self.directory = directory
        self.rules = rules
        self.zone = zone
        self._done = 0

    def rows(self) -> Iterator[Row]:
        number = 0
        for index, (path, calendar) in enumerate(self.calendars):
            for values, problem in self._occurrences(path, calendar):
                number += 1
                yield number, values, problem
            self._done = index + 1

    def progress(self) -> tuple[int, int]:
        return (self._done, len(self.calendars))

    def default_mapping(self) -> Mapping:
        return calendar_mapping(SOURCE_NAME)

    def _occurrences(
        self, path: Path, calendar: Any
    ) -> Iterator[tuple[list[str], RowProblem | None]]:
        import recurring_ical_events

        cancelled_calendar = str(calendar.get("METHOD", "")).upper() == "CANCEL"
        zone = _calendar_zone(calendar, self.zone)
        owner = self.rules.owner or self.directory.reps.get(
            str(calendar.get("X-WR-CALNAME", "")).strip().casefold()
        )
        start = self.rules.since or EARLIEST
        try:
            found = recurring_ical_events.of(calendar).between(start, self.rules.now)
        except Exception as exc:  # the library raises its own and the rule parser's errors
            raise ImportFileError(f"{path.name}: cannot expand the events: {exc}") from None
        series = _series(calendar)
        for event in sorted(found, key=_order):
            yield self._row(path, event, zone, owner, cancelled_calendar, series)

    def _row(
        self,
        path: Path,
        event: Any,
        zone: ZoneInfo,
        owner: str | None,
        cancelled: bool,
        series: set[str],
    ) -> tuple[list[str], RowProblem | None]:
        uid = str(event.get("UID", "")).strip()
        begin, end = event.get("DTSTART"), event.get("DTEND")
        start = begin.dt if begin is not None else None
        finish = end.dt if end is not None else start
        recurrence = event.get("RECURRENCE-ID") if uid in series else None
        recurrence_id = _stamp(recurrence.dt, zone) if recurrence is not None else ""
        values = {c: "" for c in COLUMNS}
        values.update(
            file=path.name,
            uid=uid,
            recurrence_id=recurrence_id,
            external_id=f"{uid}|{recurrence_id}" if recurrence_id else uid,
            notes=" ".join(str(event.get("SUMMARY", "")).split()),
        )
        organizer = _person(event.get("ORGANIZER"))
        people = [p for p in map(_person, _listed(event.get("ATTENDEE"))) if p is not None]
        people = [p for p in people if _is_person(event, p)]
        values["organizer"] = organizer.email if organizer else ""
        values["attendees"] = " ".join(f"{p.email}:{p.status.lower()}" for p in people)
        skip = self._skip(event, start, finish, cancelled, zone)
        if skip:
            values["paceline:skip"] = skip
            return [values[c] for c in COLUMNS], None
        assert isinstance(start, dt.datetime) and isinstance(finish, dt.datetime)
        # A row's "line" is its place among the occurrences of every file read, which no
        # file shows: a rejected event says which file, which event and when.
        where = f"{path.name}, event {uid or values['notes']!r} at {_local(start, zone)}"
        if not uid:
            return [values[c] for c in COLUMNS], RowProblem(f"{where}: {NO_UID}", NO_UID, where)
        rep, emails = self._rep(organizer, people, owner)
        if rep is None:
            values["paceline:skip"] = DECLINED if emails is None else ""
            return [values[c] for c in COLUMNS], None if emails is None else _no_rep(where, emails)
        others = self._others(rep, organizer, people)
        if not others:
            values["paceline:skip"] = ALONE
            return [values[c] for c in COLUMNS], None
        external = [p.email for p in others if domain_of(p.email) not in self.directory.internal]
        utc_start, utc_end = _utc(start, zone), _utc(finish, zone)
        values.update(
            rep=rep,
            occurred_at=utc_start.isoformat() + "Z",
            duration_min=f"{(utc_end - utc_start).total_seconds() / 60:g}",
        )
        if not external:
            values["kind"] = self.rules.internal_kind
        else:
            values["kind"] = self.rules.video_kind if _has_video(event) else self.rules.kind
            values["outcome"] = self.rules.outcome or ""
            values["contact"], values["account"] = self._account(external)
        return [values[c] for c in COLUMNS], None

    def _others(self, rep: str, organizer: Person | None, people: list[Person]) -> list[Person]:
        """Everyone in the meeting besides the rep, leaving out who declined."""
        reps = self.directory.reps
        others = [p for p in people if p.status != "DECLINED" and reps.get(p.email) != rep]
        if organizer is not None and reps.get(organizer.email) != rep:
            others.insert(0, organizer)
        return others

    def _skip(
        self, event: Any, start: object, finish: object, cancelled: bool, zone: ZoneInfo
    ) -> str:
        if cancelled or str(event.get("STATUS", "")).upper() == "CANCELLED":
            return CANCELLED
        if str(event.get("CLASS", "")).upper() in ("PRIVATE", "CONFIDENTIAL"):
            return PRIVATE
        if not isinstance(start, dt.datetime) or not isinstance(finish, dt.datetime):
            return ALL_DAY
        if _utc(finish, zone) > self.rules.now:
            return NOT_OVER
        return ""

    def _rep(
        self, organizer: Person | None, people: list[Person], owner: str | None
    ) -> tuple[str | None, str | None]:
        """The rep the meeting counts for (and ""), or None and the e-mails it has when no
        rep can be found, or None and None when the rep declined (see the module docstring).
        """
        reps = self.directory.reps
        if organizer is not None and organizer.email in reps:
            return reps[organizer.email], ""
        attending = [p for p in people if p.email in reps and p.status != "DECLINED"]
        if attending:
            return reps[attending[0].email], ""
        declined = [p for p in people if p.email in reps]
        owner_declined = owner is not None and any(reps[p.email] == owner for p in declined)
        if owner is not None and not owner_declined:
            return owner, ""
        if declined:
            return None, None
        emails = ", ".join([*([organizer.email] if organizer else []), *(p.email for p in people)])
        return None, emails or "none"

    def _account(self, external: list[str]) -> tuple[str, str]:
        """(contact, account) from the first external attendee the directory knows."""
        for email in external:
            known = self.directory.contacts.get(email)
            if known is not None:
                return known[0], known[1] or ""
        for email in external:
            account = self.directory.domains.get(domain_of(email))
            if account is not None:
                return "", account
        return "", ""


NO_UID = "the event has no UID, so it cannot be keyed"
NO_REP = (
    "no rep: no rep has the e-mail of the organiser or an attendee; import the reps with "
    "their e-mails, or name the calendar's owner (--rep, or the Import page's “Whose rows "
    "are these?”)"
)


def _no_rep(where: str, emails: str) -> RowProblem:
    """An event no rep can be found for: the reason is the same for every such event (the
    summary counts them together); the example says which event and whose e-mails it has."""
    text = (
        f"{where}: no rep: no rep has the e-mail of the organiser or an attendee ({emails});"
        " import the reps with their e-mails, or pass --rep for the calendar's owner"
    )
    return RowProblem(text, NO_REP, f"{where} ({emails})")


# One file parsed at a time in the process (the web server imports in threads): see
# `read_calendar`.
_PARSING = threading.Lock()


def read_calendar(path: Path) -> Any:
    """The parsed calendar of one .ics file, or ImportFileError naming the file.

    The iCalendar library keeps, for the whole process, the first definition (VTIMEZONE) it
    parsed of each zone id it cannot look up, and reads every later file's times of that id
    with it: Outlook names its own zones "Customized Time Zone", so a second export at
    another offset read its 10:00 as the first one's (tests/ingest/test_calendar_import.py).
    Each file is therefore parsed with none of those definitions known (`_own_zones`), under
    a lock, since the cache is the process's: the times are resolved while parsing, so
    what the next file does cannot change them."""
    import icalendar

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        with _PARSING, _own_zones():
            return icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise ImportFileError(f"{path.name}: not an iCalendar file: {exc}") from None


@contextlib.contextmanager
def _own_zones() -> Iterator[None]:
    """The library's zone cache emptied while one file is parsed, then given back as it was.

    Resetting it for good (`tzp.use_zoneinfo()`, until 2026-12-08) also threw away what any
    other code of the process (a plugin reading calendars) had cached, and switched the
    process back to zoneinfo had it chosen pytz; now only this file's parse sees an empty
    cache. The cache is a private attribute of the library's `tzp`: a version without it
    falls back to that reset, which reads every file right at that cost."""
    from icalendar.timezone import tzp

    cache = getattr(tzp, "_TZP__tz_cache", None)
    if not isinstance(cache, dict):
        tzp.use_zoneinfo()
        yield
        return
    kept = dict(cache)
    cache.clear()
    try:
        yield
    finally:
        cache.clear()
        cache.update(kept)


def _calendar_zone(calendar: Any, fallback: ZoneInfo) -> ZoneInfo:
    """The zone of times without one ("floating"): a Google export's X-WR-TIMEZONE, else
    the business calendar's."""
    name = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


def _utc(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Naive UTC; a time without a zone is read in `zone`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _local(moment: dt.datetime, zone: ZoneInfo) -> str:
    """When an occurrence begins, as the file writes it: local time with its zone's name
    ("2026-11-02 09:00 PST"), a UTC time in UTC, a floating one in `zone`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _stamp(moment: object, zone: ZoneInfo) -> str:
    """A RECURRENCE-ID as a key: UTC "20261103T180000Z", or the date "20261103"."""
    if isinstance(moment, dt.datetime):
        return _utc(moment, zone).strftime("%Y%m%dT%H%M%SZ")
    if isinstance(moment, dt.date):
        return moment.strftime("%Y%m%d")
    return str(moment)


def _series(calendar: Any) -> set[str]:
    """The UIDs of recurring events: only their occurrences are keyed by RECURRENCE-ID (the
    expansion gives every event one, even a single one)."""
    return {
        str(event.get("UID", "")).strip()
        for event in calendar.walk("VEVENT")
        if any(event.get(key) is not None for key in ("RRULE", "RDATE", "RECURRENCE-ID"))
    }


def _order(event: Any) -> tuple[str, str]:
    begin = event.get("DTSTART")
    return (str(event.get("UID", "")), str(begin.dt) if begin is not None else "")


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _person(value: Any) -> Person | None:
    """An ORGANIZER or ATTENDEE as an e-mail and a participation status."""
    if value is None:
        return None
    params = getattr(value, "params", {})
    text = str(params.get("EMAIL") or value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if "@" not in text:
        return None
    return Person(text.strip().casefold(), str(params.get("PARTSTAT", "NEEDS-ACTION")).upper())


def _is_person(event: Any, person: Person) -> bool:
    """Rooms and resources are invited like people; they do not make a meeting external."""
    if person.email.endswith(NOT_PEOPLE_DOMAINS):
        return False
    for value in _listed(event.get("ATTENDEE")):
        found = _person(value)
        if found is not None and found.email == person.email:
            kind = str(getattr(value, "params", {}).get("CUTYPE", "INDIVIDUAL")).upper()
            return kind not in ("ROOM", "RESOURCE")
    return True


def _has_video(event: Any) -> bool:
    if any(event.get(name) for name in VIDEO_PROPERTIES):
        return True
    text = " ".join(str(event.get(name, "")) for name in ("LOCATION", "DESCRIPTION", "URL"))
    return bool(VIDEO_LINK.search(text))


def calendar_mapping(source: str) -> Mapping:
    """The calendar rows' columns are Paceline's own; skipped occurrences say why."""
    from paceline.ingest.mapping import Mapping

    fields = ["external_id", "rep", "kind", "occurred_at", "duration_min", "outcome"]
    fields += ["account", "contact", "notes"]
    return Mapping(
        entity="activities",
        source=source,
        timezone="UTC",
        columns={f: f for f in fields},
        skip={"paceline:skip": SKIP_REASONS},
    )


def check_rules(
    settings: Settings, owner: str | None, directory: Directory, owner_field: str = ""
) -> None:
    """Refuse, before reading anything, kinds the configuration lacks and an unknown owner.
    The refusal of the owner names where the user typed it: `--rep` on the command line, or
    the face's `owner_field` (the web's Import page never showed a `--rep`)."""
    from paceline.store.names import name_key

    meetings = settings.meetings
    for key in ("kind", "video_kind", "internal_kind"):
        if getattr(meetings, key) not in settings.kind_names:
            raise ImportFileError(
                f"[meetings] {key} = {getattr(meetings, key)!r} is not a configured kind"
            )
    if meetings.outcome is not None and meetings.outcome not in settings.outcome_names:
        raise ImportFileError(f"[meetings] outcome = {meetings.outcome!r} is not an outcome")
    if owner is not None and name_key(owner) not in directory.names:
        raise ImportFileError(unknown_owner(owner, owner_field))


def unknown_owner(owner: str, owner_field: str) -> str:
    """Why the calendar's owner named is refused, pointing at the option or field named."""
    if owner_field:
        return (
            f"no rep named {owner!r}, named in {owner_field} as the rep whose calendar it "
            "is; name an existing rep, or leave it empty"
        )
    return f"--rep: no rep named {owner!r} (the calendar's owner)"


def open_calendar(path: Path, options: ReadOptions) -> RowTable:
    """The calendar source's reader: an .ics file or a folder of them, read with what the
    import gives (`ReadOptions`: the configuration, who is who by e-mail, the owner, the
    import's moment); the kinds and the owner are checked before anything is read."""
    settings, people = options.settings, options.people
    if settings is None or people is None:  # sampled outside an import (`import detect`)
        raise ImportFileError(
            f"{path.name} is a calendar file: import its meetings with "
            f"`paceline import calendar {path.name}` (or on the Import page)"
        )
    from paceline.store.models import utcnow

    directory = people()
    check_rules(settings, options.calendar_owner, directory, options.owner_field)
    meetings = settings.meetings
    rules = CalendarRules(
        kind=meetings.kind,
        video_kind=meetings.video_kind,
        internal_kind=meetings.internal_kind,
        outcome=meetings.outcome,
        owner=_rep_name(options.calendar_owner, directory),
        since=options.since,
        now=options.now or utcnow(),
    )
    return CalendarTable(path, directory, rules, settings.calendar.zone)


SOURCE_NAME = "calendar"
CALENDAR_SOURCE = ImportSource(
    SOURCE_NAME, "iCalendar (.ics) files: meetings held, as activities.", open_calendar,
    extensions=(".ics",), takes_calendar_owner=True,
)  # fmt: skip


@hookimpl
def register_import_sources() -> list[ImportSource]:
    return [CALENDAR_SOURCE]


def import_calendar(
    engine: Engine,
    settings: Settings,
    path: Path,
    options: ImportOptions,
    owner: str | None = None,
    internal_domains: list[str] | None = None,
    since: dt.datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the meetings of one .ics file or a folder of them (see the module docstring):
    the activity import with the calendar source, as the Import page runs it.

    `owner` names the rep whose calendar it is; `since` (naive UTC) leaves out older
    occurrences; the import's `now` (options.now) is where the calendar stops being read.
    """
    from paceline.ingest.importer import import_file  # the plugin loads without the import

    options.calendar_owner = owner
    options.internal_domains = tuple(internal_domains or ())
    options.since = since
    return import_file(
        engine, settings, path, "activities", None, options, progress, CALENDAR_SOURCE
    )


def _rep_name(owner: str | None, directory: Directory) -> str | None:
    from paceline.store.names import name_key

    return None if owner is None else directory.names.get(name_key(owner), owner)
