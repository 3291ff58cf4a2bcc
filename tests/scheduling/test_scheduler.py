"""The scheduler over a simulated week, counted at the receivers (`schedule_org`).

`run_due` is what `paceline notify --due` and `paceline scheduler` call; the week is driven
hour by hour from Monday 2026-12-07 00:00 UTC to Sunday 23:00 UTC with the time passed in.
Expected, by hand (the calendar's zone America/New_York is UTC-5 in December, West's
Europe/London UTC+0; Wednesday 2026-12-09 is a holiday):

- rep digest at 08:00 local on business days (Mon, Tue, Thu, Fri): Eve at 08:00 UTC; Ana at
  13:00 UTC; Ben at 14:00 UTC (his quiet hours 07:00-09:00 defer it to 09:00 New York);
  Dee opted out, Cy has no address, the managers get their team's digest instead: 12 mails.
- manager digest Monday 07:00 local, on last week (2026-W49): Max by e-mail at 12:00 UTC
  with the PDF attached; Wes through the signed webhook at 07:00 UTC, as he chose.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from factories import put_activity
from paceline.access import OPERATOR
from paceline.calendar import BusinessCalendar
from paceline.cli import app
from paceline.config import ConfigError, parse_settings
from paceline.errors import Forbidden, InputError
from paceline.scheduling import job_statuses, latest_slot, next_slot, quiet_until, run_due, units
from paceline.services import preferences, users
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Rep
from paceline.store.schedule import Preference
from schedule_org import (
    CHANNELS,
    SECRET,
    Inbox,
    Receiver,
    build_org,
    config_text,
    http_receiver,
    settings_for,
    smtp_server,
)

MONDAY = dt.datetime(2026, 12, 7)  # 00:00 UTC


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Inbox, int, Receiver]]:
    with smtp_server() as (inbox, port), http_receiver() as receiver:
        monkeypatch.setenv("PACELINE_WEBHOOK_URL", f"http://127.0.0.1:{receiver.port}/hook")
        monkeypatch.setenv("PACELINE_WEBHOOK_SECRET", SECRET)
        yield inbox, port, receiver


def _hours(start: dt.datetime, count: int) -> Iterator[dt.datetime]:
    for h in range(count):
        yield start + dt.timedelta(hours=h)


def _drive(engine: Engine, port: int, inbox: Inbox, receiver: Receiver, start: dt.datetime,
           hours: int) -> None:  # fmt: skip
    settings = settings_for(port)
    for now in _hours(start, hours):
        inbox.hour = receiver.hour = now.strftime("%a %H")
        run_due(engine, settings, now, sleep=lambda _s: None)


@pytest.mark.slow
def test_a_week_of_digests_arrives_once_each_to_the_right_people(
    engine: Engine, receivers: tuple[Inbox, int, Receiver]
) -> None:
    inbox, port, receiver = receivers
    build_org(engine, settings_for(port))
    _drive(engine, port, inbox, receiver, MONDAY, 7 * 24)

    got = Counter((hour, rcpt) for hour, rcpt, _m in inbox.received)
    expected = Counter(
        [(f"{day} 08", "eve@example.com") for day in ("Mon", "Tue", "Thu", "Fri")]
        + [(f"{day} 13", "ana@example.com") for day in ("Mon", "Tue", "Thu", "Fri")]
        + [(f"{day} 14", "ben@example.com") for day in ("Mon", "Tue", "Thu", "Fri")]
        + [("Mon 12", "max@example.com")]
    )
    assert got == expected
    subjects = sorted(str(m["Subject"]) for _h, rcpt, m in inbox.received if rcpt.startswith("ana"))
    assert subjects == [
        "Your day: Ana, Fri 11 Dec 2026",
        "Your day: Ana, Mon 07 Dec 2026",
        "Your day: Ana, Thu 10 Dec 2026",
        "Your day: Ana, Tue 08 Dec 2026",
    ]
    [(_hour, _rcpt, team_mail)] = inbox.to("max@example.com")
    assert team_mail["Subject"] == "Team East: weekly report, week 2026-W49"
    attachments = list(team_mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["team-East-2026-12-07.pdf"]
    assert attachments[0].get_content()[:5] == b"%PDF-"
    assert "Ana" in team_mail.get_body(("plain",)).get_content()

    assert [(c.hour, c.verified) for c in receiver.calls] == [("Mon 07", True)]
    call = receiver.calls[0].json()
    assert call["type"] == "paceline.manager_digest"
    assert (call["data"]["to"], call["data"]["about"]) == ("wes@example.com", "West")
    assert call["data"]["subject"] == "Team West: weekly report, week 2026-W49"


@pytest.mark.slow
def test_a_scheduler_down_for_a_week_catches_up_once_per_job(
    engine: Engine, receivers: tuple[Inbox, int, Receiver]
) -> None:
    """Down from Monday 15:00 to the next Friday 20:00 UTC: each digest job runs once, for
    its latest time (Friday's rep digest, Monday the 14th's team digest), not once a day."""
    inbox, port, receiver = receivers
    build_org(engine, settings_for(port))
    _drive(engine, port, inbox, receiver, MONDAY, 15)
    before = len(inbox.received)
    assert before == 4  # Eve, Max, Ana, Ben (Ben at 14:00)
    _drive(engine, port, inbox, receiver, dt.datetime(2026, 12, 18, 20), 1)
    late = Counter(rcpt for hour, rcpt, _m in inbox.received[before:])
    assert late == Counter(["eve@example.com", "ana@example.com", "ben@example.com",
                            "max@example.com"])  # fmt: skip
    assert {
        str(m["Subject"]) for _h, r, m in inbox.received[before:] if r == "ana@example.com"
    } == {"Your day: Ana, Fri 18 Dec 2026"}
    assert len(receiver.calls) == 2
    _drive(engine, port, inbox, receiver, dt.datetime(2026, 12, 18, 21), 3)
    assert len(inbox.received) == before + 4


@pytest.mark.slow
def test_two_schedulers_racing_on_one_database_send_each_digest_once(
    engine: Engine, receivers: tuple[Inbox, int, Receiver]
) -> None:
    inbox, port, receiver = receivers
    settings = settings_for(port)
    build_org(engine, settings)
    run_due(engine, settings, MONDAY)  # first sight: nothing is due yet
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def scheduler(now: dt.datetime) -> None:
        barrier.wait()
        try:
            run_due(engine, settings, now, sleep=lambda _s: None)
        except BaseException as exc:
            errors.append(exc)

    for hour in (7, 8, 12, 13, 14):
        now = MONDAY + dt.timedelta(hours=hour)
        threads = [threading.Thread(target=scheduler, args=(now,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert Counter(rcpt for _h, rcpt, _m in inbox.received) == Counter(
        ["eve@example.com", "max@example.com", "ana@example.com", "ben@example.com"]
    )
    assert len(receiver.calls) == 1


# --- when ------------------------------------------------------------------------------------


def test_slots_follow_the_zone_the_days_and_the_holidays() -> None:
    settings = settings_for(2525)
    calendar = BusinessCalendar(settings.calendar)
    [morning, monday] = settings.jobs
    from zoneinfo import ZoneInfo

    york, london = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
    # Wednesday the 9th is a holiday: Tuesday's 08:00 New York (13:00 UTC) is the latest.
    wed_noon = dt.datetime(2026, 12, 9, 17)
    assert latest_slot(morning, york, calendar, wed_noon) == dt.datetime(2026, 12, 8, 13)
    assert next_slot(morning, york, calendar, wed_noon) == dt.datetime(2026, 12, 10, 13)
    assert next_slot(morning, london, calendar, wed_noon) == dt.datetime(2026, 12, 10, 8)
    assert next_slot(monday, york, calendar, wed_noon) == dt.datetime(2026, 12, 14, 12)
    # At the slot itself it is due (at or before now).
    assert latest_slot(morning, york, calendar, dt.datetime(2026, 12, 10, 13)) == dt.datetime(
        2026, 12, 10, 13
    )
    # After the end of daylight saving (2026-11-01), 08:00 New York is 13:00 UTC; before, 12:00.
    assert latest_slot(morning, york, calendar, dt.datetime(2026, 10, 30, 12, 30)) == (
        dt.datetime(2026, 10, 30, 12)
    )


def test_quiet_hours_wrap_midnight_and_end_at_their_end() -> None:
    from zoneinfo import ZoneInfo

    york = ZoneInfo("America/New_York")
    night = Preference(quiet_start="22:00", quiet_end="07:00")
    # 23:30 New York on Monday = 04:30 UTC Tuesday: quiet until 07:00 New York = 12:00 UTC.
    assert quiet_until(night, york, dt.datetime(2026, 12, 8, 4, 30)) == dt.datetime(2026, 12, 8, 12)
    # 06:00 New York = 11:00 UTC: quiet until 12:00 UTC the same day.
    assert quiet_until(night, york, dt.datetime(2026, 12, 8, 11)) == dt.datetime(2026, 12, 8, 12)
    # 07:00 New York itself is no longer quiet; 21:59 is not yet.
    assert quiet_until(night, york, dt.datetime(2026, 12, 8, 12)) is None
    assert quiet_until(night, york, dt.datetime(2026, 12, 9, 2, 59)) is None
    assert quiet_until(Preference(), york, dt.datetime(2026, 12, 8, 4)) is None


@pytest.mark.slow
def test_jobs_are_listed_with_their_last_and_next_runs(
    engine: Engine, receivers: tuple[Inbox, int, Receiver]
) -> None:
    inbox, port, receiver = receivers
    settings = settings_for(port)
    build_org(engine, settings)
    _drive(engine, port, inbox, receiver, MONDAY, 14)  # up to Monday 13:00 UTC
    statuses = {s.name: s for s in job_statuses(engine, settings, MONDAY + dt.timedelta(hours=13))}
    morning = statuses["morning"]
    assert morning.last is not None
    assert (morning.last.scope, morning.last.scheduled_for) == (
        "East",
        dt.datetime(2026, 12, 7, 13),
    )
    assert morning.last.outcome == "1 deferred, 1 sent"
    assert morning.next_run == dt.datetime(2026, 12, 8, 8)  # West, Tuesday 08:00 London
    team = statuses["monday_team"]
    assert team.next_run == dt.datetime(2026, 12, 14, 7)
    assert team.last is not None and team.last.status == "done"


# --- the configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jobs", "says"),
    [
        ('[[jobs]]\nname = "x"\nkind = "digest"\nat = "08:00"\n',
         "jobs['x'].kind: Input should be 'rep_digest'"),
        ('[[jobs]]\nname = "x"\nkind = "rep_digest"\nat = "8am"\n', "jobs['x'].at"),
        ('[[jobs]]\nname = "x"\nkind = "rep_digest"\nat = "08:00"\ndays = "mondays"\n',
         "jobs['x'].days"),
        ('[[jobs]]\nname = "x"\nkind = "import"\nat = "02:00"\n', "needs path"),
        ('[[jobs]]\nname = "x"\nkind = "alerts"\nat = "02:00"\ntimezone = "Mars/Base"\n',
         "unknown time zone 'Mars/Base'"),
        ('[[jobs]]\nname = "x"\nkind = "alerts"\nat = "02:00"\n' * 2, "jobs: x defined twice"),
        ('[[jobs]]\nname = "x"\nkind = "alerts"\nat = "02:00"\nwhen = "now"\n', "when"),
    ],
)  # fmt: skip
def test_a_bad_job_is_refused_naming_the_key(jobs: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(config_text(2525, jobs))
    assert says in str(caught.value)


def test_digests_unit_per_team_alerts_and_imports_once(engine: Engine) -> None:
    jobs = (
        '[[jobs]]\nname = "a"\nkind = "alerts"\nat = "17:00"\nchannel = "webhook"\n'
        '[[jobs]]\nname = "m"\nkind = "rep_digest"\nat = "08:00"\n'
    )
    settings = parse_settings(config_text(2525, jobs))
    build_org(engine, settings, with_preferences=False)
    found = sorted((u.job.name, u.scope, str(u.zone)) for u in units(engine, settings))
    assert found == [
        ("a", "", "America/New_York"),
        ("m", "East", "America/New_York"),
        ("m", "West", "Europe/London"),
    ]


# --- preferences ----------------------------------------------------------------------------


def test_preferences_are_checked_and_kept(engine: Engine) -> None:
    settings = settings_for(2525)
    build_org(engine, settings, with_preferences=False)
    now = dt.datetime(2026, 12, 6)
    with pytest.raises(InputError, match="quiet_end: give both or neither"):
        preferences.set_preferences(
            engine, OPERATOR, "ben", {"quiet_start": "22:00"}, CHANNELS, now
        )
    with pytest.raises(InputError, match="quiet_start: '25:00' is not a time"):
        preferences.set_preferences(
            engine, OPERATOR, "ben", {"quiet_start": "25:00", "quiet_end": "07:00"}, CHANNELS, now
        )
    with pytest.raises(InputError, match="channel: unknown channel 'pigeon'"):
        preferences.set_preferences(engine, OPERATOR, "ben", {"channel": "pigeon"}, CHANNELS, now)
    saved = preferences.set_preferences(
        engine, OPERATOR, "Ben", {"quiet_start": "22:00", "quiet_end": "07:00"}, CHANNELS, now
    )
    assert saved == Preference(quiet_start="22:00", quiet_end="07:00")
    again = preferences.set_preferences(engine, OPERATOR, "ben", {"alerts": False}, CHANNELS, now)
    assert again == Preference(alerts=False, quiet_start="22:00", quiet_end="07:00")
    from paceline.auth.access import Principal

    dee = Principal(99, "dee", "rep", None, None)
    with pytest.raises(Forbidden):
        preferences.set_preferences(engine, dee, "ben", {"alerts": True}, CHANNELS, now)


@pytest.mark.slow
def test_the_cli_runs_what_is_due_lists_jobs_and_sets_preferences(
    tmp_path: Path, receivers: tuple[Inbox, int, Receiver]
) -> None:
    inbox, port, _receiver = receivers
    url = f"sqlite:///{tmp_path / 'p.db'}"
    config = tmp_path / "paceline.toml"
    config.write_text(config_text(port), encoding="utf-8")
    engine = make_engine(url)
    upgrade(engine)
    build_org(engine, settings_for(port), with_preferences=False)
    engine.dispose()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["--db", url, "--config", str(config), *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "quiet hours 07:00-09:00" in run("user", "prefs", "ben", "--quiet", "07:00-09:00")
    run("notify", "--due", "--now", "2026-12-07T00:00")
    first = run("notify", "--due", "--now", "2026-12-07T13:00:00+00:00")
    assert "morning (East) 2026-12-07 13:00 UTC: done; sent 1, 1 deferred" in first
    # Seen at midnight, the jobs' earlier times today are caught up at 13:00 (once each):
    # West's 08:00 digests (Dee, Eve: no preferences here), both team digests, and Ana's.
    assert sorted(r for _h, r, _m in inbox.received) == [
        "ana@example.com", "dee@example.com", "eve@example.com", "max@example.com",
        "wes@example.com",
    ]  # fmt: skip
    assert "nothing due" in run("notify", "--due", "--now", "2026-12-07T13:30")
    run("notify", "--due", "--now", "2026-12-07T14:00")
    assert [r for _h, r, _m in inbox.received][-1] == "ben@example.com"
    assert len(inbox.received) == 6
    listed = run("jobs", "list")
    assert "morning" in listed and "monday_team" in listed
    bad = runner.invoke(app, ["--db", url, "--config", str(config), "notify", "--due",
                              "--now", "Monday"])  # fmt: skip
    assert bad.exit_code == 1 and "--now: 'Monday' is not an ISO date and time" in bad.output


ALERT_JOB = """
[[jobs]]
name = "evening_alerts"
kind = "alerts"
at = "17:00"
days = "business"
"""


@pytest.mark.slow
def test_an_alerts_job_follows_preferences_and_sends_once_per_change(
    engine: Engine, receivers: tuple[Inbox, int, Receiver]
) -> None:
    """The org's only activity is Cy's selling call of November 2025, before the year the
    alert looks back over (so selling is recorded: an org that never recorded any is told
    nothing), so every rep (not the managers) stands on "no selling"
    (Ana, Ann, Ben, Cy, Dee, Eve). 17:00 New York is 22:00 UTC, 22:00 in London. Ann (a rep
    added here) turned alerts off; Dee is quiet 21:00-23:00 London time. Expected at 22:00
    UTC: Ana, Ben and Eve their own, Max East's, Wes West's; Dee hers at 23:00 UTC; nothing
    on Tuesday (the alerts still stand, and were sent)."""
    inbox, port, _receiver = receivers
    settings = settings_for(port, ALERT_JOB)
    build_org(engine, settings, with_preferences=False)
    with engine.connect() as conn:
        cy = conn.execute(select(Rep.id).where(Rep.name == "Cy")).scalar_one()
    put_activity(engine, cy, dt.datetime(2025, 11, 3, 17))
    now = dt.datetime(2026, 12, 6)
    preferences.set_preferences(engine, OPERATOR, "dee", {"quiet_start": "21:00",
                                "quiet_end": "23:00"}, CHANNELS, now)  # fmt: skip
    from paceline.services.reps import add_rep

    add_rep(engine, settings, "Ann", "sdr", team="East", email="ann@example.com")
    users.add_user(engine, OPERATOR, "ann", "long enough password", "rep", "Ann")
    preferences.set_preferences(engine, OPERATOR, "ann", {"alerts": False}, CHANNELS, now)

    def drive(start: dt.datetime, hours: int) -> None:
        for at in _hours(start, hours):
            inbox.hour = at.strftime("%a %H")
            run_due(engine, settings, at, sleep=lambda _s: None)

    drive(MONDAY, 24 + 24)  # Monday and Tuesday
    got = sorted((hour, rcpt) for hour, rcpt, _m in inbox.received)
    assert got == [
        ("Mon 22", "ana@example.com"), ("Mon 22", "ben@example.com"),
        ("Mon 22", "eve@example.com"),
        ("Mon 22", "max@example.com"), ("Mon 22", "wes@example.com"),
        ("Mon 23", "dee@example.com"),
    ]  # fmt: skip
    [max_mail] = [m for _h, r, m in inbox.received if r == "max@example.com"]
    body = max_mail.get_body(("plain",)).get_content()
    assert all(name in body for name in ("Ana", "Ann", "Ben", "Cy")) and "Dee" not in body


@pytest.mark.slow
def test_a_failed_digest_is_tried_again_by_the_next_call(
    engine: Engine, receivers: tuple[Inbox, int, Receiver]
) -> None:
    _inbox, port, receiver = receivers
    settings = settings_for(port)
    build_org(engine, settings)
    run_due(engine, settings, MONDAY)
    receiver.fail_next = 1
    [outcome] = run_due(engine, settings, MONDAY + dt.timedelta(hours=7), sleep=lambda _s: None)
    assert (outcome.job, outcome.scope, outcome.status) == ("monday_team", "West", "failed")
    assert "HTTP 500" in outcome.failed[0]
    later = run_due(engine, settings, MONDAY + dt.timedelta(hours=8), sleep=lambda _s: None)
    assert ("monday_team", "retried") in [(o.job, o.status) for o in later]
    assert [c.verified for c in receiver.calls] == [True, True]
    ids = {c.headers["webhook-id"] for c in receiver.calls}
    assert len(ids) == 1  # the same message: a receiver can tell a retry from a new one
    run_due(engine, settings, MONDAY + dt.timedelta(hours=9))
    assert len(receiver.calls) == 2


def test_a_nightly_import_job_imports_the_folder_once_a_night(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.csv").write_text(
        "rep,kind,occurred_at,has_ask\nAna,call,2026-12-07T15:00:00,yes\n"
        "Ana,call,2026-12-07T16:00:00,no\n",
        encoding="utf-8",
    )
    (folder / "b.csv").write_text(
        "rep,kind,occurred_at,has_ask\nBen,call,2026-12-07T15:30:00,yes\n"
        "Ben,call,next Tuesday,yes\n",
        encoding="utf-8",
    )
    jobs = (
        '[[jobs]]\nname = "nightly"\nkind = "import"\nat = "02:00"\ndays = "daily"\n'
        f'path = "{folder}"\n'
    )
    settings = settings_for(2525, jobs)
    build_org(engine, settings, with_preferences=False)
    run_due(engine, settings, MONDAY + dt.timedelta(hours=20))  # first sight
    # 02:00 New York on Tuesday is 07:00 UTC.
    assert run_due(engine, settings, dt.datetime(2026, 12, 8, 6, 59)) == []
    [night] = run_due(engine, settings, dt.datetime(2026, 12, 8, 7))
    assert night.status == "done"
    assert night.detail == (
        "a.csv: 2 new, 0 updated, 0 rejected; b.csv: 1 new, 0 updated, 1 rejected"
    )
    assert (folder / "b.errors.csv").exists()  # beside the file, and not read as input:
    [again] = run_due(engine, settings, dt.datetime(2026, 12, 9, 7))
    assert again.detail == (
        "a.csv: 0 new, 0 updated, 0 rejected; b.csv: 0 new, 0 updated, 1 rejected"
    )
