"""A realistic, seeded demo organisation with planted truths for the analyses to find.

Every number comes from one `numpy.random.default_rng(seed)` and the given `today`, so the same
seed and day always build the same organisation. The data is generated *causally*, the way a
sales floor works, so that the analyses have a real funnel to read rather than decorated noise:

    calls -> conversations (connect rate) -> meetings set (meeting rate)
          -> meetings held (show rate) -> opportunities (the tipping-point curve)
          -> proposals -> won / lost (win rate)

SDRs set meetings that are held by the account executives of their team; AEs and field reps
also book their own. Each rep has drawn parameters (volume, ask, connect, meeting, show, win
rate, share of selling time), and a few reps are planted with one broken step each (see
`PLANTED`). The ground truth can be written to a JSON file so tests and benchmarks can check
that each analysis finds what was planted.

Everything is built in memory with NumPy and written with a handful of SQLAlchemy Core bulk
inserts in one transaction: 30 reps over 15 months is about half a million activities.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, insert, select

from paceline import clock
from paceline.analytics.accrual import Accrual, pooled_curve
from paceline.analytics.metrics import distinct_firsts_by_period, metric_totals
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.stretch import alert_stretch
from paceline.calendar import BusinessCalendar, shift_months
from paceline.config import Settings
from paceline.services.targets import TargetRow, save_targets
from paceline.store.bulk import insert_rows
from paceline.store.day_zone import align_stored_days
from paceline.store.models import (
    Account,
    Activity,
    Base,
    Contact,
    Deal,
    DealStageHistory,
    Rep,
    Team,
)
from paceline.store.statistics import analyse_all

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Rng = np.random.Generator

SOURCE = "demo"
MIN_REPS = 12  # 3 managers + 4 SDRs + 3 AEs + 2 field reps: the fewest that hold every plant
MANAGERS = 3
SALES_TEAMS = ("East", "West")
FIELD_TEAM = "Field"
INSERT_BATCH = 50_000

# The planted tipping point: expected opportunities per rep-week given meetings held that week.
KNEE = 8.0
SLOPE_BELOW = 0.35
SLOPE_ABOVE = 0.01
# The planted weak closer wins a fifth as often per proposal as the other AEs: about 25 wins
# short a year, enough for a half-year diagnosis to tell it from bad luck (a third was not:
# an AE sends only ~20 proposals a quarter).
WEAK_WIN_DIVISOR = 5.0
BEHIND_PACE = 0.35  # recent activity of the two reps behind (see `recent_start`), against normal
# The field rep planted behind works deeper below their pace: a field rep's key metrics count
# about 15 by mid-month, so at 0.35 (about 5) chance alone hid them from the alerts (under 0.1%
# chance at target pace) on a quarter of the builds (the tiny demo, seeds 1-20 on Dec 1, Dec 5
# and Jan 4: 44 of 60 alerted both planted reps) and the full demo's seed 7 once the day after
# Thanksgiving 2025 became a holiday.
FIELD_BEHIND_PACE = 0.2
NEW_HIRE_DAYS = 42
RAMP_WEEKS = 8

DAY_START = 9 * 60  # local working window, minutes after midnight
DAY_END = 17 * 60 + 30

# Kinds and outcomes the generator writes; all must exist in the configuration.
KINDS = (
    "call",
    "meeting",
    "discovery_meeting",
    "video_meeting",
    "email",
    "letter",
    "social_message",
    "networking_event",
    "knowledge_share",
    "proposal",
    "follow_up",
    "admin",
    "crm_update",
    "research",
    "internal_meeting",
    "travel",
    "email_triage",
    "order_chasing",
    "support",
    "training",
)
OUTCOMES = (
    "no_answer",
    "voicemail",
    "gatekeeper",
    "conversation",
    "not_interested",
    "meeting_set",
    "held",
    "no_show",
    "replied",
    "sent",
    "proposal_reviewed",
    "done",
)
KIND = {name: i for i, name in enumerate(KINDS)}
OUTCOME = {name: i for i, name in enumerate(OUTCOMES)}

# Non-selling work by role: kind -> (share of non-selling minutes, median minutes).
NON_SELLING: dict[str, dict[str, tuple[float, float]]] = {
    "sdr": {
        "admin": (0.22, 15),
        "crm_update": (0.28, 8),
        "research": (0.25, 15),
        "internal_meeting": (0.13, 40),
        "email_triage": (0.10, 15),
        "training": (0.02, 60),
    },
    "ae": {
        "admin": (0.18, 20),
        "crm_update": (0.22, 10),
        "research": (0.15, 20),
        "internal_meeting": (0.15, 45),
        "email_triage": (0.15, 20),
        "order_chasing": (0.10, 15),
        "support": (0.05, 20),
    },
    "field": {
        "admin": (0.18, 20),
        "crm_update": (0.22, 10),
        "research": (0.10, 20),
        "internal_meeting": (0.12, 45),
        "email_triage": (0.15, 20),
        "order_chasing": (0.13, 15),
        "support": (0.10, 25),
    },
}
# The rep planted with low selling time drowns in exactly this kind of work.
BUSY_WORK = {
    "admin": (0.25, 25),
    "crm_update": (0.20, 12),
    "email_triage": (0.25, 20),
    "order_chasing": (0.20, 20),
    "internal_meeting": (0.10, 45),
}

FIRST_NAMES = (
    "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Lucas", "Mia", "Ethan", "Amara",
    "Kenji", "Priya", "Omar", "Chloe", "Diego", "Hannah", "Ravi", "Grace", "Jonas", "Leila",
    "Marcus", "Nora", "Tomas", "Zoe", "Samuel", "Ingrid", "Felix", "Aisha", "Daniel", "Yara",
    "Victor", "Julia", "Andre", "Maya", "Hugo", "Elena", "Kwame", "Lucia", "Owen", "Freya",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Brennan", "Castillo", "Haddad",
    "Fischer", "Kowalski", "Mensah", "Patel", "Rossi", "Sato", "Walsh", "Yilmaz", "Andersen",
    "Bauer", "Costa", "Dubois", "Evans", "Garcia", "Hughes", "Ivanova", "Jensen", "Kim",
    "Larsen", "Murphy", "Nakamura", "Oliveira", "Park", "Quinn", "Reyes", "Schmidt", "Torres",
    "Upton", "Vargas", "Weber", "Xu", "Zhang",
)  # fmt: skip
COMPANY_PREFIXES = (
    "North", "Blue", "Silver", "Granite", "Summit", "River", "Oak", "Pine", "Harbor", "Iron",
    "Bright", "Clear", "Red", "Stone", "Maple", "Cedar", "Eagle", "Falcon", "Golden", "Lake",
    "Prairie", "Quartz", "Sterling", "True", "West", "Apex", "Beacon", "Cobalt", "Delta",
    "Ember", "Frontier", "Horizon", "Keystone", "Lumen", "Meridian", "Nova", "Orbit",
    "Pioneer", "Vertex", "Zenith",
)  # fmt: skip
COMPANY_SUFFIXES = (
    "wind", "peak", "field", "gate", "point", "bridge", "line", "works", "stone", "view",
    "path", "forge", "crest", "well", "wood", "dale", "port", "ridge", "haven", "mark",
)  # fmt: skip
INDUSTRIES = (
    ("Logistics", "Transportation"), ("Systems", "Technology"), ("Health", "Healthcare"),
    ("Foods", "Food & Beverage"), ("Manufacturing", "Manufacturing"),
    ("Software", "Technology"), ("Energy", "Energy"), ("Retail", "Retail"),
    ("Partners", "Professional Services"), ("Labs", "Life Sciences"),
    ("Construction", "Construction"), ("Financial", "Financial Services"),
    ("Media", "Media"), ("Analytics", "Technology"), ("Supply", "Wholesale"),
    ("Dental", "Healthcare"), ("Legal", "Professional Services"),
    ("Hospitality", "Hospitality"), ("Motors", "Automotive"), ("Insurance", "Insurance"),
)  # fmt: skip
PRODUCTS = (
    "Platform licence", "Expansion", "Onboarding package", "Analytics add-on",
    "Annual subscription", "Pilot", "Enterprise upgrade",
)  # fmt: skip
# Seniority levels with their share of contacts, their titles and P(decision maker).
SENIORITY = (
    ("staff", 0.33, "Specialist", 0.02),
    ("manager", 0.30, "Manager", 0.15),
    ("director", 0.19, "Director", 0.50),
    ("vp", 0.13, "VP", 0.85),
    ("c_level", 0.05, "Chief Operating Officer", 0.95),
)
DEPARTMENTS = ("Operations", "Sales", "Finance", "IT", "Procurement", "Marketing")


@dataclass(frozen=True)
class DemoSummary:
    teams: list[str]
    reps: int  # selling reps + managers created
    first_day: dt.date
    last_day: dt.date  # == today
    activities: int
    deals: int
    deals_won: int
    deals_lost: int
    deals_open: int
    targets: int
    truth_path: Path | None


# --- the people ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RepProfile:
    """One person and the parameters their activity is drawn from (None: not applicable)."""

    index: int
    name: str
    role: str
    team: str
    start_date: dt.date
    daily_volume: float | None = None  # prospecting calls per full business day
    ask_rate: float | None = None
    connect_rate: float | None = None
    meeting_rate: float | None = None  # meetings set per conversation
    show_rate: float | None = None  # share of the meetings this rep sets (or books) held
    win_rate: float | None = None  # deals won per proposal
    selling_share: float | None = None  # target share of logged minutes spent selling
    weekly_meetings: float | None = None  # new-business meetings booked per week (AE, field)
    reply_rate: float = 0.0
    volume_factor: float = 1.0  # scales emails and other touches with the rep's energy
    pace_this_month: float = 1.0
    ramping: bool = False
    busy_work: bool = False

    def truth(self) -> dict[str, Any]:
        keys = ("daily_volume", "ask_rate", "connect_rate", "meeting_rate", "show_rate")
        data: dict[str, Any] = {
            "role": self.role,
            "team": self.team,
            "start_date": self.start_date.isoformat(),
        }
        for key in (*keys, "win_rate", "selling_share", "weekly_meetings"):
            value = getattr(self, key)
            data[key] = None if value is None else round(float(value), 4)
        return data


@dataclass(frozen=True)
class Roster:
    """Everyone in the demo, plus who carries which planted truth."""

    people: list[RepProfile]
    planted: dict[str, Any]

    def by_role(self, role: str) -> list[RepProfile]:
        return [p for p in self.people if p.role == role]

    def manager_of(self, team: str) -> RepProfile:
        return next(p for p in self.people if p.role == "manager" and p.team == team)


def role_mix(reps: int) -> tuple[int, int, int]:
    """(SDRs, AEs, field reps) for `reps` people including 3 managers.

    The minimum of 12 gives 4 SDRs, 3 AEs and 2 field reps: enough for every planted rep to
    be distinct and still have ordinary colleagues to be compared with.
    """
    selling = reps - MANAGERS
    field_reps = max(2, round(0.25 * selling))
    sdrs = max(4, round(0.40 * selling))
    return sdrs, selling - sdrs - field_reps, field_reps


def _distinct_names(rng: Rng, count: int) -> list[str]:
    """Plausible, distinct full names; 'Ana Ruiz' is kept free for the named AE."""
    pairs = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
    order = rng.permutation(len(pairs))
    names = [f"{pairs[i][0]} {pairs[i][1]}" for i in order[:count]]
    if count > len(pairs):
        names += [
            f"{names[i % len(pairs)]} {i // len(pairs) + 1}" for i in range(len(pairs), count)
        ]
    return names


def _plan_roster(rng: Rng, reps: int, first_day: dt.date, today: dt.date) -> Roster:
    """Three teams, each with a manager; everyone else started well before the history."""
    sdrs, aes, fields = role_mix(reps)
    names = iter(_distinct_names(rng, reps))
    people: list[RepProfile] = []

    def add(role: str, team: str) -> RepProfile:
        tenure = int(rng.integers(60, 1500))
        person = RepProfile(len(people), next(names), role, team, first_day - dt.timedelta(tenure))
        people.append(person)
        return person

    for team in (*SALES_TEAMS, FIELD_TEAM):
        add("manager", team)
    for i in range(sdrs):
        add("sdr", SALES_TEAMS[i % 2])
    for i in range(aes):
        add("ae", SALES_TEAMS[i % 2])
    for _ in range(fields):
        add("field", FIELD_TEAM)
    people = [_draw_parameters(rng, p) for p in people]
    return _plant(rng, people, today)


def _draw_parameters(rng: Rng, p: RepProfile) -> RepProfile:
    """Reps differ: each draws its own volume, ask, connect, meeting, show and win rates."""
    if p.role == "manager":
        return p
    u = rng.uniform
    p = replace(
        p,
        ask_rate=u(0.55, 0.90),
        show_rate=u(0.70, 0.88),
        selling_share=u(0.33, 0.45),
        volume_factor=u(0.85, 1.15),
    )
    if p.role == "sdr":
        return replace(
            p,
            daily_volume=u(40, 70),
            connect_rate=u(0.08, 0.15),
            meeting_rate=u(0.16, 0.28),
            reply_rate=u(0.04, 0.08),
        )
    connect = u(0.18, 0.28) if p.role == "ae" else u(0.20, 0.30)
    meeting = u(0.25, 0.35) if p.role == "ae" else u(0.30, 0.40)
    return replace(
        p,
        connect_rate=connect,
        meeting_rate=meeting,
        win_rate=u(0.30, 0.45),
        weekly_meetings=u(4.0, 13.0),
        reply_rate=u(0.08, 0.15),
    )


def _plant(rng: Rng, people: list[RepProfile], today: dt.date) -> Roster:
    """Give the planted reps their one broken step each; everyone else stays ordinary."""
    sdrs = [p for p in people if p.role == "sdr"]
    aes = [p for p in people if p.role == "ae"]
    fields = [p for p in people if p.role == "field"]
    team_calls = float(np.mean([p.daily_volume or 0.0 for p in sdrs[1:]]))
    team_connect = float(np.mean([p.connect_rate or 0.0 for p in sdrs[1:]]))
    team_win = float(np.mean([p.win_rate or 0.0 for p in aes if p is not aes[1]]))
    start = today - dt.timedelta(NEW_HIRE_DAYS)
    changes: dict[int, dict[str, Any]] = {
        sdrs[0].index: {
            "daily_volume": 2.5 * team_calls,
            "connect_rate": 0.012,
            "reply_rate": 0.005,
        },
        sdrs[1].index: {
            "meeting_rate": 0.03,
            "daily_volume": team_calls,
            "connect_rate": team_connect,
        },
        sdrs[2].index: {"pace_this_month": BEHIND_PACE},
        sdrs[-1].index: {"start_date": start, "ramping": True},
        aes[0].index: {"name": "Ana Ruiz", "weekly_meetings": float(rng.uniform(9.0, 12.0))},
        aes[1].index: {
            "win_rate": team_win / WEAK_WIN_DIVISOR,
            "weekly_meetings": float(rng.uniform(9.0, 12.0)),
        },
        fields[1].index: {"selling_share": 0.15, "volume_factor": 0.4, "busy_work": True},
        fields[0].index: {"pace_this_month": FIELD_BEHIND_PACE},
    }
    busy = fields[1]
    changes[busy.index]["weekly_meetings"] = (busy.weekly_meetings or 0.0) * 0.35
    people = [replace(p, **changes.get(p.index, {})) for p in people]
    name = {p.index: people[p.index].name for p in (*sdrs, *aes, *fields)}
    planted: dict[str, Any] = {
        "high_volume_low_engagement": name[sdrs[0].index],
        "weak_call_to_meeting": name[sdrs[1].index],
        "weak_proposal_to_win": name[aes[1].index],
        "low_selling_time": name[fields[1].index],
        "behind_this_month": [name[sdrs[2].index], name[fields[0].index]],
        "behind_this_month_pace": {
            name[sdrs[2].index]: BEHIND_PACE,
            name[fields[0].index]: FIELD_BEHIND_PACE,
        },
        "new_hire": name[sdrs[-1].index],
        "tipping_point": {
            "metric": "meetings_held",
            "outcome": "opportunities_created",
            "weekly_level": KNEE,
            "roles": ["ae", "field"],
            "shape": "E[opportunities in a week] = slope_below * min(h, weekly_level)"
            " + slope_above * max(h - weekly_level, 0), h = meetings held that week",
            "slope_below": SLOPE_BELOW,
            "slope_above": SLOPE_ABOVE,
            "lag_weeks": 0,
        },
    }
    return Roster(people, planted)


# --- the calendar ---------------------------------------------------------------------------


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier, clipped to the end of a shorter month."""
    return shift_months(day, -months)


