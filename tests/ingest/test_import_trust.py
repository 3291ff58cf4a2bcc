"""Imports never change the meaning of a row silently.

Each test builds a small CSV with a shape seen in real exports (stages the configuration does
not know, date-only dates under a UTC mapping, a stray quote, a partial reps file, a file
whose every row is bad, impossible values) and checks against figures worked out by hand.
Storage tests run on SQLite and PostgreSQL (the `engine` fixture).
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DataError

from factories import PIPELINE, cli_in, write
from paceline.config import Settings
from paceline.ingest.accounting import Batch, ColumnBatch
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.ingest.mapping import Entity, Mapping, load_mapping
from paceline.ingest.writers import ActivityWriter
from paceline.store.models import Account, Activity, Deal, Rep, Team


def run(
    engine: Engine,
    settings: Settings,
    path: Path,
    entity: Entity,
    mapping: Mapping | None = None,
    **options: object,
) -> ImportResult:
    opts = ImportOptions(errors_path=path.with_suffix(".errors.csv"), **options)  # type: ignore[arg-type]
    result = import_csv(engine, settings, path, entity, mapping=mapping, options=opts)
    assert result.accounted == result.read
    return result


def error_rows(result: ImportResult) -> list[dict[str, str]]:
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- stages the configuration does not know --------------------------------------------------


def test_unknown_stages_are_rejected_and_counted_with_a_suggestion(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A CRM's own stage names ("Won", "Lost", a typo): before, all four rows became open
    deals without a close date and the file's 3,000 of won revenue vanished silently."""
    result = run(engine, settings, write(tmp_path / "deals.csv", PIPELINE), "deals")
    assert (result.read, result.inserted, result.rejected) == (5, 1, 4)
    by_reason = {(f, reason.split(";")[0]): n for f, reason, n, _ in result.rejected_by_reason}
    hints = {reason.split(";")[1].strip() for _, reason, _, _ in result.rejected_by_reason}
    assert by_reason == {
        ("stage", "unknown stage 'Won'"): 2,
        ("stage", "unknown stage 'Lost'"): 1,
        ("stage", "unknown stage 'Negotiaton'"): 1,
    }
    assert hints == {
        "did you mean 'closed_won'?",
        "did you mean 'closed_lost'?",
        "did you mean 'negotiation'?",
    }
    assert {(r["line"], r["field"]) for r in error_rows(result)} == {
        ("2", "stage"),
        ("3", "stage"),
        ("4", "stage"),
        ("5", "stage"),
    }
    with engine.connect() as conn:
        assert conn.execute(select(Deal.external_id, Deal.stage, Deal.status)).all() == [
            ("p5", "negotiation", "open")
        ]


