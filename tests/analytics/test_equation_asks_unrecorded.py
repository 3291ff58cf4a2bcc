"""The revenue equation of a rep whose selling is in kinds that carry no recorded Ask, on
SQLite and PostgreSQL.

Zoho's events carry no Ask (the export has none), so a rep who sold in meetings logged
activities, none of them "selling" with the Ask required: the equation read prospects 0 and
said "No prospects worked in this window, yet 310,700 won" for Roger Terrence in April 2021
(11 activities, every one a meeting or a follow-up whose Ask nobody records; 9 wins), and his
zero pulled the peers' median of prospects to 0, so nobody's gap could be split. The activity
summary and busy vs productive already call such activities "Ask not recorded": neither
selling nor not. The equation now says the prospects are unknown (`missing = "asks"`), as for
a rep with no activity logged.

Hand-built, window "30d" as of 2026-11-18 (local days 2026-10-20..2026-11-18), East AEs:
  Ana 10 calls with an Ask over 5 accounts, wins 10k + 30k     P 5   S/P 2    W/S 0.2   R/W 20k
  Ben 12 calls with an Ask over 4 accounts, win 20k            P 4   S/P 3    W/S 1/12  R/W 20k
  Mo   6 meetings held over 3 accounts, no Ask (nobody in the organisation records one on a
       meeting), win 40k                                       P ?   S/P ?    W/S ?     R/W 40k
  Zed  4 admin activities (recorded, not selling), win 30k     P 0   S/P -    W/S -     R/W 30k
Medians: P of 5, 4, 0 = 4 (Mo unknown; was 5, 4, 0, 0 = 2), S/P of 2, 3 = 2.5, W/S of 0.2 and
1/12 = 17/120, R/W of 20k, 20k, 40k, 30k = 25k; Ana's reference revenue
4 x 2.5 x 17/120 x 25,000 = 35,416.67 (was 17,708.33).

West AEs, each with a win: Ria, Tom and Vic logged admin work only (prospects 0), Uma 2 calls
with an Ask over 2 accounts. The median of prospects is 0, so no gap is split: the reason said
"(most won nothing)" though all four won; it names the median at zero.

Kim (North, alone: compared with everyone) logged nothing and won 15k on 2026-11-10 and 5k on
2026-10-01, before the 30d window.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert

from factories import AS_OF, accounts, activity_row, money, put_deal, read_export, zoho_time
from paceline.analytics.diagnose import diagnose_rep
from paceline.analytics.equation import RepEquation, revenue_equation
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings
from paceline.describe import finding_text
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

DAY = dt.date(2026, 10, 21)  # the activities: in the 30d window's first week
WON = dt.datetime(2026, 11, 10, 17)
EARLY_WIN = dt.datetime(2026, 10, 1, 16)  # Kim's: before the 30d window, in the 60d one
CREATED = dt.datetime(2026, 9, 1, 15)


def _calls(rep_id: int, per_account: int, account_ids: list[int]) -> list[dict[str, Any]]:
    return [
        activity_row(rep_id, DAY, account_id=a) for a in account_ids for _ in range(per_account)
    ]


def _meetings(rep_id: int, account_ids: list[int]) -> list[dict[str, Any]]:
    """Meetings held, each naming its account, with no Ask recorded (Zoho's events)."""
    return [
        activity_row(
            rep_id, DAY, kind="meeting", outcome="held", engaged=True, ask=False, account_id=a
        )
        for a in account_ids
    ]


def _admin(rep_id: int, n: int) -> list[dict[str, Any]]:
    return [activity_row(rep_id, DAY, kind="admin", outcome=None, ask=False) for _ in range(n)]


def _build(engine: Engine, settings: Settings) -> None:
    upgrade(engine)
    teams = {"Ana": "East", "Ben": "East", "Mo": "East", "Zed": "East"}
    teams |= {"Ria": "West", "Tom": "West", "Vic": "West", "Uma": "West", "Kim": "North"}
    reps = {name: add_rep(engine, settings, name, "ae", team=t) for name, t in teams.items()}
    accts = accounts(engine, 14, "Account")
    rows = _calls(reps["Ana"], 2, accts[0:5]) + _calls(reps["Ben"], 3, accts[5:9])
    rows += _meetings(reps["Mo"], accts[9:12] * 2) + _admin(reps["Zed"], 4)
    rows += _admin(reps["Ria"], 3) + _admin(reps["Tom"], 3) + _admin(reps["Vic"], 3)
    rows += _calls(reps["Uma"], 1, accts[12:14])
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    wins = [("Ana", 10_000), ("Ana", 30_000), ("Ben", 20_000), ("Mo", 40_000), ("Zed", 30_000)]
    wins += [("Ria", 10_000), ("Tom", 10_000), ("Vic", 10_000), ("Uma", 10_000), ("Kim", 15_000)]
    for i, (name, amount) in enumerate(wins):
        put_deal(engine, reps[name], f"win {i}", amount, CREATED, status="won", closed=WON)
    put_deal(engine, reps["Kim"], "early win", 5_000, CREATED, status="won", closed=EARLY_WIN)


@pytest.fixture
def built(engine: Engine, settings: Settings) -> Engine:
    _build(engine, settings)
    return engine


def _equations(engine: Engine, settings: Settings) -> dict[str, RepEquation]:
    window = diagnosis_window(settings, "30d", AS_OF)
    return {eq.rep: eq for eq in revenue_equation(engine, settings, window).reps}


def _values(eq: RepEquation) -> list[float | None]:
    return [f.value for f in eq.factors]


def test_selling_in_kinds_without_a_recorded_ask_is_unknown_not_zero(
    built: Engine, settings: Settings
) -> None:
    eqs = _equations(built, settings)
    mo = eqs["Mo"]
    assert (mo.prospects, mo.selling_activities, mo.wins, mo.revenue) == (0, 0, 1, 40_000)
    assert mo.missing == "asks"  # was None: prospects 0, "held back by prospects"
    assert mo.zero_factor is None and mo.holding_back is None and mo.gap is None
    assert _values(mo) == [None, None, None, 40_000]
    assert mo.reason is not None and "nobody records an Ask" in mo.reason

    # Work recorded as not selling is a real zero: Zed stays at zero prospects.
    zed = eqs["Zed"]
    assert zed.missing is None and zed.zero_factor == "prospects"

    # Mo's unknown is out of the medians: prospects 5, 4, 0 -> 4 (was 2 with Mo's 0).
    ana = eqs["Ana"]
    references = [f.reference for f in ana.factors]
    assert references == pytest.approx([4, 2.5, 17 / 120, 25_000])
    assert ana.reference_revenue == pytest.approx(4 * 2.5 * 17 / 120 * 25_000)  # 35,416.67
    assert ana.gap == pytest.approx(math.log(40_000 / 35_416.666666666664))


def test_the_brief_says_the_ask_is_not_recorded(built: Engine, settings: Settings) -> None:
    brief = diagnose_rep(built, settings, diagnosis_window(settings, "30d", AS_OF), "Mo")
    [found] = [f for f in brief.findings if f.kind in ("missing_data", "zero_factor")]
    assert (found.kind, found.subject) == ("missing_data", "asks")
    assert finding_text(settings, brief, found) == (
        "No Ask is recorded on the kinds of selling activity logged in this window: prospects"
        " and selling activity are unknown, not zero; the deals show 40,000 won in 1 deal"
        " (40,000 per win)"
    )  # was "No prospects worked in this window, yet 40,000 won: ..."


def test_the_brief_says_from_which_day_the_deals_are_read(
    built: Engine, settings: Settings
) -> None:
    """Over 60 days (2026-09-20..2026-11-18) the first selling activity is on 2026-10-21, so
    the equation reads from then: Kim's win of 2026-10-01 is in the window's funnel (2 won)
    but not in the equation's 1. The finding said "the deals show 15,000 won in 1 deal"
    under a brief headed with the whole window."""
    brief = diagnose_rep(built, settings, diagnosis_window(settings, "60d", AS_OF), "Kim")
    assert brief.equation is not None and brief.equation.measured_from == DAY
    assert {s.metric: s.count for s in brief.funnel.steps}["deals_won"] == 2
    [found] = [f for f in brief.findings if f.kind == "missing_data"]
    assert finding_text(settings, brief, found) == (
        "No activities logged in this window: prospects and selling activity are unknown, not"
        " zero; the deals show 15,000 won in 1 deal from 2026-10-21, the first selling"
        " activity recorded (15,000 per win)"
    )  # was "... the deals show 15,000 won in 1 deal (15,000 per win)"


def test_the_reason_names_the_median_at_zero(built: Engine, settings: Settings) -> None:
    eqs = _equations(built, settings)
    uma = eqs["Uma"]
    assert uma.factors[0].reference == 0  # the median of prospects 0, 0, 0, 2
    assert uma.gap is None and uma.wins == 1
    assert uma.reason == (
        "the comparison group's median of prospects is zero in this window, so there is no"
        " reference revenue to split a gap by: read a longer window"
    )  # was "... has a factor at zero in this window (most won nothing) ..."


# --- the real Zoho export ----------------------------------------------------------------------

APRIL = (dt.date(2021, 4, 1), dt.date(2021, 4, 30))
SELLING_PURPOSES = ("Prospecting", "Demo", "Negotiation")  # calls.toml's has_ask = yes


def _new_york_day(text: str) -> dt.date:
    """A call's or event's local day: the export's times are UTC ("2021-04-15 23:03:00")."""
    moment = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo("America/New_York")).date()


