"""The column-wise check of activity rows builds the records the row-by-row path builds, and
hands back every row that path would refuse (so rejections read the same)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import in_zone, variant
from paceline.config import Settings, default_settings
from paceline.ingest import columns, entities
from paceline.ingest.columns import _distinct_pieces, finish_activities
from paceline.ingest.entities import RowReader, field_names, finish_activity
from paceline.ingest.fields import FieldError
from paceline.ingest.mapping import generic_mapping

NOW = dt.datetime(2026, 12, 1, 12, 0)
HEADER = [
    "external_id",
    "rep",
    "kind",
    "occurred_at",
    "duration_min",
    "outcome",
    "has_ask",
    "engaged",
    "account",
    "notes",
]
GOOD = [
    ["a1", "Ana Ruiz", "call", "2026-11-20T10:00:00", "5", "meeting_set", "yes", "", "Acme", ""],
    ["a2", " Ana Ruiz ", "Call", "2026-11-20 10:00", "0", "", "", "", "", 'said "hi", left'],
    ["a3", "Ben Ode", "email", "2026-11-20", "", "replied", "no", "yes", "Globex", ""],
    ["", "Ben Ode", "meeting", "2026-11-21T09:30:00+01:00", "45.5", "held", "", "", "Acme", ""],
    ["a5", "Ben Ode", "call", "2026-11-21T09:30:00", "-0", "no_answer", "", "no", " ", "x"],
    ["a6", "Ana Ruiz", "meeting", "2026-03-29T02:30:00", "1,200", "held", "1", "", "", ""],
    ["a7", "Ana Ruiz", "call", "2026-11-20T10:00:00", "", "", "", "", "Acme", ""],  # = a1's day
]
# Each refused row by the row-by-row path, with the field it names.
REFUSED = [
    (["b1", "Ana Ruiz", "nap", "2026-11-20T10:00:00", "", "", "", "", "", ""], "kind"),
    (["b2", "Ana Ruiz", "call", "2026-11-20T10:00:00", "", "held", "", "", "", ""], "outcome"),
    (["b3", "Ana Ruiz", "call", "2026-11-20T10:00:00", "", "nope", "", "", "", ""], "outcome"),
    (["b4", "Ana Ruiz", "call", "2026-11-20T10:00:00", "-1", "", "", "", "", ""], "duration_min"),
    (["b5", "Ana Ruiz", "call", "2026-11-20T10:00:00", "1e6", "", "", "", "", ""], "duration_min"),
    (["b6", "Ana Ruiz", "call", "2028-01-01T10:00:00", "", "", "", "", "", ""], "occurred_at"),
    (["b7", "Ana Ruiz", "call", "1899-12-31T10:00:00", "", "", "", "", "", ""], "occurred_at"),
    (["b8", "Ana Ruiz", "call", "31/02/2026", "", "", "", "", "", ""], "occurred_at"),
    (["b9", "", "call", "2026-11-20T10:00:00", "", "", "", "", "", ""], "rep"),
    (["c1", "Ana Ruiz", "call", "2026-11-20T10", "", "meeting_set", "no", "", "", ""], "has_ask"),
    (["c2", "Ana Ruiz", "call", "2026-11-20T10:00:00", "", "", "maybe", "", "", ""], "has_ask"),
    (["c3", "Ana Ruiz", "call", "2026-11-20T10:00:00", "", "", "", "", "A" * 301, ""], "account"),
    (["c4", "Ana Ruiz", "call", "2026-11-20T10:00:00", "", "", "", "", "Ac\x00me", ""], "account"),
    (["c5", "Ana Ruiz", "call", "2026-11-20T10:00:00", "abc", "", "", "", "", ""], "duration_min"),
]  # fmt: skip


def _reader(settings: Settings, header: list[str]) -> RowReader:
    mapping = generic_mapping("activities", header, field_names("activities"))
    zone = ZoneInfo("Europe/Berlin")
    return RowReader("activities", mapping, header, zone, zone)


def _row_by_row(reader: RowReader, row: list[str], settings: Settings) -> object:
    try:
        return finish_activity(reader.read(row), settings, NOW)
    except FieldError as exc:
        return exc


def test_valid_rows_give_the_records_of_the_row_path(settings: Settings) -> None:
    reader = _reader(settings, HEADER)
    records = finish_activities(reader, GOOD, settings, NOW)
    assert records == [finish_activity(reader.read(row), settings, NOW) for row in GOOD]
    assert records[0] is not None and records[6] is not None
    # Same day, same rep, different fields: the fingerprints differ, the values are shared.
    assert records[0]["row_hash"] != records[6]["row_hash"]
    assert records[3] is not None and records[3]["external_id"].startswith("h:")
    # "-0" and "0" are one dictionary key but two texts in the fingerprint.
    minus_zero = finish_activities(
        reader, [GOOD[4], [*GOOD[4][:4], "0", *GOOD[4][5:]]], settings, NOW
    )
    assert minus_zero[0] is not None and minus_zero[1] is not None
    assert minus_zero[0]["row_hash"] != minus_zero[1]["row_hash"]


@pytest.mark.parametrize(("row", "field"), REFUSED, ids=[row[0] for row, _ in REFUSED])
def test_a_row_the_row_path_refuses_is_handed_back(
    settings: Settings, row: list[str], field: str
) -> None:
    reader = _reader(settings, HEADER)
    refused = _row_by_row(reader, row, settings)
    assert isinstance(refused, FieldError) and refused.field == field
    records = finish_activities(reader, [GOOD[0], row, GOOD[1]], settings, NOW)
    assert records[1] is None
    assert records[0] == _row_by_row(reader, GOOD[0], settings)
    assert records[2] == _row_by_row(reader, GOOD[1], settings)


def test_a_file_without_optional_columns(settings: Settings) -> None:
    header = ["rep", "kind", "occurred_at"]
    rows = [["Ana Ruiz", "call", "2026-11-20T10:00:00"], ["Ben Ode", "email", "2026-11-19"]]
    reader = _reader(settings, header)
    records = finish_activities(reader, rows, settings, NOW)
    assert records == [finish_activity(reader.read(row), settings, NOW) for row in rows]
    assert all(r is not None and r["external_id"] == f"h:{r['row_hash']}" for r in records)


def test_columns_empty_in_every_row_leave_the_fingerprint_unchanged(settings: Settings) -> None:
    """A chunk with no contact and no deal reference anywhere writes the fingerprint the row
    path writes; a chunk where one row names them too (the columns then count in every row)."""
    header = [*HEADER, "contact", "deal_ref"]
    empty = [[*row, "", ""] for row in GOOD]
    named = [*empty[:2], [*GOOD[2], "Jo Kim", "D-1"], *empty[3:]]
    reader = _reader(settings, header)
    for rows in (empty, named):
        records = finish_activities(reader, rows, settings, NOW)
        assert records == [finish_activity(reader.read(row), settings, NOW) for row in rows]
    first = finish_activities(reader, empty, settings, NOW)[2]
    second = finish_activities(reader, named, settings, NOW)[2]
    assert first is not None and second is not None
    assert first["row_hash"] != second["row_hash"]
    assert first["row_hash"] == finish_activities(reader, [empty[2]], settings, NOW)[0]["row_hash"]  # type: ignore[index]


def test_times_in_a_file_zone_other_than_the_business_zone(settings: Settings) -> None:
    """Naive ISO times (the fast path) are read in the file's zone and dated in the business
    zone, across a DST change, as the row path reads them; a time with an offset keeps it."""
    mapping = generic_mapping("activities", HEADER, field_names("activities"))
    reader = RowReader(
        "activities", mapping, HEADER, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
    )
    times = [
        "2026-03-08T01:59:59",
        "2026-03-08T03:00:00",
        "2026-11-01T01:30:00",
        "2026-11-20 22:15",
        "2026-11-20T23:45:00+01:00",
        "2026-11-20T10:00",
    ]
    rows = [[f"t{i}", "Ana Ruiz", "call", t, "", "", "", "", "", ""] for i, t in enumerate(times)]
    records = finish_activities(reader, rows, settings, NOW)
    assert records == [finish_activity(reader.read(row), settings, NOW) for row in rows]
    evening = records[3]
    assert evening is not None
    # 22:15 in New York on 20 November (UTC-5) is 03:15 UTC, noon on the 21st in Tokyo.
    assert evening["occurred_at"] == dt.datetime(2026, 11, 21, 3, 15)
    assert evening["local_date"] == dt.date(2026, 11, 21)
    offset = records[4]
    assert offset is not None and offset["occurred_at"] == dt.datetime(2026, 11, 20, 22, 45)


def test_fingerprints_in_a_key_zone_other_than_the_business_zone(settings: Settings) -> None:
    """After a change of `[calendar] timezone` the fingerprints are worked out in the key
    zone (`keyed_moment`): the column path gives the row path's records, whole column or
    cell by cell, and a date without a time hashes as the key zone's midnight of its date."""
    business, key_zone = settings.calendar.zone, ZoneInfo("Asia/Kolkata")
    mapping = generic_mapping("activities", HEADER, field_names("activities"))
    reader = RowReader("activities", mapping, HEADER, business, business, None, key_zone)
    times = ["2026-11-20T10:00:00", "2026-11-20T23:30:00", "2026-11-20T10:00:00+05:30"]
    rows = [["", "Ana Ruiz", "call", t, "", "", "", "", "", ""] for t in times]
    dated = [*rows[0][:3], "2026-11-20", *rows[0][4:]]
    for chunk in (rows, [*rows, dated]):
        records = finish_activities(reader, chunk, settings, NOW)
        assert records == [
            finish_activity(reader.read(row), settings, NOW, key_zone) for row in chunk
        ]
    in_kolkata = RowReader("activities", mapping, HEADER, key_zone, key_zone)
    kolkata = variant(
        settings, calendar={**settings.calendar.model_dump(), "timezone": "Asia/Kolkata"}
    )
    # A date, and a time without offset: read in each zone, other instants, one key each.
    here = finish_activities(reader, [dated, rows[0]], settings, NOW)
    there = finish_activities(in_kolkata, [dated, rows[0]], kolkata, NOW)
    for mine, theirs in zip(here, there, strict=True):
        assert mine is not None and theirs is not None
        assert mine["occurred_at"] != theirs["occurred_at"]
        assert mine["external_id"] == theirs["external_id"]


