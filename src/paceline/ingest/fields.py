"""Parsers for the values found in CSV files: timestamps, dates, money, numbers, booleans.

Each parser takes the raw text and returns a value or raises `FieldError` with a reason a
person can act on ("not a date: '31/02/2021'"). They are built once per import (formats,
time zone) and then called per cell, so they avoid work that does not depend on the cell.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

Parser = Callable[[str], object]

TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "x"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n"})
# What groups digits in an amount and is dropped: spaces (any, Excel's no-break ones too), "_".
_MONEY_SPACES = re.compile(r"[\s_]")
# "1.234,56" (dots group the thousands, the comma is the decimal mark), as Europe writes it.
_DOT_GROUPED_DECIMAL_COMMA = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})*,\d+")
_MONEY_SUFFIX = {"k": Decimal(1_000), "m": Decimal(1_000_000)}


class FieldError(ValueError):
    """A value that cannot be used, with the field it belongs to (filled in by the caller)."""

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def parse_text(raw: str) -> str:
    if "\x00" in raw:
        raise FieldError("contains a NUL byte (\\x00), which no text column can store")
    return raw.strip()


def make_text_parser(max_length: int) -> Callable[[str], str]:
    """Text of at most `max_length` characters: what the column can hold (a 10 MB field
    once reached the database and aborted the import there)."""

    def parse(raw: str) -> str:
        text = raw.strip()
        if len(text) > max_length:
            raise FieldError(f"too long: {len(text):,} characters (at most {max_length:,})")
        return parse_text(text) if "\x00" in text else text

    return parse


def parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise FieldError(f"not a yes/no value: {raw!r}")


def _without_commas(text: str) -> str:
    """`text` with its commas read: as the decimal mark or as thousands separators.

    A comma is the decimal mark when a dot comes before it ("1.234,56") or when it is the
    only comma and is not followed by exactly three digits ("12,5", "1117,10"); otherwise
    commas group digits ("22,700.00", "1,234", "1,23,456"). Reading every comma as a
    separator made "1.234,56" 1.23456 and "1 117,10" 111710, silently.
    """
    if "," not in text:
        return text
    comma = text.rfind(",")
    if "." in text[:comma]:
        # Dots group and the comma is decimal; any other mix ("1.2,3,4") is not a number.
        return (
            text.replace(".", "").replace(",", ".")
            if _DOT_GROUPED_DECIMAL_COMMA.fullmatch(text)
            else "?"
        )
    if text.count(",") == 1 and "." not in text and len(text) - comma - 1 != 3:
        return text.replace(",", ".")
    return text.replace(",", "")


def parse_float(raw: str) -> float:
    try:
        value = float(_without_commas(raw.strip()))
    except ValueError:
        raise FieldError(f"not a number: {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise FieldError(f"not a finite number: {raw!r}")
    return value


def split_money(raw: str) -> tuple[Decimal, str | None]:
    """Money as exported by CRMs ("$22,700.00", "1 117,10", "1.234,56 €", "USD 342.09K",
    "(150.00)"): its number and its currency marker (a symbol such as "$", or an ISO 4217
    code such as "EUR", leading or trailing), None when it has none."""
    text = raw.strip()
    negative = text.startswith("(") and text.endswith(")")
    text = _MONEY_SPACES.sub("", text.strip("()"))
    marker = None
    if not (text[:1].isdigit() and text[-1:].isdigit()):  # "22700.00" carries no marker
        text, marker = _unmarked(text, raw)
    scale = _MONEY_SUFFIX.get(text[-1:].lower()) if text else None
    if scale is not None:
        text = text[:-1]
    elif _DOT_GROUPED.fullmatch(text):
        text = _dot_grouped(text, raw)
    try:
        value = Decimal(_without_commas(text))
    except InvalidOperation:
        raise FieldError(f"not an amount of money: {raw!r}") from None
    if not value.is_finite():
        raise FieldError(f"not an amount of money: {raw!r}")
    value = value * scale if scale is not None else value
    return (-value if negative else value), marker


def _dot_grouped(text: str, raw: str) -> str:
    """An amount whose dots may group thousands and which has no comma: "1.234.567" is
    1234567 (dots group, as Europe writes it); "1.234" is refused, since a dot before
    three digits is as likely to group thousands (1,234 euros) as to mark decimals, and it
    was read as 1.234, stored as 1.23, a thousand times too little."""
    if text.count(".") > 1:
        return text.replace(".", "")
    raise FieldError(
        f"an ambiguous amount: {raw!r} (a dot before three digits groups thousands in "
        "some countries and marks decimals in others): write it as 1234, 1.234,00 or "
        "1,234.00"
    )


# "1.234" or "1.234.567": a whole number whose dots sit where thousands separators do.
_DOT_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")


def _unmarked(text: str, raw: str) -> tuple[str, str | None]:
    """`text` without its currency symbol and code, and the currency they name."""
    if text[:1] in CURRENCY_SYMBOLS and not _SYMBOL.search(text, 1):  # "$22,700.00"
        symbols = {text[0]}
        text = text[1:]
    else:
        symbols = set(_SYMBOL.findall(text))
        text = _SYMBOL.sub("", text) if symbols else text
    sign = text[:1] if text[:1] in ("+", "-") else ""
    text = text[len(sign) :]
    code = None
    head, tail = text[:3], text[-3:]
    if head.isalpha() and head.upper() in ISO_CURRENCIES:
        code, text = head.upper(), text[3:]
    elif tail.isalpha() and tail.upper() in ISO_CURRENCIES:
        code, text = tail.upper(), text[:-3]
    symbol = min(symbols) if symbols else None
    if len(symbols) > 1 or (code and symbol and code not in CURRENCY_SYMBOLS[symbol]):
        named = sorted(symbols | ({code} if code else set()))
        raise FieldError(f"an amount in two currencies: {raw!r} ({', '.join(named)})")
    return sign + text, code or symbol


# Currency symbols and the ISO 4217 codes each may stand for: "$" is the dollar of many
# countries, "¥" the yen and the yuan. A symbol matches a configured currency among them.
CURRENCY_SYMBOLS: dict[str, frozenset[str]] = {
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
}
_SYMBOL = re.compile(r"[$€£¥]")
# ISO 4217 codes in use: three letters before or after an amount that are one of these name
# its currency; other letters leave it "not an amount of money", as before.
_ISO_CODES = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD "
    "BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE "
    "CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF "
    "GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS "
    "KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD "
    "MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR "
    "PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK "
    "SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD "
    "TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR "
    "ZMW ZWL"
)
ISO_CURRENCIES = frozenset(_ISO_CODES.split())


def currency_codes(marker: str) -> frozenset[str]:
    """The ISO codes a marker may stand for: a symbol's, or the code itself."""
    return CURRENCY_SYMBOLS.get(marker) or frozenset({marker})


