"""Who is who by e-mail: the reps, the contacts and the accounts' e-mail domains, and the
organisation's own domains, read from the store for an import source that meets people by
their addresses (a calendar's organiser and attendees).

The import loads it (`importer.import_file`, on a source's first call of
`ReadOptions.people`) and hands it over through the import-source seam, so neither a face nor
a source plugin has to query the tables for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Mail providers anyone can use: their domain says nothing about a company.
PUBLIC_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.com",
        "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "mail.com",
        "yandex.com", "yandex.ru", "zoho.com", "fastmail.com", "hey.com",
    }
)  # fmt: skip


@dataclass
class Directory:
    """Who is who by e-mail: the reps, the contacts and the accounts' e-mail domains."""

    reps: dict[str, str] = field(default_factory=dict)  # e-mail -> rep name
    names: dict[str, str] = field(default_factory=dict)  # name_key -> every rep's name
    contacts: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # -> (name, acct)
    domains: dict[str, str] = field(default_factory=dict)  # domain -> the one account's name
    internal: frozenset[str] = frozenset()  # the company's own e-mail domains


def load_directory(engine: Engine, internal: list[str]) -> Directory:
    """Reps, contacts and account domains from the store; the internal domains are those
    given (configuration and command line), else the domains of the reps' e-mails."""
    # Imported here: the calendar plugin, which names this module, loads with every command
    # that lists the import sources; the tables are needed only by an import.
    from sqlalchemy import select

    from paceline.store.models import Account, Contact, Rep
    from paceline.store.names import name_key

    with engine.connect() as conn:
        reps = conn.execute(select(Rep.email, Rep.name)).all()
        people = conn.execute(
            select(Contact.email, Contact.name, Account.name)
            .join(Account, Contact.account_id == Account.id, isouter=True)
            .where(Contact.email.is_not(None))
            .order_by(Contact.id)
        ).all()
    directory = Directory()
    for email, name in reps:
        directory.names[name_key(name)] = name
        if email and email.strip():
            directory.reps[email.strip().casefold()] = name
    by_domain: dict[str, set[str]] = {}
    for email, name, account in people:
        address = (email or "").strip().casefold()
        if not address:
            continue
        directory.contacts.setdefault(address, (name, account))
        if account is not None and domain_of(address) not in PUBLIC_DOMAINS:
            by_domain.setdefault(domain_of(address), set()).add(account)
    directory.domains = {d: next(iter(a)) for d, a in by_domain.items() if len(a) == 1}
    given = [d.strip().casefold().lstrip("@") for d in internal if d.strip()]
    if not given:
        given = [domain_of(e) for e in directory.reps if domain_of(e) not in PUBLIC_DOMAINS]
    directory.internal = frozenset(given)
    return directory


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].casefold()