def _april_by_owner() -> tuple[Counter[str], Counter[str], Counter[str], dict[str, Decimal]]:
    """Per owner, counted from the CSV files: calls with an Ask, events (meetings: no Ask
    in the export), and the wins closed in April with their amounts."""
    first, last = APRIL
    asked = Counter(
        row["Call Owner"]
        for row in read_export("Calls")
        if row["Call Purpose"] in SELLING_PURPOSES
        and first <= _new_york_day(row["Call Start Time"]) <= last
    )
    met = Counter(
        row["Event Owner"]
        for row in read_export("Events")
        if first <= _new_york_day(row["Start DateTime"]) <= last
    )
    wins: Counter[str] = Counter()
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for row in read_export("Potentials"):
        if row["Stage"] == "Closed Won" and first <= zoho_time(row["Closing Date"]).date() <= last:
            wins[row["Potential Owner"]] += 1
            revenue[row["Potential Owner"]] += money(row["Amount"])
    return asked, met, wins, revenue


@pytest.mark.slow
def test_zoho_reps_who_met_without_an_ask_have_unknown_prospects(
    zoho_engine: Engine, settings: Settings
) -> None:
    asked, met, wins, revenue = _april_by_owner()
    # Roger Terrence and Rozario Diego held meetings in April and made no call with an Ask.
    assert (asked["Roger Terrence"], met["Roger Terrence"], wins["Roger Terrence"]) == (0, 2, 9)
    assert (asked["Rozario Diego"], met["Rozario Diego"], wins["Rozario Diego"]) == (0, 13, 14)
    assert revenue["Roger Terrence"] == Decimal("310700")

    window = diagnosis_window(settings, "quarter", APRIL[1])
    eqs = {eq.rep: eq for eq in revenue_equation(zoho_engine, settings, window).reps}
    for name in ("Roger Terrence", "Rozario Diego"):
        eq = eqs[name]
        assert (eq.wins, eq.revenue) == (wins[name], float(revenue[name]))
        assert eq.missing == "asks"  # was: prospects 0, "No prospects worked in this window"
        assert eq.zero_factor is None and eq.holding_back is None
    # A rep who called with an Ask is read as before (unknown for want of account names).
    assert all(eqs[n].missing != "asks" for n in asked if asked[n])


