"""Rows imported before what they name: their deal, their account, their contact.

An activity may reach Paceline before the deal, account or contact it names (files imported
in another order, a file forgotten and imported later). Importing what was missing, and the
activities again, must leave every row linked to the record it names, counted honestly, and
a second identical import must change nothing. Each test runs on SQLite and on PostgreSQL
(the `engine` fixture); the expected figures are worked out by hand from the files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from factories import SHARED_DATA, write
from paceline import plugins
from paceline.config import Settings
from paceline.ingest.accounting import ImportOptions, ImportResult
from paceline.ingest.crm.shipped import resolve_mapping
from paceline.ingest.importer import import_csv, import_file
from paceline.ingest.writers import (
    ACCOUNTS_MERGED,
    ACTIVITIES_LINKED,
    ACTIVITIES_RELINKED,
    UNUSED_REPS,
    deal_not_imported,
)
from paceline.services.reps import edit_rep
from paceline.store.models import Account, Activity, Contact, Deal, DealWait, Rep

HEADER = "external_id,rep,kind,occurred_at,deal_ref,account,contact"
NOW = dt.datetime(2026, 12, 7, 12, 0)


def run(
    engine: Engine, settings: Settings, path: Path, entity: str = "activities", **options: object
) -> ImportResult:
    opts = ImportOptions(errors_path=path.with_suffix(".errors.csv"), now=NOW, **options)  # type: ignore[arg-type]
    return import_csv(engine, settings, path, entity, options=opts)  # type: ignore[arg-type]


def counts(r: ImportResult) -> tuple[int, int, int, int, int, int, int]:
    """(read, inserted, updated, unchanged, duplicate, skipped, rejected)."""
    return (r.read, r.inserted, r.updated, r.unchanged, r.duplicate, r.skipped, r.rejected)


def deal_links(engine: Engine) -> dict[str, str | None]:
    """Each activity's external id -> the external id of its deal (None: no link)."""
    query = select(Activity.external_id, Deal.external_id).outerjoin(
        Deal, Deal.id == Activity.deal_id
    )
    with engine.connect() as conn:
        return {activity: deal for activity, deal in conn.execute(query)}


