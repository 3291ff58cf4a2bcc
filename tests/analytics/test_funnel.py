"""The funnel: counts, conversions, median days and the weakest step, on SQLite and PostgreSQL.

A hand-built organisation, November 2026 to date (window "month" as of Wednesday the 18th:
local days Nov 1-18; New York time, so 17:00 UTC is noon on the same local day):

SDRs (calls, conversations, meetings set; 17:00 UTC unless said):
- Ana (East): 20 calls, 10 of them conversations, no meeting set. With accounts: A1 no answer
  Nov 2, conversation Nov 4; A2 conversation Nov 3, no answer Nov 3 23:00; A3 no answer Nov 9.
  Without an account: 8 conversations and 7 no-answers on Nov 12. Outside the window: a
  conversation on A3 on Oct 30 and a meeting set on A1 on Nov 19 (neither counts).
- Ben (East): 10 calls = 4 conversations + 6 meetings set (a meeting set is a connected call,
  so a conversation too). B1 conversation Nov 2, set Nov 5; B2 set Nov 6; B3 conversation
  Nov 9, set Nov 10 09:00; without an account 2 conversations and 3 sets on Nov 13.
- Cy (West): 10 calls = 4 conversations + 6 sets. C1 conversation Nov 2, set Nov 12; without
  an account 3 conversations and 5 sets on Nov 13.
AEs (meetings held are face-to-face meetings with outcome "held", so conversations too):
- Dee (East): 5 meetings held, 4 proposals, no deal won. D1 proposal Nov 3, held Nov 5,
  proposal Nov 10, opportunity created Nov 6 18:00 (open); D2 held Nov 6, proposal Nov 6
  21:00, a deal created Oct 5 and lost Nov 12. Without an account: 3 held and 1 proposal.
- Eve (West): 5 meetings held, 4 proposals, 2 deals won. E1 held Nov 2, proposal Nov 4, deal
  created Oct 1 won Nov 11 (30,000); E2 held Nov 3, proposal Nov 5, deal created Nov 7, won
  Nov 16 09:00 (20,000). Without an account: 3 held and 2 proposals.
- Max (manager, East): one conversation call on A1, Nov 2. Managers are not selling reps: it
  counts nowhere.
Peers: Ana's are Ben and Cy (East has fewer than 3 other SDRs, so organisation-wide); Dee's is
Eve. Team East (Ana, Ben, Dee) is compared with the same roles outside it (Cy, Eve).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select
from typer.testing import CliRunner

from factories import DEMO_TODAY, made_app, quick_user
from paceline.analytics.funnel import Funnel, FunnelStep, funnel
from paceline.analytics.peers import diagnosis_reps, peers_of
from paceline.analytics.window import Window, diagnosis_window
from paceline.api.deps import SESSION_COOKIE
from paceline.auth.accounts import create_token, start_session
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Account, Activity, Deal, Rep

AS_OF = dt.date(2026, 11, 18)
NY = ZoneInfo("America/New_York")
PASSWORD = "correct horse battery"


def at(day: int, hour: int = 17, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour)


def act(
    rep: int, when: dt.datetime, kind: str, outcome: str, account: int | None = None, n: int = 1
) -> list[dict[str, Any]]:
    local = when.replace(tzinfo=dt.UTC).astimezone(NY).date()
    row = {
        "rep_id": rep,
        "account_id": account,
        "kind": kind,
        "occurred_at": when,
        "local_date": local,
        "outcome": outcome,
        "has_ask": True,
        "engaged": False,
        "source": "test",
    }
    return [dict(row) for _ in range(n)]


def deal(
    rep: int,
    account: int,
    created: dt.datetime,
    status: str,
    closed: dt.datetime | None = None,
    amount: int = 10_000,
) -> dict[str, Any]:
    stage = {"open": "proposal", "won": "closed_won", "lost": "closed_lost"}[status]
    return {
        "rep_id": rep,
        "account_id": account,
        "name": f"deal {account}",
        "amount": Decimal(amount),
        "stage": stage,
        "status": status,
        "created_at": created,
        "closed_at": closed,
        "source": "test",
    }


def build_org(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    ids = {
        "Ana": add_rep(engine, settings, "Ana", "sdr", team="East"),
        "Ben": add_rep(engine, settings, "Ben", "sdr", team="East"),
        "Cy": add_rep(engine, settings, "Cy", "sdr", team="West"),
        "Dee": add_rep(engine, settings, "Dee", "ae", team="East"),
        "Eve": add_rep(engine, settings, "Eve", "ae", team="West"),
        "Max": add_rep(engine, settings, "Max", "manager", team="East"),
    }
    with engine.begin() as conn:
        names = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "D1", "D2", "E1", "E2"]
        acc = {
            n: int(conn.execute(insert(Account).values(name=n).returning(Account.id)).scalar_one())
            for n in names
        }
        ana, ben, cy, dee, eve = (ids[n] for n in ("Ana", "Ben", "Cy", "Dee", "Eve"))
        rows = [
            *act(ana, at(2), "call", "no_answer", acc["A1"]),
            *act(ana, at(4), "call", "conversation", acc["A1"]),
            *act(ana, at(3), "call", "conversation", acc["A2"]),
            *act(ana, at(3, 23), "call", "no_answer", acc["A2"]),
            *act(ana, at(9), "call", "no_answer", acc["A3"]),
            *act(ana, at(12), "call", "conversation", n=8),
            *act(ana, at(12), "call", "no_answer", n=7),
            *act(ana, at(30, month=10), "call", "conversation", acc["A3"]),
            *act(ana, at(19), "call", "meeting_set", acc["A1"]),
            *act(ben, at(2), "call", "conversation", acc["B1"]),
            *act(ben, at(5), "call", "meeting_set", acc["B1"]),
            *act(ben, at(6), "call", "meeting_set", acc["B2"]),
            *act(ben, at(9), "call", "conversation", acc["B3"]),
            *act(ben, at(10, 9), "call", "meeting_set", acc["B3"]),
            *act(ben, at(13), "call", "conversation", n=2),
            *act(ben, at(13), "call", "meeting_set", n=3),
            *act(cy, at(2), "call", "conversation", acc["C1"]),
            *act(cy, at(12), "call", "meeting_set", acc["C1"]),
            *act(cy, at(13), "call", "conversation", n=3),
            *act(cy, at(13), "call", "meeting_set", n=5),
            *act(dee, at(3), "proposal", "sent", acc["D1"]),
            *act(dee, at(5), "meeting", "held", acc["D1"]),
            *act(dee, at(10), "proposal", "sent", acc["D1"]),
            *act(dee, at(6), "meeting", "held", acc["D2"]),
            *act(dee, at(6, 21), "proposal", "sent", acc["D2"]),
            *act(dee, at(16), "meeting", "held", n=3),
            *act(dee, at(16), "proposal", "sent"),
            *act(eve, at(2), "meeting", "held", acc["E1"]),
            *act(eve, at(4), "proposal", "sent", acc["E1"]),
            *act(eve, at(3), "meeting", "held", acc["E2"]),
            *act(eve, at(5), "proposal", "sent", acc["E2"]),
            *act(eve, at(16), "meeting", "held", n=3),
            *act(eve, at(16), "proposal", "sent", n=2),
            *act(ids["Max"], at(2), "call", "conversation", acc["A1"]),
        ]
        conn.execute(insert(Activity), rows)
        conn.execute(
            insert(Deal),
            [
                deal(dee, acc["D1"], at(6, 18), "open"),
                deal(dee, acc["D2"], at(5, month=10), "lost", at(12)),
                deal(eve, acc["E1"], at(1, month=10), "won", at(11), 30_000),
                deal(eve, acc["E2"], at(7), "won", at(16, 9), 20_000),
            ],
        )
    return ids


@pytest.fixture
def org(engine: Engine, settings: Settings) -> Engine:
    build_org(engine, settings)
    return engine


def month(settings: Settings, as_of: dt.date = AS_OF) -> Window:
    return diagnosis_window(settings, "month", as_of)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed by hand."""
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def steps_of(result: Funnel) -> dict[str, FunnelStep]:
    return {s.metric: s for s in result.steps}


