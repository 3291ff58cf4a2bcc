"""Settings: `paceline.toml` loaded into validated, typed objects.

Configuration is data, not code: every rule a company may want to change (kinds, the Ask rule,
metrics, roles, funnel, calendar) is declared here and validated up front, so a typo fails at
start-up with the key's path instead of silently counting the wrong thing later.
"""

# Annotations are evaluated as the classes are made (no `from __future__ import annotations`):
# Pydantic would otherwise compile each field's annotation string back into a type when it
# builds the models at import, which every command that reads the configuration pays.

import datetime as dt
import os
import re
import threading
import tomllib
from collections.abc import Callable, Hashable
from collections.abc import Set as AbstractSet
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

CONFIG_FILE_NAME = "paceline.toml"
DEFAULT_DB_URL = "sqlite:///paceline.db"

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DealStatus = Literal["open", "won", "lost"]
MetricSource = Literal["activities", "deals"]
# What a metric's number is, so every face prints it right: a count, money, a percentage (a
# share: 0.17 is 17%), a plain ratio ("2.4 per"), minutes or days.
Unit = Literal["count", "currency", "percent", "ratio", "minutes", "days"]
DEFAULT_WORK_DAYS: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]


# Default factories are Python functions, not `list`, `dict` or a bound `.copy`: Pydantic asks
# `inspect.signature` whether a factory takes the validated data, which for a builtin means
# parsing its text signature (tokenize and ast, once per field), a few percent of every
# command's start-up (`paceline log`).
def _empty_list() -> list[Any]:
    return []


def _empty_dict() -> dict[str, Any]:
    return {}


def _work_days() -> list[Weekday]:
    return DEFAULT_WORK_DAYS.copy()


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The ceiling (20 connections a process) kept open once reached: a connection opened beyond
# pool_size (an overflow) is closed when it is returned while the pool is full, so a server
# whose load hovers about pool_size opened and closed PostgreSQL backends all the time (each
# a new server process, its statements unprepared again); the ceiling was 10 + 10.
POOL_SIZE = 20
MAX_OVERFLOW = 0
POOL_TIMEOUT_S = 10.0


class DatabaseSettings(_Strict):
    url: str = DEFAULT_DB_URL
    # A read replica of `url` (PostgreSQL streaming replication) the analyses read from, while
    # writes and the aggregates' refresh go to `url`; none by default (everything on `url`).
    read_url: str | None = None
    # Each process's connection pool; when no connection frees up within pool_timeout
    # seconds the request is answered 503 with Retry-After rather than queued indefinitely.
    pool_size: int = Field(POOL_SIZE, ge=1, le=1000)
    max_overflow: int = Field(MAX_OVERFLOW, ge=0, le=1000)
    pool_timeout: float = Field(POOL_TIMEOUT_S, gt=0, le=600)

    def pool(self) -> dict[str, Any]:
        """The pool's settings as `store.engine.make_engine` takes them."""
        return {
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.pool_timeout,
        }


class CliSettings(_Strict):
    # Whom `paceline log` logs for without --rep (after $PACELINE_REP): a rep's own machine.
    default_rep: str | None = None


