"""Value parsers: money, booleans, dates, and the fast local->UTC conversion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paceline.ingest.fields import (
    CurrencyCheck,
    FieldError,
    Moments,
    local_to_utc,
    make_date_parser,
    make_money_parser,
    make_timestamp_parser,
    parse_bool,
    parse_float,
    split_money,
    utc_to_local,
)

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]


def _pairs(moments: Moments | None) -> list[tuple[dt.datetime, dt.datetime]] | None:
    """A column read whole as (UTC, local) for each cell, as a cell's parse gives them."""
    return None if moments is None else moments.pairs()


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    moment=st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2030, 12, 31)),
)
def test_cached_conversion_equals_zoneinfo(zone: str, moment: dt.datetime) -> None:
    tz = ZoneInfo(zone)
    expected = moment.replace(tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)
    convert = local_to_utc(tz)
    assert convert(moment) == expected
    assert convert(moment) == expected  # and again from the cache


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    moment=st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2030, 12, 31)),
)
def test_cached_utc_to_local_equals_zoneinfo(zone: str, moment: dt.datetime) -> None:
    tz = ZoneInfo(zone)
    expected = moment.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)
    convert = utc_to_local(tz)
    assert convert(moment) == expected
    assert convert(moment) == expected


def test_business_day_is_taken_in_the_business_zone() -> None:
    parse = make_timestamp_parser([], ZoneInfo("UTC"), ZoneInfo("America/New_York"))
    # 00:03 UTC on the 23rd is 20:03 EDT on the 22nd: it counts on the 22nd.
    assert parse("2021-03-23 00:03:00") == (
        dt.datetime(2021, 3, 23, 0, 3),
        dt.datetime(2021, 3, 22, 20, 3),
    )
    assert parse("2021-03-23T09:00:00+09:00")[1] == dt.datetime(2021, 3, 22, 20, 0)


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # New York, spring forward 2026-03-08 02:00 -> 03:00; the gap hour reads as EST (fold 0).
        (dt.datetime(2026, 3, 8, 1, 59), dt.datetime(2026, 3, 8, 6, 59)),
        (dt.datetime(2026, 3, 8, 2, 30), dt.datetime(2026, 3, 8, 7, 30)),
        (dt.datetime(2026, 3, 8, 3, 0), dt.datetime(2026, 3, 8, 7, 0)),
        # Fall back 2026-11-01 02:00 -> 01:00; the repeated hour reads as EDT (fold 0).
        (dt.datetime(2026, 11, 1, 1, 30), dt.datetime(2026, 11, 1, 5, 30)),
        (dt.datetime(2026, 11, 1, 2, 0), dt.datetime(2026, 11, 1, 7, 0)),
    ],
)
def test_dst_edges_in_new_york(local: dt.datetime, utc: dt.datetime) -> None:
    assert local_to_utc(ZoneInfo("America/New_York"))(local) == utc


def test_timestamps_with_offsets_and_formats() -> None:
    parse = make_timestamp_parser(["%d %b, %Y %H:%M:%S"], ZoneInfo("America/New_York"))
    assert parse("2026-11-20T22:30:00-05:00") == (
        dt.datetime(2026, 11, 21, 3, 30),
        dt.datetime(2026, 11, 20, 22, 30),
    )
    assert parse("2026-11-20T15:00:00Z")[1] == dt.datetime(2026, 11, 20, 10, 0)
    assert parse("15 Apr, 2021 00:02:00")[0] == dt.datetime(2021, 4, 15, 4, 2)
    with pytest.raises(FieldError, match="tried ISO 8601, %d %b, %Y %H:%M:%S"):
        parse("tomorrow")