# --- hand-computed cases -----------------------------------------------------------------------


def test_rep_beside_peers_by_hand(org: Engine, settings: Settings) -> None:
    result = funnel(org, settings, month(settings), rep="ana")
    assert (result.subject, result.subject_kind) == ("Ana", "rep")
    assert sorted(result.compared_with) == ["Ben", "Cy"]
    assert (result.window.start, result.window.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 19))
    s = steps_of(result)
    assert list(s) == settings.funnel.steps
    counts = {m: (x.count, x.peer_count) for m, x in s.items()}
    assert counts == {
        "calls": (20, 20),
        "conversations": (10, 20),
        "meetings_set": (0, 12),
        "meetings_held": (0, 0),
        "proposals": (0, 0),
        "deals_won": (0, 0),  # Ana has no deals at all
    }
    assert s["calls"].conversion is None and s["calls"].comparison is None
    # calls -> conversations: 10/20 vs 20/20; exposure share 20/40, 30 converted in all.
    conv = s["conversations"]
    assert (conv.conversion, conv.peer_conversion, conv.relative) == (0.5, 1.0, 0.5)
    assert conv.p_value == pytest.approx(binom_cdf(10, 30, 0.5))  # 0.0494: not below 0.01
    assert (conv.verdict, conv.significant, conv.from_count) == ("too_few", False, 20)
    # conversations -> meetings set: 0/10 vs 12/20; share 10/30, so p = (2/3)^12 = 0.0077.
    sets = s["meetings_set"]
    assert (sets.conversion, sets.peer_conversion, sets.relative) == (0.0, 0.6, 0.0)
    assert sets.p_value == pytest.approx((2 / 3) ** 12)
    assert (sets.verdict, sets.significant) == ("weak", True)
    # Nobody had anything to convert or converted nothing: shown, not compared.
    for metric in ("meetings_held", "proposals", "deals_won"):
        assert s[metric].comparison is None and s[metric].verdict is None, metric
    # An SDR hands meetings over to the AEs who hold them: not 0 held of the peers' 12 set
    # (0.0%, as this funnel said before), but another role's steps.
    for metric in ("meetings_held", "proposals", "deals_won"):
        assert (s[metric].note, s[metric].peer_note) == ("handed_over", "handed_over"), metric
    assert s["meetings_held"].conversion is None
    assert s["meetings_held"].peer_conversion is None
    assert result.weakest is not None and result.weakest.metric == "meetings_set"
    assert [w.metric for w in result.weak_steps] == ["meetings_set"]


