"""The currency the database's amounts are in (`money_currency`, one row).

Imports refuse an amount in a second currency within a file; this record carries the rule
across imports, so a file in euros after one in dollars is refused row by row instead of
being added to the dollars. A symbol ("$") is recorded while which dollar is unknown, and
replaced by a code ("CAD") once an import names one it may stand for.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from paceline.store.models import Deal, DealStageHistory, MoneyCurrency, utcnow
from paceline.store.runs import any_running

_ROW = 1


def stored_currency(engine: Engine) -> str | None:
    """The recorded currency, None while no import has named one."""
    with engine.connect() as conn:
        return conn.execute(
            select(MoneyCurrency.currency).where(MoneyCurrency.id == _ROW)
        ).scalar_one_or_none()


def amounts_without_currency(engine: Engine) -> bool:
    """Whether amounts are stored while no currency is recorded: a database upgraded to
    migration 0016 with amounts already in it, or amounts imported with no currency mark.
    Their currency is unknown, so the first marked amount cannot be taken to be theirs."""
    some_amount = exists().where(Deal.amount.is_not(None))
    some_history_amount = exists().where(DealStageHistory.amount.is_not(None))
    with engine.connect() as conn:
        if conn.execute(select(MoneyCurrency.id)).first() is not None:
            return False
        return bool(conn.execute(select(some_amount | some_history_amount)).scalar())


def forget_unused_currency(engine: Engine) -> bool:
    """Forget the recorded currency while no amount is stored; return whether it was.

    A currency is recorded as soon as an import accepts a marked amount, before its row is
    written: an import whose every row was then refused (a wrong date column, the reject
    limit), or deals deleted since, left a currency nothing is in, and the next file in the
    right currency was refused for disagreeing with it. Not while an import runs: it may
    have recorded the currency for rows it has not committed yet."""
    no_amount = ~exists().where(Deal.amount.is_not(None))
    no_history_amount = ~exists().where(DealStageHistory.amount.is_not(None))
    with engine.begin() as conn:
        if any_running(conn):
            return False
        forgotten = conn.execute(delete(MoneyCurrency).where(no_amount, no_history_amount))
        return bool(forgotten.rowcount)


def claim_currency(engine: Engine, currency: str, instead_of: str | None) -> str:
    """Record `currency` if nothing is recorded, or if `instead_of` is (a narrowing, "$" to
    "USD"); return what is recorded afterwards. Atomic between imports running at once: the
    first to record wins, and the others are told its currency."""
    for _ in range(3):  # a lost race is retried once it is visible
        try:
            with engine.begin() as conn:
                recorded = conn.execute(
                    select(MoneyCurrency.currency).where(MoneyCurrency.id == _ROW)
                ).scalar_one_or_none()
                if recorded is None:
                    conn.execute(
                        insert(MoneyCurrency).values(
                            id=_ROW, currency=currency, recorded_at=utcnow()
                        )
                    )
                    return currency
                if recorded == instead_of and recorded != currency:
                    changed = conn.execute(
                        update(MoneyCurrency)
                        .where(MoneyCurrency.id == _ROW, MoneyCurrency.currency == recorded)
                        .values(currency=currency, recorded_at=utcnow())
                    ).rowcount
                    if changed:
                        return currency
                    continue
                return recorded
        except IntegrityError:  # another import recorded one between the read and the insert
            continue
    return stored_currency(engine) or currency
