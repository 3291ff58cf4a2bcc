"""The tables. Everything else reads and writes through these.

Choices worth knowing:
- Timestamps are stored in UTC (naive); `activity.local_date` is the business-local day the
  activity counts on, written once at ingest, so per-rep-per-day aggregation is a plain
  GROUP BY on an indexed column on both SQLite and PostgreSQL, with no time-zone maths in SQL.
- Whether an activity is *selling* is not stored: it follows from kind and Ask under the
  current configuration, so changing the configuration never leaves stale flags behind.
- Imported rows carry (source, external_id), unique, which makes every import idempotent,
  and a `row_hash` of their imported fields, so a re-import detects changed rows without
  comparing column by column.
- Deal stage changes are rows in `deal_stage_history`, never overwritten text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnClause,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    or_,
    text,
    util,
)
from sqlalchemy.sql.base import _DialectArgDict
from sqlalchemy.sql.elements import ColumnElement

from paceline import clock
from paceline.store.keys import KEY_LENGTH, name_key_default

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY is the fast rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")


class PartialIndex(Index):
    """An index of the rows `where` holds (`CREATE INDEX ... WHERE ...`), on SQLite and
    PostgreSQL alike: `Index(..., sqlite_where=text(where), postgresql_where=text(where))`.

    Why not that: SQLAlchemy checks dialect arguments by importing each dialect when the
    index is built, so every `paceline log` on SQLite imported PostgreSQL's dialect (a tenth
    of SQLAlchemy's import) for two WHERE clauses. Here a dialect's options are made when
    that dialect first asks for them (its DDL compiler), or when all are listed
    (`dialect_kwargs`), with the same result (tests/store/test_store.py compiles both)."""

    DIALECTS = ("sqlite", "postgresql")

    def __init__(self, name: str, *columns: str, where: str, unique: bool = False) -> None:
        self.where = where
        super().__init__(name, *columns, unique=unique)

    @util.memoized_property
    def dialect_options(self) -> util.PopulateDict[str, _DialectArgDict]:
        def options(dialect: str) -> _DialectArgDict:
            found = self._kw_reg_for_dialect_cls(dialect)  # what Index itself does
            if dialect in self.DIALECTS:
                found["where"] = text(self.where)
            return found

        return util.PopulateDict(options)

    @property
    def dialect_kwargs(self) -> Any:
        for dialect in self.DIALECTS:  # listed only once made
            self.dialect_options[dialect]
        return super().dialect_kwargs


def utcnow() -> dt.datetime:
    """Timestamps for rows come from the one clock, so a set clock dates them too."""
    return clock.utcnow()


class Base:
    """A table written as a class: each column is a class attribute named as the column, and
    the class stands for its table in a statement (`select(Rep)`, `insert(Activity)`,
    `Activity.kind == "call"`).

    Plain SQLAlchemy Core, not the ORM: nothing here is ever loaded into objects, and the
    ORM's import and mapper set-up were most of `paceline log`'s start-up (measured in
    benchmarks/README.md, cli_startup). A subclass's columns become its `__table__` in
    the order written, with `__table_args__` (constraints, indexes, then an optional dict of
    table options) as declarative classes take them.
    """

    metadata: ClassVar[MetaData] = MetaData(naming_convention=NAMING)
    __tablename__: ClassVar[str]
    __table__: ClassVar[Table]
    __table_args__: ClassVar[tuple[Any, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        columns: list[Column[Any]] = []
        for key, value in vars(cls).items():
            if isinstance(value, Column):
                value.name = value.key = key
                columns.append(value)
        args = cls.__table_args__
        options = args[-1] if args and isinstance(args[-1], dict) else {}
        positional = args[:-1] if options else args
        cls.__table__ = Table(cls.__tablename__, cls.metadata, *columns, *positional, **options)

    @classmethod
    def __clause_element__(cls) -> Table:
        return cls.__table__


class Team(Base):
    __tablename__ = "team"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    name: ColumnClause[str] = Column(String(200), unique=True, nullable=False)
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)


class Rep(Base):
    __tablename__ = "rep"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    name: ColumnClause[str] = Column(String(200), unique=True, nullable=False)
    email: ColumnClause[str | None] = Column(String(320))
    role: ColumnClause[str] = Column(String(64), default="ae", nullable=False)
    team_id: ColumnClause[int | None] = Column(ForeignKey("team.id"), index=True)
    manager_id: ColumnClause[int | None] = Column(ForeignKey("rep.id"))
    start_date: ColumnClause[dt.date | None] = Column(Date)
    end_date: ColumnClause[dt.date | None] = Column(Date)
    capacity: ColumnClause[float] = Column(Float, default=1.0, nullable=False)
    source: ColumnClause[str] = Column(String(64), default="manual", nullable=False)
    external_id: ColumnClause[str | None] = Column(String(200))
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("source", "external_id"),)


def rep_there_on(day: Any) -> ColumnElement[bool]:
    """Whether a rep row is of someone there on `day` (a date or a bound parameter): started
    by then, or no start date known, and not gone before it (the last day still counts).
    Who is sent a digest or an alert, and who a team's head count is, are asked alike."""
    return and_(
        or_(Rep.start_date.is_(None), Rep.start_date <= day),
        or_(Rep.end_date.is_(None), Rep.end_date >= day),
    )


