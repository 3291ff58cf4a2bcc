"""Meetings from .ics files: hand-written calendars in the shapes Outlook and Google export,
every expected meeting worked out by hand below (times, counts, skips), never read back
from the importer.

The business calendar is New York's (the default configuration). The import runs as of
2026-12-07 12:00 UTC. Daylight saving time ended on 1 November 2026 in the US (first Sunday
of November) and on 25 October 2026 in Europe (last Sunday of October).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from paceline import plugins
from paceline.analytics.metrics import metric_totals
from paceline.analytics.rollup import ensure_rollup
from paceline.cli import app
from paceline.config import Settings
from paceline.ingest.accounting import ImportOptions, ImportResult, RejectedReason
from paceline.ingest.calendar_ics import import_calendar
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.importer import import_csv, import_file
from paceline.store.models import Account, Activity, Contact, Rep

NOW = dt.datetime(2026, 12, 7, 12, 0)

PACIFIC = """\
BEGIN:VTIMEZONE
TZID:Pacific Standard Time
BEGIN:STANDARD
DTSTART:16011104T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010311T020000
RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
END:DAYLIGHT
END:VTIMEZONE
"""

# An Outlook/Exchange export: Windows zone names, one with its VTIMEZONE, one without.
OUTLOOK = f"""\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
METHOD:PUBLISH
{PACIFIC}\
BEGIN:VEVENT
UID:weekly-acme
SUMMARY:Acme weekly
DTSTART;TZID=Pacific Standard Time:20261020T100000
DTEND;TZID=Pacific Standard Time:20261020T103000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Pacific Standard Time:20261027T100000
ORGANIZER;CN=Ana Ruiz:mailto:ana@paceline.test
ATTENDEE;CN=Bob Acme;PARTSTAT=ACCEPTED:mailto:bob@acme.test
ATTENDEE;CN=Room 4;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room4@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:weekly-acme
RECURRENCE-ID;TZID=Pacific Standard Time:20261110T100000
SUMMARY:Acme weekly (moved)
DTSTART;TZID=Pacific Standard Time:20261110T140000
DTEND;TZID=Pacific Standard Time:20261110T150000
ORGANIZER;CN=Ana Ruiz:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:weekly-acme
RECURRENCE-ID;TZID=Pacific Standard Time:20261117T100000
STATUS:CANCELLED
SUMMARY:Canceled: Acme weekly
DTSTART;TZID=Pacific Standard Time:20261117T100000
DTEND;TZID=Pacific Standard Time:20261117T103000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:initech-demo
SUMMARY:Initech demo
DTSTART;TZID=W. Europe Standard Time:20261105T100000
DURATION:PT45M
DESCRIPTION:Join: https://teams.microsoft.com/l/meetup-join/abc
ORGANIZER:mailto:peter@initech.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ben@paceline.test
ATTENDEE;PARTSTAT=DECLINED:mailto:ana@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:pipeline-review
SUMMARY:Pipeline review
DTSTART:20261112T150000Z
DTEND:20261112T160000Z
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ben@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:offsite
SUMMARY:Offsite
DTSTART;VALUE=DATE:20261113
DTEND;VALUE=DATE:20261114
ORGANIZER:mailto:ana@paceline.test
ATTENDEE:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:doctor
CLASS:PRIVATE
SUMMARY:Private appointment
DTSTART:20261116T140000Z
DTEND:20261116T150000Z
ORGANIZER:mailto:ana@paceline.test
ATTENDEE:mailto:front-desk@clinic.test
END:VEVENT
BEGIN:VEVENT
UID:declined-pitch
SUMMARY:Vendor pitch
DTSTART:20261118T140000Z
DTEND:20261118T150000Z
ORGANIZER:mailto:peter@initech.test
ATTENDEE;PARTSTAT=DECLINED:mailto:ana@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:future-call
SUMMARY:Next week
DTSTART:20261210T140000Z
DTEND:20261210T150000Z
ORGANIZER:mailto:ana@paceline.test
ATTENDEE:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:strangers
SUMMARY:Someone else's meeting
DTSTART:20261119T140000Z
DTEND:20261119T150000Z
ORGANIZER:mailto:x@elsewhere.test
ATTENDEE:mailto:y@elsewhere.test
END:VEVENT
BEGIN:VEVENT
UID:running-now
SUMMARY:Still going
DTSTART:20261207T113000Z
DTEND:20261207T123000Z
ORGANIZER:mailto:ana@paceline.test
ATTENDEE:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:focus
SUMMARY:Focus time
DTSTART:20261120T140000Z
DTEND:20261120T160000Z
ORGANIZER:mailto:ana@paceline.test
END:VEVENT
END:VCALENDAR
"""

# A Google Calendar export of Ben's calendar: floating times in X-WR-TIMEZONE, IANA zones.
GOOGLE = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Google Inc//Google Calendar 70.9054//EN
X-WR-CALNAME:ben@paceline.test
X-WR-TIMEZONE:Europe/London
BEGIN:VEVENT
UID:london-intro@google.com
SUMMARY:Intro with Initech UK
DTSTART:20261102T090000
DTEND:20261102T093000
ORGANIZER:mailto:sam@initech.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:sam@initech.test
X-GOOGLE-CONFERENCE:https://meet.google.com/abc-defg-hij
END:VEVENT
BEGIN:VEVENT
UID:monday-acme@google.com
SUMMARY:Monday check-in
DTSTART;TZID=America/New_York:20261026T090000
DTEND;TZID=America/New_York:20261026T092000
RRULE:FREQ=WEEKLY;UNTIL=20261109T235959Z
ORGANIZER:mailto:ben@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ben@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:pipeline-review
SUMMARY:Pipeline review
DTSTART:20261112T150000Z
DTEND:20261112T160000Z
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ben@paceline.test
END:VEVENT
END:VCALENDAR
"""


