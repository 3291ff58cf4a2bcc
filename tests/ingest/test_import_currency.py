"""Imports never add amounts in different currencies (`[money] currency`).

A deals file with "$1,000.00", "1.000,00 €" and "¥100,000" once stored 1,000 + 1,000 +
100,000 = 102,000 of revenue: the markers were dropped as junk. Now a row whose money is in
another currency than the team's is refused, named by line, field and reason, and nothing is
converted. Expected figures are worked out by hand from the files below. Storage tests run on
SQLite and PostgreSQL (the `engine` fixture).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from factories import SHARED_DATA, write
from paceline.config import Settings, default_config_text, parse_settings
from paceline.ingest.crm.close import read_pipelines
from paceline.ingest.crm.jsonrows import stages_toml
from paceline.ingest.crm.shipped import mapping_path
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv, import_file
from paceline.ingest.mapping import Entity, load_mapping
from paceline.plugins import import_source
from paceline.store.currency import stored_currency
from paceline.store.migrate import downgrade, upgrade
from paceline.store.models import Deal, ImportRun, Rep

HEADER = "external_id,name,rep,amount,stage,created_at,closed_at\n"
MIXED = HEADER + (
    'd1,Acme,Ana Ruiz,"$1,000.00",closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n'
    'd2,Globex,Ana Ruiz,"1.000,00 €",closed_won,2026-03-03T10:00:00,2026-03-21T10:00:00\n'
    'd3,Initech,Ana Ruiz,"¥100,000",closed_won,2026-03-04T10:00:00,2026-03-22T10:00:00\n'
    "d4,Hooli,Ana Ruiz,2500,closed_won,2026-03-05T10:00:00,2026-03-23T10:00:00\n"
)


def with_currency(settings: Settings, currency: str | None) -> Settings:
    return settings.model_copy(
        update={"money": settings.money.model_copy(update={"currency": currency})}
    )


def run(engine: Engine, settings: Settings, path: Path, entity: Entity = "deals") -> ImportResult:
    options = ImportOptions(errors_path=path.with_suffix(".errors.csv"))
    result = import_csv(engine, settings, path, entity, options=options)
    assert result.accounted == result.read
    return result


def errors(result: ImportResult) -> list[tuple[str, str, str]]:
    if result.errors_file is None:
        return []
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        return [(r["line"], r["field"], r["reason"]) for r in csv.DictReader(handle)]


def amounts(engine: Engine) -> dict[str, Decimal | None]:
    with engine.connect() as conn:
        return {
            ident: amount for ident, amount in conn.execute(select(Deal.external_id, Deal.amount))
        }


def test_a_configured_currency_refuses_amounts_marked_with_another(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    result = run(engine, with_currency(settings, "USD"), write(tmp_path / "deals.csv", MIXED))
    assert (result.read, result.inserted, result.rejected) == (4, 2, 2)
    assert errors(result) == [
        (
            "3",
            "amount",
            "amount is in EUR, the configuration counts money in USD ([money] currency); "
            "amounts are never converted",
        ),
        (
            "4",
            "amount",
            "amount is in ¥, the configuration counts money in USD ([money] currency); "
            "amounts are never converted",
        ),
    ]
    # The dollars and the unmarked amount (taken as dollars) only: 3,500, not 102,000.
    assert amounts(engine) == {"d1": Decimal("1000.00"), "d4": Decimal("2500.00")}


def test_without_a_configured_currency_the_first_marked_one_counts(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    result = run(engine, with_currency(settings, None), write(tmp_path / "deals.csv", MIXED))
    assert (result.inserted, result.rejected) == (2, 2)
    assert [(line, field) for line, field, _ in errors(result)] == [
        ("3", "amount"),
        ("4", "amount"),
    ]
    assert errors(result)[0][2] == (
        "amount is in EUR, but this import's first amounts are in $: amounts in different "
        "currencies cannot be added (set [money] currency to the one to count)"
    )
    assert sum(a for a in amounts(engine).values() if a is not None) == Decimal("3500.00")


def test_codes_before_or_after_the_number_and_a_currency_column_are_checked(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    text = (
        "external_id,name,rep,amount,currency,stage,created_at\n"
        "e1,A,Ana Ruiz,EUR 1200,,negotiation,2026-03-02T10:00:00\n"
        "e2,B,Ana Ruiz,1.500,50 EUR,eur,negotiation,2026-03-02T10:00:00\n"
        "e3,C,Ana Ruiz,300,USD,negotiation,2026-03-02T10:00:00\n"  # the column says dollars
        "e4,D,Ana Ruiz,700 GBP,,negotiation,2026-03-02T10:00:00\n"
        "e5,E,Ana Ruiz,€ 80,EUR,negotiation,2026-03-02T10:00:00\n"
        "e6,F,Ana Ruiz,90,,negotiation,2026-03-02T10:00:00\n"
    ).replace("1.500,50 EUR", '"1.500,50 EUR"')
    result = run(engine, with_currency(settings, "EUR"), write(tmp_path / "deals.csv", text))
    assert (result.inserted, result.rejected) == (4, 2)
    assert errors(result) == [
        (
            "4",
            "currency",
            "currency is USD, the configuration counts money in EUR ([money] currency); "
            "amounts are never converted",
        ),
        (
            "5",
            "amount",
            "amount is in GBP, the configuration counts money in EUR ([money] currency); "
            "amounts are never converted",
        ),
    ]
    assert amounts(engine) == {
        "e1": Decimal("1200.00"),
        "e2": Decimal("1500.50"),
        "e5": Decimal("80.00"),
        "e6": Decimal("90.00"),
    }


def test_a_single_currency_file_imports_as_before(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Dollars only: the same deals and amounts with or without a configured currency."""
    text = HEADER + (
        'd1,Acme,Ana Ruiz,"$1,000.00",closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n'
        "d2,Globex,Ana Ruiz,USD 250,closed_won,2026-03-03T10:00:00,2026-03-21T10:00:00\n"
        "d3,Initech,Ana Ruiz,$342.09K,closed_won,2026-03-04T10:00:00,2026-03-22T10:00:00\n"
        "d4,Hooli,Ana Ruiz,75,closed_won,2026-03-05T10:00:00,2026-03-23T10:00:00\n"
    )
    expected = {
        "d1": Decimal("1000.00"),
        "d2": Decimal("250.00"),
        "d3": Decimal("342090.00"),
        "d4": Decimal("75.00"),
    }
    result = run(engine, with_currency(settings, None), write(tmp_path / "a.csv", text))
    assert (result.inserted, result.rejected) == (4, 0)
    assert amounts(engine) == expected
    again = run(engine, with_currency(settings, "USD"), write(tmp_path / "b.csv", text))
    assert (again.unchanged, again.rejected) == (4, 0)


