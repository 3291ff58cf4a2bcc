"""Resolving names and source ids to row ids, a batch at a time, creating what is new.

Imports refer to reps, accounts, contacts and deals by name or by the source system's id.
Resolvers keep what they have seen in memory and ask the database once per batch for the
rest, so a million-row file costs a few thousand look-ups, not a million.

They live in the store layer, not in ingest, because the analyses, the access policy and the
record queries match names the same way an import does (`name_key`): one rule, below them all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, FromClause, Table, func, insert, select

from paceline.config import Settings
from paceline.errors import InputError, did_you_mean
from paceline.store.bulk import insert_rows, rows_where_in
from paceline.store.engine import HOLDS_WRITE_LOCK
from paceline.store.keys import name_key as name_key  # re-exported: one rule for all
from paceline.store.models import Account, Contact, Deal, Rep, Team, utcnow

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

LOOKUP_CHUNK = 2_000


def dialect_insert(conn: Connection, table: Table) -> PostgresqlInsert | SqliteInsert:
    """The database's own INSERT (with ON CONFLICT), its dialect module loaded only when
    used: PostgreSQL's is a noticeable share of `paceline log`'s start on SQLite."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# A new name within this many edits of an existing rep's is taken for a typo of it until
# someone confirms it ("Jon Smith" beside "John Smith", "Ana Ruis" beside "Ana Ruiz"). Names
# shorter than NEAR_MIN_LENGTH are left alone: two edits turn "Ana" into "Ava", a colleague.
NEAR_EDITS = 2
NEAR_MIN_LENGTH = 6


def plain_key(name: str) -> str:
    """`name_key` without accents: 'José García' and 'Jose Garcia' share one."""
    decomposed = unicodedata.normalize("NFKD", name_key(name))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of `a` and `b`, or `limit + 1` as soon as it must exceed `limit`
    (names are short, and most pairs differ at once: no library needed)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def near_duplicate(name: str, existing: Iterable[str]) -> str | None:
    """The existing rep `name` is most likely a typo of: the same but for accents, or (for
    names of NEAR_MIN_LENGTH letters or more) within NEAR_EDITS edits; None when none is
    close. A name that matches exactly (`name_key`) is that rep, not a near duplicate."""
    key, plain = name_key(name), plain_key(name)
    best: tuple[int, str] | None = None
    for other in existing:
        other_key = name_key(other)
        if other_key == key:
            return None
        if plain_key(other) == plain:
            distance = 0
        elif min(len(key), len(other_key)) < NEAR_MIN_LENGTH:
            continue
        else:
            distance = edit_distance(plain, plain_key(other), NEAR_EDITS)
            if distance > NEAR_EDITS:
                continue
        if best is None or distance < best[0]:
            best = (distance, other)
    return best[1] if best else None


def clean_name(name: str) -> str:
    """A name as stored: single spaces, composed accents (NFC), the person's own letters."""
    return " ".join(unicodedata.normalize("NFC", name).split())


# The one advisory lock (PostgreSQL) every create-if-missing step of a name takes.
NAMES_LOCK = 0x50_61_63_65  # "Pace"


def lock_names(conn: Connection) -> bool:
    """Serialise creating names with everyone else who creates them, until this transaction
    ends; the caller then looks again for what it found missing, and creates only the rest.

    Account and contact names have no unique key (two accounts may share a name), and rep
    and team names are unique only as typed, not as `name_key` matches them ("Ana Ruiz",
    "ana  ruiz"): without this, two imports that both find a name missing both create it.
    PostgreSQL takes a transaction-level advisory lock, only when a batch has names to
    create. SQLite takes the database's write lock (BEGIN IMMEDIATE) unless the transaction
    already writes (a batch holds it from its start, see `write_transaction`): Python's
    sqlite3 driver begins a transaction only before the first write, so the earlier look-up
    ran outside it. Every create below this lock is one, whatever face writes.

    Returns whether what the caller looked up before may be stale: False only in a SQLite
    transaction that held the write lock from its start, where the look-up was already
    under it (an import batch, which then spares itself the second look-up).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(NAMES_LOCK)))
        return True
    if conn.info.get(HOLDS_WRITE_LOCK):
        return False
    driver = conn.connection.dbapi_connection
    if driver is not None and not getattr(driver, "in_transaction", True):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    return True


def _insert_ignoring(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[Any]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING (id, name): the rows actually inserted.
    For tables whose name is unique as typed (reps, teams): a name written by a path that
    does not take `lock_names` (SQL by hand) is then found, not a crash."""
    made: list[Any] = []
    for chunk in chunks(rows, 500):
        statement = dialect_insert(conn, table).values(list(chunk)).on_conflict_do_nothing()
        made += conn.execute(statement.returning(table.c.id, table.c.name)).all()
    return made