def test_median_days_between_steps_by_hand(org: Engine, settings: Settings) -> None:
    s = steps_of(funnel(org, settings, month(settings), rep="Ana"))
    # calls -> conversations: A1 first call Nov 2, conversation Nov 4 = 48 h; A2 the first
    # call is the conversation = 0 h; A3 never connected; the Oct 30 call is outside.
    assert (s["conversations"].median_days, s["conversations"].median_accounts) == (1.0, 2)
    # Peers: B1, B2, B3, C1 all connect on their first call.
    assert (s["conversations"].peer_median_days, s["conversations"].peer_median_accounts) == (
        0.0,
        4,
    )
    # conversations -> meetings set: Ana none (the Nov 19 set is after the window).
    assert (s["meetings_set"].median_days, s["meetings_set"].median_accounts) == (None, 0)
    # Peers: B1 72 h, B2 0 h, B3 16 h, C1 240 h: median (16 + 72) / 2 = 44 h = 1.83 days.
    assert (s["meetings_set"].peer_median_days, s["meetings_set"].peer_median_accounts) == (1.8, 4)
    assert s["calls"].median_days is None  # the first step has no step before

    dee = steps_of(funnel(org, settings, month(settings), rep="Dee"))
    # held -> proposals: D1 held Nov 5, next proposal at or after it Nov 10 = 120 h (its Nov 3
    # proposal came before); D2 held Nov 6 17:00, proposal 21:00 = 4 h. Median 62 h = 2.58.
    assert (dee["proposals"].median_days, dee["proposals"].median_accounts) == (2.6, 2)
    # Eve: E1 Nov 2 -> Nov 4, E2 Nov 3 -> Nov 5: 48 h each.
    assert (dee["proposals"].peer_median_days, dee["proposals"].peer_median_accounts) == (2.0, 2)
    # proposals -> deals won: Dee won nothing; Eve E1 Nov 4 -> Nov 11 = 168 h, E2 Nov 5 17:00
    # -> Nov 16 09:00 = 256 h; median 212 h = 8.83 days.
    assert (dee["deals_won"].median_days, dee["deals_won"].median_accounts) == (None, 0)
    assert (dee["deals_won"].peer_median_days, dee["deals_won"].peer_median_accounts) == (8.8, 2)


