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

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


def utcnow() -> dt.datetime:
    """Timestamps for rows come from the one clock, so a set clock dates them too."""
    return clock.utcnow()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Rep(Base):
    __tablename__ = "rep"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(64), default="ae")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id"))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    capacity: Mapped[float] = mapped_column(Float, default=1.0)
    source: Mapped[str] = mapped_column(String(64), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    # name_key(name), filled on insert; look-ups by name compare it on its index.
    name_key: Mapped[str] = mapped_column(
        String(KEY_LENGTH), default=name_key_default, server_default="", index=True
    )
    industry: Mapped[str | None] = mapped_column(String(200))
    account_type: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id"))
    source: Mapped[str] = mapped_column(String(64), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class Contact(Base):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(
        String(KEY_LENGTH), default=name_key_default, server_default="", index=True
    )
    title: Mapped[str | None] = mapped_column(String(200))
    seniority: Mapped[str | None] = mapped_column(String(32))
    is_decision_maker: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(64), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class Deal(Base):
    __tablename__ = "deal"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("rep.id"))
    # Who sourced the opportunity (e.g. the SDR who set the meeting); the owner works it.
    sourced_by_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    # None: the CRM left it empty (unknown), which is not the same as a deal worth 0.
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    stage: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8))  # open / won / lost
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    expected_close: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(200))
    row_hash: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The import that last wrote the row (see Activity.import_run_id).
    import_run_id: Mapped[int | None] = mapped_column(Id)

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_deal_rep_status", "rep_id", "status"),
        Index("ix_deal_rep_created", "rep_id", "created_at"),
        Index("ix_deal_sourced_created", "sourced_by_id", "created_at"),
        Index("ix_deal_status_closed", "status", "closed_at"),
        # The deal list's order, newest first, paged by a keyset cursor (records.list_deals).
        Index("ix_deal_created_id", "created_at", "id"),
    )


class DealStageHistory(Base):
    """One row per stage a deal entered, with when; the funnel and time-in-stage read this."""

    __tablename__ = "deal_stage_history"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))  # None: not known then
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_deal_stage_history_deal_entered", "deal_id", "entered_at"),)


class Activity(Base):
    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("rep.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deal.id"))
    kind: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    local_date: Mapped[dt.date] = mapped_column(Date)
    duration_min: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(64))
    has_ask: Mapped[bool] = mapped_column(Boolean, default=False)
    engaged: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), default="manual")
    external_id: Mapped[str | None] = mapped_column(String(200))
    row_hash: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The import that last wrote the row (None: written by hand, the API or the demo), so an
    # import tells the rows it wrote from those another import wrote meanwhile. No foreign
    # key: an imported row pays one integer, not a constraint check.
    import_run_id: Mapped[int | None] = mapped_column(Id)

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # Per-rep-per-day aggregation: a rep's days in a range, grouped by kind. Every index
        # costs 2-5 us per imported row on SQLite (measured), so there are only these.
        Index("ix_activity_rep_day_kind", "rep_id", "local_date", "kind"),
        Index("ix_activity_account", "account_id"),
        # The activity list's order, newest first, paged by a keyset cursor: without it each
        # first page sorted the whole table (records.list_activities).
        Index("ix_activity_occurred_id", "occurred_at", "id"),
        Index(
            "ix_activity_deal",
            "deal_id",
            sqlite_where=text("deal_id IS NOT NULL"),
            postgresql_where=text("deal_id IS NOT NULL"),
        ),
    )


class Target(Base):
    """A rep's target for one metric over one period; team targets are the sum of their reps'."""

    __tablename__ = "target"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("rep.id"))
    metric: Mapped[str] = mapped_column(String(64))
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(16), default="manual")  # manual / plan
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("rep_id", "metric", "period_kind", "period_start"),
        Index("ix_target_period", "period_kind", "period_start"),
    )


