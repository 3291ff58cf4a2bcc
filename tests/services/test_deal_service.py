"""The one write path of a deal (`paceline.services.deals`), below the API, on SQLite and
PostgreSQL.

Hand-built: Ana and Sam (East), Dee (West). The business zone is America/New_York (UTC-5 in
November); "now" is fixed at 2026-11-18 17:00 UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from paceline.auth.access import Principal
from paceline.config import Settings
from paceline.errors import Conflict, Forbidden, InputError, NotFound
from paceline.services import activities, deals
from paceline.services.activities import Entry, Writer
from paceline.services.deals import DealEntry
from paceline.services.reps import add_rep
from paceline.store import records
from paceline.store.migrate import upgrade
from paceline.store.models import Activity, Deal, DealStageHistory

NOW = dt.datetime(2026, 11, 18, 17, 0)


@pytest.fixture
def people(engine: Engine, settings: Settings) -> dict[str, Writer]:
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "ae", team="East")
    add_rep(engine, settings, "Sam", "sdr", team="East")
    add_rep(engine, settings, "Dee", "ae", team="West")
    refs = records.rep_refs(engine)
    east, west = refs["ana"].team_id, refs["dee"].team_id
    principals = {
        "admin": Principal(1, "root", "admin", None, None),
        "ana": Principal(2, "ana", "rep", ana, east),
        "wes": Principal(3, "wes", "manager", None, west),
    }
    return {k: Writer.of(engine, settings, p, now=NOW) for k, p in principals.items()}


def deal_row(engine: Engine, deal_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Deal.__table__).where(Deal.id == deal_id)).one()._mapping)


def history(engine: Engine, deal_id: int) -> list[tuple[str, str, dt.datetime]]:
    query = (
        select(DealStageHistory.stage, DealStageHistory.status, DealStageHistory.entered_at)
        .where(DealStageHistory.deal_id == deal_id)
        .order_by(DealStageHistory.id)
    )
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def deal_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count(Deal.id))) or 0)


def entry(**values: Any) -> DealEntry:
    given = {
        "name": "Acme renewal",
        "amount": Decimal("1200.50"),
        "stage": "Prospect",
        "created_at": dt.datetime(2026, 11, 2, 21, 0),  # local: 2026-11-03 02:00 UTC
    }
    return DealEntry(**(given | values))


def test_a_rep_creates_their_own_deal_with_its_first_stage_row(
    engine: Engine, people: dict[str, Writer]
) -> None:
    made = deals.create(people["ana"], entry(account="Acme", sourced_by="Sam"))
    assert not made.duplicate
    row = deal_row(engine, made.deal.id)
    assert (row["stage"], row["status"], row["amount"]) == ("prospect", "open", Decimal("1200.50"))
    assert row["created_at"] == dt.datetime(2026, 11, 3, 2, 0)
    assert (made.deal.rep, made.deal.sourced_by, made.deal.account) == ("Ana", "Sam", "Acme")
    assert history(engine, made.deal.id) == [("prospect", "open", dt.datetime(2026, 11, 3, 2, 0))]


@pytest.mark.parametrize(
    ("who", "values", "error", "field"),
    [
        ("ana", {"stage": "closed_won"}, InputError, "closed_at"),  # won needs its close date
        ("ana", {"stage": "signed"}, InputError, "stage"),
        ("ana", {"amount": Decimal(-1)}, InputError, "amount"),
        ("ana", {"status": "paused"}, InputError, "status"),
        ("ana", {"rep": "Dee"}, Forbidden, None),  # another team's rep
        ("ana", {"sourced_by": "Dee"}, Forbidden, None),  # credited outside her team
        ("ana", {"sourced_by": "Sma"}, InputError, "sourced_by"),
        ("admin", {}, InputError, "rep"),  # an admin is no rep: the owner must be named
        ("ana", {"rep": "Anna"}, InputError, "rep"),
    ],
)
def test_a_refused_deal_is_not_stored(
    engine: Engine,
    people: dict[str, Writer],
    who: str,
    values: dict[str, Any],
    error: type[Exception],
    field: str | None,
) -> None:
    with pytest.raises(error) as caught:
        deals.create(people[who], entry(**values))
    if field is not None:
        assert isinstance(caught.value, InputError) and caught.value.field == field
    assert deal_count(engine) == 0


def test_an_unknown_sourcer_is_answered_with_close_names_in_sight(
    people: dict[str, Writer],
) -> None:
    with pytest.raises(InputError, match=r"no rep named 'Sma'; did you mean 'Sam'\?"):
        deals.create(people["admin"], entry(rep="Ana", sourced_by="Sma"))
    with pytest.raises(InputError) as caught:  # a rep sees only herself: no names suggested
        deals.create(people["ana"], entry(sourced_by="Sma"))
    assert caught.value.reason == "no rep named 'Sma'"


def test_an_admin_may_credit_anyone(engine: Engine, people: dict[str, Writer]) -> None:
    made = deals.create(people["admin"], entry(rep="Ana", sourced_by="Dee"))
    assert made.deal.sourced_by == "Dee"


def test_an_external_id_is_stored_once_and_never_leaks(
    engine: Engine, people: dict[str, Writer]
) -> None:
    first = deals.create(people["ana"], entry(external_id="crm-7"))
    again = deals.create(people["ana"], entry(external_id="crm-7", amount=Decimal(9)))
    assert (again.duplicate, again.deal.id, again.deal.amount) == (True, first.deal.id, 1200.50)
    deals.create(people["admin"], entry(rep="Dee", external_id="crm-8"))
    with pytest.raises(Conflict) as caught:  # Dee's: Ana may not learn it exists, nor whose
        deals.create(people["ana"], entry(external_id="crm-8"))
    assert caught.value.field == "external_id" and "Dee" not in str(caught.value)
    assert deal_count(engine) == 2


def test_a_stage_change_is_a_history_row_at_the_time_given(
    engine: Engine, people: dict[str, Writer]
) -> None:
    ana = people["ana"]
    deal_id = deals.create(ana, entry()).deal.id
    deals.edit(ana, deal_id, {"stage": "proposal", "stage_changed_at": dt.datetime(2026, 11, 9)})
    deals.edit(ana, deal_id, {"amount": Decimal(5000)})  # no new stage: no new row
    deals.edit(ana, deal_id, {"stage": "closed_won"})  # won without a date: closed now
    assert history(engine, deal_id) == [
        ("prospect", "open", dt.datetime(2026, 11, 3, 2, 0)),
        ("proposal", "open", dt.datetime(2026, 11, 9, 5, 0)),  # local midnight, EST
        ("closed_won", "won", NOW),
    ]
    row = deal_row(engine, deal_id)
    assert (row["status"], row["closed_at"], row["amount"]) == ("won", NOW, Decimal(5000))


def test_a_refused_edit_changes_nothing(engine: Engine, people: dict[str, Writer]) -> None:
    ana = people["ana"]
    deal_id = deals.create(ana, entry()).deal.id
    before = deal_row(engine, deal_id)
    for changes, field in [
        ({"name": None}, "name"),
        ({"stage": "signed"}, "stage"),
        ({"stage": "closed_won", "closed_at": dt.datetime(2026, 10, 1)}, "closed_at"),
        ({"source": "x"}, "source"),
    ]:
        with pytest.raises(InputError) as caught:
            deals.edit(ana, deal_id, changes)
        assert caught.value.field == field
    with pytest.raises(NotFound):  # another team's manager does not see it
        deals.edit(people["wes"], deal_id, {"name": "x"})
    assert deal_row(engine, deal_id) == before
    assert len(history(engine, deal_id)) == 1


def test_deleting_a_deal_keeps_its_activities_unlinked(
    engine: Engine, people: dict[str, Writer]
) -> None:
    ana = people["ana"]
    deal_id = deals.create(ana, entry()).deal.id
    logged = activities.create(ana, Entry(rep="Ana", kind="call", deal_id=deal_id))
    with pytest.raises(NotFound):
        deals.delete(people["wes"], deal_id)
    deals.delete(ana, deal_id)
    assert deal_count(engine) == 0 and history(engine, deal_id) == []
    with engine.connect() as conn:
        assert conn.scalar(select(Activity.deal_id).where(Activity.id == logged.id)) is None
    with pytest.raises(NotFound):
        deals.delete(ana, deal_id)