def ics(text: str) -> bytes:
    """iCalendar lines end in CRLF."""
    return textwrap.dedent(text).replace("\n", "\r\n").encode()


@pytest.fixture
def people(engine: Engine, settings: Settings, tmp_path: Path) -> Engine:
    """Two reps with e-mails; Acme and Initech, each with one contact with an e-mail."""
    reps = tmp_path / "reps.csv"
    reps.write_text("name,email\nAna Ruiz,ana@paceline.test\nBen Ode,Ben@Paceline.test\n")
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "name,account,email\nBob Acme,Acme Corp,bob@acme.test\n"
        "Peter Gibbons,Initech,peter@initech.test\n"
    )
    options = ImportOptions(errors_path=tmp_path / "setup.errors.csv")
    assert import_csv(engine, settings, reps, "reps", options=options).inserted == 2
    assert import_csv(engine, settings, contacts, "contacts", options=options).inserted == 2
    return engine


@pytest.fixture
def calendars(tmp_path: Path) -> Path:
    folder = tmp_path / "calendars"
    folder.mkdir()
    (folder / "outlook.ics").write_bytes(ics(OUTLOOK))
    (folder / "google.ics").write_bytes(ics(GOOGLE))
    return folder


def run(engine: Engine, settings: Settings, path: Path, **kw: object) -> ImportResult:
    options = ImportOptions(now=NOW, errors_path=path.parent / "calendar.errors.csv")
    return import_calendar(engine, settings, path, options, **kw)  # type: ignore[arg-type]


def meetings(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Activity.external_id,
                Rep.name,
                Activity.kind,
                Activity.outcome,
                Activity.occurred_at,
                Activity.local_date,
                Activity.duration_min,
                Account.name,
                Contact.name,
            )
            .join(Rep, Activity.rep_id == Rep.id)
            .outerjoin(Account, Activity.account_id == Account.id)
            .outerjoin(Contact, Activity.contact_id == Contact.id)
            .order_by(Activity.occurred_at)
        ).all()
    return [tuple(r) for r in rows]


