"""An account made from a name is stored as the first spelling the import meets, and keeps
it on every re-import; on SQLite and PostgreSQL (the `engine` fixture). The figures are
read off the hand-written files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select

from factories import write
from paceline.config import Settings
from paceline.ingest.accounting import ImportOptions, ImportResult
from paceline.ingest.importer import import_csv
from paceline.store.models import Account, Activity

NOW = dt.datetime(2026, 12, 7, 12, 0)
HEADER = "external_id,rep,kind,occurred_at,account"


def run(
    engine: Engine, settings: Settings, path: Path, entity: str = "activities", **options: object
) -> ImportResult:
    opts = ImportOptions(errors_path=path.with_suffix(".errors.csv"), now=NOW, **options)  # type: ignore[arg-type]
    return import_csv(engine, settings, path, entity, options=opts)  # type: ignore[arg-type]


def stored_accounts(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(Account.name).order_by(Account.id)))


def linked_accounts(engine: Engine) -> set[str]:
    query = select(Account.name).join(Activity, Activity.account_id == Account.id).distinct()
    with engine.connect() as conn:
        return set(conn.scalars(query))


def test_the_first_spelling_in_the_file_names_the_account(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """ "Acme Inc" first, then "ACME inc" twice and "acme  INC": one account (case and
    spacing are one key), named "Acme Inc". The batch's last distinct spelling named it
    ("acme INC"): which spelling a file happened to end with decided the account's name."""
    acts = write(
        tmp_path / "acts.csv",
        f"{HEADER}\n"
        "t1,Ana Ruiz,call,2026-11-20T10:00:00,Acme Inc\n"
        "t2,Ana Ruiz,call,2026-11-20T11:00:00,ACME inc\n"
        "t3,Ana Ruiz,call,2026-11-20T12:00:00,Globex\n"
        "t4,Ana Ruiz,call,2026-11-20T13:00:00,ACME inc\n"
        "t5,Ana Ruiz,call,2026-11-20T14:00:00,acme  INC\n",
    )
    assert run(engine, settings, acts).inserted == 5
    assert stored_accounts(engine) == ["Acme Inc", "Globex"]
    assert linked_accounts(engine) == {"Acme Inc", "Globex"}


def test_the_stored_spelling_stays_on_re_imports_whatever_spelling_comes_first(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Deals name "ACME inc", then "Acme Inc" (the old code took the last: "Acme Inc");
    activities spelled "Acme Inc" and "acme inc" follow, and the deals again: the account
    stays "ACME inc", the deals file's first spelling, and every row is its."""
    deals = write(
        tmp_path / "deals.csv",
        "external_id,name,rep,amount,stage,created_at,account\n"
        "D1,Renewal,Ana Ruiz,1000,prospect,2026-11-01T09:00:00,ACME inc\n"
        "D2,Upsell,Ana Ruiz,500,prospect,2026-11-02T09:00:00,Acme Inc\n",
    )
    assert run(engine, settings, deals, "deals").inserted == 2
    assert stored_accounts(engine) == ["ACME inc"]
    acts = write(
        tmp_path / "acts.csv",
        f"{HEADER}\nt1,Ana Ruiz,call,2026-11-20T10:00:00,Acme Inc\n"
        "t2,Ana Ruiz,call,2026-11-20T11:00:00,acme inc\n",
    )
    assert run(engine, settings, acts).inserted == 2
    assert run(engine, settings, deals, "deals").unchanged == 2
    assert stored_accounts(engine) == ["ACME inc"]
    assert linked_accounts(engine) == {"ACME inc"}
