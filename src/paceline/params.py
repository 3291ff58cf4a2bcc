"""The query parameters the HTTP faces share: one rule per parameter, for the API, the pages
and their downloads alike.

A page that fell back to a default on a value it did not know (the leaderboard ranked by count
on `by=bogus`, while its download and the API refused it) showed a manager another ranking than
the one asked for, with no sign. Here each parameter is defined once: the allowed values (the
analyses' own types, which the API declares as its parameter types, so its OpenAPI description
lists them) and the limits of what one request may ask. A value outside the rule is a
`BadParameter` naming the field, the value and what is allowed; only an *absent* parameter
takes the default (on a page, a blank one too: a form's empty field means "not given").

Below the faces and knowing nothing of HTTP: the API turns the error into its 422 naming
`["query", field]`, a page into a 422 page with a link to itself with its defaults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from paceline.analytics.forecast import FORECAST_PERIODS
from paceline.analytics.leaderboard import ALL_ROLES, LEADERBOARD_PERIODS, RANK_BY
from paceline.analytics.scorecard import SCORECARD_PERIODS
from paceline.analytics.tipping import MAX_LAG
from paceline.config import Settings
from paceline.errors import BadParameter
from paceline.ingest.entities import slug

__all__ = ["BadParameter"]

T = TypeVar("T", bound=str)

# What one request may ask of the forecast's simulation, on the API and the pages alike (the
# CLI allows the analysis's own limits): more would hold a server worker for minutes.
MIN_SERVED_RUNS = 100  # fewer runs give quantiles too coarse to show
MAX_SERVED_RUNS = 20_000
MAX_SEED = 2**63 - 1  # the simulation's seed: a signed 64-bit integer
MAX_SERVED_PERIODS = 24

# The days a request may name (`as_of`, `week`, a list's dates): a year 20000 is a typing slip.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)


def given(text: str | None) -> str | None:
    """The value as given, or None when absent or blank (a form's empty field)."""
    if text is None or not text.strip():
        return None
    return text.strip()


@dataclass(frozen=True)
class Choice(Generic[T]):
    """A parameter that takes one of a fixed set of words (a period, a ranking)."""

    field: str
    allowed: tuple[T, ...]

    def parse(self, text: str | None, default: T) -> T:
        value = given(text)
        if value is None:
            return default
        for known in self.allowed:
            if known == value:
                return known
        raise BadParameter(self.field, value, "one of " + ", ".join(self.allowed))


def one_of(field: str, text: str | None, allowed: Sequence[str]) -> str | None:
    """A parameter whose values are configured (a metric, a role): the stored spelling, None
    when absent; anything else a `BadParameter` listing the configured values."""
    value = given(text)
    if value is None or value in allowed:
        return value
    raise BadParameter(field, value, "one of " + ", ".join(allowed))


@dataclass(frozen=True)
class Number:
    """A whole-number parameter within the limits of one request."""

    field: str
    low: int
    high: int

    @property
    def allowed(self) -> str:
        return f"a whole number from {self.low:,} to {self.high:,}"

    def parse(self, text: str | None) -> int | None:
        """The number, or None when absent (the caller's default)."""
        value = given(text)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise BadParameter(self.field, value, self.allowed) from None
        if not self.low <= number <= self.high:
            raise BadParameter(self.field, value, self.allowed)
        return number


def day(field: str, text: str | None) -> dt.date | None:
    """A day written YYYY-MM-DD between EARLIEST and LATEST (the API's `Day`), None when
    absent."""
    value = given(text)
    if value is None:
        return None
    allowed = f"a day written YYYY-MM-DD, from {EARLIEST} to {LATEST}"
    try:
        found = dt.date.fromisoformat(value)
    except ValueError:
        raise BadParameter(field, value, allowed) from None
    if not EARLIEST <= found <= LATEST:
        raise BadParameter(field, value, allowed)
    return found


SCORECARD_PERIOD = Choice("period", SCORECARD_PERIODS)
LEADERBOARD_PERIOD = Choice("period", LEADERBOARD_PERIODS)
FORECAST_PERIOD = Choice("period", FORECAST_PERIODS)
RANK = Choice("by", RANK_BY)
BACKTEST = Choice("backtest", ("0", "1"))  # the forecast page's replay, asked for by its link

RUNS = Number("runs", MIN_SERVED_RUNS, MAX_SERVED_RUNS)
SEED = Number("seed", 0, MAX_SEED)
PERIODS = Number("periods", 1, MAX_SERVED_PERIODS)

LAG = Number("lag", 0, MAX_LAG)  # the tipping point's weeks from activity to outcome

# The TV board (a session's and a kiosk link's): seconds between refreshes, rows per page, and
# the page shown (pages rotate, so a number past the last wraps round).
TV_REFRESH = Number("refresh", 10, 3600)
TV_TOP = Number("top", 3, 40)
TV_PAGE = Number("page", 1, 10_000)


# --- the leaderboard's configured words ---------------------------------------------------

BOARD_METRIC = "meetings_set"  # the board shown without a `metric`, when configured


def board_metric(settings: Settings, text: str | None) -> str:
    """The metric a board ranks on: one of the configured metrics; absent, `meetings_set`
    (else the first configured), on the page, its TV view and its download alike."""
    names = [m.name for m in settings.metrics]
    chosen = one_of("metric", text, names)
    if chosen is not None:
        return chosen
    return BOARD_METRIC if BOARD_METRIC in names else names[0]


def board_role(settings: Settings, text: str | None) -> str | None:
    """Only this role's reps (`all`: every role ranked together); None: each role apart."""
    return one_of("role", text, [*sorted(settings.role_names), ALL_ROLES])


# --- the delivery log's channel --------------------------------------------------------------


def delivery_channel(text: str | None, channels: Iterable[str]) -> str | None:
    """The channel the delivery log is narrowed to: one of `channels` (the faces pass those
    that exist, built-in or a plugin's, and those the log records), None when absent. Free
    text narrowed the log to nothing, a page that read "Nothing delivered yet"."""
    return one_of("channel", text, sorted(set(channels)))


# --- the activity list's filters ------------------------------------------------------------

MAX_ID = 2**63 - 1
REP_ID = Number("rep", 1, MAX_ID)  # the pages' rep filter (and the log form's) is the rep's id


def record_id(field: str) -> Number:
    """A record's id in a query (the activity just logged, saved or restored)."""
    return Number(field, 1, MAX_ID)


AUDIT_PAGE = Number("page", 1, 10_000_000)  # the audit log's page


def activity_kind(settings: Settings, text: str | None) -> str | None:
    """A kind to list (written as any import writes it, "Phone Call" for `phone_call`): one
    of the configured kinds, None when absent; an unknown one is refused, never an empty list
    that looks like "nothing there"."""
    value = given(text)
    if value is None:
        return None
    if slug(value) in settings.kind_names:
        return slug(value)
    raise BadParameter("kind", value, "one of " + ", ".join(sorted(settings.kind_names)))