def test_small_sample_is_too_few_to_tell(org: Engine, settings: Settings) -> None:
    result = funnel(org, settings, month(settings), rep="Dee")
    assert result.compared_with == ["Eve"]
    s = steps_of(result)
    # No calls on either side: no conversations (a meeting held is not a connected call; the
    # old definition counted Dee's and Eve's five meetings held each as conversations), and
    # nothing to compare; no meeting set on either side: meetings held cannot either.
    assert (s["conversations"].count, s["conversations"].peer_count) == (0, 0)
    assert s["conversations"].verdict is None and s["conversations"].conversion is None
    assert s["meetings_set"].verdict is None
    assert s["meetings_held"].verdict is None
    # held -> proposals 4/5 on both sides: not below. p = P(X <= 4 | 8, 1/2) = 163/256.
    assert s["proposals"].relative == 1.0
    assert s["proposals"].p_value == pytest.approx(163 / 256)
    assert s["proposals"].verdict == "none"
    # proposals -> won: 0/4 against 2/4. Below, but p = (1/2)^2 = 0.25: too few to tell.
    won = s["deals_won"]
    assert (won.count, won.peer_count, won.conversion, won.peer_conversion) == (0, 2, 0.0, 0.5)
    assert won.p_value == pytest.approx(0.25)
    assert (won.verdict, won.significant, won.from_count) == ("too_few", False, 4)
    assert result.weakest is won
    assert result.weak_steps == []


def test_team_beside_the_same_roles_outside_it(org: Engine, settings: Settings) -> None:
    result = funnel(org, settings, month(settings), team="east")
    assert (result.subject, result.subject_kind) == ("East", "team")
    assert sorted(result.reps) == ["Ana", "Ben", "Dee"]  # not Max: managers do not sell
    assert sorted(result.compared_with) == ["Cy", "Eve"]
    s = steps_of(result)
    # Conversations are connected calls: Ana 12 + Ben 8 against Cy's 10 (Dee's and Eve's
    # five meetings held each are not conversations; the old definition made it 25 and 15).
    assert {m: (x.count, x.peer_count) for m, x in s.items()} == {
        "calls": (30, 10),
        "conversations": (20, 10),
        "meetings_set": (6, 6),
        "meetings_held": (5, 5),
        "proposals": (4, 4),
        "deals_won": (0, 2),
    }
    conv = s["conversations"]  # 20/30 vs 10/10; share 30/40 of 30 converted
    assert conv.relative == pytest.approx(20 / 30)
    assert conv.p_value == pytest.approx(binom_cdf(20, 30, 0.75))
    sets = s["meetings_set"]  # 6/20 vs 6/10; share 20/30 of 12
    assert sets.relative == pytest.approx(0.5)
    assert sets.p_value == pytest.approx(binom_cdf(6, 12, 20 / 30))
    assert s["meetings_held"].p_value == pytest.approx(binom_cdf(5, 10, 0.5))
    assert result.weakest is not None and result.weakest.metric == "deals_won"
    assert result.weakest.verdict == "too_few"
    # Team timing pools the team's accounts: conversations -> sets B1 72 h, B2 0, B3 16 h
    # (A1 and A2 set nothing in the window): median 16 h = 0.67 days. Cy's C1: 240 h.
    assert (sets.median_days, sets.median_accounts) == (0.7, 3)
    assert (sets.peer_median_days, sets.peer_median_accounts) == (10.0, 1)
    # calls -> conversations: A1 48 h; A2, B1, B2, B3 connect on the first call: median 0.
    assert (conv.median_days, conv.median_accounts) == (0.0, 5)


