"""A generated Salesforce org, written in the layout of a Data Loader export, with its truth.

The real sample exports in shared/data are small and sparse (one owner, no users, open tasks
only), so volume and analytics are tested on this org instead: the same file names, API
column names, 18-character ids, `2026-03-04T15:22:10.000+0000` timestamps and true/false
booleans as Data Loader writes them. While writing each row, the generator counts what the
import must make of it (`Truth`): kept, skipped or rejected, and the calls, conversations,
meetings set and won deals per rep and day, so tests compare the analyses with these counts,
never with the importer's own output.

Planted awkward rows: tasks owned by a user missing from User.csv, open deals without an
Amount (kept, with the amount unknown), deals in a stage the picklist does not have,
OpportunityHistory rows that only change the amount (no stage change), open and deleted
tasks, all-day events and invitee copies, and WhatIds written in the 15-character form of
reports.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from paceline.config import Settings, default_config_text, parse_settings

# Salesforce's standard opportunity stage picklist: label, probability %, closed, won.
PICKLIST = (
    ("Prospecting", 10, False, False),
    ("Qualification", 10, False, False),
    ("Needs Analysis", 20, False, False),
    ("Value Proposition", 50, False, False),
    ("Id. Decision Makers", 60, False, False),
    ("Perception Analysis", 70, False, False),
    ("Proposal/Price Quote", 75, False, False),
    ("Negotiation/Review", 90, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)
OPEN_STAGES = [label for label, _, closed, _ in PICKLIST if not closed]
DISPOSITIONS = ("Connected", "Left Voicemail", "No Answer", "Not Interested", "Meeting Scheduled")
CONNECTED = {"Connected", "Not Interested", "Meeting Scheduled"}  # connected outcomes
SUBJECTS = {"call": "Call", "email": "Email: follow-up", "other": "Send pricing"}
REPS = ("Ava Stone", "Ben Okafor", "Chloe Martin", "Dev Patel", "Elena Ruiz")
MANAGER = "Mia Laurent"
START = dt.date(2026, 1, 5)
END = dt.date(2026, 10, 30)  # activity and deals fall in [START, END]


# The checksum of an id "PPP5g" + 10 digits, by hand: a chunk's letter is the 0th ('A') when
# it has no capital letter; the prefixes with a capital in 3rd place make the first 'E' (4).
SUFFIX = {"00T": "EAA", "00U": "EAA", "01J": "EAA"}


def sf_id(prefix: str, n: int) -> str:
    """An 18-character id with its right checksum suffix (see SUFFIX)."""
    base = f"{prefix}5g{n:010d}"
    assert len(base) == 15
    return base + SUFFIX.get(prefix, "AAA")


def stamp(moment: dt.datetime) -> str:
    """Data Loader's timestamp: 2026-03-04T15:22:10.000+0000 (UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def flag(value: bool) -> str:
    return "true" if value else "false"


@dataclass
class Truth:
    """What the import must make of the generated files."""

    users: dict[str, str] = field(default_factory=dict)  # id -> name
    file_rows: Counter[str] = field(default_factory=Counter)  # object -> rows written
    kept: Counter[str] = field(default_factory=Counter)  # object -> rows to insert
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    # (rep, local day) -> count, for tasks and events that are kept
    calls: Counter[tuple[str, dt.date]] = field(default_factory=Counter)
    conversations: Counter[tuple[str, dt.date]] = field(default_factory=Counter)
    meetings_set: Counter[tuple[str, dt.date]] = field(default_factory=Counter)
    meetings: Counter[tuple[str, dt.date]] = field(default_factory=Counter)
    call_seconds: dict[str, int] = field(default_factory=dict)  # task id -> seconds
    # (rep, close day) -> (count, amount) of won deals
    won: Counter[tuple[str, dt.date]] = field(default_factory=Counter)
    won_amount: Counter[tuple[str, dt.date]] = field(default_factory=Counter)
    # opportunity id -> [(stage label, entered at)] stage changes, for kept opportunities
    paths: dict[str, list[tuple[str, dt.datetime]]] = field(default_factory=dict)
    # kept task id -> the opportunity its WhatId names
    task_deal: dict[str, str] = field(default_factory=dict)
    # kept opportunities whose Amount is empty (stored as unknown)
    without_amount: list[str] = field(default_factory=list)