class ImportRun(Base):
    """One import, with its row accounting: an audit trail of what came in and when."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(1000))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # running / done / failed / interrupted (its process died; found by a later import)
    status: Mapped[str] = mapped_column(String(16), default="running")
    failure: Mapped[str | None] = mapped_column(String(1000))  # why a failed import failed
    # Who runs it and when it was last seen alive (each batch), to tell a run whose process
    # is gone: on the same host by its process, elsewhere by a heartbeat gone quiet.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    pid_started: Mapped[int | None] = mapped_column(BigInteger)  # the process's start (Linux)


class ImportSeen(Base):
    """Ids of already-stored records an import has matched so far; emptied when it ends.

    Lets a re-import tell a row repeated later in the same file (a duplicate) from the first
    match of a stored record, in constant memory whatever the file's size.
    """

    __tablename__ = "import_seen"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("import_run.id", ondelete="CASCADE"), primary_key=True
    )
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


class MetricDay(Base):
    """Each activity metric's value per rep and business day: the rollup analytics read.

    Scorecards and leaderboards sum a handful of these rows per rep instead of scanning every
    activity of the period, so their cost follows reps x days, not history. The rows are
    derived data: `rollup_dirty` (filled by database triggers on every activity write) says
    which rep-days to recompute, and `rollup_state` says which metric definitions built them.
    """

    __tablename__ = "metric_day"

    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    rep_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    value: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_metric_day_rep_day", "rep_id", "local_date"),
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
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    rep_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    first_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime)
    events: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_prospect_day_rep_day", "rep_id", "local_date"),
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

    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    rep_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    first_at: Mapped[dt.datetime] = mapped_column(DateTime)
    first_date: Mapped[dt.date] = mapped_column(Date)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_date: Mapped[dt.date] = mapped_column(Date)
    ordered: Mapped[bool] = mapped_column(Boolean)

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

    rep_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    activities: Mapped[int] = mapped_column(Integer)
    asks: Mapped[int] = mapped_column(Integer)
    engaged: Mapped[int] = mapped_column(Integer)

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

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    rep_id: Mapped[int] = mapped_column(Id)
    local_date: Mapped[dt.date] = mapped_column(Date)


class RollupDirtyContact(Base):
    """A contact whose seniority or decision-maker flag changed: its activities' days are stale.

    Append-only like `rollup_dirty`; a refresh claims the marks with DELETE … RETURNING.
    """

    __tablename__ = "rollup_dirty_contact"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(Id)


class RollupState(Base):
    """Fingerprint of the metric definitions `metric_day` was built with (one row)."""

    __tablename__ = "rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AppUser(Base):
    """Someone who logs in: an admin, a manager (sees their team) or a rep (sees themself).

    A user is linked to a rep record when they are one (or manage a team as one); the rep's
    team decides what a manager may see. Passwords are stored only as Argon2 hashes.
    """

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    # Case-folded in Python: SQLite's lower() folds only ASCII, so 'Élodie' needs this.
    username_key: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin / manager / rep
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("rep.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; revoked tokens stay for the record."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The token this one was minted with, if any: revoking a token revokes its children.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))


class KioskLink(Base):
    """A wall screen's read-only link to one team's TV board: only its SHA-256 is stored.

    It is not a session (it never expires with one) and opens nothing but that board; a
    revoked link stays for the record."""

    __tablename__ = "kiosk_link"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A browser session: the cookie carries a random token, stored here only as its hash."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LoginAttempt(Base):
    """Failed logins, by user name and address: the rate limit reads the recent ones."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

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

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    rep: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(64))  # "" when the rule names none
    rule: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(64))  # the alert period's label, e.g. 2026-12
    as_of: Mapped[dt.date] = mapped_column(Date)  # the day the alert was first found
    status: Mapped[str] = mapped_column(String(16))  # pending / sent / failed
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(1000))  # why the last attempt failed
    found_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index(
            "uq_alert_delivery_active",
            "channel",
            "recipient",
            "rep",
            "metric",
            "rule",
            "period",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index("ix_alert_delivery_channel_found", "channel", "found_at"),
    )


class AuditEntry(Base):
    """One change to an activity, deal, target, user, rep or token (or one import run), as
    written by the service that made it, in the same transaction. `before`/`after` are JSON
    of the changed fields only; secrets (password hashes, token digests) never appear."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity_at", "entity", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(160))  # a user name, "operator", "import N"
    user_id: Mapped[int | None] = mapped_column(Integer)
    face: Mapped[str] = mapped_column(String(16))  # cli / api / web / import
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class JobRun(Base):
    """One scheduled run of a configured job for one scope (a team, or "" for the whole
    organisation) at one scheduled instant (naive UTC).

    The unique key (job, scope, scheduled_for) is the claim: a scheduler inserts the row
    before doing anything, so two schedulers on one database cannot both run the same slot.
    `lease_until` says until when the claimer is taken to be alive; a `running` row whose
    lease has passed was left by a scheduler that died, and is taken over by the next."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(200))
    scheduled_for: Mapped[dt.datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # running / done / failed / skipped
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    lease_until: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    outcome: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (UniqueConstraint("job", "scope", "scheduled_for", name="uq_job_run_slot"),)


class JobDelivery(Base):
    """One person's (or destination's) part of a job run: claimed before it is sent.

    `deferred` rows wait for `not_before` (the end of the recipient's quiet hours); `pending`
    rows were claimed by a run that may have died before it knew the outcome, and are sent
    by the run that takes it over."""

    __tablename__ = "job_delivery"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("job_run.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))  # the rep or team the message is about
    status: Mapped[str] = mapped_column(String(16))  # pending / deferred / sent / failed
    not_before: Mapped[dt.datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("run_id", "recipient", "subject", name="uq_job_delivery_item"),
        Index("ix_job_delivery_status_not_before", "status", "not_before"),
    )


class UserPreference(Base):
    """What a user wants sent to them: which digests and alerts, through which channel, and
    quiet hours (local "HH:MM" in their team's zone) inside which nothing is sent."""

    __tablename__ = "user_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    rep_digest: Mapped[bool] = mapped_column(Boolean, default=True)
    manager_digest: Mapped[bool] = mapped_column(Boolean, default=True)
    alerts: Mapped[bool] = mapped_column(Boolean, default=True)
    channel: Mapped[str | None] = mapped_column(String(64))  # None: the job's channel
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SyncRun(Base):
    """One `paceline sync` of a CRM: when, how it ended and what its imports counted.

    The rows themselves are accounted for by the `import_run`s the sync's imports record
    (one per object); this is the summary the sync status shows per source."""

    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)  # the connector: hubspot ...
    full: Mapped[bool] = mapped_column(Boolean, default=False)  # ignored the cursors
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running/done/failed
    failure: Mapped[str | None] = mapped_column(String(1000))
    fetched: Mapped[int] = mapped_column(Integer, default=0)  # records the API sent
    requests: Mapped[int] = mapped_column(Integer, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)


class SyncCursor(Base):
    """A source's high-water mark per object (HubSpot's calls, Pipedrive's deals): the
    latest modification time a finished sync fetched. The next sync asks the API only for
    records changed since; a sync that fails leaves it as it was."""

    __tablename__ = "sync_cursor"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    object: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(64))  # in the API's own format
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