def test_equal_names_and_days_of_a_chunk_are_one_object_each(settings: Settings) -> None:
    # What the checking process sends the importer is pickled: one object per distinct
    # rep, account and day is one value on the pipe (the others refer to it), not one per row.
    records = finish_activities(_reader(settings, HEADER), GOOD, settings, NOW)
    a1, a2, a7 = records[0], records[1], records[6]
    assert a1 is not None and a2 is not None and a7 is not None
    assert a1["rep"] is a2["rep"] is a7["rep"]  # "Ana Ruiz", stripped in a2
    assert a1["account"] is a7["account"]
    assert a1["local_date"] is a7["local_date"]


def test_the_timestamps_fingerprint_texts_are_the_rows_own() -> None:
    """The texts the timestamps add to the fingerprints, made over the whole column, are
    what `repr` of each row's sorted pairs writes for them (written out here by hand); an
    empty value adds nothing."""
    column = [dt.datetime(2026, 11, 2, 9, 0), None, dt.datetime(2026, 11, 2, 9, 0, 5, 7)]
    assert _distinct_pieces("occurred_at", column) == [
        "('occurred_at', datetime.datetime(2026, 11, 2, 9, 0)), ",
        "",
        "('occurred_at', datetime.datetime(2026, 11, 2, 9, 0, 5, 7)), ",
    ]
    assert _distinct_pieces("rep", ["Ana"]) == ["('rep', 'Ana')]"]  # the last field closes