class Account(Base):
    __tablename__ = "account"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    name: ColumnClause[str] = Column(String(300), index=True, nullable=False)
    # name_key(name), filled on insert; look-ups by name compare it on its index.
    name_key: ColumnClause[str] = Column(
        String(KEY_LENGTH), default=name_key_default, server_default="", index=True, nullable=False
    )
    industry: ColumnClause[str | None] = Column(String(200))
    account_type: ColumnClause[str | None] = Column(String(64))
    owner_id: ColumnClause[int | None] = Column(ForeignKey("rep.id"))
    source: ColumnClause[str] = Column(String(64), default="manual", nullable=False)
    external_id: ColumnClause[str | None] = Column(String(200))
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class Contact(Base):
    __tablename__ = "contact"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    account_id: ColumnClause[int | None] = Column(ForeignKey("account.id"), index=True)
    name: ColumnClause[str] = Column(String(300), nullable=False)
    name_key: ColumnClause[str] = Column(
        String(KEY_LENGTH), default=name_key_default, server_default="", index=True, nullable=False
    )
    title: ColumnClause[str | None] = Column(String(200))
    seniority: ColumnClause[str | None] = Column(String(32))
    is_decision_maker: ColumnClause[bool] = Column(Boolean, default=False, nullable=False)
    email: ColumnClause[str | None] = Column(String(320))
    source: ColumnClause[str] = Column(String(64), default="manual", nullable=False)
    external_id: ColumnClause[str | None] = Column(String(200))
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class Deal(Base):
    __tablename__ = "deal"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    rep_id: ColumnClause[int] = Column(ForeignKey("rep.id"), nullable=False)
    # Who sourced the opportunity (e.g. the SDR who set the meeting); the owner works it.
    sourced_by_id: ColumnClause[int | None] = Column(ForeignKey("rep.id"))
    account_id: ColumnClause[int | None] = Column(ForeignKey("account.id"), index=True)
    name: ColumnClause[str] = Column(String(300), nullable=False)
    # None: the CRM left it empty (unknown), which is not the same as a deal worth 0.
    amount: ColumnClause[Decimal | None] = Column(Numeric(16, 2))
    stage: ColumnClause[str] = Column(String(64), nullable=False)
    status: ColumnClause[str] = Column(String(8), nullable=False)  # open / won / lost
    created_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    closed_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    expected_close: ColumnClause[dt.date | None] = Column(Date)
    source: ColumnClause[str] = Column(String(64), default="manual", nullable=False)
    external_id: ColumnClause[str | None] = Column(String(200))
    row_hash: ColumnClause[str | None] = Column(String(32))
    updated_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    # The import that last wrote the row (see Activity.import_run_id).
    import_run_id: ColumnClause[int | None] = Column(Id)

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_deal_rep_status", "rep_id", "status"),
        Index("ix_deal_rep_created", "rep_id", "created_at"),
        Index("ix_deal_sourced_created", "sourced_by_id", "created_at"),
        Index("ix_deal_status_closed", "status", "closed_at"),
        # The deal list's order, newest first, paged by a keyset cursor (deal_records.list_deals).
        Index("ix_deal_created_id", "created_at", "id"),
    )


class DealStageHistory(Base):
    """One row per stage a deal entered, with when; the funnel and time-in-stage read this."""

    __tablename__ = "deal_stage_history"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    deal_id: ColumnClause[int] = Column(ForeignKey("deal.id", ondelete="CASCADE"), nullable=False)
    stage: ColumnClause[str] = Column(String(64), nullable=False)
    status: ColumnClause[str] = Column(String(8), nullable=False)
    amount: ColumnClause[Decimal | None] = Column(Numeric(16, 2))  # None: not known then
    entered_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)

    __table_args__ = (Index("ix_deal_stage_history_deal_entered", "deal_id", "entered_at"),)