@dataclass(frozen=True)
class Timeline:
    """Every calendar day of the history, with the factors that shape a working day."""

    first_day: dt.date
    days: NDArray[np.datetime64]
    business: BoolArray
    weekend: BoolArray  # non-working days that are not holidays
    rhythm: FloatArray  # weekday x season: Friday lighter, December dip
    fresh_rhythm: FloatArray  # weekday only: the current month runs at normal pace
    utc_offset_min: FloatArray
    current_month: BoolArray  # the recent stretch (see `recent_start`), not only this month
    trailing: BoolArray  # the three months before the recent stretch
    week: IntArray  # Monday-based week number from the first day

    @property
    def n(self) -> int:
        return len(self.days)

    def index(self, day: dt.date) -> int:
        return (day - self.first_day).days

    def utc(self, day: IntArray, minute: FloatArray) -> NDArray[np.datetime64]:
        """Naive UTC instants for local (day index, minute of day) pairs."""
        local_seconds = np.round(minute * 60).astype(np.int64)
        offset_seconds = (self.utc_offset_min[day] * 60).astype(np.int64)
        shift = (local_seconds - offset_seconds).astype("timedelta64[s]")
        moments: NDArray[np.datetime64] = self.days[day].astype("datetime64[s]") + shift
        return moments

    def utc_one(self, day: int, minute: float) -> dt.datetime:
        moment = self.utc(np.array([day]), np.array([minute]))[0]
        return moment.astype("datetime64[us]").item()  # type: ignore[no-any-return]


def _timeline(settings: Settings, first_day: dt.date, today: dt.date) -> Timeline:
    cal = BusinessCalendar(settings.calendar)
    dates = [first_day + dt.timedelta(i) for i in range((today - first_day).days + 1)]
    business = np.array([cal.is_business_day(d) for d in dates])
    weekday = np.array([d.weekday() for d in dates])
    weekday_factor = np.array([1.04, 1.08, 1.06, 1.02, 0.80, 0.0, 0.0])[weekday]
    season = np.array([_season(d) for d in dates])
    zone = settings.calendar.zone
    offsets = [
        dt.datetime.combine(d, dt.time(12), zone).utcoffset() or dt.timedelta() for d in dates
    ]
    recent = recent_start(settings, today)
    trailing_start = months_before(recent, 3)
    day_numbers = np.arange(len(dates))
    return Timeline(
        first_day=first_day,
        days=np.array(dates, dtype="datetime64[D]"),
        business=business,
        weekend=~business & (weekday >= 5) & np.array([not cal.is_holiday(d) for d in dates]),
        rhythm=weekday_factor * season,
        fresh_rhythm=weekday_factor,
        utc_offset_min=np.array([o.total_seconds() / 60 for o in offsets]),
        current_month=np.array([d >= recent for d in dates]),
        trailing=np.array([trailing_start <= d < recent for d in dates]),
        week=(day_numbers + first_day.weekday()) // 7,
    )


