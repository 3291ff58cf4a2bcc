"""Coaching rules, the rate comparison behind them, and the diagnosis window, by hand.

The hand-built team (East, five SDRs, November 1-18 2026, as of Wednesday the 18th):

    rep   calls  conversations  meetings set
    Ana    200        40              2      converts calls to meetings at a tenth of peers
    Ben    100        20              0      half the calls of everyone else
    Cy     200        40             20
    Dee    200        40             20
    Eve    200        40             20

Meeting-set calls are connected, so they count as conversations too.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update
from typer.testing import CliRunner

from factories import AS_OF, NOV, build_calls_without_results, build_coaching_team, make_site
from paceline.analytics.coaching import Coaching, coach, coaching_metrics
from paceline.analytics.compare import compare_rates
from paceline.analytics.diagnose import rep_coaching
from paceline.analytics.metrics import metric_totals
from paceline.analytics.peers import diagnosis_reps, find_rep, peers_of
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.window import diagnosis_window
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.describe import evidence_text
from paceline.errors import UserInputError
from paceline.services.reps import add_rep
from paceline.services.targets import TargetRow, save_targets
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Activity, Deal, Rep


def _binom_cdf(k: int, n: int, p: float) -> float:
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def _coach(engine: Engine, settings: Settings, name: str, flags: tuple[str, ...] = ()) -> Coaching:
    window = diagnosis_window(settings, "month", AS_OF)
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        reps = diagnosis_reps(conn, settings, window)
        rep = find_rep(reps, name)
        totals = metric_totals(conn, settings, coaching_metrics(settings), window.start, window.end)
        return coach(conn, settings, window, rep, peers_of(rep, reps), totals, flags)


def _status(report: Coaching) -> dict[str, str]:
    return {check.rule: check.status for check in report.checks}


def test_weak_conversion_with_enough_volume_gets_targeting_advice(
    engine: Engine, settings: Settings
) -> None:
    build_coaching_team(engine, settings)
    report = _coach(engine, settings, "ana")
    assert report.peers == 4
    targeting = next(c for c in report.checks if c.rule == "targeting")
    assert targeting.status == "hint"
    comparison = targeting.comparison
    assert comparison is not None
    # Ana 2 meetings from 200 calls; her peers 60 from 700. Given 62 meetings in all, Ana's
    # share is binomial with her share of the calls, 200/900.
    assert (comparison.rep_rate, comparison.peer_rate) == (
        pytest.approx(0.01),
        pytest.approx(60 / 700),
    )
    assert comparison.p_value == pytest.approx(_binom_cdf(2, 62, 2 / 9))
    assert targeting.volume is not None
    assert (targeting.volume.basis, targeting.volume.reference) == ("peers", 200)
    # Her connect rate is the peers' (40 of 200): not weak. Nothing about proposals (SDR).
    status = _status(report)
    assert status["list_quality"] == "not_weak"
    assert status["proposal_coaching"] == "no_data"
    assert status["confirmation"] == "not_for_role"  # field reps only: SDRs hold no meetings
    assert status["time_management"] == "no_flag"
    assert [h.rule for h in report.hints] == ["targeting"]


def test_short_volume_does_not_hide_a_weak_conversion(engine: Engine, settings: Settings) -> None:
    build_coaching_team(engine, settings)
    report = _coach(engine, settings, "Ben")
    targeting = next(c for c in report.checks if c.rule == "targeting")
    assert targeting.comparison is not None
    # No meeting from 100 calls while peers set 62 from 800: (8/9)^62 = 0.00067.
    assert targeting.comparison.p_value == pytest.approx((8 / 9) ** 62)
    assert targeting.volume is not None
    assert targeting.volume.reference == 200  # the peers' median calls
    # 100 < 75% of 200: short on calls too. Before, that hid the hint ("volume_low"); a rate
    # per call does not drop because there are fewer calls, so both are said.
    assert targeting.status == "hint" and targeting.volume_short
    assert [h.rule for h in report.hints] == ["targeting"]
    text = evidence_text(settings, targeting)
    assert text.endswith("calls 100 against peers' median 200: short on calls as well")


CLOSERS = {"Kim": (60, 4), "Lou": (120, 34), "Mel": (120, 34), "Ned": (120, 34)}


def _build_closers(engine: Engine, settings: Settings) -> dict[str, int]:
    """Four AEs (North) over Nov 2-13: proposals sent and deals won from them.

    Kim closes 4 of 60 (7%) where each peer closes 34 of 120 (28%): a weak close rate, and
    fewer proposals than peers who hold far more meetings (60 < 75% of 120).
    """
    upgrade(engine)
    ids = {name: add_rep(engine, settings, name, "ae", team="North") for name in CLOSERS}
    days = [dt.date(2026, 11, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
    activities, deals = [], []
    for name, (proposals, wins) in CLOSERS.items():
        for i in range(proposals):
            day = days[i % len(days)]
            activities.append(
                {
                    "rep_id": ids[name],
                    "kind": "proposal",
                    "occurred_at": dt.datetime.combine(day, dt.time(16, 0)),
                    "local_date": day,
                    "outcome": "sent",
                    "has_ask": True,
                    "engaged": False,
                    "source": "test",
                }
            )
        deals += [
            {
                "rep_id": ids[name],
                "name": f"{name} win {i}",
                "amount": Decimal(10_000),
                "stage": "closed_won",
                "status": "won",
                "created_at": dt.datetime(2026, 10, 1, 16),
                "closed_at": dt.datetime.combine(days[i % len(days)], dt.time(20, 0)),
                "source": "test",
            }
            for i in range(wins)
        ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), activities)
        conn.execute(insert(Deal), deals)
    return ids


def test_a_weak_close_rate_is_said_beside_a_short_proposal_count(
    engine: Engine, settings: Settings
) -> None:
    _build_closers(engine, settings)
    report = _coach(engine, settings, "Kim")
    proposal = next(c for c in report.checks if c.rule == "proposal_coaching")
    comparison = proposal.comparison
    assert comparison is not None
    assert (comparison.rep_rate, comparison.peer_rate) == (
        pytest.approx(4 / 60),
        pytest.approx(102 / 360),
    )
    # 106 wins in all; Kim's share of the proposals is 60/420.
    assert comparison.p_value == pytest.approx(_binom_cdf(4, 106, 60 / 420))
    assert comparison.p_value < 0.001
    assert proposal.volume is not None and proposal.volume.reference == 120
    assert proposal.status == "hint" and proposal.volume_short  # before: hidden, "volume_low"
    assert "proposal_coaching" in [h.rule for h in report.hints]
    assert _coach(engine, settings, "Lou").hints == []


def test_text_brief_lists_every_rule_with_its_verdict(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    build_coaching_team(make_engine(url), settings)
    args = ["--db", url, "diagnose", "--rep", "Ben", "--period", "month", "--as-of", "2026-11-18"]
    shown = CliRunner().invoke(cli_app, args)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "Targeting and ideal-customer coaching: Plenty of calls" in text
    assert "short on calls as well" in text
    assert "- List quality and call timing: checked: not weak (calls → conversations: 20%" in text
    # Nobody in this organisation has a proposal or a win: not recorded (`step_rules`).
    assert "- Proposal coaching: not measurable: a step not recorded" in text
    assert "- Meeting confirmation habits: not for this role" in text
    # No activity of this team has a duration: no selling share, so nothing was checked.
    assert (
        "- Time management: not measurable: the data records too little to tell (fewer than"
        " two days with logged minutes" in text
    )
    assert "- Quality over volume: checked: not flagged" in text


def test_a_target_decides_whether_volume_is_enough(engine: Engine, settings: Settings) -> None:
    ids = build_coaching_team(engine, settings)
    with engine.begin() as conn:
        save_targets(conn, [TargetRow(ids["Ben"], "calls", "month", NOV, 120)])
    targeting = next(c for c in _coach(engine, settings, "Ben").checks if c.rule == "targeting")
    assert targeting.volume is not None
    # November has 19 business days; 13 of them fall on Nov 1-18: 120 * 13/19 = 82.1 calls.
    assert targeting.volume.basis == "target"
    assert targeting.volume.reference == pytest.approx(120 * 13 / 19)
    assert targeting.status == "hint"  # 100 >= 75% of 82.1


def test_ordinary_rep_gets_no_advice_and_flags_fire_their_rule(
    engine: Engine, settings: Settings
) -> None:
    build_coaching_team(engine, settings)
    assert _coach(engine, settings, "Cy").hints == []
    flagged = _coach(engine, settings, "Cy", flags=("low_selling_time",))
    assert [h.rule for h in flagged.hints] == ["time_management"]
    assert flagged.hints[0].advice.startswith("Too little of the day is selling")


def test_empty_window_has_nothing_to_compare(engine: Engine, settings: Settings) -> None:
    build_coaching_team(engine, settings)
    window = diagnosis_window(settings, "week", dt.date(2026, 12, 9))
    with engine.connect() as conn:
        reps = diagnosis_reps(conn, settings, window)
        rep = find_rep(reps, "Ana")
        totals = metric_totals(conn, settings, coaching_metrics(settings), window.start, window.end)
        report = coach(conn, settings, window, rep, peers_of(rep, reps), totals, ())
    assert set(_status(report).values()) == {"no_data", "no_flag", "not_for_role"}


def test_unknown_rep_and_team_are_clear_errors(engine: Engine, settings: Settings) -> None:
    build_coaching_team(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    with engine.connect() as conn:
        reps = diagnosis_reps(conn, settings, window)
        with pytest.raises(UserInputError, match=r"no selling rep named 'Anna'.*Ana"):
            find_rep(reps, "Anna")
        with pytest.raises(UserInputError, match=r"team: no team named 'Eats'.*East"):
            diagnosis_reps(conn, settings, window, team="Eats")


def test_peers_come_from_the_team_only_when_it_has_three() -> None:
    from paceline.analytics.scorecard import RosterRep

    def rep(i: int, role: str, team: str) -> RosterRep:
        return RosterRep(i, f"r{i}", role, team, None)

    east = [rep(1, "sdr", "East"), rep(2, "sdr", "East"), rep(3, "ae", "East")]
    west = [rep(4, "sdr", "West"), rep(5, "sdr", "West")]
    everyone = east + west
    assert [p.id for p in peers_of(east[0], everyone)] == [2, 4, 5]  # 1 in team: organisation
    more = [*everyone, rep(6, "sdr", "East"), rep(7, "sdr", "East")]
    assert [p.id for p in peers_of(east[0], more)] == [2, 6, 7]  # 3 in team: the team


def test_rate_comparison_by_hand() -> None:
    # 3 wins from 30 proposals against peers' 40 from 100: share 30/130 of 43 wins.
    c = compare_rates(30, 3, 100, 40)
    assert (c.rep_rate, c.peer_rate, c.relative) == (0.1, 0.4, pytest.approx(0.25))
    assert c.p_value == pytest.approx(_binom_cdf(3, 43, 30 / 130))
    assert c.is_below(0.01)
    # Rates above 1 are fine (meetings held per meeting set): 12 from 10 against 24 from 20.
    assert compare_rates(10, 12, 20, 24).p_value == pytest.approx(_binom_cdf(12, 36, 1 / 3))
    assert compare_rates(0, 0, 10, 5).p_value is None  # the rep had no exposure
    assert compare_rates(10, 0, 10, 0).p_value is None  # nobody converted: no evidence
    small = compare_rates(3, 0, 30, 12)  # 0 of 3 against 40%: below, but few
    assert small.p_value is not None and not small.is_below(0.01)


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("90d", dt.date(2026, 8, 21), dt.date(2026, 11, 19)),
        ("1d", AS_OF, dt.date(2026, 11, 19)),
        ("month", NOV, dt.date(2026, 11, 19)),
        ("quarter", dt.date(2026, 10, 1), dt.date(2026, 11, 19)),
        (" month ", NOV, dt.date(2026, 11, 19)),  # a form's spaces, as every parameter's
        ("week", dt.date(2026, 11, 16), dt.date(2026, 11, 19)),
    ],
)
def test_window_specs(settings: Settings, spec: str, start: dt.date, end: dt.date) -> None:
    window = diagnosis_window(settings, spec, AS_OF)
    assert (window.start, window.end, window.as_of) == (start, end, AS_OF)


@pytest.mark.parametrize("spec", ["0d", "99999d", "fortnight", "-5d", "", "Quarter", "90D"])
def test_window_rejects_what_it_cannot_read(settings: Settings, spec: str) -> None:
    with pytest.raises(UserInputError, match="period"):
        diagnosis_window(settings, spec, AS_OF)


def test_a_significant_but_small_gap_is_not_weak() -> None:
    # 11% against 12% on 100,000 calls each: p is tiny, the gap is 8%: not worth coaching.
    small = compare_rates(100_000, 11_000, 100_000, 12_000)
    assert small.p_value is not None and small.p_value < 1e-9
    assert small.is_below(0.01) and not small.is_below(0.01, min_gap=0.2)
    big = compare_rates(100_000, 9_000, 100_000, 12_000)  # 25% below
    assert big.is_below(0.01, min_gap=0.2)


def test_no_quality_coaching_from_calls_whose_engagement_nobody_records(
    engine: Engine, settings: Settings
) -> None:
    """Calls without results (never engaged anywhere) and meetings recorded as held: Jay's
    300 calls beside 3 meetings, against peers' 100 and 60, are no "quality over volume"
    case (the rule fired before: 3 engaged of 303 attempts against 240 of 640). Jay's
    engagement is read over the meetings, 3 of 3, as the peers' 240 of 240."""
    build_calls_without_results(engine, settings)
    window = diagnosis_window(settings, "30d", AS_OF)
    report = rep_coaching(engine, settings, window, "Jay")
    status = _status(report)
    assert status["activity_quality"] == "no_flag"
    assert report.hints == []
    # No call or meeting has a duration (Jasmine Frank's 700 calls are all of 0 seconds):
    # no selling share, so time management is not measurable, not "checked: not flagged".
    assert status["time_management"] == "flag_unknown"