class Activity(Base):
    __tablename__ = "activity"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    rep_id: ColumnClause[int] = Column(ForeignKey("rep.id"), nullable=False)
    account_id: ColumnClause[int | None] = Column(ForeignKey("account.id"))
    contact_id: ColumnClause[int | None] = Column(ForeignKey("contact.id"))
    deal_id: ColumnClause[int | None] = Column(ForeignKey("deal.id"))
    kind: ColumnClause[str] = Column(String(64), nullable=False)
    occurred_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    local_date: ColumnClause[dt.date] = Column(Date, nullable=False)
    duration_min: ColumnClause[float | None] = Column(Float)
    outcome: ColumnClause[str | None] = Column(String(64))
    has_ask: ColumnClause[bool] = Column(Boolean, default=False, nullable=False)
    engaged: ColumnClause[bool] = Column(Boolean, default=False, nullable=False)
    notes: ColumnClause[str | None] = Column(Text)
    source: ColumnClause[str] = Column(String(64), default="manual", nullable=False)
    external_id: ColumnClause[str | None] = Column(String(200))
    row_hash: ColumnClause[str | None] = Column(String(32))
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    updated_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    # The import that last wrote the row (None: written by hand, the API or the demo), so an
    # import tells the rows it wrote from those another import wrote meanwhile. No foreign
    # key: an imported row pays one integer, not a constraint check.
    import_run_id: ColumnClause[int | None] = Column(Id)

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # Per-rep-per-day aggregation: a rep's days in a range, grouped by kind. Every index
        # costs 2-5 us per imported row on SQLite (measured), so there are only these.
        Index("ix_activity_rep_day_kind", "rep_id", "local_date", "kind"),
        Index("ix_activity_account", "account_id"),
        # The activity list's order, newest first, paged by a keyset cursor: without it each
        # first page sorted the whole table (listings.list_activities).
        Index("ix_activity_occurred_id", "occurred_at", "id"),
        PartialIndex("ix_activity_deal", "deal_id", where="deal_id IS NOT NULL"),
    )


class Target(Base):
    """A rep's target for one metric over one period; team targets are the sum of their reps'."""

    __tablename__ = "target"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    rep_id: ColumnClause[int] = Column(ForeignKey("rep.id"), nullable=False)
    metric: ColumnClause[str] = Column(String(64), nullable=False)
    period_kind: ColumnClause[str] = Column(String(8), nullable=False)
    period_start: ColumnClause[dt.date] = Column(Date, nullable=False)
    value: ColumnClause[float] = Column(Float, nullable=False)
    origin: ColumnClause[str] = Column(
        String(16), default="manual", nullable=False
    )  # manual / plan
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)

    __table_args__ = (
        UniqueConstraint("rep_id", "metric", "period_kind", "period_start"),
        Index("ix_target_period", "period_kind", "period_start"),
    )


class ImportRun(Base):
    """One import, with its row accounting: an audit trail of what came in and when."""

    __tablename__ = "import_run"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    entity: ColumnClause[str] = Column(String(32), nullable=False)
    source: ColumnClause[str] = Column(String(64), nullable=False)
    # The import source that read the file ("xlsx"); `source` names where the ids come from
    # (a spreadsheet in the generic columns keeps "csv"). None: recorded before 0021.
    reader: ColumnClause[str | None] = Column(String(64))
    file_name: ColumnClause[str] = Column(String(1000), nullable=False)
    started_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    finished_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    rows_read: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    inserted: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    updated: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    unchanged: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    duplicate: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    skipped: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    rejected: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    # running / done / failed / interrupted (its process died; found by a later import)
    status: ColumnClause[str] = Column(String(16), default="running", nullable=False)
    failure: ColumnClause[str | None] = Column(String(1000))  # why a failed import failed
    # Who runs it and when it was last seen alive (each batch), to tell a run whose process
    # is gone: on the same host by its process, elsewhere by a heartbeat gone quiet.
    heartbeat_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    host: ColumnClause[str | None] = Column(String(255))
    pid: ColumnClause[int | None] = Column(Integer)
    pid_started: ColumnClause[int | None] = Column(BigInteger)  # the process's start (Linux)