def test_stages_mapped_in_the_mapping_file_import_with_their_status(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    mapping = write(
        tmp_path / "deals.toml",
        """entity = "deals"
[columns]
external_id = "external_id"
name = "name"
rep = "rep"
amount = "amount"
created_at = "created_at"
closed_at = "closed_at"
[columns.stage]
column = "stage"
map = { "Won" = "closed_won", "Lost" = "closed_lost", "Negotiaton" = "negotiation" }
""",
    )
    path = write(tmp_path / "deals.csv", PIPELINE)
    result = run(engine, settings, path, "deals", load_mapping(mapping))
    assert (result.inserted, result.rejected) == (5, 0)
    with engine.connect() as conn:
        won = conn.execute(select(func.sum(Deal.amount)).where(Deal.status == "won")).scalar()
        statuses = dict(conn.execute(select(Deal.external_id, Deal.status)).all())
    assert Decimal(won) == Decimal("3000")
    assert statuses == {"p1": "won", "p2": "won", "p3": "lost", "p4": "open", "p5": "open"}


# --- date-only values are calendar dates -----------------------------------------------------

UTC_MAPPING = """entity = "deals"
timezone = "UTC"
[columns]
external_id = "id"
name = "name"
rep = "rep"
amount = "amount"
stage = "stage"
created_at = "created"
closed_at = "closed"
"""
DATED_DEALS = """id,name,rep,amount,stage,created,closed
d1,March first,Ana Ruiz,100,closed_won,2017-02-20,2017-03-01
d2,April first,Ana Ruiz,200,closed_won,2017-03-15,2017-04-01
d3,Same day,Ana Ruiz,300,closed_won,2017-05-10 15:30:00,2017-05-10
d4,With a time,Ana Ruiz,400,closed_won,2017-05-10 15:30:00,2017-06-01 02:00:00
"""


def test_date_only_values_stay_on_their_date_whatever_the_mapping_zone(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The mapping says UTC, the calendar is New York. Before, "2017-03-01" was read as UTC
    midnight: 28 February 19:00 in New York, a February deal. A date without a time is the
    start of that date in the calendar's zone; a value with a time is still converted."""
    assert settings.calendar.timezone == "America/New_York"
    mapping = load_mapping(write(tmp_path / "utc.toml", UTC_MAPPING))
    result = run(engine, settings, write(tmp_path / "d.csv", DATED_DEALS), "deals", mapping)
    assert (result.inserted, result.rejected) == (4, 0)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Deal.external_id, Deal.closed_at)).all())
        created = conn.execute(select(Deal.created_at).where(Deal.external_id == "d1")).scalar()
    assert stored == {
        "d1": dt.datetime(2017, 3, 1, 5, 0),  # New York midnight is 05:00 UTC in winter
        "d2": dt.datetime(2017, 4, 1, 4, 0),  # ... and 04:00 UTC in summer time
        "d3": dt.datetime(2017, 5, 10, 4, 0),  # closed the day it was created: accepted
        "d4": dt.datetime(2017, 6, 1, 2, 0),  # a time in UTC stays that instant
    }
    assert created == dt.datetime(2017, 2, 20, 5, 0)


# --- reps files ------------------------------------------------------------------------------

FULL_REPS = """name,external_id,email,role,team,manager,start_date,capacity
Mia Chen,u1,mia@example.com,manager,East,,2024-01-15,
Ana Ruiz,u2,ana@example.com,sdr,East,Mia Chen,2025-03-01,0.5
"""


def stored_reps(engine: Engine) -> dict[str, tuple[object, ...]]:
    with engine.connect() as conn:
        names = dict(conn.execute(select(Rep.id, Rep.name)).all())
        teams = dict(conn.execute(select(Team.id, Team.name)).all())
        rows = conn.execute(
            select(
                Rep.name,
                Rep.external_id,
                Rep.email,
                Rep.role,
                Rep.team_id,
                Rep.manager_id,
                Rep.start_date,
                Rep.capacity,
            )
        ).all()
    return {
        r.name: (
            r.external_id,
            r.email,
            r.role,
            teams.get(r.team_id),
            names.get(r.manager_id),
            r.start_date,
            r.capacity,
        )
        for r in rows
    }