def _day(rng: random.Random, start: dt.date = START, end: dt.date = END) -> dt.date:
    while True:
        day = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
        if day.weekday() < 5:
            return day


def _write(folder: Path, name: str, header: list[str], rows: list[dict[str, str]]) -> None:
    with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)


def generate_org(folder: Path, seed: int = 7, tasks: int = 5000, events: int = 500) -> Truth:
    """Write User, Account, Contact, Opportunity, OpportunityHistory, OpportunityStage, Task
    and Event CSVs into `folder`; return what importing them must give."""
    rng = random.Random(seed)
    truth = Truth()
    folder.mkdir(parents=True, exist_ok=True)
    manager_id = sf_id("005", 1)
    users = [
        {"Id": manager_id, "Name": MANAGER, "FirstName": "Mia", "LastName": "Laurent",
         "Email": "mia@example.com", "Username": "mia@example.com.sandbox",
         "IsActive": "true", "ManagerId": ""},
    ]  # fmt: skip
    for i, name in enumerate(REPS, start=2):
        first, last = name.split()
        users.append(
            {"Id": sf_id("005", i), "Name": name, "FirstName": first, "LastName": last,
             "Email": f"{first.lower()}@example.com", "Username": f"{first.lower()}@ex.sbx",
             "IsActive": flag(i != 6), "ManagerId": manager_id}
        )  # fmt: skip
    truth.users = {u["Id"]: u["Name"] for u in users}
    rep_ids = [u["Id"] for u in users[1:]]
    _write(folder, "User", list(users[0]), users)
    truth.file_rows["User"] = truth.kept["User"] = len(users)

    accounts = [
        {"Id": sf_id("001", i), "Name": f"Account {i:03d} Ltd", "Industry": "Manufacturing",
         "Type": "Prospect", "OwnerId": rng.choice(rep_ids), "BillingCity": "Lyon",
         "IsDeleted": "false"}
        for i in range(1, 41)
    ]  # fmt: skip
    _write(folder, "Account", list(accounts[0]), accounts)
    truth.file_rows["Account"] = truth.kept["Account"] = len(accounts)
    contacts = [
        {"Id": sf_id("003", i), "FirstName": f"Pat{i}", "LastName": "Lee",
         "AccountId": rng.choice(accounts)["Id"], "Title": "Buyer",
         "Email": f"pat{i}@example.org"}
        for i in range(1, 81)
    ]  # fmt: skip
    _write(folder, "Contact", list(contacts[0]), contacts)
    truth.file_rows["Contact"] = truth.kept["Contact"] = len(contacts)

    _opportunities(folder, rng, truth, rep_ids, accounts)
    _stage_picklist(folder)
    _tasks(folder, rng, truth, rep_ids, accounts, contacts, tasks)
    _events(folder, rng, truth, rep_ids, contacts, events)
    return truth


