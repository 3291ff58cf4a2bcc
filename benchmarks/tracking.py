"""Plan-and-track read path: every rep's scorecard plus a leaderboard, against DuckDB.

The question this answers: is the `metric_day` rollup worth its write-side cost? A manager's
page asks for every rep's scorecard for the month plus a leaderboard; without the rollup that
means scanning every activity of the month (and of the previous month, for last period's
rank) on each view. So, for 1,000 reps at 1M and 10M activities (same reps, same current
month; the larger scale only has a ten times longer history), this measures:

- `paceline`: one `ensure_rollup` that finds nothing to do, one `team_scorecards` call and one
  `leaderboard("conversations")` call, on SQLite and on PostgreSQL (warm: one warm-up run,
  then the median and p90 of `--runs` runs). The no-op rollup check is also reported alone.
- `duckdb`: the equivalent raw aggregation (the same key metrics with the same filters per
  rep for the month to date, the leaderboard metric for the current and previous month) over
  the same activities, contacts and deals exported to Parquet. DuckDB is the bar: a column
  store with no precomputation. Its numbers are checked against Paceline's, rep by rep.
- `raw`: the same SQL straight against the `activity` table in SQLite and PostgreSQL (no
  rollup), to show what the rollup saves.
- the write side: bulk load time, the full rollup build, an incremental refresh after one
  day's activities change, and database sizes.

The data is generated with numpy from a fixed seed, one business day at a time with a
generator seeded by the day, so the current month is the same at every scale. It is written
to Parquet first (that is the DuckDB input) and the databases are loaded from those files.
Generated files, SQLite databases and PostgreSQL databases are cached between runs, keyed by
scale, seed and generator version (`--fresh` rebuilds them, `--clean-cache` deletes them).

Run it through ``benchmarks/run.py --only tracking`` (``make bench``) or directly:
``python benchmarks/tracking.py --scales 100k,1M --no-postgres``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import math
import multiprocessing
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
from numpy.typing import NDArray
from sqlalchemy import Engine, text, update
from sqlalchemy.engine import make_url

import benchkit
from paceline.analytics.leaderboard import Leaderboard, leaderboard
from paceline.analytics.metrics import metric_totals
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import TeamScorecard, team_scorecards
from paceline.calendar import BusinessCalendar
from paceline.config import MetricSettings, Settings, default_settings
from paceline.services.targets import TargetRow, save_targets
from paceline.store.bulk import insert_rows
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Activity, Base
from paceline.store.schema import schema_facts

if TYPE_CHECKING:  # pyarrow and duckdb come with the `bench` extra: imported where used
    import pyarrow as pa

NAME = "tracking"
SEED = 20_261_118
AS_OF = dt.date(2026, 11, 18)  # mid-month: 13 business days into November 2026
REPS = 1_000
PER_REP_PER_DAY = 40
DEFAULT_SCALES = (1_000_000, 10_000_000)
DEFAULT_RUNS = 15  # rounds are cheap (about a second); more of them steady the medians
QUIET_LOAD = 1.0
DEFAULT_QUIET_WAIT = 300.0
RAW_RUNS = 5  # the no-rollup references take seconds a run at 10M: the minimum
LEADERBOARD_METRIC = "conversations"
TARGET_MS = 250.0
# "Flat as history grows": 10x the history, under 1.25x the time of the fastest of the runs
# (the one least disturbed by other work on a shared machine; medians move by 10-30% here).
FLAT_GROWTH = 1.25
# Bump when the generated data or the way it is loaded changes: cached files go stale.
DATA_VERSION = 1
CACHE = Path(os.environ.get("PACELINE_BENCH_CACHE", "/tmp/paceline-bench-tracking"))
PG_ADMIN_URL = os.environ.get("PACELINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
RESULTS = Path(__file__).resolve().parent / "results" / f"{NAME}.json"
LOAD_BATCH = 100_000  # activities per transaction when loading
ROW_GROUP = 122_880  # Parquet row group: DuckDB's own, so both threads get work at 1M rows

# --- the synthetic organisation ------------------------------------------------------------

ROLE_SHARES = {"sdr": 0.4, "ae": 0.4, "field": 0.2}
INSIDE_TEAMS = ("Inside East", "Inside West", "Inside Central", "Inside South")
FIELD_TEAMS = ("Field North", "Field South")
ACCOUNTS_PER_REP = 15
CONTACTS_PER_ACCOUNT = 4
# Contact seniority: share of contacts, chance of being a decision maker.
SENIORITY = {
    "staff": (0.33, 0.02),
    "manager": (0.30, 0.15),
    "director": (0.19, 0.50),
    "vp": (0.13, 0.85),
    "c_level": (0.05, 0.95),
}


def _shares(text: str) -> dict[str, float]:
    """'call 55, email 18' -> {'call': 55.0, 'email': 18.0}: compact tables below."""
    pairs = (item.split() for item in text.split(",") if item.strip())
    return {name: float(value) for name, value in pairs}


# What each role spends its logged activities on (relative weights; kinds not named: 0).
KIND_MIX = {
    "sdr": _shares(
        "call 55, email 18, social_message 7, follow_up 6, video_meeting 1, crm_update 5,"
        "research 4, admin 2, email_triage 2"
    ),
    "ae": _shares(
        "call 20, email 20, follow_up 10, meeting 3, discovery_meeting 3, video_meeting 6,"
        "proposal 2, knowledge_share 1, crm_update 8, research 6, internal_meeting 8, admin 5,"
        "email_triage 4, support 2, training 2"
    ),
    "field": _shares(
        "call 18, email 12, meeting 12, discovery_meeting 2, video_meeting 3, proposal 3,"
        "letter 3, networking_event 1, knowledge_share 2, follow_up 8, travel 10, crm_update 8,"
        "admin 6, internal_meeting 4, order_chasing 4, support 4"
    ),
}
# Outcome shares per kind; the remainder (and kinds not listed) have no outcome.
OUTCOME_MIX = {
    "call": _shares(
        "no_answer .42, voicemail .25, gatekeeper .10, conversation .13, not_interested .05,"
        "meeting_set .05"
    ),
    "meeting": _shares("held .80, no_show .06, meeting_set .04, opportunity_created .10"),
    "discovery_meeting": _shares("held .75, no_show .10, opportunity_created .15"),
    "video_meeting": _shares("held .70, no_show .15, meeting_set .15"),
    "email": _shares("sent .85, replied .12, meeting_set .03"),
    "letter": _shares("sent 1"),
    "social_message": _shares("sent .80, replied .20"),
    "networking_event": _shares("conversation .70, done .30"),
    "knowledge_share": _shares("sent .80, replied .20"),
    "proposal": _shares("sent .70, proposal_reviewed .30"),
    "follow_up": _shares("sent .50, replied .20, conversation .20, meeting_set .10"),
}
NON_SELLING_DONE = 0.6  # share of non-selling activities logged with outcome "done"
# Chance that a selling-eligible activity carries an Ask.
ASK_CHANCE = _shares(
    "call .35, meeting .60, discovery_meeting .50, video_meeting .50, email .30, letter .30,"
    "social_message .20, networking_event .30, knowledge_share .20, proposal 1, follow_up .50"
)
# Median duration per kind (log-normal around it); kinds not named: 15 minutes.
MEDIAN_MINUTES = _shares(
    "call 4, meeting 45, discovery_meeting 50, video_meeting 30, email 3, letter 10,"
    "social_message 2, networking_event 120, knowledge_share 20, proposal 60, follow_up 5,"
    "travel 60, internal_meeting 40, training 45"
)
DEALS_PER_OWNER_PER_MONTH = 3.0
BUSINESS_DAYS_PER_MONTH = 21
SOURCED_BY_SDR = 0.5
OPEN_STAGES = ("prospect", "qualification", "needs_analysis", "proposal", "negotiation")


@dataclasses.dataclass(frozen=True)
class Roster:
    """Reps, teams and the accounts and contacts each rep works: the same at every scale."""

    role: NDArray[np.str_]  # per rep (index = rep id - 1)
    team: NDArray[np.int64]  # index into `teams`
    weight: NDArray[np.float64]  # share of the day's activities each rep logs
    teams: tuple[str, ...]
    contact_seniority: NDArray[np.str_]
    contact_dm: NDArray[np.bool_]

    @property
    def contacts_per_rep(self) -> int:
        return ACCOUNTS_PER_REP * CONTACTS_PER_ACCOUNT


def make_roster(seed: int) -> Roster:
    rng = np.random.default_rng([seed, 0])
    counts = {role: round(share * REPS) for role, share in ROLE_SHARES.items()}
    role = np.array([r for r, n in counts.items() for _ in range(n)])
    rng.shuffle(role)
    teams = INSIDE_TEAMS + FIELD_TEAMS
    team = np.where(
        role == "field",
        len(INSIDE_TEAMS) + rng.integers(0, len(FIELD_TEAMS), REPS),
        rng.integers(0, len(INSIDE_TEAMS), REPS),
    )
    weight = rng.gamma(8.0, 1.0, REPS)
    contacts = REPS * ACCOUNTS_PER_REP * CONTACTS_PER_ACCOUNT
    levels = list(SENIORITY)
    shares = np.array([SENIORITY[s][0] for s in levels])
    level = rng.choice(len(levels), size=contacts, p=shares / shares.sum())
    dm = rng.random(contacts) < np.array([SENIORITY[s][1] for s in levels])[level]
    return Roster(
        role=role,
        team=team.astype(np.int64),
        weight=weight / weight.sum(),
        teams=teams,
        contact_seniority=np.array(levels)[level],
        contact_dm=dm,
    )


@dataclasses.dataclass(frozen=True)
class Tables:
    """The configuration's kinds and outcomes as arrays the generator indexes into."""

    kinds: list[str]
    outcomes: list[str]  # index len(outcomes) = no outcome
    kind_p: dict[str, NDArray[np.float64]]  # per role, over kinds
    outcome_cdf: NDArray[np.float64]  # kinds x outcomes+1, cumulative
    ask_p: NDArray[np.float64]
    minutes: NDArray[np.float64]
    selling: NDArray[np.bool_]
    engaged: NDArray[np.bool_]  # per outcome index (+ no outcome)

    @classmethod
    def from_settings(cls, settings: Settings) -> Tables:
        kinds = [k.name for k in settings.kinds]
        outcomes = [o.name for o in settings.outcomes]
        used = {k for mix in KIND_MIX.values() for k in mix} | set(OUTCOME_MIX)
        used_outcomes = {o for mix in OUTCOME_MIX.values() for o in mix} | {"done"}
        missing = sorted(used - set(kinds)) + sorted(used_outcomes - set(outcomes))
        if missing:
            raise ValueError(f"the configuration lacks kinds/outcomes: {', '.join(missing)}")
        kind_p = {}
        for role, mix in KIND_MIX.items():
            weights = np.array([mix.get(k, 0) for k in kinds], dtype=float)
            kind_p[role] = weights / weights.sum()
        selling = np.array([k in settings.selling_kinds for k in kinds])
        probability = np.zeros((len(kinds), len(outcomes) + 1))
        for i, kind in enumerate(kinds):
            mix = OUTCOME_MIX.get(kind) or ({} if selling[i] else {"done": NON_SELLING_DONE})
            for outcome, share in mix.items():
                probability[i, outcomes.index(outcome)] = share
            probability[i, -1] = max(0.0, 1.0 - probability[i].sum())
        return cls(
            kinds=kinds,
            outcomes=outcomes,
            kind_p=kind_p,
            outcome_cdf=np.cumsum(probability, axis=1),
            ask_p=np.array(
                [ASK_CHANCE.get(k, 0.0) if k in settings.selling_kinds else 0.0 for k in kinds]
            ),
            minutes=np.array([MEDIAN_MINUTES.get(k, 15) for k in kinds], dtype=float),
            selling=selling,
            engaged=np.array([o in settings.engaged_outcomes for o in [*outcomes, ""]]),
        )


