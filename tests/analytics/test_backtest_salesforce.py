"""The forecast backtest over a generated Salesforce org (Opportunity + OpportunityHistory):
it must read each deal as it was at each cut-off, from the stage history.

The truth is counted here from the generated files themselves, never from Paceline's output:
each kept opportunity's stage path (the generator's `Truth.paths`: every stage entered, at
its moment, ending in Closed Won or Closed Lost for closed deals), its Amount (from the
history rows, which carry it even where the Opportunity row leaves it blank; the planted
amount-only change is skipped by the import), its CloseDate
(the close of a closed deal, the expected close of an open one; a calendar date, at New York
midnight) and its CreatedDate. At the end of a cut-off day (New York midnight after it):
- a deal is open when it was created before the cut-off and not closed before it;
- its stage is the last stage its path entered before the cut-off;
- the CRM's weighted pipeline is what was won in the period so far plus, over the open deals
  due by the period's end (CloseDate before it), amount x the picklist probability of the
  stage they were in then;
- the actual is the amount of the deals won with a CloseDate in the period.
A deal open at a cut-off but won since sits in a stage it has left: reading today's stage
(Closed Won, 100%) instead of the history would change the weighted pipeline, so equality
with these sums shows the backtest read the history.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from factories import migrated_sqlite_copy
from paceline.analytics.backtest import backtest
from paceline.ingest.accounting import ImportOptions
from paceline.ingest.crm.salesforce_folder import import_folder
from salesforce_org import PICKLIST, generate_org, picklist_settings

NEW_YORK = ZoneInfo("America/New_York")
PROBABILITY = {label: p / 100 for label, p, _, _ in PICKLIST}
CLOSED = {"Closed Won": "won", "Closed Lost": "lost"}


def midnight(day: dt.date) -> dt.datetime:
    """New York midnight starting `day`, as naive UTC (how deals store their times)."""
    local = dt.datetime.combine(day, dt.time(), NEW_YORK)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def utc(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.000+0000")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict[str, dict[str, object]]]:
    folder = tmp_path_factory.mktemp("sf") / "org"
    truth = generate_org(folder, seed=11, tasks=10, events=5)
    for name in ("Task", "Event", "Contact"):
        (folder / f"{name}.csv").unlink()
    # A deal's amount: its history rows' (the planted amount-only change, 500 more, is a row
    # the import skips, so the smallest).
    amounts: dict[str, float] = {}
    for r in read(folder / "OpportunityHistory.csv"):
        amount = float(r["Amount"])
        amounts[r["OpportunityId"]] = min(amount, amounts.get(r["OpportunityId"], amount))
    deals: dict[str, dict[str, object]] = {}
    for row in read(folder / "Opportunity.csv"):
        if row["Id"] not in truth.paths:
            continue  # refused by the import (a stage the picklist lacks)
        path = truth.paths[row["Id"]]
        deals[row["Id"]] = {
            "created": utc(row["CreatedDate"]),
            "close": midnight(dt.date.fromisoformat(row["CloseDate"])),
            "due": dt.date.fromisoformat(row["CloseDate"]),
            "fate": CLOSED.get(path[-1][0], "open"),
            "path": path,
            "amount": amounts[row["Id"]],
        }
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path_factory.mktemp("db"))
    options = ImportOptions(now=dt.datetime(2026, 12, 7, 12))
    done = import_folder(engine, picklist_settings(), folder, options, folder.parent)
    assert not done.failed
    return engine, deals


def at_cutoff(deals: dict[str, dict[str, object]], cutoff: dt.datetime) -> dict[str, str]:
    """The open deals at a cut-off instant, with the stage each was in then (by hand)."""
    found = {}
    for deal_id, d in deals.items():
        created, close = d["created"], d["close"]
        assert isinstance(created, dt.datetime) and isinstance(close, dt.datetime)
        if created >= cutoff or (d["fate"] != "open" and close < cutoff):
            continue
        path = d["path"]
        assert isinstance(path, list)
        found[deal_id] = [stage for stage, moment in path if moment < cutoff][-1]
    return found


def won_between(deals: dict[str, dict[str, object]], start: dt.datetime, end: dt.datetime) -> float:
    return sum(
        float(d["amount"])  # type: ignore[arg-type]
        for d in deals.values()
        if d["fate"] == "won" and start <= d["close"] < end  # type: ignore[operator]
    )


def test_the_backtest_reads_each_deal_as_it_was_at_each_cutoff(
    org: tuple[Engine, dict[str, dict[str, object]]],
) -> None:
    engine, deals = org
    settings = picklist_settings()
    result = backtest(engine, settings, "month", periods=6, as_of=dt.date(2026, 10, 31),
                      runs=200, seed=1)  # fmt: skip
    # The sample's deals end on 2026-10-08: October is skipped as partial, not scored.
    assert len(result.rows) == 10, [s.label for s in result.skipped]
    assert [(s.period.start, s.point) for s in result.skipped] == [
        (dt.date(2026, 10, 1), "start"),
        (dt.date(2026, 10, 1), "middle"),
    ]
    assert all(s.reason.startswith("the deals' records end on 2026-10-08") for s in result.skipped)
    moved = 0
    for row in result.rows:
        start, end = midnight(row.period.start), midnight(row.period.end)
        cutoff = midnight(row.cutoff + dt.timedelta(days=1))
        stages = at_cutoff(deals, cutoff)
        won_so_far = won_between(deals, start, cutoff)
        weighted = won_so_far + sum(
            float(deals[i]["amount"]) * PROBABILITY[stage]  # type: ignore[arg-type]
            for i, stage in stages.items()
            if deals[i]["due"] < row.period.end  # type: ignore[operator]
        )
        label = f"{row.period.label} {row.point}"
        assert row.open_deals == len(stages), label
        assert row.won_at_cutoff == pytest.approx(won_so_far), label
        assert row.actual == pytest.approx(won_between(deals, start, end)), label
        assert row.actual_without_amount == 0, label
        assert row.weighted_pipeline == pytest.approx(weighted), label
        # Deals open then whose stage has moved since: only the history knows their stage.
        moved += sum(1 for i, stage in stages.items() if deals[i]["path"][-1][0] != stage)  # type: ignore[index]
    assert moved > 0