def test_a_chunk_of_usual_times_gives_the_records_of_the_row_path(settings: Settings) -> None:
    """Every time of the chunk an ISO time without offset: the column is read whole
    (`TimestampParser.column`), in a file zone other than the business zone, to the row
    path's records; one unusual time sends the column cell by cell, to the same records."""
    mapping = generic_mapping("activities", HEADER, field_names("activities"))
    reader = RowReader(
        "activities", mapping, HEADER, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
    )
    times = ["2026-03-08T01:59:59", "2026-03-08T03:00:00", "2026-11-20 22:15", "2026-11-20T10"]
    rows = [[f"t{i}", "Ana Ruiz", "call", t, "", "", "", "", "", ""] for i, t in enumerate(times)]
    for chunk in (rows, [*rows, [*rows[0][:3], "2026-11-20", *rows[0][4:]]]):
        records = finish_activities(reader, chunk, settings, NOW)
        assert records == [finish_activity(reader.read(row), settings, NOW) for row in chunk]
    evening = finish_activities(reader, rows, settings, NOW)[2]
    assert evening is not None  # 22:15 in New York (UTC-5): 03:15 UTC, noon on the 21st in Tokyo
    assert evening["occurred_at"] == dt.datetime(2026, 11, 21, 3, 15)
    assert evening["local_date"] == dt.date(2026, 11, 21)