D = dt.datetime
EXPECTED = [
    # Acme weekly, 10:00 Pacific: PDT (UTC-7) before 1 November, PST (UTC-8) after.
    ("weekly-acme|20261020T170000Z", "Ana Ruiz", "meeting", "held", D(2026, 10, 20, 17, 0),
     dt.date(2026, 10, 20), 30.0, "Acme Corp", "Bob Acme"),
    # Monday check-in, 09:00 New York: EDT (UTC-4) on 26 October, EST (UTC-5) after.
    ("monday-acme@google.com|20261026T130000Z", "Ben Ode", "meeting", "held",
     D(2026, 10, 26, 13, 0), dt.date(2026, 10, 26), 20.0, "Acme Corp", "Bob Acme"),
    # 27 October is an EXDATE. Floating 09:00 in London (GMT after 25 October) = 09:00 UTC;
    # Ben owns the calendar; sam@initech.test is no contact, but initech.test is Initech's.
    ("london-intro@google.com", "Ben Ode", "video_meeting", "held", D(2026, 11, 2, 9, 0),
     dt.date(2026, 11, 2), 30.0, "Initech", None),
    ("monday-acme@google.com|20261102T140000Z", "Ben Ode", "meeting", "held",
     D(2026, 11, 2, 14, 0), dt.date(2026, 11, 2), 20.0, "Acme Corp", "Bob Acme"),
    ("weekly-acme|20261103T180000Z", "Ana Ruiz", "meeting", "held", D(2026, 11, 3, 18, 0),
     dt.date(2026, 11, 3), 30.0, "Acme Corp", "Bob Acme"),
    # 10:00 in Berlin (CET, UTC+1) = 09:00 UTC; a Teams link; Ben attends, Ana declined.
    ("initech-demo", "Ben Ode", "video_meeting", "held", D(2026, 11, 5, 9, 0),
     dt.date(2026, 11, 5), 45.0, "Initech", "Peter Gibbons"),
    ("monday-acme@google.com|20261109T140000Z", "Ben Ode", "meeting", "held",
     D(2026, 11, 9, 14, 0), dt.date(2026, 11, 9), 20.0, "Acme Corp", "Bob Acme"),
    # The instance of 10 November moved from 10:00 to 14:00-15:00 PST: 22:00 UTC, an hour.
    ("weekly-acme|20261110T180000Z", "Ana Ruiz", "meeting", "held", D(2026, 11, 10, 22, 0),
     dt.date(2026, 11, 10), 60.0, "Acme Corp", "Bob Acme"),
    # Only colleagues: an internal meeting, no outcome.
    ("pipeline-review", "Ana Ruiz", "internal_meeting", None, D(2026, 11, 12, 15, 0),
     dt.date(2026, 11, 12), 60.0, None, None),
    # 17 November was cancelled; 24 November is the sixth and last.
    ("weekly-acme|20261124T180000Z", "Ana Ruiz", "meeting", "held", D(2026, 11, 24, 18, 0),
     dt.date(2026, 11, 24), 30.0, "Acme Corp", "Bob Acme"),
]  # fmt: skip


def test_a_folder_of_calendars(people: Engine, settings: Settings, calendars: Path) -> None:
    result = run(people, settings, calendars)
    # google.ics: 1 + 3 + 1 (pipeline-review again: a duplicate of the same meeting);
    # outlook.ics: 5 weekly-acme (EXDATE gone) + demo + review + all-day + private + declined
    # + strangers + running-now + focus = 13. The future call is not read.
    assert result.read == 18
    assert (result.inserted, result.duplicate, result.skipped, result.rejected) == (10, 1, 6, 1)
    assert result.notes == {
        "skipped, cancelled": 1,
        "skipped, all-day event": 1,
        "skipped, private event": 1,
        "skipped, declined by the rep": 1,
        "skipped, not over yet": 1,
        "skipped, nobody else invited": 1,
    }
    assert meetings(people) == EXPECTED
    assert result.errors_file is not None
    errors = Path(result.errors_file).read_text()
    assert "strangers" in errors and "x@elsewhere.test, y@elsewhere.test" in errors
    # Its line is its place among both files' occurrences, which no file shows: the reason
    # names the file, the event and its start as written (UTC 'Z').
    ((_, _, reason),) = result.first_errors
    assert reason.startswith("outlook.ics, event 'strangers' at 2026-11-19 14:00 UTC: no rep:")
    again = run(people, settings, calendars)
    assert (again.read, again.inserted, again.unchanged, again.duplicate) == (18, 0, 10, 1)
    assert meetings(people) == EXPECTED


def test_a_moved_instance_updates_its_meeting(
    people: Engine, settings: Settings, calendars: Path
) -> None:
    outlook = calendars / "outlook.ics"
    run(people, settings, outlook)
    outlook.write_bytes(ics(OUTLOOK.replace("20261110T140000", "20261110T150000")))
    result = run(people, settings, outlook)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 5)
    moved = [m for m in meetings(people) if m[0] == "weekly-acme|20261110T180000Z"]
    assert moved[0][4] == D(2026, 11, 10, 23, 0)  # 15:00 PST


