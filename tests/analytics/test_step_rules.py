"""Conversions that are not measured rates: a step the CRM does not record, and a step that
outnumbers the one before it where that cannot be a conversion (`analytics.step_rules`).

Hand-built organisation, read as of Wednesday 18 November 2026, window "month" (local days
Nov 1-18), default configuration (SDRs own calls -> conversations -> meetings set, AEs own
meetings held -> proposals -> deals won: meetings set -> meetings held is the one hand-over):

- Sid (SDR): 10 calls, every one unanswered. Nobody in the organisation has ever had a
  connected call or set a meeting, so conversations and meetings set are not recorded.
- Bo (AE): 4 meetings held, 1 proposal, 3 deals won: more wins than proposals, so Bo's
  proposals are not all recorded.
- Cal (AE): 6 meetings held, 4 proposals, 2 wins. Dee (AE): 5 held, 4 proposals, 1 win.

Everyone: calls 10, conversations 0 and meetings set 0 (not recorded), meetings held 15
(after a step not recorded), proposals 9 (9/15 = 60%), deals won 6 (6/9). Bo beside Cal and
Dee: proposals 1 of 4 held (25%) against the peers' 8 of 11 (73%), which the old funnel named
the biggest gap; it is not a rate, since Bo's 3 wins outnumber the 1 proposal.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from factories import (
    AS_OF,
    activity_row,
    build_tracking_team,
    made_app,
    put_deal,
    quick_user,
    recorded_statements,
    variant,
)
from paceline.analytics.diagnose import rep_coaching
from paceline.analytics.funnel import funnel
from paceline.analytics.plan import (
    PlanInput,
    RateNeeded,
    build_plan,
    measure_rates,
)
from paceline.analytics.quality import busy_vs_productive
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.step_rules import (
    LatestRecord,
    connected_calls,
    connects_recorded,
    conversion_notes,
    handed_over_steps,
    may_start_late,
    recorded_steps,
    recording_start,
)
from paceline.analytics.timing import when_to_sell
from paceline.analytics.window import diagnosis_window
from paceline.api.deps import SESSION_COOKIE
from paceline.auth.accounts import start_session
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.describe import note_text
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

STEPS = ["calls", "conversations", "meetings_set", "meetings_held", "proposals", "deals_won"]


def day(n: int) -> dt.date:
    return dt.date(2026, 11, n)


def _org(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    ids = {
        "Sid": add_rep(engine, settings, "Sid", "sdr", team="East"),
        "Bo": add_rep(engine, settings, "Bo", "ae", team="East"),
        "Cal": add_rep(engine, settings, "Cal", "ae", team="East"),
        "Dee": add_rep(engine, settings, "Dee", "ae", team="East"),
    }
    rows = [activity_row(ids["Sid"], day(2 + i % 5)) for i in range(10)]
    for name, held, proposals in (("Bo", 4, 1), ("Cal", 6, 4), ("Dee", 5, 4)):
        rows += [
            activity_row(ids[name], day(3 + i), kind="meeting", outcome="held", engaged=True)
            for i in range(held)
        ]
        rows += [
            activity_row(ids[name], day(10 + i), kind="proposal", outcome=None)
            for i in range(proposals)
        ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    for name, wins in (("Bo", 3), ("Cal", 2), ("Dee", 1)):
        for i in range(wins):
            put_deal(
                engine,
                ids[name],
                f"{name} deal {i}",
                1000.0,
                dt.datetime(2026, 10, 1, 17),
                status="won",
                stage="closed_won",
                closed=dt.datetime(2026, 11, 12 + i, 17),
            )
    return ids


def test_not_recorded_and_outnumbered_steps_are_not_rates(
    engine: Engine, settings: Settings
) -> None:
    _org(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    everyone = funnel(engine, settings, window)
    by = {s.metric: s for s in everyone.steps}
    assert [by[s].count for s in STEPS] == [10, 0, 0, 15, 9, 6]
    assert [by[s].note for s in STEPS] == [
        None,
        "not_recorded",
        "not_recorded",
        "after_unrecorded",
        None,
        None,
    ]
    # The old funnel said 0.0% for calls -> conversations; now it is unknown.
    assert by["conversations"].conversion is None
    assert by["meetings_held"].conversion is None
    assert by["proposals"].conversion == pytest.approx(9 / 15)
    assert by["deals_won"].conversion == pytest.approx(6 / 9)
    text = note_text(everyone, by["conversations"])
    assert text is not None and "not recorded" in text and "not 0%" in text


def test_outnumbered_step_is_never_the_biggest_gap(engine: Engine, settings: Settings) -> None:
    _org(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    bo = funnel(engine, settings, window, rep="Bo")
    by = {s.metric: s for s in bo.steps}
    assert sorted(bo.compared_with) == ["Cal", "Dee"]
    assert (by["proposals"].count, by["proposals"].peer_count) == (1, 8)
    assert (by["deals_won"].count, by["deals_won"].peer_count) == (3, 3)
    assert by["proposals"].note == "under_recorded"  # 3 wins after 1 proposal
    assert by["deals_won"].note == "exceeds_previous"
    assert by["proposals"].peer_note is None and by["deals_won"].peer_note is None
    assert by["proposals"].peer_conversion == pytest.approx(8 / 11)  # the peers' is a rate
    assert by["proposals"].conversion is None and by["proposals"].comparison is None
    assert by["deals_won"].conversion is None  # was 300%
    # The old funnel named meetings held -> proposals (25% against 73%) the weakest step.
    assert bo.weakest is None
    assert bo.weak_steps == []
    said = note_text(bo, by["deals_won"])
    assert said is not None and "deals won (3) outnumber proposals sent (1)" in said


def test_a_step_recorded_once_before_the_window_is_a_real_zero(
    engine: Engine, settings: Settings
) -> None:
    ids = _org(engine, settings)
    with engine.begin() as conn:  # one connected call in October: the CRM records them
        conn.execute(
            insert(Activity),
            [activity_row(ids["Sid"], dt.date(2026, 10, 5), outcome="conversation")],
        )
    window = diagnosis_window(settings, "month", AS_OF)
    by = {s.metric: s for s in funnel(engine, settings, window).steps}
    assert by["conversations"].count == 0
    assert by["conversations"].note is None
    assert by["conversations"].conversion == 0.0  # measured: 0 of 10 calls
    assert by["meetings_set"].note == "not_recorded"


def test_an_sdrs_steps_past_the_hand_over_are_handed_over(
    engine: Engine, settings: Settings
) -> None:
    """Sid and Sue (SDRs) connect and set meetings; the AEs hold them, so an SDR has no
    meetings held of their own: the old funnel showed Sid "0 held, 0.0%" against the peers'
    0.0%, as if Sid lost every meeting set."""
    ids = _org(engine, settings)
    sue = add_rep(engine, settings, "Sue", "sdr", team="East")
    rows = []
    for rep, connected, booked in ((ids["Sid"], 4, 2), (sue, 5, 1)):
        rows += [activity_row(rep, day(4), outcome="conversation") for _ in range(connected)]
        rows += [activity_row(rep, day(5), outcome="meeting_set") for _ in range(booked)]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    window = diagnosis_window(settings, "month", AS_OF)
    sid = funnel(engine, settings, window, rep="Sid")
    by = {s.metric: s for s in sid.steps}
    assert sid.compared_with == ["Sue"]
    # 10 + 6 calls; 4 + 2 connected (a call that sets a meeting is a conversation); 2 set
    assert [by[s].count for s in STEPS] == [16, 6, 2, 0, 0, 0]
    assert [by[s].note for s in STEPS[3:]] == ["handed_over"] * 3
    assert [by[s].peer_note for s in STEPS[3:]] == ["handed_over"] * 3
    assert by["meetings_held"].conversion is None  # was 0.0 (0 of 2 set)
    assert by["meetings_held"].comparison is None
    assert by["meetings_set"].conversion == pytest.approx(2 / 6)  # the SDR's own steps stay
    assert by["meetings_set"].note is None
    assert sid.weakest is not None and sid.weakest.metric in {"conversations", "meetings_set"}
    said = note_text(sid, by["meetings_held"])
    assert said is not None and "handed over" in said and "after meetings set" in said
    assert note_text(sid, by["proposals"]) == ""  # said once, at the first handed-over step
    # An AE's funnel is the AE's all the way: calls and meetings set before the AE's steps are
    # the AE's own work, not handed to them.
    bo = {s.metric: s for s in funnel(engine, settings, window, rep="Bo").steps}
    assert "handed_over" not in {bo[s].note for s in STEPS}


def test_which_steps_a_role_hands_over(settings: Settings) -> None:
    assert handed_over_steps(settings, STEPS, "sdr") == {"meetings_held", "proposals", "deals_won"}
    assert handed_over_steps(settings, STEPS, "ae") == frozenset()
    # A field rep owns proposals only (the span of its key metrics) yet sets, holds and
    # closes: no hand-over starts at a step the role owns, so nothing is handed over.
    assert handed_over_steps(settings, STEPS, "field") == frozenset()
    assert handed_over_steps(settings, STEPS, "not a role") == frozenset()


def test_a_hand_over_may_exceed_one_anything_else_may_not() -> None:
    recorded = frozenset(STEPS)
    counts = {
        "calls": 100,
        "conversations": 30,
        "meetings_set": 5,
        "meetings_held": 20,
        "proposals": 8,
        "deals_won": 9,
    }
    hand_over = frozenset({("meetings_set", "meetings_held")})
    assert conversion_notes(STEPS, counts, recorded, hand_over) == [
        None,
        None,
        None,
        None,  # 20 held per 5 set: AEs hold meetings the SDRs did not set
        "under_recorded",
        "exceeds_previous",
    ]
    # Without the roles' hand-over, 20 held per 5 set is no conversion either.
    assert conversion_notes(STEPS, counts, recorded, frozenset())[3:5] == [
        "exceeds_previous",
        "under_recorded",
    ]


def test_plan_does_not_measure_from_an_unrecorded_or_outnumbered_step(
    engine: Engine, settings: Settings
) -> None:
    _org(engine, settings)
    measured = measure_rates(engine, settings, AS_OF, months=1, by_role=True)
    notes = {(r.upper, r.lower): r.note for r in measured.rates}
    assert notes[("calls", "conversations")] == "not_recorded"
    assert notes[("meetings_set", "meetings_held")] == "after_unrecorded"
    assert notes[("proposals", "deals_won")] is None  # 6 wins of 9 proposals, all AEs
    calendar = BusinessCalendar(settings.calendar)
    with pytest.raises(RateNeeded) as refused:
        build_plan(
            settings, calendar, PlanInput(1_000_000, 10_000, year=2026, headcount=4), measured
        )
    assert "calls→conversations" in str(refused.value)
    assert "conversations are not recorded" in str(refused.value)


def test_coaching_does_not_fire_on_a_step_outnumbered_by_the_next(
    engine: Engine, settings: Settings
) -> None:
    """Pat sends 8 proposals and wins 2; the other AEs, Quin, Ray and Sol, log 1 proposal
    between them and win 15 deals (their proposals are not recorded). Pat's 25% against the
    peers' "1,500%" fired proposal coaching (p far under 0.01); the peers' ratio is not a
    conversion, so the rule is not measurable and does not fire."""
    upgrade(engine)
    ids = {
        n: add_rep(engine, settings, n, "ae", team="East") for n in ("Pat", "Quin", "Ray", "Sol")
    }
    rows = [activity_row(ids["Pat"], day(3 + i), kind="proposal", outcome=None) for i in range(8)]
    rows.append(activity_row(ids["Quin"], day(4), kind="proposal", outcome=None))
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    wins = {"Pat": 2, "Quin": 5, "Ray": 5, "Sol": 5}
    for name, n in wins.items():
        for i in range(n):
            put_deal(
                engine,
                ids[name],
                f"{name} {i}",
                500.0,
                dt.datetime(2026, 10, 1, 17),
                status="won",
                stage="closed_won",
                closed=dt.datetime(2026, 11, 5 + i, 17),
            )
    window = diagnosis_window(settings, "month", AS_OF)
    checks = {c.rule: c for c in rep_coaching(engine, settings, window, "Pat").checks}
    proposal = checks["proposal_coaching"]
    assert proposal.comparison is not None
    assert (proposal.comparison.rep_from, proposal.comparison.rep_to) == (8, 2)
    assert (proposal.comparison.peer_from, proposal.comparison.peer_to) == (1, 15)
    assert proposal.status == "not_measurable"  # was "hint"
    assert not proposal.fired


def test_funnel_page_says_not_recorded_and_not_measurable(
    sqlite_engine: Engine, settings: Settings
) -> None:
    _org(sqlite_engine, settings)
    session = start_session(sqlite_engine, quick_user(sqlite_engine, "root", "admin"))[0]
    with TestClient(made_app(settings, sqlite_engine)) as client:
        client.cookies.set(SESSION_COOKIE, session)
        page = client.get("/funnel?period=month&as_of=2026-11-18&rep=Bo")
    assert page.status_code == 200, page.text
    html = page.text
    row = re.search(r'data-metric="deals_won".*?</tr>', html, re.S)
    assert row is not None and "not measurable" in row.group(0)  # was 300.0%
    notes = re.search(r'data-testid="funnel-notes">(.*?)</ul>', html, re.S)
    assert notes is not None
    assert "Conversations: not recorded" in notes.group(1)
    assert "deals won (3) outnumber proposals sent (1)" in notes.group(1)
    figure = re.search(r'id="funnel-figure">(.*?)</script>', html, re.S)
    assert figure is not None
    texts = json.loads(figure.group(1))["data"][0]["text"]
    assert texts[-1] == "3<br>not measurable"  # plotly's own percentPrevious said 300%
    assert "Biggest gap" not in html


def test_plan_says_whose_history_a_step_was_measured_on(engine: Engine, settings: Settings) -> None:
    """An organisation of AEs only (as the Zoho export is): 10 calls by Bo, 3 of them
    conversations. Measured by role, calls count on the SDRs who own the step, and there are
    none: the plan said "no calls in history (..., all reps)" beside Bo's 10 calls."""
    upgrade(engine)
    bo = add_rep(engine, settings, "Bo", "ae", team="East")
    rows = [activity_row(bo, day(2 + i)) for i in range(7)]
    rows += [activity_row(bo, day(10 + i), outcome="conversation") for i in range(3)]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    measured = measure_rates(engine, settings, AS_OF, months=1, by_role=True)
    calls = measured.get("calls", "conversations")
    assert calls is not None and (calls.denominator, calls.note) == (0, None)
    calendar = BusinessCalendar(settings.calendar)
    with pytest.raises(RateNeeded) as refused:
        build_plan(
            settings, calendar, PlanInput(1_000_000, 10_000, year=2026, headcount=1), measured
        )
    assert "no calls in history by role sdr, the step's owner (" in str(refused.value)