class ImportSeen(Base):
    """Ids of already-stored records an import has matched so far; emptied when it ends.

    Lets a re-import tell a row repeated later in the same file (a duplicate) from the first
    match of a stored record, in constant memory whatever the file's size.
    """

    __tablename__ = "import_seen"

    # No foreign key (migration 0020): its per-row check was 40% of the cost of recording a
    # match, and only the run's own import writes, and deletes, its rows.
    run_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    external_id: ColumnClause[str] = Column(String(200), primary_key=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


class DealWait(Base):
    """An imported activity naming a deal its source has not imported yet: kept without its
    deal link until the deal arrives (see `store.deal_waits`).

    A sync pulls only what changed since the last one, so an activity pulled before its
    deal (the deal refused, or made after the deals were fetched) is never pulled again
    when the deal comes, and stayed unlinked. The deal's import links it from this row.
    `file_hash` is the fingerprint the activity has once linked (the one its own import
    would store), so importing it again then finds it unchanged."""

    __tablename__ = "deal_wait"

    source: ColumnClause[str] = Column(String(64), primary_key=True)
    activity_ref: ColumnClause[str] = Column(String(200), primary_key=True)
    deal_ref: ColumnClause[str] = Column(String(200), nullable=False)
    file_hash: ColumnClause[str | None] = Column(String(32))

    __table_args__ = (Index("ix_deal_wait_deal", "source", "deal_ref"),)


class MetricDay(Base):
    """Each activity metric's value per rep and business day: the rollup analytics read.

    Scorecards and leaderboards sum a handful of these rows per rep instead of scanning every
    activity of the period, so their cost follows reps x days, not history. The rows are
    derived data: `rollup_dirty` (filled by database triggers on every activity write) says
    which rep-days to recompute, and `rollup_state` says which metric definitions built them.
    """

    __tablename__ = "metric_day"

    metric: ColumnClause[str] = Column(String(64), primary_key=True)
    local_date: ColumnClause[dt.date] = Column(Date, primary_key=True)
    rep_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    value: ColumnClause[float] = Column(Float, nullable=False)

    __table_args__ = (
        Index("ix_metric_day_rep_day", "rep_id", "local_date"),
        {"sqlite_with_rowid": False},
    )


class MetricMonth(Base):
    """Each activity metric's `metric_day` rows summed per rep and calendar month, with the
    last day summed (`last_day`).

    A month-to-date scorecard and the leaderboard's previous month read one row per rep and
    metric here instead of summing every day of the month. A month's row is the whole month
    stored so far, so it answers a window [month's first day, end) only when `last_day` is
    before `end`; otherwise the reader sums that rep's days from `metric_day`. Kept by
    `ensure_rollup` in the same transaction as `metric_day`, for the (rep, month)s of the
    marked rep-days. `month` is the month's first day.
    """

    __tablename__ = "metric_month"

    metric: ColumnClause[str] = Column(String(64), primary_key=True)
    month: ColumnClause[dt.date] = Column(Date, primary_key=True)
    rep_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    value: ColumnClause[float] = Column(Float, nullable=False)
    last_day: ColumnClause[dt.date] = Column(Date, nullable=False)

    __table_args__ = (
        Index("ix_metric_month_rep_month", "rep_id", "month"),
        {"sqlite_with_rowid": False},
    )


class ProspectDay(Base):
    """One funnel step's events by one rep on one account and business day: first and last.

    The diagnosis's timing question ("from a prospect's first event of one step to its first
    event of the next") otherwise reads every event of the window; from these cells it reads
    one seek per prospect. Keyed by rep-day like `metric_day`, so the same trigger marks in
    `rollup_dirty` say which cells to recompute, deletes and edits included. `metric` is a
    funnel step's metric name, or `@selling` for any selling activity (the equation's
    prospects, the stalled deals' last touch).
    """

    __tablename__ = "prospect_day"

    # Primary key in the order readers seek: one prospect's days of one step.
    metric: ColumnClause[str] = Column(String(64), primary_key=True)
    account_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    rep_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    local_date: ColumnClause[dt.date] = Column(Date, primary_key=True)
    first_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    last_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    events: ColumnClause[int] = Column(Integer, nullable=False)

    __table_args__ = (
        # Covering (metric, events) too: the revenue equation sums a team's selling events
        # over a window (activities that name an account), which through the bare rep/day
        # index looked every cell up in the table (0.5 s at 10M activities, 0.07 covered).
        Index("ix_prospect_day_rep_day", "rep_id", "local_date", "metric", "events"),
        Index("ix_prospect_day_key_last", "metric", "account_id", "rep_id", "last_at"),
        {"sqlite_with_rowid": False},
    )


class ProspectStep(Base):
    """Per step, account and rep: the first and last event ever, summed from `prospect_day`.

    The index of prospects an analysis walks (one row per prospect, not per day). `ordered`
    says the key's day cells follow each other in time (each day's last event before the next
    day's first), which lets a reader take the first cell of a range as its earliest event;
    a key whose days overlap (rows stored with another time zone's dates) is read the slow,
    exact way.
    """

    __tablename__ = "prospect_step"

    metric: ColumnClause[str] = Column(String(64), primary_key=True)
    rep_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    account_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    first_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    first_date: ColumnClause[dt.date] = Column(Date, nullable=False)
    last_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    last_date: ColumnClause[dt.date] = Column(Date, nullable=False)
    ordered: ColumnClause[bool] = Column(Boolean, nullable=False)

    __table_args__ = (
        Index("ix_prospect_step_account", "metric", "account_id"),
        {"sqlite_with_rowid": False},
    )


class KindDay(Base):
    """Activities per rep, business day and kind, with their Asks and engaged outcomes.

    Busy-vs-productive's activity mix and outreach attempts, and the equation's "anything
    logged", read these instead of every activity of the window; kept by the same marks.
    """

    __tablename__ = "kind_day"

    rep_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    local_date: ColumnClause[dt.date] = Column(Date, primary_key=True)
    kind: ColumnClause[str] = Column(String(64), primary_key=True)
    activities: ColumnClause[int] = Column(Integer, nullable=False)
    asks: ColumnClause[int] = Column(Integer, nullable=False)
    engaged: ColumnClause[int] = Column(Integer, nullable=False)

    __table_args__ = ({"sqlite_with_rowid": False},)


class KindMonth(Base):
    """`kind_day` summed per rep, calendar month and kind, with the last day summed.

    A diagnosis's 180-day window read every business day of `kind_day` for the reps and
    their peers (the largest statement of a rep's brief at 10M activities); its whole
    months are one row per rep and kind here, and so is its last month when that row's
    `last_day` is before the window's end (month to date). Kept by `ensure_rollup` in the
    same transaction as `kind_day`, for the (rep, month)s of the marked rep-days. `month`
    is the month's first day.
    """

    __tablename__ = "kind_month"

    rep_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    month: ColumnClause[dt.date] = Column(Date, primary_key=True)
    kind: ColumnClause[str] = Column(String(64), primary_key=True)
    activities: ColumnClause[int] = Column(Integer, nullable=False)
    asks: ColumnClause[int] = Column(Integer, nullable=False)
    engaged: ColumnClause[int] = Column(Integer, nullable=False)
    last_day: ColumnClause[dt.date] = Column(Date, nullable=False)

    __table_args__ = ({"sqlite_with_rowid": False},)


class HourDay(Base):
    """Activities per rep, business day and UTC hour, with the counts "when to sell" shows.

    When-to-sell groups a window's activities by UTC hour (then turns each hour into its
    local weekday and hour in Python, DST-correct); reading every activity of a 180-day
    window took 6.6 s at 10M activities. These rows hold the same five counts per UTC hour:
    every activity, calls, connected calls, outreach attempts and engaged attempts. `minute`
    is the minute past the hour of activities at a whole minute where local midnight can
    fall in the zone (a date stored without a time, `timing.split_untimed`), else -1, so the
    untimed are still told apart. Kept by the rollup's marks, with a fingerprint of its own
    (`rollup_state` row 2), so a changed time zone or call definition rebuilds this table
    alone.
    """

    __tablename__ = "hour_day"

    rep_id: ColumnClause[int] = Column(Id, primary_key=True, autoincrement=False)
    local_date: ColumnClause[dt.date] = Column(Date, primary_key=True)
    hour: ColumnClause[dt.datetime] = Column(DateTime, primary_key=True)
    minute: ColumnClause[int] = Column(Integer, primary_key=True, autoincrement=False)
    activities: ColumnClause[int] = Column(Integer, nullable=False)
    calls: ColumnClause[int] = Column(Integer, nullable=False)
    conversations: ColumnClause[int] = Column(Integer, nullable=False)
    attempts: ColumnClause[int] = Column(Integer, nullable=False)
    engaged: ColumnClause[int] = Column(Integer, nullable=False)

    __table_args__ = ({"sqlite_with_rowid": False},)


class RollupDirty(Base):
    """A rep-day whose activities changed since `metric_day` was last brought up to date.

    Written by triggers, never by Python, so no write path (import, API, a manual SQL fix) can
    forget it. Append-only on purpose: a unique (rep, day) key made every imported row probe
    an index and slowed SQLite imports by half (measured); duplicates cost nothing, since a
    refresh reads the distinct rep-days of the marks up to the newest id it saw and deletes
    exactly those marks, leaving later ones for the next refresh.
    """

    __tablename__ = "rollup_dirty"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    rep_id: ColumnClause[int] = Column(Id, nullable=False)
    local_date: ColumnClause[dt.date] = Column(Date, nullable=False)


class RollupDirtyContact(Base):
    """A contact whose seniority or decision-maker flag changed: its activities' days are stale.

    Append-only like `rollup_dirty`; a refresh claims the marks with DELETE … RETURNING.
    """

    __tablename__ = "rollup_dirty_contact"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    contact_id: ColumnClause[int] = Column(Id, nullable=False)


class RollupState(Base):
    """Fingerprint of the metric definitions `metric_day` was built with (row 1), and of
    what `hour_day` was built with (row 2: `hours.fingerprint`)."""

    __tablename__ = "rollup_state"

    id: ColumnClause[int] = Column(Integer, primary_key=True, autoincrement=False)
    fingerprint: ColumnClause[str] = Column(String(64), nullable=False)
    built_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)


