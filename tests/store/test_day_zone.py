"""A changed `[calendar] timezone` moves the stored activities to their days in the new zone
(`store.day_zone`), on SQLite and PostgreSQL.

`paceline init` writes America/New_York; a team in Berlin that imports first and corrects
the zone afterwards had every stored activity counted on its New York day, while periods
were cut in Berlin: the evening calls of New York's day before (Berlin's small hours) were
missing from Berlin's day, silently."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select

from factories import in_zone, make_site, write
from paceline.analytics.activity_summary import activity_summary
from paceline.analytics.scorecard import rep_scorecard
from paceline.auth.access import Principal
from paceline.config import Settings
from paceline.ingest.importer import import_csv
from paceline.services import activities
from paceline.services.activities import Entry, Writer, log_activity
from paceline.store.day_zone import align_stored_days, recorded_zone
from paceline.store.migrate import downgrade, upgrade
from paceline.store.models import Activity, Deal

MONDAY = dt.date(2021, 3, 1)

# Instants in UTC, with their days in New York (UTC-5 in March before the 14th) and Berlin
# (UTC+1): a1 Sun 21:00 NY / Mon 03:00 Berlin; a2 Mon 10:00 / Mon 16:00; a3 Sun 18:30 / Mon
# 00:30; a4 a date without a time, Monday in either zone; a5 Tue 19:30 / Wed 01:30.
CALLS = """external_id,rep,kind,occurred_at,has_ask
a1,Ana Ruiz,call,2021-03-01T02:00:00Z,yes
a2,Ana Ruiz,call,2021-03-01T15:00:00Z,yes
a3,Ana Ruiz,call,2021-02-28T23:30:00Z,yes
a4,Ana Ruiz,call,2021-03-01,yes
a5,Ana Ruiz,call,2021-03-03T00:30:00Z,yes
"""


def imported_in_new_york(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    upgrade(engine)
    result = import_csv(engine, settings, write(tmp_path / "calls.csv", CALLS), "activities")
    assert (result.inserted, result.rejected) == (5, 0)


def days(engine: Engine) -> dict[str, tuple[dt.datetime, dt.date]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Activity.external_id, Activity.occurred_at, Activity.local_date))
        return {key: (at, day) for key, at, day in rows}


def monday_activities(engine: Engine, settings: Settings) -> int:
    (ana,) = activity_summary(engine, settings, "day", MONDAY).reps
    return ana.activities


def test_a_changed_zone_counts_every_activity_on_its_day_there(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    imported_in_new_york(engine, settings, tmp_path)
    assert monday_activities(engine, settings) == 2  # a2, a4: New York's Monday

    berlin = in_zone(settings, "Europe/Berlin")
    # Berlin's Monday: a1, a2, a3 and the date-only a4 (was 2: a2 and a4, on New York's days).
    assert monday_activities(engine, berlin) == 4
    stored = days(engine)
    assert {key: day for key, (_, day) in stored.items()} == {
        "a1": MONDAY,
        "a2": MONDAY,
        "a3": MONDAY,
        "a4": MONDAY,
        "a5": dt.date(2021, 3, 3),
    }
    # The date without a time keeps its date, now at Berlin's midnight (23:00 UTC).
    assert stored["a4"][0] == dt.datetime(2021, 2, 28, 23, 0)
    assert stored["a1"][0] == dt.datetime(2021, 3, 1, 2, 0)  # a timed one keeps its instant

    # And back: New York's days again, the date-only a4 at New York's midnight (05:00 UTC).
    assert monday_activities(engine, settings) == 2
    assert days(engine)["a4"] == (dt.datetime(2021, 3, 1, 5, 0), MONDAY)
    assert days(engine)["a1"] == (dt.datetime(2021, 3, 1, 2, 0), dt.date(2021, 2, 28))


def test_a_write_in_the_new_zone_moves_the_stored_days_first(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Logged under the new zone before any analysis ran: the stored activities are moved
    first, so the new one joins days of the same zone (none is taken for a date-only one)."""
    imported_in_new_york(engine, settings, tmp_path)
    berlin = in_zone(settings, "Europe/Berlin")
    # 00:00 in New York (06:00 in Berlin): a timed call at New York's midnight, logged in Berlin.
    log_activity(
        engine,
        berlin,
        Entry(rep="Ana Ruiz", kind="call", occurred_at=dt.datetime(2021, 3, 1, 6, 0), has_ask=True),
        now=dt.datetime(2021, 3, 2, 12, 0),
    )
    assert days(engine)["a3"][1] == MONDAY  # moved by the write, before any analysis
    assert monday_activities(engine, berlin) == 5
    with engine.connect() as conn:
        logged = conn.execute(
            select(Activity.occurred_at).where(Activity.source == "manual")
        ).scalar_one()
    assert logged == dt.datetime(2021, 3, 1, 5, 0)  # kept its instant