def test_a_rolled_up_step_is_found_recorded_by_its_first_day(
    engine: Engine, settings: Settings
) -> None:
    """Whether anyone ever had a rolled-up step is asked of `metric_day` for its first row
    (one statement with a LIMIT), not by summing every rep's whole history; the answer is
    the same: the tracking team's conversations are recorded before November 18th, and not
    before October 1st (the first are on October 15th)."""
    build_tracking_team(engine, settings)
    ensure_rollup(engine, settings)
    with engine.connect() as conn, recorded_statements(engine) as statements:
        late = recorded_steps(conn, settings, ["conversations"], {}, dt.date(2026, 11, 18))
        early = recorded_steps(conn, settings, ["conversations"], {}, dt.date(2026, 10, 1))
    assert (late, early) == (frozenset({"conversations"}), frozenset())
    assert len(statements) == 2
    assert all("LIMIT" in s.upper() and "sum(" not in s.lower() for s in statements)


# --- a step whose records start late --------------------------------------------------------

HISTORY_START = dt.date(2026, 1, 1)


@pytest.mark.parametrize(
    ("days", "start"),
    [
        # Records from Feb 16 only: 46 days into the history.
        ({dt.date(2026, 2, 16): 20, dt.date(2026, 3, 2): 40}, dt.date(2026, 2, 16)),
        # From Jan 8: a week in is no late start (a holiday); Jan 9 is.
        ({dt.date(2026, 1, 8): 5}, None),
        ({dt.date(2026, 1, 9): 5}, dt.date(2026, 1, 9)),
        # A stray on Oct 1 (1 of 61), then 138 days without any: it does not make the start.
        ({dt.date(2025, 10, 1): 1, dt.date(2026, 2, 16): 60}, dt.date(2026, 2, 16)),
        # Eleven on Oct 1 and Dec 15 (11 of 71): recorded before the history, not strays.
        (
            {dt.date(2025, 10, 1): 1, dt.date(2025, 12, 15): 10, dt.date(2026, 2, 16): 60},
            None,
        ),
        # Strays on Jan 2 and Jan 7 (2 of 62), then 40 days without: a late start after all.
        (
            {dt.date(2026, 1, 2): 1, dt.date(2026, 1, 7): 1, dt.date(2026, 2, 16): 60},
            dt.date(2026, 2, 16),
        ),
        # 27 days of silence after a stray is not a month's: Jan 2 stands; 28 days are.
        ({dt.date(2026, 1, 2): 1, dt.date(2026, 1, 29): 60}, None),
        ({dt.date(2026, 1, 2): 1, dt.date(2026, 1, 30): 60}, dt.date(2026, 1, 30)),
        ({}, None),
    ],
)
def test_recording_start_by_hand(days: dict[dt.date, float], start: dt.date | None) -> None:
    assert recording_start(days, HISTORY_START) == start
    assert may_start_late(_latest_of(days), HISTORY_START, dt.date(2026, 4, 1)) or start is None