def _name(marker: str) -> str:
    """A marker as the error says it: "€" is EUR, "$" stays "$" (which dollar is unknown)."""
    return currency_name(currency_codes(marker), marker)


Claim = Callable[[str, "str | None"], str]


def currency_name(codes: frozenset[str], marker: str) -> str:
    """How a set of possible codes is recorded and said: its code once only one is left,
    else the marker that allows them all ("$")."""
    return next(iter(codes)) if len(codes) == 1 else marker


class CurrencyCheck:
    """Refuses money in another currency than the import counts in: the configured one
    (`[money] currency`), else the one the database's amounts are in (`stored`, recorded by
    earlier imports), else the currency of the first marked amount or currency code of
    the import. Amounts in different currencies cannot be added, and converting them would
    need a rate nobody gave; a silent sum of dollars, euros and yen is a wrong number.

    `claim(currency, instead_of)` records the currency counted in as soon as a marked amount
    fixes or narrows it (before its row is written), and returns what the database records
    then: another import may have recorded another meanwhile, which then counts.

    What it has accepted only ever narrows ("$" then "CAD" is Canadian dollars), so a value
    refused once is refused again and one accepted stays accepted: a parser that checks
    with it still depends on the cell's text alone, as `entities.RowReader.read_columns`
    expects."""

    def __init__(
        self,
        configured: str | None = None,
        stored: str | None = None,
        claim: Claim | None = None,
        unrecorded_amounts: bool = False,
    ) -> None:
        self.configured = configured
        self.stored = stored  # what the database records, as far as this import knows
        self.claim = claim
        # The database holds amounts whose currency nobody recorded (imported before
        # migration 0016, or unmarked): a marked amount cannot tell which currency they are
        # in, so it is refused rather than recorded as theirs.
        self.unrecorded_amounts = unrecorded_amounts and not configured and stored is None
        self.inherited = stored is not None  # counting in what earlier imports recorded
        start = configured or stored
        self.possible: frozenset[str] | None = currency_codes(start) if start else None
        self.first: str | None = start
        self.accepted: set[str] = set()  # markers accepted (narrowing never refuses them)

    def check(self, marker: str, what: str) -> None:
        """Accept `marker` (a symbol or code) for `what` ("amount is in ...") or refuse it."""
        if marker in self.accepted:  # the usual case: the file's currency, again
            return
        codes = currency_codes(marker)
        narrowed = codes if self.possible is None else codes & self.possible
        if self.unrecorded_amounts:
            raise FieldError(
                f"{what} {_name(marker)}, but the database already holds amounts whose currency"
                " was never recorded (imported before Paceline recorded currencies, or without"
                " a currency mark): set [money] currency in paceline.toml to the currency they"
                " are in, then import again; amounts are never converted"
            )
        if not narrowed:
            raise FieldError(self._refusal(marker, what))
        if narrowed != self.possible and self.claim is not None:
            name = currency_name(narrowed, marker)
            recorded = self.claim(name, self.stored)
            if recorded != name:  # another import recorded its currency first: it counts
                self.stored = self.first = recorded
                self.inherited = True
                held = currency_codes(recorded)
                self.possible = held if self.possible is None else self.possible & held
                self.check(marker, what)
                return
            self.stored = name
        if self.possible is None:
            self.first = marker
        self.possible = narrowed
        self.accepted.add(marker)

    def _refusal(self, marker: str, what: str) -> str:
        named = _name(marker)
        if self.configured:
            return (
                f"{what} {named}, the configuration counts money in {self.configured} "
                "([money] currency); amounts are never converted"
            )
        if self.inherited:
            return (
                f"{what} {named}, but the amounts already imported are in {self._counted()}: "
                "amounts in different currencies cannot be added, and are never converted"
            )
        return (
            f"{what} {named}, but this import's first amounts are in {self._counted()}: amounts "
            "in different currencies cannot be added (set [money] currency to the one to count)"
        )

    def _counted(self) -> str:
        """The currency accepted so far: its code once only one is possible."""
        return currency_name(self.possible or frozenset(), _name(self.first or ""))

    def parse_code(self, raw: str) -> str:
        """A currency column's code ("EUR"), checked."""
        code = raw.strip().upper()
        if code:
            self.check(code, "currency is")
        return code