class CalendarSettings(_Strict):
    timezone: str = "UTC"
    work_days: list[Weekday] = Field(default_factory=_work_days)
    # A country's public holidays for every year (the `holidays` package, ISO 3166 code) and
    # optionally one of its subdivisions; None: only the days listed in `holidays`.
    holiday_country: str | None = Field(default=None, pattern=r"^[A-Z]{2,3}$")
    holiday_subdivision: str | None = Field(default=None, min_length=1)
    holidays: list[dt.date] = Field(default_factory=_empty_list)
    # Country holidays the company works: ISO dates, or names as the `holidays` package spells
    # them ("Columbus Day"; a name also covers its "(observed)" day).
    work_on: list[str] = Field(default_factory=_empty_list)
    # Country holidays whose next day is off too, every year (the day after Thanksgiving, which
    # no federal calendar has): a rule, where a list of dates runs out.
    day_after: list[str] = Field(default_factory=_empty_list)
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("work_days")
    @classmethod
    def _some_work_days(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one work day is needed")
        if len(set(value)) != len(value):
            raise ValueError("work days are listed twice")
        return value

    @model_validator(mode="after")
    def _holiday_rules_agree(self) -> Self:
        if self.holiday_subdivision is not None and self.holiday_country is None:
            raise ValueError("holiday_subdivision needs a holiday_country")
        if self.work_on and self.holiday_country is None:
            raise ValueError("work_on removes country holidays: it needs a holiday_country")
        if self.day_after and self.holiday_country is None:
            raise ValueError("day_after names country holidays: it needs a holiday_country")
        both = sorted(self.holiday_set & self.worked_dates)
        if both:
            raise ValueError(
                f"{both[0].isoformat()} is both in holidays and in work_on; keep it in one"
            )
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def work_weekdays(self) -> frozenset[int]:
        """Python weekday numbers (Monday = 0) that are work days."""
        return frozenset(WEEKDAYS.index(d) for d in self.work_days)

    @cached_property
    def holiday_set(self) -> frozenset[dt.date]:
        """The days off listed by date (`holidays`), without the country's."""
        return frozenset(self.holidays)

    @cached_property
    def worked_dates(self) -> frozenset[dt.date]:
        """The `work_on` entries that are dates (the rest are holiday names)."""
        return frozenset(_iso_date(entry) for entry in self.work_on if _ISO_DATE.match(entry))

    @cached_property
    def worked_names(self) -> frozenset[str]:
        """The `work_on` entries that are holiday names."""
        return frozenset(entry for entry in self.work_on if not _ISO_DATE.match(entry))


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(text: str) -> dt.date:
    """An ISO date of `work_on`; a date-shaped entry that is no date is refused, not taken
    for a holiday name that would never match."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"work_on: {text!r} is not a valid date") from exc


class SellingSettings(_Strict):
    require_ask: bool = True


class MoneySettings(_Strict):
    """`[money]`: the currency the team counts money in.

    Amounts in different currencies cannot be added, and Paceline converts none: an amount
    marked with another currency ("1.000,00 €", "JPY 100000") or a CRM deal whose currency
    code differs is refused at import. None: any one currency, but not a mix in one import."""

    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")  # ISO 4217, e.g. "USD"


class KindSettings(_Strict):
    name: Name
    label: str = ""
    selling: bool = False


class OutcomeSettings(_Strict):
    name: Name
    label: str = ""
    connected: bool = False
    engaged: bool = False
    # The kinds of activity this outcome can follow (None: any); an admin task cannot set a
    # meeting. `implies_ask`: the outcome exists only because the rep asked (a meeting set),
    # so an activity with it has an Ask.
    kinds: list[Name] | None = None
    implies_ask: bool = False


class ActivityRules(_Strict):
    """Limits on what an activity can plausibly be, checked on every write."""

    # Days after now an activity may be dated (a logged call at 23:00 in another zone,
    # a meeting logged the evening before): beyond that it is a typo for another year.
    max_future_days: int = Field(default=1, ge=0, le=366)
    max_duration_min: float = Field(default=24 * 60, gt=0, le=7 * 24 * 60)


# The fields of a metric that choose which activities it counts (a deal metric takes none).
ACTIVITY_FILTERS = (
    "kinds",
    "outcomes",
    "selling",
    "has_ask",
    "engaged",
    "connected",
    "decision_maker",
    "seniority",
)


class MetricSettings(_Strict):
    """A metric: count or sum of matching activities or deals, or a ratio of two metrics."""

    name: Name
    label: str = ""
    aggregate: Literal["count", "sum", "distinct_count", "ratio"]
    source: Literal["activities", "deals"] | None = None
    field: Literal["duration_min", "amount", "account_id", "contact_id", "deal_id"] | None = None
    date: Literal["occurred_at", "created_at", "closed_at"] | None = None
    kinds: list[Name] | None = None
    outcomes: list[Name] | None = None
    selling: bool | None = None
    has_ask: bool | None = None
    engaged: bool | None = None
    connected: bool | None = None
    decision_maker: bool | None = None
    seniority: list[Name] | None = None
    status: DealStatus | None = None
    credit: Literal["owner", "sourced_by"] = "owner"
    numerator: Name | None = None
    denominator: Name | None = None
    min_denominator: int = Field(default=0, ge=0)
    higher_is_better: bool = True
    unit: Unit | None = None  # None: from the aggregate and field (see Settings.metric_unit)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.aggregate == "ratio":
            if not (self.numerator and self.denominator):
                raise ValueError("a ratio metric needs `numerator` and `denominator`")
            if self.source is not None:
                raise ValueError("a ratio metric takes no `source`; its parts have one")
            return self
        if self.source is None:
            raise ValueError("`source` must be 'activities' or 'deals'")
        if self.aggregate in ("sum", "distinct_count") and self.field is None:
            raise ValueError(f"a {self.aggregate} metric needs `field`")
        if self.source == "deals":
            used = [f for f in ACTIVITY_FILTERS if getattr(self, f) is not None]
            if used:
                raise ValueError(f"deal metrics cannot filter on {', '.join(used)}")
            if self.date is None:
                raise ValueError("a deal metric needs `date` ('created_at' or 'closed_at')")
            if self.field not in (None, "amount"):
                raise ValueError("deal metrics can only sum `amount`")
            if self.aggregate == "distinct_count":
                raise ValueError("deal metrics count deals or sum `amount`; no distinct_count")
        elif self.credit != "owner":
            raise ValueError("only deal metrics can credit `sourced_by`")
        else:
            if self.status is not None:
                raise ValueError("activity metrics cannot filter on `status`")
            if self.date not in (None, "occurred_at"):
                raise ValueError("activity metrics are dated by `occurred_at`")
            if self.field == "amount":
                raise ValueError("activities have no `amount`")
        return self


class RoleSettings(_Strict):
    name: Name
    label: str = ""
    key_metrics: list[Name] = Field(default_factory=_empty_list)
    # The contiguous slice of `[funnel] steps` this role works (plans give its reps targets
    # for these steps only); None: the span of its key metrics in the funnel.
    funnel_steps: list[Name] | None = None


class FunnelSettings(_Strict):
    steps: list[Name] = Field(default_factory=_empty_list)


class StageSettings(_Strict):
    name: Name
    label: str = ""
    status: DealStatus = "open"
    probability: float = Field(default=0.0, ge=0.0, le=1.0)


class PacingSettings(_Strict):
    ahead: float = Field(default=1.10, gt=0)
    behind: float = Field(default=0.90, gt=0)
    # The chance tests measure how clustered each rep's daily counts are over this many
    # business days before the stretch judged (0: Poisson, no clustering), shrunk toward the
    # role's median with the weight of this many days of history (see analytics/dispersion).
    dispersion_history_days: int = Field(default=60, ge=0, le=520)
    dispersion_prior_days: int = Field(default=20, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.behind > self.ahead:
            raise ValueError("`behind` must not be above `ahead`")
        return self


class PlanSettings(_Strict):
    """How plans measure missing rates and weigh reps."""

    # Rates not given on the command line are measured over this many trailing months.
    history_months: int = Field(default=6, ge=1, le=60)
    # A new hire's share of a full target in their first months of tenure; 1.0 afterwards.
    ramp: list[Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=lambda: [0.25, 0.5, 0.75]
    )


class BehindPaceRule(_Strict):
    enabled: bool = True
    # Alert when a rep's key metrics together are more than this share below expected-to-date...
    by_more_than: float = Field(default=0.25, gt=0, lt=1)
    # ...and a shortfall that large would happen by chance at target pace less often than this
    # (pooled counts, as clustered as the rep's history: see PacingSettings). 0.001 per rep
    # keeps a 30-rep report free of false alarms about 97% of the time: a manager who gets
    # false alarms stops reading them.
    max_chance: float = Field(default=0.001, gt=0, le=1)


class NoSellingRule(_Strict):
    enabled: bool = True
    business_days: int = Field(default=3, ge=1)
    # The metric that counts selling activity (an activity count metric).
    metric: Name = "selling_activities"


class ZeroMetricRule(_Strict):
    enabled: bool = True
    # A key metric at zero is alerted once zero is this unlikely at target pace.
    max_chance: float = Field(default=0.01, gt=0, le=1)


BoardPeriod = Literal["day", "week", "month", "quarter", "year"]


class LeaderboardSettings(_Strict):
    """The leaderboard pages: the period a board ranks when none is asked, how many reps a TV
    page shows, and which wins it celebrates.

    Two defaults, one per kind of face, each read from here and nowhere else: `period` for
    whoever asks a question (the leaderboard page, its downloads, `paceline leaderboard`,
    the API), so the page, its CSV and the API answer the same request with the same rows;
    `tv_period` for the wall screens (the TV board and kiosk links), which a sales floor
    watches week by week."""

    period: BoardPeriod = "month"
    tv_period: BoardPeriod = "week"
    tv_top: int = Field(default=10, ge=3, le=40)
    celebrate: list[Name] = Field(default_factory=lambda: ["meetings_set", "deals_won"])
    celebrate_minutes: int = Field(default=15, ge=1, le=24 * 60)


class AlertSettings(_Strict):
    """The rules `paceline alerts` evaluates."""

    period: Literal["week", "month", "quarter"] = "month"
    # Behind pace and zero read the period to date, or the trailing this-many business days
    # while the period is younger: a few days of a field rep's activity cannot show a shortfall.
    min_business_days: int = Field(default=15, ge=1, le=260)
    # Key metrics from these sources are alerted on; results (deals) are lagging and noisy
    # within a period, so by default only activities are.
    sources: list[MetricSource] = Field(default_factory=lambda: list[MetricSource](["activities"]))
    behind_pace: BehindPaceRule = BehindPaceRule()
    no_selling: NoSellingRule = NoSellingRule()
    zero_key_metric: ZeroMetricRule = ZeroMetricRule()


class StalledSettings(_Strict):
    """An open deal is stalled after this long without selling activity, or in one stage."""

    # Business days since the last selling activity on the deal (or its account, when the
    # activity names no deal).
    business_days: int = Field(default=10, ge=1)
    # Longer in its current stage than this share of the team's finished stays in that stage.
    stage_percentile: float = Field(default=0.90, gt=0, lt=1)
    # Stays needed before a stage's percentile is trusted.
    min_stage_samples: int = Field(default=10, ge=1)


class QualitySettings(_Strict):
    """Busy versus productive: the benchmarks a rep's time and activity are read against."""

    # Share of logged time in selling activity a productive rep reaches (the seeds' 33%).
    selling_share_benchmark: float = Field(default=0.33, gt=0, lt=1)
    # High volume: at least this multiple of the peers' median outreach attempts...
    high_volume_ratio: float = Field(default=1.5, gt=1)
    # ...while engagement per attempt is at most this share of the peers' median.
    low_engagement_ratio: float = Field(default=0.5, gt=0, lt=1)


class DiagnoseSettings(_Strict):
    # Default stretch a diagnosis reads: week, month, quarter, year (to date) or "<N>d".
    window: str = Field(default="180d", pattern=r"^(week|month|quarter|year|\d{1,4}d)$")
    # A rep's step or rate is called weak only when a gap this unlikely by chance
    # (one-sided p-value against the peers' rate) is seen; smaller samples are "too few".
    significance: float = Field(default=0.01, gt=0, lt=0.5)
    # ...and only when the rep's rate is at least this far below the peers' (0.2: 20% below):
    # with thousands of calls, a one-point gap is significant but not worth coaching.
    min_gap: float = Field(default=0.2, ge=0, lt=1)
    stalled: StalledSettings = StalledSettings()
    quality: QualitySettings = QualitySettings()


class TippingSettings(_Strict):
    """`paceline tipping`: the weekly activity level where returns start to diminish."""

    # Fewer rep-weeks than this and the estimate is refused as unsupported.
    min_rep_weeks: int = Field(default=80, ge=10)
    # Bootstrap resamples (of reps, keeping each rep's weeks together) for the intervals.
    bootstrap: int = Field(default=400, ge=50, le=100_000)
    confidence: float = Field(default=0.90, gt=0.5, lt=1)
    # The outcome is read this many weeks after the activity; None: measured, 0..max_lag_weeks.
    lag_weeks: int | None = Field(default=None, ge=0, le=26)
    max_lag_weeks: int = Field(default=4, ge=0, le=26)
    # Weeks of history read (ending with the last full week before the as-of day).
    history_weeks: int = Field(default=52, ge=4, le=520)
    seed: int = 20261123


class ForecastSettings(_Strict):
    """`paceline forecast`: revenue won in a period, simulated from pipeline and activity."""

    runs: int = Field(default=5000, ge=100, le=1_000_000)
    seed: int = 20261123
    # History the stage conversions, times to close and deal sizes are learnt from.
    history_months: int = Field(default=12, ge=1, le=120)
    # The run-rate baseline and the activity run rate read this many trailing days.
    run_rate_days: int = Field(default=90, ge=7, le=730)
    # `--backtest`: this many past periods are replayed.
    backtest_periods: int = Field(default=6, ge=1, le=60)


class MeetingSettings(_Strict):
    """`paceline import calendar`: how calendar events become activities.

    A meeting with someone outside the company is `kind` (`video_kind` when the invitation
    carries a video link) with `outcome`; one whose attendees are all from
    `internal_domains` is `internal_kind` (non-selling). With no internal domains given, the
    domains of the reps' e-mail addresses are the company's.
    """

    internal_domains: list[Annotated[str, StringConstraints(to_lower=True, min_length=1)]] = Field(
        default_factory=_empty_list
    )
    kind: Name = "meeting"
    video_kind: Name = "video_meeting"
    internal_kind: Name = "internal_meeting"
    outcome: Name | None = "held"


class InsightSettings(_Strict):
    tipping: TippingSettings = TippingSettings()
    forecast: ForecastSettings = ForecastSettings()


class CoachingRule(_Strict):
    """One row of the coaching table: a finding (and a volume that is fine) -> advice.

    `weak_step` names two metrics: the rep converts `from` into `to` significantly worse than
    peers. `flag` names a busy-versus-productive flag (`low_selling_time`,
    `high_volume_low_engagement`). `volume_ok`, when given, is checked against target (or, with
    no target, the peers' median); a shortfall is said beside the hint, never instead of it.
    """

    name: Name
    label: str = ""
    weak_step: list[Name] | None = Field(default=None, min_length=2, max_length=2)
    flag: Literal["low_selling_time", "high_volume_low_engagement"] | None = None
    volume_ok: Name | None = None
    # Roles the rule applies to (default: every role). AEs hold the meetings SDRs set, so
    # meetings held per meeting set says nothing about an AE's confirmation habits.
    roles: list[Name] | None = None
    advice: str

    @model_validator(mode="after")
    def _one_condition(self) -> Self:
        if (self.weak_step is None) == (self.flag is None):
            raise ValueError(f"coaching.{self.name}: give exactly one of weak_step or flag")
        return self


JobKind = Literal["rep_digest", "manager_digest", "alerts", "import", "sync"]
JobDays = Literal[
    "daily", "business", "weekdays", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday",
]  # fmt: skip


def _known_zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
    return value


class JobSettings(_Strict):
    """One `[[jobs]]` entry: what runs, when (local time), and where it is sent.

    `at` is a local time "HH:MM"; digests run in each team's time zone (`[scheduler]
    team_timezones`, else the calendar's), alerts and imports in `timezone` (default: the
    calendar's). `days`: "business" follows the business calendar (work days, holidays)."""

    name: Name
    kind: JobKind
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    days: JobDays = "business"
    channel: str = "email"
    timezone: str | None = None
    team: str | None = None  # only this team (digests and alerts)
    path: str | None = None  # import: a file or a folder of files
    source: str | None = None  # sync: the CRM connector (`paceline sync SOURCE`)
    full: bool = False  # sync: fetch everything, not only what changed
    entity: Literal["activities", "deals", "reps", "accounts", "contacts", "stage_history"] = (
        "activities"  # import: what the files hold
    )
    enabled: bool = True

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone_name(value)

    @model_validator(mode="after")
    def _kind_needs(self) -> Self:
        if self.kind == "import" and not self.path:
            raise ValueError(f"jobs.{self.name}: an import job needs path (a file or folder)")
        if self.kind != "import" and self.path:
            raise ValueError(f"jobs.{self.name}: path is for import jobs only")
        if self.kind == "sync" and not self.source:
            raise ValueError(f"jobs.{self.name}: a sync job needs source (e.g. hubspot)")
        if self.kind != "sync" and (self.source or self.full):
            raise ValueError(f"jobs.{self.name}: source and full are for sync jobs only")
        return self

    @property
    def local_time(self) -> dt.time:
        hour, minute = self.at.split(":")
        return dt.time(int(hour), int(minute))


class SchedulerSettings(_Strict):
    """`[scheduler]`: how `paceline scheduler` and `paceline notify --due` behave."""

    # A run not finished within this many minutes is taken to have died and is taken over.
    lease_minutes: int = Field(default=15, ge=1, le=24 * 60)
    poll_seconds: int = Field(default=60, ge=1, le=3600)  # how often the scheduler looks
    team_timezones: dict[str, str] = Field(default_factory=_empty_dict)  # team name -> IANA zone

    @field_validator("team_timezones")
    @classmethod
    def _zones(cls, value: dict[str, str]) -> dict[str, str]:
        for zone in value.values():
            _known_zone_name(zone)
        return value


class WebSettings(_Strict):
    """`[web]`: the pages' limits."""

    # The largest file the Import page takes, in MB (a larger one is refused with 413 before
    # it is read); bigger files import with `paceline import` on the server.
    import_max_mb: float = Field(default=200, gt=0, le=100_000)
    # How long the Import page waits for an import to finish before showing its progress.
    import_wait_seconds: float = Field(default=5, ge=0, le=300)


class SyncSourceSettings(_Strict):
    """`[sync.NAME]`: one CRM connector of `paceline sync NAME` (hubspot, pipedrive).

    The token itself is never in the file: `token_env` names the environment variable that
    holds it (default `PACELINE_HUBSPOT_TOKEN`, `PACELINE_PIPEDRIVE_TOKEN`)."""

    token_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    base_url: str | None = Field(default=None, pattern=r"^https?://")  # another API host
    page_size: int = Field(default=100, ge=1, le=500)  # records per request
    errors_dir: str | None = None  # where rejected records go (default: the current folder)


class Settings(_Strict):
    """The whole validated configuration."""

    database: DatabaseSettings = DatabaseSettings()
    calendar: CalendarSettings = CalendarSettings()
    selling: SellingSettings = SellingSettings()
    activities: ActivityRules = ActivityRules()
    money: MoneySettings = MoneySettings()
    kinds: list[KindSettings]
    outcomes: list[OutcomeSettings]
    metrics: list[MetricSettings]
    roles: list[RoleSettings]
    funnel: FunnelSettings = FunnelSettings()
    stages: list[StageSettings] = Field(default_factory=_empty_list)
    pacing: PacingSettings = PacingSettings()
    plan: PlanSettings = PlanSettings()
    alerts: AlertSettings = AlertSettings()
    leaderboard: LeaderboardSettings = LeaderboardSettings()
    diagnose: DiagnoseSettings = DiagnoseSettings()
    coaching: list[CoachingRule] = Field(default_factory=_empty_list)
    insight: InsightSettings = InsightSettings()
    meetings: MeetingSettings = MeetingSettings()
    cli: CliSettings = CliSettings()
    jobs: list[JobSettings] = Field(default_factory=_empty_list)
    scheduler: SchedulerSettings = SchedulerSettings()
    web: WebSettings = WebSettings()
    # Live CRM syncs, a table per connector (`[sync.hubspot]`).
    sync: dict[str, SyncSourceSettings] = Field(default_factory=_empty_dict)
    # Installed plugins' own settings, a table each (`[plugins.slack]`): the plugin checks them.
    plugins: dict[str, dict[str, Any]] = Field(default_factory=_empty_dict)

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        for field_name in ("kinds", "outcomes", "metrics", "roles", "stages", "jobs"):
            names = [item.name for item in getattr(self, field_name)]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{field_name}: {', '.join(twice)} defined twice")
        kinds = {k.name for k in self.kinds}
        outcomes = {o.name for o in self.outcomes}
        metrics = {m.name for m in self.metrics}
        for o in self.outcomes:
            _check_known(f"outcomes.{o.name}.kinds", o.kinds or [], kinds, "kind")
        for m in self.metrics:
            _check_known(f"metrics.{m.name}.kinds", m.kinds or [], kinds, "kind")
            _check_known(f"metrics.{m.name}.outcomes", m.outcomes or [], outcomes, "outcome")
            for part in (m.numerator, m.denominator):
                if part is not None and part not in metrics:
                    raise ValueError(f"metrics.{m.name}: unknown metric {part!r}")
                if part == m.name:
                    raise ValueError(f"metrics.{m.name}: a ratio cannot refer to itself")
        cycle = _ratio_cycle(self.metrics)
        if cycle:
            raise ValueError(
                f"metrics: ratios refer to each other in a cycle ({' -> '.join(cycle)}), "
                "so none of them can be computed"
            )
        for r in self.roles:
            _check_known(f"roles.{r.name}.key_metrics", r.key_metrics, metrics, "metric")
        _check_known("funnel.steps", self.funnel.steps, metrics, "metric")
        for r in self.roles:
            self._check_role_funnel(r)
        _check_known("alerts.no_selling.metric", [self.alerts.no_selling.metric], metrics, "metric")
        self._check_idle_metric()
        self._check_celebrations()
        for rule in self.coaching:
            used = [*(rule.weak_step or []), *([rule.volume_ok] if rule.volume_ok else [])]
            _check_known(f"coaching.{rule.name}", used, metrics, "metric")
            _check_known(f"coaching.{rule.name}.roles", rule.roles or [], self.role_names, "role")
            self._check_counted_step(rule)
        return self

    def _check_idle_metric(self) -> None:
        """The no-selling rule reads each rep's last day with the metric from the daily
        rollup of activity counts: a distinct count, a sum, a deal metric or a ratio is not
        there, so every rep would silently read idle for as long as the look-back."""
        name = self.alerts.no_selling.metric
        metric = self.metric(name)
        if metric.source == "activities" and metric.aggregate == "count":
            return
        kind = "ratio" if metric.source is None else f"{metric.aggregate} of {metric.source}"
        allowed = [
            m.name for m in self.metrics if m.source == "activities" and m.aggregate == "count"
        ]
        raise ValueError(
            f"alerts.no_selling.metric: {name!r} is a {kind}, not a count of activities"
            ' (aggregate = "count", source = "activities"): the rule reads the days each rep'
            " did some of a count of activities, and would read every rep as idle. Counts of"
            f" activities: {', '.join(allowed) or 'none defined'}"
        )

    def _check_counted_step(self, rule: CoachingRule) -> None:
        """A rule's `weak_step` is tested as a rate of two counts (`analytics.compare`): a
        sum such as revenue would count each dollar as an event, a p-value of the unit."""
        for name in rule.weak_step or []:
            aggregate = self.metric(name).aggregate
            if aggregate != "count":
                raise ValueError(
                    f"coaching.{rule.name}.weak_step: {name} is a {aggregate}, not a count;"
                    " the conversion test needs two counts of events"
                )

    def _check_role_funnel(self, role: RoleSettings) -> None:
        """A role's funnel steps must be metrics, and those in `[funnel] steps` consecutive
        and in funnel order: a plan hands volume from one role to the next at one boundary.
        Steps not in the funnel are ignored, so a shorter funnel keeps the roles valid."""
        if role.funnel_steps is None:
            return
        where = f"roles.{role.name}.funnel_steps"
        _check_known(where, role.funnel_steps, {m.name for m in self.metrics}, "metric")
        steps = self.funnel.steps
        owned = [s for s in role.funnel_steps if s in steps]
        if owned:
            first = steps.index(owned[0])
            if steps[first : first + len(owned)] != owned:
                raise ValueError(
                    f"{where}: must be consecutive funnel steps in funnel order "
                    f"(funnel: {', '.join(steps)})"
                )

    def role_funnel(self, name: str) -> tuple[str, ...]:
        """The funnel steps a role owns: `funnel_steps` if set, else the span of its key
        metrics in the funnel (from the highest to the lowest), else none."""
        role = self.role(name)
        steps = self.funnel.steps
        if role.funnel_steps is not None:
            return tuple(s for s in role.funnel_steps if s in steps)
        where = [steps.index(m) for m in role.key_metrics if m in steps]
        if not where:
            return ()
        return tuple(steps[min(where) : max(where) + 1])

    def _check_celebrations(self) -> None:
        """Wins to celebrate must be counts; the defaults are skipped where a configuration
        lacks them (a small test configuration), a written list never is."""
        counts = {m.name for m in self.metrics if m.aggregate == "count"}
        written = "celebrate" in self.leaderboard.model_fields_set
        for name in self.leaderboard.celebrate:
            if written and name not in counts:
                raise ValueError(
                    f"leaderboard.celebrate: {name!r} is not a count metric (a win is counted)"
                )

    @property
    def celebrated_metrics(self) -> list[str]:
        """The wins the TV board celebrates, those of them this configuration defines."""
        counts = {m.name for m in self.metrics if m.aggregate == "count"}
        return [name for name in self.leaderboard.celebrate if name in counts]

    # Look-ups used on hot paths (import, logging), computed once.
    @cached_property
    def kind_names(self) -> frozenset[str]:
        return frozenset(k.name for k in self.kinds)

    @cached_property
    def selling_kinds(self) -> frozenset[str]:
        return frozenset(k.name for k in self.kinds if k.selling)

    @cached_property
    def outcome_names(self) -> frozenset[str]:
        return frozenset(o.name for o in self.outcomes)

    @cached_property
    def ask_outcomes(self) -> frozenset[str]:
        return frozenset(o.name for o in self.outcomes if o.implies_ask)

    @cached_property
    def outcome_kinds(self) -> dict[str, tuple[str, ...]]:
        """Outcome -> the kinds it fits, for outcomes limited to some kinds."""
        return {o.name: tuple(o.kinds) for o in self.outcomes if o.kinds is not None}

    @cached_property
    def engaged_outcomes(self) -> frozenset[str]:
        return frozenset(o.name for o in self.outcomes if o.engaged)

    @cached_property
    def connected_outcomes(self) -> frozenset[str]:
        return frozenset(o.name for o in self.outcomes if o.connected)

    @cached_property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.roles)

    @cached_property
    def stage_status(self) -> dict[str, DealStatus]:
        return {s.name: s.status for s in self.stages}

    @cached_property
    def _metrics_by_name(self) -> dict[str, MetricSettings]:
        return {m.name: m for m in self.metrics}

    def metric(self, name: str) -> MetricSettings:
        found = self._metrics_by_name.get(name)
        if found is not None:
            return found
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(m.name for m in self.metrics)}")

    @cached_property
    def _metric_units(self) -> dict[str, Unit]:
        units: dict[str, Unit] = {}

        def unit_of(name: str) -> Unit:
            if name not in units:
                metric = self.metric(name)
                units[name] = "ratio"  # a placeholder while its parts are looked up
                units[name] = metric.unit or _natural_unit(metric, unit_of)
            return units[name]

        for m in self.metrics:
            unit_of(m.name)
        return units

    def metric_unit(self, name: str) -> Unit:
        """The metric's configured unit, else its natural one: sums of `amount` are currency,
        of `duration_min` minutes, counts counts; a ratio of money or minutes per something
        is money or minutes, of like over like a percentage, anything else a plain ratio."""
        self.metric(name)  # unknown names are a KeyError naming the known ones
        return self._metric_units[name]

    def role(self, name: str) -> RoleSettings:
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(f"unknown role {name!r}; known: {', '.join(sorted(self.role_names))}")

    def is_selling(self, kind: str, has_ask: bool) -> bool:
        """The seeds' rule: selling-eligible contact counts only when it carries an Ask."""
        return kind in self.selling_kinds and (has_ask or not self.selling.require_ask)


