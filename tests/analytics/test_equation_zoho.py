"""The revenue equation on the real Zoho CRM export (`../shared/data/zoho_crm_export`),
imported with the shipped mappings.

Counted here from the CSV files themselves: the export's selling calls (Call Purpose
Prospecting, Demo or Negotiation: the mapping's Ask) start on 2021-02-14 in New York, while its
potentials close all through Q1 2021. Read over the whole quarter, the equation divided 291
wins by the 2,900 calls of its last six weeks (Tina Thomas: 38 wins over 50 calls, 0.76 a
call); from Feb 14, when the calls start, she won 20 (0.40).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from factories import ZOHO_EXPORT, money, read_export, run_import, zoho_time
from paceline.analytics.equation import revenue_equation
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings

Q1_END = dt.date(2021, 3, 31)
SELLING_PURPOSES = ("Prospecting", "Demo", "Negotiation")  # calls.toml's has_ask = yes


def _first_selling_day() -> dt.date:
    new_york = ZoneInfo("America/New_York")
    return min(
        dt.datetime.fromisoformat(row["Call Start Time"])
        .replace(tzinfo=dt.UTC)
        .astimezone(new_york)
        .date()
        for row in read_export("Calls")
        if row["Call Purpose"] in SELLING_PURPOSES
    )


def _wins_from(first: dt.date) -> tuple[Counter[str], dict[str, float]]:
    """Per owner: potentials Closed Won with a closing date (a calendar date) in
    [first, Q1_END], and their amounts."""
    wins: Counter[str] = Counter()
    revenue: dict[str, float] = defaultdict(float)
    for row in read_export("Potentials"):
        closed = zoho_time(row["Closing Date"]).date()
        if row["Stage"] == "Closed Won" and first <= closed <= Q1_END:
            wins[row["Potential Owner"]] += 1
            revenue[row["Potential Owner"]] += float(money(row["Amount"]))
    return wins, revenue


@pytest.mark.skipif(not ZOHO_EXPORT.is_dir(), reason=f"no Zoho export at {ZOHO_EXPORT}")
@pytest.mark.slow
def test_zoho_equation_reads_the_quarter_from_the_first_selling_call(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    for stem, entity, mapping in (
        ("Users", "reps", "users"),
        ("Calls", "activities", "calls"),
        ("Potentials", "deals", "potentials"),
    ):
        run_import(sqlite_engine, settings, stem, entity, mapping, tmp_path)
    first = _first_selling_day()
    whole, _ = _wins_from(dt.date(2021, 1, 1))
    wins, revenue = _wins_from(first)
    assert (first, sum(whole.values()), sum(wins.values())) == (dt.date(2021, 2, 14), 291, 179)
    report = revenue_equation(
        sqlite_engine, settings, diagnosis_window(settings, "quarter", Q1_END)
    )
    assert report.measured_from == first
    assert {eq.rep: eq.wins for eq in report.reps} == dict(wins)
    assert {eq.rep: eq.revenue for eq in report.reps} == pytest.approx(dict(revenue))
    tina = next(eq for eq in report.reps if eq.rep == "Tina Thomas")
    assert (tina.wins, tina.selling_activities) == (20, 50)
    assert tina.factors[2].value == pytest.approx(20 / 50)  # 38 / 50 over the whole quarter