def business_days_back(settings: Settings, as_of: dt.date, count: int) -> list[dt.date]:
    """The `count` business days ending with `as_of` (included), oldest first."""
    calendar = BusinessCalendar(settings.calendar)
    days: list[dt.date] = []
    day = as_of
    while len(days) < count:
        if calendar.is_business_day(day):
            days.append(day)
        day -= dt.timedelta(days=1)
    return days[::-1]


def _utc(settings: Settings, day: dt.date, minutes: NDArray[Any]) -> NDArray[Any]:
    """Local minutes after midnight on `day` as naive UTC datetime64[us]."""
    offset = settings.calendar.zone.utcoffset(dt.datetime.combine(day, dt.time(12)))
    assert offset is not None
    midnight = np.datetime64(day, "us") - np.timedelta64(int(offset.total_seconds()), "s")
    return midnight + (minutes * 60_000_000).astype("timedelta64[us]")


def day_activities(
    seed: int, roster: Roster, tables: Tables, settings: Settings, day: dt.date, rows: int
) -> pa.Table:
    """One business day's activities, in time order; the same for a given seed and day."""
    import pyarrow as pa

    n = REPS * PER_REP_PER_DAY
    rng = np.random.default_rng([seed, 1, day.toordinal()])
    rep = rng.choice(REPS, size=n, p=roster.weight)
    kind = np.empty(n, dtype=np.int64)
    for role, p in tables.kind_p.items():
        mine = roster.role[rep] == role
        kind[mine] = rng.choice(len(p), size=int(mine.sum()), p=p)
    outcome = (rng.random(n)[:, None] > tables.outcome_cdf[kind]).sum(axis=1)
    outcome = np.minimum(outcome, len(tables.outcomes))
    has_ask = rng.random(n) < tables.ask_p[kind]
    minutes = np.round(tables.minutes[kind] * rng.lognormal(0.0, 0.5, n), 1)
    facing = tables.selling[kind]
    contact = rep * roster.contacts_per_rep + rng.integers(0, roster.contacts_per_rep, n)
    at = rng.uniform(7.5 * 60, 19 * 60, n)
    order = np.argsort(at, kind="stable")[n - rows :]  # a short (oldest) day keeps its end
    rep, kind, outcome, has_ask = rep[order], kind[order], outcome[order], has_ask[order]
    minutes, facing, contact, at = minutes[order], facing[order], contact[order], at[order]
    no_outcome = outcome == len(tables.outcomes)
    stamp = f"{day:%Y%m%d}"
    return pa.table(
        {
            "rep_id": pa.array(rep + 1, pa.int64()),
            "account_id": pa.array(contact // CONTACTS_PER_ACCOUNT + 1, mask=~facing),
            "contact_id": pa.array(contact + 1, mask=~facing),
            "kind": pa.array(np.array(tables.kinds)[kind]).dictionary_encode(),
            "occurred_at": pa.array(_utc(settings, day, at)),
            "local_date": pa.array(np.full(len(order), day, dtype="datetime64[D]")),
            "duration_min": pa.array(minutes),
            "outcome": pa.array(
                np.array([*tables.outcomes, ""])[outcome], mask=no_outcome
            ).dictionary_encode(),
            "has_ask": pa.array(has_ask),
            "engaged": pa.array(tables.engaged[outcome]),
            "external_id": pa.array([f"A{stamp}-{i:05d}" for i in range(len(order))]),
        }
    )


def day_deals(
    seed: int, roster: Roster, settings: Settings, day: dt.date, as_of: dt.date
) -> list[dict[str, Any]]:
    """Deals opened on `day`: owned by AEs and field reps, half sourced by an SDR of the team."""
    rng = np.random.default_rng([seed, 2, day.toordinal()])
    owners = np.flatnonzero(roster.role != "sdr")
    count = rng.poisson(len(owners) * DEALS_PER_OWNER_PER_MONTH / BUSINESS_DAYS_PER_MONTH)
    deals = []
    for i in range(count):
        owner = int(rng.choice(owners))
        sdrs = np.flatnonzero((roster.role == "sdr") & (roster.team == roster.team[owner]))
        sourced = int(rng.choice(sdrs)) + 1 if len(sdrs) and rng.random() < SOURCED_BY_SDR else None
        created = _utc(settings, day, np.array([rng.uniform(8 * 60, 18 * 60)]))[0]
        close_day = day + dt.timedelta(days=int(10 + rng.exponential(35)))
        fate = rng.random()
        status = "won" if fate < 0.3 else "lost" if fate < 0.8 else "open"
        closed = None
        if close_day > as_of:
            status = "open"
        if status != "open":
            closed = _utc(settings, close_day, np.array([rng.uniform(8 * 60, 18 * 60)]))[0]
        stage = {"won": "closed_won", "lost": "closed_lost"}.get(
            status, OPEN_STAGES[int(rng.integers(0, len(OPEN_STAGES)))]
        )
        account = owner * ACCOUNTS_PER_REP + int(rng.integers(0, ACCOUNTS_PER_REP)) + 1
        amount = Decimal(f"{rng.lognormal(math.log(25_000), 0.8):.2f}")
        deals.append(
            {
                "rep_id": owner + 1,
                "sourced_by_id": sourced,
                "account_id": account,
                "name": f"Deal {day:%Y%m%d}-{i:03d}",
                "amount": amount,
                "stage": stage,
                "status": status,
                "created_at": created.astype(dt.datetime),
                "closed_at": None if closed is None else closed.astype(dt.datetime),
                "expected_close": close_day,
                "external_id": f"D{day:%Y%m%d}-{i:03d}",
            }
        )
    return deals


# --- the data set on disk (Parquet, cached) --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DataSet:
    """One scale's generated files: the DuckDB input and what the databases are loaded from."""

    rows: int
    seed: int
    folder: Path

    @property
    def key(self) -> str:
        return f"{self.rows}_{self.seed}_v{DATA_VERSION}"

    def path(self, table: str) -> Path:
        return self.folder / f"{table}.parquet"

    @property
    def info_path(self) -> Path:
        return self.folder / "data.json"

    @property
    def sqlite_path(self) -> Path:
        return self.folder / "paceline.db"

    @property
    def pg_name(self) -> str:
        return f"paceline_bench_tracking_{self.key}"


def data_set(rows: int, seed: int) -> DataSet:
    return DataSet(rows, seed, CACHE / f"{rows}_{seed}_v{DATA_VERSION}")


def generate(data: DataSet, settings: Settings, as_of: dt.date) -> dict[str, Any]:
    """Write the data set's Parquet files (skipped when cached); figures about them."""
    if data.info_path.exists():
        info: dict[str, Any] = json.loads(data.info_path.read_text(encoding="utf-8"))
        info["cached"] = True
        return info
    import pyarrow as pa
    import pyarrow.parquet as pq

    if data.folder.exists():
        shutil.rmtree(data.folder)
    data.folder.mkdir(parents=True)
    started = time.perf_counter()
    roster = make_roster(data.seed)
    tables = Tables.from_settings(settings)
    per_day = REPS * PER_REP_PER_DAY
    days = business_days_back(settings, as_of, math.ceil(data.rows / per_day))
    deals: list[dict[str, Any]] = []
    pending: list[pa.Table] = []
    writer: pq.ParquetWriter | None = None
    for i, day in enumerate(days):
        rows = per_day if i else data.rows - per_day * (len(days) - 1)
        pending.append(day_activities(data.seed, roster, tables, settings, day, rows))
        deals += day_deals(data.seed, roster, settings, day, as_of)
        if sum(t.num_rows for t in pending) >= ROW_GROUP or i == len(days) - 1:
            chunk = pa.concat_tables(pending).unify_dictionaries()
            if writer is None:
                writer = pq.ParquetWriter(data.path("activity"), chunk.schema)
            writer.write_table(chunk.cast(writer.schema), row_group_size=ROW_GROUP)
            pending = []
    assert writer is not None
    writer.close()
    for table, contents in _side_tables(roster, deals).items():
        pq.write_table(contents, data.path(table))
    info = {
        "rows": data.rows,
        "seed": data.seed,
        "first_day": days[0].isoformat(),
        "last_day": days[-1].isoformat(),
        "business_days": len(days),
        "deals": len(deals),
        "seconds": time.perf_counter() - started,
        "parquet_bytes": sum(data.path(t).stat().st_size for t in TABLE_ORDER),
    }
    data.info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    info["cached"] = False
    return info


TABLE_ORDER = ("team", "rep", "account", "contact", "deal", "activity")


def _side_tables(roster: Roster, deals: list[dict[str, Any]]) -> dict[str, pa.Table]:
    """Teams, reps, accounts, contacts and deals, with the ids the databases will use."""
    import pyarrow as pa

    rep_ids = np.arange(1, REPS + 1)
    account_ids = np.arange(1, REPS * ACCOUNTS_PER_REP + 1)
    contact_ids = np.arange(1, len(account_ids) * CONTACTS_PER_ACCOUNT + 1)
    for deal in deals:
        deal["updated_at"] = deal["closed_at"] or deal["created_at"]
    return {
        "team": pa.table({"id": range(1, len(roster.teams) + 1), "name": roster.teams}),
        "rep": pa.table(
            {
                "id": rep_ids,
                "name": [f"Rep {i:04d}" for i in rep_ids.tolist()],
                "email": [f"rep{i}@bench.example" for i in rep_ids.tolist()],
                "role": roster.role,
                "team_id": roster.team + 1,
                "external_id": [f"r{i}" for i in rep_ids.tolist()],
            }
        ),
        "account": pa.table(
            {
                "id": account_ids,
                "name": [f"Account {i:05d}" for i in account_ids.tolist()],
                "owner_id": (account_ids - 1) // ACCOUNTS_PER_REP + 1,
                "external_id": [f"acc{i}" for i in account_ids.tolist()],
            }
        ),
        "contact": pa.table(
            {
                "id": contact_ids,
                "account_id": (contact_ids - 1) // CONTACTS_PER_ACCOUNT + 1,
                "name": [f"Contact {i:06d}" for i in contact_ids.tolist()],
                "seniority": pa.array(roster.contact_seniority).dictionary_encode(),
                "is_decision_maker": roster.contact_dm,
                "external_id": [f"p{i}" for i in contact_ids.tolist()],
            }
        ),
        "deal": pa.Table.from_pylist(
            [{"id": i, **d} for i, d in enumerate(deals, start=1)],
            schema=pa.schema(
                {
                    "id": pa.int64(),
                    "rep_id": pa.int64(),
                    "sourced_by_id": pa.int64(),
                    "account_id": pa.int64(),
                    "name": pa.string(),
                    "amount": pa.decimal128(16, 2),
                    "stage": pa.string(),
                    "status": pa.string(),
                    "created_at": pa.timestamp("us"),
                    "closed_at": pa.timestamp("us"),
                    "expected_close": pa.date32(),
                    "external_id": pa.string(),
                    "updated_at": pa.timestamp("us"),
                }
            ),
        ),
    }


# --- loading Paceline ------------------------------------------------------------------------

SOURCE = "bench"
STAMP = dt.datetime(2024, 1, 1, 9, 0)


# Columns the Parquet files do not carry, per table (Python-side defaults in the models).
SIDE_CONSTANTS: dict[str, dict[str, Any]] = {
    "team": {"created_at": STAMP},
    "rep": {
        "start_date": dt.date(2024, 1, 1),
        "capacity": 1.0,
        "source": SOURCE,
        "created_at": STAMP,
    },
    "account": {"account_type": "prospect", "source": SOURCE, "created_at": STAMP},
    "contact": {"source": SOURCE, "created_at": STAMP},
    "deal": {"source": SOURCE},
}


def _side_rows(data: DataSet, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A small table's (columns, rows) for `insert_rows`, from its Parquet file."""
    import pyarrow.parquet as pq

    contents = pq.read_table(data.path(table))
    constants = SIDE_CONSTANTS[table]
    columns = [contents.column(name).to_pylist() for name in contents.column_names]
    rows = [(*row, *constants.values()) for row in zip(*columns, strict=True)]
    return [*contents.column_names, *constants], rows


# fmt: off
ACTIVITY_FILE_COLUMNS = (
    "rep_id", "account_id", "contact_id", "kind", "occurred_at", "local_date", "duration_min",
    "outcome", "has_ask", "engaged", "external_id",
)
# fmt: on
ACTIVITY_COLUMNS = (*ACTIVITY_FILE_COLUMNS, "source", "created_at", "updated_at")


def _python_values(column: pa.Array) -> list[Any]:
    """A column as Python values, through numpy where pyarrow's `to_pylist` is slow.

    `to_pylist` costs about 5 us a value for timestamps, dates and dictionary strings on this
    machine, which would be half the load time; numpy converts them in a fraction of that.
    Nullable integers keep `to_pylist` (fast for them), as numpy would turn them into floats.
    """
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if column.null_count and pa.types.is_integer(column.type):
        return list(column.to_pylist())
    values: list[Any] = column.to_numpy(zero_copy_only=False).tolist()
    return values


def _activity_batches(data: DataSet) -> Iterator[list[tuple[Any, ...]]]:
    """The activities as tuples in ACTIVITY_COLUMNS order, LOAD_BATCH at a time."""
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(data.path("activity")).iter_batches(
        batch_size=LOAD_BATCH, columns=list(ACTIVITY_FILE_COLUMNS)
    ):
        columns = [_python_values(batch.column(c)) for c in ACTIVITY_FILE_COLUMNS]
        rows = zip(*columns, strict=True)
        when = columns[ACTIVITY_FILE_COLUMNS.index("occurred_at")]
        yield [(*row, SOURCE, at, at) for row, at in zip(rows, when, strict=True)]


def load(engine: Engine, data: DataSet, settings: Settings, as_of: dt.date) -> dict[str, Any]:
    """Migrate, bulk-load, build the rollup and save targets; the write-side figures."""
    upgrade(engine)
    postgres = engine.dialect.name == "postgresql"
    started = time.perf_counter()
    with engine.begin() as conn:
        for table in SIDE_CONSTANTS:
            insert_rows(conn, Base.metadata.tables[table], *_side_rows(data, table))
        if postgres:  # ids were given explicitly: move the sequences past them
            for table in ("team", "rep", "account", "contact", "deal"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    activity = Base.metadata.tables["activity"]
    loaded = 0
    for rows in _activity_batches(data):
        with engine.begin() as conn:
            insert_rows(conn, activity, ACTIVITY_COLUMNS, rows)
        loaded += len(rows)
    if postgres:  # what the importer does as a table grows (see ingest.writers)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    refresh = ensure_rollup(engine, settings)
    rollup_seconds = time.perf_counter() - started
    assert refresh.rebuilt, "the first ensure_rollup after a load should build the rollup"
    targets = save_month_targets(engine, settings, data, as_of)
    _settle(engine)
    return {
        "activities": loaded,
        "load_seconds": load_seconds,
        "rollup_build_seconds": rollup_seconds,
        "targets": targets,
    }


def _settle(engine: Engine) -> None:
    """Leave the database as a running system would be: statistics fresh, WAL checkpointed.

    On PostgreSQL, VACUUM ANALYZE now rather than letting autovacuum wake up during timing.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def key_metrics(settings: Settings, roles: Sequence[str]) -> list[str]:
    """The key metrics of the given roles, each once, in configuration order."""
    names: list[str] = []
    for role in roles:
        names += [m for m in settings.role(role).key_metrics if m not in names]
    return names


def save_month_targets(engine: Engine, settings: Settings, data: DataSet, as_of: dt.date) -> int:
    """Monthly targets for every rep's key metrics, for every month of the history.

    Each target is the rep's month-to-date figure extrapolated to the whole month, times a
    random factor (log-normal, ~20 %), so scorecards show reps ahead, on pace and behind.
    The same values are stored for every month, as a yearly plan split into months would.
    """
    calendar = BusinessCalendar(settings.calendar)
    month = calendar.period("month", as_of)
    elapsed = calendar.business_days(month.start, as_of + dt.timedelta(days=1))
    share = calendar.business_days(month.start, month.end) / elapsed
    roster = make_roster(data.seed)
    rng = np.random.default_rng([data.seed, 3])
    with engine.connect() as conn:
        totals = metric_totals(
            conn,
            settings,
            key_metrics(settings, sorted(ROLE_SHARES)),
            month.start,
            as_of + dt.timedelta(days=1),
        )
    first = dt.date.fromisoformat(json.loads(data.info_path.read_text())["first_day"])
    months = []
    start = month.start
    while start >= first.replace(day=1):
        months.append(start)
        start = calendar.previous(calendar.period("month", start)).start
    rows = []
    for index, role in enumerate(roster.role.tolist()):
        for metric in settings.role(role).key_metrics:
            pace = totals.get(index + 1, metric) * share * float(rng.lognormal(0.0, 0.2))
            value = max(1.0, round(pace, -2) if pace > 1_000 else round(pace))
            rows += [TargetRow(index + 1, metric, "month", s, value, "plan") for s in months]
    with engine.begin() as conn:
        return save_targets(conn, rows)


# --- databases (SQLite file, PostgreSQL database), cached -------------------------------------


def pg_admin_conninfo() -> str:
    return make_url(PG_ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def pg_server() -> tuple[bool, str]:
    """(whether a PostgreSQL server answers, its version or why not)."""
    try:
        with psycopg.connect(pg_admin_conninfo(), autocommit=True, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return False, f"no PostgreSQL server answers at {PG_ADMIN_URL}: {reason}"
    return True, str(row[0]) if row else "?"


def _pg_exists(name: str) -> bool:
    with psycopg.connect(pg_admin_conninfo(), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def _pg_create(name: str) -> None:
    with psycopg.connect(pg_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_drop(name: str) -> None:
    with psycopg.connect(pg_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cached_pg_databases() -> list[str]:
    with psycopg.connect(pg_admin_conninfo(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'paceline_bench_tracking_%'"
        ).fetchall()
    return [str(r[0]) for r in rows]


# The tables the benchmark loads or reads; their schema decides whether a cache is stale.
BENCH_TABLES = (
    "team",
    "rep",
    "account",
    "contact",
    "deal",
    "activity",
    "target",
    "metric_day",
    "metric_month",
    "rollup_dirty",
    "rollup_dirty_contact",
    "rollup_state",
)


def bench_schema(engine: Engine) -> list[tuple[str, ...]]:
    """The schema of BENCH_TABLES as `schema_facts` (columns, constraints, indexes, triggers,
    functions), not as SQL text: SQLite keeps the CREATE TABLE text Alembic's batch mode wrote,
    its constraints in the order of a Python set (which changes from run to run), so a text
    comparison found an upgraded database, and most fresh ones, different and reloaded them."""
    return schema_facts(engine, BENCH_TABLES)


def reference_schema(engine_name: str) -> list[tuple[str, ...]]:
    """`bench_schema` of an empty database migrated now: what a fresh load would get."""
    if engine_name == "sqlite":
        path = CACHE / f"schema-{os.getpid()}.db"
        url = f"sqlite:///{path}"
    else:
        name = f"paceline_bench_tracking_schema_{os.getpid()}"
        _pg_create(name)
        url = pg_url(name)
    engine = make_engine(url)
    try:
        upgrade(engine)
        return bench_schema(engine)
    finally:
        engine.dispose()
        if engine_name == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            pg_drop(name)


def _cache_is_current(engine_name: str, url: str) -> bool:
    """Whether a cached database has the schema a fresh load would get.

    Migrations added since it was loaded are applied first (they are usually about other
    tables); a revision edited in place, or one that no longer applies, makes it stale.
    """
    engine = make_engine(url)
    try:
        upgrade(engine)
        return bench_schema(engine) == reference_schema(engine_name)
    except Exception as exc:  # any failure to bring it up to date means: load afresh
        _log(f"  cached {engine_name} database unusable ({type(exc).__name__}: {exc})")
        return False
    finally:
        engine.dispose()


def database_url(engine_name: str, data: DataSet) -> str:
    return f"sqlite:///{data.sqlite_path}" if engine_name == "sqlite" else pg_url(data.pg_name)


def prepare_database(
    engine_name: str, data: DataSet, settings: Settings, as_of: dt.date
) -> dict[str, Any]:
    """Load the data set into a database unless it is cached; its load figures.

    A database counts as cached when its figures file exists (written only after a complete
    load) and, brought up to the migration head, its tables, indexes and triggers are the
    ones a fresh load would get (`_cache_is_current`).
    """
    figures_path = data.folder / f"{engine_name}.json"
    url = database_url(engine_name, data)
    exists = data.sqlite_path.exists() if engine_name == "sqlite" else _pg_exists(data.pg_name)
    if exists and figures_path.exists() and _cache_is_current(engine_name, url):
        figures: dict[str, Any] = json.loads(figures_path.read_text(encoding="utf-8"))
        return {**figures, "cached": True}
    figures_path.unlink(missing_ok=True)
    if engine_name == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{data.sqlite_path}{suffix}").unlink(missing_ok=True)
    else:
        _pg_create(data.pg_name)
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        figures = load(engine, data, settings, as_of)
    finally:
        engine.dispose()
    figures_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    _log(
        f"  {engine_name} {_scale_label(data.rows)}: loaded in {time.perf_counter() - started:.0f}s"
        f" (load {figures['load_seconds']:.0f}s, rollup {figures['rollup_build_seconds']:.0f}s)"
    )
    return {**figures, "cached": False}


def _prepare_postgres(rows: Sequence[int], seed: int, as_of: dt.date) -> list[dict[str, Any]]:
    """`prepare_database` for PostgreSQL at each scale (run in a worker process)."""
    settings = default_settings()
    return [prepare_database("postgresql", data_set(n, seed), settings, as_of) for n in rows]


def prepare(
    scales: Sequence[int], seed: int, with_pg: bool, settings: Settings, as_of: dt.date
) -> dict[tuple[int, str], dict[str, Any]]:
    """Generate the data and load the databases that are not cached, before any timing.

    PostgreSQL is loaded in a worker process while this one loads SQLite: on two cores that
    overlaps the PostgreSQL server's work with SQLite's, and nearly halves a first run.
    """
    for rows in scales:
        started = time.perf_counter()
        info = generate(data_set(rows, seed), settings, as_of)
        if not info["cached"]:
            _log(f"  data {_scale_label(rows)}: generated in {time.perf_counter() - started:.0f}s")
    figures: dict[tuple[int, str], dict[str, Any]] = {}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        postgres = pool.submit(_prepare_postgres, list(scales), seed, as_of) if with_pg else None
        for rows in scales:
            figures[(rows, "sqlite")] = prepare_database(
                "sqlite", data_set(rows, seed), settings, as_of
            )
        if postgres is not None:
            for rows, loaded in zip(scales, postgres.result(), strict=True):
                figures[(rows, "postgresql")] = loaded
    return figures


def database_bytes(engine: Engine, data: DataSet) -> int:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
    return sum(
        Path(f"{data.sqlite_path}{s}").stat().st_size
        for s in ("", "-wal")
        if Path(f"{data.sqlite_path}{s}").exists()
    )


def table_rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def touch_day(engine: Engine, day: dt.date) -> tuple[int, float]:
    """Touch every activity of one day, as a re-import that changed them would (the triggers
    mark their rep-days; values do not change, so a cached database stays as it was): the
    activities touched and the seconds it took."""
    started = time.perf_counter()
    with engine.begin() as conn:
        touched = conn.execute(
            update(Activity)
            .where(Activity.local_date == day)
            .values(duration_min=Activity.duration_min)
        ).rowcount
    return touched, time.perf_counter() - started


def refresh_one_day(engine: Engine, settings: Settings, day: dt.date) -> dict[str, Any]:
    """`touch_day`, then time the `ensure_rollup` that brings those rep-days up to date: the
    price the first page view after an import pays."""
    touched, update_seconds = touch_day(engine, day)
    started = time.perf_counter()
    refresh = ensure_rollup(engine, settings)
    seconds = time.perf_counter() - started
    _settle(engine)
    return {
        "activities": touched,
        "update_seconds": update_seconds,
        "rep_days": refresh.rep_days,
        "seconds": seconds,
    }


# --- what is timed -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Window:
    """The periods the manager's page reads: this month to date and the previous month."""

    as_of: dt.date
    month_start: dt.date
    end: dt.date  # day after as_of
    previous_start: dt.date
    previous_end: dt.date

    @classmethod
    def of(cls, settings: Settings, as_of: dt.date) -> Window:
        calendar = BusinessCalendar(settings.calendar)
        month = calendar.period("month", as_of)
        previous = calendar.previous(month)
        return cls(as_of, month.start, as_of + dt.timedelta(days=1), previous.start, previous.end)


Values = dict[tuple[int, str], float]  # (rep id, "metric" or "metric@previous") -> value


def paceline_read(
    engine: Engine, settings: Settings, as_of: dt.date
) -> tuple[Callable[[], dict[str, float]], Callable[[], Values]]:
    """(the timed read, returning its parts' seconds; the values the last read found).

    The read is what a manager's page does: one `ensure_rollup` (which finds nothing to do),
    then one `team_scorecards` and one `leaderboard` call for the month. Both analyses also
    call `ensure_rollup` themselves; those calls are inside their own times.
    """
    last: dict[str, TeamScorecard | Leaderboard] = {}

    def read() -> dict[str, float]:
        t0 = time.perf_counter()
        refresh = ensure_rollup(engine, settings)
        t1 = time.perf_counter()
        last["scorecards"] = team_scorecards(engine, settings, period_kind="month", as_of=as_of)
        t2 = time.perf_counter()
        last["leaderboard"] = leaderboard(
            engine, settings, LEADERBOARD_METRIC, period_kind="month", as_of=as_of
        )
        t3 = time.perf_counter()
        assert not refresh.rebuilt and not refresh.rep_days, "the rollup was not current"
        return {"ensure_rollup": t1 - t0, "team_scorecards": t2 - t1, "leaderboard": t3 - t2}

    def values() -> Values:
        if not last:
            read()
        cards = last["scorecards"]
        board = last["leaderboard"]
        assert isinstance(cards, TeamScorecard) and isinstance(board, Leaderboard)
        found: Values = {}
        for card in cards.reps:
            for line in card.lines:
                found[(card.rep_id, line.metric)] = line.pace.actual
        rep_ids = {card.rep: card.rep_id for card in cards.reps}
        for row in board.rows:
            found[(rep_ids[row.rep], LEADERBOARD_METRIC)] = row.value
            if row.previous_value is not None:
                found[(rep_ids[row.rep], f"{LEADERBOARD_METRIC}@previous")] = row.previous_value
        return found

    return read, values


# --- the raw aggregation: DuckDB over Parquet, and the same SQL on the activity table ---------


def _quoted(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({_quoted(values)})" if values else "FALSE"


def raw_condition(settings: Settings, metric: MetricSettings) -> str:
    """A metric's activity filters as SQL text over `activity a LEFT JOIN contact c`.

    Written independently of `paceline.analytics.metric_sql` from the same configuration,
    so that agreeing numbers say something about both.
    """
    parts = []
    if metric.kinds is not None:
        parts.append(_in("a.kind", metric.kinds))
    if metric.outcomes is not None:
        parts.append(_in("a.outcome", metric.outcomes))
    if metric.selling is not None:
        selling = _in("a.kind", sorted(settings.selling_kinds))
        if settings.selling.require_ask:
            selling = f"({selling} AND a.has_ask)"
        parts.append(selling if metric.selling else f"NOT {selling}")
    for flag in ("has_ask", "engaged"):
        wanted = getattr(metric, flag)
        if wanted is not None:
            parts.append(f"a.{flag}" if wanted else f"NOT a.{flag}")
    if metric.connected is not None:
        connected = _in("a.outcome", sorted(settings.connected_outcomes))
        parts.append(connected if metric.connected else f"(a.outcome IS NULL OR NOT {connected})")
    if metric.decision_maker is not None:
        parts.append(
            "c.is_decision_maker"
            if metric.decision_maker
            else "(c.id IS NULL OR NOT c.is_decision_maker)"
        )
    if metric.seniority is not None:
        parts.append(_in("c.seniority", metric.seniority))
    return " AND ".join(parts) or "TRUE"


def _utc_text(settings: Settings, day: dt.date) -> str:
    """Local midnight of `day` as the naive UTC timestamp text every engine compares."""
    local = dt.datetime.combine(day, dt.time(), tzinfo=settings.calendar.zone)
    return local.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def raw_query(settings: Settings, window: Window) -> str:
    """One SQL statement giving (rep_id, metric, value) rows: the page's numbers, no rollup.

    One pass over the activities of the previous and current month (every activity key
    metric for the month to date, the leaderboard metric for both months), then one
    aggregate per deal key metric, all in one statement so each engine plans it as a whole.
    Portable across DuckDB, SQLite and PostgreSQL.
    """
    names = key_metrics(settings, sorted(ROLE_SHARES))
    metrics = [settings.metric(n) for n in names]
    activity = [m for m in metrics if m.source == "activities"]
    if any(m.aggregate not in ("count", "sum") for m in activity):
        raise ValueError("the raw aggregation handles counted and summed activity metrics only")
    board = settings.metric(LEADERBOARD_METRIC)
    cur, prev = f"'{window.month_start}'", f"'{window.previous_start}'"
    end, prev_end = f"'{window.end}'", f"'{window.previous_end}'"

    def column(m: MetricSettings, days: str) -> str:
        value = "COALESCE(a.duration_min, 0)" if m.aggregate == "sum" else "1"
        return f"SUM(CASE WHEN {days} AND {raw_condition(settings, m)} THEN {value} ELSE 0 END)"

    this_month, last_month = f"a.local_date >= {cur}", f"a.local_date < {prev_end}"
    columns = [(m.name, column(m, this_month)) for m in activity]
    if board.name not in names:
        columns.append((board.name, column(board, this_month)))
    columns.append((f"{board.name}@previous", column(board, last_month)))
    wide = (
        "SELECT a.rep_id, "
        + ", ".join(f"{sql} AS m{i}" for i, (_, sql) in enumerate(columns))
        + " FROM activity a LEFT JOIN contact c ON c.id = a.contact_id"
        + f" WHERE a.local_date >= {prev} AND a.local_date < {end}"
        + " GROUP BY a.rep_id"
    )
    parts = [
        f"SELECT rep_id, '{name}' AS metric, m{i} AS value FROM wide WHERE m{i} <> 0"
        for i, (name, _) in enumerate(columns)
    ]
    first, after = _utc_text(settings, window.month_start), _utc_text(settings, window.end)
    for m in metrics:
        if m.source != "deals":
            continue
        credit = "d.sourced_by_id" if m.credit == "sourced_by" else "d.rep_id"
        dated = "d.closed_at" if m.date == "closed_at" else "d.created_at"
        value = "SUM(d.amount)" if m.aggregate == "sum" else "COUNT(*)"
        status = f" AND d.status = '{m.status}'" if m.status else ""
        parts.append(
            f"SELECT {credit} AS rep_id, '{m.name}' AS metric, {value} AS value FROM deal d"
            f" WHERE {credit} IS NOT NULL AND {dated} >= '{first}' AND {dated} < '{after}'"
            f"{status} GROUP BY {credit}"
        )
    return f"WITH wide AS ({wide}) " + " UNION ALL ".join(parts)


def _collect(rows: Iterator[Sequence[Any]] | list[Any], into: Values) -> None:
    for rep_id, metric, value in rows:
        if value is not None and float(value) != 0:
            into[(int(rep_id), str(metric))] = float(value)


def duckdb_read(data: DataSet, query: str) -> tuple[Callable[[], Values], Any]:
    """A raw read over the Parquet files, the views named like Paceline's tables."""
    import duckdb

    conn = duckdb.connect()
    for table in ("activity", "contact", "deal"):
        conn.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{data.path(table)}')")

    def read() -> Values:
        found: Values = {}
        _collect(conn.execute(query).fetchall(), found)
        return found

    return read, conn


def sql_read(engine: Engine, query: str) -> Callable[[], Values]:
    """The same raw SQL on a Paceline database's own tables (no rollup)."""

    def read() -> Values:
        found: Values = {}
        with engine.connect() as conn:
            _collect(list(conn.exec_driver_sql(query)), found)
        return found

    return read


# --- timing and checking -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One timed read: which scale and engine, and whether it reports its parts' seconds."""

    rows: int
    name: str  # "sqlite", "postgresql", "duckdb", "sqlite raw", "postgresql raw"
    read: Callable[[], Any]
    with_parts: bool = False


def interleaved(cases: Sequence[Case], runs: int) -> list[dict[str, Any]]:
    """Warm every case up once, then `runs` rounds that time every case once each.

    Round-robin rather than one case after another: this machine is shared, and a burst of
    someone else's work then slows every case a little instead of one case a lot, so ratios
    and growth stay meaningful. Returns per case the median and p90 in ms of the total
    (timed here) and, for cases `with_parts`, of each part (`read` returns {part: seconds}).
    """
    for case in cases:
        case.read()
    totals: list[list[float]] = [[] for _ in cases]
    parts: list[dict[str, list[float]]] = [{} for _ in cases]
    for _ in range(runs):
        for i, case in enumerate(cases):
            started = time.perf_counter()
            inner = case.read()
            totals[i].append(time.perf_counter() - started)
            if case.with_parts:
                for name, seconds in inner.items():
                    parts[i].setdefault(name, []).append(seconds)
    return [
        {**_summary(samples), "parts": {n: _summary(s) for n, s in by_part.items()}}
        for samples, by_part in zip(totals, parts, strict=True)
    ]


def _summary(seconds: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    return {
        "median_ms": statistics.median(ms),
        "p90_ms": float(np.percentile(ms, 90)),
        "min_ms": min(ms),
        "runs_ms": [round(m, 2) for m in ms],
    }


def compare(expected: Values, found: Values, what: str, tolerance: float = 1e-6) -> list[str]:
    """Differences between two sets of per-rep numbers (a missing key counts as zero)."""
    problems = []
    for key in sorted(set(expected) | set(found)):
        a, b = expected.get(key, 0.0), found.get(key, 0.0)
        if abs(a - b) > tolerance * max(1.0, abs(a), abs(b)):
            problems.append(f"{what}: rep {key[0]} {key[1]}: expected {a:g}, found {b:g}")
    if problems:
        return [f"{len(problems)} differences; first: {problems[0]}", *problems[1:5]]
    return []


def restrict(values: Values, keys: set[tuple[int, str]] | None) -> Values:
    """Only the (rep, metric) pairs the Paceline read reports (each rep's own role's)."""
    if keys is None:
        return values
    return {k: v for k, v in values.items() if k in keys}


def reported_keys(settings: Settings, data: DataSet) -> set[tuple[int, str]]:
    """Every (rep, metric) pair a scorecard page reports: role key metrics + the leaderboard."""
    roster = make_roster(data.seed)
    keys = set()
    for index, role in enumerate(roster.role.tolist()):
        for metric in settings.role(role).key_metrics:
            keys.add((index + 1, metric))
        keys.add((index + 1, LEADERBOARD_METRIC))
        keys.add((index + 1, f"{LEADERBOARD_METRIC}@previous"))
    return keys


# --- one scale --------------------------------------------------------------------------------


def _log(text: str) -> None:
    print(text, flush=True)


@dataclasses.dataclass
class Scale:
    """One scale's figures, and the open connections its timed reads use."""

    result: dict[str, Any]
    cases: list[Case]
    raw_cases: list[Case]
    close: list[Callable[[], None]]


def set_up_scale(
    data: DataSet, loaded: Mapping[str, dict[str, Any]], settings: Settings, as_of: dt.date
) -> Scale:
    """Write-side figures and value checks at one scale; the reads to time, ready to run.

    The checks: DuckDB's raw numbers must equal Paceline's scorecard actuals and leaderboard
    values for every rep and key metric (and the raw SQL on each database must agree too),
    after the one-day refresh, so a refresh that miscounts shows up here.
    """
    query = raw_query(settings, Window.of(settings, as_of))
    keys = reported_keys(settings, data)
    info = json.loads(data.info_path.read_text(encoding="utf-8"))
    result: dict[str, Any] = {"rows": data.rows, "data": info, "engines": {}, "problems": []}
    problems: list[str] = result["problems"]
    _log(f"{data.rows:,} activities ({info['first_day']}..{info['last_day']}): checking")
    read, duck = duckdb_read(data, query)
    reference = restrict(read(), keys)
    scale = Scale(result, [Case(data.rows, "duckdb", read)], [], [duck.close])
    for name, load_figures in loaded.items():
        figures = dict(load_figures)
        engine = make_engine(database_url(name, data))
        scale.close.append(engine.dispose)
        figures["bytes"] = database_bytes(engine, data)
        figures["metric_day_rows"] = table_rows(engine, "metric_day")
        figures["refresh_one_day"] = refresh_one_day(engine, settings, as_of)
        paceline, paceline_values = paceline_read(engine, settings, as_of)
        paceline()
        problems += compare(reference, restrict(paceline_values(), keys), f"{name} vs duckdb")
        raw = sql_read(engine, query)
        problems += compare(reference, restrict(raw(), keys), f"{name} raw vs duckdb")
        scale.cases.append(Case(data.rows, name, paceline, with_parts=True))
        scale.raw_cases.append(Case(data.rows, f"{name} raw", raw))
        result["engines"][name] = figures
    result["checked_values"] = len(reference)
    return scale


# --- the report --------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.0f} MB"


def _cell(scale: dict[str, Any], engine: str, what: str, stat: str = "median_ms") -> float | None:
    """One figure of the table: `stat` of the total, a part, or a raw read; None if absent."""
    timing: dict[str, Any] | None
    if engine == "duckdb":
        timing = scale["duckdb"] if what == "total" else None
    else:
        figures = scale["engines"].get(engine) or {}
        timing = figures.get("raw" if what == "raw" else "paceline")
        if timing is not None and what not in ("raw", "total"):
            timing = timing["parts"].get(what)
    return None if timing is None else float(timing[stat])


ROWS = (
    ("sqlite", "total", "SQLite: scorecards + leaderboard"),
    ("sqlite", "ensure_rollup", "  of which ensure_rollup (no-op)"),
    ("sqlite", "team_scorecards", "  of which team_scorecards"),
    ("sqlite", "leaderboard", "  of which leaderboard"),
    ("postgresql", "total", "PostgreSQL: scorecards + leaderboard"),
    ("postgresql", "ensure_rollup", "  of which ensure_rollup (no-op)"),
    ("postgresql", "team_scorecards", "  of which team_scorecards"),
    ("postgresql", "leaderboard", "  of which leaderboard"),
    ("duckdb", "total", "DuckDB: raw aggregation (Parquet)"),
    ("sqlite", "raw", "SQLite: raw aggregation (no rollup)"),
    ("postgresql", "raw", "PostgreSQL: raw aggregation (no rollup)"),
)


def verdicts(figures: dict[str, Any]) -> list[tuple[str, bool]]:
    """The issue's three targets, each with whether it is met."""
    scales = figures["scales"]
    small, large = scales[0], scales[-1]
    sqlite = [s["engines"]["sqlite"]["paceline"]["median_ms"] for s in scales]
    duck = [s["duckdb"]["median_ms"] for s in scales]
    out = [
        (
            f"under {TARGET_MS:.0f} ms on SQLite at every scale: "
            + ", ".join(f"{ms:.1f} ms" for ms in sqlite),
            max(sqlite) < TARGET_MS,
        ),
        (
            "at or below DuckDB at every scale (SQLite/DuckDB "
            + ", ".join(f"{a / b:.2f}" for a, b in zip(sqlite, duck, strict=True))
            + ")",
            all(a <= b for a, b in zip(sqlite, duck, strict=True)),
        ),
    ]
    if len(scales) > 1:
        engines = [e for e in large["engines"] if e in small["engines"]]

        def growth(engine: str, stat: str) -> float:
            timing = [s["engines"][engine]["paceline"][stat] for s in (small, large)]
            return float(timing[1] / timing[0])

        out.append(
            (
                f"flat as history grows (x{large['rows'] / small['rows']:g} history; time of the "
                "fastest run "
                + ", ".join(f"{e} x{growth(e, 'min_ms'):.2f}" for e in engines)
                + ", of the median "
                + ", ".join(f"{e} x{growth(e, 'median_ms'):.2f}" for e in engines)
                + f"; flat = fastest run under x{FLAT_GROWTH})",
                all(growth(e, "min_ms") < FLAT_GROWTH for e in engines),
            )
        )
    return out


def report(figures: dict[str, Any]) -> str:
    scales = figures["scales"]
    head = f"{'case':<40}" + "".join(
        f"{_scale_label(s['rows']) + ' median':>14}{'p90':>9}" for s in scales
    )
    if len(scales) > 1:
        head += f"{'growth':>9}"
    window = figures["window"]
    lines = [
        "",
        f"Plan-and-track read path: {REPS:,} reps, as of {window['as_of']} "
        f"(month to date {window['month_start']}..{window['as_of']}, "
        f"{figures['business_days_elapsed']} business days), times in ms "
        f"(median and p90 of {figures['runs']} warm runs; raw on SQLite/PostgreSQL: {RAW_RUNS})",
        head,
        "-" * len(head),
    ]
    for engine, what, label in ROWS:
        medians = [_cell(s, engine, what) for s in scales]
        if all(m is None for m in medians):
            continue
        line = f"{label:<40}"
        for s, median in zip(scales, medians, strict=True):
            line += f"{_ms(median):>14}{_ms(_cell(s, engine, what, 'p90_ms')):>9}"
        if len(scales) > 1:
            line += f"{'x' + _ratio(medians[-1], medians[0]):>9}"
        lines.append(line)
    ratio = f"{'SQLite / DuckDB (median)':<40}"
    for s in scales:
        ratio += f"{_ratio(_cell(s, 'sqlite', 'total'), _cell(s, 'duckdb', 'total')):>14}{'':>9}"
    lines.append(ratio)

    lines += ["", "Write side (load once, then keep current)"]
    head = (
        f"{'database':<12}{'activities':>12}{'load s':>9}{'rows/s':>10}{'rollup s':>10}"
        f"{'metric_day':>12}{'size':>10}{'1-day refresh':>15}"
    )
    lines += [head, "-" * len(head)]
    for s in scales:
        for name, f in s["engines"].items():
            r = f["refresh_one_day"]
            lines.append(
                f"{name:<12}{f['activities']:>12,}{f['load_seconds']:>9.1f}"
                f"{f['activities'] / f['load_seconds']:>10,.0f}{f['rollup_build_seconds']:>10.1f}"
                f"{f['metric_day_rows']:>12,}{_mb(f['bytes']):>10}"
                f"{r['seconds']:>9.2f}s/{r['rep_days']:,}"
            )
        d = s["data"]
        lines.append(
            f"{'parquet':<12}{s['rows']:>12,}{d['seconds']:>9.1f}{'':>10}{'':>10}{'':>12}"
            f"{_mb(d['parquet_bytes']):>10}"
        )
    cached = sorted(
        {
            f"{name} {_scale_label(s['rows'])}"
            for s in scales
            for name, f in s["engines"].items()
            if f.get("cached")
        }
    )
    lines += [
        "load s: bulk insert of reps, accounts, contacts, deals and activities (insert_rows,",
        "  100,000 activities a transaction; triggers mark rep-days). rollup s: the first",
        "  ensure_rollup, a full build of metric_day. 1-day refresh: ensure_rollup after all",
        "  activities of the last day were updated (seconds / rep-days recomputed).",
        "  parquet: generating the data and writing the Parquet files.",
    ]
    if cached:
        lines.append(f"  Load figures from the run that built the cache: {', '.join(cached)}.")

    lines += ["", "Targets:"]
    lines += [f"  {'met    ' if ok else 'NOT met'}  {text}" for text, ok in verdicts(figures)]
    checked = ", ".join(f"{s['checked_values']:,} at {_scale_label(s['rows'])}" for s in scales)
    lines.append(
        f"Checked: DuckDB, Paceline and the raw SQL agree on every (rep, metric) value ({checked})"
        if not figures["problems"]
        else "Checked: values DISAGREE (see PROBLEM lines)"
    )
    lines += [f"PROBLEM: {p}" for p in figures["problems"]]
    m = figures["machine"]
    lines.append(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs; Python {m['python']}, SQLite {m['sqlite']}, "
        f"PostgreSQL {m.get('postgresql', '-')}, DuckDB {m['duckdb']}, "
        f"SQLAlchemy {m['sqlalchemy']}; source {m['commit'] or 'unknown'}; load average "
        f"{m['load_average_before_timing'][0]:.1f} before timing "
        f"(after waiting {m['waited_for_quiet_seconds']:.0f}s), "
        f"{m['load_average_after_timing'][0]:.1f} after (the machine is shared: above ~1, other "
        "work competed with the timed runs)"
    )
    return "\n".join(lines)


def _scale_label(rows: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if rows >= size and rows % (size // 10) == 0:
            return f"{rows / size:g}{suffix}"
    return f"{rows:,}"


# --- command line ------------------------------------------------------------------------------


def parse_scale(text: str) -> int:
    """'1M', '100k', '250000' -> rows."""
    text = text.strip().lower().replace("_", "").replace(",", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    rows = round(float(number) * factor)
    if rows < 1:
        raise argparse.ArgumentTypeError(f"not a number of activities: {text!r}")
    return rows


def _scales(text: str) -> list[int]:
    return sorted({parse_scale(part) for part in text.split(",") if part.strip()})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This benchmark's own options (``--rows`` is shared: one scale instead of ``--scales``)."""
    parser.add_argument(
        "--scales",
        type=_scales,
        default=None,
        help="tracking: comma-separated numbers of activities, e.g. 100k,1M "
        f"(default {','.join(_scale_label(s) for s in DEFAULT_SCALES)}; --rows N: just N)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        help=f"tracking: timed runs after the warm-up (default {DEFAULT_RUNS}, at least 5)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help=f"tracking: regenerate the data and reload the databases cached under {CACHE}",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=DEFAULT_QUIET_WAIT,
        metavar="SECONDS",
        help="tracking: before timing, wait up to this long for the 1-minute load average to "
        f"drop under {QUIET_LOAD} (default {DEFAULT_QUIET_WAIT:.0f}; 0: do not wait)",
    )
    parser.add_argument(
        "--clean-cache",
        action="store_true",
        help="tracking: delete the cached files and PostgreSQL databases, then stop",
    )
    # Shared with import_throughput when run.py puts every option on one parser.
    with contextlib.suppress(argparse.ArgumentError):
        parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")


def clean_cache() -> None:
    if CACHE.exists():
        shutil.rmtree(CACHE)
        _log(f"removed {CACHE}")
    up, _ = pg_server()
    if up:
        for name in cached_pg_databases():
            pg_drop(name)
            _log(f"dropped PostgreSQL database {name}")


def wait_for_quiet(limit: float, threshold: float = QUIET_LOAD) -> float:
    """Wait (at most `limit` seconds) until the 1-minute load average is under `threshold`.

    The machine is shared: timing while someone's test suite runs measures them, not us.
    Returns the seconds waited.
    """
    started = time.perf_counter()
    if os.getloadavg()[0] < threshold or limit <= 0:
        return 0.0
    _log(f"waiting up to {limit:.0f}s for the load average to drop under {threshold}")
    while os.getloadavg()[0] >= threshold and time.perf_counter() - started < limit:
        time.sleep(5)
    return time.perf_counter() - started


def measure(
    scales: Sequence[int],
    runs: int,
    with_pg: bool,
    fresh: bool,
    quiet_wait: float = 0.0,
    seed: int = SEED,
) -> dict[str, Any]:
    settings = default_settings()
    import duckdb

    machine = benchkit.machine(duckdb=duckdb.__version__)
    problems: list[str] = []
    if with_pg:
        up, version = pg_server()
        if up:
            machine["postgresql"] = version
        else:
            problems.append(f"PostgreSQL skipped: {version}")
            with_pg = False
    if fresh:
        for rows in scales:
            shutil.rmtree(data_set(rows, seed).folder, ignore_errors=True)
            if with_pg:
                pg_drop(data_set(rows, seed).pg_name)
    _log("preparing data and databases (cached under " + str(CACHE) + "):")
    started = time.perf_counter()
    loaded = prepare(scales, seed, with_pg, settings, AS_OF)
    prepare_seconds = time.perf_counter() - started
    scales_set_up = []
    try:
        for rows in scales:
            engines = {name: f for (n, name), f in loaded.items() if n == rows}
            scales_set_up.append(set_up_scale(data_set(rows, seed), engines, settings, AS_OF))
        machine["waited_for_quiet_seconds"] = wait_for_quiet(quiet_wait)
        machine["load_average_before_timing"] = os.getloadavg()
        _log(f"timing: {runs} rounds of every case, then {RAW_RUNS} of the raw SQL references")
        cases = [c for s in scales_set_up for c in s.cases]
        raw_cases = [c for s in scales_set_up for c in s.raw_cases]
        timings = interleaved(cases, runs) + interleaved(raw_cases, RAW_RUNS)
    finally:
        for scale in scales_set_up:
            for close in scale.close:
                close()
    results = []
    for scale in scales_set_up:
        for case, timing in zip(cases + raw_cases, timings, strict=True):
            if case.rows != scale.result["rows"]:
                continue
            if case.name == "duckdb":
                scale.result["duckdb"] = timing
            else:
                engine, _, raw = case.name.partition(" ")
                scale.result["engines"][engine]["raw" if raw else "paceline"] = timing
        problems += [f"{_scale_label(scale.result['rows'])}: {p}" for p in scale.result["problems"]]
        results.append(scale.result)
    machine["load_average_after_timing"] = os.getloadavg()
    window = Window.of(settings, AS_OF)
    calendar = BusinessCalendar(settings.calendar)
    return {
        "benchmark": NAME,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "runs": runs,
        "reps": REPS,
        "window": {k: str(v) for k, v in dataclasses.asdict(window).items()},
        "business_days_elapsed": calendar.business_days(window.month_start, window.end),
        "target_ms_sqlite": TARGET_MS,
        "prepare_seconds": prepare_seconds,
        "scales": results,
        "problems": problems,
    }


def run(args: argparse.Namespace) -> int:
    """Measure, print the table, write the JSON; non-zero when numbers disagree."""
    if args.clean_cache:
        clean_cache()
        return 0
    scales = args.scales or ([args.rows] if args.rows else list(DEFAULT_SCALES))
    if args.runs < 5:
        raise SystemExit("--runs: at least 5")
    started = time.perf_counter()
    figures = measure(scales, args.runs, not args.no_postgres, args.fresh, args.quiet_wait)
    figures["seconds"] = time.perf_counter() - started
    print(report(figures))
    benchkit.save(RESULTS, figures)
    return 1 if any(not p.startswith("PostgreSQL skipped") for p in figures["problems"]) else 0


def main(argv: Sequence[str] | None = None) -> int:
    return benchkit.standalone(__doc__ or NAME, add_arguments, run, argv, rows=parse_scale)


if __name__ == "__main__":
    sys.exit(main())
