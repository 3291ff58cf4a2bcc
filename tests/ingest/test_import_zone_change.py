"""A file whose times carry no offset, imported again after `[calendar] timezone` changed,
on SQLite and PostgreSQL (the `engine` fixture).

Such times are read in the configured zone at each import (or the one `--timezone` or the
mapping names): a zone corrected from New York to Berlin re-reads a Berlin team's export at
its true instants. The rows already stored that this moves are said in a warning, with the
zone they were first read in and how to keep it (`--timezone`). Figures by hand, below."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select

from factories import in_zone, write
from paceline.config import Settings
from paceline.ingest.accounting import ImportOptions, ImportResult
from paceline.ingest.importer import import_csv
from paceline.ingest.writers import zone_moved_rows
from paceline.store.models import Activity

NOW = dt.datetime(2026, 12, 7, 12, 0)
# Monday 2026-11-16. New York is UTC-5, Berlin UTC+1 (both on winter time).
# t1 20:00 -> NY: Tue 01:00 UTC (Monday in NY, Tuesday in Berlin); Berlin: Mon 19:00 UTC.
# t2 10:00 -> NY: Mon 15:00 UTC; Berlin: Mon 09:00 UTC (Monday either way).
# t3 a date without a time: Monday at the zone's midnight, whatever the zone.
# h1 (no id) 21:00 -> NY: Tue 02:00 UTC; Berlin: Mon 20:00 UTC.
CALLS = """external_id,rep,kind,occurred_at
t1,Ana Ruiz,call,2026-11-16T20:00:00
t2,Ana Ruiz,call,2026-11-16T10:00:00
t3,Ana Ruiz,call,2026-11-16
,Ana Ruiz,email,2026-11-16T21:00:00
"""


def run(engine: Engine, settings: Settings, path: Path, **options: object) -> ImportResult:
    opts = ImportOptions(errors_path=path.with_suffix(".errors.csv"), now=NOW, **options)  # type: ignore[arg-type]
    return import_csv(engine, settings, path, "activities", options=opts)


def counts(r: ImportResult) -> tuple[int, int, int, int, int, int, int]:
    return (r.read, r.inserted, r.updated, r.unchanged, r.duplicate, r.skipped, r.rejected)


def stored(engine: Engine) -> dict[str, tuple[dt.datetime, dt.date]]:
    """Each activity's kind and hour (UTC) -> its instant and day (ids of rows without
    one are hashes: the kind names the e-mail)."""
    query = select(Activity.external_id, Activity.kind, Activity.occurred_at, Activity.local_date)
    with engine.connect() as conn:
        return {
            (ref if not ref.startswith("h:") else kind): (at, day)
            for ref, kind, at, day in conn.execute(query)
        }


MON, TUE = dt.date(2026, 11, 16), dt.date(2026, 11, 17)


def test_a_file_imported_again_after_a_change_of_zone_is_read_in_the_new_zone_and_said(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Imported under New York, then (the zone corrected to Berlin) stored t1 and the
    e-mail sit on Tuesday, Berlin's day of their New York instants. Imported again under
    Berlin, the file's times are Berlin's: t1, t2 and the e-mail are updated to their
    Berlin instants (t1 and the e-mail back to Monday), t3 (a date) is unchanged, nothing
    is doubled. The summary said "3 updated" and nothing else; it now warns that 3 stored
    rows were read at other times than when first imported, 2 of them on another day,
    naming New York and --timezone. Imported again with --timezone America/New_York, the
    rows go back to their first instants (and days in Berlin), with the same warning's
    figures the other way."""
    calls = write(tmp_path / "calls.csv", CALLS)
    assert counts(run(engine, settings, calls)) == (4, 4, 0, 0, 0, 0, 0)
    berlin = in_zone(settings, "Europe/Berlin")
    again = run(engine, berlin, calls)
    assert counts(again) == (4, 0, 3, 1, 0, 0, 0)
    assert stored(engine) == {
        "t1": (dt.datetime(2026, 11, 16, 19), MON),
        "t2": (dt.datetime(2026, 11, 16, 9), MON),
        "t3": (dt.datetime(2026, 11, 15, 23), MON),
        "email": (dt.datetime(2026, 11, 16, 20), MON),
    }
    assert again.warnings == [zone_moved_rows(3, 2, "Europe/Berlin", "America/New_York")]
    assert run(engine, berlin, calls).warnings == []  # nothing moves any more
    kept = run(engine, berlin, calls, timezone="America/New_York")
    assert counts(kept) == (4, 0, 3, 1, 0, 0, 0)
    assert stored(engine) == {
        "t1": (dt.datetime(2026, 11, 17, 1), TUE),
        "t2": (dt.datetime(2026, 11, 16, 15), MON),
        "t3": (dt.datetime(2026, 11, 15, 23), MON),
        "email": (dt.datetime(2026, 11, 17, 2), TUE),
    }
    assert kept.warnings == []  # the zone was named: the user decided