def test_everyone_has_no_comparison(org: Engine, settings: Settings) -> None:
    result = funnel(org, settings, month(settings))
    assert (result.subject, result.subject_kind, result.compared_with) == (
        "everyone",
        "everyone",
        [],
    )
    s = steps_of(result)
    # Max's call not counted; 30 of the 40 calls connected (the 10 meetings held are not
    # conversations: the old definition read 40 of 40, a 100% connect rate).
    assert [x.count for x in s.values()] == [40, 30, 12, 10, 8, 2]
    assert [x.conversion for x in s.values()] == [None, 0.75, 0.4, 10 / 12, 0.8, 0.25]
    assert all(x.peer_count is None and x.comparison is None for x in s.values())
    assert all(x.verdict is None and x.peer_median_days is None for x in s.values())
    assert result.weakest is None and result.weak_steps == []


def test_custom_steps_with_deal_steps_and_sums(org: Engine, settings: Settings) -> None:
    steps = ["meetings_held", "opportunities_created", "deals_won"]
    result = funnel(org, settings, month(settings), rep="Eve", steps=steps)
    s = steps_of(result)
    assert list(s) == steps
    assert (s["opportunities_created"].count, s["opportunities_created"].peer_count) == (1, 1)
    # held -> opportunity: E2 held Nov 3, opportunity Nov 7 = 96 h (E1's opportunity of Oct 1
    # is outside); Dee's D1 held Nov 5 17:00, opportunity Nov 6 18:00 = 25 h = 1.04 days.
    assert (s["opportunities_created"].median_days, s["opportunities_created"].median_accounts) == (
        4.0,
        1,
    )
    assert s["opportunities_created"].peer_median_days == 1.0
    # opportunity -> won, both from deals: E2 created Nov 7 17:00, won Nov 16 09:00 = 208 h.
    assert (s["deals_won"].median_days, s["deals_won"].median_accounts) == (8.7, 1)
    # Eve won 2 deals against 1 opportunity created in the window (E1 was created in October):
    # not a conversion (`step_rules`), so not compared. Dee, 0 of 1, is a rate.
    assert s["deals_won"].note == "exceeds_previous" and s["deals_won"].conversion is None
    assert s["deals_won"].verdict is None and s["deals_won"].peer_conversion == 0.0
    revenue = funnel(org, settings, month(settings), rep="Eve", steps=["proposals", "revenue"])
    assert revenue.steps[1].count == 50_000  # 30,000 + 20,000 won in the window
    assert revenue.steps[1].conversion == 12_500  # per proposal
    quick = funnel(org, settings, month(settings), rep="Eve", steps=steps, timing=False)
    assert all(x.median_days is None and x.median_accounts == 0 for x in quick.steps)
    assert [x.count for x in quick.steps] == [x.count for x in result.steps]


def test_a_sum_step_is_shown_beside_the_peers_but_never_tested_as_a_count(
    org: Engine, settings: Settings
) -> None:
    """Dee's 4 proposals won nothing; Eve's 4 won 50,000: revenue per proposal 0 against
    12,500. The exact test treats each step as a Poisson count: read on dollars it took
    50,000 "events" and called Dee's gap p = 0.5^50,000, "weak", very unlikely to be chance,
    from four proposals a side (in cents it would be a hundred times as many events). A sum
    is not a count: the rates stand side by side, untested (no verdict, never the weakest
    step)."""
    result = funnel(org, settings, month(settings), rep="Dee", steps=["proposals", "revenue"])
    revenue = result.steps[1]
    assert (revenue.count, revenue.peer_count) == (0, 50_000)
    assert (revenue.conversion, revenue.peer_conversion) == (0.0, 12_500)
    assert revenue.comparison is None and revenue.verdict is None
    assert result.weakest is None and result.weak_steps == []