def _season(day: dt.date) -> float:
    """Light seasonality: the December holidays and early January dip, August a little."""
    if day.month == 12:
        return 0.5 if day.day >= 22 else 0.85
    if day.month == 1 and day.day <= 9:
        return 0.85
    return 0.92 if day.month == 8 else 1.0


def _intensity(rng: Rng, p: RepProfile, tl: Timeline) -> FloatArray:
    """How much of a normal day this rep works on each day (0 = not working).

    The recent stretch is rescaled to the rep's previous three-month average times their pace
    (1, or `BEHIND_PACE` and `FIELD_BEHIND_PACE` for the two planted reps), so that a pacing
    check sees only the planted gap. A new hire still ramping has no normal to rescale to;
    their recent stretch only loses the season (a new hire's first Christmas would otherwise
    read as falling behind).
    """
    noise = rng.lognormal(0.0, 0.12, tl.n)
    active = tl.days >= np.datetime64(p.start_date, "D")
    working = tl.business & active & _not_on_leave(rng, tl)
    ramp = _ramp(p, tl)
    level = np.where(working, tl.rhythm * noise, 0.0) * ramp
    normal = tl.trailing & tl.business & active
    now = tl.current_month & tl.business & active
    if p.ramping:
        level[now] = (tl.fresh_rhythm * noise * ramp)[now]
        return level
    if not normal.any() or not now.any():
        return level
    fresh = tl.fresh_rhythm[now] * noise[now]
    level[now] = fresh * (level[normal].mean() * p.pace_this_month / fresh.mean())
    return level


def _not_on_leave(rng: Rng, tl: Timeline) -> BoolArray:
    """Two weeks of holiday a year and a few sick days; nobody is away in the recent stretch."""
    present = rng.random(tl.n) > 0.02
    for _ in range(max(1, round(2 * tl.n / 365))):
        start = int(rng.integers(0, tl.n))
        present[start : start + 7] = False
    present[tl.current_month] = True
    return present


def _ramp(p: RepProfile, tl: Timeline) -> FloatArray:
    if not p.ramping:
        return np.ones(tl.n)
    weeks = (np.arange(tl.n) - tl.index(p.start_date)) / 7
    return np.clip(0.35 + 0.65 * weeks / RAMP_WEEKS, 0.0, 1.0)


def _work_minutes(rng: Rng, n: int) -> FloatArray:
    """Local minute of day: peaks mid-morning and mid-afternoon, within 9:00-17:30."""
    pick = rng.random(n)
    morning = rng.normal(10.5 * 60, 55, n)
    afternoon = rng.normal(14.5 * 60, 65, n)
    flat = rng.uniform(DAY_START, DAY_END, n)
    minute = np.where(pick < 0.45, morning, np.where(pick < 0.85, afternoon, flat))
    return np.clip(minute, DAY_START, DAY_END - 1)


def _meeting_slots(rng: Rng, n: int) -> FloatArray:
    return np.clip(np.round(_work_minutes(rng, n) / 30) * 30, DAY_START, DAY_END - 60)


def _days_of(counts: IntArray) -> IntArray:
    return np.repeat(np.arange(len(counts)), counts)


def _minutes(rng: Rng, median: float | FloatArray, n: int, spread: float = 0.35) -> FloatArray:
    drawn = np.maximum(0.2, median * rng.lognormal(0.0, spread, n))
    return np.asarray(np.round(drawn, 1), dtype=np.float64)


# --- accounts and contacts ------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    """Accounts (each owned by one rep) and their contacts."""

    account_names: list[str]
    account_industry: list[str]
    account_owner: IntArray
    contact_account: IntArray
    contact_seniority: IntArray
    contact_dm: BoolArray
    contact_names: list[str]
    contacts_of_rep: dict[int, IntArray]

    def pick(self, rng: Rng, rep: int, n: int) -> tuple[IntArray, IntArray]:
        """`n` contacts from the rep's own accounts, with their account."""
        pool = self.contacts_of_rep[rep]
        contact = pool[rng.integers(0, len(pool), n)]
        return self.contact_account[contact], contact


ACCOUNTS_PER_REP = {"sdr": 250, "ae": 120, "field": 120}


def _build_book(rng: Rng, people: list[RepProfile]) -> Book:
    owners = [p.index for p in people for _ in range(ACCOUNTS_PER_REP.get(p.role, 0))]
    names, industries = _company_names(rng, len(owners))
    per_account = rng.integers(2, 8, len(owners))
    contact_account = _days_of(per_account)
    n = len(contact_account)
    shares = np.array([s[1] for s in SENIORITY])
    seniority = rng.choice(len(SENIORITY), size=n, p=shares / shares.sum())
    dm_chance = np.array([s[3] for s in SENIORITY])[seniority]
    dm = rng.random(n) < dm_chance
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    owner = np.array(owners, dtype=np.int64)
    contact_owner = owner[contact_account]
    return Book(
        account_names=names,
        account_industry=industries,
        account_owner=owner,
        contact_account=contact_account,
        contact_seniority=seniority,
        contact_dm=dm,
        contact_names=[
            f"{FIRST_NAMES[f]} {LAST_NAMES[la]}" for f, la in zip(first, last, strict=True)
        ],
        contacts_of_rep={
            p.index: np.flatnonzero(contact_owner == p.index) for p in people if p.role != "manager"
        },
    )


def _company_names(rng: Rng, count: int) -> tuple[list[str], list[str]]:
    """Distinct invented company names with their industry (numbered once combinations run out)."""
    shape = (len(COMPANY_PREFIXES), len(COMPANY_SUFFIXES), len(INDUSTRIES))
    total = shape[0] * shape[1] * shape[2]
    order = rng.permutation(total)
    names: list[str] = []
    industries: list[str] = []
    for i in range(count):
        a, b, c = np.unravel_index(int(order[i % total]), shape)
        base = f"{COMPANY_PREFIXES[a]}{COMPANY_SUFFIXES[b]} {INDUSTRIES[c][0]}"
        names.append(base if i < total else f"{base} {i // total + 1}")
        industries.append(INDUSTRIES[c][1])
    return names, industries


# --- activities -----------------------------------------------------------------------------

COLUMNS = ("day", "minute", "kind", "outcome", "duration", "has_ask", "account", "contact", "deal")


@dataclass
class Activities:
    """One rep's activities as column arrays (index -1 = no account / contact / deal)."""

    rep: int
    parts: dict[str, list[NDArray[Any]]] = field(default_factory=lambda: defaultdict(list))

    def add(
        self,
        *,
        day: IntArray,
        minute: FloatArray,
        kind: IntArray | int,
        outcome: IntArray | int,
        duration: FloatArray,
        has_ask: BoolArray | bool,
        account: IntArray | int = -1,
        contact: IntArray | int = -1,
        deal: IntArray | int = -1,
    ) -> None:
        n = len(day)
        values = {
            "day": day,
            "minute": minute,
            "kind": kind,
            "outcome": outcome,
            "duration": duration,
            "has_ask": has_ask,
            "account": account,
            "contact": contact,
            "deal": deal,
        }
        for name, value in values.items():
            self.parts[name].append(np.broadcast_to(np.asarray(value), (n,)))

    def column(self, name: str) -> NDArray[Any]:
        chunks = self.parts.get(name)
        return np.concatenate(chunks) if chunks else np.array([])

    def minutes(self, selling_kinds: BoolArray) -> tuple[float, float]:
        """(selling minutes, all logged minutes) so far."""
        if not self.parts:
            return 0.0, 0.0
        duration = self.column("duration").astype(float)
        kind = self.column("kind").astype(np.int64)
        selling = selling_kinds[kind] & self.column("has_ask").astype(bool)
        return float(duration[selling].sum()), float(duration.sum())


@dataclass(frozen=True)
class MeetingSets:
    """Meetings set on calls, waiting to be held: when, with whom, and P(held)."""

    day: IntArray
    account: IntArray
    contact: IntArray
    show: FloatArray
    setter: IntArray  # the rep who set each meeting: who sourced the opportunity it opens


def _calls(rng: Rng, p: RepProfile, level: FloatArray, book: Book, out: Activities) -> MeetingSets:
    """Prospecting calls and their outcomes; returns the meetings they set."""
    day = _days_of(rng.poisson((p.daily_volume or 0.0) * level))
    n = len(day)
    account, contact = book.pick(rng, p.index, n)
    connected = rng.random(n) < (p.connect_rate or 0.0)
    u = rng.random(n)
    meeting_rate = p.meeting_rate or 0.0
    is_set = connected & (u < meeting_rate)
    refused = connected & ~is_set & (u < meeting_rate + (1 - meeting_rate) * 0.35)
    v = rng.random(n)
    cases = [
        ~connected & (v < 0.55),
        ~connected & (v >= 0.55) & (v < 0.90),
        ~connected & (v >= 0.90),
        refused,
        is_set,
        connected & ~is_set & ~refused,
    ]
    names = ("no_answer", "voicemail", "gatekeeper", "not_interested", "meeting_set")
    outcome = np.select(cases, [OUTCOME[o] for o in names] + [OUTCOME["conversation"]])
    median = np.select(cases, [0.5, 1.5, 2.0, 2.5, 9.0, 6.0])
    ask = p.ask_rate or 0.0
    ask_chance = np.select(cases, [0.0, ask, 0.0, 0.8, 1.0, ask])  # a voicemail can ask
    out.add(
        day=day,
        minute=_work_minutes(rng, n),
        kind=KIND["call"],
        outcome=outcome,
        duration=_minutes(rng, median, n),
        has_ask=rng.random(n) < ask_chance,
        account=account,
        contact=contact,
    )
    sets = np.flatnonzero(is_set)
    show = np.full(len(sets), p.show_rate or 0.0)
    return MeetingSets(day[sets], account[sets], contact[sets], show, np.full(len(show), p.index))