def test_a_row_repeated_in_a_later_batch_whose_deal_is_missing_is_a_duplicate(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Batches of 2: t1 is repeated in the second batch, with t3; a bad kind (t4) makes the
    rows go by record. The repeat is refused by the unique key (a fresh source looks for no
    stored row), and the batch written again: its rows' fingerprints were derived twice,
    so the repeat was rejected as "other values" and the next identical import updated t3."""
    acts = write(
        tmp_path / "acts.csv",
        f"{HEADER}\n"
        "t1,Ana Ruiz,call,2026-11-20T10:00:00,D1,Acme,\n"
        "t2,Ana Ruiz,call,2026-11-20T11:00:00,,Acme,\n"
        "t1,Ana Ruiz,call,2026-11-20T10:00:00,D1,Acme,\n"
        "t3,Ana Ruiz,call,2026-11-20T12:00:00,D1,Acme,\n"
        "t4,Ana Ruiz,dance,2026-11-20T13:00:00,D1,Acme,\n",
    )
    first = run(engine, settings, acts, batch_size=2)
    # t1, t2, t3 inserted; the second t1 a duplicate; t4's unknown kind rejected.
    assert counts(first) == (5, 3, 0, 0, 1, 0, 1)
    assert first.notes[deal_not_imported("D1")] == 3  # t1, its repeat, t3
    assert counts(run(engine, settings, acts, batch_size=2)) == (5, 0, 0, 3, 1, 0, 1)
    deals = write(
        tmp_path / "deals.csv",
        "external_id,name,rep,amount,stage,created_at\n"
        "D1,Acme renewal,Ana Ruiz,1000,prospect,2026-11-01T09:00:00\n",
    )
    arrived = run(engine, settings, deals, "deals")
    assert (arrived.inserted, arrived.notes) == (1, {ACTIVITIES_LINKED: 2})  # t1 and t3
    assert deal_links(engine) == {"t1": "D1", "t2": None, "t3": "D1"}
    # Imported again, t1 and t3 are as the deals import linked them: unchanged.
    assert counts(run(engine, settings, acts, batch_size=2)) == (5, 0, 0, 3, 1, 0, 1)


def test_accounts_and_contacts_named_before_their_import_are_given_their_ids(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Activities and a deal name "Acme Corp" and its contact Jo Park before the accounts
    and contacts files (with ids) arrive. The accounts import gives the stand-in made from
    the name its id and industry (it inserted a second "Acme Corp" beside it, and every
    name resolved to the older, empty one for good); likewise the contact."""
    acts = write(
        tmp_path / "acts.csv",
        f"{HEADER}\n"
        "t1,Ana Ruiz,call,2026-11-20T10:00:00,,Acme Corp,Jo Park\n"
        "t2,Ana Ruiz,email,2026-11-21T10:00:00,,acme  corp,\n",
    )
    assert counts(run(engine, settings, acts)) == (2, 2, 0, 0, 0, 0, 0)
    deals = write(
        tmp_path / "deals.csv",
        "external_id,name,rep,amount,stage,created_at,account\n"
        "D1,Acme renewal,Ana Ruiz,1000,prospect,2026-11-01T09:00:00,ACME CORP\n",
    )
    assert run(engine, settings, deals, "deals").inserted == 1
    accounts = write(
        tmp_path / "accounts.csv",
        "external_id,name,industry\nA1,Acme Corp,Retail\nA2,Globex,Energy\n",
    )
    given = run(engine, settings, accounts, "accounts")
    assert counts(given) == (2, 1, 1, 0, 0, 0, 0)  # Acme given its id, Globex new
    assert list(given.notes.values()) == [1]
    contacts = write(
        tmp_path / "contacts.csv",
        "external_id,name,account_ref,title\nC1,Jo  Park,A1,CEO\nC2,Jo Park,A2,CFO\n",
    )
    # Jo Park at Acme given her id; the Jo Park at Globex is another person.
    assert counts(run(engine, settings, contacts, "contacts")) == (2, 1, 1, 0, 0, 0, 0)
    with engine.connect() as conn:
        stored_accounts = conn.execute(
            select(Account.name, Account.external_id, Account.industry).order_by(Account.id)
        ).all()
        people = conn.execute(
            select(Contact.external_id, Contact.title, Account.external_id)
            .join(Account, Account.id == Contact.account_id)
            .order_by(Contact.id)
        ).all()
        activity_links = conn.execute(
            select(Activity.external_id, Account.external_id, Contact.external_id)
            .join(Account, Account.id == Activity.account_id)
            .outerjoin(Contact, Contact.id == Activity.contact_id)
            .order_by(Activity.external_id)
        ).all()
        deal_account = conn.execute(
            select(Account.external_id).join(Deal, Deal.account_id == Account.id)
        ).scalar_one()
    assert stored_accounts == [("Acme Corp", "A1", "Retail"), ("Globex", "A2", "Energy")]
    assert people == [("C1", "CEO", "A1"), ("C2", "CFO", "A2")]
    assert activity_links == [("t1", "A1", "C1"), ("t2", "A1", None)]
    assert deal_account == "A1"
    # Nothing left to do: every file again changes nothing.
    assert counts(run(engine, settings, accounts, "accounts")) == (2, 0, 0, 2, 0, 0, 0)
    assert counts(run(engine, settings, contacts, "contacts")) == (2, 0, 0, 2, 0, 0, 0)
    assert counts(run(engine, settings, acts)) == (2, 0, 0, 2, 0, 0, 0)


HACKATHON = SHARED_DATA / "crm_samples" / "salesforce" / "stomita-tdx2025-hackathon"


def test_a_salesforce_export_saved_twice_into_one_file_repeats_its_tasks(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The hackathon's Task.csv (83 done tasks, every one naming one of 15 deals not
    imported, no OwnerId), its rows written twice into one file (two exports appended),
    imported in batches of 20 with --owner. The second copy is 83 duplicates, not rows
    refused for "other values" (the batch the unique key refused was written again with
    its fingerprints derived twice); importing the file again changes nothing."""
    task = HACKATHON / "Task.csv"
    if not task.is_file():
        pytest.skip(f"the Salesforce samples are not at {task.parent}")
    text = task.read_text("utf-8-sig")
    header, _, rows = text.partition("\n")
    twice = tmp_path / "Task.csv"
    twice.write_text(f"{header}\n{rows.rstrip(chr(10))}\n{rows}", "utf-8")
    mapping = resolve_mapping("salesforce:Task")
    reader = plugins.import_source("salesforce")

    def imported() -> ImportResult:
        options = ImportOptions(
            errors_path=tmp_path / "errors.csv", now=NOW, owner="sfdata", batch_size=20
        )
        return import_file(engine, settings, twice, "activities", mapping, options, None, reader)

    first = imported()
    assert counts(first) == (166, 83, 0, 0, 83, 0, 0)
    assert counts(imported()) == (166, 0, 0, 83, 83, 0, 0)


def test_a_rep_renamed_since_the_import_is_not_created_again_by_the_next_one(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Ana Ruiz is renamed Ana Ruiz-Lopez after her call and deal were imported; the same
    files imported again find both unchanged, still hers. They created an "Ana Ruiz" with
    no activity and no deal (a second rep, behind in every alert); Ben Ode, new with a
    new call, is created as before."""
    acts = write(
        tmp_path / "acts.csv",
        f"{HEADER}\nt1,Ana Ruiz,call,2026-11-20T10:00:00,,Acme,\n",
    )
    deals = write(
        tmp_path / "deals.csv",
        "external_id,name,rep,sourced_by,amount,stage,created_at\n"
        "D1,Acme renewal,Ana Ruiz,Ana Ruiz,1000,prospect,2026-11-01T09:00:00\n",
    )
    assert run(engine, settings, acts).new_reps == ["Ana Ruiz"]
    assert run(engine, settings, deals, "deals").inserted == 1
    edit_rep(engine, settings, "Ana Ruiz", {"name": "Ana Ruiz-Lopez"})
    again = run(engine, settings, deals, "deals")
    assert (counts(again), again.new_reps, again.notes) == (
        (1, 0, 0, 1, 0, 0, 0),
        [],
        {UNUSED_REPS: 1},
    )
    write(acts, f"{HEADER}\nt1,Ana Ruiz,call,2026-11-20T10:00:00,,Acme,\n"
          "t2,Ben Ode,call,2026-11-21T10:00:00,,Acme,\n")  # fmt: skip
    more = run(engine, settings, acts)
    assert (counts(more), more.new_reps) == ((2, 1, 0, 1, 0, 0, 0), ["Ben Ode"])
    with engine.connect() as conn:
        reps = conn.execute(select(Rep.name).order_by(Rep.name)).scalars().all()
        owners = conn.execute(
            select(Activity.external_id, Rep.name).join(Rep, Rep.id == Activity.rep_id)
        ).all()
    assert reps == ["Ana Ruiz-Lopez", "Ben Ode"]
    assert sorted(owners) == [("t1", "Ana Ruiz-Lopez"), ("t2", "Ben Ode")]


def test_contacts_naming_an_account_by_id_before_it_is_imported_share_it_with_activities(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Activities name "Acme Corp" and Jo Park (an account and a contact made from names);
    then the contacts file names Jo Park (C1) and Li Wu (C2) at account A1 by id (A1 held by
    a placeholder), before the accounts file says A1 is "Acme Corp". That left two "Acme
    Corp" (the activities' 2 on one, the contacts on the other) and two Jo Parks: per
    account counts split. The accounts file merges them: one Acme Corp, A1, with both
    activities, both contacts, and one Jo Park (C1, with t1)."""
    acts = write(
        tmp_path / "acts.csv",
        f"{HEADER}\n"
        "t1,Ana Ruiz,call,2026-11-20T10:00:00,,Acme Corp,Jo Park\n"
        "t2,Ana Ruiz,email,2026-11-21T10:00:00,,ACME corp,\n",
    )
    assert counts(run(engine, settings, acts)) == (2, 2, 0, 0, 0, 0, 0)
    contacts = write(
        tmp_path / "contacts.csv",
        "external_id,name,account_ref,title\nC1,Jo Park,A1,CEO\nC2,Li Wu,A1,CTO\n",
    )
    assert counts(run(engine, settings, contacts, "contacts")) == (2, 2, 0, 0, 0, 0, 0)
    accounts = write(tmp_path / "accounts.csv", "external_id,name,industry\nA1,Acme Corp,Retail\n")
    merged = run(engine, settings, accounts, "accounts")
    assert counts(merged) == (1, 0, 1, 0, 0, 0, 0)
    assert merged.notes == {ACCOUNTS_MERGED: 1}
    with engine.connect() as conn:
        stored_accounts = conn.execute(select(Account.name, Account.external_id)).all()
        people = conn.execute(
            select(Contact.name, Contact.external_id, Account.external_id)
            .join(Account, Account.id == Contact.account_id)
            .order_by(Contact.name)
        ).all()
        activity_links = conn.execute(
            select(Activity.external_id, Account.external_id, Contact.external_id)
            .join(Account, Account.id == Activity.account_id)
            .outerjoin(Contact, Contact.id == Activity.contact_id)
            .order_by(Activity.external_id)
        ).all()
    assert stored_accounts == [("Acme Corp", "A1")]
    assert people == [("Jo Park", "C1", "A1"), ("Li Wu", "C2", "A1")]
    assert activity_links == [("t1", "A1", "C1"), ("t2", "A1", None)]
    # Nothing left to do: every file again changes nothing.
    assert counts(run(engine, settings, accounts, "accounts")) == (1, 0, 0, 1, 0, 0, 0)
    assert counts(run(engine, settings, contacts, "contacts")) == (2, 0, 0, 2, 0, 0, 0)
    assert counts(run(engine, settings, acts)) == (2, 0, 0, 2, 0, 0, 0)


def test_activities_imported_before_their_deal_are_linked_by_the_deals_import(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """t1 and t2 name deal D9, not imported yet; t3 names D9 too, but its next import names
    D1 instead. The deals file then brings D1 and D9: t1 and t2 are linked to D9 by the
    deals import itself, with no re-import of the activities (a sync never pulls an
    unchanged activity again, and they stayed unlinked); t3 keeps D1. The activities
    imported again afterwards are unchanged, and the deals again link nothing more."""
    acts = write(
        tmp_path / "acts.csv",
        f"{HEADER}\n"
        "t1,Ana Ruiz,call,2026-11-20T10:00:00,D9,Acme,\n"
        "t2,Ana Ruiz,email,2026-11-21T10:00:00,D9,Acme,\n"
        "t3,Ana Ruiz,call,2026-11-22T10:00:00,D9,Acme,\n",
    )
    first = run(engine, settings, acts)
    assert counts(first) == (3, 3, 0, 0, 0, 0, 0)
    assert first.notes == {deal_not_imported("D9"): 3}
    one = write(
        tmp_path / "d1.csv",
        "external_id,name,rep,amount,stage,created_at,account\n"
        "D1,Acme pilot,Ana Ruiz,500,prospect,2026-11-01T09:00:00,Acme\n",
    )
    assert run(engine, settings, one, "deals").inserted == 1
    moved = write(tmp_path / "t3.csv", f"{HEADER}\nt3,Ana Ruiz,call,2026-11-22T10:00:00,D1,Acme,\n")
    assert counts(run(engine, settings, moved)) == (1, 0, 1, 0, 0, 0, 0)
    deals = write(
        tmp_path / "deals.csv",
        "external_id,name,rep,amount,stage,created_at,account\n"
        "D1,Acme pilot,Ana Ruiz,500,prospect,2026-11-01T09:00:00,Acme\n"
        "D9,Acme renewal,Ana Ruiz,1000,prospect,2026-11-02T09:00:00,Acme\n",
    )
    arrived = run(engine, settings, deals, "deals")
    assert counts(arrived) == (2, 1, 0, 1, 0, 0, 0)
    assert arrived.notes == {ACTIVITIES_LINKED: 2}
    assert deal_links(engine) == {"t1": "D9", "t2": "D9", "t3": "D1"}
    assert run(engine, settings, deals, "deals").notes == {}
    write(acts, f"{HEADER}\n"
          "t1,Ana Ruiz,call,2026-11-20T10:00:00,D9,Acme,\n"
          "t2,Ana Ruiz,email,2026-11-21T10:00:00,D9,Acme,\n"
          "t3,Ana Ruiz,call,2026-11-22T10:00:00,D1,Acme,\n")  # fmt: skip
    assert counts(run(engine, settings, acts)) == (3, 0, 0, 3, 0, 0, 0)
    assert deal_links(engine) == {"t1": "D9", "t2": "D9", "t3": "D1"}


def test_activities_kept_unlinked_before_deal_wait_are_counted_when_imported_again_link_them(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """t1 and t2 name D9 before it is imported; t3 names no deal. A database migrated past
    0024 holds no `deal_wait` row for such activities (which deal they named was never
    kept), so the deals import links nothing. The activities imported again link t1 and
    t2: the summary said "2 updated" and nothing else; it now says they were linked at
    last, and t3 (unchanged) is not counted."""
    acts = write(
        tmp_path / "acts.csv",
        f"{HEADER}\n"
        "t1,Ana Ruiz,call,2026-11-20T10:00:00,D9,Acme,\n"
        "t2,Ana Ruiz,email,2026-11-21T10:00:00,D9,Acme,\n"
        "t3,Ana Ruiz,call,2026-11-22T10:00:00,,Acme,\n",
    )
    assert counts(run(engine, settings, acts)) == (3, 3, 0, 0, 0, 0, 0)
    with engine.begin() as conn:  # as before migration 0024: nothing waits
        conn.execute(DealWait.__table__.delete())
    deals = write(
        tmp_path / "deals.csv",
        "external_id,name,rep,amount,stage,created_at,account\n"
        "D9,Acme renewal,Ana Ruiz,1000,prospect,2026-11-02T09:00:00,Acme\n",
    )
    assert run(engine, settings, deals, "deals").notes == {}
    assert deal_links(engine) == {"t1": None, "t2": None, "t3": None}
    again = run(engine, settings, acts)
    assert counts(again) == (3, 0, 2, 1, 0, 0, 0)
    assert again.notes == {ACTIVITIES_RELINKED: 2}
    assert deal_links(engine) == {"t1": "D9", "t2": "D9", "t3": None}
    assert run(engine, settings, acts).notes == {}  # nothing left to link


def test_activities_without_ids_wait_for_their_deal_by_their_content_key(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A file without an external_id column: its rows are known by their content key
    ("h:..."), and `deal_wait` keys on it as on a source id. Two calls name D9 before it
    is imported, an e-mail names none: the deals import links both calls, and the file
    imported again finds all three unchanged (nothing doubled, nothing left waiting)."""
    acts = write(
        tmp_path / "acts.csv",
        "rep,kind,occurred_at,deal_ref,account\n"
        "Ana Ruiz,call,2026-11-20T10:00:00,D9,Acme\n"
        "Ana Ruiz,call,2026-11-21T10:00:00,D9,Acme\n"
        "Ana Ruiz,email,2026-11-22T10:00:00,,Acme\n",
    )
    first = run(engine, settings, acts)
    assert counts(first) == (3, 3, 0, 0, 0, 0, 0)
    assert first.notes == {deal_not_imported("D9"): 2}
    deals = write(
        tmp_path / "deals.csv",
        "external_id,name,rep,amount,stage,created_at,account\n"
        "D9,Acme renewal,Ana Ruiz,1000,prospect,2026-11-02T09:00:00,Acme\n",
    )
    assert run(engine, settings, deals, "deals").notes == {ACTIVITIES_LINKED: 2}
    links = deal_links(engine)
    assert all(ref.startswith("h:") for ref in links)
    assert sorted(links.values(), key=str) == ["D9", "D9", None]
    again = run(engine, settings, acts)
    assert (counts(again), again.notes) == ((3, 0, 0, 3, 0, 0, 0), {})
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(DealWait)) == 0