def make_money_parser(check: CurrencyCheck) -> Callable[[str], Decimal]:
    """Money whose currency marker, if any, `check` accepts; an unmarked amount is taken to
    be in the currency the import counts in."""

    def parse(raw: str) -> Decimal:
        value, marker = split_money(raw)
        if marker is not None:
            check.check(marker, "amount is in")
        return value

    return parse


def make_date_parser(
    formats: Sequence[str], zone: ZoneInfo | None = None
) -> Callable[[str], dt.date]:
    """Dates in ISO 8601 first, then each configured strptime format in turn.

    A date and time with an explicit offset ("2026-03-31T23:30:00Z", as HubSpot gives every
    date) is an instant: its date is the day it falls on in `zone` (the calendar's), April 1
    in Berlin. At midnight of its own offset it is a picked calendar date, kept as written.
    """

    to_local = utc_to_local(zone) if zone is not None else None

    def parse(raw: str) -> dt.date:
        text = raw.strip()
        if to_local is not None and len(text) > 10:
            day = _offset_day(text, to_local)
            if day is not None:
                return day
        try:
            return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else _fail(text)
        except ValueError:
            pass
        for fmt in formats:
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise FieldError(f"not a date: {raw!r}" + _formats_hint(formats))

    def parse_in_range(raw: str) -> dt.date:
        day = parse(raw)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise FieldError(_out_of_range(raw))
        return day

    return parse_in_range


_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%f", "%p", "%X", "%c", "%z", "%T", "%R")
# Instants outside these years are typing errors ("0201", "9999"), not history: storing one
# breaks date arithmetic (and PostgreSQL refuses some), so its row is rejected instead.
MIN_YEAR, MAX_YEAR = 1900, 2200


