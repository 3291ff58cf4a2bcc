"""Engines and sessions for SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import logging
import select
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from paceline.config import MAX_OVERFLOW, POOL_SIZE, POOL_TIMEOUT_S, Settings, resolve_read_url

if TYPE_CHECKING:  # the ORM loads only for a caller that wants sessions
    from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
HOLDS_WRITE_LOCK = "paceline.holds_write_lock"  # a SQLite transaction begun IMMEDIATE
# PostgreSQL errors that say "too busy now, the same request may succeed later": too many
# connections, the server starting or shutting down, a lock or statement timeout, a
# serialization failure or deadlock.
RETRYABLE_SQLSTATES = frozenset({"53300", "57P03", "55P03", "57014", "40001", "40P01"})


class DatabaseUrlError(ValueError):
    """A --db / PACELINE_DB value Paceline cannot use."""


def normalise_url(url: str) -> str:
    """Accept the URLs people type (postgres://, postgresql://) and pick the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise DatabaseUrlError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return url
    raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def make_engine(
    url: str,
    *,
    pool_size: int = POOL_SIZE,
    max_overflow: int = MAX_OVERFLOW,
    pool_timeout: float = POOL_TIMEOUT_S,
    **kwargs: Any,
) -> Engine:
    """An engine configured for concurrent use: WAL and a busy timeout on SQLite; a bounded
    pool whose exhaustion raises `PoolTimeout` after `pool_timeout` seconds (the faces answer
    it 503, see `is_busy`). An in-memory SQLite database keeps SQLAlchemy's own pool."""
    url = normalise_url(url)
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if url.startswith("sqlite"):
        database = make_url(url).database
        in_memory = not database or database == ":memory:" or database.startswith("file::memory")
        if not in_memory:
            Path(database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **({} if in_memory else pool),
            **kwargs,
        )
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    if not hasattr(select, "poll"):  # no poll(2) (Windows): a round trip per check-out
        return create_engine(url, pool_pre_ping=True, **pool, **kwargs)
    engine = create_engine(url, **pool, **kwargs)
    event.listen(engine, "checkout", _drop_if_closed_by_server)
    return engine


def _drop_if_closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has ended is replaced before use, without
    a round trip: SQLAlchemy's `pool_pre_ping` sent an empty statement at every check-out,
    a round trip per check-out to the PostgreSQL server, which shares the cores.

    A connection idle in the pool has nothing to read unless the server has spoken: a
    restart, `pg_terminate_backend` or an idle timeout sends its FATAL error and closes the
    socket, which then polls readable. Anything readable (or a connection the driver knows
    is broken or not idle) raises `DisconnectionError`, on which the pool discards the
    connection and checks out another (a fresh one when the pool is empty). The one case
    the ping caught and this does not, a server gone without closing the socket (a network
    cut), made the ping wait for TCP's own time-out anyway."""
    from psycopg import pq  # loaded already: the connection is psycopg's

    pgconn = dbapi_connection.pgconn
    idle = pgconn.transaction_status == pq.TransactionStatus.IDLE
    if dbapi_connection.closed or pgconn.status != pq.ConnStatus.OK or not idle:
        raise DisconnectionError("the connection is broken")
    if dbapi_connection.autocommit:  # a read_connection that could not switch it back
        raise DisconnectionError("the connection was left in autocommit")
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection or sent unasked-for data")


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """`engine.connect()` for reads that need no transaction around them (each statement
    sees what was committed when it started, which is all a transaction gives a reader at
    READ COMMITTED, PostgreSQL's default, and all Python's sqlite3 gives a SELECT anyway).

    On PostgreSQL the connection runs in autocommit: no BEGIN before the first statement
    and no ROLLBACK at the end, two round trips fewer per use; and psycopg keeps its
    prepared statements, which it drops at every ROLLBACK. A write made on it (the token's
    `last_used_at`) commits on its own. Its isolation level is restored when it goes back
    to the pool. SQLite's connections are left as they are.

    The driver's own switch, not SQLAlchemy's `isolation_level` option: that one validated
    and set the level at every check-out and reset it at every check-in, about 4% of the
    instructions of a light request (two reads) on PostgreSQL, measured with callgrind. The
    pool never hands out a connection still in autocommit (`_drop_if_closed_by_server`)."""
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            yield conn
            return
        from psycopg import pq  # loaded already: the connection is psycopg's

        driver: Any = conn.connection.driver_connection  # psycopg.Connection
        driver.autocommit = True
        try:
            yield conn
        finally:
            if not driver.closed and driver.pgconn.transaction_status == pq.TransactionStatus.IDLE:
                driver.autocommit = False


# A read engine -> the engine of the database it replicates (see `read_engine`).
_PRIMARY_OF: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
# How long an analysis on a replica waits for it to replay the primary's latest changes
# before reading what it has (`wait_for_replay`); a replica seconds behind is unwell.
REPLAY_WAIT_S = 5.0
_REPLAY_POLL_S = 0.01
log = logging.getLogger(__name__)


def read_engine(settings: Settings, primary: Engine) -> Engine:
    """The engine analyses read from: the read replica when `[database] read_url` (or
    $PACELINE_READ_DB) names one, else `primary` itself.

    A replica cannot be written to, so the aggregates' refresh an analysis starts with runs on
    `primary` (`primary_of`; see `analytics.rollup.ensure_rollup`); everything else the
    analysis reads comes from the replica.
    """
    url = resolve_read_url(settings)
    if url is None or normalise_url(url) == normalise_url(primary.url.render_as_string(False)):
        return primary
    engine = make_engine(url, **settings.database.pool())
    _PRIMARY_OF[engine] = primary
    return engine


def primary_of(engine: Engine) -> Engine:
    """The database a read engine replicates; any other engine is its own primary."""
    return _PRIMARY_OF.get(engine, engine)


def wait_for_replay(primary: Engine, replica: Engine, timeout: float = REPLAY_WAIT_S) -> bool:
    """Wait until `replica` has replayed everything `primary` had written when this was
    called, so that a read after a write (or after the refresh it caused) sees it; whether it
    caught up within `timeout` seconds (if not, the read sees the replica as it is).

    True at once for a database that is not a PostgreSQL standby (`pg_last_wal_replay_lsn()`
    is NULL there): a second database standing in for a replica, SQLite.
    """
    if primary.dialect.name != "postgresql" or replica.dialect.name != "postgresql":
        return True
    with primary.connect() as conn:
        written = conn.scalar(text("SELECT CAST(pg_current_wal_lsn() AS text)"))
    deadline = time.monotonic() + timeout
    with replica.connect() as conn:
        while True:
            replayed = conn.scalar(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": written}
            )
            conn.rollback()  # a fresh snapshot for the next look, and for the caller's read
            if replayed is None or replayed:
                return True
            if time.monotonic() >= deadline:
                log.warning("the read replica is more than %.0f s behind; reading it", timeout)
                return False
            time.sleep(_REPLAY_POLL_S)


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means "saturated, try again shortly" rather than a fault: no
    pooled connection free within the pool timeout, SQLite locked beyond its busy timeout, or
    one of PostgreSQL's retryable refusals (`RETRYABLE_SQLSTATES`)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in RETRYABLE_SQLSTATES
    message = str(exc.orig).lower()
    return "database is locked" in message or "database table is locked" in message


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages stay hot during imports
    cursor.close()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for a transaction that reads, then writes what it found missing.

    On SQLite it holds the database's write lock from its first statement (BEGIN
    IMMEDIATE). Python's sqlite3 driver runs SELECTs outside any transaction and only
    BEGINs before the first write, so a check-then-insert there races with another process
    doing the same: both see the name missing, both insert it. With the lock taken first,
    what the transaction reads stays true until it commits. Other readers are not blocked
    (WAL); other writers wait, up to the busy timeout.
    """
    with engine.begin() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.info[HOLDS_WRITE_LOCK] = True  # see store.names.lock_names
        try:
            yield conn
        finally:
            conn.info.pop(HOLDS_WRITE_LOCK, None)


REFERENCES_UNCHECKED = "paceline.references_unchecked"  # see write_transaction_unchecked


@contextmanager
def write_transaction_unchecked(engine: Engine) -> Iterator[Connection]:
    """`write_transaction` with SQLite's row-by-row foreign-key checks off, for a bulk
    insert whose writer checks its references by set before it commits (a parent look-up
    per reference per row was 10 to 15% of a bulk insert of activities, measured:
    benchmarks/README.md, import_throughput). The connection says so in its `info`
    (`REFERENCES_UNCHECKED`); the checks are on again before it goes back to the pool
    (or it is discarded). Elsewhere, `write_transaction` as it is.

    SQLite changes `foreign_keys` only outside a transaction: the pragma goes to the
    driver before `BEGIN IMMEDIATE`, and back after the commit or the rollback."""
    if engine.dialect.name != "sqlite":
        with write_transaction(engine) as conn:
            yield conn
        return
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.info[HOLDS_WRITE_LOCK] = True
                conn.info[REFERENCES_UNCHECKED] = True
                try:
                    yield conn
                finally:
                    conn.info.pop(HOLDS_WRITE_LOCK, None)
                    conn.info.pop(REFERENCES_UNCHECKED, None)
        finally:
            try:
                driver.execute("PRAGMA foreign_keys=ON")
            except Exception:
                conn.invalidate()  # never back to the pool without its checks
                raise


def session_factory(engine: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
