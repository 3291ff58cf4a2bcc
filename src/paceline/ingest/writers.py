"""Writers: store checked records of one entity a batch at a time, counting each row.

Each batch is one transaction. Records are matched on (source, external id); new ones are
inserted at driver speed, changed ones updated, and repeats within the same import counted
as duplicates (or rejected when their values differ), whatever the batch size.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields as dc_fields
from types import MappingProxyType
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from paceline.config import Settings
from paceline.ingest.accounting import (
    Batch,
    ColumnBatch,
    ErrorSink,
    ImportOptions,
    ImportResult,
    Pending,
)
from paceline.ingest.entities import ENTERED_AFTER_CLOSE, Record
from paceline.ingest.mapping import Entity
from paceline.ingest.placeholders import PLACEHOLDERS_REMOVED, drop_emptied_placeholders
from paceline.store import audit
from paceline.store.audit import Actor
from paceline.store.bulk import (
    Staged,
    build_indexes,
    check_references,
    check_table_references,
    copy_rows,
    defer_indexes,
    insert_by_set,
    insert_columns,
    insert_new_keys,
    stored_by_keys,
    stored_values_by_id,
    validate_references,
)
from paceline.store.deal_waits import Wait, any_waiting, hold, link_arrived
from paceline.store.engine import (
    REFERENCES_UNCHECKED,
    write_transaction,
    write_transaction_unchecked,
)
from paceline.store.keys import with_name_key
from paceline.store.loads import complete_interrupted_load
from paceline.store.merges import merge_account
from paceline.store.models import (
    Account,
    Activity,
    Contact,
    Deal,
    DealStageHistory,
    ImportSeen,
    Rep,
    utcnow,
)
from paceline.store.names import (
    AccountResolver,
    ContactResolver,
    RepResolver,
    TeamResolver,
    chunks,
    deal_resolver,
    default_role,
    lock_names,
    name_key,
    near_duplicate,
    placeholder_name,
)
from paceline.store.runs import (
    FAILURE_LENGTH,
    any_running,
    beat,
    finish_run,
    start_run,
    sweep_interrupted,
)
from paceline.store.statistics import analyse_grown

MIN_ROWS_BEFORE_ANALYZE = 20_000
# The import report's warning for deals kept although they close before their creation.
CLOSED_BEFORE_CREATED = (
    "warning: closed before created (close date before the creation: entered after it "
    "closed); kept on its close date, its sales cycle unknown"
)


# The import report's note for reps a file names only on rows stored under another rep.
UNUSED_REPS = (
    "reps not created: named only by rows already stored with another rep (renamed since "
    "they were imported?), which keep it"
)


# The import report's note for accounts made from a name merged into the one this file
# gives that name and an id (see `AccountWriter`).
ACCOUNTS_MERGED = (
    "accounts made from a name merged into the account this file names so by id (held "
    "until now): their activities, deals and contacts moved to it"
)


# The import report's note for activities imported before their deal, linked by its import.
ACTIVITIES_LINKED = (
    "activities imported before their deal linked to it (they are not imported again: "
    "a sync pulls only what changed)"
)


ACTIVITIES_RELINKED = (
    "activities kept without their deal link by an earlier import, linked now (their deal "
    "was imported since)"
)


def zone_moved_rows(moved: int, other_day: int, zone: str, first: str) -> str:
    """The import summary's warning for stored rows a file read again moved because the
    configured zone is no longer the database's first one: the file's times without an
    offset are read in the configured zone (a zone corrected to the team's own reads their
    export at its true instants), but if they are the first zone's, every such row has
    just moved by the zones' difference, and some to another day: said, never silent."""
    days = f", {other_day:,} of them to another day" if other_day else ""
    return (
        f"{moved:,} rows already stored moved to another time{days}: this file's times "
        f"without an offset are read in the configured zone, {zone}, and the database's "
        f"first imports read such times in {first} ([calendar] timezone changed since). If "
        f"the file's times are {first}'s, import it again with --timezone {first}"
    )


def deal_not_imported(example: str) -> str:
    """The import report's warning for activities whose deal this source has not imported
    (a WhatId naming an opportunity of a file left out): they are kept, but every analysis
    that follows a deal (the deal's activities, the funnel by deal, stalled deals) misses
    them, so the count and one id to look up are said, not a bare note."""
    return (
        f"warning: deal not imported: names a deal this source has not imported (e.g. "
        f"{example!r}); kept without its deal link"
    )


def without_its_deal(row_hash: str) -> str:
    """The fingerprint of a row whose deal was not found: another one than the row's own.

    A row's fingerprint covers what the file says (its deal's id), not whether that deal
    was there. Kept as it is, importing the deals and then the activities again (what the
    warning asks) would find each row unchanged and leave it without its deal link while
    the warning no longer counted it. Stored so, the row differs once its deal is found,
    and is updated with the link; while the deal is still missing it stays unchanged."""
    return hashlib.blake2b(f"{row_hash}|deal not found".encode(), digest_size=16).hexdigest()


def stored_fingerprint(record: Record, deal_missing: bool) -> str:
    """The fingerprint to store for an activity `record`, from the file's own one.

    The file's fingerprint is kept apart (`file_hash`) the first time a record is seen:
    a batch the database refused is written again with the same records (whole, then row
    by row), and deriving it again from the one already derived gave yet another. The
    repeat of a row in a later batch then differed from the row stored, and was refused as
    "other values", and an identical re-import counted the row updated."""
    if "file_hash" not in record:
        record["file_hash"] = record["row_hash"]
    file_hash: str = record["file_hash"]
    return without_its_deal(file_hash) if deal_missing else file_hash


# What the database (or its driver) raises for one bad row; a lost connection is not one.
ROW_ERRORS = (DataError, IntegrityError, ValueError, OverflowError)
# PostgreSQL's deadlock_detected and serialization_failure: two imports writing the same
# records at once, where one of them must start its batch again.
COLLISIONS = frozenset({"40P01", "40001"})
COLLISION_ATTEMPTS = 5


def near_duplicate_reason(name: str, existing: str) -> str:
    """Why a row naming a look-alike of an existing rep is refused, and how to confirm it."""
    return (
        f"new rep {name!r} looks like the existing rep {existing!r} (a typo?); correct the"
        f" file, or confirm {name!r} as a new rep (--allow-new-rep {name!r}; on the import"
        " page, the confirm box)"
    )