def _latest_of(days: dict[dt.date, float]) -> LatestRecord:
    def latest(after: dt.date, through: dt.date) -> dt.date | None:
        return max((d for d in days if after < d <= through), default=None)

    return latest


@given(
    st.dictionaries(
        st.integers(min_value=-120, max_value=200),
        st.integers(min_value=1, max_value=50),
        max_size=25,
    ),
    st.integers(min_value=1, max_value=220),
)
def test_may_start_late_is_false_only_when_the_start_is_not_late(
    offsets: dict[int, int], length: int
) -> None:
    """The cheap look-ups never say "not late" where reading every day's count finds a late
    start (days before the end only, as the analyses read them)."""
    end = HISTORY_START + dt.timedelta(days=length)
    days = {HISTORY_START + dt.timedelta(days=k): float(v) for k, v in offsets.items()}
    before_end = {d: v for d, v in days.items() if d < end}
    if recording_start(before_end, HISTORY_START) is not None:
        assert may_start_late(_latest_of(days), HISTORY_START, end)


def test_a_deal_step_is_found_recorded_by_its_first_deal(
    engine: Engine, settings: Settings
) -> None:
    """Whether anyone ever had a deal metric is asked for its first deal (one statement with
    a LIMIT, no sum over every rep's history), with the same answers: Ana's deal won on
    November 10th (noon in New York) without an amount makes deals won recorded before the
    11th, not before the 10th; revenue is not recorded (no amount to add) until a won deal
    with an amount, and a lost deal's amount does not count. Deals won and revenue read the
    same deals: a won deal with an amount answers both in one statement."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "ae")
    won = dt.datetime(2026, 11, 10, 17)
    put_deal(engine, ana, "Acme", None, won, status="won", stage="closed_won", closed=won)
    put_deal(engine, ana, "Lost", 900.0, won, status="lost", stage="closed_lost", closed=won)
    steps = ["deals_won", "revenue"]
    with engine.connect() as conn, recorded_statements(engine) as statements:
        late = recorded_steps(conn, settings, steps, {}, dt.date(2026, 11, 11))
        early = recorded_steps(conn, settings, steps, {}, dt.date(2026, 11, 10))
    assert (late, early) == (frozenset({"deals_won"}), frozenset())
    assert len(statements) == 4
    assert all("LIMIT" in s.upper() and "sum(" not in s.lower() for s in statements)
    put_deal(engine, ana, "Globex", 500.0, won, status="won", stage="closed_won", closed=won)
    with engine.connect() as conn, recorded_statements(engine) as statements:
        found = recorded_steps(conn, settings, steps, {}, dt.date(2026, 11, 11))
    assert found == frozenset(steps)
    assert len(statements) == 1  # a won deal with an amount answers deals won too


# --- a connect rate's numerator: recorded or not ------------------------------------------


def gatekeeper_conversations(settings: Settings) -> Settings:
    """A team that counts a call reaching the gatekeeper as a conversation: `conversations`
    is the calls with outcome `gatekeeper` (not a connected outcome), so it is no longer the
    connected calls that when to sell divides."""
    changed = {"name": "conversations", "outcomes": ["gatekeeper"], "connected": None}
    return variant(settings, [changed])


def build_calls_before(engine: Engine, settings: Settings, earlier: str) -> int:
    """Ana (SDR): 20 unanswered calls on Tue 2026-11-10, in the window; before it, on
    2026-09-01, one call with outcome `earlier` (nobody else has any activity)."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    rows = [activity_row(ana, dt.date(2026, 11, 10)) for _ in range(20)]
    rows.append(activity_row(ana, dt.date(2026, 9, 1), outcome=earlier))
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    ensure_rollup(engine, settings)
    return ana