def test_empty_window(org: Engine, settings: Settings) -> None:
    result = funnel(org, settings, month(settings, dt.date(2026, 6, 30)), rep="Ana")
    assert [(x.count, x.peer_count) for x in result.steps] == [(0, 0)] * 6
    assert all(x.conversion is None and x.verdict is None for x in result.steps)
    assert all(x.median_days is None and x.median_accounts == 0 for x in result.steps)
    assert result.weakest is None and result.weak_steps == []


def test_bad_input_names_the_field(org: Engine, settings: Settings) -> None:
    window = month(settings)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"steps": ["calls", "nonsense"]}, r"^steps: unknown metric 'nonsense'"),
        ({"steps": ["calls", "connect_rate"]}, r"^steps: 'connect_rate' is a ratio metric"),
        ({"steps": ["calls", "calls"]}, r"^steps: 'calls' is listed twice"),
        ({"steps": []}, r"^steps: no funnel steps"),
        ({"rep": "Ana", "team": "East"}, r"^rep: give a rep or a team, not both"),
        ({"rep": "Anna"}, r"^rep: no selling rep named 'Anna'.*did you mean 'Ana'"),
        ({"rep": "Max"}, r"^rep: no selling rep named 'Max'"),  # a manager
        ({"team": "Eest"}, r"^team: no team named 'Eest'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(UserInputError, match=message):
            funnel(org, settings, window, **kwargs)
    with pytest.raises(UserInputError, match=r"^funnel\.steps: 'connect_rate' is a ratio"):
        ratio_funnel = settings.model_copy(
            update={"funnel": settings.funnel.model_copy(update={"steps": ["connect_rate"]})}
        )
        funnel(org, ratio_funnel, window)


# --- the command line ------------------------------------------------------------------------


def test_cli_funnel(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'org.db'}"
    build_org(make_engine(url), settings)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli_app, ["--db", url, "funnel", *args, "--as-of", "2026-11-18"])

    shown = run("--rep", "Ana", "--period", "month")
    assert shown.exit_code == 0, shown.output
    assert "Funnel of Ana, 2026-11-01..2026-11-18 (18 days), beside 2 peers" in shown.output
    assert (
        "Biggest gap: Conversations -> Meetings set: 0.0% vs peers' 60% (unlikely to be chance)."
        in shown.output
    )
    dee = run("--rep", "Dee", "--period", "month")
    assert "Biggest gap: Proposals sent -> Deals won: 0.0% vs peers' 50%, but only 4 " in (
        " ".join(dee.output.split())
    )
    assert "too few to tell" in dee.output
    data = json.loads(run("--team", "East", "--period", "month", "--json").output)
    assert (data["subject"], data["weakest"]["metric"]) == ("East", "deals_won")
    assert [s["count"] for s in data["steps"]] == [30, 20, 6, 5, 4, 0]  # Dee's meetings: not calls
    assert "No comparison group" in run("--period", "month").output
    for bad, message in [
        (("--rep", "Ana", "--team", "East"), "not both"),
        (("--period", "fortnight"), "period: 'fortnight' is not a period"),
        (("--rep", "Zed"), "no selling rep named 'Zed'"),
    ]:
        result = run(*bad)
        assert result.exit_code == 1, result.output
        assert message in result.output


# --- the API and the page ----------------------------------------------------------------------


USERS = {"root": ("admin", None), "max": ("manager", "Max"), "ana": ("rep", "Ana")}
QUERY = "period=month&as_of=2026-11-18"


