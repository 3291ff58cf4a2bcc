"""Two rows of one account made one: what named the absorbed one names the kept one.

An account can reach Paceline twice before its own file does: made from its name by the
activities that name it ("Acme Corp"), and held under its source id by contacts that name
it by id (a placeholder). Once the accounts file says that id is "Acme Corp", they are one
company, and counts per account were split between two rows. `merge_account` repoints every
row of the absorbed account to the kept one, in the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from paceline.store.models import Account, Activity, Contact, Deal


def merge_account(conn: Connection, absorbed: int, kept: int) -> None:
    """Move the activities, deals and contacts of account `absorbed` to `kept`, and delete
    it. A contact made from a name alone at `absorbed` whose name a contact of `kept`
    already has is that person: its activities move to that contact and it is deleted,
    rather than two Jo Parks being left at one account."""
    twins = _contact_twins(conn, absorbed, kept)
    for duplicate, contact in twins.items():
        conn.execute(
            update(Activity).where(Activity.contact_id == duplicate).values(contact_id=contact)
        )
    if twins:
        conn.execute(delete(Contact).where(Contact.id.in_(twins)))
    for model in (Activity, Deal, Contact):
        conn.execute(update(model).where(model.account_id == absorbed).values(account_id=kept))
    conn.execute(delete(Account).where(Account.id == absorbed))


def _contact_twins(conn: Connection, absorbed: int, kept: int) -> dict[int, int]:
    """Contact of `absorbed` made from a name (no source id) -> the contact of `kept`
    with that name (the oldest, as names resolve)."""
    at_kept: dict[str, int] = {}
    query = select(Contact.name_key, Contact.id).where(Contact.account_id == kept)
    for key, contact_id in conn.execute(query.order_by(Contact.id.desc())):
        at_kept[key] = contact_id
    named_only = select(Contact.id, Contact.name_key).where(
        Contact.account_id == absorbed, Contact.external_id.is_(None)
    )
    return {cid: at_kept[key] for cid, key in conn.execute(named_only) if key in at_kept}