class RepResolver:
    """Rep names -> ids. Reps are few, so all are loaded up front (and again before
    creating one, as another import may have created it meanwhile)."""

    def __init__(self, conn: Connection, default_role: str) -> None:
        self.default_role = default_role
        self.created: list[str] = []
        self._ids: dict[str, int] = {}
        self.reload(conn)

    def reload(self, conn: Connection) -> None:
        """Every rep's id by name key; of reps whose names match, the oldest."""
        self._ids = {}
        for rep_id, name in conn.execute(select(Rep.id, Rep.name).order_by(Rep.id)):
            self._ids.setdefault(name_key(name), rep_id)

    def known(self, name: str) -> int | None:
        return self._ids.get(name_key(name))

    def names(self, conn: Connection) -> list[str]:
        """Every stored rep's name (for the near-duplicate check before creating one)."""
        return list(conn.execute(select(Rep.name)).scalars())

    def _missing(self, names: Iterable[str]) -> dict[str, str]:
        fresh: dict[str, str] = {}
        for name in names:
            key = name_key(name)
            if key not in self._ids and key not in fresh:
                fresh[key] = clean_name(name)
        return fresh

    def create(self, conn: Connection, names: Iterable[str], source: str) -> list[str]:
        """Create the reps of `names` not stored yet; returns the names this call created
        (not those another writer created first, which are found instead)."""
        names = list(names)
        if not self._missing(names):
            return []
        lock_names(conn)
        self.reload(conn)
        fresh = self._missing(names)
        if not fresh:
            return []
        rows = [{"name": n, "role": self.default_role, "source": source} for n in fresh.values()]
        made = _insert_ignoring(conn, Rep.__table__, rows)
        for rep_id, name in made:
            self._ids[name_key(name)] = rep_id
        if len(made) < len(rows):
            self.reload(conn)
        created = [name for _, name in made]
        self.created.extend(created)
        return created


class TeamResolver:
    def __init__(self, conn: Connection) -> None:
        self._ids: dict[str, int] = {}
        self.reload(conn)

    def reload(self, conn: Connection) -> None:
        self._ids = {}
        for team_id, name in conn.execute(select(Team.id, Team.name).order_by(Team.id)):
            self._ids.setdefault(name_key(name), team_id)

    def resolve(self, conn: Connection, name: str) -> int:
        key = name_key(name)
        if key not in self._ids:
            lock_names(conn)
            self.reload(conn)
        if key not in self._ids:
            rows = [{"name": clean_name(name)}]
            made = _insert_ignoring(conn, Team.__table__, rows)
            if made:
                self._ids[key] = made[0][0]
            else:
                self.reload(conn)
        return self._ids[key]


def placeholder_name(source: str, kind: str, ref: str) -> str:
    """The name of the row standing in for `source`'s `kind` (account, contact) `ref`
    until that entity's own import fills it in: "zoho account 17"."""
    return f"{source} {kind} {ref}"