def _natural_unit(metric: MetricSettings, unit_of: Callable[[str], Unit]) -> Unit:
    """The unit a metric has when the configuration does not say (existing files load)."""
    if metric.aggregate != "ratio":
        if metric.field == "amount":
            return "currency"
        return "minutes" if metric.field == "duration_min" else "count"
    top, bottom = unit_of(metric.numerator or ""), unit_of(metric.denominator or "")
    if top == bottom:
        return "percent"  # like over like: connect rate, win rate, selling share
    if top in ("currency", "minutes", "days") and bottom == "count":
        return top  # average deal size, minutes per call
    return "ratio"


def _check_known(where: str, used: list[str], known: AbstractSet[str], what: str) -> None:
    unknown = [u for u in used if u not in known]
    if unknown:
        raise ValueError(f"{where}: unknown {what} {', '.join(map(repr, unknown))}")


def _ratio_cycle(metrics: list[MetricSettings]) -> list[str] | None:
    """The first cycle of ratios through their numerators and denominators, e.g. [a, b, a].

    A ratio is evaluated by evaluating its parts, so a cycle would recurse for ever; it must
    fail at start-up, naming the metrics, rather than when a page first asks for one."""
    parts = {
        m.name: [p for p in (m.numerator, m.denominator) if p is not None]
        for m in metrics
        if m.aggregate == "ratio"
    }
    done: set[str] = set()

    def walk(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done or name not in parts:
            return None
        for part in parts[name]:
            found = walk(part, [*path, name])
            if found:
                return found
        done.add(name)
        return None

    for name in parts:
        found = walk(name, [])
        if found:
            return found
    return None


def default_config_text() -> str:
    """The commented default `paceline.toml` shipped with the package."""
    return resources.files("paceline.defaults").joinpath(CONFIG_FILE_NAME).read_text("utf-8")


def parse_settings(text: str, origin: str = CONFIG_FILE_NAME) -> Settings:
    """Parse and validate TOML text; errors name the file and the key path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(origin, exc, data)) from exc


def _describe_validation_error(origin: str, exc: ValidationError, data: object) -> str:
    lines = [f"{origin}: invalid configuration"]
    for err in exc.errors():
        lines.append(f"  {_key_path(err['loc'], data)}: {err['msg']}")
    return "\n".join(lines)


def _key_path(loc: tuple[int | str, ...], data: object) -> str:
    """Render a pydantic location as a TOML key path, naming list items by their `name`."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            label = node.get("name") if isinstance(node, dict) else None
            parts[-1] = f"{parts[-1]}[{label!r}]" if label else f"{parts[-1]}[{step}]"
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    """Explicit path, then $PACELINE_CONFIG, then ./paceline.toml; None means built-in defaults."""
    candidate = explicit or os.environ.get("PACELINE_CONFIG")
    if candidate:
        path = Path(candidate)
        if not path.is_file():
            raise ConfigError(f"configuration file {path} does not exist")
        return path
    local = Path.cwd() / CONFIG_FILE_NAME
    return local if local.is_file() else None


def load_settings(path: str | Path | None = None) -> Settings:
    """Load the configuration a command should run with."""
    found = find_config_file(path)
    if found is None:
        return parse_settings(default_config_text(), origin="built-in defaults")
    return parse_settings(_config_text(found), origin=str(found))


def _config_text(path: Path) -> str:
    """The file's text; TOML is UTF-8 by definition, so anything else is named, with where."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); TOML files are "
            "UTF-8: save it as UTF-8 in your editor"
        ) from None


def default_settings() -> Settings:
    return parse_settings(default_config_text(), origin="built-in defaults")


def resolve_database_url(settings: Settings, explicit: str | None = None) -> str:
    """--db wins, then $PACELINE_DB, then the configuration file."""
    return explicit or os.environ.get("PACELINE_DB") or settings.database.url


def resolve_read_url(settings: Settings) -> str | None:
    """The read replica's URL: $PACELINE_READ_DB, then `[database] read_url`; None when
    analyses read from the database itself."""
    return os.environ.get("PACELINE_READ_DB") or settings.database.read_url


# --- what is derived once per configuration ---------------------------------------------------

_DERIVED_KEPT = 16
_T = TypeVar("_T")
_derived: dict[int, tuple[Settings, dict[Hashable, Any]]] = {}
_derived_lock = threading.Lock()  # a server's request threads share it


def derive(settings: Settings, key: Hashable, build: Callable[[], _T]) -> _T:
    """`build()`, computed once per configuration and key: for what depends on the
    configuration alone (the rollup's fingerprint, the statements each metric reads with),
    so a server builds it once, not at every request. A configuration never changes."""
    store = _derived_store(settings)
    if key in store:
        return cast(_T, store[key])
    value = store[key] = build()
    return value


def _derived_store(settings: Settings) -> dict[Hashable, Any]:
    """The store of `derive`'s values for a configuration.

    Kept beside the object rather than in it: `model_copy(update=...)` would copy a cache
    held in the object to a configuration it no longer describes. Keyed by identity, with
    the object held, so an id is never reused while its entry lives; the last few are kept.
    """
    found = _derived.get(id(settings))
    if found is not None and found[0] is settings:
        return found[1]
    with _derived_lock:
        found = _derived.get(id(settings))
        if found is not None and found[0] is settings:
            return found[1]
        if len(_derived) >= _DERIVED_KEPT:
            del _derived[next(iter(_derived))]
        store: dict[Hashable, Any] = {}
        _derived[id(settings)] = (settings, store)
        return store