def test_dates() -> None:
    parse = make_date_parser(["%d/%m/%Y"])
    assert parse("2026-11-20") == parse("20/11/2026") == dt.date(2026, 11, 20)
    assert parse("2026-11-20 10:00:00") == dt.date(2026, 11, 20)
    with pytest.raises(FieldError):
        parse("31/02/2026")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("$22,700.00", Decimal("22700.00")),
        ("22700", Decimal(22700)),
        ("$342.09K", Decimal("342090.00")),
        ("$1.5M", Decimal("1500000.0")),
        ("(150.00)", Decimal("-150.00")),
        ("€ 99", Decimal(99)),
    ],
)
def test_money(raw: str, value: Decimal) -> None:
    assert split_money(raw)[0] == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1 117,10", Decimal("1117.10")),  # French: space groups, comma decimal
        ("1\u202f117,10 €", Decimal("1117.10")),  # the narrow no-break space Excel writes
        ("1.234,56", Decimal("1234.56")),  # German: dot groups, comma decimal
        ("12.345.678,9", Decimal("12345678.9")),
        ("12,5", Decimal("12.5")),
        ("0,99", Decimal("0.99")),
        ("1,234", Decimal(1234)),  # three digits after one comma: a thousands separator
        ("1,234,567", Decimal(1234567)),
        ("1,23,456", Decimal(123456)),  # Indian grouping
        ("22,700.00", Decimal("22700.00")),
        ("$1,500K", Decimal(1500000)),  # the suffix is not a digit after the comma
        ("1,5k", Decimal(1500)),
    ],
)
def test_money_with_a_decimal_comma(raw: str, value: Decimal) -> None:
    """European exports write "1.234,56" and "1 117,10": the comma is the decimal mark.
    Reading every comma as a thousands separator made them 1.23456 and 111710, a hundred
    times off or a thousand times off, without a word."""
    assert split_money(raw)[0] == value


@pytest.mark.parametrize(("raw", "value"), [("0,5", 0.5), ("1,5", 1.5), ("1,500", 1500.0)])
def test_numbers_with_a_decimal_comma(raw: str, value: float) -> None:
    """A capacity of "0,5" is half a quota, not five quotas; "1,500" is fifteen hundred."""
    assert parse_float(raw) == value


@pytest.mark.parametrize("raw", ["", "abc", "$", "NaN", "1,2,3.4.5", "1.234,5,6", "1,234.5.6"])
def test_bad_money(raw: str) -> None:
    with pytest.raises(FieldError, match="not an amount of money"):
        split_money(raw)[0]


@pytest.mark.parametrize(
    ("raw", "value", "marker"),
    [
        ("$1,000.00", Decimal("1000.00"), "$"),
        ("1.000,00 €", Decimal("1000.00"), "€"),
        ("¥100,000", Decimal(100000), "¥"),
        ("USD 1,000", Decimal(1000), "USD"),
        ("1 117,10 EUR", Decimal("1117.10"), "EUR"),
        ("1000eur", Decimal(1000), "EUR"),
        ("JPY100000", Decimal(100000), "JPY"),
        ("(€150.00)", Decimal("-150.00"), "€"),
        ("-$100", Decimal(-100), "$"),
        ("USD-100", Decimal(-100), "USD"),
        ("100kEUR", Decimal(100000), "EUR"),
        ("$100 USD", Decimal(100), "USD"),  # the symbol and the code agree
        ("22700", Decimal(22700), None),
        ("1,5k", Decimal(1500), None),
    ],
)
def test_money_keeps_its_currency_marker(raw: str, value: Decimal, marker: str | None) -> None:
    """The marker was dropped as junk, so "1.000,00 €" and "¥100,000" added up with dollars."""
    assert split_money(raw) == (value, marker)


@pytest.mark.parametrize("raw", ["€100 USD", "$5 €", "£1 EUR"])
def test_an_amount_in_two_currencies_is_refused(raw: str) -> None:
    with pytest.raises(FieldError, match="an amount in two currencies"):
        split_money(raw)


@pytest.mark.parametrize("raw", ["EUR", "100 XYZ", "Euro 100"])
def test_letters_that_name_no_currency_are_no_money(raw: str) -> None:
    with pytest.raises(FieldError, match="not an amount of money"):
        split_money(raw)


def test_a_configured_currency_refuses_any_other() -> None:
    parse = make_money_parser(CurrencyCheck("USD"))
    assert parse("$1,000.00") == Decimal("1000.00") and parse("750") == Decimal(750)
    assert parse("USD 5") == Decimal(5)
    with pytest.raises(FieldError) as refused:
        parse("1.000,00 €")
    assert refused.value.reason == (
        "amount is in EUR, the configuration counts money in USD ([money] currency); "
        "amounts are never converted"
    )
    for other in ("¥100,000", "GBP 3", "CAD 4"):
        with pytest.raises(FieldError, match="the configuration counts money in USD"):
            parse(other)