def _opportunities(
    folder: Path,
    rng: random.Random,
    truth: Truth,
    rep_ids: list[str],
    accounts: list[dict[str, str]],
) -> None:
    opportunities, history = [], []
    history_n = 0
    for i in range(1, 151):
        opp_id = sf_id("006", i)
        owner = rng.choice(rep_ids)
        created = dt.datetime.combine(_day(rng, START, dt.date(2026, 8, 31)), dt.time(14))
        fate = rng.choices(["won", "lost", "open"], [35, 25, 40])[0]
        reached = rng.randrange(1, len(OPEN_STAGES) + 1)  # open stages passed through
        path = [(OPEN_STAGES[k], created + dt.timedelta(days=6 * k)) for k in range(reached)]
        if fate != "open":
            path.append(
                ("Closed Won" if fate == "won" else "Closed Lost", path[-1][1] + dt.timedelta(5))
            )
        amount = f"{rng.randrange(5, 100) * 1000}"
        stage = path[-1][0]
        if i % 50 == 7:  # planted: a stage the picklist does not have
            stage = "Discovery"
        missing_amount = fate == "open" and i % 25 == 3  # planted: open deal without Amount
        close = path[-1][1].date() if fate != "open" else path[-1][1].date() + dt.timedelta(30)
        opportunities.append(
            {"Id": opp_id, "IsDeleted": "false", "AccountId": rng.choice(accounts)["Id"],
             "Name": f"Deal {i:03d}", "StageName": stage,
             "Amount": "" if missing_amount else amount, "CloseDate": close.isoformat(),
             "IsClosed": flag(fate != "open"), "IsWon": flag(fate == "won"),
             "OwnerId": owner, "CreatedDate": stamp(created),
             "LastStageChangeDate": stamp(path[-1][1])}
        )  # fmt: skip
        truth.file_rows["Opportunity"] += 1
        kept = stage != "Discovery"  # a missing Amount is kept as unknown, not refused
        if not kept:
            truth.rejected["Opportunity"] += 1
        else:
            truth.kept["Opportunity"] += 1
            truth.paths[opp_id] = list(path)
            if missing_amount:
                truth.without_amount.append(opp_id)
            if fate == "won":
                key = (truth.users[owner], close)
                truth.won[key] += 1
                truth.won_amount[key] += int(amount)
        for k, (stage_label, entered) in enumerate(path):
            rows = [(stage_label, entered, amount)]
            if k == 0 and i % 3 == 0:  # planted: the amount changed, the stage did not
                rows.append((stage_label, entered + dt.timedelta(hours=30), str(int(amount) + 500)))
            for label, moment, value in rows:
                history_n += 1
                history.append(
                    {"Id": sf_id("008", history_n), "OpportunityId": opp_id,
                     "CreatedById": owner, "CreatedDate": stamp(moment), "StageName": label,
                     "Amount": value, "CloseDate": close.isoformat(), "IsDeleted": "false"}
                )  # fmt: skip
                truth.file_rows["OpportunityHistory"] += 1
                if not kept:
                    truth.rejected["OpportunityHistory"] += 1
                elif label == rows[0][0] and moment != rows[0][1]:
                    truth.skipped["OpportunityHistory"] += 1
                else:
                    truth.kept["OpportunityHistory"] += 1
    rng.shuffle(history)  # exports are not ordered by time
    _write(folder, "Opportunity", list(opportunities[0]), opportunities)
    _write(folder, "OpportunityHistory", list(history[0]), history)


def _stage_picklist(folder: Path) -> None:
    rows = [
        {"Id": sf_id("01J", n), "MasterLabel": label, "ApiName": label, "IsActive": "true",
         "SortOrder": str(n), "IsClosed": flag(closed), "IsWon": flag(won),
         "DefaultProbability": str(probability)}
        for n, (label, probability, closed, won) in enumerate(PICKLIST, start=1)
    ]  # fmt: skip
    _write(folder, "OpportunityStage", list(rows[0]), rows)