def _sqlstate(exc: OperationalError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _brief(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's statement and parameters."""
    origin = getattr(exc, "orig", None) or exc
    return (str(origin).strip().splitlines() or [type(origin).__name__])[0][:300]


class Writer:
    """Writes batches of one entity; subclasses know the table and its references."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        result: ImportResult,
        options: ImportOptions,
        sink: ErrorSink,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.result = result
        self.options = options
        self.sink = sink
        self.source = result.source
        self._analysed_at = 0
        self._kept_said: set[str] = set()  # placeholder reps kept, said in the summary
        with write_transaction(engine) as conn:
            # Runs left "running" by a process that died are closed first (see store.runs).
            sweep_interrupted(conn)
            self.prepare(conn)
            self.reps = RepResolver(conn, default_role(settings))
            self.run_id = start_run(conn, result.entity, self.source, result.file, result.reader)
        result.import_run_id = self.run_id

    table: Any = None  # the table whose statistics a large import must keep current
    # The columns of `table` that name a rep the import creates for its rows.
    rep_columns: tuple[Any, ...] = ()
    # The columns of `table` the import's own statements filter and join on; empty: all.
    analyzed_columns: tuple[str, ...] = ()
    # Whether every batch takes the names lock before it reads (see `write`).
    locks_every_batch = True

    def prepare(self, conn: Connection) -> None:
        """Set the table right before the run starts (in the transaction that records it)."""

    def finishing(self, conn: Connection) -> None:
        """Complete the table before the run is recorded ended (in the same transaction)."""

    def write(self, batch: Batch) -> None:
        """One batch, one transaction, which also says the import is alive (heartbeat).

        On SQLite the transaction holds the write lock from its first read, so what it
        found stored stays true until it commits (`write_transaction`). On PostgreSQL the
        writers of small tables (reps, accounts, contacts, deals, stage history) take the
        names lock before reading, so two imports of them write one batch at a time; the
        activity writer takes it only when a batch has names to create, and a batch that
        collides with another import's rows is written again (`write_or_isolate`).
        """
        with self.transaction(batch) as conn:
            if conn.dialect.name == "postgresql":
                # The commit does not wait for the server's disk: a server crash may lose
                # the last batches (their rows and their counts in `import_run` alike; the
                # run is then "interrupted", and importing the file again completes it).
                # `finish` commits as usual, which makes every batch before it durable.
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            self.keep_statistics_current(conn)
            if self.locks_every_batch:
                lock_names(conn)
            made, updated = len(self.reps.created), self.result.updated
            self.write_any(conn, batch)
            self.forget_unused_reps(conn, made)
            if self.result.updated > updated:
                self.forget_emptied_placeholders(conn)
            beat(conn, self.run_id, self.counts())

    def forget_unused_reps(self, conn: Connection, made: int) -> None:
        """Delete the reps this batch created (those after the first `made`) that no row of
        the table names once the batch is stored, in its transaction.

        A rep is created for the name a row gives before the row is compared with the one
        stored. A row stored and unchanged keeps its rep: after `paceline rep edit "Ana
        Ruiz" --name "Ana Ruiz-Lopez"`, importing the same file again left every row with
        Ana Ruiz-Lopez but created an "Ana Ruiz" with no activity, a rep falling behind in
        every alert. Only rows written (new or changed) keep the reps they named."""
        fresh = self.reps.created[made:]
        if not fresh or not self.rep_columns:
            return
        ids = {self.reps.known(name) for name in fresh}
        used: set[Any] = set()
        for column in self.rep_columns:
            used.update(conn.execute(select(column).where(column.in_(ids)).distinct()).scalars())
        unused = ids - used
        if not unused:
            return
        conn.execute(delete(Rep).where(Rep.id.in_(unused)))
        self.reps.created[made:] = [n for n in fresh if self.reps.known(n) not in unused]
        self.reps.reload(conn)
        self.note(UNUSED_REPS, len(unused))

    def forget_emptied_placeholders(self, conn: Connection) -> None:
        """Delete the reps made from an owner id alone that this batch's updates emptied.

        An export imported without its users list credits its rows to placeholder reps
        (`salesforce user 005...`); imported again with the list, the rows move to the
        real names and the placeholders were left with nothing, behind in every alert."""
        removed, kept = drop_emptied_placeholders(conn, self.source)
        if removed:
            self.reps.reload(conn)
            self.note(PLACEHOLDERS_REMOVED, removed)
        for placeholder in kept:
            if placeholder.name not in self._kept_said:  # once an import, not once a batch
                self._kept_said.add(placeholder.name)
                self.result.warn(placeholder.warning())

    def transaction(self, batch: Batch) -> AbstractContextManager[Connection]:
        """The transaction `write` writes `batch` in."""
        return write_transaction(self.engine)

    def beat(self) -> None:
        """Say the import is alive when no batch has been written for a while (a long run
        of rejected or skipped rows)."""
        with write_transaction(self.engine) as conn:
            beat(conn, self.run_id, self.counts())

    def counts(self) -> dict[str, int]:
        """The run's row accounting so far, as `import_run` records it."""
        r = self.result
        return {
            "rows_read": r.read,
            "inserted": r.inserted,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "duplicate": r.duplicate,
            "skipped": r.skipped,
            "rejected": self.sink.count,
        }

    def keep_statistics_current(self, conn: Connection) -> None:
        """ANALYZE the target table on PostgreSQL each time an import has doubled it.

        The existing-id look-up filters on (source, external_id). With statistics taken when
        the table was small, PostgreSQL believes a source has a few hundred rows, scans all of
        them and tests each against the batch's id list: quadratic, minutes per batch at a
        million rows (seen in the benchmark). Re-analysing at every doubling costs a handful
        of sampling passes per import and keeps the plan on the unique index.

        Only `analyzed_columns` are analysed when the writer names them: the table's size
        (which every ANALYZE updates) and those columns are what the import's plans rest on.
        A full ANALYZE of `activity` was 15% of a fresh import's server CPU, three times
        that of the columns alone. Such an ANALYZE leaves the table's count of changes
        standing, so autovacuum still analyses every column, as after any other write.
        """
        if self.table is None or conn.dialect.name != "postgresql":
            return
        written = self.result.inserted + self.result.updated
        if written < max(MIN_ROWS_BEFORE_ANALYZE, 2 * self._analysed_at):
            return
        columns = f" ({', '.join(self.analyzed_columns)})" if self.analyzed_columns else ""
        conn.exec_driver_sql(f"ANALYZE {self.table.name}{columns}")
        self._analysed_at = written

    def write_batch(self, conn: Connection, batch: list[Pending]) -> None:
        raise NotImplementedError

    def write_any(self, conn: Connection, batch: Batch) -> None:
        """`write_batch` for a batch in either form; a writer that writes columns as they
        are (activities) overrides it."""
        self.write_batch(conn, batch.pendings() if isinstance(batch, ColumnBatch) else batch)

    def write_or_isolate(self, batch: Batch) -> None:
        """Write a batch; if the database refuses it, find the rows it refuses and reject them.

        Checks before the database should leave nothing for it to refuse, but a value no
        check foresaw must cost its row, not the import: earlier batches are committed, so
        an abort would leave a half-imported file and a traceback. The refused batch is rolled
        back, the writer's memory of it undone, and its rows written one at a time.

        A unique key refused may also mean another import stored the same record after this
        batch looked (PostgreSQL, where activity batches run side by side): the batch is
        written once more whole, and then finds that record stored.
        """
        refused = self._attempt(batch)
        if isinstance(refused, IntegrityError):
            refused = self._attempt(batch)
        if refused is None:
            return
        for p in batch.pendings() if isinstance(batch, ColumnBatch) else batch:
            refused = self._attempt([p])
            if refused is not None:
                reason = f"the database refused this row: {_brief(refused)}"
                self.sink.reject(p.line, "", reason, p.raw)

    def _attempt(self, batch: Batch) -> Exception | None:
        """Write `batch` in one transaction: None when it committed, else the row error the
        database refused it with (everything undone). A deadlock with another import is
        retried; any other error is raised."""
        attempt = 1
        while True:
            saved = self.checkpoint()
            try:
                self.write(batch)
                return None
            except ROW_ERRORS as exc:
                self.rollback(saved)
                return exc
            except OperationalError as exc:
                self.rollback(saved)
                if _sqlstate(exc) not in COLLISIONS or attempt >= COLLISION_ATTEMPTS:
                    raise
                attempt += 1

    def checkpoint(self) -> dict[str, Any]:
        """What a rolled-back transaction must not leave behind: counts and small state."""
        r = self.result
        return {
            "result": {f.name: copy.copy(getattr(r, f.name)) for f in dc_fields(r)},
            "sink": self.sink.mark(),
            "new_reps": list(self.reps.created),
            "analysed_at": self._analysed_at,
        }

    def rollback(self, saved: dict[str, Any]) -> None:
        """Undo what a refused transaction did to this writer; id caches are rebuilt, as
        they may hold ids of rows the rollback removed."""
        for name, value in saved["result"].items():
            setattr(self.result, name, value)
        self.sink.rollback(saved["sink"])
        self._analysed_at = saved["analysed_at"]
        with self.engine.connect() as conn:
            self.reps = RepResolver(conn, default_role(self.settings))
        self.reps.created = saved["new_reps"]

    def finish(self, failure: str | None = None) -> None:
        """Record how the import ended: "done", or "failed" and why (None: it succeeded)."""
        r = self.result
        r.new_reps = list(self.reps.created)
        r.status = "done" if failure is None else "failed"
        r.failure = failure
        with write_transaction(self.engine) as conn:
            self.finishing(conn)
            analyse_grown(conn, self.written_by_table())
            finish_run(
                conn,
                self.run_id,
                {
                    **self.counts(),
                    "status": r.status,
                    "failure": failure[:FAILURE_LENGTH] if failure else None,
                },
            )
            # One audit entry per run, with its counts (not one per row).
            counts = {
                "entity": r.entity,
                "source": self.source,
                "reader": r.reader,
                "file": r.file,
                "status": r.status,
                "read": r.read,
                "inserted": r.inserted,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "duplicate": r.duplicate,
                "skipped": r.skipped,
                "rejected": self.sink.count,
                "new_reps": len(r.new_reps),
            }
            importer = Actor(f"import {self.run_id}", None, "import")
            audit.write(conn, importer, "import", self.run_id, "import", None, counts)

    def written_by_table(self) -> dict[str, int]:
        """Table name -> rows this import inserted into it: its entity's table, and the
        reps, accounts and contacts it created on the way (`store.statistics` analyses the
        ones that grew past their statistics)."""
        r = self.result
        made = {
            Rep.__tablename__: len(r.new_reps),
            Account.__tablename__: r.new_accounts,
            Contact.__tablename__: r.new_contacts,
        }
        own = ENTITY_TABLES[r.entity]
        return made | {own: max(made.get(own, 0), r.inserted)}

    def note(self, text: str, count: int = 1) -> None:
        self.result.notes[text] = self.result.notes.get(text, 0) + count

    # -- shared steps --------------------------------------------------------------------------

    def resolve_reps(
        self, conn: Connection, batch: list[Pending], keys: tuple[str, ...] = ("rep",)
    ) -> list[Pending]:
        """Attach rep ids (`rep` -> `rep_id`, ...); unknown reps are created, or their rows
        rejected with --no-new-reps."""
        given = {k: [p.record[k] for p in batch] for k in keys}
        named = itertools.chain.from_iterable(zip(*given.values(), strict=True))
        ids, looks_like = self.rep_ids(conn, named)
        if None not in ids.values():  # every rep known: ids attached column by column
            for k in keys:
                field_id, values = f"{k}_id", given[k]
                for p, rep_id in zip(batch, map(ids.get, values), strict=True):
                    p.record[field_id] = rep_id  # an empty name is no key: None
            return list(batch)
        kept = []
        for p in batch:
            missing = [k for k in keys if p.record[k] and ids[p.record[k]] is None]
            if missing:
                typed = p.record[missing[0]]
                if typed in looks_like:
                    reason = near_duplicate_reason(typed, looks_like[typed])
                else:
                    reason = f"unknown rep {typed!r} (--no-new-reps)"
                self.sink.reject(p.line, missing[0], reason, p.raw)
                continue
            for k in keys:
                p.record[f"{k}_id"] = ids[p.record[k]] if p.record[k] else None
            kept.append(p)
        return kept

    def rep_ids(
        self, conn: Connection, named: Iterable[Any]
    ) -> tuple[dict[str, int | None], dict[str, str]]:
        """The rep id of each distinct name (None: its rows are refused), creating the new
        reps; and the new names refused as look-alikes, each with the rep it looks like."""
        # In the file's order: of two spellings of a new rep ("Ana Ruiz", "ANA RUIZ") the
        # first one names it (a set's order changed with the process's string hashing).
        names = dict.fromkeys(named)
        for empty in (None, ""):  # no name, no key (in C calls: a batch names a few reps)
            names.pop(empty, None)
        ids = {name: self.reps.known(name) for name in names}
        unknown = [name for name, rep_id in ids.items() if rep_id is None]
        looks_like: dict[str, str] = {}
        if unknown and self.options.allow_new_reps:
            looks_like = self.near_duplicates(conn, unknown)
            self.reps.create(conn, [n for n in unknown if n not in looks_like], self.source)
        elif unknown:  # another import may have created them since this one began
            self.reps.reload(conn)
        ids.update({name: self.reps.known(name) for name in unknown})
        return ids, looks_like

    def near_duplicates(self, conn: Connection, unknown: list[str]) -> dict[str, str]:
        """Of the new rep names, those that look like an existing rep's (a typo: "Ana Ruis"
        beside "Ana Ruiz") and were not confirmed as new people; each with the rep it looks
        like. Their rows are refused, so a typo never becomes a second rep silently."""
        confirmed = {name_key(n) for n in self.options.confirmed_new_reps}
        asked = [n for n in unknown if name_key(n) not in confirmed]
        if not asked:
            return {}
        existing = self.reps.names(conn)
        found: dict[str, str] = {}
        for name in asked:
            other = near_duplicate(name, existing)
            if other is not None:
                found[name] = other
        self.result.near_duplicates.update(found)
        return found

    def matched_before(self, conn: Connection, existing: dict[str, tuple[Any, ...]]) -> set[str]:
        """Stored records written by others (an earlier import, or one running at the same
        time) that an earlier batch of this import already matched.

        `existing` maps external ids to stored rows whose last value is the import run that
        last wrote them: rows this run wrote need no bookkeeping, their run id says so. One
        INSERT ... ON CONFLICT DO NOTHING RETURNING records this batch's other matches and
        says which were new; the conflict check always uses the primary key, whatever the
        planner thinks of the table (a SELECT planned while the table was empty took 5 s a
        batch on PostgreSQL: a 200k-row re-import ran at 387 rows/s).
        """
        stored = [ext for ext, found in existing.items() if found[-1] != self.run_id]
        table = ImportSeen.__table__
        fresh = insert_new_keys(conn, table, ("run_id", self.run_id), "external_id", stored)
        return {ext for ext in stored if ext not in fresh}

    def store_field_by_field(
        self,
        conn: Connection,
        model: Any,
        fields: tuple[str, ...],
        items: list[tuple[dict[str, Any], tuple[Any, ...] | None, str | None]],
    ) -> None:
        """(values, stored row or None, external id) -> insert new, update changed, count the
        rest unchanged: for the small tables compared field by field rather than by hash."""
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for values, current, external_id in items:
            if current is None:
                inserts.append({**values, "source": self.source, "external_id": external_id})
            elif dict(zip(fields, current[1:], strict=True)) == values:
                self.result.unchanged += 1
            else:
                updates.append({"_id": current[0], **values})
        if inserts:
            conn.execute(insert(model), inserts)
        if updates:
            _update_rows(conn, model, updates)
        self.result.inserted += len(inserts)
        self.result.updated += len(updates)

    def mine(self, found: tuple[Any, ...]) -> bool:
        """Whether this import wrote the stored row `found` (its last value is the run id)."""
        return bool(found[-1] == self.run_id)

    def count_repeat(self, p: Pending, stored_hash: str) -> None:
        """A row whose id this very import already met, in an earlier batch."""
        if stored_hash == p.record["row_hash"]:
            self.result.duplicate += 1
            return
        reason = f"id {p.record['external_id']!r} appears earlier in this file with other values"
        self.sink.reject(p.line, "external_id", reason, p.raw)

    def dedupe_in_batch(self, batch: list[Pending]) -> list[Pending]:
        """Keep the first row per external id; identical repeats are duplicates."""
        externals = [p.record["external_id"] for p in batch]
        if len(set(externals)) == len(externals):  # the usual batch: no repeat at all
            return list(batch)
        first: dict[str, Pending] = {}
        for p in batch:
            ext = p.record["external_id"]
            seen = first.get(ext)
            if seen is None:
                first[ext] = p
            elif seen.record["row_hash"] == p.record["row_hash"]:
                self.result.duplicate += 1
            else:
                self.sink.reject(
                    p.line,
                    "external_id",
                    f"id {ext!r} appears again with different values (first at line {seen.line})",
                    p.raw,
                )
        return list(first.values())


class AccountMakingWriter(Writer):
    """A writer that creates accounts named in its rows: a refused batch must forget the
    accounts it made, or a retry row by row would count them as made twice."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.accounts = AccountResolver(self.source)

    def checkpoint(self) -> dict[str, Any]:
        return {**super().checkpoint(), "accounts_made": self.accounts.created}

    def rollback(self, saved: dict[str, Any]) -> None:
        super().rollback(saved)
        self.accounts = AccountResolver(self.source)
        self.accounts.created = saved["accounts_made"]


class ActivityWriter(AccountMakingWriter):
    table = Activity.__table__
    rep_columns = (Activity.rep_id,)
    # The stored-row probe (source, external_id) and the update's join (id).
    analyzed_columns = ("id", "source", "external_id")
    locks_every_batch = False  # only to create names: activity batches run side by side

    def __init__(self, *args: Any) -> None:
        # Whether the first batch has looked for an empty table, and the indexes it dropped.
        self._deferral_tried = False
        self._deferred: tuple[str, ...] = ()
        # Whether no row of this source was stored when the first batch looked
        # (None: not looked yet); then no batch needs the probe for stored rows (below).
        self._fresh_source: bool | None = None
        super().__init__(*args)
        self.contacts = ContactResolver(self.source)
        self.deals = deal_resolver(self.source)
        self._missing_deal = ""  # the first deal named that this source has not imported
        # Whether activities of this source wait for their deal (None: not looked yet),
        # and the batch's rows that wait now (`store.deal_waits`).
        self._waits: bool | None = None
        self._waiting: list[Wait] = []
        # Stored rows whose time, and day, the file moved after a change of zone
        # (`zone_moved_rows`; counted only when `options.first_zone` is set).
        self._zone_moves = (0, 0)

    def prepare(self, conn: Connection) -> None:
        """Build the secondary indexes a load killed before its end left out (see
        `store.bulk.defer_indexes`), and on PostgreSQL validate the foreign keys it left
        NOT VALID (`Staged.insert_checked`), unless an import still running may be that
        load."""
        completed = complete_interrupted_load(conn)
        if completed.indexes:
            built = ", ".join(completed.indexes)
            self.note(f"indexes an interrupted import left out, built: {built}")
        if completed.references:
            self.note(
                "references an interrupted import left unvalidated, validated: "
                + ", ".join(completed.references)
            )

    def finishing(self, conn: Connection) -> None:
        """The indexes this load deferred, built once over every row it wrote, and the
        foreign keys it checked by set, validated (whether the import succeeded or stopped);
        also those a load that ended while this import ran left, when no other import is
        still running."""
        moved, other_day = self._zone_moves
        if moved and self.options.first_zone:
            zone = self.settings.calendar.zone.key
            self.result.warn(zone_moved_rows(moved, other_day, zone, self.options.first_zone))
        if self._deferred or not any_running(conn, besides=self.run_id):
            build_indexes(conn, Activity.__table__)
            validate_references(conn, Activity.__table__)
            self._deferred = ()
        if self._fresh_source:  # analysed once, at the end (`keep_statistics_current`)
            super().keep_statistics_current(conn)

    def keep_statistics_current(self, conn: Connection) -> None:
        """As every writer's, except while the batches of a source with nothing stored go
        straight into `activity` (`_copy_new`): no statement of theirs reads `activity`,
        so its statistics decide no plan of this import, and its ANALYZEs (one at each
        doubling) were 5% of a fresh load's server CPU. Such an import analyses once, when
        it ends (`finishing`), so that the next one's look-ups find statistics of the size
        it left. Once a refused batch turns the look-ups on, the next batch analyses as
        soon as the import has written enough (it has analysed nothing yet)."""
        if not self._fresh_source:
            super().keep_statistics_current(conn)

    def forget_unused_reps(self, conn: Connection, made: int) -> None:
        """As every writer's, but for a load into an empty table or of a source with
        nothing stored: each row of it is new, so every rep it created names one, and the
        index the look-up would use may be waiting for the load's end (a scan a batch)."""
        if not (self._deferred or self._fresh_source):
            super().forget_unused_reps(conn, made)

    def checkpoint(self) -> dict[str, Any]:
        return {
            **super().checkpoint(),
            "contacts_made": self.contacts.created,
            "zone_moves": self._zone_moves,
        }

    def rollback(self, saved: dict[str, Any]) -> None:
        super().rollback(saved)
        self._fresh_source = False  # a refused batch looks for stored rows from then on
        self.contacts = ContactResolver(self.source)
        self.deals = deal_resolver(self.source)
        self._missing_deal = ""  # the first deal named that this source has not imported
        self.contacts.created = saved["contacts_made"]
        self._zone_moves = saved["zone_moves"]

    def write_batch(self, conn: Connection, batch: list[Pending]) -> None:
        """A batch of records: ids attached to each, then stored (`_store`)."""
        batch = self.dedupe_in_batch(self.resolve_reps(conn, batch))
        self._resolve_accounts(conn, batch)
        self._resolve_deals(conn, batch)
        self._defer_once(conn)
        records = [p.record for p in batch]

        def values(positions: Sequence[int] | None) -> list[Sequence[Any]]:
            picked = records if positions is None else [records[at] for at in positions]
            return _activity_values_by_column(picked)

        externals = [r["external_id"] for r in records]
        hashes = [r["row_hash"] for r in records]
        self._store(conn, _Stored(externals, hashes, batch.__getitem__, values))

    def transaction(self, batch: Batch) -> AbstractContextManager[Connection]:
        """On SQLite, a batch by column of a load into an empty table is written with the
        foreign keys' row checks off (`store.engine.write_transaction_unchecked`): every id
        it writes was resolved in the same transaction, under the write lock, and is checked
        by set before the commit (`write_any`, `_store`)."""
        if self._deferred and isinstance(batch, ColumnBatch):
            return write_transaction_unchecked(self.engine)
        return write_transaction(self.engine)

    def write_any(self, conn: Connection, batch: Batch) -> None:
        """`_write_any`; in a transaction without the row checks (`transaction`), the reps,
        accounts and contacts it created checked as whole tables before the commit (the
        activities' references are checked by set in `_store`)."""
        self._waiting = []
        if not conn.info.get(REFERENCES_UNCHECKED):
            self._write_any(conn, batch)
            self._keep_deal_waits(conn, batch)
            return
        made = (len(self.reps.created), self.accounts.created, self.contacts.created)
        self._write_any(conn, batch)
        self._keep_deal_waits(conn, batch)
        now = (len(self.reps.created), self.accounts.created, self.contacts.created)
        tables = (Rep.__table__, Account.__table__, Contact.__table__)
        grown = [t for t, before, after in zip(tables, made, now, strict=True) if after > before]
        check_table_references(conn, grown)

    def _keep_deal_waits(self, conn: Connection, batch: Batch) -> None:
        """Record the batch's rows whose deal is not imported yet, for the deal's import
        to link (`store.deal_waits`); a row of the batch that waited and now finds its deal
        (or names none) waits no more. Nothing to do, and one look a whole import, when no
        activity of the source waits."""
        if self._waits is None:
            self._waits = any_waiting(conn, self.source)
        if not (self._waits or self._waiting):
            return
        if isinstance(batch, list):
            refs: Iterable[str] = (p.record["external_id"] for p in batch)
        else:
            refs = batch.column("external_id")
        hold(conn, self.source, refs, self._waiting)
        self._waits = True

    def _write_any(self, conn: Connection, batch: Batch) -> None:
        """A batch by column as it is, when it names no contact, deal or account id, repeats
        no id and names no rep it must refuse (the usual batch of a large file): each
        distinct rep and account name resolved once, its ids by column, no record built
        but for a row that is updated or refused. Any other batch goes by record."""
        if isinstance(batch, list):
            self.write_batch(conn, batch)
            return
        externals = batch.column("external_id")
        named = ("account_ref", "contact", "contact_ref", "deal_ref")
        if len(set(externals)) != len(externals) or any(map(any, map(batch.column, named))):
            self.write_batch(conn, batch.pendings())
            return
        reps = batch.column("rep")
        rep_ids, _ = self.rep_ids(conn, reps)
        if None in rep_ids.values():  # rows to refuse: the record path says why
            self.write_batch(conn, batch.pendings())
            return
        accounts = batch.column("account")
        by_name = self.accounts.ids_by_name(conn, filter(None, accounts))
        none = [None] * len(batch)
        by_column: list[Sequence[Any]] = [
            list(map(rep_ids.get, reps)),  # no name (None, ""): no rep, as by record
            list(map(by_name.get, accounts)),
            none,
            none,
            *map(batch.column, ACTIVITY_VALUES[4:]),
        ]
        self._defer_once(conn)

        def values(positions: Sequence[int] | None) -> list[Sequence[Any]]:
            if positions is None:
                return by_column
            return [list(map(column.__getitem__, positions)) for column in by_column]

        hashes = batch.column("row_hash")
        # Contacts and deals: the two columns of `none` above.
        self._store(conn, _Stored(externals, hashes, batch.pending, values, _NO_CONTACT_NOR_DEAL))

    def _defer_once(self, conn: Connection) -> None:
        """A load into an empty table builds its indexes at the end (the first batch looks)."""
        if not self._deferral_tried:
            self._deferral_tried = True
            self._deferred = defer_indexes(conn, Activity.__table__)

    def _store(self, conn: Connection, batch: _Stored) -> None:
        """The batch's new rows inserted, its changed ones updated, the rest counted."""
        if conn.dialect.name == "postgresql":
            self._write_staged(conn, batch)
            return
        if self._fresh_source is None:
            self._fresh_source = not _any_stored(conn, self.source)
        # As on PostgreSQL: a source with nothing stored when the import began holds only
        # this import's rows (and those of an import of the same source beside it), so no
        # batch looks for stored rows (10,000 probes of the unique key a batch) until the
        # unique key refuses one; that batch is rolled back and written again with the
        # look-up (`rollback`, `write_or_isolate`), and counts its repeats as before.
        existing = (
            {}
            if self._fresh_source
            else _existing(conn, Activity, self.source, batch.externals, Activity.import_run_id)
        )
        new, changed = self._sort_out(batch, existing, self.matched_before(conn, existing))
        self._count_zone_moves(conn, batch, changed)
        now = utcnow()
        added = (self.source, now, now, self.run_id)
        updates = []
        if changed:
            rows = zip(*batch.values([pos for _, pos in changed]), strict=True)
            updates = [
                {"_id": stored_id, **dict(zip(ACTIVITY_COLUMNS, row + added, strict=True))}
                for (stored_id, _), row in zip(changed, rows, strict=True)
            ]
        # Rows sorted like the main index go into its B-tree with far fewer page touches; in
        # a load whose secondary indexes wait for its end, like the unique key, the only
        # index left (a quarter less insert time than by rep and day, measured).
        if new:
            positions = None if len(new) == len(batch.externals) else new
            columns = _sorted_columns(batch.values(positions), self._deferred)
            # The columns every new row has the same value in are bound once a statement.
            same = {**batch.same, **dict(zip(ADDED_COLUMNS, added, strict=True))}
            varying = [at for at, name in enumerate(ACTIVITY_VALUES) if name not in same]
            names = [ACTIVITY_VALUES[at] for at in varying]
            table = Activity.__table__
            insert_columns(conn, table, names, [columns[at] for at in varying], same)
        if updates:
            _update_rows(conn, Activity, updates)
        if conn.info.get(REFERENCES_UNCHECKED) and (new or updates):
            written = batch.values(None)  # the ids of every row, inserted, updated or not
            check_references(
                conn,
                Activity.__table__,
                {c: set(written[_VALUE_AT[c]]) - {None} for c in _REFERENCES},
            )
        self.result.inserted += len(new)
        self.result.updated += len(updates)
        self.result.new_accounts = self.accounts.created
        self.result.new_contacts = self.contacts.created

    def _count_zone_moves(
        self, conn: Connection, batch: _Stored, changed: list[tuple[int, int]]
    ) -> None:
        """Count the stored rows of `changed` (stored id, position) whose time, and day,
        this batch moves, read before they are updated: only when the file's times are
        read in another zone than the database's first (`options.first_zone`), where a
        file imported again moves every row it wrote in the first zone (one look-up of
        the changed rows a batch; none otherwise)."""
        if not changed or not self.options.first_zone:
            return
        columns = batch.values(None)  # a batch by column: its own columns, not a copy
        moments, days = columns[_VALUE_AT["occurred_at"]], columns[_VALUE_AT["local_date"]]
        ids = [stored_id for stored_id, _ in changed]
        old, stored_form = stored_values_by_id(
            conn, Activity.__table__, ids, ("occurred_at", "local_date")
        )
        new_at, new_day = stored_form(
            [[moments[pos] for _, pos in changed], [days[pos] for _, pos in changed]]
        )
        moved, other_day = self._zone_moves
        for stored_id, at, day in zip(ids, new_at, new_day, strict=True):
            was_at, was_day = old[stored_id]
            moved += was_at != at
            other_day += was_day != day
        self._zone_moves = (moved, other_day)

    def _sort_out(
        self, batch: _Stored, existing: dict[str, tuple[Any, ...]], repeats: set[str]
    ) -> tuple[list[int], list[tuple[int, int]]]:
        """The batch's new rows (positions) and the stored rows it changes (stored id,
        position), as both write paths need them; repeats and unchanged rows are counted
        here, once, the same way on SQLite and PostgreSQL."""
        if not existing:  # a fresh load: every row of the batch is new, none to count
            return list(range(len(batch.externals))), []
        new: list[int] = []
        changed: list[tuple[int, int]] = []
        relinked = 0
        rows = zip(batch.externals, batch.hashes, strict=True)
        for pos, (external_id, row_hash) in enumerate(rows):
            found = existing.get(external_id)
            if found is None:
                new.append(pos)
            elif self.mine(found) or external_id in repeats:
                self.count_repeat(batch.pending(pos), found[1])
            elif found[1] == row_hash:
                self.result.unchanged += 1
            else:
                changed.append((found[0], pos))
                if "deal_id" not in batch.same:  # a batch by column names no deal
                    relinked += _links_at_last(batch.pending(pos).record, found[1])
        if relinked:
            self.note(ACTIVITIES_RELINKED, relinked)
        return new, changed

    def _write_staged(self, conn: Connection, batch: _Stored) -> None:
        """PostgreSQL: the batch goes to the server once, by COPY into a staging table; the
        stored rows it matches come back from one join, and the new and changed rows are
        written from the staging table by one INSERT ... SELECT and one UPDATE ... FROM.
        Counting is the same as on SQLite, row by row, from what the join found."""
        now = utcnow()
        n = len(batch.externals)
        added = [[value] * n for value in (self.source, now, now, self.run_id)]
        rows = list(zip(*batch.values(None), *added, strict=True))
        if self._fresh_source is None:
            self._fresh_source = not _any_stored(conn, self.source)
        # A source with nothing stored when the import began has only this import's rows
        # (and those of an import of the same source beside it): a batch repeating one of
        # them is refused by the unique key, rolled back, and written again with the probe.
        if self._fresh_source:
            self._copy_new(conn, rows)
            self.result.inserted += len(rows)
            self.result.new_accounts = self.accounts.created
            self.result.new_contacts = self.contacts.created
            return
        staged = Staged(conn, Activity.__table__, ACTIVITY_COLUMNS, rows)
        existing = _existing(
            conn, Activity, self.source, batch.externals, Activity.import_run_id, staged=staged
        )
        inserts, updates = self._sort_out(batch, existing, self.matched_before(conn, existing))
        self._count_zone_moves(conn, batch, updates)
        if inserts:
            # Rows sorted like the main index go into its B-tree with fewer page touches.
            positions = None if len(inserts) == len(rows) else inserts
            # A large batch of a bulk load checks its references by set (not row by row).
            done = None
            if self._deferred and len(inserts) >= SET_CHECK_ROWS:
                written = rows if positions is None else [rows[pos] for pos in positions]
                done = staged.insert_checked(
                    positions, STAGED_ORDER, _referenced(written), _marks(written)
                )
            if done is None:
                staged.insert(positions, STAGED_ORDER)
        staged.update(updates, ACTIVITY_COLUMNS)
        self.result.inserted += len(inserts)
        self.result.updated += len(updates)
        self.result.new_accounts = self.accounts.created
        self.result.new_contacts = self.contacts.created

    def _copy_new(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL, a batch of a source with nothing stored: every row is new, so it
        goes straight into `activity` by one COPY, with no staging table to write and read
        back and no look-up. Sorted like the index it goes into, by the client: the unique
        key in a load whose secondary indexes wait for its end (as on SQLite; a file in the
        order of its ids is already sorted, where sorting by rep and day cost 11 ms of
        client CPU per 10,000 rows), else the main index. Either way two imports of the
        same rows insert them in the same order, so neither waits for the other's
        uncommitted rows in a cycle. A large batch of a bulk load checks its references by
        set, as a staged one does."""
        rows.sort(key=_unique_key_order if self._deferred else _rep_day_order)
        table = Activity.__table__

        def copy() -> int:
            return copy_rows(conn, table, ACTIVITY_COLUMNS, rows)

        by_set = self._deferred and len(rows) >= SET_CHECK_ROWS
        if not by_set or insert_by_set(conn, table, _referenced(rows), copy, _marks(rows)) is None:
            copy()

    def _resolve_accounts(self, conn: Connection, batch: list[Pending]) -> None:
        _resolve_account_ids(conn, self.accounts, batch)
        pairs = [
            (p.record["account_id"], p.record["contact"]) for p in batch if p.record["contact"]
        ]
        if pairs:
            self.contacts.resolve(conn, pairs)
        refs = {
            p.record["contact_ref"]: p.record["account_id"]
            for p in batch
            if p.record["contact_ref"]
        }
        if not pairs and not refs:  # no contact named in the batch: one store a row
            _set_all(batch, "contact_id", None)
            return
        by_ref = self.contacts.resolve_refs(conn, refs) if refs else {}
        for p in batch:
            r = p.record
            r["contact_id"] = (
                by_ref[r["contact_ref"]]
                if r["contact_ref"]
                else self.contacts.get(r["account_id"], r["contact"])
                if r["contact"]
                else None
            )

    def _resolve_deals(self, conn: Connection, batch: list[Pending]) -> None:
        refs = [p.record["deal_ref"] for p in batch if p.record["deal_ref"]]
        if not refs:  # no deal named in the batch: one store a row
            _set_all(batch, "deal_id", None)
            return
        known = self.deals.resolve(conn, refs)
        unknown = []
        for p in batch:
            ref = p.record["deal_ref"]
            p.record["deal_id"] = known.get(ref) if ref else None
            unresolved = bool(ref) and p.record["deal_id"] is None
            p.record["row_hash"] = stored_fingerprint(p.record, unresolved)
            if unresolved:
                unknown.append(ref)
                self._waiting.append((p.record["external_id"], ref, p.record["file_hash"]))
        if unknown:  # the first such deal of the import is the example, in every batch
            self._missing_deal = self._missing_deal or unknown[0]
            self.note(deal_not_imported(self._missing_deal), len(unknown))


def _links_at_last(record: Record, stored_hash: str | None) -> bool:
    """Whether an updated activity was stored without the deal it names, which it now
    finds: its stored fingerprint is the file's one marked "deal not found"
    (`without_its_deal`). Such a row was kept unlinked by an import before its deal came
    (before `deal_wait`, or a sync re-pulling it after migration 0025): the summary counts
    it, not as a bare "updated"."""
    file_hash = record.get("file_hash")
    if record.get("deal_id") is None or file_hash is None:
        return False
    return stored_hash == without_its_deal(file_hash)


class DealWriter(AccountMakingWriter):
    table = Deal.__table__
    rep_columns = (Deal.rep_id, Deal.sourced_by_id)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # Whether activities of this source wait for their deal (None: not looked yet).
        self._waits: bool | None = None

    def write_batch(self, conn: Connection, batch: list[Pending]) -> None:
        batch = self.dedupe_in_batch(self.resolve_reps(conn, batch, ("rep", "sourced_by")))
        _resolve_account_ids(conn, self.accounts, batch)
        existing = _existing(
            conn,
            Deal,
            self.source,
            [p.record["external_id"] for p in batch],
            Deal.stage,
            Deal.status,
            Deal.import_run_id,
        )
        repeats = self.matched_before(conn, existing)
        inserts, updates, history = [], [], []
        late = sum(1 for p in batch if p.record.get(ENTERED_AFTER_CLOSE))
        if late:
            self.note(CLOSED_BEFORE_CREATED, late)
        for p in batch:
            r = p.record
            row = _deal_row(r, self.source, self.run_id)
            found = existing.get(r["external_id"])
            if found is None:
                inserts.append((row, r))
                continue
            deal_id, old_hash, old_stage, old_status, _ = found
            if self.mine(found) or r["external_id"] in repeats:
                self.count_repeat(p, old_hash)
            elif old_hash == row["row_hash"]:
                self.result.unchanged += 1
            else:
                row["_id"] = deal_id
                updates.append(row)
                if (old_stage, old_status) != (r["stage"], r["status"]):
                    history.append(_history_row(deal_id, r, _stage_entered_at(r)))
        if inserts:
            ids = (
                conn.execute(
                    insert(Deal).returning(Deal.id, sort_by_parameter_order=True),
                    [row for row, _ in inserts],
                )
                .scalars()
                .all()
            )
            history += [
                _history_row(deal_id, r, r["closed_at"] or r["created_at"])
                for deal_id, (_, r) in zip(ids, inserts, strict=True)
            ]
        if updates:
            _update_rows(conn, Deal, updates)
        if history:
            conn.execute(insert(DealStageHistory), history)
        self.result.inserted += len(inserts)
        self.result.updated += len(updates)
        self.result.new_accounts = self.accounts.created
        self._link_waiting_activities(conn, [p.record["external_id"] for p in batch])

    def _link_waiting_activities(self, conn: Connection, refs: list[str]) -> None:
        """Link the activities imported before these deals to them (`store.deal_waits`):
        a sync never pulls an unchanged activity again, so without this an activity pulled
        before its deal stayed unlinked for good. One look a whole import when none waits."""
        if self._waits is None:
            self._waits = any_waiting(conn, self.source)
        if not self._waits:
            return
        linked = link_arrived(conn, self.source, refs, self.run_id)
        if linked:
            self.note(ACTIVITIES_LINKED, linked)


class RepWriter(Writer):
    """Reps are few: matched by name, inserted or updated field by field.

    Only the fields the file gives are written to an existing rep (see `rep_fields_given`);
    a name seen earlier in this import is a duplicate when its values are the same.
    """

    FIELDS = ("email", "role", "start_date", "capacity", "team_id", "manager_id", "external_id")
    # record field that gives each stored field
    GIVEN_BY: ClassVar[dict[str, str]] = {"team_id": "team", "manager_id": "manager"}

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.seen: dict[str, tuple[int, object]] = {}  # name key -> (first line, values)

    def checkpoint(self) -> dict[str, Any]:
        return {**super().checkpoint(), "seen": dict(self.seen)}

    def rollback(self, saved: dict[str, Any]) -> None:
        super().rollback(saved)
        self.seen = saved["seen"]

    def write_batch(self, conn: Connection, batch: list[Pending]) -> None:
        teams = TeamResolver(conn)
        self.reps.reload(conn)  # under the names lock: reps another import made are known
        batch = self._first_of_each_name(batch)
        in_file = {name_key(p.record["name"]) for p in batch}
        managers = dict.fromkeys(p.record["manager"] for p in batch if p.record["manager"])
        # A manager named before their own row (or not at all) is created as a plain rep.
        self.reps.create(
            conn,
            [m for m in managers if name_key(m) not in in_file and not self.reps.known(m)],
            self.source,
        )
        for p in batch:
            r = p.record
            new = False
            if self.reps.known(r["name"]) is None:
                new = bool(self.reps.create(conn, [r["name"]], self.source))
                if new:
                    self.reps.created.pop()  # counted as inserted, not as a side effect
                    self.result.inserted += 1
            rep_id = self.reps.known(r["name"])
            if r["manager"] and self.reps.known(r["manager"]) is None:
                self.reps.create(conn, [r["manager"]], self.source)
            values = {
                "email": r["email"],
                "role": r["role"],
                "start_date": r["start_date"],
                "capacity": r["capacity"],
                "external_id": r["external_id"],
                "team_id": teams.resolve(conn, r["team"]) if r["team"] else None,
                "manager_id": self.reps.known(r["manager"]) if r["manager"] else None,
            }
            if not new:
                values = {f: v for f, v in values.items() if self.GIVEN_BY.get(f, f) in r["given"]}
            current = conn.execute(
                select(*(getattr(Rep, f) for f in self.FIELDS)).where(Rep.id == rep_id)
            ).one()
            stored = dict(zip(self.FIELDS, current, strict=True))
            if all(stored[f] == v for f, v in values.items()):
                self.result.unchanged += 0 if new else 1
                continue
            conn.execute(update(Rep).where(Rep.id == rep_id).values(**values))
            self.result.updated += 0 if new else 1

    def _first_of_each_name(self, batch: list[Pending]) -> list[Pending]:
        """Rows of a name not seen before in this import; a repeat with the same values is
        a duplicate, one with other values is rejected (which one is meant is unknowable)."""
        kept = []
        for p in batch:
            key = name_key(p.record["name"])
            seen = self.seen.get(key)
            values = sorted(
                (f, repr(v)) for f, v in p.record.items() if f not in ("name", "row_hash")
            )
            if seen is None:
                self.seen[key] = (p.line, values)
                kept.append(p)
            elif seen[1] == values:
                self.result.duplicate += 1
            else:
                reason = f"rep {p.record['name']!r} appears again with different values "
                self.sink.reject(p.line, "name", reason + f"(first at line {seen[0]})", p.raw)
        return kept


class AccountWriter(Writer):
    """Accounts by source id when the file has one (filling placeholders), else by name."""

    FIELDS = ("name", "industry", "account_type", "owner_id")

    def write_batch(self, conn: Connection, batch: list[Pending]) -> None:
        batch = self.dedupe_accounts(batch)
        owners = dict.fromkeys(p.record["owner"] for p in batch if p.record["owner"])
        unknown = [o for o in owners if self.reps.known(o) is None]
        looks_like: dict[str, str] = {}
        if unknown and self.options.allow_new_reps:
            looks_like = self.near_duplicates(conn, unknown)
            self.reps.create(conn, [o for o in unknown if o not in looks_like], self.source)
        for p in [p for p in batch if p.record["owner"] in looks_like]:
            owner = p.record["owner"]
            reason = near_duplicate_reason(owner, looks_like[owner])
            self.sink.reject(p.line, "owner", reason, p.raw)
        batch = [p for p in batch if p.record["owner"] not in looks_like]
        stored = self._stored(conn, batch)
        named = _Adoption(
            self,
            _named_only(conn, Account, self.FIELDS, [p.record["name"] for p in batch]),
            "accounts",
        )
        # (account made from a name, placeholder this file fills with that name): merged.
        merges: list[tuple[Any, Any]] = []
        items = []
        for p in batch:
            r = p.record
            values: dict[str, Any] = {
                "name": " ".join(r["name"].split()),
                "industry": r["industry"],
                "account_type": r["account_type"],
                "owner_id": self.reps.known(r["owner"]) if r["owner"] else None,
            }
            current = stored.get(r["external_id"] or ("name", values["name"]))
            if current is None and r["external_id"]:
                current = named.take(name_key(values["name"]), values, r["external_id"])
            elif current is not None and self._held(current, r["external_id"]):
                twin = named.twin(name_key(values["name"]))
                merges.extend([(twin[0], current[0])] if twin else [])
            items.append((values, current, r["external_id"]))
        self.store_field_by_field(conn, Account, self.FIELDS, items)
        named.say()
        for absorbed, kept in merges:
            merge_account(conn, absorbed, kept)
        if merges:
            self.note(ACCOUNTS_MERGED, len(merges))

    def _held(self, current: tuple[Any, ...], external_id: str | None) -> bool:
        """Whether the stored account `current` is a placeholder for `external_id`: an
        account named by id (by contacts, say) before this file said what it is."""
        name = current[1 + self.FIELDS.index("name")]
        if not external_id:
            return False
        return bool(name == placeholder_name(self.source, "account", external_id))

    def _stored(self, conn: Connection, batch: list[Pending]) -> dict[Any, tuple[Any, ...]]:
        """Stored accounts for this batch, keyed by source id, or by ("name", name)."""
        return _stored_rows(
            conn,
            Account,
            self.FIELDS,
            self.source,
            [p.record["external_id"] for p in batch if p.record["external_id"]],
            [" ".join(p.record["name"].split()) for p in batch if not p.record["external_id"]],
            lambda row: ("name", row.name),
        )

    def dedupe_accounts(self, batch: list[Pending]) -> list[Pending]:
        for p in batch:
            p.record["external_id"] = (
                p.record["external_id"] or f"name:{name_key(p.record['name'])}"
            )
        kept = self.dedupe_in_batch(batch)
        for p in kept:
            if p.record["external_id"].startswith("name:"):
                p.record["external_id"] = None
        return kept


class ContactWriter(AccountMakingWriter):
    """Contacts by source id when the file has one (filling placeholders), else by account
    and name."""

    FIELDS = ("name", "account_id", "title", "seniority", "is_decision_maker", "email")

    def write_batch(self, conn: Connection, batch: list[Pending]) -> None:
        for p in batch:  # a contact without an id is known by its account and name
            r = p.record
            # Kept apart, so that writing the batch again (after a rollback) keys it the same.
            r.setdefault("source_id", r["external_id"])
            r["external_id"] = (
                r["source_id"] or f"name:{r['account'] or r['account_ref']}:{r['name']}"
            )
        batch = self.dedupe_in_batch(batch)
        _resolve_account_ids(conn, self.accounts, batch)
        stored = self._stored(conn, batch)
        named = _Adoption(
            self,
            _named_only(conn, Contact, self.FIELDS, [p.record["name"] for p in batch]),
            "contacts",
        )
        items = []
        for p in batch:
            r = p.record
            ext = r["source_id"]
            values = {f: r[f] for f in self.FIELDS}
            current = stored.get(ext or ("name", r["account_id"], r["name"]))
            if current is None and ext:
                current = named.take((r["account_id"], name_key(r["name"])), values, ext)
            items.append((values, current, ext))
        self.store_field_by_field(conn, Contact, self.FIELDS, items)
        named.say()
        self.result.new_accounts = self.accounts.created

    def _stored(self, conn: Connection, batch: list[Pending]) -> dict[Any, tuple[Any, ...]]:
        """Stored contacts for this batch: by source id, or by ("name", account id, name)."""
        return _stored_rows(
            conn,
            Contact,
            self.FIELDS,
            self.source,
            [p.record["source_id"] for p in batch if p.record["source_id"]],
            [p.record["name"] for p in batch if not p.record["source_id"]],
            lambda row: ("name", row.account_id, row.name),
        )


class StageHistoryWriter(Writer):
    """Recorded stage history of deals imported from the same source (Salesforce's
    OpportunityHistory): one `deal_stage_history` row per stage a deal entered.

    The history table keeps no source ids, so an entry is known by (deal, stage, entered_at):
    a re-import matches every entry and changes nothing, a changed amount or status updates
    it. An entry that repeats the stage of the deal's entry before it records an amount or
    date change, not a stage change, and is skipped (the forecast reads stays in a stage).
    The entry the deal import had to guess when it first stored the deal (its stage then,
    dated at its creation or close) is replaced once the recorded history arrives.
    """

    table = DealStageHistory.__table__

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.deals = deal_resolver(self.source)
        # (deal id, stage, entered_at) -> (first line, row hash): repeats in this import
        self.seen: dict[tuple[int, str, dt.datetime], tuple[int, str]] = {}

    def checkpoint(self) -> dict[str, Any]:
        return {**super().checkpoint(), "seen": dict(self.seen)}

    def rollback(self, saved: dict[str, Any]) -> None:
        super().rollback(saved)
        self.deals = deal_resolver(self.source)
        self.seen = saved["seen"]

    def write_batch(self, conn: Connection, batch: list[Pending]) -> None:
        batch = self._first_of_each_entry(self._with_deals(conn, batch))
        if not batch:
            return
        deal_ids = sorted({p.record["deal_id"] for p in batch})
        deals = _deal_facts(conn, deal_ids)
        stored = _stored_history(conn, deal_ids)
        keys = {_entry_key(p.record) for p in batch}
        guessed = [
            row_id
            for (deal_id, stage, entered), (row_id, _, _) in stored.items()
            if (deal_id, stage, entered) not in keys
            and stage == deals[deal_id][0]
            and entered in deals[deal_id][1:3]
        ]
        replaced = set(guessed)
        timeline: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
        for (deal_id, stage, entered), (row_id, _, _) in stored.items():
            if row_id not in replaced:
                timeline[deal_id].append((entered, stage))
        for p in batch:
            timeline[p.record["deal_id"]].append((p.record["entered_at"], p.record["stage"]))
        inserts, updates = [], []
        for p in batch:
            r = p.record
            amount = r["amount"]
            if amount is None:
                amount = deals[r["deal_id"]][3]
                self.note("stage history amount empty: the deal's current amount used")
            found = stored.get(_entry_key(r))
            if found is not None:
                if (found[1], found[2]) == (r["status"], amount):
                    self.result.unchanged += 1
                else:
                    updates.append({"_id": found[0], "status": r["status"], "amount": amount})
            elif _previous_stage(timeline[r["deal_id"]], r["entered_at"]) == r["stage"]:
                self.result.skipped += 1
                self.note("stage history rows that repeat the stage before them (skipped)")
            else:
                inserts.append(
                    {
                        "deal_id": r["deal_id"],
                        "stage": r["stage"],
                        "status": r["status"],
                        "amount": amount,
                        "entered_at": r["entered_at"],
                    }
                )
        if guessed:
            conn.execute(delete(DealStageHistory).where(DealStageHistory.id.in_(guessed)))
            self.note("guessed stage entries replaced by the recorded history", len(guessed))
        if inserts:
            conn.execute(insert(DealStageHistory), inserts)
        if updates:
            _update_rows(conn, DealStageHistory, updates)
        self.result.inserted += len(inserts)
        self.result.updated += len(updates)

    def _with_deals(self, conn: Connection, batch: list[Pending]) -> list[Pending]:
        """Attach deal ids; an entry for a deal this source never sent is rejected (it has
        nothing to belong to, and a placeholder deal would invent an amount and an owner)."""
        known = self.deals.resolve(conn, [p.record["deal_ref"] for p in batch])
        kept = []
        for p in batch:
            deal_id = known.get(p.record["deal_ref"])
            if deal_id is None:
                # Without the id, so the summary counts these as one reason (the row has it).
                reason = (
                    f"no deal with this deal_ref from source {self.source!r} (import the "
                    "deals first; a deal that was rejected has no history either)"
                )
                self.sink.reject(p.line, "deal_ref", reason, p.raw)
                continue
            p.record["deal_id"] = deal_id
            kept.append(p)
        return kept

    def _first_of_each_entry(self, batch: list[Pending]) -> list[Pending]:
        kept = []
        for p in batch:
            key = _entry_key(p.record)
            seen = self.seen.get(key)
            if seen is None:
                self.seen[key] = (p.line, p.record["row_hash"])
                kept.append(p)
            elif seen[1] == p.record["row_hash"]:
                self.result.duplicate += 1
            else:
                reason = f"the same stage entry appears earlier with other values (line {seen[0]})"
                self.sink.reject(p.line, "stage", reason, p.raw)
        return kept


def _entry_key(r: Record) -> tuple[int, str, dt.datetime]:
    return r["deal_id"], r["stage"], r["entered_at"]


def _previous_stage(timeline: list[tuple[dt.datetime, str]], entered: dt.datetime) -> str | None:
    """The stage of the latest entry strictly before `entered`, if any."""
    before = [entry for entry in timeline if entry[0] < entered]
    return max(before)[1] if before else None


def _deal_facts(
    conn: Connection, deal_ids: list[int]
) -> dict[int, tuple[str, dt.datetime, dt.datetime | None, Any]]:
    """deal id -> (stage, created_at, closed_at, amount)."""
    facts: dict[int, tuple[str, dt.datetime, dt.datetime | None, Any]] = {}
    for chunk in chunks(deal_ids):
        query = select(Deal.id, Deal.stage, Deal.created_at, Deal.closed_at, Deal.amount)
        for deal_id, stage, created, closed, amount in conn.execute(
            query.where(Deal.id.in_(chunk))
        ):
            facts[deal_id] = (stage, created, closed, amount)
    return facts


def _stored_history(
    conn: Connection, deal_ids: list[int]
) -> dict[tuple[int, str, dt.datetime], tuple[int, str, Any]]:
    """(deal id, stage, entered_at) -> (row id, status, amount) of the stored entries."""
    stored: dict[tuple[int, str, dt.datetime], tuple[int, str, Any]] = {}
    h = DealStageHistory
    for chunk in chunks(deal_ids):
        query = select(h.deal_id, h.stage, h.entered_at, h.id, h.status, h.amount)
        for deal_id, stage, entered, row_id, status, amount in conn.execute(
            query.where(h.deal_id.in_(chunk))
        ):
            stored[(deal_id, stage, entered)] = (row_id, status, amount)
    return stored


# The table each entity's rows go into.
ENTITY_TABLES: dict[str, str] = {
    "activities": Activity.__tablename__,
    "deals": Deal.__tablename__,
    "reps": Rep.__tablename__,
    "accounts": Account.__tablename__,
    "contacts": Contact.__tablename__,
    "stage_history": DealStageHistory.__tablename__,
}

WRITERS: dict[Entity, type[Writer]] = {
    "activities": ActivityWriter,
    "deals": DealWriter,
    "reps": RepWriter,
    "accounts": AccountWriter,
    "contacts": ContactWriter,
    "stage_history": StageHistoryWriter,
}


# --- row building and SQL helpers ------------------------------------------------------------


def _existing(
    conn: Connection,
    model: Any,
    source: str,
    external_ids: list[str],
    *extra: Any,
    staged: Staged | None = None,
) -> dict[str, tuple[Any, ...]]:
    """external id -> (id, row_hash, *extra) for rows of this source already stored: from
    the batch's staging table when it has one (PostgreSQL), else by the ids themselves, in
    one statement on SQLite (the ids as one JSON parameter, no statement to compile)."""
    wanted = ("id", "row_hash", *(column.key for column in extra))
    if staged is not None:
        return staged.matches([("source", source)], "external_id", wanted)
    if conn.dialect.name == "sqlite":
        return stored_by_keys(
            conn, model.__table__, ("source", source), "external_id", external_ids, wanted
        )
    found: dict[str, tuple[Any, ...]] = {}
    for chunk in chunks(external_ids):
        query = select(model.external_id, model.id, model.row_hash, *extra).where(
            model.source == source, model.external_id.in_(chunk)
        )
        for ext, *rest in conn.execute(query):
            found[ext] = tuple(rest)
    return found


def _any_stored(conn: Connection, source: str) -> bool:
    """Whether `activity` holds a row of `source` (one probe of the unique key)."""
    query = select(Activity.id).where(Activity.source == source).limit(1)
    return conn.execute(query).first() is not None


def _stored_rows(
    conn: Connection,
    model: Any,
    fields: tuple[str, ...],
    source: str,
    refs: list[str],
    names: list[str],
    name_key_of: Callable[[Any], tuple[Any, ...]],
) -> dict[Any, tuple[Any, ...]]:
    """(id, *fields) of stored rows: by source id for `refs`, by `name_key_of` for `names`
    (the oldest row wins when several share a name)."""
    columns = (model.id, *(getattr(model, f) for f in fields))
    stored: dict[Any, tuple[Any, ...]] = {}
    for chunk in chunks(refs):
        query = select(model.external_id, *columns).where(
            model.source == source, model.external_id.in_(chunk)
        )
        stored.update({row[0]: tuple(row[1:]) for row in conn.execute(query)})
    for chunk in chunks(names):
        query = select(*columns).where(model.name.in_(chunk)).order_by(model.id.desc())
        stored.update({name_key_of(row): tuple(row) for row in conn.execute(query)})
    return stored


def _named_only(
    conn: Connection, model: Any, fields: tuple[str, ...], names: list[str]
) -> dict[Any, tuple[Any, ...]]:
    """(id, *fields) of the stored rows of `model` (accounts, contacts) that have no source
    id, that is were made from a name alone (an activity or deal naming its account or
    contact before that was imported), by name key; a contact's key also holds its
    account id. The oldest row of a key wins, as it does when a name is resolved."""
    keys = sorted({name_key(n) for n in names})
    columns = (model.id, *(getattr(model, f) for f in fields))
    account_at = fields.index("account_id") + 1 if "account_id" in fields else None
    found: dict[Any, tuple[Any, ...]] = {}
    for chunk in chunks(keys):
        query = (
            select(model.name_key, *columns)
            .where(model.external_id.is_(None), model.name_key.in_(chunk))
            .order_by(model.id.desc())
        )
        for key, *row in conn.execute(query):
            found[key if account_at is None else (row[account_at], key)] = tuple(row)
    return found


class _Adoption:
    """Rows made from a name alone (`_named_only`) that a file with source ids now names:
    each is given its id and this file's values (counted updated), rather than a second
    account or contact being inserted beside it. The activities and deals that named it
    keep their link, and it is the one they name, with its industry, owner or title; a
    second "Acme" inserted beside it left them linked to an empty stand-in for good, as
    names resolve to the oldest row of a name."""

    def __init__(self, writer: Writer, named: dict[Any, tuple[Any, ...]], what: str) -> None:
        self.writer = writer
        self.named = named
        self.what = what
        self.count = 0

    def take(self, key: Any, values: dict[str, Any], external_id: str) -> tuple[Any, ...] | None:
        """The stored row `key` names, once (None: there is none); `values` then also set
        its source and id."""
        found = self.named.pop(key, None)
        if found is not None:
            values.update(source=self.writer.source, external_id=external_id)
            self.count += 1
        return found

    def twin(self, key: Any) -> tuple[Any, ...] | None:
        """The stored row `key` names, once, to be merged into the row this file fills in
        under its id (an account held by id until now), not given that id itself."""
        return self.named.pop(key, None)

    def say(self) -> None:
        if self.count:
            self.writer.note(
                f"{self.what} made from a name by an earlier import (or by hand), given their "
                "id from this file: what named them keeps its link",
                self.count,
            )


def _update_rows(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    """Update rows by id, in id order: two imports updating the same rows lock them in the
    same order, so neither waits for the other in a cycle (a deadlock)."""
    rows = sorted(rows, key=lambda row: row["_id"])
    if "name_key" in model.__table__.c:  # a renamed account or contact: its key follows
        rows = [with_name_key(row) for row in rows]
    columns = [k for k in rows[0] if k != "_id"]
    statement = (
        update(model.__table__)
        .where(model.__table__.c.id == bindparam("_id"))
        .values({c: bindparam(c) for c in columns})
    )
    conn.execute(statement, rows)


# The record's own values first, then what the import adds (source, created_at,
# updated_at, import_run_id).
ACTIVITY_VALUES = (
    "rep_id",
    "account_id",
    "contact_id",
    "deal_id",
    "kind",
    "occurred_at",
    "local_date",
    "duration_min",
    "outcome",
    "has_ask",
    "engaged",
    "notes",
    "external_id",
    "row_hash",
)
ADDED_COLUMNS = ("source", "created_at", "updated_at", "import_run_id")
ACTIVITY_COLUMNS = (*ACTIVITY_VALUES, *ADDED_COLUMNS)
_activity_values = operator.itemgetter(*ACTIVITY_VALUES)


def _activity_values_by_column(records: list[Record]) -> list[Sequence[Any]]:
    """The records' ACTIVITY_VALUES, column by column, taken apart in C."""
    if not records:
        return [() for _ in ACTIVITY_VALUES]
    return list(zip(*map(_activity_values, records), strict=True))


class _Stored:
    """What the activity writer stores of a batch, whichever form it came in: the ids and
    fingerprints, a row as a record (`pending`, for a refusal) and `values(positions)`,
    the ACTIVITY_VALUES of the rows at `positions` (None: all) column by column; `same`,
    the ACTIVITY_VALUES known to hold one value in every row (inserted as such)."""

    __slots__ = ("externals", "hashes", "pending", "same", "values")

    def __init__(
        self,
        externals: list[str],
        hashes: list[str],
        pending: Callable[[int], Pending],
        values: Callable[[Sequence[int] | None], list[Sequence[Any]]],
        same: Mapping[str, Any] = MappingProxyType({}),
    ) -> None:
        self.externals = externals
        self.hashes = hashes
        self.pending = pending
        self.values = values
        self.same = same


# A batch by column names no contact and no deal (`ActivityWriter._write_any`).
_NO_CONTACT_NOR_DEAL: Mapping[str, Any] = MappingProxyType({"contact_id": None, "deal_id": None})


_VALUE_AT = {name: at for at, name in enumerate(ACTIVITY_VALUES)}


def _sorted_columns(columns: list[Sequence[Any]], deferred: tuple[str, ...]) -> list[Sequence[Any]]:
    """`columns` (ACTIVITY_VALUES) with their rows in the order they are inserted in: by
    the unique key in a load whose secondary indexes wait for its end, else like the main
    index (STAGED_ORDER); the columns as given when they are in that order already (a file
    in the order of its ids). Stable, as the sort of the rows it replaces."""
    externals = columns[_VALUE_AT["external_id"]]
    if deferred:
        keys: Sequence[Any] = externals
    else:
        keys = list(zip(*(columns[_VALUE_AT[name]] for name in STAGED_ORDER), strict=True))
    if all(map(operator.le, keys, itertools.islice(keys, 1, None))):
        return columns
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return [list(map(column.__getitem__, order)) for column in columns]


# The referencing columns, where they are in an activity row.
_REFERENCES = {
    c: ACTIVITY_COLUMNS.index(c) for c in ("rep_id", "account_id", "contact_id", "deal_id")
}


def _referenced(rows: list[tuple[Any, ...]]) -> dict[str, set[Any]]:
    """Per referencing column, the distinct ids (not None) `rows` name: what a set check
    looks up (`store.bulk.insert_by_set`)."""
    return {
        column: set(map(operator.itemgetter(at), rows)) - {None}
        for column, at in _REFERENCES.items()
    }


_rep_day = operator.itemgetter(
    ACTIVITY_COLUMNS.index("rep_id"), ACTIVITY_COLUMNS.index("local_date")
)


def _marks(rows: list[tuple[Any, ...]]) -> set[tuple[Any, Any]]:
    """The distinct (rep, day) pairs of `rows`: the rollup marks their insert makes."""
    return set(map(_rep_day, rows))


# Below this many new rows a batch's references are checked row by row: the constraints
# dropped and added back cost more than the checks they save (and a batch isolating a
# refused row, one row at a time, gets PostgreSQL's own message).
SET_CHECK_ROWS = 1_000
STAGED_ORDER = ("rep_id", "local_date", "kind", "external_id")  # as `_rep_day_order`
# Rep, day and kind, as the main index; then the external id, so that two imports inserting
# the same rows insert them in the same order (PostgreSQL then never has each wait for the
# other's uncommitted rows in a cycle).
_rep_day_order = operator.itemgetter(*(ACTIVITY_COLUMNS.index(c) for c in STAGED_ORDER))
_unique_key_order = operator.itemgetter(ACTIVITY_COLUMNS.index("external_id"))  # one source


def _deal_row(r: Record, source: str, run_id: int) -> dict[str, Any]:
    return {
        "rep_id": r["rep_id"],
        "sourced_by_id": r["sourced_by_id"],
        "account_id": r["account_id"],
        "name": r["name"],
        "amount": r["amount"],
        "stage": r["stage"],
        "status": r["status"],
        "created_at": r["created_at"],
        "closed_at": r["closed_at"],
        "expected_close": r["expected_close"],
        "source": source,
        "external_id": r["external_id"],
        "row_hash": r["row_hash"],
        "updated_at": utcnow(),
        "import_run_id": run_id,
    }


def _history_row(deal_id: int, r: Record, entered_at: dt.datetime) -> dict[str, Any]:
    return {
        "deal_id": deal_id,
        "stage": r["stage"],
        "status": r["status"],
        "amount": r["amount"],
        "entered_at": entered_at,
    }


def _stage_entered_at(r: Record) -> dt.datetime:
    """When a changed stage was entered: as stated, else the close date, else now."""
    moment = r["stage_changed_at"] or r["closed_at"] or utcnow()
    assert isinstance(moment, dt.datetime)
    return moment


def _resolve_account_ids(conn: Connection, accounts: AccountResolver, batch: list[Pending]) -> None:
    names = [p.record["account"] for p in batch]
    by_name = accounts.ids_by_name(conn, filter(None, names))
    refs = accounts.resolve_refs(
        conn, [p.record["account_ref"] for p in batch if p.record["account_ref"]]
    )
    if not refs:  # accounts by name only (or none): the look-ups in C, one store a row
        for p, account_id in zip(batch, map(by_name.get, names), strict=True):
            p.record["account_id"] = account_id  # no name (None, ""): no account
        return
    for p in batch:
        r = p.record
        r["account_id"] = (
            refs[r["account_ref"]]
            if r["account_ref"]
            else by_name[r["account"]]
            if r["account"]
            else None
        )


def _set_all(batch: list[Pending], field: str, value: Any) -> None:
    """Set `field` of every record of `batch` to `value` (a batch naming none of a kind)."""
    for p in batch:
        p.record[field] = value