@pytest.mark.parametrize(
    ("earlier", "conversations", "connected"),
    [("gatekeeper", True, False), ("conversation", False, True)],
)
def test_connects_recorded_asks_about_each_numerator(
    engine: Engine, settings: Settings, earlier: str, conversations: bool, connected: bool
) -> None:
    """Under `gatekeeper_conversations` the two numerators part: a September call that
    reached the gatekeeper is a conversation but no connected call, and a connected one
    (`conversation`) the reverse. Before September neither is recorded; `seen` answers
    without a read."""
    custom = gatekeeper_conversations(settings)
    build_calls_before(engine, custom, earlier)
    numerators = [custom.metric("conversations"), connected_calls(custom)]
    with engine.connect() as conn:
        found = [connects_recorded(conn, custom, n, AS_OF) for n in numerators]
        before = [connects_recorded(conn, custom, n, dt.date(2026, 9, 1)) for n in numerators]
        told = [connects_recorded(conn, custom, n, dt.date(2026, 9, 1), 1.0) for n in numerators]
    assert found == [conversations, connected]
    assert before == [False, False] and told == [True, True]


@pytest.mark.parametrize(
    ("earlier", "conversations", "connected"),
    [("gatekeeper", True, False), ("conversation", False, True)],
)
def test_each_connect_rate_is_unknown_only_when_its_numerator_is_not_recorded(
    engine: Engine, settings: Settings, earlier: str, conversations: bool, connected: bool
) -> None:
    """Busy vs productive divides the `conversations` metric by the calls, when to sell the
    connected calls: in the 30 days to Nov 18 Ana has 20 calls and none of either, so each
    reads 0% where its numerator is recorded (the September call) and unknown where not."""
    custom = gatekeeper_conversations(settings)
    build_calls_before(engine, custom, earlier)
    window = diagnosis_window(custom, "30d", AS_OF)
    quality = busy_vs_productive(engine, custom, window)
    timing = when_to_sell(engine, custom, window)
    ana = quality.reps[0]
    assert (quality.connects_recorded, ana.calls) == (conversations, 20)
    assert ana.connect_rate == (0.0 if conversations else None)
    assert (timing.connects_recorded, timing.calls) == (connected, 20)
    assert [c.connect_rate for c in timing.cells] == [0.0 if connected else None]


def test_connected_calls_are_probed_on_the_rollup_when_a_metric_counts_them(
    engine: Engine, settings: Settings
) -> None:
    """Under the default configuration `conversations` counts exactly the connected calls, so
    when to sell's probe is the first `metric_day` row of it (LIMIT 1), not a scan of the
    activities for a connected call (all of them, in an export without call results)."""
    build_calls_before(engine, settings, "conversation")
    with engine.connect() as conn, recorded_statements(engine) as statements:
        found = connects_recorded(conn, settings, connected_calls(settings), AS_OF)
    assert found and len(statements) == 1
    assert "metric_day" in statements[0] and "LIMIT" in statements[0].upper()
    assert "FROM activity" not in statements[0]
