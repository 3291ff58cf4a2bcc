"""Scheduled jobs: when each configured job is due, claiming its run, and carrying it out.

Why a loop over "what is due" and not APScheduler: APScheduler 3's SQLAlchemy job store does
not stop two schedulers sharing it from running the same job (its documentation says a job
store must not be shared), and the scheduler must read time from `paceline.clock` so a test
can drive a week hour by hour. So `paceline notify --due` and `paceline scheduler` both call
`run_due(now)`, which is correct however often, however late and by however many processes
it is called:

- A job's slots are its local time on its days in a zone (a team's for digests). The latest
  slot at or before `now` that is later than the job's last claimed slot is due: a scheduler
  that was down for a week runs each job once, for its latest slot, and never replays the
  week. A job seen for the first time more than `GRACE` after its latest slot starts from its
  next slot (the skipped slot is recorded so).
- A run is claimed by inserting (job, scope, slot) under a unique key before anything is
  done; a second scheduler's insert does nothing and it moves on. A claim carries a lease;
  a run still `running` after its lease was left by a scheduler that died, and the next call
  takes it over.
- Each message of a run is recorded (recipient, what about) before any is sent, then sent
  and marked sent; a run taken over sends only what is not marked sent. A message inside
  its recipient's quiet hours is `deferred` to their end and sent by the first call after.
  A message interrupted between the SMTP server's acceptance and the mark may be sent again
  by the run that takes over (at least once, in that window alone); alerts are claimed per
  alert by `paceline.channels.delivery` as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from paceline import plugins
from paceline.analytics.alerts import Alert, alerts
from paceline.calendar import BusinessCalendar
from paceline.channels import (
    AlertChannel,
    DeliveryError,
    Digest,
    Recipient,
    Sender,
    redact,
)
from paceline.channels.delivery import deliver_once_per_change
from paceline.channels.wording import line as alert_line
from paceline.config import JobSettings, Settings
from paceline.errors import UserInputError
from paceline.ingest.accounting import ImportOptions
from paceline.ingest.importer import import_file
from paceline.reports.render import (
    report_html,
    report_text,
    weekly_message,
    weekly_report,
)
from paceline.store import schedule
from paceline.store.schedule import Member, Preference

GRACE = dt.timedelta(hours=1)
ERRORS_SUFFIX = ".errors.csv"
LOOKBACK_DAYS = 40  # how far back a slot is looked for (holidays, weekly jobs)
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Unit:
    """A job for one scope: a team (digests, a team's alerts) or "" (the organisation)."""

    job: JobSettings
    scope: str
    zone: ZoneInfo


@dataclass
class Outcome:
    """What one call did to one run, for the command's summary and for tests."""

    job: str
    scope: str
    slot: dt.datetime
    status: str  # done / failed / skipped; deferred, retried: held or failed messages sent
    detail: str = ""
    sent: int = 0
    deferred: int = 0
    failed: list[str] = field(default_factory=list)


# --- when ---------------------------------------------------------------------------------------


def runs_on(job: JobSettings, calendar: BusinessCalendar, day: dt.date) -> bool:
    if job.days == "daily":
        return True
    if job.days == "business":
        return calendar.is_business_day(day)
    if job.days == "weekdays":
        return day.weekday() < 5
    return DAY_NAMES[day.weekday()] == job.days


def _slot(job: JobSettings, zone: ZoneInfo, day: dt.date) -> dt.datetime:
    """The job's instant on `day` in `zone`, as naive UTC (a time skipped by a clock change
    is the instant fold 0 maps it to)."""
    local = dt.datetime.combine(day, job.local_time, tzinfo=zone)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def latest_slot(
    job: JobSettings, zone: ZoneInfo, calendar: BusinessCalendar, now: dt.datetime
) -> dt.datetime | None:
    """The job's last scheduled instant at or before `now` (naive UTC)."""
    today = now.replace(tzinfo=dt.UTC).astimezone(zone).date()
    for back in range(LOOKBACK_DAYS):
        day = today - dt.timedelta(days=back)
        if runs_on(job, calendar, day):
            slot = _slot(job, zone, day)
            if slot <= now:
                return slot
    return None


def next_slot(
    job: JobSettings, zone: ZoneInfo, calendar: BusinessCalendar, now: dt.datetime
) -> dt.datetime | None:
    """The job's first scheduled instant after `now` (naive UTC)."""
    today = now.replace(tzinfo=dt.UTC).astimezone(zone).date()
    for ahead in range(LOOKBACK_DAYS):
        day = today + dt.timedelta(days=ahead)
        if runs_on(job, calendar, day):
            slot = _slot(job, zone, day)
            if slot > now:
                return slot
    return None


def team_zone(settings: Settings, team: str | None) -> ZoneInfo:
    zones = {name.casefold(): zone for name, zone in settings.scheduler.team_timezones.items()}
    if team is not None and team.casefold() in zones:
        return ZoneInfo(zones[team.casefold()])
    return settings.calendar.zone


def units(engine: Engine, settings: Settings) -> list[Unit]:
    """Every enabled job, per team for digests (each in its team's zone)."""
    found: list[Unit] = []
    teams: list[str] | None = None
    for job in settings.jobs:
        if not job.enabled:
            continue
        if job.kind in ("rep_digest", "manager_digest"):
            if teams is None:
                teams = schedule.team_names(engine)
            for team in [job.team] if job.team else teams:
                found.append(Unit(job, team, team_zone(settings, team)))
        else:
            zone = ZoneInfo(job.timezone) if job.timezone else settings.calendar.zone
            found.append(Unit(job, job.team or "", zone))
    return found


# --- what is due -----------------------------------------------------------------------------


def run_due(
    engine: Engine, settings: Settings, now: dt.datetime, sleep: Sleep = time.sleep
) -> list[Outcome]:
    """Run every job due at `now` (naive UTC), take over runs whose claimer died, and send
    the deferred messages whose quiet hours are over. Safe to call from any number of
    processes at once (see the module)."""
    calendar = BusinessCalendar(settings.calendar)
    lease = dt.timedelta(minutes=settings.scheduler.lease_minutes)
    last = schedule.last_slots(engine)
    outcomes: list[Outcome] = []
    by_key = {(u.job.name, u.scope): u for u in units(engine, settings)}
    for job, scope, stale in schedule.stale_runs(engine, now):
        found = by_key.get((job, scope))
        taken = schedule.claim_run(engine, job, scope, stale, now, lease) if found else None
        if found is not None and taken is not None:
            outcomes.append(_carry_out(engine, settings, found, taken, now, sleep))
    for unit in by_key.values():
        slot = latest_slot(unit.job, unit.zone, calendar, now)
        previous = last.get((unit.job.name, unit.scope))
        if slot is None or (previous is not None and slot <= previous):
            continue
        if previous is None and now - slot > GRACE:
            why = "first seen after this time: runs from its next time"
            if schedule.claim_run(
                engine, unit.job.name, unit.scope, slot, now, lease, "skipped", why
            ):
                outcomes.append(Outcome(unit.job.name, unit.scope, slot, "skipped", why))
            continue
        run = schedule.claim_run(engine, unit.job.name, unit.scope, slot, now, lease)
        if run is not None:
            outcomes.append(_carry_out(engine, settings, unit, run, now, sleep))
    outcomes += _send_deferred(engine, settings, by_key, now, sleep)
    return outcomes


def _carry_out(
    engine: Engine,
    settings: Settings,
    unit: Unit,
    run: schedule.Run,
    now: dt.datetime,
    sleep: Sleep,
) -> Outcome:
    outcome = Outcome(unit.job.name, unit.scope, run.scheduled_for, "done")
    try:
        if unit.job.kind == "import":
            outcome.detail = _import(engine, settings, unit.job)
        elif unit.job.kind == "sync":
            outcome.detail, failure = _sync(engine, settings, unit.job)
            if failure:
                outcome.status = "failed"
                outcome.failed.append(failure)
        else:
            if not run.resumed:
                _plan(engine, settings, unit, run, now)
            for item in schedule.items_to_send(engine, now, run.id):
                _send_item(engine, settings, unit, item, now, sleep, outcome)
            counts = schedule.items_of_run(engine, run.id)
            outcome.deferred = counts.get("deferred", 0)
            outcome.detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            if outcome.failed:
                outcome.status = "failed"
    except (UserInputError, DeliveryError) as exc:  # a channel not configured, a bad path
        outcome.status, outcome.detail = "failed", str(exc)
        outcome.failed.append(str(exc))
    except Exception as exc:  # recorded on the run, then raised: a bug is not hidden
        schedule.finish_run(engine, run.id, "failed", f"{type(exc).__name__}: {exc}", now)
        raise
    schedule.finish_run(engine, run.id, outcome.status, outcome.detail or "nothing to send", now)
    return outcome


def _send_deferred(
    engine: Engine, settings: Settings, by_key: dict[tuple[str, str], Unit], now: dt.datetime,
    sleep: Sleep,
) -> list[Outcome]:  # fmt: skip
    outcomes: list[Outcome] = []
    for item in schedule.items_to_send(engine, now):
        job, scope, slot = schedule.run_of(engine, item.run_id)
        unit = by_key.get((job, scope))
        if unit is None or not schedule.take_item(engine, item.id, item.status):
            continue
        outcome = Outcome(job, scope, slot, "retried" if item.status == "failed" else "deferred")
        _send_item(engine, settings, unit, item, now, sleep, outcome)
        outcomes.append(outcome)
    return outcomes


# --- who gets what ------------------------------------------------------------------------------


def _local(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC).astimezone(zone)


def quiet_until(preference: Preference, zone: ZoneInfo, now: dt.datetime) -> dt.datetime | None:
    """The end of the quiet hours `now` falls in (naive UTC), or None when it is not quiet.
    Quiet hours may wrap midnight: 22:00 to 07:00 is quiet at 23:30 and at 06:00."""
    if preference.quiet_start is None or preference.quiet_end is None:
        return None
    local = _local(now, zone)
    start = dt.time.fromisoformat(preference.quiet_start)
    end = dt.time.fromisoformat(preference.quiet_end)
    clock_time = local.time().replace(tzinfo=None)
    if start < end:
        quiet = start <= clock_time < end
        end_day = local.date()
    else:
        quiet = clock_time >= start or clock_time < end
        end_day = local.date() + dt.timedelta(days=1 if clock_time >= start else 0)
    if not quiet:
        return None
    ends = dt.datetime.combine(end_day, end, tzinfo=zone)
    return ends.astimezone(dt.UTC).replace(tzinfo=None)


def _audience(engine: Engine, unit: Unit, as_of: dt.date) -> Iterator[tuple[Member, str]]:
    """(member, what the message is about) for a digest unit, by the members' preferences."""
    for member in schedule.members(engine, as_of):
        if member.team is None or member.team.casefold() != unit.scope.casefold():
            continue
        kind, role, wanted = unit.job.kind, member.role, member.preference
        if kind == "rep_digest" and role == "rep" and wanted.rep_digest:
            yield member, member.name
        elif kind == "manager_digest" and role == "manager" and wanted.manager_digest:
            yield member, unit.scope


def _plan(
    engine: Engine, settings: Settings, unit: Unit, run: schedule.Run, now: dt.datetime
) -> None:
    """Record the run's messages before any is sent: pending, or deferred to the end of the
    recipient's quiet hours."""
    local_day = _local(run.scheduled_for, unit.zone).date()
    items: list[tuple[str, str, str, str, dt.datetime]] = []
    if unit.job.kind == "alerts":
        items.append(("*", "alerts", unit.job.channel, "pending", now))
        chosen = plugins.alert_channel(unit.job.channel)
        to_people = chosen.sender is not None and chosen.sender(settings).audience == "people"
        for member in _alert_people(engine, unit, local_day) if to_people else []:
            until = quiet_until(member.preference, team_zone(settings, member.team), now)
            if until is not None:
                items.append(
                    (member.address.lower(), "alerts", unit.job.channel, "deferred", until)
                )
    else:
        for member, about in _audience(engine, unit, local_day):
            channel = member.preference.channel or unit.job.channel
            until = quiet_until(member.preference, unit.zone, now)
            status, when = ("deferred", until) if until is not None else ("pending", now)
            items.append((member.address.lower(), about, channel, status, when))
    schedule.plan_items(engine, run.id, items)


def _alert_people(engine: Engine, unit: Unit, as_of: dt.date) -> list[Member]:
    team = unit.scope.casefold() or None
    return [
        m
        for m in schedule.members(engine, as_of)
        if m.preference.alerts and (team is None or (m.team or "").casefold() == team)
    ]


# --- sending -----------------------------------------------------------------------------------


def _send_item(
    engine: Engine,
    settings: Settings,
    unit: Unit,
    item: schedule.Item,
    now: dt.datetime,
    sleep: Sleep,
    outcome: Outcome,
) -> None:
    _job, _scope, slot = schedule.run_of(engine, item.run_id)
    local_day = _local(slot, unit.zone).date()
    channel = plugins.alert_channel(item.channel)
    if channel.sender is None:
        raise DeliveryError(f"the {channel.name} channel cannot send scheduled messages")
    sender = channel.sender(settings)
    if unit.job.kind == "alerts":
        _send_alerts(engine, settings, unit, item, channel, local_day, now, sleep, outcome)
        return
    digest = _digest(engine, settings, unit, item, local_day, now)
    send = getattr(sender, "send_digest", None)
    if send is None:
        raise DeliveryError(f"the {channel.name} channel cannot carry digests")
    attempts, error = _with_retries(lambda: send(digest), sender, sleep)
    schedule.record_item(engine, item.id, attempts, error, now)
    if error is None:
        outcome.sent += 1
    else:
        outcome.failed.append(f"{item.recipient}: {error}")


def _with_retries(call: Callable[[], None], sender: Sender, sleep: Sleep) -> tuple[int, str | None]:
    wait, error = sender.backoff_seconds, ""
    for attempt in range(1, sender.retries + 2):
        try:
            call()
        except (DeliveryError, OSError) as exc:
            error = redact(str(exc) or type(exc).__name__, sender.secrets)
        else:
            return attempt, None
        if attempt <= sender.retries:
            sleep(wait)
            wait *= 2
    return sender.retries + 1, error


def _member(engine: Engine, address: str, as_of: dt.date) -> Member | None:
    for member in schedule.members(engine, as_of):
        if member.address.lower() == address:
            return member
    return None


def _digest(
    engine: Engine,
    settings: Settings,
    unit: Unit,
    item: schedule.Item,
    local_day: dt.date,
    now: dt.datetime,
) -> Digest:
    member = _member(engine, item.recipient, local_day)
    name = member.name if member else None
    recipient = Recipient(
        item.recipient, name, "rep" if unit.job.kind == "rep_digest" else "manager"
    )
    seed = f"{unit.job.name}|{unit.scope}|{local_day}|{item.recipient}|{item.subject}"
    key = "dig_" + hashlib.sha256(seed.encode()).hexdigest()[:32]
    if unit.job.kind == "manager_digest":
        message = weekly_message(engine, settings, "team", item.subject, None, local_day)
        attachment = None
        if item.channel == "email":
            attachment = (f"team-{item.subject}-{local_day}.pdf", message.pdf)
        return Digest(
            unit.job.kind, recipient, item.subject, message.subject, message.html,
            message.text, now, key, attachment,
        )  # fmt: skip
    report = weekly_report(engine, settings, "rep", item.subject, local_day, local_day)
    found = [
        a for a in alerts(engine, settings, local_day, unit.scope).alerts if a.rep == item.subject
    ]
    subject = f"Your day: {item.subject}, {local_day:%a %d %b %Y}"
    text = _alerts_text(found) + report_text(settings, report)
    page = report_html(settings, report, charts_too=False)
    at = page.find("<body")
    close = page.index(">", at) + 1 if at >= 0 else 0
    page = page[:close] + _alerts_html(found) + page[close:]
    return Digest(unit.job.kind, recipient, item.subject, subject, page, text, now, key)


def _alerts_text(found: list[Alert]) -> str:
    if not found:
        return "No alerts today.\n\n"
    return "Alerts:\n" + "".join(f"- {alert_line(a)}\n" for a in found) + "\n"


def _alerts_html(found: list[Alert]) -> str:
    if not found:
        return "<p>No alerts today.</p>"
    items = "".join(f"<li>{html.escape(alert_line(a))}</li>" for a in found)
    return f"<p><strong>Alerts</strong></p><ul>{items}</ul>"


def _send_alerts(
    engine: Engine,
    settings: Settings,
    unit: Unit,
    item: schedule.Item,
    channel: AlertChannel,
    local_day: dt.date,
    now: dt.datetime,
    sleep: Sleep,
    outcome: Outcome,
) -> None:
    """The run's alerts, once per change, to everyone but those who opted out or are in
    quiet hours (`item.recipient` "*"), or to one person whose quiet hours are over."""
    people = {m.address.lower(): m for m in schedule.members(engine, local_day)}
    only = None if item.recipient == "*" else item.recipient

    def keep(r: Recipient) -> bool:
        member = people.get(r.address.lower())
        if only is not None:
            return r.address.lower() == only
        if member is None:
            return r.role == "everyone"
        zone = team_zone(settings, member.team)
        return member.preference.alerts and quiet_until(member.preference, zone, now) is None

    assert channel.sender is not None
    inner = channel.sender

    def filtered(s: Settings) -> Sender:
        return _Filtered(inner(s), keep)

    report = alerts(engine, settings, local_day, unit.scope or None)
    wrapped = dataclasses.replace(channel, sender=filtered)
    run = deliver_once_per_change(engine, settings, wrapped, report, now, sleep, unit.scope or None)
    error = "; ".join(f"{f.recipient}: {f.error}" for f in run.failed) or None
    schedule.record_item(engine, item.id, 1, error, now)
    outcome.sent += run.messages
    outcome.failed += [f"{f.recipient}: {f.error}" for f in run.failed]


@dataclass(frozen=True)
class _Filtered:
    """A channel's sender whose recipients are narrowed by the users' preferences."""

    inner: Sender
    keep: Callable[[Recipient], bool]

    @property
    def audience(self):  # type: ignore[no-untyped-def]
        return self.inner.audience

    @property
    def retries(self) -> int:
        return self.inner.retries

    @property
    def backoff_seconds(self) -> float:
        return self.inner.backoff_seconds

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.inner.secrets

    def recipients(self, people: list[Recipient]) -> list[Recipient]:
        return [r for r in self.inner.recipients(people) if self.keep(r)]

    def send(self, message):  # type: ignore[no-untyped-def]
        self.inner.send(message)


def _import(engine: Engine, settings: Settings, job: JobSettings) -> str:
    assert job.path is not None
    path = Path(job.path)
    if path.is_dir():
        files = sorted(f for f in path.glob("*.csv") if not f.name.endswith(ERRORS_SUFFIX))
    elif path.exists():
        files = [path]
    else:
        raise UserInputError(f"jobs.{job.name}.path: {path} does not exist")
    if not files:
        return f"no CSV files in {path}"
    parts = []
    for file in files:
        # Rejected rows go beside the file, never into the next night's folder listing.
        errors = file.with_name(file.stem + ERRORS_SUFFIX)
        options = ImportOptions(errors_path=errors)
        result = import_file(engine, settings, file, job.entity, options=options)
        parts.append(
            f"{file.name}: {result.inserted} new, {result.updated} updated, "
            f"{result.rejected} rejected"
        )
    return "; ".join(parts)


def _sync(engine: Engine, settings: Settings, job: JobSettings) -> tuple[str, str | None]:
    """One `paceline sync SOURCE` (see `paceline.ingest.sync`): what it did, and why it
    failed when it did (the run is then `failed`; the next run fetches the same changes)."""
    from paceline.ingest.sync import run_sync

    assert job.source is not None
    connector = plugins.sync_connector(job.source)
    result = run_sync(engine, settings, connector, plugins.import_source, job.full)
    totals = result.totals()
    detail = (
        f"{job.source}: {result.fetched} fetched, {totals['inserted']} new, "
        f"{totals['updated']} updated, {totals['rejected']} rejected"
    )
    if result.failure:
        return f"{detail}; failed: {result.failure}", result.failure
    return detail, None


def personal_channels() -> list[str]:
    """Channels a person may choose for their digests: every channel with a sender."""
    return sorted(name for name, ch in plugins.alert_channels().items() if ch.sender)


# --- the jobs page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    """A configured job with its last run and its next time, for `jobs list` and `/jobs`."""

    name: str
    kind: str
    at: str
    days: str
    channel: str
    enabled: bool
    last: schedule.RunRecord | None
    next_run: dt.datetime | None  # naive UTC, the soonest over the job's scopes


def job_statuses(engine: Engine, settings: Settings, now: dt.datetime) -> list[JobStatus]:
    calendar = BusinessCalendar(settings.calendar)
    latest = schedule.latest_runs(engine)
    all_units = units(engine, settings)
    found = []
    for job in settings.jobs:
        nexts = [
            n
            for u in all_units
            if u.job.name == job.name
            for n in [next_slot(job, u.zone, calendar, now)]
            if n is not None
        ]
        found.append(
            JobStatus(
                job.name,
                job.kind,
                job.at,
                job.days,
                job.channel,
                job.enabled,
                latest.get(job.name),
                min(nexts) if nexts else None,
            )
        )
    return found