def _won_between(owner: str, first: dt.date, last: dt.date) -> tuple[int, Decimal]:
    rows = [
        row
        for row in read_export("Potentials")
        if row["Potential Owner"] == owner
        and row["Stage"] == "Closed Won"
        and first <= zoho_time(row["Closing Date"]).date() <= last
    ]
    return len(rows), sum((money(row["Amount"]) for row in rows), Decimal(0))


@pytest.mark.slow
def test_zoho_brief_says_from_which_day_its_deals_are_read(
    zoho_engine: Engine, settings: Settings
) -> None:
    """Harold Pawlan over 90 days to 2021-04-30 (2021-01-31..): the selling calls start on
    2021-02-14, so the equation reads from then: 35 wins for 2,621,700, where the brief's
    funnel counts the window's 37."""
    window = diagnosis_window(settings, "90d", APRIL[1])
    assert _won_between("Harold Pawlan", window.start, APRIL[1])[0] == 37
    wins, revenue = _won_between("Harold Pawlan", dt.date(2021, 2, 14), APRIL[1])
    assert (wins, revenue) == (35, Decimal("2621700"))
    brief = diagnose_rep(zoho_engine, settings, window, "Harold Pawlan")
    assert {s.metric: s.count for s in brief.funnel.steps}["deals_won"] == 37
    [found] = [f for f in brief.findings if f.kind == "missing_data"]
    assert (
        "the deals show 2,621,700 won in 35 deals from 2021-02-14, the first selling activity"
        " recorded (74,906 per win)"
    ) in finding_text(settings, brief, found)