def test_api_funnel_and_its_access_rules(org: Engine, settings: Settings) -> None:
    for username, (role, rep) in USERS.items():
        quick_user(org, username, role, rep)
    tokens = {u: create_token(org, u, "tests").token for u in USERS}
    with TestClient(made_app(settings, org)) as client:

        def get(user: str, query: str) -> Any:
            headers = {"Authorization": f"Bearer {tokens[user]}"}
            return client.get(f"/api/v1/funnel?{QUERY}&{query}", headers=headers)

        own = get("ana", "")
        assert own.status_code == 200, own.text
        body = own.json()
        assert (body["subject"], body["weakest"]["metric"]) == ("Ana", "meetings_set")
        assert body["weakest"]["p_value"] == pytest.approx((2 / 3) ** 12)
        assert body["weakest"]["verdict"] == "weak"
        assert body["window"]["start"] == "2026-11-01"
        assert get("ana", "rep=Cy").status_code == 403  # another rep
        assert get("ana", "team=East").status_code == 403  # a rep sees only themself
        assert get("max", "").json()["subject"] == "East"  # a manager: their team
        assert get("max", "rep=Dee").json()["subject"] == "Dee"
        assert get("max", "rep=Cy").status_code == 403
        assert get("max", "team=West").status_code == 403
        assert get("root", "").json()["subject_kind"] == "everyone"
        assert get("root", "team=West").json()["compared_with"] == ["Ana", "Ben", "Dee"]
        unknown = get("root", "rep=Zed")  # a name that does not exist: not found
        assert unknown.status_code == 404 and unknown.json()["detail"][0]["loc"] == ["query", "rep"]
        for query, loc in [
            ("period=fortnight", ["query", "period"]),
            ("rep=Ana&team=East", ["query", "team"]),
            ("rep=Max", ["query", "rep"]),  # a manager is not a selling rep
        ]:
            reply = get("root", query)
            assert reply.status_code == 422, (query, reply.text)
            assert reply.json()["detail"][0]["loc"] == loc, query
        assert client.get(f"/api/v1/funnel?{QUERY}").status_code == 401


def test_funnel_page(sqlite_engine: Engine, settings: Settings) -> None:
    build_org(sqlite_engine, settings)
    sessions = {
        u: start_session(sqlite_engine, quick_user(sqlite_engine, u, role, rep))[0]
        for u, (role, rep) in USERS.items()
    }
    with TestClient(made_app(settings, sqlite_engine)) as client:

        def page(user: str, query: str) -> Any:
            client.cookies.clear()
            client.cookies.set(SESSION_COOKIE, sessions[user])
            return client.get(f"/funnel?{QUERY}&{query}", follow_redirects=False)

        mine = page("ana", "")
        assert mine.status_code == 200, mine.text
        html = mine.text
        assert "Funnel: Ana" in html
        assert "Biggest gap: Conversations → Meetings set: 0% against the peers&#39; 60%" in html
        assert re.search(r'data-metric="meetings_set" class="weak"', html)
        figure = re.search(r'id="funnel-figure">(.*?)</script>', html, re.S)
        assert figure is not None
        assert json.loads(figure.group(1))["data"][0]["x"] == [20, 10, 0, 0, 0, 0]
        bars = re.search(r'id="conversion-figure">(.*?)</script>', html, re.S)
        assert bars is not None
        traces = json.loads(bars.group(1))["data"]
        peers = next(t for t in traces if t["name"] == "peers")
        assert peers["y"][:2] == [100.0, 60.0]
        assert 'data-testid="rep-picker"' not in html  # a rep picks nobody else
        assert page("ana", "rep=Cy").status_code == 403
        assert page("ana", "team=East").status_code == 403
        assert page("ana", "rep=Nobody").status_code == 404
        team = page("max", "")
        assert team.status_code == 200 and "Funnel: team East" in team.text
        picker = re.search(r'data-testid="rep-picker">(.*?)</select>', team.text, re.S)
        assert picker is not None
        assert re.findall(r'<option value="([^"]*)"', picker.group(1)) == ["", "Ana", "Ben", "Dee"]
        assert page("max", "rep=Cy").status_code == 403
        assert page("max", "team=West").status_code == 403
        assert page("root", "team=West").status_code == 200
        bad = page("root", "period=fortnight")
        assert bad.status_code == 422 and "is not a period" in bad.text
        client.cookies.clear()
        assert client.get("/funnel", follow_redirects=False).status_code == 303  # log in first


# --- the demo organisation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_org: tuple[Engine, dict[str, Any]], settings: Settings) -> Iterator[Any]:
    engine, truth = demo_org
    yield engine, truth, diagnosis_window(settings, settings.diagnose.window, DEMO_TODAY)


def _rep_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(Rep.id).where(Rep.name == name)).scalar_one())