def _late_starter(engine: Engine, settings: Settings, target: float | None = None) -> None:
    """The coaching team and Fin, an East SDR who started on Monday Nov 16: 40 calls a day
    on Nov 16, 17 and 18 (120 in all), none setting a meeting."""
    build_coaching_team(engine, settings)
    fin = add_rep(engine, settings, "Fin", "sdr", team="East", start_date=dt.date(2026, 11, 16))
    rows = [
        {**row, "local_date": day, "occurred_at": dt.datetime.combine(day, dt.time(17))}
        for day in (dt.date(2026, 11, d) for d in (16, 17, 18))
        for row in _calls(fin, 40)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        if target is not None:
            save_targets(conn, [TargetRow(fin, "calls", "month", NOV, target)])


def _calls(rep_id: int, n: int) -> list[dict[str, Any]]:
    return [
        {"rep_id": rep_id, "kind": "call", "outcome": "no_answer", "has_ask": True}
        | {"engaged": False, "source": "test"}
        for _ in range(n)
    ]


def test_a_late_starters_volume_is_set_against_the_peers_over_the_same_days(
    engine: Engine, settings: Settings
) -> None:
    """Fin worked 3 of the window's 13 business days (Nov 1-18). His 0 meetings from 120
    calls against the peers' 62 from 900 is weak: p = (1 - 120/1,020)^62. His peers' median
    is 200 calls over all 13 days, 200 x 3/13 = 46.2 over his 3: 120 calls is no shortfall
    (before: 120 against 200, "short on calls as well")."""
    _late_starter(engine, settings)
    targeting = next(c for c in _coach(engine, settings, "Fin").checks if c.rule == "targeting")
    assert targeting.status == "hint"
    assert targeting.comparison is not None
    assert targeting.comparison.p_value == pytest.approx((1 - 120 / 1_020) ** 62)
    volume = targeting.volume
    assert volume is not None
    assert (volume.basis, volume.actual, volume.days) == ("peers", 120, 3)
    assert volume.reference == pytest.approx(200 * 3 / 13)
    assert volume.ok and not targeting.volume_short


def test_a_late_starters_target_is_prorated_like_the_scorecards(
    engine: Engine, settings: Settings
) -> None:
    """Fin's November target is 380 calls: 380 x 13/19 = 260 over the window's 13 business
    days of November's 19, and 260 x 3/13 = 60 over the 3 he worked (the scorecards prorate
    a late starter's target the same way). 120 calls is no shortfall (before: 120 against
    260, short)."""
    _late_starter(engine, settings, target=380)
    targeting = next(c for c in _coach(engine, settings, "Fin").checks if c.rule == "targeting")
    volume = targeting.volume
    assert volume is not None and (volume.basis, volume.days) == ("target", 3)
    assert volume.reference == pytest.approx(380 * 13 / 19 * 3 / 13)
    assert volume.ok


def test_a_rep_of_the_whole_window_is_read_over_all_of_it(
    engine: Engine, settings: Settings
) -> None:
    """Ana worked the whole window (no start date): her peers' median, Fin's 120 calls in
    his 3 days counted as 520 over 13 (Ben 100, Cy, Dee, Eve 200, Fin 520), is 200."""
    _late_starter(engine, settings)
    targeting = next(c for c in _coach(engine, settings, "Ana").checks if c.rule == "targeting")
    volume = targeting.volume
    assert volume is not None and (volume.reference, volume.days) == (200, None)


def test_the_brief_says_a_late_starters_volume_is_over_his_days(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    _late_starter(make_engine(url), settings)
    args = ["--db", url, "diagnose", "--rep", "Fin", "--period", "month", "--as-of", "2026-11-18"]
    shown = CliRunner().invoke(cli_app, args)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert (
        "calls 120 against peers' median 46.15 over the 3 business days since the rep started"
        in text
    )
    assert "short on calls as well" not in text


def test_the_page_says_a_flag_the_data_cannot_decide_is_not_measurable(
    sqlite_engine: Engine, settings: Settings
) -> None:
    """The diagnosis page's rule table for Jay (no activity with a duration): time
    management is not measurable, with the reason; quality over volume was checked."""
    build_calls_without_results(sqlite_engine, settings)
    site = make_site(sqlite_engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", "/diagnose", rep="Jay", period="30d", as_of="2026-11-18")
    assert page.status_code == 200
    assert (
        "<td>Time management</td><td>not measurable: the data records too little to tell</td>"
        "<td>fewer than two days with logged minutes: no selling share to read</td>"
    ) in page.text
    assert "<td>Quality over volume</td><td>checked: not flagged</td>" in page.text


def _leaver(engine: Engine, settings: Settings) -> None:
    """The coaching team and Lev, an East SDR who left on Wednesday Nov 4: 40 calls a day on
    Nov 2, 3 and 4 (120 in all, his 3 business days of the window's 13), none setting a
    meeting."""
    build_coaching_team(engine, settings)
    lev = add_rep(engine, settings, "Lev", "sdr", team="East")
    rows = [
        {**row, "local_date": day, "occurred_at": dt.datetime.combine(day, dt.time(17))}
        for day in (dt.date(2026, 11, d) for d in (2, 3, 4))
        for row in _calls(lev, 40)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        conn.execute(update(Rep).where(Rep.id == lev).values(end_date=dt.date(2026, 11, 4)))


def test_a_leavers_volume_is_set_against_the_peers_over_his_days(
    engine: Engine, settings: Settings
) -> None:
    """Lev worked 3 of the window's 13 business days (Nov 1-18) before leaving: his peers'
    median, 200 calls over 13 days, is 200 x 3/13 = 46.2 over his 3, so his 120 calls are no
    shortfall (before: 120 against 200 over all 13, "short on calls as well")."""
    _leaver(engine, settings)
    targeting = next(c for c in _coach(engine, settings, "Lev").checks if c.rule == "targeting")
    volume = targeting.volume
    assert volume is not None
    assert (volume.basis, volume.actual, volume.days) == ("peers", 120, 3)
    assert volume.left == dt.date(2026, 11, 4)
    assert volume.reference == pytest.approx(200 * 3 / 13)
    assert volume.ok and not targeting.volume_short


def test_the_brief_says_a_leavers_volume_is_over_the_days_he_worked(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    _leaver(make_engine(url), settings)
    args = ["--db", url, "diagnose", "--rep", "Lev", "--period", "month", "--as-of", "2026-11-18"]
    shown = CliRunner().invoke(cli_app, args)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert (
        "calls 120 against peers' median 46.15 over the 3 business days the rep worked"
        " (left 2026-11-04)" in text
    )
    assert "short on calls as well" not in text


def test_a_volume_nobody_records_has_no_peers_median_of_zeros(
    engine: Engine, settings: Settings
) -> None:
    """The targeting rule checking proposals for volume, which nobody in the organisation
    records (no deals at all): Ana's weak calls-to-meetings still fire, and her volume has no
    reference (before: "proposals 0 against peers' median 0", four peers' 0s that say
    nothing). Her calls, which everyone records, keep the peers' median of 200."""
    build_coaching_team(engine, settings)
    rules = [
        r.model_copy(update={"volume_ok": "proposals"}) if r.name == "targeting" else r
        for r in settings.coaching
    ]
    custom = settings.model_copy(update={"coaching": rules})
    window = diagnosis_window(settings, "month", AS_OF)
    targeting = next(
        c for c in rep_coaching(engine, custom, window, "Ana").checks if c.rule == "targeting"
    )
    assert targeting.status == "hint"
    assert targeting.volume is not None
    volume = targeting.volume
    assert (volume.metric, volume.actual, volume.reference, volume.basis) == (
        "proposals",
        0,
        None,
        "none",
    )
    assert not targeting.volume_short
    assert "median" not in evidence_text(custom, targeting)
    calls = next(
        c for c in rep_coaching(engine, settings, window, "Ana").checks if c.rule == "targeting"
    )
    assert calls.volume is not None and (calls.volume.basis, calls.volume.reference) == (
        "peers",
        200,
    )