class MoneyCurrency(Base):
    """The currency the stored amounts are in (one row, absent until an import names one):
    the configured `[money] currency`, else the first marked amount or currency code an
    import accepted. Later imports count in it, so dollars and euros are never added."""

    __tablename__ = "money_currency"

    id: ColumnClause[int] = Column(Integer, primary_key=True, autoincrement=False)
    # An ISO 4217 code ("EUR"), or a symbol ("$") while which dollar is unknown.
    currency: ColumnClause[str] = Column(String(8), nullable=False)
    recorded_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)


class DayZone(Base):
    """The time zone `activity.local_date` was derived in (one row, absent until something
    is derived): the configured `[calendar] timezone` when the days were written. A changed
    zone is told from it, and the stored days are derived again (`store.day_zone`) rather
    than counted on days of the zone before."""

    __tablename__ = "day_zone"

    id: ColumnClause[int] = Column(Integer, primary_key=True, autoincrement=False)
    zone: ColumnClause[str] = Column(String(64), nullable=False)  # an IANA name
    recorded_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    # The zone the keys of activities imported without an id are worked out in: the first
    # zone recorded, never changed after (`store.day_zone.key_zone`), so that a file
    # imported again after a change of zone finds its rows under the keys they were given.
    key_zone: ColumnClause[str | None] = Column(String(64))