def test_a_dollar_sign_fits_any_dollar_but_no_mix_of_them() -> None:
    """ "$" is the Canadian dollar in a Canadian team's file; after "CAD", "USD" is a mix."""
    assert make_money_parser(CurrencyCheck("CAD"))("$12") == Decimal(12)
    check = CurrencyCheck(None)
    parse = make_money_parser(check)
    assert parse("$1") == Decimal(1) and parse("CAD 2") == Decimal(2) and parse("$3") == 3
    with pytest.raises(FieldError) as refused:
        parse("USD 4")
    assert refused.value.reason.startswith(
        "amount is in USD, but this import's first amounts are in CAD: amounts in different "
        "currencies cannot be added"
    )


def test_without_a_configured_currency_a_refusal_is_repeated_not_forgotten() -> None:
    """Whatever order a file's values are read in, a refused text stays refused and an
    accepted one accepted (the column-wise reader parses each distinct text once)."""
    check = CurrencyCheck(None)
    parse = make_money_parser(check)
    assert parse("10") == 10 and parse("EUR 1") == 1
    for _ in range(2):
        with pytest.raises(FieldError):
            parse("£1")
        assert parse("1 €") == 1
    assert check.parse_code(" eur ") == "EUR"
    with pytest.raises(FieldError, match="currency is GBP, but"):
        check.parse_code("GBP")


def test_booleans() -> None:
    assert [parse_bool(v) for v in ("yes", "Y", "1", "TRUE", "x")] == [True] * 5
    assert [parse_bool(v) for v in ("no", "N", "0", "false")] == [False] * 4
    with pytest.raises(FieldError, match="not a yes/no value"):
        parse_bool("maybe")


def test_values_without_a_time_are_calendar_dates_in_the_business_zone() -> None:
    """A file in UTC, a calendar in New York: "03/01/2017" is 1 March in New York (05:00
    UTC), not UTC midnight (28 February, 19:00 in New York)."""
    utc, new_york = ZoneInfo("UTC"), ZoneInfo("America/New_York")
    parse = make_timestamp_parser(["%m/%d/%Y", "%m/%d/%Y %H:%M"], utc, new_york)
    march_first = (dt.datetime(2017, 3, 1, 5, 0), dt.datetime(2017, 3, 1))
    assert parse("2017-03-01") == march_first
    assert parse("03/01/2017") == march_first
    # With a time, the value is an instant in the file's zone, as before.
    assert parse("03/01/2017 02:00") == (
        dt.datetime(2017, 3, 1, 2, 0),
        dt.datetime(2017, 2, 28, 21, 0),
    )
    dates_only = make_timestamp_parser(["%d %b, %Y %H:%M:%S"], utc, new_york, date_only=True)
    assert dates_only("01 Mar, 2017 00:03:00") == march_first


@pytest.mark.parametrize("raw", ["9999-12-31T23:30:00", "0201-03-02T10:00:00", "1899-12-31"])
def test_years_outside_the_plausible_range_are_refused(raw: str) -> None:
    parse = make_timestamp_parser([], ZoneInfo("America/New_York"))
    with pytest.raises(FieldError, match="year out of range"):
        parse(raw)