def test_the_column_path_keeps_the_pinned_fingerprint(settings: Settings) -> None:
    """The golden fingerprint of tests/ingest/test_entities.py (15:00 UTC, 10:00 in New
    York), reached through the column path from a hand-written CSV row with no id: its
    hash and its content key stay what every earlier import stored."""
    mapping = generic_mapping("activities", HEADER, field_names("activities"))
    reader = RowReader("activities", mapping, HEADER, ZoneInfo("UTC"), ZoneInfo("America/New_York"))
    row = ["", "Ana Ruiz", "call", "2026-11-20T15:00:00", "5", "meeting_set", "yes", "", "Acme", ""]
    for rows in ([row], [row, [*row[:3], "2026-11-20T16:00:00", *row[4:]]]):
        record = finish_activities(reader, rows, settings, NOW)[0]
        assert record is not None
        assert record["row_hash"] == "584729677c4445d597d2e3e0816933f6"
        assert record["external_id"] == "h:584729677c4445d597d2e3e0816933f6"


def test_the_fingerprint_of_a_time_with_seconds_is_the_text_repr_writes(settings: Settings) -> None:
    """The column path writes a moment's fingerprint text from its hour and the time into
    it, not by `repr`: the text is still `repr`'s, written out here by hand (10:00:05.000007
    in New York on 20 November is 15:00:05.000007 UTC; 09:30 is 14:30, no seconds shown),
    so the hashes stay those every earlier import stored (an email without an outcome is
    not engaged; the empty duration adds nothing)."""
    zone = ZoneInfo("America/New_York")
    header = ["rep", "kind", "occurred_at"]
    mapping = generic_mapping("activities", header, field_names("activities"))
    reader = RowReader("activities", mapping, header, zone, zone)
    rows = [
        ["Ana Ruiz", "email", "2026-11-20T10:00:05.000007"],
        ["Ana Ruiz", "email", "2026-11-20T09:30"],
    ]
    texts = [
        "[('engaged', False), ('has_ask', False), ('kind', 'email'), "
        "('local_date', datetime.date(2026, 11, 20)), "
        "('occurred_at', datetime.datetime(2026, 11, 20, 15, 0, 5, 7)), ('rep', 'Ana Ruiz')]",
        "[('engaged', False), ('has_ask', False), ('kind', 'email'), "
        "('local_date', datetime.date(2026, 11, 20)), "
        "('occurred_at', datetime.datetime(2026, 11, 20, 14, 30)), ('rep', 'Ana Ruiz')]",
    ]
    records = finish_activities(reader, rows, settings, NOW)
    assert [r["row_hash"] if r else None for r in records] == [
        hashlib.blake2b(text.encode(), digest_size=16).hexdigest() for text in texts
    ]