class AppUser(Base):
    """Someone who logs in: an admin, a manager (sees their team) or a rep (sees themself).

    A user is linked to a rep record when they are one (or manage a team as one); the rep's
    team decides what a manager may see. Passwords are stored only as Argon2 hashes.
    """

    __tablename__ = "app_user"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    username: ColumnClause[str] = Column(String(120), unique=True, nullable=False)
    # Case-folded in Python: SQLite's lower() folds only ASCII, so 'Élodie' needs this.
    username_key: ColumnClause[str] = Column(String(120), unique=True, nullable=False)
    password_hash: ColumnClause[str] = Column(String(200), nullable=False)
    role: ColumnClause[str] = Column(String(16), nullable=False)  # admin / manager / rep
    rep_id: ColumnClause[int | None] = Column(ForeignKey("rep.id"))
    team_id: ColumnClause[int | None] = Column(ForeignKey("team.id"))
    active: ColumnClause[bool] = Column(Boolean, default=True, nullable=False)
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; revoked tokens stay for the record."""

    __tablename__ = "api_token"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    user_id: ColumnClause[int] = Column(
        ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False
    )
    name: ColumnClause[str] = Column(String(120), nullable=False)
    token_hash: ColumnClause[str] = Column(String(64), unique=True, nullable=False)
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    last_used_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    revoked_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    # The token this one was minted with, if any: revoking a token revokes its children.
    parent_id: ColumnClause[int | None] = Column(ForeignKey("api_token.id"))


class KioskLink(Base):
    """A wall screen's read-only link to one team's TV board: only its SHA-256 is stored.

    It is not a session (it never expires with one) and opens nothing but that board; a
    revoked link stays for the record."""

    __tablename__ = "kiosk_link"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    team_id: ColumnClause[int] = Column(ForeignKey("team.id", ondelete="CASCADE"), nullable=False)
    name: ColumnClause[str] = Column(String(120), nullable=False)
    token_hash: ColumnClause[str] = Column(String(64), unique=True, nullable=False)
    created_by: ColumnClause[int | None] = Column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    last_used_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    revoked_at: ColumnClause[dt.datetime | None] = Column(DateTime)


class WebSession(Base):
    """A browser session: the cookie carries a random token, stored here only as its hash."""

    __tablename__ = "web_session"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    user_id: ColumnClause[int] = Column(
        ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False
    )
    token_hash: ColumnClause[str] = Column(String(64), unique=True, nullable=False)
    csrf_token: ColumnClause[str] = Column(String(64), nullable=False)
    created_at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    expires_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)


class LoginAttempt(Base):
    """Failed logins, by user name and address: the rate limit reads the recent ones."""

    __tablename__ = "login_attempt"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    username: ColumnClause[str] = Column(String(120), nullable=False)
    address: ColumnClause[str] = Column(String(64), nullable=False)
    at: ColumnClause[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)

    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )


class AlertDelivery(Base):
    """One alert delivered (or being delivered) to one recipient through one channel.

    An alert's identity is (rep, metric, rule, period): the same shortfall seen again the next
    day is the same alert. While it stands, its row is `active` and the alert is not sent
    again; when a run no longer finds it, the row is closed (`cleared_at`), so an alert that
    returns opens a new row and is sent again. The partial unique index allows one active row
    per identity and recipient, which also keeps two runs at once from both sending it: the
    row is claimed (inserted as `pending`) before the message goes out. Failed rows stay
    active and are retried by the next run. The rows are the delivery log.
    """

    __tablename__ = "alert_delivery"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    channel: ColumnClause[str] = Column(String(64), nullable=False)
    recipient: ColumnClause[str] = Column(String(320), nullable=False)
    rep: ColumnClause[str] = Column(String(200), nullable=False)
    metric: ColumnClause[str] = Column(String(64), nullable=False)  # "" when the rule names none
    rule: ColumnClause[str] = Column(String(32), nullable=False)
    period: ColumnClause[str] = Column(
        String(64), nullable=False
    )  # the alert period's label, e.g. 2026-12
    as_of: ColumnClause[dt.date] = Column(Date, nullable=False)  # the day the alert was first found
    status: ColumnClause[str] = Column(String(16), nullable=False)  # pending / sent / failed
    active: ColumnClause[bool] = Column(Boolean, default=True, nullable=False)
    attempts: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    error: ColumnClause[str | None] = Column(String(1000))  # why the last attempt failed
    found_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    last_attempt_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    sent_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    cleared_at: ColumnClause[dt.datetime | None] = Column(DateTime)

    __table_args__ = (
        PartialIndex(
            "uq_alert_delivery_active",
            "channel",
            "recipient",
            "rep",
            "metric",
            "rule",
            "period",
            unique=True,
            where="active",
        ),
        Index("ix_alert_delivery_channel_found", "channel", "found_at"),
    )


class AuditEntry(Base):
    """One change to an activity, deal, target, user, rep or token (or one import run), as
    written by the service that made it, in the same transaction. `before`/`after` are JSON
    of the changed fields only; secrets (password hashes, token digests) never appear."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity_at", "entity", "at"),)

    id: ColumnClause[int] = Column(Id, primary_key=True)
    at: ColumnClause[dt.datetime] = Column(DateTime, index=True, nullable=False)
    actor: ColumnClause[str] = Column(
        String(160), nullable=False
    )  # a user name, "operator", "import N"
    user_id: ColumnClause[int | None] = Column(Integer)
    face: ColumnClause[str] = Column(String(16), nullable=False)  # cli / api / web / import
    entity: ColumnClause[str] = Column(String(32), nullable=False)
    entity_id: ColumnClause[str | None] = Column(String(64))
    action: ColumnClause[str] = Column(String(32), nullable=False)
    before: ColumnClause[str | None] = Column(Text)
    after: ColumnClause[str | None] = Column(Text)