def _messages(
    rng: Rng, p: RepProfile, level: FloatArray, book: Book, out: Activities, kind: str, rate: float
) -> None:
    """Emails, social messages, letters: a reply is engagement, so it always follows an Ask."""
    day = _days_of(rng.poisson(rate * p.volume_factor * level))
    n = len(day)
    account, contact = book.pick(rng, p.index, n)
    replied = rng.random(n) < p.reply_rate * (0.5 if kind == "social_message" else 1.0)
    asked = replied | (rng.random(n) < (p.ask_rate or 0.0) * 0.8)
    median = {"email": 4.0, "social_message": 3.0, "letter": 10.0}[kind]
    out.add(
        day=day,
        minute=_work_minutes(rng, n),
        kind=KIND[kind],
        outcome=np.where(replied, OUTCOME["replied"], OUTCOME["sent"]),
        duration=_minutes(rng, median, n),
        has_ask=asked,
        account=account,
        contact=contact,
    )


def _weekend_emails(rng: Rng, p: RepProfile, tl: Timeline, book: Book, out: Activities) -> None:
    """A few evening emails on weekends (never on holidays): real reps do this."""
    allowed = tl.weekend & (tl.days >= np.datetime64(p.start_date, "D"))
    day = np.flatnonzero(allowed & (rng.random(tl.n) < 0.06))
    n = len(day)
    account, contact = book.pick(rng, p.index, n)
    out.add(
        day=day,
        minute=rng.uniform(19 * 60, 22 * 60, n),
        kind=KIND["email"],
        outcome=OUTCOME["sent"],
        duration=_minutes(rng, 5.0, n),
        has_ask=rng.random(n) < 0.5,
        account=account,
        contact=contact,
    )


def _occasional(
    rng: Rng,
    level: FloatArray,
    out: Activities,
    kind: str,
    rate: float,
    median: float,
    ask: float,
    outcome: str,
) -> None:
    day = _days_of(rng.poisson(rate * level))
    n = len(day)
    out.add(
        day=day,
        minute=_work_minutes(rng, n),
        kind=KIND[kind],
        outcome=OUTCOME[outcome],
        duration=_minutes(rng, median, n, 0.25),
        has_ask=rng.random(n) < ask,
    )


def _non_selling(
    rng: Rng, p: RepProfile, level: FloatArray, out: Activities, selling_kinds: BoolArray
) -> None:
    """Getting-ready-to-sell work, sized so the rep's selling share lands on their target."""
    selling, logged = out.minutes(selling_kinds)
    working_days = float(level.sum())
    if working_days <= 0:
        return
    needed = selling / (p.selling_share or 0.4) - logged
    budget = max(needed, 30.0 * working_days)
    mix = BUSY_WORK if p.busy_work else NON_SELLING[p.role]
    total_share = sum(share for share, _ in mix.values())
    for kind, (share, median) in mix.items():
        per_day = budget * share / total_share / median / working_days
        _occasional(rng, level, out, kind, per_day, median, 0.0, "done")


# --- meetings, opportunities and deals (AEs and field reps) ---------------------------------