@hypothesis.settings(max_examples=150, deadline=None)
@given(
    zones=st.sampled_from(
        [
            ("America/New_York", "America/New_York"),
            ("Asia/Kolkata", "Asia/Kolkata"),  # UTC+5:30: a UTC hour is not a local one
            ("Australia/Lord_Howe", "Australia/Lord_Howe"),  # a half-hour change of offset
            ("Europe/Berlin", "Asia/Tokyo"),
            ("UTC", "UTC"),
        ]
    ),
    moments=st.lists(
        st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 11, 30)),
        min_size=1,
        max_size=8,
    ),
)
def test_column_fingerprints_are_the_row_paths_whatever_the_times_and_zones(
    zones: tuple[str, str], moments: list[dt.datetime]
) -> None:
    """Times with seconds and microseconds or none, in zones whose offset to UTC is whole
    hours or not: the column path's records, fingerprints included, are the row path's."""
    settings = default_settings()
    header = ["rep", "kind", "occurred_at"]
    mapping = generic_mapping("activities", header, field_names("activities"))
    reader = RowReader("activities", mapping, header, ZoneInfo(zones[0]), ZoneInfo(zones[1]))
    rows = [["Ana Ruiz", "call", moment.isoformat()] for moment in moments]
    assert finish_activities(reader, rows, settings, NOW) == [
        _row_by_row(reader, row, settings) for row in rows
    ]


def test_the_texts_kept_from_chunk_to_chunk_stay_few(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays flat: notes (each up to a megabyte) are never kept past their chunk, and
    the kept texts of times into an hour are dropped past `PIECES_KEPT` (here 2), the
    records still the row path's."""
    monkeypatch.setattr(columns, "PIECES_KEPT", 2)
    monkeypatch.setattr(columns, "_INTO_TEXT", columns._IntoText())
    reader = _reader(settings, HEADER)
    rows = [
        [f"m{i}", "Ana Ruiz", "call", f"2026-11-20T10:00:00.00000{i}", "", "", "", "", "", f"n{i}"]
        for i in range(1, 8)
    ]
    for row in rows:
        assert finish_activities(reader, [row], settings, NOW) == [
            _row_by_row(reader, row, settings)
        ]
    assert len(columns._INTO_TEXT) <= 3
    assert "notes" not in columns._PIECES


@hypothesis.settings(max_examples=200, deadline=None)
@given(
    zones=st.sampled_from(
        [
            ("America/New_York", "Europe/Berlin"),
            ("Europe/Berlin", "America/New_York"),
            ("Asia/Kolkata", "America/New_York"),  # UTC+5:30: a key day not per UTC hour
            ("America/New_York", "Asia/Kolkata"),
            ("Australia/Lord_Howe", "Europe/Berlin"),  # a half-hour change of offset
            ("Europe/Berlin", "Australia/Lord_Howe"),
            ("UTC", "Pacific/Kiritimati"),  # UTC+14: the key day is often the next one
        ]
    ),
    moments=st.lists(
        st.one_of(
            st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 11, 30)),
            # On the hour, at midnight, around the changes of offset: the awkward ones.
            st.builds(
                dt.datetime,
                st.just(2026),
                st.sampled_from([3, 4, 10, 11]),
                st.integers(1, 30),
                st.sampled_from([0, 1, 2, 3, 23]),
                st.sampled_from([0, 30, 59]),
            ),
        ),
        min_size=1,
        max_size=8,
    ),
    with_ids=st.booleans(),
)
def test_column_keys_after_a_change_of_zone_are_the_row_paths(
    zones: tuple[str, str], moments: list[dt.datetime], with_ids: bool
) -> None:
    """After a change of `[calendar] timezone` (the calendar's zone, then the database's
    first, the key zone), a column read whole gives its fingerprints and the keys of rows
    without ids from its hours (`_keyed_days`, `_wall_moments`), not row by row: the
    records, fingerprints and keys included, are the row path's, whatever the times."""
    settings = in_zone(default_settings(), zones[0])
    header = ["external_id", "rep", "kind", "occurred_at"]
    business, key_zone = ZoneInfo(zones[0]), ZoneInfo(zones[1])
    mapping = generic_mapping("activities", header, field_names("activities"))
    reader = RowReader("activities", mapping, header, business, business, None, key_zone)
    rows = [
        [f"a{at}" if with_ids else "", "Ana Ruiz", "call", moment.isoformat()]
        for at, moment in enumerate(moments)
    ]
    assert finish_activities(reader, rows, settings, NOW) == [
        _keyed_row(reader, row, settings, key_zone) for row in rows
    ]


