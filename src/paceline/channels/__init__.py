"""Alert channels: where an alert report goes once the analysis has made it.

The analysis (`paceline.analytics.alerts`) decides who is behind; a channel only delivers
that report, so every channel tells the same story. Channels come from plugins
(`register_alert_channels`); the console output of `paceline alerts` is the built-in one.

A channel is one of two kinds:

- `deliver(report, settings)`: the whole report, every time it is asked (the console, a
  file). Nothing is remembered.
- `sender(settings)`: a `Sender` that sends one `AlertMessage` to one `Recipient`. Paceline
  then delivers each alert once per change (`paceline.channels.delivery`): it works out who
  receives which alerts, sends only the alerts a recipient has not had yet, retries with
  backoff, and records every delivery in the database, which is the delivery log. E-mail,
  Slack, Teams and the signed webhook are of this kind.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from paceline.errors import UserInputError

if TYPE_CHECKING:  # hints only: loading the plugins must not load the analyses (SciPy), nor
    # the configuration's and the channels' Pydantic models (every `paceline --help` lists
    # the plugins)
    from pydantic import BaseModel

    from paceline.analytics.alerts import Alert, AlertReport
    from paceline.config import Settings

Deliver = Callable[["AlertReport", "Settings"], None]
Audience = Literal["people", "destination"]


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to and whose alerts they get.

    `address` is an e-mail address, or for a webhook a label of its destination (never the
    URL, which is a secret for Slack and Teams). `reps`/`teams`: the reps, or the teams, whose
    alerts this recipient receives; both None: every alert (a chat channel, RevOps)."""

    address: str
    name: str | None = None
    role: Literal["rep", "manager", "everyone"] = "everyone"
    reps: frozenset[str] | None = None
    teams: frozenset[str] | None = None

    def wants(self, alert: Alert) -> bool:
        if self.reps is None and self.teams is None:
            return True
        return (self.reps is not None and alert.rep in self.reps) or (
            self.teams is not None and alert.team in self.teams
        )


@dataclass(frozen=True)
class AlertMessage:
    """What one recipient is sent in one run: the alerts they have not had yet."""

    recipient: Recipient
    as_of: dt.date
    period_label: str
    alerts: list[Alert]
    now: dt.datetime  # when it is sent (naive UTC, from the clock the caller passed in)
    standing: int = 0  # the recipient's other alerts, already sent and still standing
    rules: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Digest:
    """A scheduled digest for one person or destination: a report already formatted (the
    scheduler renders it; a channel only carries it). `key` is the same for every retry and
    every scheduler of one message (a webhook receiver's idempotency key)."""

    kind: str  # rep_digest / manager_digest
    recipient: Recipient
    about: str  # the rep or team it is about
    subject: str
    html: str
    text: str
    now: dt.datetime  # naive UTC
    key: str
    attachment: tuple[str, bytes] | None = None  # (file name, PDF)


class DeliveryError(Exception):
    """A message that did not get through; the text is recorded in the delivery log, so it
    must never hold a secret (a password, a webhook URL with its token)."""


class Sender(Protocol):
    """A configured channel that sends one message at a time (see the module docstring)."""

    @property
    def audience(self) -> Audience:
        """ "people": one message per person (their e-mail addresses from the store);
        "destination": one message to `destination()` (a chat, a webhook)."""
        ...

    @property
    def retries(self) -> int:
        """Further attempts after a failed one, within one run."""
        ...

    @property
    def backoff_seconds(self) -> float:
        """The wait before the first retry; each next wait doubles."""
        ...

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values to blank out of any error text before it is printed or stored."""
        ...

    def recipients(self, people: list[Recipient]) -> list[Recipient]:
        """Who receives messages: for "people", chosen among those the store knows."""
        ...

    def send(self, message: AlertMessage) -> None:
        """Send one message, or raise `DeliveryError` saying why not."""
        ...


@dataclass(frozen=True)
class AlertChannel:
    """A named way to deliver alerts: `deliver(report, settings)` sends the whole report
    (which may hold no alerts: a channel decides whether "nothing to report" is news);
    `sender(settings)` makes a `Sender`, delivered once per change (see the module)."""

    name: str
    description: str
    deliver: Deliver | None = None
    sender: Callable[[Settings], Sender] | None = None


M = TypeVar("M", bound="BaseModel")


def merged_by_address(recipients: list[Recipient]) -> list[Recipient]:
    """One recipient per address (any case): a manager who is also a rep gets one message
    with their own alerts and their team's, and one delivery state, not two that disagree."""
    merged: dict[str, Recipient] = {}
    for r in recipients:
        key = r.address.strip().lower()
        seen = merged.get(key)
        if seen is None:
            merged[key] = Recipient(key, r.name, r.role, r.reps, r.teams)
            continue
        everyone = seen.role == "everyone" or r.role == "everyone"
        merged[key] = Recipient(
            key,
            seen.name or r.name,
            "everyone" if everyone else ("manager" if "manager" in (seen.role, r.role) else "rep"),
            None if everyone else _union(seen.reps, r.reps),
            None if everyone else _union(seen.teams, r.teams),
        )
    return list(merged.values())


def _union(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None and b is None:
        return None
    return (a or frozenset()) | (b or frozenset())


def plugin_settings(settings: Settings, name: str, model: type[M]) -> M:
    """The channel's `[plugins.NAME]` table, checked; an error names the key and why."""
    from pydantic import ValidationError

    table = settings.plugins.get(name)
    if table is None:
        raise UserInputError(f"the {name} channel needs a [plugins.{name}] table in paceline.toml")
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        problems = "; ".join(
            f"[plugins.{name}].{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise UserInputError(problems) from None


def secret_from_env(variable: str, what: str) -> str:
    """A secret read from the environment variable the configuration names, never from the
    file; missing: an error naming the variable (and never a value)."""
    value = os.environ.get(variable, "")
    if not value:
        raise UserInputError(f"{what}: set the environment variable {variable}")
    return value


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret replaced by `***`."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