@dataclass(frozen=True)
class StagePlan:
    """The configured deal stages, read as: open path, won, lost, and where proposals go."""

    open: tuple[str, ...]
    won: str
    lost: str
    proposal_at: int

    @classmethod
    def from_settings(cls, settings: Settings) -> StagePlan:
        open_stages = tuple(s.name for s in settings.stages if s.status == "open")
        won = [s.name for s in settings.stages if s.status == "won"]
        lost = [s.name for s in settings.stages if s.status == "lost"]
        if len(open_stages) < 2 or not won or not lost:
            raise ValueError(
                "the demo needs at least two open deal stages, a won stage and a lost stage"
            )
        if "proposal" in open_stages[1:]:
            at = open_stages.index("proposal")
        else:
            at = max(1, len(open_stages) * 2 // 3)
        return cls(open_stages, won[0], lost[0], at)

    def advance_chance(self, step: int, win_rate: float) -> float:
        """P(moving from open[step - 1] to the next stage): wins per proposal = win_rate."""
        if step <= self.proposal_at:
            return 0.88
        return float(win_rate ** (1 / (len(self.open) - self.proposal_at)))


@dataclass
class DealDraft:
    """A deal and the stages it entered, with when; written as a deal plus its history."""

    index: int
    rep: int
    account: int
    contact: int
    name: str
    amount: Decimal
    created_at: dt.datetime
    expected_close: dt.date
    created_day: int  # the timeline's index of the local day it was opened
    history: list[tuple[str, dt.datetime]] = field(default_factory=list)
    status: str = "open"
    sourced_by: int | None = None


@dataclass(frozen=True)
class Meetings:
    """New-business meetings on one rep's calendar."""

    day: IntArray
    minute: FloatArray
    account: IntArray
    contact: IntArray
    held: BoolArray
    kind: IntArray
    setter: IntArray


@dataclass
class DealBook:
    """Every deal drafted so far; numbered in creation order."""

    deals: list[DealDraft] = field(default_factory=list)


@dataclass
class Closer:
    """Working state while one AE or field rep turns meetings into deals, week by week."""

    rng: Rng
    rep: RepProfile
    tl: Timeline
    plan: StagePlan
    book: Book
    working_days: IntArray
    out: Activities
    average_deal_size: float
    deal_meetings: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    # Per deal, whether a rep behind this month works it in the recent stretch (`holds_back`).
    worked: dict[int, bool] = field(default_factory=dict)
    owed: float | None = None  # the share of a deal to work carried to the next one

    @property
    def meeting_kind(self) -> int:
        return KIND["meeting"] if self.rep.role == "field" else KIND["video_meeting"]

    def next_working_day(self, day: float) -> int | None:
        at = int(np.searchsorted(self.working_days, math.ceil(day)))
        return int(self.working_days[at]) if at < len(self.working_days) else None

    def holds_back(self, day: int, deal: DealDraft) -> bool:
        """A rep behind this month also moves deals less: this touch does not happen (yet).

        Decided once per deal opened before the recent stretch: of those deals, the pace's
        share is worked there as usual (systematically, in the order met), the rest wait.
        Drawn per touch, a deal's second touch in the stretch needed two draws and its third
        three (a held-back stage move ends the deal's walk), so the planted field rep's
        proposals ran at 0.21 of normal on average over seeds 1-40, not 0.35. A deal opened in
        the stretch is worked: its meeting was already one of the fewer held (`_cancelled`)."""
        if self.rep.pace_this_month >= 1 or not self.tl.current_month[day]:
            return False
        if self.tl.current_month[deal.created_day]:
            return False
        if deal.index not in self.worked:
            # Systematic: of the deals met so far, the pace's share (to within one) is worked.
            owed = self.owed if self.owed is not None else float(self.rng.random())
            owed += self.rep.pace_this_month
            self.worked[deal.index] = owed >= 1.0
            self.owed = owed - 1.0 if owed >= 1.0 else owed
        return not self.worked[deal.index]

    def touch(
        self,
        day: int,
        kind: int,
        outcome: str,
        median: float,
        ask: bool,
        deal: DealDraft,
    ) -> dt.datetime:
        """One deal activity; returns when it happened (stage changes are stamped with it)."""
        minute = float(_work_minutes(self.rng, 1)[0])
        if kind == self.meeting_kind:
            minute = float(_meeting_slots(self.rng, 1)[0])
            self.deal_meetings[int(self.tl.week[day])] += 1
            if kind == KIND["meeting"]:
                self._travel(day, minute)
        self.out.add(
            day=np.array([day]),
            minute=np.array([minute]),
            kind=kind,
            outcome=OUTCOME[outcome],
            duration=_minutes(self.rng, median, 1, 0.25),
            has_ask=ask,
            account=deal.account,
            contact=deal.contact,
            deal=deal.index,
        )
        return self.tl.utc_one(day, minute)

    def _travel(self, day: int, minute: float) -> None:
        travel = _minutes(self.rng, 40.0, 1, 0.4)
        self.out.add(
            day=np.array([day]),
            minute=np.maximum(np.array([minute]) - travel, 7 * 60),
            kind=KIND["travel"],
            outcome=OUTCOME["done"],
            duration=travel,
            has_ask=False,
        )


def _closer_week_by_week(closer: Closer, meetings: Meetings, deals: DealBook) -> IntArray:
    """Turn held meetings into opportunities along the planted tipping-point curve.

    Weeks run in order because deal meetings (needs analysis, negotiation) booked by earlier
    deals add to a later week's meetings held, and so to that week's opportunities.
    Returns, per meeting, the deal it created (-1 for none).
    """
    created = np.full(len(meetings.day), -1, dtype=np.int64)
    weeks = closer.tl.week[meetings.day]
    held_by_week: dict[int, list[int]] = defaultdict(list)
    for i in np.flatnonzero(meetings.held):
        held_by_week[int(weeks[i])].append(int(i))
    for week in range(int(closer.tl.week[-1]) + 1):
        held = held_by_week.get(week, [])
        total = len(held) + closer.deal_meetings[week]
        wanted = SLOPE_BELOW * min(total, KNEE) + SLOPE_ABOVE * max(total - KNEE, 0.0)
        # Randomised rounding, not Poisson: the curve should be estimable from a few months.
        count = min(int(wanted + closer.rng.random()), len(held))
        if count == 0:
            continue
        for i in sorted(closer.rng.choice(held, size=count, replace=False).tolist()):
            created[i] = _open_deal(closer, meetings, i, deals)
    return created


def _open_deal(closer: Closer, meetings: Meetings, i: int, deals: DealBook) -> int:
    """An opportunity from held meeting `i`, logged right after it, at that meeting's account."""
    rng, tl = closer.rng, closer.tl
    day = int(meetings.day[i])
    account = int(meetings.account[i])
    created = tl.utc_one(day, float(meetings.minute[i]) + 45 + float(rng.uniform(5, 60)))
    amount = closer.average_deal_size * float(rng.lognormal(-(0.55**2) / 2, 0.55))
    cycle = 45 * float(rng.lognormal(0.0, 0.3))
    deal = DealDraft(
        index=len(deals.deals),
        rep=closer.rep.index,
        account=account,
        contact=int(meetings.contact[i]),
        name=f"{closer.book.account_names[account]} - {PRODUCTS[int(rng.integers(len(PRODUCTS)))]}",
        amount=Decimal(max(1000, round(amount, -2))).quantize(Decimal("0.01")),
        created_at=created,
        expected_close=created.date() + dt.timedelta(days=round(cycle)),
        created_day=day,
        history=[(closer.plan.open[0], created)],
        sourced_by=int(meetings.setter[i]),
    )
    deals.deals.append(deal)
    _run_deal(closer, deal, day)
    return deal.index


def _run_deal(closer: Closer, deal: DealDraft, created_day: int) -> None:
    """Walk a deal through the stages; it stays open wherever today finds it."""
    rng, plan = closer.rng, closer.plan
    next_week = (int(closer.tl.week[created_day]) + 1) * 7 - closer.tl.first_day.weekday()
    day = created_day
    for step in range(1, len(plan.open) + 1):
        advances = rng.random() < plan.advance_chance(step, closer.rep.win_rate or 0.0)
        dwell = max(2.0, (1.5 + 2 * step) * float(rng.lognormal(0.0, 0.5)))
        dwell *= 1.0 if advances else 1.4
        _follow_ups(closer, deal, day, dwell, after_proposal=step == plan.proposal_at + 1)
        found = closer.next_working_day(day + dwell)
        if found is None or closer.holds_back(found, deal):
            return  # still open today, in the stage it reached
        day = found
        if not advances:
            moment = closer.touch(day, KIND["follow_up"], "not_interested", 5, True, deal)
            deal.history.append((plan.lost, moment))
            deal.status = "lost"
            return
        if step < len(plan.open) and _is_meeting_stage(plan, step):
            later = closer.next_working_day(max(day, next_week))
            if later is None:
                return
            day = later
        moment = _stage_touch(closer, deal, day, step)
        stage = plan.open[step] if step < len(plan.open) else plan.won
        deal.history.append((stage, moment))
        if stage == plan.won:
            deal.status = "won"
            return


def _is_meeting_stage(plan: StagePlan, step: int) -> bool:
    return step == plan.proposal_at - 1 or step > plan.proposal_at


def _stage_touch(closer: Closer, deal: DealDraft, day: int, step: int) -> dt.datetime:
    """The activity that moves a deal into open[step] (or to won when step == len(open))."""
    plan = closer.plan
    if step == len(plan.open):
        return closer.touch(day, KIND["call"], "conversation", 15, True, deal)
    if step == plan.proposal_at:
        return closer.touch(day, KIND["proposal"], "sent", 90, True, deal)
    if _is_meeting_stage(plan, step):
        asked = bool(closer.rng.random() < (closer.rep.ask_rate or 0.0)) or step > plan.proposal_at
        return closer.touch(day, closer.meeting_kind, "held", 50, asked, deal)
    return closer.touch(day, KIND["call"], "conversation", 10, True, deal)


def _follow_ups(
    closer: Closer, deal: DealDraft, start: int, dwell: float, *, after_proposal: bool
) -> None:
    """Nudges while a deal waits in a stage, about one a week."""
    for n in range(1, int(dwell // 6) + 1):
        day = closer.next_working_day(start + 6 * n - 2)
        if day is None or day >= start + dwell:
            return
        if closer.holds_back(day, deal):
            continue
        if after_proposal and n == 1 and closer.rng.random() < 0.6:
            closer.touch(day, KIND["follow_up"], "proposal_reviewed", 15, True, deal)
            continue
        replied = bool(closer.rng.random() < 0.35)
        asked = replied or bool(closer.rng.random() < 0.85)
        closer.touch(day, KIND["follow_up"], "replied" if replied else "sent", 8, asked, deal)


def _schedule(
    rng: Rng, sets: MeetingSets, working_days: IntArray, last_day: int
) -> tuple[IntArray, BoolArray]:
    """The working day each set meeting takes place (2-7 working days later); False = future."""
    lag = rng.integers(2, 8, len(sets.day))
    at = np.searchsorted(working_days, sets.day + 1) + lag - 1
    happens = at < len(working_days)
    day = np.where(happens, working_days[np.minimum(at, len(working_days) - 1)], last_day + 1)
    return day, happens & (day <= last_day)


def _book_meetings(
    rng: Rng,
    p: RepProfile,
    fed: MeetingSets,
    own: MeetingSets,
    working_days: IntArray,
    tl: Timeline,
) -> Meetings:
    """The meetings that took place by today; a rep behind this month cancels some of theirs."""
    sets = MeetingSets(
        np.concatenate([fed.day, own.day]),
        np.concatenate([fed.account, own.account]),
        np.concatenate([fed.contact, own.contact]),
        np.concatenate([fed.show, own.show]),
        np.concatenate([fed.setter, own.setter]),
    )
    day, happens = _schedule(rng, sets, working_days, tl.n - 1)
    happens &= ~_cancelled(rng, p, sets, day, tl)
    held = rng.random(len(day)) < sets.show
    discovery = rng.random(len(day)) < 0.7
    kind = np.where(discovery, KIND["discovery_meeting"], KIND["video_meeting"])
    if p.role == "field":
        kind = np.full(len(day), KIND["meeting"])
    keep = np.flatnonzero(happens)
    order = keep[np.argsort(day[keep], kind="stable")]
    return Meetings(
        day=day[order],
        minute=_meeting_slots(rng, len(order)),
        account=sets.account[order],
        contact=sets.contact[order],
        held=held[order],
        kind=kind[order],
        setter=sets.setter[order],
    )


def _cancelled(
    rng: Rng, p: RepProfile, sets: MeetingSets, day: IntArray, tl: Timeline
) -> BoolArray:
    """The meetings a rep behind this month cancels: of those booked before the recent
    stretch that fall in it, all but `pace_this_month` (that share exactly, at random).

    Meetings booked inside the stretch are not cancelled again: the rep's calls there already
    run at their pace (`_intensity`), so they booked that share of the usual meetings. Cutting
    both held the planted field rep's face-to-face meetings at 0.17 of normal on average over
    seeds 1-40 (0.35 x 0.35 for most of the month), not the 0.35 the truth file plants.
    """
    in_stretch = tl.current_month[np.minimum(day, tl.n - 1)]
    candidates = np.flatnonzero(in_stretch & ~tl.current_month[sets.day])
    kept = int(len(candidates) * p.pace_this_month + rng.random())
    cancelled = np.zeros(len(day), dtype=bool)
    cancelled[rng.permutation(candidates)[kept:]] = True
    return cancelled


def _log_meetings(
    rng: Rng, p: RepProfile, meetings: Meetings, deal: IntArray, out: Activities
) -> None:
    """Held meetings and no-shows; a field rep drives to each one (non-selling travel)."""
    n = len(meetings.day)
    asked = meetings.held & (rng.random(n) < (p.ask_rate or 0.0))
    out.add(
        day=meetings.day,
        minute=meetings.minute,
        kind=meetings.kind,
        outcome=np.where(meetings.held, OUTCOME["held"], OUTCOME["no_show"]),
        duration=np.where(meetings.held, _minutes(rng, 45, n, 0.25), _minutes(rng, 12, n, 0.2)),
        has_ask=asked,
        account=meetings.account,
        contact=meetings.contact,
        deal=deal,
    )
    if p.role == "field":
        travel = _minutes(rng, 40.0, n, 0.4)
        out.add(
            day=meetings.day,
            minute=np.maximum(meetings.minute - travel, 7 * 60),
            kind=KIND["travel"],
            outcome=OUTCOME["done"],
            duration=travel,
            has_ask=False,
        )


# --- putting it together --------------------------------------------------------------------


@dataclass
class Org:
    """The whole simulated organisation, held in memory until it is written in one go."""

    roster: Roster
    book: Book
    activities: list[Activities]
    deals: DealBook


def _empty_sets() -> MeetingSets:
    empty = np.array([], dtype=np.int64)
    return MeetingSets(empty, empty, empty, np.array([], dtype=float), empty)


def _simulate(
    rng: Rng, settings: Settings, roster: Roster, tl: Timeline, average_deal_size: float
) -> Org:
    book = _build_book(rng, roster.people)
    selling_kinds = np.array([k in settings.selling_kinds for k in KINDS])
    level = {p.index: _intensity(rng, p, tl) for p in roster.people}
    logs = {p.index: Activities(p.index) for p in roster.people}
    fed: dict[int, list[MeetingSets]] = defaultdict(list)
    for p in roster.by_role("sdr"):
        sets = _prospect(rng, p, level[p.index], tl, book, logs[p.index])
        _hand_over(rng, sets, roster.by_role("ae"), p.team, fed)
        if p.pace_this_month < 1:
            covered = _covered_by_the_aes(rng, p, level[p.index], tl, book)
            _hand_over(rng, covered, roster.by_role("ae"), p.team, fed, book_own=True)
    deals = DealBook()
    plan = StagePlan.from_settings(settings)
    people = list(roster.people)
    for p in (*roster.by_role("ae"), *roster.by_role("field")):
        closer = _closer_profile(p, fed[p.index], level[p.index])
        people[p.index] = closer
        own = _prospect(rng, closer, level[p.index], tl, book, logs[p.index])
        _field_and_ae_extras(rng, closer, level[p.index], logs[p.index])
        working = np.flatnonzero(level[p.index] > 0)
        meetings = _book_meetings(rng, p, _merge(fed[p.index]), own, working, tl)
        state = Closer(rng, closer, tl, plan, book, working, logs[p.index], average_deal_size)
        created = _closer_week_by_week(state, meetings, deals)
        _log_meetings(rng, p, meetings, created, logs[p.index])
    for p in roster.people:
        if p.role == "manager":
            _manager_week(rng, level[p.index], logs[p.index])
        else:
            _non_selling(rng, p, level[p.index], logs[p.index], selling_kinds)
    return Org(Roster(people, roster.planted), book, list(logs.values()), deals)


def _prospect(
    rng: Rng, p: RepProfile, level: FloatArray, tl: Timeline, book: Book, out: Activities
) -> MeetingSets:
    """Calls, emails and social messages; returns the meetings the calls set."""
    sets = _calls(rng, p, level, book, out)
    _messages(rng, p, level, book, out, "email", 15.0 if p.role == "sdr" else 10.0)
    _messages(rng, p, level, book, out, "social_message", 6.0 if p.role == "sdr" else 1.5)
    _weekend_emails(rng, p, tl, book, out)
    return sets


def _covered_by_the_aes(
    rng: Rng, p: RepProfile, level: FloatArray, tl: Timeline, book: Book
) -> MeetingSets:
    """The meetings an SDR planted behind does not set lately, their AEs book themselves.

    Otherwise the gap spreads: the AEs the SDR feeds hold fewer meetings and send fewer
    proposals, and are behind too, while only the SDR was planted behind. The AEs' booking
    calls are not logged (an AE's calls are not among their key metrics)."""
    missing = np.where(tl.current_month, level * (1 / p.pace_this_month - 1), 0.0)
    return _calls(rng, p, missing, book, Activities(p.index))


def _hand_over(
    rng: Rng,
    sets: MeetingSets,
    aes: list[RepProfile],
    team: str,
    fed: dict[int, list[MeetingSets]],
    book_own: bool = False,
) -> None:
    """An SDR's meetings go to the AEs of the same team, busier AEs taking more (`book_own`:
    each AE set the meetings they get, and sources what they open)."""
    hosts = [a for a in aes if a.team == team]
    if not hosts or not len(sets.day):
        return
    weight = np.array([a.weekly_meetings or 1.0 for a in hosts])
    host = rng.choice(len(hosts), size=len(sets.day), p=weight / weight.sum())
    for h, a in enumerate(hosts):
        mine = host == h
        fed[a.index].append(
            MeetingSets(
                sets.day[mine],
                sets.account[mine],
                sets.contact[mine],
                sets.show[mine],
                np.full(int(mine.sum()), a.index) if book_own else sets.setter[mine],
            )
        )


def _merge(parts: Sequence[MeetingSets]) -> MeetingSets:
    if not parts:
        return _empty_sets()
    return MeetingSets(
        np.concatenate([s.day for s in parts]),
        np.concatenate([s.account for s in parts]),
        np.concatenate([s.contact for s in parts]),
        np.concatenate([s.show for s in parts]),
        np.concatenate([s.setter for s in parts]),
    )


def _closer_profile(p: RepProfile, fed: list[MeetingSets], level: FloatArray) -> RepProfile:
    """An AE calls as much as it takes to fill the calendar the SDRs leave open."""
    weeks = max(1.0, float(level.sum()) / 5)
    fed_per_week = sum(len(s.day) for s in fed) / weeks
    own_per_week = max(0.25 * (p.weekly_meetings or 0.0), (p.weekly_meetings or 0.0) - fed_per_week)
    per_call = (p.connect_rate or 0.0) * (p.meeting_rate or 0.0)
    return replace(p, daily_volume=max(5.0, own_per_week / 5 / per_call))


def _field_and_ae_extras(rng: Rng, p: RepProfile, level: FloatArray, out: Activities) -> None:
    """Shared expertise, networking events and (field) letters: selling beyond calls."""
    v = p.volume_factor
    ask = p.ask_rate or 0.0
    _occasional(rng, level, out, "knowledge_share", 0.3 * v, 20, 0.4 * ask, "sent")
    if p.role == "field":
        _occasional(rng, level, out, "networking_event", 0.2 * v, 150, 0.5, "conversation")
        _occasional(rng, level, out, "letter", 0.2 * v, 10, 0.5 * ask, "sent")
    else:
        _occasional(rng, level, out, "networking_event", 0.04 * v, 120, 0.5, "conversation")


def _manager_week(rng: Rng, level: FloatArray, out: Activities) -> None:
    """Managers coach and meet; they log internal meetings and admin, not selling."""
    _occasional(rng, level, out, "internal_meeting", 1.2, 40, 0.0, "done")
    _occasional(rng, level, out, "admin", 0.8, 20, 0.0, "done")


# --- writing --------------------------------------------------------------------------------


def _insert_returning_ids(
    conn: Connection, model: type[Base], rows: list[dict[str, Any]]
) -> IntArray:
    """Insert in one statement batch and return the new ids in row order."""
    if not rows:
        return np.array([], dtype=np.int64)
    statement = insert(model).returning(model.__table__.c.id, sort_by_parameter_order=True)
    return np.array(conn.execute(statement, rows).scalars().all(), dtype=np.int64)


def _insert(conn: Connection, model: type[Base], rows: Iterator[dict[str, Any]]) -> int:
    """Bulk-insert rows that all carry the same keys, at driver speed (see store.bulk)."""
    batch: list[tuple[Any, ...]] = []
    columns: tuple[str, ...] = ()
    count = 0
    for row in rows:
        columns = columns or tuple(row)
        batch.append(tuple(row.values()))
        if len(batch) == INSERT_BATCH:
            insert_rows(conn, model.__table__, columns, batch)
            count += len(batch)
            batch = []
    insert_rows(conn, model.__table__, columns, batch)
    return count + len(batch)


def _until(deals: list[DealDraft], now: dt.datetime | None) -> list[DealDraft | None]:
    """The deals as they stood at `now` (naive UTC; None: the whole last day), in index
    order: a deal created later is not there yet (None), a stage entered later is not
    entered yet, and a deal whose close comes later is still open in the stage before it.
    The demo simulates whole days; the clock is read once its last day is planned."""
    if now is None:
        return list(deals)
    kept: list[DealDraft | None] = []
    for d in deals:
        history = [(stage, at) for stage, at in d.history if at <= now]
        if d.created_at > now or not history:
            kept.append(None)
        elif len(history) < len(d.history):
            kept.append(replace(d, history=history, status="open"))
        else:
            kept.append(d)
    return kept


def _write(
    engine: Engine, org: Org, tl: Timeline, settings: Settings, now: dt.datetime | None = None
) -> tuple[int, list[str]]:
    """Write the whole organisation in one transaction, nothing dated after `now` (naive
    UTC; None: up to the end of the last day); returns the activity count and the written
    deals' statuses."""
    stamp = dt.datetime.combine(tl.first_day, dt.time(6))
    with engine.begin() as conn:
        team_id = _write_teams(conn, stamp)
        rep_id = _write_reps(conn, org.roster, team_id, stamp)
        account_id = _insert_returning_ids(
            conn, Account, list(_account_rows(org.book, rep_id, stamp))
        )
        contact_id = _insert_returning_ids(
            conn, Contact, list(_contact_rows(org.book, account_id, stamp))
        )
        at_now = _until(org.deals.deals, now)
        written = [d for d in at_now if d is not None]
        deal_id = np.full(len(at_now), -1, dtype=np.int64)  # -1: not created by now
        deal_id[[d.index for d in written]] = _insert_returning_ids(
            conn, Deal, [_deal_row(d, rep_id, account_id) for d in written]
        )
        _insert(conn, DealStageHistory, _history_rows(written, deal_id, settings))
        ids = (rep_id, account_id, contact_id, deal_id)
        engaged = np.array([o in settings.engaged_outcomes for o in OUTCOMES])
        rows = _activity_rows(org.activities, tl, ids, engaged, now)
        return _insert(conn, Activity, rows), [d.status for d in written]


def _write_teams(conn: Connection, stamp: dt.datetime) -> dict[str, int]:
    names = [*SALES_TEAMS, FIELD_TEAM]
    rows = [{"name": name, "created_at": stamp} for name in names]
    ids = _insert_returning_ids(conn, Team, rows)
    return dict(zip(names, ids.tolist(), strict=True))


def _write_reps(
    conn: Connection, roster: Roster, team_id: dict[str, int], stamp: dt.datetime
) -> IntArray:
    """Managers first, so the reps can point at them."""
    rep_id = np.zeros(len(roster.people), dtype=np.int64)
    for managers in (True, False):
        group = [p for p in roster.people if (p.role == "manager") == managers]
        rows = [_rep_row(p, roster, team_id, rep_id, stamp) for p in group]
        ids = _insert_returning_ids(conn, Rep, rows)
        rep_id[[p.index for p in group]] = ids
    return rep_id


def _rep_row(
    p: RepProfile, roster: Roster, team_id: dict[str, int], rep_id: IntArray, stamp: dt.datetime
) -> dict[str, Any]:
    manager = None if p.role == "manager" else int(rep_id[roster.manager_of(p.team).index])
    return {
        "name": p.name,
        "email": _email(p.name, "paceline-demo.example"),
        "role": p.role,
        "team_id": team_id[p.team],
        "manager_id": manager,
        "start_date": p.start_date,
        "capacity": 0.5 if p.ramping else 1.0,
        "source": SOURCE,
        "external_id": f"r{p.index + 1}",
        "created_at": stamp,
    }


def _email(name: str, domain: str) -> str:
    return ".".join(name.lower().split()) + "@" + domain


def _account_rows(book: Book, rep_id: IntArray, stamp: dt.datetime) -> Iterator[dict[str, Any]]:
    for i, (name, industry) in enumerate(
        zip(book.account_names, book.account_industry, strict=True)
    ):
        yield {
            "name": name,
            "industry": industry,
            "account_type": "prospect",
            "owner_id": int(rep_id[book.account_owner[i]]),
            "source": SOURCE,
            "external_id": f"acc{i + 1}",
            "created_at": stamp,
        }


def _contact_rows(book: Book, account_id: IntArray, stamp: dt.datetime) -> Iterator[dict[str, Any]]:
    for i, name in enumerate(book.contact_names):
        level, _, title, _ = SENIORITY[int(book.contact_seniority[i])]
        account = int(book.contact_account[i])
        domain = book.account_names[account].split()[0].lower() + ".example"
        yield {
            "account_id": int(account_id[account]),
            "name": name,
            "title": f"{title}, {DEPARTMENTS[i % len(DEPARTMENTS)]}"
            if level != "c_level"
            else title,
            "seniority": level,
            "is_decision_maker": bool(book.contact_dm[i]),
            "email": _email(name, domain),
            "source": SOURCE,
            "external_id": f"p{i + 1}",
            "created_at": stamp,
        }


def _deal_row(d: DealDraft, rep_id: IntArray, account_id: IntArray) -> dict[str, Any]:
    stage, last_moved = d.history[-1]
    return {
        "rep_id": int(rep_id[d.rep]),
        "sourced_by_id": None if d.sourced_by is None else int(rep_id[d.sourced_by]),
        "account_id": int(account_id[d.account]),
        "name": d.name,
        "amount": d.amount,
        "stage": stage,
        "status": d.status,
        "created_at": d.created_at,
        "closed_at": None if d.status == "open" else last_moved,
        "expected_close": d.expected_close,
        "source": SOURCE,
        "external_id": f"d{d.index + 1}",
        "updated_at": last_moved,
    }


def _history_rows(
    deals: list[DealDraft], deal_id: IntArray, settings: Settings
) -> Iterator[dict[str, Any]]:
    status = settings.stage_status
    for d in deals:
        for stage, entered in d.history:
            yield {
                "deal_id": int(deal_id[d.index]),
                "stage": stage,
                "status": status[stage],
                "amount": d.amount,
                "entered_at": entered,
            }


def _activity_rows(
    logs: list[Activities],
    tl: Timeline,
    ids: tuple[IntArray, IntArray, IntArray, IntArray],
    engaged_outcome: BoolArray,
    now: dt.datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """All activities up to `now` (naive UTC; None: all of them) in time order, ids mapped
    from the demo's indices to the database's (a deal not created by now: none).

    `engaged` follows the configured engaged outcomes, so the flag and the outcome never
    disagree.
    """
    rep_id, account_id, contact_id, deal_id = ids
    cols = {
        name: np.concatenate([log.column(name) for log in logs if log.parts]) for name in COLUMNS
    }
    rep = np.concatenate([np.full(len(log.column("day")), log.rep) for log in logs if log.parts])
    day = cols["day"].astype(np.int64)
    moment = tl.utc(day, cols["minute"].astype(float))
    order = np.lexsort((rep, moment))
    if now is not None:  # nothing later than the clock on the last day
        order = order[moment[order] <= np.datetime64(now, "s")]
    when = moment[order].astype("datetime64[us]").tolist()
    columns = {
        "rep_id": rep_id[rep[order]].tolist(),
        "account_id": _ids_or_none(cols["account"][order], account_id),
        "contact_id": _ids_or_none(cols["contact"][order], contact_id),
        "deal_id": _ids_or_none(cols["deal"][order], deal_id),
        "kind": [KINDS[k] for k in cols["kind"][order].tolist()],
        "occurred_at": when,
        "local_date": tl.days[day[order]].tolist(),
        "duration_min": cols["duration"][order].astype(float).tolist(),
        "outcome": [OUTCOMES[o] for o in cols["outcome"][order].tolist()],
        "engaged": engaged_outcome[cols["outcome"][order].astype(np.int64)].tolist(),
        "has_ask": cols["has_ask"][order].astype(bool).tolist(),
    }
    keys = list(columns)
    for i, values in enumerate(zip(*columns.values(), strict=True)):
        row = dict(zip(keys, values, strict=True))
        row["source"] = SOURCE
        row["external_id"] = f"a{i + 1}"
        row["created_at"] = row["updated_at"] = row["occurred_at"]
        yield row


def _ids_or_none(index: NDArray[Any], ids: IntArray) -> list[int | None]:
    index = index.astype(np.int64)
    mapped = np.where(index >= 0, ids[np.maximum(index, 0)] if len(ids) else -1, -1)
    return [None if v < 0 else v for v in mapped.tolist()]


# --- the public entry point -----------------------------------------------------------------


def _check_settings(settings: Settings) -> None:
    missing = sorted(set(KINDS) - settings.kind_names) + sorted(
        set(OUTCOMES) - settings.outcome_names
    )
    if missing:
        raise ValueError(
            "the demo writes activity kinds and outcomes the configuration does not define: "
            + ", ".join(missing)
        )


def build_demo(
    engine: Engine,
    settings: Settings,
    *,
    seed: int = 7,
    reps: int = 30,
    months: int = 15,
    today: dt.date | None = None,
    average_deal_size: float = 35_000.0,
    truth_path: Path | None = None,
    now: dt.datetime | None = None,
) -> DemoSummary:
    """Build the demo organisation into an empty, migrated database.

    `reps` counts everyone created, the three team managers included (at least 12). History
    runs from `today` minus `months` to `today` inclusive, and on `today` stops at `now`
    (aware, or naive UTC; it must fall on `today`): without `today`, the clock's today up to
    the clock's now; with `today` and no `now`, the whole day (`paceline demo` passes the
    clock's now when its day is the clock's). A demo built at noon wrote the afternoon's calls,
    stage changes and new deals too, so every view without an upper time bound (the activity
    list, the TV board) showed activities in the future. The same seed, today and now always
    give the same data.
    """
    if reps < MIN_REPS:
        raise ValueError(
            f"the demo needs at least {MIN_REPS} reps (3 of them managers), not {reps}"
        )
    if months < 1:
        raise ValueError("the demo needs at least one month of history")
    _check_settings(settings)
    calendar = BusinessCalendar(settings.calendar)
    if today is None:
        today = calendar.today()
        now = now or clock.now(calendar.zone)
    cut = None if now is None else _naive_utc(now)
    if cut is not None and calendar.local_date(cut) != today:
        raise ValueError(f"the demo's now ({now}) must fall on its last day, {today}")
    first_day = months_before(today, months)
    rng = np.random.default_rng(seed)
    tl = _timeline(settings, first_day, today)
    roster = _plan_roster(rng, reps, first_day, today)
    org = _simulate(rng, settings, roster, tl, average_deal_size)
    align_stored_days(engine, calendar.zone)  # records the zone its days are written in
    activities, statuses = _write(engine, org, tl, settings, cut)
    targets = save_run_rate_targets(engine, settings, today)
    # Statistics for the planner, once every table is filled (the rollup by the targets):
    # without them SQLite read a rep's every activity for a minutes-wide window.
    with engine.begin() as conn:
        analyse_all(conn)
    if truth_path is not None:
        _write_truth(truth_path, org.roster, seed, first_day, today, average_deal_size)
    return DemoSummary(
        teams=[*SALES_TEAMS, FIELD_TEAM],
        reps=len(org.roster.people),
        first_day=first_day,
        last_day=today,
        activities=activities,
        deals=len(statuses),
        deals_won=statuses.count("won"),
        deals_lost=statuses.count("lost"),
        deals_open=statuses.count("open"),
        targets=targets,
        truth_path=truth_path,
    )


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """How the store keeps an instant: naive UTC (a naive `moment` already is)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


DEMO_PASSWORD = "paceline-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    who: str


def create_demo_users(engine: Engine, truth: dict[str, object] | None = None) -> list[DemoLogin]:
    """Logins for trying the web application: an admin, East's manager and one East rep.

    The rep is one of the reps planted as behind when there is one in East, so the first
    page a demo visitor sees has something to say.
    """
    from paceline.access import OPERATOR
    from paceline.services.users import add_user

    with engine.connect() as conn:
        east = conn.execute(
            select(Rep.name, Rep.role).join(Team, Team.id == Rep.team_id).where(Team.name == "East")
        ).all()
    manager = next(name for name, role in east if role == "manager")
    planted = (truth or {}).get("planted", {})
    behind = planted.get("behind_this_month", []) if isinstance(planted, dict) else []
    sellers = [name for name, role in east if role != "manager"]
    rep = next((name for name in sellers if name in behind), sellers[0])
    add_user(engine, OPERATOR, "admin", DEMO_PASSWORD, "admin")
    add_user(engine, OPERATOR, "manager", DEMO_PASSWORD, "manager", rep=manager)
    add_user(engine, OPERATOR, "rep", DEMO_PASSWORD, "rep", rep=rep)
    return [
        DemoLogin("admin", DEMO_PASSWORD, "admin", "everything"),
        DemoLogin("manager", DEMO_PASSWORD, "manager", f"{manager}, team East"),
        DemoLogin("rep", DEMO_PASSWORD, "rep", f"{rep}, team East"),
    ]


def recent_start(settings: Settings, today: dt.date) -> dt.date:
    """The first day of the recent stretch: the current month, or the stretch the alerts read
    when that starts earlier (the trailing `[alerts] min_business_days` while the month is
    young). Everyone works it at their normal pace, except the two reps planted behind, so
    the alerts and scorecards find exactly those two on any day the demo is built."""
    calendar = BusinessCalendar(settings.calendar)
    month = calendar.period("month", today)
    period = calendar.period(settings.alerts.period, today)
    stretch = alert_stretch(calendar, period, today, settings.alerts.min_business_days)
    return min(month.start, stretch.start)


# Every seller in the demo talks to prospects on the phone (SDRs to set meetings, AEs to work
# their own pipeline, field reps before their visits), so each of those roles is held to its
# conversations as well as to its key metrics and funnel steps.
CONVERSING_ROLES = ("sdr", "ae", "field")


def owned_metrics(settings: Settings, role: str) -> list[str]:
    """The metrics a demo role is given targets for: its key metrics, the funnel steps it
    owns (`Settings.role_funnel`) and, for a role whose reps call, its conversations. Without
    those, a leaderboard of conversations ranked by % of own target left the AEs and field
    reps out (no target), and a plan's funnel step had no target on its owners' scorecards."""
    known = {m.name for m in settings.metrics}
    try:
        role_settings = settings.role(role)
    except KeyError:
        return []
    if not role_settings.key_metrics:
        return []  # managers: not paced
    wanted = [*role_settings.key_metrics, *settings.role_funnel(role)]
    if role in CONVERSING_ROLES:
        wanted.append("conversations")
    return [m for m in dict.fromkeys(wanted) if m in known]


RUN_RATE_MONTHS = 3  # the history a demo rep's targets are their run rate of


def save_run_rate_targets(engine: Engine, settings: Settings, today: dt.date) -> int:
    """Monthly targets for every metric a rep's role owns (`owned_metrics`): their own run
    rate of the last 3 months.

    A demo needs targets for scorecards to mean something. Each rep's daily rate over the
    three months before the recent stretch (`recent_start`), times each month's business
    days, is their target for the months around today, so pacing shows exactly the planted
    gaps (the two reps behind), not differences in talent, which the diagnosis finds instead.
    A distinct count's rate is read month by month (`_run_rate_totals`).
    """
    calendar = BusinessCalendar(settings.calendar)
    this_month = calendar.period("month", today)
    recent = recent_start(settings, today)
    since = months_before(recent, RUN_RATE_MONTHS)
    months = [
        calendar.period("month", months_before(this_month.start, k)) for k in range(3, -3, -1)
    ]
    owned = {r.name: owned_metrics(settings, r.name) for r in settings.roles}
    ensure_rollup(engine, settings)
    rows: list[TargetRow] = []
    with engine.begin() as conn:
        reps = conn.execute(select(Rep.id, Rep.role, Rep.start_date)).all()
        wanted = sorted({m for ms in owned.values() for m in ms})
        total = _run_rate_totals(conn, settings, wanted, recent, today)
        distinct_rate = _distinct_run_rates(conn, settings, calendar, wanted, recent, reps)
        for rep_id, role, start in reps:
            worked = calendar.business_days(max(since, start or since), recent)
            if not worked:
                continue
            for metric in owned.get(role, []):
                daily = distinct_rate.get((rep_id, metric), total(rep_id, metric) / worked)
                rows.extend(
                    TargetRow(rep_id, metric, "month", m.start, round(daily * days, 2), "demo")
                    for m in months
                    if (days := calendar.business_days(m.start, m.end))
                )
        save_targets(conn, rows)
    return len(rows)


def _run_rate_totals(
    conn: Connection, settings: Settings, metrics: list[str], recent: dt.date, today: dt.date
) -> Callable[[int, str], float]:
    """Each rep's total of each metric over the `RUN_RATE_MONTHS` months before `recent`,
    the run rate the targets are set from; a distinct count added up month by month, since
    its targets are a month's: an account an SDR calls in each of three months is one of
    each month's accounts, three in all, not one. Read over the three months at once, an
    SDR's book of about 250 accounts, all called every month, was a target of 74 accounts a
    month, and nobody was ever behind on accounts (before 2026-12-07)."""
    since = months_before(recent, RUN_RATE_MONTHS)
    whole = metric_totals(conn, settings, metrics, since, recent, as_of=today)
    distinct = [m for m in metrics if settings.metric(m).aggregate == "distinct_count"]
    bounds = [months_before(recent, k) for k in range(RUN_RATE_MONTHS, -1, -1)]
    monthly = [
        metric_totals(conn, settings, distinct, start, end, as_of=today)
        for start, end in itertools.pairwise(bounds)
        if distinct
    ]

    def total(rep_id: int, metric: str) -> float:
        if metric in distinct:
            return sum(month.get(rep_id, metric) for month in monthly)
        return whole.get(rep_id, metric)

    return total


def _distinct_run_rates(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    metrics: list[str],
    recent: dt.date,
    reps: Sequence[Any],
) -> dict[tuple[int, str], float]:
    """A distinct count's daily run rate for each rep who started inside the run-rate
    months: the month-long slice they joined in read as a whole slice's count by their
    role's curve (`accrual.pooled_curve`, the slices its other reps worked whole), then
    added to their whole slices' counts, over those slices' business days.

    Why: a distinct count climbs fast and flattens, so a new hire's accounts of a slice's
    last 10 business days are most of a whole slice's, not 10/22 of them. Scaled evenly,
    the demo's new hire (152 accounts in his first 10 of October's 22 business days) had a
    November target of 152/10 x 19 = 289 accounts against 210-223 for every other SDR, and
    read behind for a demo artefact (before 2026-12-08). A rep who worked every slice whole
    keeps exactly the old rate (their counts added, over the slices' business days)."""
    bounds = [months_before(recent, k) for k in range(RUN_RATE_MONTHS, -1, -1)]
    slices = list(itertools.pairwise(bounds))
    days = [_business_dates(calendar, start, end) for start, end in slices]
    joined = {
        rep_id: next(i for i, d in enumerate(days) if d and d[-1] >= start)
        for rep_id, _, start in reps
        if start and days[0] and start > days[0][0] and start <= days[-1][-1]
    }
    rates: dict[tuple[int, str], float] = {}
    for name in metrics:
        metric = settings.metric(name)
        if metric.aggregate != "distinct_count" or not joined:
            continue
        firsts = distinct_firsts_by_period(conn, settings, metric, bounds)
        for rep_id, role, start in reps:
            if rep_id not in joined:
                continue
            whole = [
                (peer, i)
                for peer, peer_role, peer_start in reps
                if peer_role == role and peer not in joined and peer != rep_id
                for i in range(len(slices))
                if days[i] and (peer_start is None or peer_start <= days[i][0])
            ]
            curve = pooled_curve(firsts, whole, days).accrual(len(days[joined[rep_id]]))
            rates[rep_id, name] = _joined_rate(firsts, rep_id, joined[rep_id], days, start, curve)
    return rates


def _joined_rate(
    firsts: dict[tuple[int, int], dict[dt.date, float]],
    rep_id: int,
    first_slice: int,
    days: list[list[dt.date]],
    start: dt.date,
    curve: Accrual,
) -> float:
    """The daily rate of a rep who joined in slice `first_slice` (`_distinct_run_rates`)."""
    counts = [sum(firsts.get((rep_id, i), {}).values()) for i in range(len(days))]
    worked = len([day for day in days[first_slice] if day >= start])
    share = curve.share(worked, len(days[first_slice]))
    counted = counts[first_slice] / share if share else 0.0
    counted += sum(counts[first_slice + 1 :])
    return counted / sum(len(d) for d in days[first_slice:])


def _business_dates(calendar: BusinessCalendar, start: dt.date, end: dt.date) -> list[dt.date]:
    """The business days from `start` to `end` (exclusive)."""
    every = (start + dt.timedelta(days=i) for i in range((end - start).days))
    return [day for day in every if calendar.is_business_day(day)]


def _write_truth(
    path: Path,
    roster: Roster,
    seed: int,
    first_day: dt.date,
    today: dt.date,
    average_deal_size: float,
) -> None:
    truth = {
        "seed": seed,
        "today": today.isoformat(),
        "first_day": first_day.isoformat(),
        "average_deal_size": average_deal_size,
        "reps": {p.name: p.truth() for p in roster.people},
        "planted": roster.planted,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