def test_since_and_owner_and_internal_domains(
    people: Engine, settings: Settings, calendars: Path
) -> None:
    # From 10 November on, and acme.test declared internal: Acme meetings become internal.
    result = run(
        people,
        settings,
        calendars / "outlook.ics",
        since=D(2026, 11, 10, 5, 0),
        internal_domains=["paceline.test", "acme.test"],
    )
    kinds = {m[0]: m[2] for m in meetings(people)}
    assert kinds == {
        "weekly-acme|20261110T180000Z": "internal_meeting",
        "pipeline-review": "internal_meeting",
        "weekly-acme|20261124T180000Z": "internal_meeting",
    }
    assert result.rejected == 1  # strangers: still nobody's
    with pytest.raises(ImportFileError, match="--rep: no rep named 'Nobody'"):
        run(people, settings, calendars, owner="Nobody")


def test_the_owner_takes_meetings_no_rep_is_named_in(
    people: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "cal.ics"
    path.write_bytes(ics(OUTLOOK))
    result = run(people, settings, path, owner="ben ode")
    assert result.rejected == 0  # the strangers' meeting is Ben's now
    assert ("strangers", "Ben Ode") in {(m[0], m[1]) for m in meetings(people)}


def test_meetings_show_up_in_the_scorecard_metrics(
    people: Engine, settings: Settings, calendars: Path
) -> None:
    run(people, settings, calendars)
    ensure_rollup(people, settings)
    with people.connect() as conn:
        ids = dict(conn.execute(select(Rep.name, Rep.id)).all())
        totals = metric_totals(
            conn, settings, ["meetings_held", "face_to_face_meetings"],
            dt.date(2026, 11, 1), dt.date(2026, 12, 1),
        )  # fmt: skip
    # November: Ana 3 Acme meetings (3rd, 10th, 24th); Ben 2 Monday check-ins + 2 video.
    assert totals.get(ids["Ana Ruiz"], "meetings_held") == 3
    assert totals.get(ids["Ben Ode"], "meetings_held") == 4
    assert totals.get(ids["Ben Ode"], "face_to_face_meetings") == 2


def test_bad_calendar_files_are_refused_whole(
    people: Engine, settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.ics"
    bad.write_text("this is not a calendar\n")
    with pytest.raises(ImportFileError, match=r"bad\.ics"):
        run(people, settings, bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImportFileError, match=r"no \.ics files"):
        run(people, settings, empty)
    with people.connect() as conn:
        assert conn.execute(select(Activity.id)).first() is None


def test_the_calendar_command(
    calendars: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    (tmp_path / "reps.csv").write_text("name,email\nAna Ruiz,ana@paceline.test\n")
    assert runner.invoke(app, ["import", "reps", str(tmp_path / "reps.csv")]).exit_code == 0
    reply = runner.invoke(
        app,
        ["--today", "2026-12-07T12:00:00", "import", "calendar", str(calendars / "outlook.ics"),
         "--since", "2026-11-01", "--internal-domain", "paceline.test", "--json"],
    )  # fmt: skip
    assert reply.exit_code == 0, reply.output
    result = json.loads(reply.output)
    # From 1 November: weekly-acme 3 Nov, 10 Nov, 24 Nov held (17 Nov cancelled). The demo
    # has no rep Ben here, so the Initech demo is Ana's declined one; pipeline-review has
    # only Ben (not a rep here) as the other participant, and Ana organised it.
    assert result["inserted"] == 4
    assert result["notes"]["skipped, cancelled"] == 1
    reply = runner.invoke(app, ["import", "calendar", str(calendars), "--since", "someday"])
    assert reply.exit_code == 1 and "not a date" in reply.output
    # `import activities` picks the calendar source for an .ics file (before 2026-12-07 it
    # refused the file): the same import, the same keys. Ben is no rep here, so his Monday
    # check-ins (26 Oct, 2 and 9 Nov) and the London intro have no rep: one reason, four
    # events, the first three named (by UID, then start); the pipeline review is Ana's, as
    # imported from outlook.ics above, and an internal meeting both times: unchanged.
    # By its path from the folder the command runs in: the summary's title holds the path as
    # given, and Rich folds a word longer than the table at any character, so an absolute path
    # under pytest's temporary folder split "google.ics" or not by its length.
    reply = runner.invoke(
        app, ["--today", "2026-12-07T12:00:00", "import", "activities",
              str((calendars / "google.ics").relative_to(tmp_path))],
    )  # fmt: skip
    assert reply.exit_code == 0, reply.output
    said = " ".join(reply.output.split())
    assert "calendars/google.ics -> activities (read as calendar, source 'calendar')" in said
    assert "4 row(s): no rep: no rep has the e-mail of the organiser or an attendee; " in said
    assert (
        "(e.g. google.ics, event 'london-intro@google.com' at 2026-11-02 09:00 GMT "
        "(sam@initech.test, sam@initech.test); google.ics, event 'monday-acme@google.com' at "
        "2026-10-26 09:00 EDT (ben@paceline.test, bob@acme.test, ben@paceline.test); "
        "google.ics, event 'monday-acme@google.com' at 2026-11-02 09:00 EST "
        "(ben@paceline.test, bob@acme.test, ben@paceline.test))"
    ) in said


def test_the_calendar_is_an_import_source_like_csv(
    people: Engine, settings: Settings, calendars: Path
) -> None:
    """The calendar source is a built-in plugin on the import-source hook: picked for an
    .ics file like the spreadsheet source for an .xlsx, and given the reps, the internal
    domains and the zone by the import (`ReadOptions`), so the Import page runs it as it
    runs a CSV file. Before 2026-12-07 `import_source_for` refused the file."""
    outlook = calendars / "outlook.ics"
    source = plugins.import_source_for(outlook)
    assert source.name == "calendar" and "calendar" in plugins.import_sources()
    options = ImportOptions(now=NOW, errors_path=calendars.parent / "seam.errors.csv")
    result = import_file(people, settings, outlook, "activities", None, options, reader=source)
    # outlook.ics alone (test_a_folder_of_calendars): 13 occurrences; weekly-acme's four held,
    # the demo and the review inserted; six skipped; the strangers rejected.
    assert (result.read, result.inserted, result.skipped, result.rejected) == (13, 6, 6, 1)
    assert (result.source, result.reader) == ("calendar", "calendar")
    again = run(people, settings, outlook)  # `paceline import calendar`: the same keys
    assert (again.read, again.inserted, again.unchanged, again.rejected) == (13, 0, 6, 1)
    own = r"not deals \(the calendar source's own, for outlook\.ics\)"
    with pytest.raises(ImportFileError, match=own):
        import_file(people, settings, outlook, "deals", None, options, reader=source)


STRANGERS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
BEGIN:VEVENT
UID:s1
SUMMARY:One
DTSTART:20261102T140000Z
DTEND:20261102T150000Z
ORGANIZER:mailto:x@elsewhere.test
ATTENDEE:mailto:y@elsewhere.test
END:VEVENT
BEGIN:VEVENT
UID:s2
SUMMARY:Two
DTSTART;TZID=America/Chicago:20261103T090000
DTEND;TZID=America/Chicago:20261103T100000
ORGANIZER:mailto:z@elsewhere.test
END:VEVENT
BEGIN:VEVENT
UID:s3
SUMMARY:Three
DTSTART:20261104T140000Z
DTEND:20261104T150000Z
ATTENDEE:mailto:w@elsewhere.test
END:VEVENT
BEGIN:VEVENT
UID:s4
SUMMARY:Four
DTSTART:20261105T140000Z
DTEND:20261105T150000Z
ORGANIZER:mailto:x@elsewhere.test
ATTENDEE:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
SUMMARY:No key
DTSTART:20261106T140000Z
DTEND:20261106T150000Z
ORGANIZER:mailto:ana@paceline.test
ATTENDEE:mailto:bob@acme.test
END:VEVENT
END:VCALENDAR
"""


def test_events_without_a_rep_are_counted_under_one_reason(
    people: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Four events no rep is in: one reason with 4 rows and the first three events as
    examples (file, UID, start as written, e-mails), not four reasons of one row each (as
    from 2026-12-06, when the reason began with the event); the errors file still says each
    event in full. Times: 14:00 UTC; 09:00 in Chicago is 09:00 CST (after 1 November)."""
    path = tmp_path / "s.ics"
    path.write_bytes(ics(STRANGERS))
    result = run(people, settings, path)
    assert (result.read, result.rejected) == (5, 5)
    no_rep = (
        "no rep: no rep has the e-mail of the organiser or an attendee; import the reps with "
        "their e-mails, or name the calendar's owner (--rep, or the Import page's “Whose "
        "rows are these?”)"
    )
    assert result.rejected_by_reason == [
        RejectedReason(
            "",
            no_rep,
            4,
            (
                "s.ics, event 's1' at 2026-11-02 14:00 UTC (x@elsewhere.test, y@elsewhere.test)",
                "s.ics, event 's2' at 2026-11-03 09:00 CST (z@elsewhere.test)",
                "s.ics, event 's3' at 2026-11-04 14:00 UTC (w@elsewhere.test)",
            ),
        ),
        RejectedReason(
            "",
            "the event has no UID, so it cannot be keyed",
            1,
            ("s.ics, event 'No key' at 2026-11-06 14:00 UTC",),
        ),
    ]
    assert result.failure == "every row was rejected (5 of 5)"
    assert result.errors_file is not None
    with Path(result.errors_file).open(newline="") as handle:
        reasons = [row[2] for row in csv.reader(handle)][1:]
    assert reasons[4] == (  # read by UID, then start: the one without a UID first
        "s.ics, event 's4' at 2026-11-05 14:00 UTC: no rep: no rep has the e-mail of the "
        "organiser or an attendee (x@elsewhere.test, bob@acme.test); import the reps with "
        "their e-mails, or pass --rep for the calendar's owner"
    )


def customized(offset: str, uid: str) -> str:
    """An Outlook export whose zone is its own "Customized Time Zone" (Outlook's name for a
    zone it cannot name), at a fixed `offset`, with one 10:00 meeting of Ana's on 2 November."""
    return f"""\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:{offset}
TZOFFSETTO:{offset}
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:{uid}
SUMMARY:Acme call
DTSTART;TZID=Customized Time Zone:20261102T100000
DTEND;TZID=Customized Time Zone:20261102T103000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
END:VEVENT
END:VCALENDAR
"""


def test_each_file_reads_its_own_zone_definitions(
    people: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Two exports each define "Customized Time Zone", one at UTC+01:00 and one at UTC-05:00:
    10:00 is 09:00 UTC in the first and 15:00 UTC in the second. The iCalendar library keeps
    the first definition of a zone id for the life of the process, so before 2026-12-07 the
    second file (another import, another upload to the same server) was read at 09:00 UTC."""
    paris, bogota = tmp_path / "paris.ics", tmp_path / "bogota.ics"
    paris.write_bytes(ics(customized("+0100", "paris-call")))
    bogota.write_bytes(ics(customized("-0500", "bogota-call")))
    assert run(people, settings, paris).inserted == 1
    assert run(people, settings, bogota).inserted == 1
    when = {m[0]: m[4] for m in meetings(people)}
    assert when == {"paris-call": D(2026, 11, 2, 9, 0), "bogota-call": D(2026, 11, 2, 15, 0)}


def test_reading_a_calendar_leaves_the_process_zone_definitions_as_they_were(
    people: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Other code of the process (a plugin) has parsed a "Customized Time Zone" at
    UTC+09:00 with the iCalendar library. An import of a file defining that id at UTC+01:00
    reads its own (10:00 is 09:00 UTC, not 01:00), and afterwards the library still knows
    the +09:00 definition: until 2026-12-08 every import reset the library's zones for the
    whole process, and that definition was gone (`timezone` answered None)."""
    import icalendar
    from icalendar.timezone import tzp

    icalendar.Calendar.from_ical(ics(customized("+0900", "tokyo-call")))
    paris = tmp_path / "paris.ics"
    paris.write_bytes(ics(customized("+0100", "paris-call")))
    assert run(people, settings, paris).inserted == 1
    assert {m[0]: m[4] for m in meetings(people)} == {"paris-call": D(2026, 11, 2, 9, 0)}
    theirs = tzp.timezone("Customized Time Zone")
    assert theirs is not None
    assert theirs.utcoffset(dt.datetime(2026, 11, 2, 10)) == dt.timedelta(hours=9)


def test_a_calendar_owner_is_refused_for_a_file_that_is_no_calendar(
    people: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A calendar's owner given for a CSV file (whose rows name their rep) is refused before
    anything is written, rather than ignored: the user would believe the rows were Ben's."""
    calls = tmp_path / "calls.csv"
    calls.write_text("external_id,rep,kind,occurred_at\nc1,Ana Ruiz,call,2026-11-02 10:00\n")
    options = ImportOptions(calendar_owner="Ben Ode", errors_path=tmp_path / "c.errors.csv")
    with pytest.raises(ImportFileError, match=r"^--rep: only calendars \(read as calendar\)"):
        import_file(people, settings, calls, "activities", None, options)
    with people.connect() as conn:
        assert conn.execute(select(Activity.id)).all() == []