class JobRun(Base):
    """One scheduled run of a configured job for one scope (a team, or "" for the whole
    organisation) at one scheduled instant (naive UTC).

    The unique key (job, scope, scheduled_for) is the claim: a scheduler inserts the row
    before doing anything, so two schedulers on one database cannot both run the same slot.
    `lease_until` says until when the claimer is taken to be alive; a `running` row whose
    lease has passed was left by a scheduler that died, and is taken over by the next."""

    __tablename__ = "job_run"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    job: ColumnClause[str] = Column(String(64), nullable=False)
    scope: ColumnClause[str] = Column(String(200), nullable=False)
    scheduled_for: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    status: ColumnClause[str] = Column(
        String(16), nullable=False
    )  # running / done / failed / skipped
    claimed_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    lease_until: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    finished_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    attempts: ColumnClause[int] = Column(Integer, default=1, nullable=False)
    outcome: ColumnClause[str | None] = Column(String(1000))

    __table_args__ = (UniqueConstraint("job", "scope", "scheduled_for", name="uq_job_run_slot"),)


class JobDelivery(Base):
    """One person's (or destination's) part of a job run: claimed before it is sent.

    `deferred` rows wait for `not_before` (the end of the recipient's quiet hours); `pending`
    rows were claimed by a run that may have died before it knew the outcome, and are sent
    by the run that takes it over."""

    __tablename__ = "job_delivery"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    run_id: ColumnClause[int] = Column(ForeignKey("job_run.id"), index=True, nullable=False)
    recipient: ColumnClause[str] = Column(String(320), nullable=False)
    channel: ColumnClause[str] = Column(String(64), nullable=False)
    subject: ColumnClause[str] = Column(
        String(200), nullable=False
    )  # the rep or team the message is about
    status: ColumnClause[str] = Column(
        String(16), nullable=False
    )  # pending / deferred / sent / failed
    not_before: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    attempts: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    error: ColumnClause[str | None] = Column(String(1000))
    sent_at: ColumnClause[dt.datetime | None] = Column(DateTime)

    __table_args__ = (
        UniqueConstraint("run_id", "recipient", "subject", name="uq_job_delivery_item"),
        Index("ix_job_delivery_status_not_before", "status", "not_before"),
    )