def _keyed_row(reader: RowReader, row: list[str], settings: Settings, key_zone: ZoneInfo) -> object:
    try:
        return finish_activity(reader.read(row), settings, NOW, key_zone)
    except FieldError as exc:
        return exc


def test_a_usual_column_after_a_change_of_zone_is_keyed_per_hour(settings: Settings) -> None:
    """Calls on the hour and between, in New York, keyed in Berlin: neither `keyed_moment`
    nor `wall_to_utc` is called row by row (they were, for every row: a re-import after a
    change of zone cost a quarter more CPU), and the records are the row path's."""
    assert settings.calendar.zone.key == "America/New_York"
    header = ["rep", "kind", "occurred_at"]
    business, key_zone = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
    mapping = generic_mapping("activities", header, field_names("activities"))
    reader = RowReader("activities", mapping, header, business, business, None, key_zone)
    rows = [
        ["Ana Ruiz", "call", f"2026-11-{day:02}T{hour:02}:{minute:02}:00"]
        for day in (16, 17)
        for hour in (9, 13, 20, 23)
        for minute in (0, 7, 45)
    ]
    expected = [_keyed_row(reader, row, settings, key_zone) for row in rows]
    calls: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for name in ("keyed_moment", "wall_to_utc"):
            real = getattr(columns, name)
            patch.setattr(columns, name, _counted(real, name, calls))
        assert finish_activities(reader, rows, settings, NOW) == expected
    assert calls == []


def _counted(real: Any, name: str, calls: list[str]) -> Any:
    def call(*args: Any) -> Any:
        calls.append(name)
        return real(*args)

    return call


def test_durations_are_parsed_and_checked_once_per_import_not_per_chunk(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three chunks of one import naming the durations "5", "7" and "-1" (refused): each
    text is parsed once and each value checked once for the import (3 and 3 calls, not 9
    and 9), the refused one refused in every chunk, and the records the row path's."""
    parsed: list[str] = []
    checked: list[object] = []
    real_parse, real_check = entities.parse_float, columns._duration

    def parse(raw: str) -> float:
        parsed.append(raw)
        return real_parse(raw)

    def check(value: object, settings: Settings) -> object:
        checked.append(value)
        return real_check(value, settings)

    monkeypatch.setattr(entities, "parse_float", parse)  # the reader's parser, made below
    monkeypatch.setattr(columns, "_duration", check)
    reader = _reader(settings, HEADER)
    chunk = [[*GOOD[0][:4], minutes, *GOOD[0][5:]] for minutes in ("5", "7", "-1", "5")]
    chunks = [[[f"d{n}{i}", *row[1:]] for i, row in enumerate(chunk)] for n in range(3)]
    records = [finish_activities(reader, rows, settings, NOW) for rows in chunks]
    assert sorted(parsed) == ["-1", "5", "7"]
    assert sorted(map(float, checked)) == [-1.0, 5.0, 7.0]  # type: ignore[arg-type]
    for rows, made in zip(chunks, records, strict=True):
        assert made[2] is None
        assert [made[0], made[1], made[3]] == [
            _row_by_row(reader, rows[i], settings) for i in (0, 1, 3)
        ]


def test_the_durations_kept_for_an_import_are_started_again_past_pieces_kept(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays flat in a file of distinct durations: past `PIECES_KEPT` (here 2) the
    memos start again, and the records are still the row path's."""
    monkeypatch.setattr(columns, "PIECES_KEPT", 2)
    monkeypatch.setattr(entities, "PARSED_KEPT", 2)
    reader = _reader(settings, HEADER)
    for minutes in range(1, 9):
        row = [f"e{minutes}", *GOOD[0][1:4], str(minutes), *GOOD[0][5:]]
        assert finish_activities(reader, [row], settings, NOW) == [
            _row_by_row(reader, row, settings)
        ]
        rules = columns._rules(reader, settings)
        assert max(len(rules.durations), len(rules.duration_texts)) <= 3
        assert all(len(memo) <= 5 for memo in reader._memos.values())  # with "" and None