def test_demo_weak_call_to_meeting_rep(demo: Any, settings: Settings) -> None:
    """Planted: meetings set per conversation about 0.03 against the peers' 0.16-0.28."""
    engine, truth, window = demo
    name = truth["planted"]["weak_call_to_meeting"]
    result = funnel(engine, settings, window, rep=name)
    weakest = result.weakest
    assert weakest is not None
    assert (weakest.previous, weakest.metric) == ("conversations", "meetings_set")
    assert weakest.significant and weakest.verdict == "weak"
    assert weakest.p_value is not None and weakest.p_value < settings.diagnose.significance
    assert weakest.conversion is not None and weakest.conversion < 0.05
    assert weakest.peer_conversion is not None and 0.16 <= weakest.peer_conversion <= 0.28
    assert [s.metric for s in result.weak_steps] == ["meetings_set"]


def test_demo_weak_proposal_to_win_rep(demo: Any, settings: Settings) -> None:
    """Planted: a win rate a third of the peers'. In the 180-day default window the rep wins 6
    deals for 51 proposals against the peers' 47 for 147 (p = 0.008); in 90 days (5 for 26
    against 24 for 74, p = 0.20) it is too few to tell, which is why the window is longer."""
    engine, truth, window = demo
    name = truth["planted"]["weak_proposal_to_win"]
    result = funnel(engine, settings, window, rep=name)
    weakest = result.weakest
    assert weakest is not None
    assert (weakest.previous, weakest.metric) == ("proposals", "deals_won")
    assert weakest.significant and weakest.verdict == "weak"
    assert weakest.relative is not None and weakest.relative < 0.5
    assert "deals_won" in [s.metric for s in result.weak_steps]
    # The counts behind it, straight from the tables.
    rep_id = _rep_id(engine, name)
    first = dt.datetime.combine(window.start, dt.time(), tzinfo=NY).astimezone(dt.UTC)
    after = dt.datetime.combine(window.end, dt.time(), tzinfo=NY).astimezone(dt.UTC)
    with engine.connect() as conn:
        proposals = conn.scalar(
            select(func.count()).where(
                Activity.rep_id == rep_id,
                Activity.kind == "proposal",
                Activity.local_date >= window.start,
                Activity.local_date < window.end,
            )
        )
        won = conn.scalar(
            select(func.count()).where(
                Deal.rep_id == rep_id,
                Deal.status == "won",
                Deal.closed_at >= first.replace(tzinfo=None),
                Deal.closed_at < after.replace(tzinfo=None),
            )
        )
    assert (weakest.from_count, weakest.count) == (proposals, won)


def test_demo_ordinary_reps_are_mostly_not_weak(demo: Any, settings: Settings) -> None:
    """Of the 20 reps planted with nothing, at least two thirds show no significantly weak step.

    Verified on the demo (seed 7, the 180-day window to 2026-11-18): 14 of 20 show none. The
    six flagged differ from their peers in their drawn parameters rather than by chance: the
    four weak on calls -> conversations (an SDR and three AEs) each drew a connect rate below
    their peers' mean, which is checked here; the three weak on meetings set -> held (two AEs,
    a field rep) also hold meetings they book themselves, so no one parameter explains them.
    """
    engine, truth, window = demo
    planted = truth["planted"]
    special = {v for k, v in planted.items() if isinstance(v, str)}
    special |= set(planted["behind_this_month"])
    with engine.connect() as conn:
        everyone = diagnosis_reps(conn, settings, window)
    ordinary = [r for r in everyone if r.name not in special]
    assert len(ordinary) == 20
    flagged = {}
    for rep in ordinary:
        result = funnel(engine, settings, window, rep=rep.name, timing=False)
        if result.weak_steps:
            flagged[rep.name] = [s.metric for s in result.weak_steps]
    assert len(ordinary) - len(flagged) >= 2 / 3 * len(ordinary), flagged
    drawn = truth["reps"]
    for rep in ordinary:
        if "conversations" in flagged.get(rep.name, []):
            peers = [p.name for p in peers_of(rep, everyone)]
            mean = sum(drawn[p]["connect_rate"] for p in peers) / len(peers)
            assert drawn[rep.name]["connect_rate"] < mean, rep.name