def test_a_date_only_value_with_an_offset_is_the_day_it_falls_on_locally() -> None:
    """Calendar dates stay on their day; an instant with an explicit offset lands on the
    business zone's day (Berlin is UTC+2 on March 31, 2026; Tokyo +9; New York -4)."""
    berlin = make_timestamp_parser([], ZoneInfo("UTC"), ZoneInfo("Europe/Berlin"), True)
    assert berlin("2026-03-31T23:30:00Z")[1] == dt.datetime(2026, 4, 1)
    assert berlin("2026-03-31T23:30:00.000+00:00")[1] == dt.datetime(2026, 4, 1)
    assert berlin("2026-03-31T21:59:59Z")[1] == dt.datetime(2026, 3, 31)
    assert berlin("2026-03-31")[1] == dt.datetime(2026, 3, 31)
    assert berlin("2026-03-31 23:30:00")[1] == dt.datetime(2026, 3, 31)  # no offset: as written
    assert berlin("2026-03-31T00:00:00Z")[1] == dt.datetime(2026, 3, 31)  # a picked date
    new_york = make_timestamp_parser([], ZoneInfo("UTC"), ZoneInfo("America/New_York"), True)
    assert new_york("2026-04-01T02:00:00Z")[1] == dt.datetime(2026, 3, 31)
    assert new_york("2026-03-31T00:00:00Z")[1] == dt.datetime(2026, 3, 31)
    tokyo = make_date_parser([], ZoneInfo("Asia/Tokyo"))
    assert tokyo("2026-03-31T15:00:00Z") == dt.date(2026, 4, 1)
    assert tokyo("2026-03-31T14:59:00Z") == dt.date(2026, 3, 31)
    assert tokyo("2026-03-31") == dt.date(2026, 3, 31)
    assert make_date_parser([])("2026-03-31T23:30:00Z") == dt.date(2026, 3, 31)  # no zone


@pytest.mark.parametrize("raw", ["1.234 EUR", "€1.234", "12.500", "-4.500 EUR"])
def test_an_amount_whose_dot_may_group_thousands_is_refused_not_read_as_decimals(
    raw: str,
) -> None:
    """ "1.234 EUR" (a European 1,234) was read as 1.234 and stored as 1.23 euros."""
    with pytest.raises(FieldError, match="an ambiguous amount"):
        split_money(raw)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.234.567 EUR", Decimal(1234567)),
        ("(1.234.567)", Decimal(-1234567)),
        ("1.234,00 EUR", Decimal("1234.00")),
        ("0.125", Decimal("0.125")),
        ("1.234K", Decimal(1234)),
        ("1.23", Decimal("1.23")),
    ],
)
def test_amounts_whose_dots_are_unambiguous_read_as_before_or_grouped(
    raw: str, value: Decimal
) -> None:
    assert split_money(raw)[0] == value