class UserPreference(Base):
    """What a user wants sent to them: which digests and alerts, through which channel, and
    quiet hours (local "HH:MM" in their team's zone) inside which nothing is sent."""

    __tablename__ = "user_preference"

    user_id: ColumnClause[int] = Column(ForeignKey("app_user.id"), primary_key=True)
    rep_digest: ColumnClause[bool] = Column(Boolean, default=True, nullable=False)
    manager_digest: ColumnClause[bool] = Column(Boolean, default=True, nullable=False)
    alerts: ColumnClause[bool] = Column(Boolean, default=True, nullable=False)
    channel: ColumnClause[str | None] = Column(String(64))  # None: the job's channel
    quiet_start: ColumnClause[str | None] = Column(String(5))
    quiet_end: ColumnClause[str | None] = Column(String(5))
    updated_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)


class SyncRun(Base):
    """One `paceline sync` of a CRM: when, how it ended and what its imports counted.

    The rows themselves are accounted for by the `import_run`s the sync's imports record
    (one per object); this is the summary the sync status shows per source."""

    __tablename__ = "sync_run"

    id: ColumnClause[int] = Column(Id, primary_key=True)
    source: ColumnClause[str] = Column(
        String(64), index=True, nullable=False
    )  # the connector: hubspot ...
    full: ColumnClause[bool] = Column(Boolean, default=False, nullable=False)  # ignored the cursors
    started_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
    finished_at: ColumnClause[dt.datetime | None] = Column(DateTime)
    status: ColumnClause[str] = Column(
        String(16), default="running", nullable=False
    )  # running/done/failed
    failure: ColumnClause[str | None] = Column(String(1000))
    fetched: ColumnClause[int] = Column(Integer, default=0, nullable=False)  # records the API sent
    requests: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    rows_read: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    inserted: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    updated: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    unchanged: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    duplicate: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    skipped: ColumnClause[int] = Column(Integer, default=0, nullable=False)
    rejected: ColumnClause[int] = Column(Integer, default=0, nullable=False)


class SyncCursor(Base):
    """A source's high-water mark per object (HubSpot's calls, Pipedrive's deals): the
    latest modification time a finished sync fetched. The next sync asks the API only for
    records changed since; a sync that fails leaves it as it was."""

    __tablename__ = "sync_cursor"

    source: ColumnClause[str] = Column(String(64), primary_key=True)
    object: ColumnClause[str] = Column(String(64), primary_key=True)
    cursor: ColumnClause[str] = Column(String(64), nullable=False)  # in the API's own format
    run_id: ColumnClause[int | None] = Column(ForeignKey("sync_run.id"))
    updated_at: ColumnClause[dt.datetime] = Column(DateTime, nullable=False)