def test_a_pipedrive_deal_in_another_currency_is_refused(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Pipedrive's `value` is in the deal's `currency`; stages here are the default ones."""
    stages = write(
        tmp_path / "stages.json",
        json.dumps({"data": [{"id": 1, "name": "Negotiation", "pipeline_id": 1}]}),
    )

    def deal(ident: int, currency: str) -> dict[str, object]:
        return {
            "id": ident,
            "title": f"Deal {ident}",
            "value": 1000,
            "currency": currency,
            "status": "open",
            "stage_id": 1,
            "add_time": "2026-03-02 09:00:00",
            "expected_close_date": None,
            "stage_change_time": None,
            "org_id": None,
            "user_id": {"id": 11, "name": "Ana Ruiz"},
        }

    deals = write(tmp_path / "deals.json", json.dumps({"data": [deal(1, "USD"), deal(2, "EUR")]}))
    result = import_file(
        engine,
        with_currency(settings, "USD"),
        deals,
        "deals",
        load_mapping(mapping_path("pipedrive:deals")),
        ImportOptions(errors_path=tmp_path / "deals.errors.csv", pipelines=stages),
        reader=import_source("pipedrive-json"),
    )
    assert (result.inserted, result.rejected) == (1, 1)
    assert [(f, r) for f, r, _, _ in result.rejected_by_reason] == [
        (
            "currency",
            "currency is EUR, the configuration counts money in USD ([money] currency); "
            "amounts are never converted",
        )
    ]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Deal)) == 1


CLOSE = SHARED_DATA / "crm_samples" / "close" / "nango-integration-templates"


@pytest.mark.skipif(not CLOSE.is_dir(), reason=f"no Close samples at {CLOSE}")
def test_a_close_opportunity_in_another_currency_than_the_files_first_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    """The sample's two opportunities are in USD (value_currency); one made EUR is refused
    (none configured: the file's first currency counts), the other imports as before."""
    text = (CLOSE / "opportunities.test.json").read_text("utf-8")
    marked = '"value_currency": "USD"'
    assert text.count(marked) == 2
    at = text.rindex(marked)
    path = write(
        tmp_path / "opportunities.json",
        text[:at] + marked.replace("USD", "EUR") + text[at + len(marked) :],
    )
    base = parse_settings(default_config_text(), origin="test")
    extra = stages_toml(
        read_pipelines(CLOSE / "pipelines.test.json"), [s.name for s in base.stages]
    )
    settings = parse_settings(default_config_text() + "\n" + extra, origin="test")
    mapping = load_mapping(mapping_path("close:opportunities"))
    result = import_file(
        engine,
        settings,
        path,
        "deals",
        mapping,
        ImportOptions(errors_path=tmp_path / "opportunities.errors.csv"),
        reader=import_source("close-json"),
    )
    assert (result.read, result.inserted, result.rejected) == (2, 1, 1)
    assert errors(result) == [
        (
            "2",
            "currency",
            "currency is EUR, but this import's first amounts are in USD: amounts in different "
            "currencies cannot be added (set [money] currency to the one to count)",
        )
    ]


# Across imports: the database remembers the currency its amounts are in (migration 0016).
DOLLARS = HEADER + (
    'u1,Acme,Ana Ruiz,"$1,000.00",closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n'
    "u2,Globex,Ana Ruiz,USD 250,closed_won,2026-03-03T10:00:00,2026-03-21T10:00:00\n"
)
EUROS = HEADER + (
    'e1,Initech,Ana Ruiz,"1.000,00 €",closed_won,2026-03-04T10:00:00,2026-03-22T10:00:00\n'
    "e2,Hooli,Ana Ruiz,400,closed_won,2026-03-05T10:00:00,2026-03-23T10:00:00\n"
    "e3,Umbrella,Ana Ruiz,300 EUR,closed_won,2026-03-06T10:00:00,2026-03-24T10:00:00\n"
)


def won_total(engine: Engine) -> Decimal:
    with engine.connect() as conn:
        return conn.scalar(select(func.sum(Deal.amount)).where(Deal.status == "won")) or Decimal(0)


def test_a_second_import_in_another_currency_is_refused_row_by_row(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Dollars, then euros in another file: the euros were added to the dollars (revenue
    2,950 "dollars" of which 1,300 were marked euros). Now each marked euro row is refused with
    line, field and reason; the unmarked 400 is taken in the database's dollars."""
    plain = with_currency(settings, None)
    run(engine, plain, write(tmp_path / "usd.csv", DOLLARS))
    assert won_total(engine) == Decimal("1250.00")
    second = run(engine, plain, write(tmp_path / "eur.csv", EUROS))
    reason = (
        "amount is in EUR, but the amounts already imported are in USD: amounts in "
        "different currencies cannot be added, and are never converted"
    )
    assert errors(second) == [("2", "amount", reason), ("4", "amount", reason)]
    assert (second.inserted, second.rejected) == (1, 2)
    assert won_total(engine) == Decimal("1650.00")  # 1,000 + 250 + the unmarked 400


def test_the_currency_is_remembered_from_the_first_marked_amount_and_narrowed(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A file of "$" amounts leaves the dollar open; a later "CAD" settles it, after which
    "USD" is refused: the three files' dollars are never mixed."""
    plain = with_currency(settings, None)
    one = HEADER + "a1,A,Ana Ruiz,$100,closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n"
    two = HEADER + "a2,B,Ana Ruiz,CAD 200,closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n"
    three = HEADER + "a3,C,Ana Ruiz,USD 300,closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n"
    assert run(engine, plain, write(tmp_path / "1.csv", one)).inserted == 1
    assert run(engine, plain, write(tmp_path / "2.csv", two)).inserted == 1
    refused = run(engine, plain, write(tmp_path / "3.csv", three))
    assert errors(refused) == [
        (
            "2",
            "amount",
            "amount is in USD, but the amounts already imported are in CAD: amounts in "
            "different currencies cannot be added, and are never converted",
        )
    ]
    assert won_total(engine) == Decimal("300.00")


def test_a_configured_currency_that_disagrees_with_the_stored_amounts_is_refused(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Dollars stored; then `[money] currency = "EUR"`: the import stops before writing
    anything (no run, no row), saying which currency the database holds."""
    run(engine, with_currency(settings, None), write(tmp_path / "usd.csv", DOLLARS))
    with engine.connect() as conn:
        runs_before = conn.scalar(select(func.count()).select_from(ImportRun))
    with pytest.raises(ImportFileError) as refused:
        import_csv(
            engine,
            with_currency(settings, "EUR"),
            write(tmp_path / "eur.csv", EUROS),
            "deals",
            options=ImportOptions(errors_path=tmp_path / "eur.errors.csv"),
        )
    assert str(refused.value) == (
        "[money] currency is EUR, but the amounts already in the database are in USD: "
        "amounts in different currencies cannot be added, and are never converted "
        '(set [money] currency = "USD", or import into another database)'
    )
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ImportRun)) == runs_before
    assert set(amounts(engine)) == {"u1", "u2"}


def test_a_configured_currency_is_recorded_for_later_imports_without_it(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Plain numbers under `[money] currency = "EUR"` are euros: a later import without the
    setting counts in euros too, and refuses dollars."""
    text = HEADER + "p1,A,Ana Ruiz,900,closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n"
    assert run(engine, with_currency(settings, "EUR"), write(tmp_path / "p.csv", text)).inserted
    later = run(engine, with_currency(settings, None), write(tmp_path / "usd.csv", DOLLARS))
    assert [(line, field) for line, field, _ in errors(later)] == [("2", "amount"), ("3", "amount")]
    assert "already imported are in EUR" in errors(later)[0][2]
    assert won_total(engine) == Decimal("900.00")


def test_plain_numbers_leave_the_currency_unknown_so_marked_amounts_wait_for_the_setting(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Unmarked amounts record no currency, and say nothing about which one they are in: a
    later file marked in euros was counted in euros, and its 1,300 added to a 500 that could
    be dollars (2,200). Now its marked rows are refused, saying to set `[money] currency`; the
    unmarked 400 imports as before. With the setting, the euros import and are recorded."""
    plain = with_currency(settings, None)
    text = HEADER + "n1,A,Ana Ruiz,500,closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n"
    assert run(engine, plain, write(tmp_path / "n.csv", text)).inserted == 1
    refused = run(engine, plain, write(tmp_path / "eur.csv", EUROS))
    assert (refused.inserted, refused.rejected) == (1, 2)
    assert [(line, field) for line, field, _ in errors(refused)] == [
        ("2", "amount"),
        ("4", "amount"),
    ]
    assert errors(refused)[0][2] == (
        "amount is in EUR, but the database already holds amounts whose currency was never"
        " recorded (imported before Paceline recorded currencies, or without a currency"
        " mark): set [money] currency in paceline.toml to the currency they are in, then"
        " import again; amounts are never converted"
    )
    assert won_total(engine) == Decimal("900.00")
    assert stored_currency(engine) is None
    again = run(engine, with_currency(settings, "EUR"), write(tmp_path / "eur2.csv", EUROS))
    assert (again.inserted + again.updated, again.rejected) == (2, 0)
    assert stored_currency(engine) == "EUR"
    assert won_total(engine) == Decimal("2200.00")


def test_amounts_from_before_migration_0016_are_not_claimed_by_the_next_file(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A database at migration 0015 holds 1,250 of dollars (its amounts had no currency
    record then). Upgraded to 0016, the first import marking euros claimed EUR for the whole
    database: revenue 2,550 "EUR", 1,250 of it dollars. Now the euro rows are refused with the
    reason; with `[money] currency = "USD"` the record is taken from the setting and the
    euros are refused as not dollars."""
    downgrade(engine, "0015")
    with engine.begin() as conn:
        rep = conn.execute(
            insert(Rep).values(name="Ana Ruiz", role="ae").returning(Rep.id)
        ).scalar_one()
        for ident, amount in (("old1", "1000.00"), ("old2", "250.00")):
            conn.execute(
                insert(Deal).values(
                    rep_id=rep,
                    name=ident,
                    amount=Decimal(amount),
                    stage="closed_won",
                    status="won",
                    created_at=dt.datetime(2026, 2, 2, 10),
                    closed_at=dt.datetime(2026, 2, 20, 10),
                    source="csv",
                    external_id=ident,
                )
            )
    upgrade(engine)
    assert stored_currency(engine) is None
    plain = with_currency(settings, None)
    refused = run(engine, plain, write(tmp_path / "eur.csv", EUROS))
    assert [(line, field) for line, field, _ in errors(refused)] == [
        ("2", "amount"),
        ("4", "amount"),
    ]
    assert "set [money] currency in paceline.toml" in errors(refused)[0][2]
    assert stored_currency(engine) is None  # was EUR
    assert won_total(engine) == Decimal("1650.00")  # 1,250 + the unmarked 400; was 2,950
    dollars = with_currency(settings, "USD")
    second = run(engine, dollars, write(tmp_path / "eur2.csv", EUROS))
    assert stored_currency(engine) == "USD"
    assert [(line, field) for line, field, _ in errors(second)] == [
        ("2", "amount"),
        ("4", "amount"),
    ]
    assert "the configuration counts money in USD" in errors(second)[0][2]
    assert run(engine, plain, write(tmp_path / "usd.csv", DOLLARS)).rejected == 0
    assert won_total(engine) == Decimal("2900.00")  # 1,250 + 400 + the file's 1,250


def test_a_euro_amount_with_a_thousands_dot_is_refused_not_stored_as_cents(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """ "1.234 EUR" was stored as 1.23: a thousandth of the deal. Now the row is refused;
    "1.234.567 EUR" (dots that can only group) is 1,234,567."""
    text = HEADER + (
        "g1,A,Ana Ruiz,1.234 EUR,closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n"
        "g2,B,Ana Ruiz,1.234.567 EUR,closed_won,2026-03-02T10:00:00,2026-03-20T10:00:00\n"
    )
    result = run(engine, with_currency(settings, None), write(tmp_path / "g.csv", text))
    assert [(line, field) for line, field, _ in errors(result)] == [("2", "amount")]
    assert amounts(engine) == {"g2": Decimal("1234567.00")}


def test_a_currency_recorded_by_an_import_that_stored_nothing_is_forgotten(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A euro file whose every row was refused (its close dates unreadable) stored no amount,
    but its euros were recorded when the amounts were read: the dollars file after it was
    refused row by row for "the amounts already imported are in EUR", though none were.
    Now the dollars import, and count in dollars."""
    plain = with_currency(settings, None)
    broken = HEADER + (
        'b1,Initech,Ana Ruiz,"1.000,00 €",closed_won,2026-03-04T10:00:00,not a date\n'
        "b2,Hooli,Ana Ruiz,300 EUR,closed_won,2026-03-05T10:00:00,not a date\n"
    )
    refused = run(engine, plain, write(tmp_path / "broken.csv", broken))
    assert (refused.inserted, refused.rejected) == (0, 2)
    dollars = run(engine, plain, write(tmp_path / "usd.csv", DOLLARS))
    assert (dollars.inserted, dollars.rejected) == (2, 0)
    assert won_total(engine) == Decimal("1250.00")
    later = run(engine, plain, write(tmp_path / "eur.csv", EUROS))
    assert "already imported are in USD" in errors(later)[0][2]