def test_a_usual_timestamp_column_is_read_whole() -> None:
    """`column` reads a column of ISO times without offset in one go, to the values `parse`
    gives cell by cell (worked out by hand: Berlin is UTC+1 in November and UTC+2 in July,
    New York UTC-5 and UTC-4), blanks around a cell stripped. Berlin's spring-forward
    hour (no such time: read at the offset before it, as `parse` reads it) too."""
    parse = make_timestamp_parser([], ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"))
    cells = ["2026-11-20T10:00:00", " 2026-07-01T23:30:00 ", "20261120T10", "2026-11-20 10:00"]
    expected = [
        (dt.datetime(2026, 11, 20, 9, 0), dt.datetime(2026, 11, 20, 4, 0)),
        (dt.datetime(2026, 7, 1, 21, 30), dt.datetime(2026, 7, 1, 17, 30)),
        (dt.datetime(2026, 11, 20, 9, 0), dt.datetime(2026, 11, 20, 4, 0)),
        (dt.datetime(2026, 11, 20, 9, 0), dt.datetime(2026, 11, 20, 4, 0)),
    ]
    assert _pairs(parse.column(cells)) == expected
    assert [parse(cell) for cell in cells] == expected
    same_zone = make_timestamp_parser([], ZoneInfo("Europe/Berlin"))
    assert _pairs(same_zone.column(["2026-07-01T23:30:00", "2026-03-29T02:30:00"])) == [
        (dt.datetime(2026, 7, 1, 21, 30), dt.datetime(2026, 7, 1, 23, 30)),
        (dt.datetime(2026, 3, 29, 1, 30), dt.datetime(2026, 3, 29, 2, 30)),
    ]


@pytest.mark.parametrize(
    "odd",
    [
        "2026-11-20",  # a date alone: a calendar day in the business zone
        "2026-11-20T10:00:00+01:00",  # an offset
        "20261120T103000",  # its first 13 characters are not its hour
        "1899-12-31T10:00:00",  # a year out of range: refused by `parse`
        "20/11/2026 10:00",  # not ISO: the mapping's formats
        "",  # no value
        "2026-11-20T25:00:00",  # not a time
    ],
)
def test_a_timestamp_column_with_an_unusual_cell_is_left_to_the_cells(odd: str) -> None:
    parse = make_timestamp_parser(["%d/%m/%Y %H:%M"], ZoneInfo("Europe/Berlin"))
    assert parse.column(["2026-11-20T10:00:00", odd]) is None
    assert parse.column(["2026-11-20T10:00:00"]) is not None
    dates_only = make_timestamp_parser([], ZoneInfo("Europe/Berlin"), date_only=True)
    assert dates_only.column(["2026-11-20T10:00:00"]) is None


def test_an_hour_in_which_the_offset_changes_is_left_to_the_cells() -> None:
    """Lord Howe Island moves from UTC+10:30 to UTC+11 at 02:00 on 4 October 2026 (to
    02:30): that hour's times are converted one by one, exactly; so are times written in a
    zone off by a half hour (Kolkata, UTC+5:30), whose UTC hours are not whole. Dated in
    Kolkata, times written in UTC are read whole."""
    lord_howe = make_timestamp_parser([], ZoneInfo("Australia/Lord_Howe"))
    assert lord_howe.column(["2026-10-04T02:45:00"]) is None
    assert lord_howe("2026-10-04T02:45:00")[0] == dt.datetime(2026, 10, 3, 15, 45)
    assert _pairs(lord_howe.column(["2026-10-04T03:45:00"])) == [
        (dt.datetime(2026, 10, 3, 16, 45), dt.datetime(2026, 10, 4, 3, 45))
    ]
    written_in_kolkata = make_timestamp_parser([], ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC"))
    assert written_in_kolkata.column(["2026-11-20T10:00:00"]) is None
    assert written_in_kolkata("2026-11-20T10:00:00")[0] == dt.datetime(2026, 11, 20, 4, 30)
    dated_in_kolkata = make_timestamp_parser([], ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata"))
    assert _pairs(dated_in_kolkata.column(["2026-11-20T10:00:00"])) == [
        (dt.datetime(2026, 11, 20, 10, 0), dt.datetime(2026, 11, 20, 15, 30))
    ]


@settings(max_examples=300, deadline=None)
@given(
    file_zone=st.sampled_from(ZONES),
    business_zone=st.sampled_from(ZONES),
    moments=st.lists(
        st.datetimes(min_value=dt.datetime(1899, 12, 30), max_value=dt.datetime(2200, 12, 31)),
        min_size=1,
        max_size=6,
    ),
)
def test_a_column_read_whole_is_what_parse_reads_cell_by_cell(
    file_zone: str, business_zone: str, moments: list[dt.datetime]
) -> None:
    """Whatever the zones and the moments (a change of offset, the ends of the years
    allowed): `column` gives the values `parse` gives each cell, or leaves the column to it.
    A column of 1899 or 2200 times is refused by `parse` (a year out of range) and so
    never read whole."""
    parse = make_timestamp_parser([], ZoneInfo(file_zone), ZoneInfo(business_zone))
    cells = [moment.isoformat() for moment in moments]
    read = parse.column(cells)
    if read is not None:
        whole = read.pairs()
        assert whole == [parse(cell) for cell in cells]
        assert all(utc.year >= 1900 and local.year <= 2200 for utc, local in whole)


def test_a_date_serial_is_refused_and_said_to_be_one() -> None:
    """A five-digit number in a date column is a spreadsheet's date serial shown as General
    (day 0 is 1899-12-30: 46331 is 2026-11-05, .5 is noon): refused, not guessed, but the
    reason says what it would be and how to fix it. Other text gets no such hint."""
    parse = make_timestamp_parser([], ZoneInfo("America/New_York"))
    with pytest.raises(FieldError) as serial:
        parse("46331.5")
    assert str(serial.value) == (
        "not a date and time: '46331.5' (tried ISO 8601); a spreadsheet's date serial? 46331.5"
        " would be 2026-11-05 12:00: format the column as a date (or write the dates out) and"
        " import again"
    )
    for raw in ("1731000000", "4633", "11/04/2026 14:00"):
        with pytest.raises(FieldError) as other:
            parse(raw)
        assert "serial" not in str(other.value), raw