def test_an_import_in_the_new_zone_moves_the_stored_days_first(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Another file imported under the new zone before any analysis ran: the stored
    activities are moved before its rows join them (a3 to Monday, a4 to Berlin's midnight)."""
    imported_in_new_york(engine, settings, tmp_path)
    berlin = in_zone(settings, "Europe/Berlin")
    more = write(
        tmp_path / "more.csv",
        "external_id,rep,kind,occurred_at,has_ask\nb1,Ana Ruiz,call,2021-03-01,yes\n",
    )
    assert import_csv(engine, berlin, more, "activities").inserted == 1
    stored = days(engine)
    assert stored["a3"][1] == MONDAY
    assert stored["a4"] == stored["b1"] == (dt.datetime(2021, 2, 28, 23, 0), MONDAY)
    assert monday_activities(engine, berlin) == 5


def test_the_days_of_a_database_without_a_recorded_zone_stay(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A database upgraded with activities in it records no zone: the configured one is
    taken for theirs, and nothing moves (nothing says they were derived elsewhere)."""
    imported_in_new_york(engine, settings, tmp_path)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM day_zone")
    before = days(engine)
    assert align_stored_days(engine, in_zone(settings, "Europe/Berlin").calendar.zone) == 0
    assert days(engine) == before
    with engine.connect() as conn:
        assert recorded_zone(conn) == "Europe/Berlin"


# Dates without a time (Zoho's "Closing Date", read `date_only`), stored at New York's
# midnight: 04:00 UTC on April 1 (EDT), which is 21:00 on March 31 in Los Angeles.
DEALS = """external_id,name,rep,amount,stage,created_at,closed_at
d1,Acme,Ana Ruiz,1000,closed_won,2021-03-15,2021-04-01
d2,Beta,Ana Ruiz,2000,closed_won,2021-03-15,2021-03-31
d3,Gamma,Ana Ruiz,4000,closed_won,2021-03-15,2021-04-01T03:00:00Z
"""


def won_in_april(engine: Engine, settings: Settings) -> tuple[float, float]:
    """Ana's deals won and revenue in April 2021, as of April 2."""
    card = rep_scorecard(engine, settings, "Ana Ruiz", "month", dt.date(2021, 4, 2))
    lines = {line.metric: line.pace.actual for line in card.lines}
    return lines["deals_won"], lines["revenue"]


def test_a_deal_closed_on_a_date_stays_on_it_in_the_new_zone(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """d1 closed on April 1 (a date) is April's in Los Angeles too (was March's: 0 won in
    April); d3 closed at 03:00 UTC on April 1 is an instant, 20:00 on March 31 there."""
    upgrade(engine)
    result = import_csv(engine, settings, write(tmp_path / "deals.csv", DEALS), "deals")
    assert (result.inserted, result.rejected) == (3, 0)
    assert won_in_april(engine, settings) == (1, 1000)  # d1; d3 is 23:00 on March 31 there
    los_angeles = in_zone(settings, "America/Los_Angeles")
    assert won_in_april(engine, los_angeles) == (1, 1000)  # d1 (d2: March 31; d3: March 31)
    with engine.connect() as conn:
        closes = {key: at for key, at in conn.execute(select(Deal.external_id, Deal.closed_at))}
        created = set(conn.execute(select(Deal.created_at)).scalars())
    assert closes == {
        "d1": dt.datetime(2021, 4, 1, 7, 0),  # Los Angeles' midnight (PDT since March 14)
        "d2": dt.datetime(2021, 3, 31, 7, 0),
        "d3": dt.datetime(2021, 4, 1, 3, 0),  # an instant: unchanged
    }
    assert created == {dt.datetime(2021, 3, 15, 7, 0)}


def test_a_deal_file_imported_again_after_a_change_is_unchanged(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Every deal of DEALS was created on a date (March 15) and d1, d2 closed on one: their
    fingerprints held New York's midnights, so in Los Angeles all 3 read as updated."""
    upgrade(engine)
    deals = write(tmp_path / "deals.csv", DEALS)
    assert import_csv(engine, settings, deals, "deals").inserted == 3
    los_angeles = in_zone(settings, "America/Los_Angeles")
    again = import_csv(engine, los_angeles, deals, "deals")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert won_in_april(engine, los_angeles) == (1, 1000)
    later = DEALS.replace(
        "d2,Beta,Ana Ruiz,2000,closed_won,2021-03-15,2021-03-31",
        "d2,Beta,Ana Ruiz,2000,closed_won,2021-03-15,2021-04-02",
    )
    changed = import_csv(engine, los_angeles, write(tmp_path / "later.csv", later), "deals")
    assert (changed.updated, changed.unchanged) == (1, 2)  # a real change still shows
    assert won_in_april(engine, los_angeles) == (2, 3000)


# The same calls without ids: known by their content. c1 is Sunday in New York, Monday in
# Berlin; c2 Monday in either; c3 a date without a time, at New York's midnight (05:00 UTC)
# when imported there, at Berlin's (23:00 UTC on Sunday) after the change.
CALLS_WITHOUT_IDS = """rep,kind,occurred_at,has_ask
Ana Ruiz,call,2021-03-01T02:00:00Z,yes
Ana Ruiz,call,2021-03-01T15:00:00Z,yes
Ana Ruiz,call,2021-03-01,yes
"""


def test_a_file_without_ids_imported_again_after_a_change_adds_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Keyed in the configured zone, c1 (its day moved) and c3 (its midnight moved) had new
    keys in Berlin and were added again: 5 calls on Berlin's Monday, not 3."""
    upgrade(engine)
    calls = write(tmp_path / "calls.csv", CALLS_WITHOUT_IDS)
    assert import_csv(engine, settings, calls, "activities").inserted == 3
    assert monday_activities(engine, settings) == 2  # c2, c3
    berlin = in_zone(settings, "Europe/Berlin")
    again = import_csv(engine, berlin, calls, "activities")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert monday_activities(engine, berlin) == 3
    stored = set(days(engine).values())
    assert stored == {
        (dt.datetime(2021, 3, 1, 2, 0), MONDAY),
        (dt.datetime(2021, 3, 1, 15, 0), MONDAY),
        (dt.datetime(2021, 2, 28, 23, 0), MONDAY),  # Berlin's midnight of its date
    }
    # Back in New York, the keys are still the same ones.
    back = import_csv(engine, settings, calls, "activities")
    assert (back.inserted, back.updated, back.unchanged) == (0, 0, 3)


# Times without an offset: read in the configured zone. 09:00 is 14:00 UTC in New York,
# 08:00 UTC in Berlin; 23:30 is 04:30 UTC on March 2 in New York, 22:30 UTC on March 1 in
# Berlin: Monday in either.
LOCAL_CALLS_WITHOUT_IDS = """rep,kind,occurred_at,has_ask
Ana Ruiz,call,2021-03-01 09:00,yes
Ana Ruiz,call,2021-03-01 23:30,yes
Ana Ruiz,call,2021-03-01,yes
"""


def test_a_file_of_local_times_without_ids_is_read_again_not_added_again(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Imported in New York, then again in Berlin: its times are read as Berlin's now (as
    with ids), so the two timed rows are updated to their new instants; all 3 were added
    again before (6 calls on Monday)."""
    upgrade(engine)
    calls = write(tmp_path / "local.csv", LOCAL_CALLS_WITHOUT_IDS)
    assert import_csv(engine, settings, calls, "activities").inserted == 3
    berlin = in_zone(settings, "Europe/Berlin")
    again = import_csv(engine, berlin, calls, "activities")
    assert (again.inserted, again.updated, again.unchanged) == (0, 2, 1)
    assert set(days(engine).values()) == {
        (dt.datetime(2021, 3, 1, 8, 0), MONDAY),
        (dt.datetime(2021, 3, 1, 22, 30), MONDAY),
        (dt.datetime(2021, 2, 28, 23, 0), MONDAY),
    }
    assert monday_activities(engine, berlin) == 3
    once_more = import_csv(engine, berlin, calls, "activities")
    assert (once_more.inserted, once_more.updated, once_more.unchanged) == (0, 0, 3)


def test_a_file_with_ids_imported_again_after_a_change_is_unchanged(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """a1, a3, a5 (their days moved) and a4 (its midnight moved) read as updated, though
    the file said the same: 4 updated, 1 unchanged."""
    imported_in_new_york(engine, settings, tmp_path)
    berlin = in_zone(settings, "Europe/Berlin")
    again = import_csv(engine, berlin, tmp_path / "calls.csv", "activities")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    assert monday_activities(engine, berlin) == 4


def test_a_row_that_changed_is_still_updated_after_a_change(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The fixed key zone does not hide a real change: a1 a day later, a4 a date later."""
    imported_in_new_york(engine, settings, tmp_path)
    changed = CALLS.replace("2021-03-01T02:00:00Z", "2021-03-02T02:00:00Z").replace(
        "a4,Ana Ruiz,call,2021-03-01,", "a4,Ana Ruiz,call,2021-03-02,"
    )
    berlin = in_zone(settings, "Europe/Berlin")
    again = import_csv(engine, berlin, write(tmp_path / "changed.csv", changed), "activities")
    assert (again.inserted, again.updated, again.unchanged) == (0, 2, 3)
    stored = days(engine)
    assert stored["a1"] == (dt.datetime(2021, 3, 2, 2, 0), dt.date(2021, 3, 2))
    assert stored["a4"] == (dt.datetime(2021, 3, 1, 23, 0), dt.date(2021, 3, 2))


def _day_zone_columns(engine: Engine) -> set[str]:
    engine.dispose()  # SQLite: the altered table, not a cached description of the old one
    return {column["name"] for column in inspect(engine).get_columns("day_zone")}


def test_keys_stored_before_migration_0023_are_found_after_a_change_of_zone(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Keys stored under 0022 were worked out in the zone the days are recorded in (New
    York): the upgrade takes it for the keys' zone, and nothing is added again in Berlin."""
    upgrade(engine)
    calls = write(tmp_path / "calls.csv", CALLS_WITHOUT_IDS)
    assert import_csv(engine, settings, calls, "activities").inserted == 3
    downgrade(engine, "0022")  # as 0022 left it: days recorded in New York, no key zone
    assert "key_zone" not in _day_zone_columns(engine)
    upgrade(engine)
    berlin = in_zone(settings, "Europe/Berlin")
    again = import_csv(engine, berlin, calls, "activities")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Activity)) == 3
    assert monday_activities(engine, berlin) == 3


def test_the_activity_list_and_export_show_the_new_zones_days_before_any_analysis(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Read first after the change, the API's list and the web export showed New York's
    days: Monday's filter found a2 and a4, not Berlin's a1, a2, a3 and a4."""
    imported_in_new_york(engine, settings, tmp_path)
    site = make_site(engine, in_zone(settings, "Europe/Berlin"), {"root": ("admin", None)})
    listed = site.api("root", "/activities", **{"from": "2021-03-01", "to": "2021-03-01"})
    assert listed.status_code == 200, listed.text
    assert sorted(a["external_id"] for a in listed.json()["items"]) == ["a1", "a2", "a3", "a4"]
    exported = site.page("root", "/activities/export.csv", start="2021-03-01", end="2021-03-01")
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert sorted((r["external_id"], r["local_date"]) for r in rows) == [
        (key, "2021-03-01") for key in ("a1", "a2", "a3", "a4")
    ]
    # a4, a date without a time: midnight in Berlin.
    assert next(r["when"] for r in rows if r["external_id"] == "a4").startswith("2021-03-01 00:00")


def test_an_undone_delete_from_before_the_change_is_put_on_the_new_zones_day(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """a3 (Sunday in New York, Monday in Berlin) and a4 (a date without a time) deleted in
    New York, a Berlin analysis run, then the deletes undone in Berlin: they came back on
    New York's Sunday and at New York's midnight, and Berlin's Monday read 3, not 4."""
    imported_in_new_york(engine, settings, tmp_path)
    root = Principal(1, "root", "admin", None, None)
    berlin = in_zone(settings, "Europe/Berlin")
    now = dt.datetime(2021, 3, 2, 12, 0)
    in_new_york = Writer.of(engine, settings, root, now=now)
    ids = {key: activity_id(engine, key) for key in ("a3", "a4")}
    stashes = [activities.delete(in_new_york, ids[key]) for key in ("a3", "a4")]
    assert monday_activities(engine, berlin) == 2  # a1, a2: the days are Berlin's now
    in_berlin = Writer.of(engine, berlin, root, now=now)
    for stash in stashes:
        activities.undo(in_berlin, stash)
    stored = days(engine)
    assert stored["a3"] == (dt.datetime(2021, 2, 28, 23, 30), MONDAY)
    assert stored["a4"] == (dt.datetime(2021, 2, 28, 23, 0), MONDAY)  # Berlin's midnight
    assert monday_activities(engine, berlin) == 4


def activity_id(engine: Engine, external_id: str) -> int:
    with engine.connect() as conn:
        found = select(Activity.id).where(Activity.external_id == external_id)
        return int(conn.execute(found).scalar_one())