def _tasks(
    folder: Path,
    rng: random.Random,
    truth: Truth,
    rep_ids: list[str],
    accounts: list[dict[str, str]],
    contacts: list[dict[str, str]],
    count: int,
) -> None:
    rows = []
    deals = sorted(truth.paths)
    for i in range(1, count + 1):
        task_id = sf_id("00T", i)
        owner = rng.choice(rep_ids)
        unknown_owner = i % 250 == 17  # planted: a user missing from User.csv
        if unknown_owner:
            owner = sf_id("005", 900 + i)
        day = _day(rng)
        kind = rng.choices(["call", "email", "other"], [55, 30, 15])[0]
        done = rng.random() > 0.08
        deleted = rng.random() < 0.01
        moment = dt.datetime.combine(day, dt.time(15, rng.randrange(60)))
        disposition = rng.choice(DISPOSITIONS) if kind == "call" else ""
        seconds = rng.randrange(10, 900) if kind == "call" else 0
        deal = rng.choice(deals) if rng.random() < 0.1 else ""
        # Reports print the 15-character form of an id; half the deal links are written so.
        what = (deal[:15] if i % 2 else deal) if deal else rng.choice(accounts)["Id"]
        rows.append(
            {"Id": task_id, "WhoId": rng.choice(contacts)["Id"], "WhatId": what,
             "Subject": SUBJECTS[kind],
             "ActivityDate": day.isoformat(), "Status": "Completed" if done else "Not Started",
             "OwnerId": owner, "IsDeleted": flag(deleted), "IsClosed": flag(done),
             "CreatedDate": stamp(moment), "CallDurationInSeconds": str(seconds),
             "CallType": "Outbound" if kind == "call" else "",
             "CallDisposition": disposition,
             "TaskSubtype": {"call": "Call", "email": "Email", "other": "Task"}[kind],
             "Type": {"call": "Call", "email": "Email", "other": "Other"}[kind],
             "CompletedDateTime": stamp(moment) if kind == "call" and done else ""}
        )  # fmt: skip
        truth.file_rows["Task"] += 1
        if deleted or not done:
            truth.skipped["Task"] += 1
            continue
        if unknown_owner:
            truth.rejected["Task"] += 1
            continue
        truth.kept["Task"] += 1
        if deal:
            truth.task_deal[task_id] = deal
        rep = truth.users[owner]
        if kind == "call":
            truth.calls[(rep, day)] += 1
            truth.call_seconds[task_id] = seconds
            truth.conversations[(rep, day)] += disposition in CONNECTED
            truth.meetings_set[(rep, day)] += disposition == "Meeting Scheduled"
    _write(folder, "Task", list(rows[0]), rows)


def _events(
    folder: Path,
    rng: random.Random,
    truth: Truth,
    rep_ids: list[str],
    contacts: list[dict[str, str]],
    count: int,
) -> None:
    rows = []
    for i in range(1, count + 1):
        owner = rng.choice(rep_ids)
        day = _day(rng)
        all_day = i % 25 == 0
        child = i % 17 == 0 and not all_day
        rows.append(
            {"Id": sf_id("00U", i), "WhoId": rng.choice(contacts)["Id"], "WhatId": "",
             "Subject": "Meeting", "OwnerId": owner, "Type": "Meeting",
             "ActivityDateTime": stamp(dt.datetime.combine(day, dt.time(16))),
             "ActivityDate": day.isoformat(), "DurationInMinutes": str(rng.choice((30, 60))),
             "IsAllDayEvent": flag(all_day), "IsChild": flag(child), "IsDeleted": "false"}
        )  # fmt: skip
        truth.file_rows["Event"] += 1
        if all_day or child:
            truth.skipped["Event"] += 1
            continue
        truth.kept["Event"] += 1
        truth.meetings[(truth.users[owner], day)] += 1
    _write(folder, "Event", list(rows[0]), rows)


def picklist_settings() -> Settings:
    """The default configuration with the generator's stage picklist as its [[stages]]
    (probability = the picklist's default probability), so its files import as they are."""
    kept, in_stage = [], False
    for line in default_config_text().splitlines():
        if line.startswith("[[stages]]"):
            in_stage = True
            continue
        if in_stage and (line.startswith("[") or line.startswith("# ---")):
            in_stage = False
        if not in_stage:
            kept.append(line)
    stages = []
    for label, probability, closed, won in PICKLIST:
        name = "_".join(re.findall(r"[a-z0-9]+", label.lower()))
        status = ('status = "won"\n' if won else 'status = "lost"\n') if closed else ""
        stages.append(f'[[stages]]\nname = "{name}"\n{status}probability = {probability / 100}\n')
    return parse_settings("\n".join(kept) + "\n\n" + "\n".join(stages))
