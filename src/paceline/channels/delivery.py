"""Delivering alerts once per change: who gets which alerts, what is news, retries, the log.

Each run (`paceline alerts --channel email`, or a scheduler later) hands over the current
`AlertReport`. For every recipient of the channel:

- an alert the recipient was already sent and that still stands is not sent again;
- an alert that is new, or whose earlier delivery failed, is sent (all of the recipient's
  such alerts in one message);
- an alert that stood at the last run and no longer does is closed, so if it returns it is
  news again and is sent again.

A message is tried `1 + retries` times, waiting `backoff_seconds`, then twice that, and so
on (the `sleep` is passed in, so tests do not wait); when every try fails the rows are
recorded as failed, with why, and the next run tries again. The time is passed in too
(`now`): this module never reads a clock.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from paceline.analytics.alerts import Alert, AlertReport
from paceline.channels import (
    AlertChannel,
    AlertMessage,
    DeliveryError,
    Recipient,
    Sender,
    merged_by_address,
    redact,
)
from paceline.config import Settings
from paceline.store import deliveries
from paceline.store.deliveries import Key

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Failure:
    recipient: str
    error: str


@dataclass
class DeliveryRun:
    """What one run of a channel did, for the command's summary and for tests."""

    channel: str
    messages: int = 0  # messages that got through
    alerts: int = 0  # alerts in them
    unchanged: int = 0  # alerts already delivered that still stand: not sent again
    cleared: int = 0  # delivered alerts that no longer stand
    failed: list[Failure] = field(default_factory=list)


def alert_key(alert: Alert, period: str) -> Key:
    """An alert's identity: the same rep, metric and rule in the same period."""
    return (alert.rep, alert.metric or "", alert.rule, period)


def deliver_once_per_change(
    engine: Engine,
    settings: Settings,
    channel: AlertChannel,
    report: AlertReport,
    now: dt.datetime,
    sleep: Sleep = time.sleep,
    team: str | None = None,
) -> DeliveryRun:
    """Send `report`'s news through `channel` to each of its recipients (see the module).
    `team`: the report covers only that team, so only its reps' alerts can have cleared."""
    if channel.sender is None:
        raise ValueError(f"the {channel.name} channel does not deliver once per change")
    sender = channel.sender(settings)
    people = [_recipient(p) for p in deliveries.people(engine, report.as_of)]
    run = DeliveryRun(channel.name)
    standing = deliveries.standing(engine, channel.name)
    if team is not None:
        covered = deliveries.team_reps(engine, team)
        standing = {
            address: {key: row for key, row in rows.items() if key[0] in covered}
            for address, rows in standing.items()
        }
    # One recipient per address, whatever the sender returns: two would share one delivery
    # state and clear each other's alerts.
    for recipient in merged_by_address(sender.recipients(people)):
        rows = standing.get(recipient.address, {})
        _deliver_to(engine, channel.name, sender, recipient, rows, report, now, sleep, run)
    return run


def _recipient(person: deliveries.Person) -> Recipient:
    if person.role == "manager":
        teams = frozenset({person.team}) if person.team else frozenset[str]()
        return Recipient(person.address, person.name, "manager", teams=teams)
    reps = frozenset({person.rep}) if person.rep else frozenset[str]()
    return Recipient(person.address, person.name, "rep", reps=reps)


def _deliver_to(
    engine: Engine,
    channel: str,
    sender: Sender,
    recipient: Recipient,
    rows: dict[Key, deliveries.Standing],
    report: AlertReport,
    now: dt.datetime,
    sleep: Sleep,
    run: DeliveryRun,
) -> None:
    current = {alert_key(a, report.period_label): a for a in report.alerts if recipient.wants(a)}
    gone = [row.id for key, row in rows.items() if key not in current]
    deliveries.clear(engine, gone, now)
    run.cleared += sum(
        1 for key, row in rows.items() if key not in current and row.status == "sent"
    )
    retried = {key: rows[key].id for key in current if key in rows and rows[key].status != "sent"}
    fresh = [key for key in current if key not in rows]
    claimed = deliveries.claim(engine, channel, recipient.address, fresh, report.as_of, now)
    sending = {**retried, **claimed}
    run.unchanged += sum(1 for key in current if key in rows and key not in retried)
    if not sending:
        return
    message = AlertMessage(
        recipient=recipient,
        as_of=report.as_of,
        period_label=report.period_label,
        alerts=[alert for key, alert in current.items() if key in sending],
        now=now,
        standing=len(current) - len(sending),
        rules=report.rules,
    )
    attempts, error = send_with_retries(sender, message, sleep)
    deliveries.record_attempts(engine, list(sending.values()), attempts, error, now)
    if error is None:
        run.messages += 1
        run.alerts += len(sending)
    else:
        run.failed.append(Failure(recipient.address, error))


def send_with_retries(
    sender: Sender, message: AlertMessage, sleep: Sleep
) -> tuple[int, str | None]:
    """(attempts made, None) once the message got through; (attempts, why) when none did.
    Only `DeliveryError` and OS-level errors (refused connections, timeouts) are retried; a
    programming error is not a delivery failure and propagates."""
    wait = sender.backoff_seconds
    error = ""
    for attempt in range(1, sender.retries + 2):
        try:
            sender.send(message)
        except (DeliveryError, OSError) as exc:
            error = redact(str(exc) or type(exc).__name__, sender.secrets)
        else:
            return attempt, None
        if attempt <= sender.retries:
            sleep(wait)
            wait *= 2
    return sender.retries + 1, error