class SourceIdResolver:
    """(source, external id) -> row id for one table, optionally creating placeholders."""

    def __init__(self, table: FromClause, source: str) -> None:
        self.table = table
        self.source = source
        self._ids: dict[str, int] = {}

    def resolve(self, conn: Connection, refs: Iterable[str]) -> dict[str, int]:
        wanted = sorted({r for r in refs if r not in self._ids})
        c = self.table.c
        for chunk in chunks(wanted):
            query = select(c.external_id, c.id).where(
                c.source == self.source, c.external_id.in_(chunk)
            )
            self._ids.update({ext: row_id for ext, row_id in conn.execute(query)})
        return self._ids

    def resolve_or_hold(
        self, conn: Connection, refs: dict[str, dict[str, Any]], kind: str
    ) -> tuple[dict[str, int], int]:
        """Ids for source ids, inserting a placeholder row ("zoho account 17") for each one
        not stored yet, with the given extra values; a later import of that entity from the
        same source fills it in. Returns the ids and how many placeholders were made."""
        known = self.resolve(conn, refs)
        new = sorted(r for r in refs if r not in known)
        if not new:
            return known, 0
        if lock_names(conn):
            known = self.resolve(conn, new)  # another import may have held them meanwhile
            new = [r for r in new if r not in known]
        if not new:
            return known, 0
        rows = [
            {
                "name": placeholder_name(self.source, kind, r),
                "source": self.source,
                "external_id": r,
                **refs[r],
            }
            for r in new
        ]
        assert isinstance(self.table, Table)
        conn.execute(insert(self.table), rows)
        return self.resolve(conn, new), len(new)