def make_timestamp_parser(
    formats: Sequence[str],
    file_zone: ZoneInfo,
    business_zone: ZoneInfo | None = None,
    date_only: bool = False,
) -> TimestampParser:
    """Timestamps -> (UTC naive, business-local naive).

    A timestamp without an offset is read as local time in `file_zone` (the zone the file was
    written in); one with an offset is converted. The second value is the same instant in
    `business_zone` (the calendar's, default `file_zone`): the day an activity counts on.

    A value without a time ("2017-03-01") is a calendar date, not an instant: it is the start
    of that day in the business zone whatever `file_zone` says, so it counts on the very date
    written. Shifting it by the file's zone moved month-start deals into the previous month.
    With `date_only`, every value is read that way and any time part is ignored (for columns
    such as Zoho's "Closing Date", a date printed with a meaningless time).
    """
    to_utc = local_to_utc(file_zone)
    business = business_zone or file_zone
    to_business = utc_to_local(business)
    business_to_utc = local_to_utc(business)
    same_zone = business.key == file_zone.key
    dated_formats = {f for f in formats if not any(d in f for d in _TIME_DIRECTIVES)}

    def calendar_date(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        local = dt.datetime(day.year, day.month, day.day)
        return business_to_utc(local), local

    def localise(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        if date_only:
            return calendar_date(_day_of(moment, to_business))
        if moment.tzinfo is None:
            utc = to_utc(moment)
            return FileTime((utc, moment)) if same_zone else (utc, to_business(utc))
        utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return utc, to_business(utc)

    def parse_text(text: str, raw: str) -> tuple[dt.datetime, dt.datetime]:
        if len(text) == 10:
            try:
                return calendar_date(dt.date.fromisoformat(text))
            except ValueError:
                pass
        try:
            return localise(dt.datetime.fromisoformat(text))
        except ValueError:
            pass
        for fmt in formats:
            try:
                moment = dt.datetime.strptime(text, fmt)
            except ValueError:
                continue
            return calendar_date(moment.date()) if fmt in dated_formats else localise(moment)
        raise FieldError(
            f"not a date and time: {raw!r}" + _formats_hint(formats) + _serial_hint(text)
        )

    def parse(raw: str) -> tuple[dt.datetime, dt.datetime]:
        text = raw.strip()
        try:
            if len(text) > 10 and not date_only:
                # The usual cell, an ISO time with no offset: `parse_text` and `localise`
                # inlined (two calls less per distinct value of a million-row file).
                try:
                    moment = dt.datetime.fromisoformat(text)
                except ValueError:
                    moment = None
                if moment is None:
                    parsed = parse_text(text, raw)
                elif moment.tzinfo is None:
                    utc = to_utc(moment)
                    parsed = FileTime((utc, moment)) if same_zone else (utc, to_business(utc))
                else:
                    parsed = localise(moment)
            else:
                parsed = parse_text(text, raw)
        except OverflowError:  # a shift by the zone left the years Python can count
            raise FieldError(_out_of_range(raw)) from None
        utc, local = parsed
        if not MIN_YEAR <= local.year <= MAX_YEAR or not MIN_YEAR <= utc.year <= MAX_YEAR:
            raise FieldError(_out_of_range(raw))
        return parsed

    utc_shifts = _HourShifts(to_utc)
    business_shifts = _HourShifts(to_business)

    def column(raws: Sequence[str | None]) -> Moments | None:
        """`parse` over a whole column in C calls, for the usual column (every cell an ISO
        date and time without offset, in the years allowed, away from a change of offset);
        None when any cell is not, and the column is then read a cell at a time by `parse`,
        which says why a cell is refused. A million-row file spent about 1.2 CPU s in
        `parse`, a Python call per distinct cell."""
        if date_only or not raws or None in raws:
            return None
        texts = list(map(str.strip, raws))  # type: ignore[arg-type]
        if min(map(len, texts)) <= 10:  # a date alone (or nothing) is read as a calendar day
            return None
        try:
            moments = list(map(dt.datetime.fromisoformat, texts))
            if min(moments).year < MIN_YEAR or max(moments).year > MAX_YEAR:
                return None
            # Each moment's hour from its text ("2026-03-01T09"), parsed once per distinct
            # hour; a text whose first 13 characters are not its hour fails the check below.
            hours = list(map(utc_shifts.hours.__getitem__, map(_HOUR_TEXT, texts)))
            offsets = list(map(operator.sub, moments, hours))
        except ValueError:
            return None
        except TypeError:  # a time with an offset, against a naive one or a naive hour
            return None
        if min(offsets) < _ZERO or max(offsets) > _LAST_MICROSECOND:
            return None  # not the moment's hour
        shifts = list(map(utc_shifts.__getitem__, hours))
        if None in shifts:  # an hour in which the offset changes: cell by cell
            return None
        utc = list(map(operator.add, moments, shifts))
        local = moments
        if not same_zone:
            utc_hours = list(map(operator.add, hours, shifts))  # for a whole shift
            if any(map(_MINUTE, utc_hours)):  # a zone off by a half hour: cell by cell
                return None
            shifts = list(map(business_shifts.__getitem__, utc_hours))
            if None in shifts:
                return None
            local = list(map(operator.add, utc, shifts))
        for values in (utc, local) if local is not moments else (utc,):
            if min(values).year < MIN_YEAR or max(values).year > MAX_YEAR:
                return None
        return Moments(utc, local, hours, offsets, utc_shifts, same_zone)

    return TimestampParser(parse, column)


class Moments:
    """A column of timestamps read whole (`TimestampParser.column`): each cell's moment in
    UTC and in the calendar's zone (naive), and what the column read found on the way: the
    start of each cell's hour in the file's zone (one object per distinct hour), the time
    into that hour, and the shift to UTC of each hour (`shifts`, by its start). From these
    the import writes a moment's text and day once per hour, not once per cell."""

    __slots__ = ("hours", "into", "local", "local_is_file_time", "shifts", "utc")

    def __init__(
        self,
        utc: list[dt.datetime],
        local: list[dt.datetime],
        hours: list[dt.datetime],
        into: list[dt.timedelta],
        shifts: Mapping[dt.datetime, dt.timedelta | None],
        local_is_file_time: bool,
    ) -> None:
        self.utc = utc
        self.local = local
        self.hours = hours
        self.into = into
        self.shifts = shifts
        self.local_is_file_time = local_is_file_time  # the file's zone is the calendar's

    def pairs(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """(UTC, local) for each cell, as a cell's parse gives them."""
        return list(zip(self.utc, self.local, strict=True))


class FileTime(tuple[dt.datetime, dt.datetime]):
    """(UTC, local) of a time written without an offset and read in the business zone: its
    local value is the time as the file wrote it. The key of an activity without an id
    reads it in the database's key zone (`entities.wall_keyed`), so that a file imported
    again after a change of `[calendar] timezone` finds the rows it gave, read anew."""

    __slots__ = ()


class TimestampParser:
    """A timestamp parser (`make_timestamp_parser`): a call reads one cell; `column` reads
    a whole column at once when it can (`RowReader.read_columns`), the same values."""

    __slots__ = ("column", "parse")

    def __init__(
        self,
        parse: Callable[[str], tuple[dt.datetime, dt.datetime]],
        column: Callable[[Sequence[str | None]], Moments | None],
    ) -> None:
        self.parse = parse
        self.column = column

    def __call__(self, raw: str) -> tuple[dt.datetime, dt.datetime]:
        return self.parse(raw)


_HOUR_TEXT = operator.itemgetter(slice(0, 13))
_MINUTE = operator.attrgetter("minute")
_ZERO = dt.timedelta(0)


class _Hours(dict[str, dt.datetime]):
    """The start of an hour by its text ("2026-03-01T09"), parsed once; ValueError for a
    text that is not an hour's start ("20261120T1030")."""

    def __missing__(self, text: str) -> dt.datetime:
        hour = dt.datetime.fromisoformat(text)
        if hour.minute or hour.second or hour.microsecond or hour.tzinfo is not None:
            raise ValueError(text)
        self[text] = hour
        return hour


class _HourShifts(dict[dt.datetime, "dt.timedelta | None"]):
    """The shift a zone conversion applies within an hour, by the hour's start (as
    `_shift_cached_per_hour` finds it); None for an hour in which it changes."""

    def __init__(self, convert: Callable[[dt.datetime], dt.datetime]) -> None:
        super().__init__()
        self.convert = convert
        self.hours = _Hours()

    def __missing__(self, start: dt.datetime) -> dt.timedelta | None:
        end = start + _LAST_MICROSECOND
        first, last = self.convert(start) - start, self.convert(end) - end
        shift = self[start] = first if first == last else None
        return shift


@functools.lru_cache(maxsize=16)
def hour_shifts(zone: ZoneInfo, to_utc: bool) -> Mapping[dt.datetime, dt.timedelta | None]:
    """The shift from `zone`'s local time to UTC (`to_utc`), or from UTC to it, by the
    start of each hour (None for an hour in which it changes), each worked out once for
    every import: the key zone's, read by the column check after a change of zone
    (`columns._keyed_days`, `columns._wall_moments`)."""
    return _HourShifts(local_to_utc(zone) if to_utc else utc_to_local(zone))


def _day_of(moment: dt.datetime, to_local: Callable[[dt.datetime], dt.datetime]) -> dt.date:
    """The calendar day a date-only column's value stands for: the date written, unless it
    is an instant (a time that is not midnight, with an explicit offset), whose day is the
    local one (`to_local` takes naive UTC). HubSpot gives a deal closed at 23:30 UTC on
    March 31 as "2026-03-31T23:30:00Z": April 1 for a team in Berlin. A picked date stored
    as midnight UTC ("2026-03-31T00:00:00Z") stays March 31 in New York too."""
    if moment.tzinfo is None or moment.time() == _MIDNIGHT:
        return moment.date()
    return to_local(moment.astimezone(dt.UTC).replace(tzinfo=None)).date()


_MIDNIGHT = dt.time(0)


def _offset_day(text: str, to_local: Callable[[dt.datetime], dt.datetime]) -> dt.date | None:
    """`_day_of` for ISO text ("2026-03-31T23:30:00Z"); None unless the text is a date and
    time with an explicit offset."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return _day_of(moment, to_local)


def local_to_utc(zone: ZoneInfo) -> Callable[[dt.datetime], dt.datetime]:
    """Naive local time in `zone` -> naive UTC, as zoneinfo computes it (fold=0), but fast."""
    return _shift_cached_per_hour(
        lambda moment: moment.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    )


def utc_to_local(zone: ZoneInfo) -> Callable[[dt.datetime], dt.datetime]:
    """Naive UTC -> naive local time in `zone`, as zoneinfo computes it, but fast."""
    return _shift_cached_per_hour(
        lambda moment: moment.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
    )


_LAST_MICROSECOND = dt.timedelta(minutes=59, seconds=59, microseconds=999_999)


def _shift_cached_per_hour(
    exact: Callable[[dt.datetime], dt.datetime],
) -> Callable[[dt.datetime], dt.datetime]:
    """Speed up a time-zone conversion, which only ever shifts a time by an offset.

    Time-zone arithmetic costs microseconds per value, which dominates a large import. The
    offset is constant within almost every hour, so it is computed once per hour of input and
    reused; an hour in which it changes (at its first and last microsecond) is left to the
    exact conversion, value by value.
    """
    shifts: dict[int, dt.timedelta | None] = {}

    def shift_for_hour(moment: dt.datetime) -> dt.timedelta | None:
        start = moment.replace(minute=0, second=0, microsecond=0)
        end = start + _LAST_MICROSECOND
        first, last = exact(start) - start, exact(end) - end
        return first if first == last else None

    def convert(moment: dt.datetime) -> dt.datetime:
        key = moment.toordinal() * 24 + moment.hour
        try:
            shift = shifts[key]
        except KeyError:
            shift = shifts[key] = shift_for_hour(moment)
        return exact(moment) if shift is None else moment + shift

    return convert


def _out_of_range(raw: str) -> str:
    return f"year out of range {MIN_YEAR}-{MAX_YEAR}: {raw!r}"


def _fail(text: str) -> dt.date:
    raise ValueError(text)


_SERIAL = re.compile(r"\d{5}(\.\d+)?")
_SERIAL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's (and LibreOffice's) day 0


def _serial_hint(text: str) -> str:
    """What a bare number of five digits in a date column most likely is: a spreadsheet's
    date serial in a cell formatted as General (46331.5 is 2026-11-05 12:00), which a CSV
    export or a sheet's plain number cell holds as such. Not read as one (a number has no
    unit to tell it from an id or a Unix time), but said, so the fix is plain."""
    if not _SERIAL.fullmatch(text):
        return ""
    moment = _SERIAL_EPOCH + dt.timedelta(days=float(text))
    return (
        f"; a spreadsheet's date serial? {text} would be {moment:%Y-%m-%d %H:%M}: format the"
        " column as a date (or write the dates out) and import again"
    )


def _formats_hint(formats: Sequence[str]) -> str:
    tried = ", ".join(["ISO 8601", *formats])
    return f" (tried {tried})"