def test_a_partial_reps_file_leaves_absent_fields_alone(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A `name,team` file moves Ana to West and touches nothing else. Before, it wiped both
    reps' e-mail, external id, start date and Ana's manager, reset her capacity to 1 and
    turned both roles into the default "ae"."""
    run(engine, settings, write(tmp_path / "full.csv", FULL_REPS), "reps")
    partial = "name,team\nMia Chen,East\nAna Ruiz,West\n"
    result = run(engine, settings, write(tmp_path / "partial.csv", partial), "reps")
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    mia_start, ana_start = dt.date(2024, 1, 15), dt.date(2025, 3, 1)
    assert stored_reps(engine) == {
        "Mia Chen": ("u1", "mia@example.com", "manager", "East", None, mia_start, 1.0),
        "Ana Ruiz": ("u2", "ana@example.com", "sdr", "West", "Mia Chen", ana_start, 0.5),
    }


def test_an_empty_role_cell_keeps_the_role_and_a_new_rep_gets_defaults(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    run(engine, settings, write(tmp_path / "full.csv", FULL_REPS), "reps")
    text = "name,role,email\nMia Chen,,\nSam Ito,,sam@example.com\n"
    result = run(engine, settings, write(tmp_path / "roles.csv", text), "reps")
    assert (result.inserted, result.updated) == (1, 1)
    reps = stored_reps(engine)
    assert reps["Mia Chen"][1:3] == (None, "manager")  # an empty e-mail cell clears it
    assert reps["Sam Ito"] == (None, "sam@example.com", "ae", None, None, None, 1.0)


def test_repeated_rows_in_a_reps_file_are_duplicates(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Before, the second "Ana Ruiz" row was counted "unchanged" (and a third with another
    e-mail silently overwrote the first)."""
    text = (
        "name,email\n"
        "Ana Ruiz,ana@example.com\n"
        "Ben Ode,ben@example.com\n"
        "Ana Ruiz,ana@example.com\n"
        "ana  ruiz,ana@example.com\n"
        "Ana Ruiz,other@example.com\n"
    )
    result = run(engine, settings, write(tmp_path / "reps.csv", text), "reps", batch_size=2)
    assert (result.inserted, result.unchanged, result.duplicate, result.rejected) == (2, 0, 2, 1)
    assert [(r["line"], r["field"]) for r in error_rows(result)] == [("6", "name")]
    assert stored_reps(engine)["Ana Ruiz"][1] == "ana@example.com"
    again = run(engine, settings, tmp_path / "reps.csv", "reps")
    assert (again.unchanged, again.duplicate, again.rejected) == (2, 2, 1)


# --- an import that rejects (too many) rows fails ---------------------------------------------


def test_an_import_rejecting_every_row_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row has a stage this configuration does not know: before, exit status 0."""
    monkeypatch.chdir(tmp_path)  # the errors file goes to the working directory
    assert cli_in(tmp_path, "init")[0] == 0
    text = PIPELINE.replace("negotiation", "Negotiaton")
    path = write(tmp_path / "deals.csv", text)
    code, output = cli_in(tmp_path, "import", "deals", str(path))
    assert code == 1, output
    assert "import failed: every row was rejected (5 of 5)" in output
    assert "2 row(s): stage: unknown stage 'Won'; did you mean 'closed_won'?" in output
    code, output = cli_in(tmp_path, "import", "deals", str(path), "--json")
    assert code == 1 and '"rejected": 5' in output


def test_max_rejected_as_rows_or_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PIPELINE has 4 rows of 5 rejected (80%)."""
    monkeypatch.chdir(tmp_path)
    assert cli_in(tmp_path, "init")[0] == 0
    path = write(tmp_path / "deals.csv", PIPELINE)
    assert cli_in(tmp_path, "import", "deals", str(path))[0] == 0
    for limit, code in [("4", 0), ("3", 1), ("80%", 0), ("79.9%", 1), ("0", 1)]:
        got, output = cli_in(tmp_path, "import", "deals", str(path), "--max-rejected", limit)
        assert got == code, (limit, output)
        if code:
            assert f"more than --max-rejected {limit} allows" in output
    code, output = cli_in(tmp_path, "import", "deals", str(path), "--max-rejected", "lots")
    assert code == 1 and "--max-rejected" in output


# --- one bad value rejects its row; nothing aborts ----------------------------------------------

FIELD_LIMIT = 10 * 1024 * 1024  # the csv module's field size limit set by the importer


def test_impossible_values_reject_their_row_and_the_import_goes_on(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Before: the year-9999 row raised OverflowError, the 10 MB field csv.Error, the NUL byte
    and the 5,000-character account a DataError on PostgreSQL, each after the first batch
    was committed (the web import answered 500)."""
    header = "external_id,rep,kind,occurred_at,account,notes\n"
    rows = [
        "a1,Ana Ruiz,call,2026-03-02T10:00:00,Acme,first\n",
        "a2,Ana Ruiz,call,9999-12-31T23:30:00,Acme,\n",
        f'a3,Ana Ruiz,call,2026-03-02T11:00:00,Acme,"{"x" * (FIELD_LIMIT + 1)}"\n',
        "a4,Ana Ruiz,call,2026-03-02T12:00:00,Acme,nul \x00 byte\n",
        f"a5,Ana Ruiz,call,2026-03-02T13:00:00,{'A' * 5000},\n",
        "a6,Ana Ruiz,call,0201-03-02T13:00:00,Acme,\n",
        "a7,Ana Ruiz,call,2026-03-02T14:00:00,Acme,last\n",
    ]
    path = tmp_path / "acts.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    result = run(engine, settings, path, "activities", batch_size=1)
    assert (result.read, result.inserted, result.rejected) == (7, 2, 5)
    errors = {(r["line"], r["field"]): r["reason"] for r in error_rows(result)}
    assert set(errors) == {
        ("3", "occurred_at"),
        ("4", ""),
        ("5", "notes"),
        ("6", "account"),
        ("7", "occurred_at"),
    }
    assert errors[("3", "occurred_at")].startswith("year out of range")
    assert "field larger than field limit" in errors[("4", "")]
    assert "NUL byte" in errors[("5", "notes")]
    assert errors[("6", "account")] == "too long: 5,000 characters (at most 300)"
    with engine.connect() as conn:
        stored = set(conn.execute(select(Activity.external_id)).scalars())
    assert stored == {"a1", "a7"}


def test_an_amount_beyond_the_column_rejects_its_deal(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    text = (
        "external_id,name,rep,amount,stage,created_at\n"
        "d1,Big,Ana Ruiz,1e30,prospect,2026-03-02T10:00:00\n"
        "d2,Fine,Ana Ruiz,100,prospect,2026-03-02T10:00:00\n"
    )
    result = run(engine, settings, write(tmp_path / "d.csv", text), "deals")
    assert (result.inserted, result.rejected) == (1, 1)
    assert error_rows(result)[0]["field"] == "amount"


# --- a stray quote -----------------------------------------------------------------------------


def stray_quote_file(path: Path, swallowed: int) -> Path:
    """Row a1's notes open a quote that is never closed: the reader takes every following
    line into those notes up to the next quote, which row a{swallowed + 1}'s notes hold, as
    in the export where one unbalanced quote hid 26 rows in one row's notes."""
    lines = ["external_id,rep,kind,occurred_at,notes"]
    lines.append("a0,Ana Ruiz,call,2026-03-02T09:00:00,fine")
    lines.append('a1,Ana Ruiz,call,2026-03-02T10:00:00,"24 inch screen')
    for n in range(2, 1 + swallowed):
        lines.append(f"a{n},Ana Ruiz,call,2026-03-02T10:{n:02d}:00,note {n}")
    lines.append(f'a{1 + swallowed},Ana Ruiz,call,2026-03-02T11:00:00,"quoted"')
    lines.append(f"a{2 + swallowed},Ana Ruiz,call,2026-03-02T12:00:00,after")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_stray_quote_is_reported_by_line_not_swallowed(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Before: 29 rows read as 3 and all 3 inserted, exit 0, "every row is accounted for":
    26 calls vanished into a1's notes without a word."""
    path = stray_quote_file(tmp_path / "acts.csv", swallowed=26)
    result = run(engine, settings, path, "activities")
    # Lines: header 1, a0 on 2, the stray quote (a1) on 3, 26 swallowed rows a2-a27 on 4-29
    # (a27 holds the next quote), a28 on 30. The record from line 3 runs to line 29.
    assert (result.read, result.inserted, result.rejected) == (3, 2, 1)
    [error] = error_rows(result)
    assert (error["line"], error["field"]) == ("3", "")
    assert error["reason"].startswith(
        "a quoted field runs over lines 3-29 and 26 of them read as rows of their own"
    )
    assert result.warnings == [f"line 3: {error['reason']}"]


def test_notes_with_line_breaks_are_still_fine(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    text = (
        "external_id,rep,kind,occurred_at,notes\n"
        'a1,Ana Ruiz,call,2026-03-02T10:00:00,"line one\nline two, with a comma\nline three"\n'
        "a2,Ana Ruiz,call,2026-03-02T11:00:00,plain\n"
    )
    result = run(engine, settings, write(tmp_path / "acts.csv", text), "activities")
    assert (result.inserted, result.rejected, result.warnings) == (2, 0, [])


def test_a_row_the_database_refuses_is_rejected_and_the_rest_is_written(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal no check foresaw (here planted: any batch holding the "poison" row fails
    after its writes) costs that row only. The batch is rolled back and its rows retried one
    by one; the repeat of a1 rejected in the refused batch is reported once, not twice, and
    the account only the refused row named is neither stored nor counted."""
    original = ActivityWriter.write_any

    def refusing(self: ActivityWriter, conn: Connection, batch: Batch) -> None:
        original(self, conn, batch)
        rows = batch.pendings() if isinstance(batch, ColumnBatch) else batch
        if any(p.record["notes"] == "poison" for p in rows):
            raise DataError("INSERT", {}, Exception("value refused by the database"))

    monkeypatch.setattr(ActivityWriter, "write_any", refusing)
    text = (
        "external_id,rep,kind,occurred_at,account,notes\n"
        "a1,Ana Ruiz,call,2026-03-02T10:00:00,Acme,\n"
        "a1,Ana Ruiz,call,2026-03-02T10:30:00,Acme,other values\n"
        "a2,Ana Ruiz,call,2026-03-02T11:00:00,Poison Inc,poison\n"
        "a3,Ben Ode,call,2026-03-02T12:00:00,Globex,\n"
    )
    result = run(engine, settings, write(tmp_path / "acts.csv", text), "activities")
    assert (result.read, result.inserted, result.rejected) == (4, 2, 2)
    assert [(r["line"], r["field"], r["reason"]) for r in error_rows(result)] == [
        ("3", "external_id", "id 'a1' appears earlier in this file with other values"),
        ("4", "", "the database refused this row: value refused by the database"),
    ]
    assert (result.new_accounts, sorted(result.new_reps)) == (2, ["Ana Ruiz", "Ben Ode"])
    with engine.connect() as conn:
        assert set(conn.execute(select(Account.name)).scalars()) == {"Acme", "Globex"}
        assert set(conn.execute(select(Activity.external_id)).scalars()) == {"a1", "a3"}


# --- contradictory activities (one rule for every write) ----------------------------------------

NOW = dt.datetime(2026, 3, 10, 15, 0)  # naive UTC: the fixed "now" of these tests


def test_contradictory_activities_are_rejected_with_the_field_named(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Before, all seven rows were stored: a1 as a non-selling but engaged call, an admin
    task that set a meeting, a call dated next year and a 100,000-minute call among them."""
    text = (
        "external_id,rep,kind,occurred_at,duration_min,outcome,has_ask\n"
        "a1,Ana Ruiz,call,2026-03-09T10:00:00,5,meeting set,\n"  # implies the Ask
        "a2,Ana Ruiz,admin,2026-03-09T11:00:00,5,meeting set,\n"  # admin sets no meeting
        "a3,Ana Ruiz,call,2027-03-09T10:00:00,5,,yes\n"  # next year
        "a4,Ana Ruiz,call,2026-03-09T12:00:00,100000,,yes\n"  # 69 days long
        "a5,Ana Ruiz,call,2026-03-09T13:00:00,5,meeting_set,no\n"  # says no Ask
        "a6,Ana Ruiz,email,2026-03-09T14:00:00,,held,yes\n"  # an e-mail held no meeting
        "a7,Ana Ruiz,call,2026-03-11T09:00:00,5,voicemail,\n"  # tomorrow: within the margin
    )
    path = write(tmp_path / "acts.csv", text)
    result = run(engine, settings, path, "activities", now=NOW)
    assert (result.inserted, result.rejected) == (2, 5)
    assert {r["line"]: r["field"] for r in error_rows(result)} == {
        "3": "outcome",
        "4": "occurred_at",
        "5": "duration_min",
        "6": "has_ask",
        "7": "outcome",
    }
    with engine.connect() as conn:
        stored = {
            r.external_id: (r.has_ask, r.engaged)
            for r in conn.execute(select(Activity.external_id, Activity.has_ask, Activity.engaged))
        }
    assert stored == {"a1": (True, True), "a7": (False, False)}
    assert settings.is_selling("call", stored["a1"][0])


def test_the_same_rule_guards_manual_logging(engine: Engine, settings: Settings) -> None:
    from paceline.errors import InputError
    from paceline.services.activities import Entry as ActivityInput
    from paceline.services.activities import log_activity
    from paceline.services.reps import add_rep

    add_rep(engine, settings, "Ana Ruiz", "sdr")
    now = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
    logged = log_activity(
        engine, settings, ActivityInput("Ana Ruiz", "call", outcome="meeting_set"), now=now
    )
    assert (logged.has_ask, logged.selling, logged.engaged) == (True, True, True)
    refused = [
        (ActivityInput("Ana Ruiz", "admin", outcome="meeting_set"), "outcome"),
        (ActivityInput("Ana Ruiz", "call", occurred_at=dt.datetime(2027, 3, 9)), "occurred_at"),
        (ActivityInput("Ana Ruiz", "call", duration_min=100_000), "duration_min"),
    ]
    for entry, field_name in refused:
        with pytest.raises(InputError) as caught:
            log_activity(engine, settings, entry, now=now)
        assert caught.value.field == field_name


def test_limits_come_from_the_configuration(engine: Engine, tmp_path: Path) -> None:
    from paceline.config import default_config_text, parse_settings

    text = default_config_text().replace("max_future_days = 1", "max_future_days = 366")
    lenient = parse_settings(text.replace("max_duration_min = 1440", "max_duration_min = 3000"))
    rows = (
        "external_id,rep,kind,occurred_at,duration_min\n"
        "a1,Ana Ruiz,call,2027-03-09T10:00:00,5\n"
        "a2,Ana Ruiz,travel,2026-03-09T10:00:00,2880\n"
    )
    result = run(engine, lenient, write(tmp_path / "a.csv", rows), "activities", now=NOW)
    assert (result.inserted, result.rejected) == (2, 0)


def test_a_nul_byte_near_the_top_rejects_its_row_not_the_file(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Before, one NUL byte in the first 64 KB refused the whole file as "not a text file"."""
    text = (
        "external_id,rep,kind,occurred_at,notes\n"
        "a1,Ana Ruiz,call,2026-03-02T10:00:00,nul \x00 byte\n"
        "a2,Ana Ruiz,call,2026-03-02T11:00:00,fine\n"
    )
    result = run(engine, settings, write(tmp_path / "acts.csv", text), "activities")
    assert (result.inserted, result.rejected) == (1, 1)
    assert [(r["line"], r["field"]) for r in error_rows(result)] == [("2", "notes")]


def test_a_new_rep_written_several_ways_is_named_by_the_files_first_spelling(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """One rep written in twelve casings in one file: one rep, named as the first row writes
    it. The names were gathered in a set, so which spelling named the rep changed with the
    process's string hashing ("ANA RUIZ" in one run, "ana ruiz" in the next)."""
    spellings = ["Ana Ruiz", "ana ruiz", "ANA RUIZ", "Ana RUIZ", "ANA Ruiz", "ana Ruiz"]
    spellings += ["aNA rUIZ", "AnA RuIz", "aNa rUiZ", "Ana ruiz", "ANa RUiz", "anA ruiZ"]
    rows = "".join(
        f"c{i},{name},call,2026-03-02T1{i % 10}:00:00\n" for i, name in enumerate(spellings)
    )
    path = write(tmp_path / "calls.csv", "external_id,rep,kind,occurred_at\n" + rows)
    result = run(engine, settings, path, "activities")
    assert (result.inserted, result.rejected) == (12, 0)
    with engine.connect() as conn:
        assert conn.execute(select(Rep.name)).scalars().all() == ["Ana Ruiz"]
    # A later file's other spelling finds the same rep and renames nothing.
    again = write(
        tmp_path / "more.csv",
        "external_id,rep,kind,occurred_at\nz,ANA RUIZ,call,2026-03-03T10:00:00\n",
    )
    assert run(engine, settings, again, "activities").inserted == 1
    with engine.connect() as conn:
        assert conn.execute(select(Rep.name)).scalars().all() == ["Ana Ruiz"]