def first_spellings(keyed: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Name key -> the clean name of the first (name, key) pair with that key.

    An account made from a name is stored as the first spelling the import meets: "Acme
    Inc" on line 2 stays "Acme Inc" whatever "ACME inc" follows. A dict built pair by
    pair kept the last one, so the stored name depended on which spelling a batch ended
    with. Once stored, the name is found by its key and never rewritten: re-imports keep
    it, whichever spelling they start with."""
    first: dict[str, str] = {}
    for name, key in keyed:
        if key not in first:
            first[key] = clean_name(name)
    return first


class AccountResolver:
    """Accounts by name, or by the source system's id (placeholders until their import)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.by_ref = SourceIdResolver(Account.__table__, source)
        self._by_name: dict[str, int] = {}
        self._by_written: dict[str, int] = {}  # name as written -> id
        self.created = 0

    def ids_by_name(self, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        """Account ids by name as written, creating what is new (see `resolve_names`).

        A name written before maps straight to its id: a large import names the same few
        thousand accounts in every batch, and normalising each (NFKC) every time cost more
        than the look-up itself."""
        known = self._by_written
        # Each distinct name looked at once, in the order the names first appear: the new
        # accounts are inserted, and so numbered, in that order. A set here numbered them by
        # the string hashes, so the same file gave other ids in another process.
        fresh = [n for n in dict.fromkeys(names) if n not in known]
        if fresh:
            keys = {n: name_key(n) for n in fresh}  # normalised once per new name
            by_key = self._resolve(conn, first_spellings(keys.items()))
            for name, key in keys.items():
                known[name] = by_key[key]
        return known

    def resolve_names(self, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        """Account ids by name key, creating the accounts not stored yet (once, whoever
        else creates them at the same time: see `lock_names`)."""
        return self._resolve(conn, first_spellings((n, name_key(n)) for n in names))

    def _resolve(self, conn: Connection, wanted: dict[str, str]) -> dict[str, int]:
        """Account ids by name key for `wanted` (name key -> clean name)."""
        new = self._look_up(conn, wanted, [k for k in wanted if k not in self._by_name])
        if new and lock_names(conn):
            new = self._look_up(conn, wanted, new)  # another import may have made them
        if new:
            # In bulk (COPY on PostgreSQL), then found by key like any stored account: a fresh
            # import names thousands of new accounts in its first batch. The key stored is
            # the one `name_key_default` gives the clean name: the key looked up (NFKC of the
            # NFC form is NFKC of the name, and both collapse the spaces).
            now = utcnow()
            rows = [(wanted[k], k, self.source, now) for k in new]
            insert_rows(conn, Account.__table__, ("name", "name_key", "source", "created_at"), rows)
            missing = self._look_up(conn, wanted, new)
            assert not missing, f"accounts inserted but not found: {missing[:3]}"
            self.created += len(rows)
        return {k: self._by_name[k] for k in wanted}

    def _look_up(self, conn: Connection, wanted: dict[str, str], keys: list[str]) -> list[str]:
        """Find stored accounts for `keys`; returns the keys still missing."""
        # By the stored key, on its index: "Acme Inc" and "ACME  inc" are one account; the
        # oldest account of a key wins.
        for account_id, key in rows_where_in(
            conn, Account.__table__, "name_key", keys, ("id", "name_key")
        ):
            self._by_name.setdefault(key, account_id)
        return [k for k in keys if k not in self._by_name]

    def resolve_refs(self, conn: Connection, refs: Iterable[str]) -> dict[str, int]:
        known, made = self.by_ref.resolve_or_hold(conn, {r: {} for r in refs}, "account")
        self.created += made
        return known


class ContactResolver:
    """Contacts by (account, name), or by the source system's id; created when new."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._ids: dict[tuple[int | None, str], int] = {}
        self.by_ref = SourceIdResolver(Contact.__table__, source)
        self.created = 0

    def resolve_refs(self, conn: Connection, refs: dict[str, int | None]) -> dict[str, int]:
        """Contact ids for source ids (ref -> its account), placeholders for unknown ones."""
        held = {ref: {"account_id": account_id} for ref, account_id in refs.items()}
        known, made = self.by_ref.resolve_or_hold(conn, held, "contact")
        self.created += made
        return known

    def resolve(self, conn: Connection, pairs: Iterable[tuple[int | None, str]]) -> None:
        """Look up (account, name) pairs a batch at a time; create the missing in one insert
        (once, whoever else creates them at the same time: see `lock_names`)."""
        wanted = {
            (account_id, name_key(name)): (account_id, clean_name(name))
            for account_id, name in pairs
            if (account_id, name_key(name)) not in self._ids
        }
        new = self._look_up(conn, wanted)
        if new and lock_names(conn):
            new = self._look_up(conn, new)  # another import may have made them meanwhile
        if not new:
            return
        rows = [{"account_id": a, "name": n, "source": self.source} for a, n in new.values()]
        statement = insert(Contact).returning(Contact.id, sort_by_parameter_order=True)
        ids = conn.execute(statement, rows).scalars().all()
        self._ids.update(zip(new, ids, strict=True))
        self.created += len(rows)

    def _look_up(
        self, conn: Connection, wanted: dict[tuple[int | None, str], tuple[int | None, str]]
    ) -> dict[tuple[int | None, str], tuple[int | None, str]]:
        """Find stored contacts for `wanted`, as names are keyed (case and spacing ignored);
        returns those still missing."""
        keys = sorted({key for _, key in wanted})
        for chunk in chunks(keys):
            query = select(Contact.id, Contact.account_id, Contact.name_key).where(
                Contact.name_key.in_(chunk)
            )
            for contact_id, account_id, key in conn.execute(query.order_by(Contact.id.desc())):
                if (account_id, key) in wanted:  # descending: the oldest one wins
                    self._ids[(account_id, key)] = contact_id
        return {key: pair for key, pair in wanted.items() if key not in self._ids}

    def get(self, account_id: int | None, name: str) -> int:
        return self._ids[(account_id, name_key(name))]


def deal_resolver(source: str) -> SourceIdResolver:
    return SourceIdResolver(Deal.__table__, source)


def default_role(settings: Settings) -> str:
    """New reps get the AE role when the configuration has one, else the first role."""
    return "ae" if "ae" in settings.role_names else settings.roles[0].name


def existing_rep_id(conn: Connection, reps: RepResolver, name: str) -> int:
    """The rep of that name, or an error suggesting the closest names (no rep is created)."""
    rep_id = reps.known(name)
    if rep_id is not None:
        return rep_id
    names = [n for (n,) in conn.execute(select(Rep.name))]
    hint = did_you_mean(name, names)
    raise InputError("rep", f"no rep named {name!r}{hint} (add one with `paceline rep add`)")
