"""The tipping point: the exact hinge fit, its intervals' coverage, refusals, the weekly
rep-week aggregation on SQLite and PostgreSQL, the faces, the demo and imported data.

Hand-built organisation for the weekly aggregation (`build_weeks_org`), read as of Wednesday
2026-11-18 with 4 weeks of history: W0 = Oct 19-25, W1 = Oct 26 - Nov 1, W2 = Nov 2-8,
W3 = Nov 9-15 (New York time; summer time ends on Sunday Nov 1, so W1 starts at 04:00 UTC and
ends at 05:00 UTC). Meetings held are meeting, video or discovery meetings with outcome
"held"; opportunities are deals by their owner and local day of creation.
- Ann (AE, East): W0 2 held (+1 no-show), 1 opportunity. W1 3 video held on Tue, 2 discovery
  held Sat Oct 31 23:30 local (Nov 1 03:30 UTC), opportunities at Nov 1 03:30 UTC and Nov 2
  04:30 UTC (Sat and Sun local: both W1). W2 no meeting but a call (a week worked), and an
  opportunity at Nov 9 04:30 UTC (Sun Nov 8 local: W2). W3 nothing logged (a week off) but an
  opportunity on Nov 10. Outside: 7 held on Oct 13 (before) and 9 on Nov 17 (this week).
- Bob (AE, West, started Wed Oct 28): 4 held in W1 (a week he was not there for in full),
  3 in W2 with a deal won on Nov 5 that was created in September, 4 in W3 and 1 opportunity.
- Dee (AE, East, left Tue Nov 10): 6 held and 2 opportunities in W2, 1 held in W3 (not a full
  week on staff).
- Cy (SDR, East): 10 conversations a week, no meeting held, no deal: not a role that does it.
- Max (manager, East): 3 held in W0; managers are not selling reps.
So at lag 0 the rep-weeks are Ann (2, 1), (5, 2), (0, 1); Bob (3, 0), (4, 1); Dee (6, 2).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, update
from typer.testing import CliRunner

from factories import (
    DEMO_TODAY,
    ZOHO_EXPORT,
    add_users,
    api_tokens,
    bearer,
    login,
    made_app,
    shared_zoho,
    sqlite_copy,
)
from paceline.analytics.tipping import (
    RepWeeks,
    TippingPoint,
    estimate_tipping,
    fit_hinge,
    fit_line,
    tipping_point,
)
from paceline.cli import app as cli_app
from paceline.config import Settings, TippingSettings, default_config_text, parse_settings
from paceline.errors import UserInputError
from paceline.serialize import to_jsonable
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Account, Activity, Deal, Rep

NY = ZoneInfo("America/New_York")
AS_OF = dt.date(2026, 11, 18)
MEETING_KINDS = ("meeting", "video_meeting", "discovery_meeting")

# A distinct-count metric, to check weeks are counted as weeks (not summed days).
ACCOUNTS_MET = """
[[metrics]]
name = "accounts_met"
label = "Accounts met"
source = "activities"
aggregate = "distinct_count"
field = "account_id"
kinds = ["meeting", "video_meeting", "discovery_meeting"]
outcomes = ["held"]

[[metrics]]
name = "live_touches"
label = "Connected calls and meetings held"
source = "activities"
aggregate = "count"
kinds = ["call", "video_meeting", "meeting"]
connected = true
"""


def config_text(**tipping: int) -> str:
    """The default configuration with [insight.tipping] values changed, and `accounts_met`."""
    text = default_config_text()
    for key, value in tipping.items():
        text, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)
        assert found == 1, key
    return text + ACCOUNTS_MET


def small_settings(**tipping: int) -> Settings:
    return parse_settings(config_text(**tipping))


def utc(month: int, day: int, hour: int = 17, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute)


def act(
    rep: int,
    when: dt.datetime,
    kind: str = "meeting",
    outcome: str = "held",
    n: int = 1,
    accounts: list[int | None] | None = None,
) -> list[dict[str, Any]]:
    local = when.replace(tzinfo=dt.UTC).astimezone(NY).date()
    chosen = accounts or [None] * n
    return [
        {
            "rep_id": rep,
            "account_id": account,
            "kind": kind,
            "occurred_at": when,
            "local_date": local,
            "outcome": outcome,
            "has_ask": True,
            "engaged": False,
            "duration_min": 30.0,
            "source": "test",
        }
        for account in chosen
    ]


def deal(
    rep: int, created: dt.datetime, status: str = "open", closed: dt.datetime | None = None
) -> dict[str, Any]:
    stage = {"open": "prospect", "won": "closed_won", "lost": "closed_lost"}[status]
    return {
        "rep_id": rep,
        "name": "deal",
        "amount": Decimal(10_000),
        "stage": stage,
        "status": status,
        "created_at": created,
        "closed_at": closed,
        "source": "test",
    }


def build_weeks_org(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    ids = {
        "Ann": add_rep(engine, settings, "Ann", "ae", team="East"),
        "Bob": add_rep(
            engine, settings, "Bob", "ae", team="West", start_date=dt.date(2026, 10, 28)
        ),
        "Dee": add_rep(engine, settings, "Dee", "ae", team="East"),
        "Cy": add_rep(engine, settings, "Cy", "sdr", team="East"),
        "Max": add_rep(engine, settings, "Max", "manager", team="East"),
    }
    ann, bob, dee, cy = ids["Ann"], ids["Bob"], ids["Dee"], ids["Cy"]
    with engine.begin() as conn:
        conn.execute(update(Rep).where(Rep.id == dee).values(end_date=dt.date(2026, 11, 10)))
        acc = {
            name: int(
                conn.execute(insert(Account).values(name=name).returning(Account.id)).scalar_one()
            )
            for name in ("A1", "A2", "B1", "B2", "B3", "B4")
        }
        rows = [
            *act(ann, utc(10, 13), n=7),
            *act(ann, utc(10, 20), accounts=[acc["A1"], acc["A1"]]),
            *act(ann, utc(10, 20), outcome="no_show", accounts=[acc["A2"]]),
            *act(ann, utc(10, 27), "video_meeting", accounts=[acc["A1"], acc["A2"], acc["A2"]]),
            *act(ann, utc(11, 1, 3, 30), "discovery_meeting", n=2),
            *act(ann, utc(11, 3), "call", "no_answer"),
            *act(ann, utc(11, 17), n=9),
            *act(bob, utc(10, 29), n=4, accounts=[acc["B1"]] * 4),
            *act(bob, utc(11, 4), accounts=[acc["B1"]] * 3),
            *act(bob, utc(11, 10), accounts=[acc["B1"], acc["B2"], acc["B3"], acc["B4"]]),
            *act(dee, utc(11, 3), n=6),
            *act(dee, utc(11, 9), n=1),
            *(
                row
                for week in range(4)
                for row in act(
                    cy, utc(10, 20) + dt.timedelta(weeks=week), "call", "conversation", n=10
                )
            ),
            *act(ids["Max"], utc(10, 20), n=3),
        ]
        conn.execute(insert(Activity), rows)
        deals = [
            deal(ann, utc(10, 21, 15)),
            deal(ann, utc(11, 1, 3, 30)),
            deal(ann, utc(11, 2, 4, 30)),
            deal(ann, utc(11, 9, 4, 30)),
            deal(ann, utc(11, 10)),
            deal(bob, utc(9, 10), "won", utc(11, 5)),
            deal(bob, utc(11, 11)),
            deal(dee, utc(11, 4)),
            deal(dee, utc(11, 4, 20)),
        ]
        conn.execute(insert(Deal), deals)
    return ids


def points(result: TippingPoint) -> list[tuple[float, float, int]]:
    return [(p.activity, p.outcome, p.rep_weeks) for p in result.points]


# --- the fit, by hand ---------------------------------------------------------------------------


def test_exact_hinge_gives_the_exact_knot_and_slopes() -> None:
    x = np.arange(21, dtype=float)
    y = 1 + 2 * np.minimum(x, 8) + 0.5 * np.maximum(x - 8, 0)
    fit = fit_hinge(x, y)
    assert fit is not None
    assert fit.tipping_point == pytest.approx(8, abs=1e-9)
    assert (fit.intercept, fit.slope_below, fit.slope_above) == pytest.approx((1, 2, 0.5), abs=1e-9)
    assert fit.sse == pytest.approx(0, abs=1e-9) and fit.r_squared == pytest.approx(1)
    assert fit.expected(20) == pytest.approx(1 + 16 + 6)
    # Repeating every point changes nothing; neither does the order of the points.
    twice = fit_hinge(np.concatenate([x, x])[::-1], np.concatenate([y, y])[::-1])
    assert twice is not None and twice.tipping_point == pytest.approx(8, abs=1e-9)


def test_a_knot_between_two_observed_levels_is_found_exactly() -> None:
    """Integer levels, a bend at 7.5: the crossing of the two one-sided lines (Hudson)."""
    x = np.arange(21, dtype=float)
    y = 3 + 1.5 * np.minimum(x, 7.5) - 0.25 * np.maximum(x - 7.5, 0)
    fit = fit_hinge(x, y)
    assert fit is not None
    assert fit.tipping_point == pytest.approx(7.5, abs=1e-9)
    assert (fit.slope_below, fit.slope_above) == pytest.approx((1.5, -0.25), abs=1e-9)


def test_the_fit_matches_a_brute_force_grid_search() -> None:
    """Noisy data: the exact solution is at least as good as any k on a fine grid, and next to
    the grid's best (least squares by numpy.linalg.lstsq at each k)."""
    rng = np.random.default_rng(1)
    x = rng.poisson(8, 300).astype(float)
    y = rng.poisson(0.35 * np.minimum(x, 8) + 0.01 * np.maximum(x - 8, 0)).astype(float)
    fit = fit_hinge(x, y)
    assert fit is not None
    low, high = np.quantile(x, [0.1, 0.9])
    best_sse, best_k = math.inf, math.nan
    for k in np.linspace(low, high, 4001):
        design = np.column_stack([np.ones_like(x), np.minimum(x, k), np.maximum(x - k, 0)])
        beta = np.linalg.lstsq(design, y, rcond=None)[0]
        sse = float(np.sum((y - design @ beta) ** 2))
        if sse < best_sse:
            best_sse, best_k = sse, k
    assert fit.sse <= best_sse + 1e-9
    assert fit.tipping_point == pytest.approx(best_k, abs=(high - low) / 4000)


def test_line_and_degenerate_fits() -> None:
    line = fit_line([0, 1, 2], [1, 3, 5])
    assert line is not None and (line.intercept, line.slope) == pytest.approx((1, 2))
    assert fit_line([3, 3, 3], [1, 2, 3]) is None  # the activity does not vary
    assert fit_hinge([], []) is None
    # Two levels: no knot has two distinct levels on each side.
    assert fit_hinge([0, 0, 5, 5], [0, 1, 2, 3]) is None


# --- intervals and refusals on simulated rep-weeks ------------------------------------------------

FAST = TippingSettings(bootstrap=200, seed=5)


def simulate(seed: int, shape: str = "knee", reps: int = 40, weeks: int = 40) -> RepWeeks:
    """Reps with their own usual level (3 to 14 a week), Poisson weeks around it; outcomes
    Poisson with the planted mean: a knee at 8 (0.35 below, 0.01 above) or a straight line."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(3, 14, reps)
    rep = np.repeat(np.arange(reps), weeks)
    x = rng.poisson(level[rep]).astype(float)
    knee = 0.35 * np.minimum(x, 8) + 0.01 * np.maximum(x - 8, 0)
    mean = knee if shape == "knee" else 0.2 * x
    return RepWeeks(x, rng.poisson(mean).astype(float), rep.astype(np.int64))


def test_planted_knee_is_inside_its_interval_near_the_nominal_share() -> None:
    """40 seeds at 90% confidence: covered 37 times when written (>= 32 asked: 80%), and not by
    being uselessly wide (median width 1.4 meetings when written)."""
    covered, widths = 0, []
    for seed in range(40):
        estimate = estimate_tipping(simulate(seed), FAST)
        assert estimate.supported, (seed, estimate.reason)
        interval = estimate.tipping_interval
        assert interval is not None
        covered += interval.low <= 8 <= interval.high
        widths.append(interval.high - interval.low)
    assert covered >= 32
    assert float(np.median(widths)) < 2.5


def test_straight_line_data_is_reported_as_no_curvature() -> None:
    """20 seeds of straight-line data: "no curvature" at least 16 times (nominal 18 at 90%;
    17 when written, and one more refused as rising returns)."""
    refused = [estimate_tipping(simulate(100 + seed, "line"), FAST) for seed in range(20)]
    no_curve = [e for e in refused if not e.supported and (e.reason or "").startswith("no curv")]
    assert len(no_curve) >= 16
    first = no_curve[0]
    assert re.fullmatch(
        r"no curvature: a straight line fits as well \(p = [0-9.]+\)", first.reason or ""
    )
    assert first.curvature_p_value is not None and first.curvature_p_value > 0.10
    assert first.line is not None and first.line.slope == pytest.approx(0.2, abs=0.03)
    assert first.tipping_interval is None


def test_too_few_rep_weeks_and_too_few_levels_are_refused() -> None:
    data = simulate(3, reps=4, weeks=20)  # 80 rep-weeks: exactly enough
    few = RepWeeks(data.activity[:79], data.outcome[:79], data.rep[:79])
    refused = estimate_tipping(few, FAST, activity_label="meetings held")
    assert (refused.supported, refused.reason) == (False, "only 79 rep-weeks (need 80)")
    assert (refused.rep_weeks, refused.reps, refused.fit) == (79, 4, None)
    assert estimate_tipping(data, FAST).reason != "only 80 rep-weeks (need 80)"
    levels = np.array([0.0, 5.0, 10.0] * 30)
    bunched = RepWeeks(levels, levels / 5, np.arange(90, dtype=np.int64) % 9)
    reason = estimate_tipping(bunched, FAST, activity_label="calls").reason
    assert reason == "calls takes only 3 distinct weekly levels (need 4)"


def test_rising_returns_are_not_a_tipping_point() -> None:
    rng = np.random.default_rng(4)
    rep = np.repeat(np.arange(30), 20)
    x = rng.integers(0, 17, len(rep)).astype(float)
    y = 0.1 * x + 0.6 * np.maximum(x - 8, 0) + rng.normal(0, 0.3, len(x))
    estimate = estimate_tipping(RepWeeks(x, y, rep), FAST, outcome_label="deals won")
    assert not estimate.supported
    assert (estimate.reason or "").startswith("returns do not diminish: deals won rises by 0.7")


def test_comparing_lags_is_paid_for_in_the_p_value() -> None:
    data = simulate(7, reps=12, weeks=10)
    once = estimate_tipping(data, FAST)
    five = estimate_tipping(data, FAST, lags_compared=5)
    assert once.curvature_p_value is not None and five.curvature_p_value is not None
    assert five.curvature_p_value == pytest.approx(min(1.0, 5 * once.curvature_p_value))
    assert estimate_tipping(data, FAST) == once  # seeded: the same data, the same answer


def test_one_outlying_week_does_not_move_the_bend_off_the_truth() -> None:
    data = simulate(11)
    outlier = RepWeeks(
        np.append(data.activity, 60.0), np.append(data.outcome, 0.0), np.append(data.rep, 0)
    )
    estimate = estimate_tipping(outlier, FAST)
    assert estimate.supported and estimate.tipping_interval is not None
    assert 8 in estimate.tipping_interval


# --- rep-weeks from the database (SQLite and PostgreSQL) -----------------------------------------


@pytest.fixture
def weeks_org(engine: Engine) -> tuple[Engine, Settings]:
    settings = small_settings(history_weeks=4, min_rep_weeks=10, max_lag_weeks=1)
    build_weeks_org(engine, settings)
    return engine, settings


def test_weekly_rep_weeks_by_hand(weeks_org: tuple[Engine, Settings]) -> None:
    engine, settings = weeks_org
    result = tipping_point(engine, settings, "meetings_held", lag_weeks=0, as_of=AS_OF)
    assert (result.first_week, result.last_week, result.last_day) == (
        dt.date(2026, 10, 19),
        dt.date(2026, 11, 9),
        dt.date(2026, 11, 15),
    )
    assert (result.roles, result.roles_given, result.team) == (["ae"], False, None)
    assert points(result) == [(0, 1, 1), (2, 1, 1), (3, 0, 1), (4, 1, 1), (5, 2, 1), (6, 2, 1)]
    assert (result.rep_weeks, result.reps) == (6, 3)
    assert (result.supported, result.reason) == (False, "only 6 rep-weeks (need 10)")
    assert result.tipping_point is None and result.recommended_target is None
    assert (result.lag_weeks, result.lag_measured, result.lags) == (0, False, [])


def test_lag_reads_the_outcome_later_on_complete_weeks(weeks_org: tuple[Engine, Settings]) -> None:
    engine, settings = weeks_org
    later = tipping_point(engine, settings, "meetings_held", lag_weeks=1, as_of=AS_OF)
    # Ann W0 -> W1 (2 opportunities), W1 -> W2 (1), W2 -> W3 (1: on staff, if off that week);
    # Bob W2 -> W3; Dee W2 -> W3 is after she left; nobody's W3 has a complete week after it.
    assert points(later) == [(0, 1, 1), (2, 2, 1), (3, 1, 1), (5, 1, 1)]
    measured = tipping_point(engine, settings, "meetings_held", as_of=AS_OF)
    assert measured.lag_measured and [f.lag_weeks for f in measured.lags] == [0, 1]
    # Compared on the same activity weeks (W0-W2): lag 0 has Ann's 3 and Bob's and Dee's W2.
    assert [f.rep_weeks for f in measured.lags] == [5, 4]
    assert all(f.r_squared is None for f in measured.lags)  # below 10 rep-weeks: not compared
    assert (measured.lags_compared, later.lags_compared) == (0, 0)
    assert measured.lag_weeks == 0 and measured.reason == "only 6 rep-weeks (need 10)"


def test_other_metrics_roles_and_outcomes(weeks_org: tuple[Engine, Settings]) -> None:
    engine, settings = weeks_org
    won = tipping_point(
        engine, settings, "meetings_held", outcome="deals_won", lag_weeks=0, as_of=AS_OF
    )
    assert points(won) == [(0, 0, 1), (2, 0, 1), (3, 1, 1), (4, 0, 1), (5, 0, 1), (6, 0, 1)]
    # Distinct accounts a week, not summed days: Ann W0 A1 twice = 1, W1 A1, A2, A2 and two
    # without an account = 2; Bob W2 B1 x3 = 1, W3 four accounts; Dee's meetings name none.
    met = tipping_point(engine, settings, "accounts_met", lag_weeks=0, as_of=AS_OF)
    assert points(met) == [(0, 1, 1), (0, 2, 1), (1, 0, 1), (1, 1, 1), (2, 2, 1), (4, 1, 1)]
    # SDRs hold no meetings: only on request, where every worked week of Cy's is a zero.
    sdr = tipping_point(engine, settings, "meetings_held", roles=["sdr"], lag_weeks=0, as_of=AS_OF)
    assert (sdr.roles, sdr.roles_given, sdr.rep_weeks) == (["sdr"], True, 4)
    assert sdr.reason == "no meetings held logged in the weeks read"
    # Live touches (connected calls and meetings held; `conversations` is calls only): Cy
    # (the SDR) has the most but gets no opportunities, so the SDR role is left out by
    # default. An AE's meeting held counts, a discovery meeting does not.
    talk = tipping_point(engine, settings, "live_touches", lag_weeks=0, as_of=AS_OF)
    assert talk.roles == ["ae"]
    assert points(talk) == [(0, 1, 1), (2, 1, 1), (3, 0, 1), (3, 2, 1), (4, 1, 1), (6, 2, 1)]
    east = tipping_point(engine, settings, "meetings_held", team="east", lag_weeks=0, as_of=AS_OF)
    assert east.team == "East" and points(east) == [(0, 1, 1), (2, 1, 1), (5, 2, 1), (6, 2, 1)]


def test_a_deal_entered_after_it_closed_is_no_opportunity_of_its_entry_week(
    weeks_org: tuple[Engine, Settings],
) -> None:
    """The late-entry rule (`late_entry`, through `metric_sql.deal_filter`) in the tipping
    point's own figures. Planted on top of `build_weeks_org`: two deals migrated from an old
    CRM, entered in W2 and W3 but closed months before (Ann: won in June, entered Tue Nov 3;
    Bob: lost in September, entered Wed Nov 11): their creation is unknown, so neither is an
    opportunity of the week it was typed in. A deal closed on the day it was entered (Dee:
    close date Wed Nov 4, entered that afternoon) is a same-day close and still counts.
    At lag 0, Ann's W2 stays (0 held, 1 opportunity) and Bob's W3 (4, 1); Dee's W2 goes from
    (6, 2) to (6, 3). Counted as created on their entry day, the two migrated deals would make
    Ann's W2 (0, 2) and Bob's W3 (4, 2)."""
    engine, settings = weeks_org
    ids = {name: rep_id_of(engine, name) for name in ("Ann", "Bob", "Dee")}
    with engine.begin() as conn:
        conn.execute(
            insert(Deal),
            [
                deal(ids["Ann"], utc(11, 3, 15), "won", utc(6, 10, 0)),
                deal(ids["Bob"], utc(11, 11, 15), "lost", utc(9, 22, 0)),
                deal(ids["Dee"], utc(11, 4, 20), "won", utc(11, 4, 0)),
            ],
        )
    result = tipping_point(engine, settings, "meetings_held", lag_weeks=0, as_of=AS_OF)
    assert points(result) == [(0, 1, 1), (2, 1, 1), (3, 0, 1), (4, 1, 1), (5, 2, 1), (6, 3, 1)]
    assert result.rep_weeks == 6


def rep_id_of(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(Rep.id).where(Rep.name == name)).scalar_one())


def test_an_empty_history_is_refused(weeks_org: tuple[Engine, Settings]) -> None:
    engine, settings = weeks_org
    empty = tipping_point(engine, settings, "meetings_held", lag_weeks=0, as_of=dt.date(2026, 1, 7))
    assert (empty.rep_weeks, empty.points, empty.curve) == (0, [], [])
    assert empty.reason == (
        "no selling reps who log meetings held and get opportunities created in the weeks read"
    )


def test_bad_input_names_the_field(weeks_org: tuple[Engine, Settings]) -> None:
    engine, settings = weeks_org
    for kwargs, message in [
        (
            {"metric": "meetings_hold"},
            "metric: unknown metric 'meetings_hold'; did you mean 'meetings_held'",
        ),
        ({"metric": "win_rate"}, "metric: 'win_rate' is a ratio"),
        ({"outcome": "wins"}, "outcome: unknown metric 'wins'"),
        ({"outcome": "show_rate"}, "outcome: 'show_rate' is a ratio"),
        ({"outcome": "meetings_held"}, "outcome: must differ from the metric"),
        ({"roles": ["boss"]}, "role: unknown role 'boss'"),
        ({"roles": ["manager"]}, "role: 'manager' is not a selling role"),
        ({"team": "Nowhere"}, "team: no team named 'Nowhere'"),
        ({"lag_weeks": -1}, "lag: -1 weeks; use 0 to 26"),
        ({"lag_weeks": 27}, "lag: 27 weeks; use 0 to 26"),
    ]:
        args = {"metric": "meetings_held", "as_of": AS_OF, **kwargs}
        with pytest.raises(UserInputError, match=re.escape(message)):
            tipping_point(engine, settings, **args)


# --- a planted exact hinge, through every face ---------------------------------------------------

PLANTED_REPS = 12
PLANTED_WEEKS = 10
OUTLIER = 30  # rep 0's last week: far out, on the curve (5 opportunities)


def planted_level(rep: int, week: int) -> int:
    if (rep, week) == (0, PLANTED_WEEKS - 1):
        return OUTLIER
    return (rep + 3 * week) % 11


def build_planted_org(engine: Engine, settings: Settings) -> None:
    """12 AEs (6 East, 6 West) x the 10 weeks before Nov 16: x meetings held on the Tuesday,
    min(x, 5) opportunities on the Wednesday, and a call each week (so zero weeks count)."""
    upgrade(engine)
    add_rep(engine, settings, "Max", "manager", team="East")
    reps = [
        add_rep(engine, settings, f"Rep {i:02d}", "ae", team="East" if i < 6 else "West")
        for i in range(PLANTED_REPS)
    ]
    first = utc(9, 8)  # Tuesday of the first week
    activities: list[dict[str, Any]] = []
    deals: list[dict[str, Any]] = []
    for i, rep in enumerate(reps):
        for week in range(PLANTED_WEEKS):
            tuesday = first + dt.timedelta(weeks=week)
            level = planted_level(i, week)
            activities += act(rep, tuesday, "call", "conversation")
            activities += act(rep, tuesday, n=level) if level else []
            deals += [deal(rep, tuesday + dt.timedelta(days=1))] * min(level, 5)
    with engine.begin() as conn:
        conn.execute(insert(Activity), activities)
        conn.execute(insert(Deal), deals)


def planted_settings() -> Settings:
    return small_settings(
        history_weeks=PLANTED_WEEKS, min_rep_weeks=40, max_lag_weeks=1, bootstrap=100
    )


def check_planted(result: dict[str, Any] | TippingPoint) -> None:
    data = result if isinstance(result, dict) else json.loads(json.dumps(to_jsonable(result)))
    assert data["supported"] is True, data["reason"]
    assert data["tipping_point"] == pytest.approx(5, abs=1e-6)
    assert data["tipping_interval"]["low"] == pytest.approx(5, abs=1e-6)
    assert data["tipping_interval"]["high"] == pytest.approx(5, abs=1e-6)
    assert data["slope_below"] == pytest.approx(1, abs=1e-9)
    assert data["slope_above"] == pytest.approx(0, abs=1e-9)
    assert data["intercept"] == pytest.approx(0, abs=1e-9)
    assert (data["recommended_target"], data["expected_at_target"]) == (5, pytest.approx(5))


def test_planted_hinge_is_recovered_from_the_database(engine: Engine) -> None:
    settings = planted_settings()
    build_planted_org(engine, settings)
    result = tipping_point(engine, settings, "meetings_held", as_of=AS_OF)
    check_planted(result)
    levels = [planted_level(r, w) for r in range(PLANTED_REPS) for w in range(PLANTED_WEEKS)]
    assert (result.rep_weeks, result.reps) == (120, 12)
    assert result.rep_weeks_below == sum(1 for x in levels if x <= 5)
    assert result.rep_weeks_above == sum(1 for x in levels if x > 5)
    assert sum(p.rep_weeks * p.activity for p in result.points) == sum(levels)
    assert sum(p.rep_weeks * p.outcome for p in result.points) == sum(min(x, 5) for x in levels)
    assert result.activity_range is not None and result.activity_range.high == OUTLIER
    # The lag is measured: the same week explains everything, the next week (x + 3 mod 11,
    # by construction) only part of it.
    assert (result.lag_weeks, result.lag_measured) == (0, True)
    assert [f.lag_weeks for f in result.lags] == [0, 1]
    assert result.lags[0].r_squared == pytest.approx(1)
    assert result.lags[1].r_squared is not None and result.lags[1].r_squared < 0.9
    # An exact fit: p is the smallest the 100 resamples can say, times the 2 lags compared.
    assert result.lags_compared == 2
    assert result.curvature_p_value == pytest.approx(2 / 101)
    assert [c.activity for c in result.curve] == pytest.approx([0, 5, OUTLIER])
    assert [c.outcome for c in result.curve] == pytest.approx([0, 5, 5])


USERS = {"root": ("admin", None), "max": ("manager", "Max"), "ann": ("rep", "Rep 00")}
QUERY = "metric=meetings_held&as_of=2026-11-18"


def test_api_tipping_and_its_access_rules(engine: Engine) -> None:
    settings = planted_settings()
    build_planted_org(engine, settings)
    tokens = api_tokens(engine, USERS)
    with TestClient(made_app(settings, engine)) as client:

        def get(user: str, query: str) -> Any:
            return client.get(f"/api/v1/tipping?{QUERY}&{query}", headers=bearer(tokens[user]))

        mine = get("ann", "")
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert (body["team"], body["reps"], body["rep_weeks"]) == ("East", 6, 60)
        check_planted(body)
        assert {tuple(sorted(p)) for p in body["points"]} == {("activity", "outcome", "rep_weeks")}
        assert body["last_day"] == "2026-11-15" and body["unit_label"] == "meeting held"
        assert get("ann", "team=West").status_code == 403  # another team
        assert get("max", "").json()["team"] == "East"
        assert get("max", "team=West").status_code == 403
        everyone = get("root", "lag=0").json()
        assert (everyone["team"], everyone["rep_weeks"], everyone["lag_measured"]) == (
            None,
            120,
            False,
        )
        assert get("root", "team=West&role=ae").json()["roles"] == ["ae"]
        refusal = get("root", "metric=proposals")
        assert refusal.status_code == 200 and refusal.json()["supported"] is False
        assert refusal.json()["reason"] == (
            "no selling reps who log proposals sent and get opportunities created in the weeks read"
        )
        asked = get("max", "metric=proposals&role=ae").json()
        assert asked["reason"] == "no proposals sent logged in the weeks read"
        for query, loc in [
            ("metric=win_rate", ["query", "metric"]),
            ("metric=nope", ["query", "metric"]),
            ("outcome=nope", ["query", "outcome"]),
            ("role=boss", ["query", "role"]),
            ("lag=27", ["query", "lag"]),
            ("lag=soon", ["query", "lag"]),
            ("as_of=yesterday", ["query", "as_of"]),
        ]:
            reply = get("root", query)
            assert reply.status_code == 422, (query, reply.text)
            assert reply.json()["detail"][0]["loc"] == loc, query
        nowhere = get("root", "team=Nowhere")  # a name that does not exist: not found
        assert nowhere.status_code == 404
        assert nowhere.json()["detail"][0]["loc"] == ["query", "team"]
        assert client.get("/api/v1/tipping?metric=meetings_held").status_code == 401
        missing = client.get("/api/v1/tipping", headers=bearer(tokens["root"]))
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == [
            "query",
            "metric",
        ]


def test_tipping_page(sqlite_engine: Engine) -> None:
    settings = planted_settings()
    build_planted_org(sqlite_engine, settings)
    add_users(sqlite_engine, USERS)
    with TestClient(made_app(settings, sqlite_engine)) as client:

        def page(user: str, query: str) -> Any:
            login(client, sqlite_engine, user)
            return client.get(f"/tipping?as_of=2026-11-18&{query}", follow_redirects=False)

        shown = page("max", "")
        assert shown.status_code == 200, shown.text
        html = shown.text
        assert "Tipping point: Meetings held → Opportunities created" in html
        assert "Team East" in html and "60 rep-weeks of 6 reps" in html
        summary = re.search(r'data-testid="tipping-summary">(.*?)</p>', html, re.S)
        assert summary is not None
        text = " ".join(summary.group(1).split())
        assert (
            "Tipping point: 5.0 meetings held a week</strong> (90% interval 5.0 \u2013 5.0)" in text
        )
        assert re.search(r'data-testid="tipping-target">5<', html)
        figure = re.search(r'id="tipping-figure">(.*?)</script>', html, re.S)
        assert figure is not None
        drawn = json.loads(figure.group(1))
        scatter, curve = drawn["data"]
        levels = Counter(planted_level(r, w) for r in range(6) for w in range(PLANTED_WEEKS))
        assert dict(zip(scatter["x"], scatter["customdata"], strict=True)) == dict(levels)
        assert curve["x"] == pytest.approx([0, 5, OUTLIER]) and curve["y"] == pytest.approx(
            [0, 5, 5]
        )
        band, line = drawn["layout"]["shapes"]
        assert (band["x0"], band["x1"], line["x0"]) == pytest.approx((5, 5, 5))
        assert 'data-testid="lag-table"' in html
        assert 'name="team"' in html and '<option value="">All teams' not in html  # no picker
        assert page("ann", "").status_code == 200  # a rep: their own team's pooled estimate
        assert page("ann", "team=West").status_code == 403
        assert page("max", "team=West").status_code == 403
        assert page("root", "team=Nowhere").status_code == 404
        admin = page("root", "team=West&metric=meetings_held&outcome=opportunities_created&lag=0")
        assert admin.status_code == 200 and "Team West" in admin.text
        assert '<option value="">All teams' in page("root", "").text
        refusal = page("root", "metric=proposals")
        assert refusal.status_code == 200
        assert (
            "No tipping point:</strong> no selling reps who log proposals sent and get "
            "opportunities created in the weeks read." in refusal.text
        )
        bad = page("root", "metric=win_rate")
        assert bad.status_code == 422 and "metric: &#39;win_rate&#39; is a ratio" in bad.text
        assert page("root", "lag=soon").status_code == 422
        assert page("root", "lag=99").status_code == 422
        client.cookies.clear()
        assert client.get("/tipping", follow_redirects=False).status_code == 303


def test_the_page_takes_the_roles_the_api_and_the_cli_take(sqlite_engine: Engine) -> None:
    """`role=sdr` on the page reads Cy's four weeks, as `--role sdr` and the API's `role` do
    (`build_weeks_org`: 10 conversations a week, no meeting held). The page ignored `role`
    before and showed the AEs' six rep-weeks for the same question."""
    settings = small_settings(history_weeks=4, min_rep_weeks=10, max_lag_weeks=1)
    build_weeks_org(sqlite_engine, settings)
    add_users(sqlite_engine, {"root": ("admin", None)})
    with TestClient(made_app(settings, sqlite_engine)) as client:
        login(client, sqlite_engine, "root")
        shown = client.get("/tipping?metric=meetings_held&lag=0&as_of=2026-11-18&role=sdr")
        assert shown.status_code == 200, shown.text
        text = " ".join(shown.text.split())
        assert "4 rep-weeks of 1 rep · roles sdr · weeks" in text
        assert "no meetings held logged in the weeks read" in text
        assert '<option value="sdr" selected>' in text  # the form keeps the choice
        default = client.get("/tipping?metric=meetings_held&lag=0&as_of=2026-11-18").text
        default = " ".join(default.split())
        assert "6 rep-weeks of 3 reps · roles ae (the roles that do it)" in default


def test_cli_tipping(tmp_path: Path) -> None:
    settings = planted_settings()
    url = f"sqlite:///{tmp_path / 'org.db'}"
    build_planted_org(make_engine(url), settings)
    config = tmp_path / "paceline.toml"
    config.write_text(
        config_text(history_weeks=PLANTED_WEEKS, min_rep_weeks=40, max_lag_weeks=1, bootstrap=100)
    )
    runner = CliRunner()

    def run(*args: str) -> Any:
        base = ["--config", str(config), "--db", url, "tipping"]
        return runner.invoke(cli_app, [*base, *args, "--as-of", "2026-11-18"])

    shown = run("meetings_held")
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "Tipping point of Meetings held for Opportunities created, all teams" in text
    assert "120 rep-weeks of 12 reps, roles ae (the roles that do it)" in text
    assert "outcome read the same week (lag measured)" in text
    assert "Recommended weekly target: 5 meetings held, expected to bring 5.00 " in text
    data = json.loads(run("meetings_held", "--team", "West", "--lag", "0", "--json").output)
    check_planted(data)
    assert (data["team"], data["lag_measured"], data["rep_weeks"]) == ("West", False, 60)
    refused = run("proposals", "--role", "ae")
    assert refused.exit_code == 0
    assert "No tipping point: no proposals sent logged in the weeks read." in refused.output
    for bad, message in [
        (("meetings_hold",), "metric: unknown metric 'meetings_hold'"),
        (("meetings_held", "--outcome", "win_rate"), "outcome: 'win_rate' is a ratio"),
        (("meetings_held", "--team", "Nowhere"), "team: no team named 'Nowhere'"),
        (("meetings_held", "--role", "boss"), "role: unknown role 'boss'"),
    ]:
        result = run(*bad)
        assert result.exit_code == 1, result.output
        assert message in " ".join(result.output.split())
    assert run("meetings_held", "--lag", "27").exit_code == 1  # rejected by the option itself


# --- an activity recorded from part-way into the history ----------------------------------------


def build_late_calls_org(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ann and Bo (AEs), the four weeks W0-W3 (Oct 19 - Nov 15) read as of Nov 18. Meetings
    held every week (Ann 2, Bo 3): every week is a week worked. Calls are recorded from
    Monday Nov 2 (W2) only, but for one logged by hand on Sep 1 (a stray: 1 of 23, then two
    months without any): Ann 10 in W2 and 10 in W3, Bo 2 in W2 and none in W3 (a real zero:
    calls were recorded by then). Opportunities: Ann 1, 2, 1, 2; Bo 1, 1, 0, 1. (Had the
    first call been on the Wednesday, W2 would be left out too: its Monday and Tuesday would
    not be known to be recorded.)"""
    upgrade(engine)
    ann = add_rep(engine, settings, "Ann", "ae", team="East")
    bo = add_rep(engine, settings, "Bo", "ae", team="East")
    tuesdays = [utc(10, 20), utc(10, 27), utc(11, 3), utc(11, 10)]
    rows = [row for day in tuesdays for row in (*act(ann, day, n=2), *act(bo, day, n=3))]
    rows += [*act(ann, utc(11, 2), "call", "no_answer", n=10)]
    rows += [*act(ann, utc(11, 9), "call", "no_answer", n=10)]
    rows += [*act(bo, utc(11, 3), "call", "no_answer", n=2), *act(bo, utc(9, 1), "call")]
    created = {
        ann: [utc(10, 21), utc(10, 28), utc(10, 28), utc(11, 4), utc(11, 11), utc(11, 11)],
        bo: [utc(10, 22), utc(10, 29), utc(11, 12)],
    }
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        conn.execute(insert(Deal), [deal(r, c) for r, days in created.items() for c in days])
    return {"Ann": ann, "Bo": bo}


def late_calls_settings() -> Settings:
    return small_settings(history_weeks=4, min_rep_weeks=10, max_lag_weeks=1)


def test_an_activity_recorded_from_mid_history_is_read_from_its_first_full_week(
    engine: Engine,
) -> None:
    """Before: W0 and W1 were read as four weeks of zero calls with 5 opportunities in them
    (8 rep-weeks, half of them at zero calls). Now only W2 and W3: Ann (10, 1), (10, 2); Bo
    (2, 0) and his real zero of W3 (0, 1)."""
    settings = late_calls_settings()
    build_late_calls_org(engine, settings)
    result = tipping_point(engine, settings, "calls", lag_weeks=0, as_of=AS_OF)
    assert result.recorded_from == {"calls": dt.date(2026, 11, 2)}
    assert (result.first_week, result.measured_from) == (
        dt.date(2026, 10, 19),
        dt.date(2026, 11, 2),
    )
    assert points(result) == [(0, 1, 1), (2, 0, 1), (10, 1, 1), (10, 2, 1)]
    assert (result.rep_weeks, result.reps) == (4, 2)
    # The outcome recorded late: calls a week after the meetings held, from W1's meetings on
    # (W0's would read W1's calls, not recorded); W3's next week is not read yet.
    later = tipping_point(
        engine, settings, "meetings_held", outcome="calls", lag_weeks=1, as_of=AS_OF
    )
    assert later.measured_from == dt.date(2026, 10, 26)
    assert points(later) == [(2, 10, 2), (3, 0, 1), (3, 2, 1)]
    # Measuring the lag compares the lags on the same weeks, recorded ones only: W2 (calls
    # start there; W3 has no week after it for lag 1), Ann's and Bo's, at lag 0 and lag 1.
    measured = tipping_point(engine, settings, "calls", as_of=AS_OF)
    assert [f.rep_weeks for f in measured.lags] == [2, 2]


def test_faces_say_which_metric_is_recorded_late(sqlite_engine: Engine, tmp_path: Path) -> None:
    settings = late_calls_settings()
    build_late_calls_org(sqlite_engine, settings)
    said = (
        "Recorded only from part-way into the history (Calls from 2026-11-02): the weeks before"
        " 2026-11-02 are left out, not read as weeks without any"
    )
    config = tmp_path / "paceline.toml"
    config.write_text(config_text(history_weeks=4, min_rep_weeks=10, max_lag_weeks=1))
    url = str(sqlite_engine.url)
    args = ["--config", str(config), "--db", url, "tipping", "calls", "--lag", "0"]
    shown = CliRunner().invoke(cli_app, [*args, "--as-of", "2026-11-18"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert said in text and "activity weeks 2026-11-02..2026-11-15" in text
    data = json.loads(CliRunner().invoke(cli_app, [*args, "--as-of", "2026-11-18", "-j"]).output)
    assert (data["measured_from"], data["recorded_from"]) == ("2026-11-02", {"calls": "2026-11-02"})
    add_users(sqlite_engine, {"root": ("admin", None)})
    with TestClient(made_app(settings, sqlite_engine)) as client:
        login(client, sqlite_engine, "root")
        page = client.get("/tipping?as_of=2026-11-18&metric=calls&lag=0")
        assert page.status_code == 200
        assert 'data-testid="tipping-recorded-from"' in page.text
        assert said in " ".join(page.text.split())


# --- the demo organisation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_org: tuple[Engine, dict[str, Any]], settings: Settings) -> Iterator[Any]:
    engine, truth = demo_org
    yield engine, truth["planted"]["tipping_point"]


def test_demo_planted_tipping_point_is_found(demo: Any, settings: Settings) -> None:
    """Planted: E[opportunities] = 0.35 min(h, 8) + 0.01 max(h - 8, 0), h = meetings held, the
    same week, for AEs and field reps. Measured on 2026-12-08: 8.00 (90% interval 7.80 -
    8.23), 0.359 below and 0.015 above, on 818 rep-weeks of 16 reps. The demo cannot open more
    opportunities in a week than it has new-business meetings, so weeks crowded with deal
    meetings open fewer than planted (seed 7: 0.87 a week at 3 meetings held, not 1.05; 2.33
    at 7, not 2.45) and the bend reads a little high: 8.15 on average over seeds 1-9 (before
    the day after Thanksgiving 2025 was a holiday), its interval missing 8 on seeds 7 and 9.
    The estimator reads the demo's own weekly pairs the same (on a draw of seed 7: 8.12 on
    them, 8.13 from the database): the bias is the demo's, not the fit's.

    The recommended target is the bend rounded up. The planted bend sits exactly on a whole
    level, so even an unbiased estimate falls either side of it by chance and rounds up to 8 or
    9: the test asks for that rounding, not for 8 (seeds 1-9 gave 8 once)."""
    engine, planted = demo
    result = tipping_point(
        engine, settings, planted["metric"], outcome=planted["outcome"], as_of=DEMO_TODAY
    )
    assert result.supported, result.reason
    assert sorted(result.roles) == sorted(planted["roles"]) and not result.roles_given
    assert (result.lag_weeks, result.lag_measured) == (planted["lag_weeks"], True)
    best = max(result.lags, key=lambda f: f.r_squared or 0)
    assert best.lag_weeks == 0
    assert result.tipping_interval is not None
    assert planted["weekly_level"] in result.tipping_interval
    assert result.slope_below == pytest.approx(planted["slope_below"], abs=0.07)
    assert result.slope_above == pytest.approx(planted["slope_above"], abs=0.02)
    assert result.slope_above is not None and result.slope_above < result.slope_below / 10
    assert result.recommended_target == math.ceil(result.tipping_point - 1e-9)
    assert result.recommended_target in (8, 9)
    assert 600 <= result.rep_weeks <= 16 * 52
    # The same with the roles given.
    given = tipping_point(
        engine, settings, "meetings_held", roles=planted["roles"], lag_weeks=0, as_of=DEMO_TODAY
    )
    assert given.roles_given and given.tipping_point == pytest.approx(result.tipping_point)


def test_demo_rep_weeks_add_up_to_the_tables(demo: Any, settings: Settings) -> None:
    """Every meeting held and opportunity of the AEs and field reps in the 52 weeks is in the
    scatter (every week with either had something logged), counted straight from the tables."""
    engine, _ = demo
    result = tipping_point(engine, settings, "meetings_held", lag_weeks=0, as_of=DEMO_TODAY)
    first, after = result.first_week, result.last_day + dt.timedelta(days=1)
    start = dt.datetime.combine(first, dt.time(), NY).astimezone(dt.UTC).replace(tzinfo=None)
    end = dt.datetime.combine(after, dt.time(), NY).astimezone(dt.UTC).replace(tzinfo=None)
    with engine.connect() as conn:
        closers = select(Rep.id).where(Rep.role.in_(["ae", "field"]))
        held = conn.scalar(
            select(func.count()).where(
                Activity.rep_id.in_(closers),
                Activity.kind.in_(MEETING_KINDS),
                Activity.outcome == "held",
                Activity.local_date >= first,
                Activity.local_date < after,
            )
        )
        opened = conn.scalar(
            select(func.count()).where(
                Deal.rep_id.in_(closers), Deal.created_at >= start, Deal.created_at < end
            )
        )
    assert sum(p.activity * p.rep_weeks for p in result.points) == held
    assert sum(p.outcome * p.rep_weeks for p in result.points) == opened


# --- imported data (the Zoho CRM export) ---------------------------------------------------------

ZOHO_AS_OF = dt.date(2021, 4, 19)  # the export's deals end in April 2021


@pytest.fixture(scope="module")
def zoho(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[str]:
    if not ZOHO_EXPORT.is_dir():
        pytest.skip(f"the Zoho CRM export is not at {ZOHO_EXPORT}")
    # the whole export, imported with the example mappings (once per run, copied)
    engine = sqlite_copy(shared_zoho(tmp_path_factory, settings), tmp_path_factory.mktemp("zoho"))
    engine.dispose()
    yield engine.url.render_as_string(hide_password=False)


@pytest.mark.slow
def test_imported_data_rep_weeks_match_the_tables(zoho: str, settings: Settings) -> None:
    """Rep-weeks worked out here from the imported rows with Python dates: every (rep, ISO
    week) with any activity from the first whole week with meetings recorded (the export's
    events start on Thursday 2020-10-08, half a year into the history: from Monday Oct 12);
    x the meetings held in it, y the deals the rep created in it."""
    engine = make_engine(zoho)
    result = tipping_point(engine, settings, "meetings_held", lag_weeks=0, as_of=ZOHO_AS_OF)
    assert result.recorded_from == {"meetings_held": dt.date(2020, 10, 8)}
    assert (result.first_week, result.measured_from) == (
        dt.date(2020, 4, 20),
        dt.date(2020, 10, 12),
    )
    first, after = result.measured_from, result.last_day + dt.timedelta(days=1)
    with engine.connect() as conn:
        roles = dict(conn.execute(select(Rep.id, Rep.role)).all())
        rows = conn.execute(
            select(Activity.rep_id, Activity.local_date, Activity.kind, Activity.outcome).where(
                Activity.local_date >= first, Activity.local_date < after
            )
        ).all()
        created = conn.execute(select(Deal.rep_id, Deal.created_at)).all()
    assert set(roles.values()) == {"ae"}

    def week(day: dt.date) -> dt.date:
        return day - dt.timedelta(days=day.weekday())

    worked = {(rep, week(day)) for rep, day, _, _ in rows}
    x = Counter(
        (rep, week(day))
        for rep, day, kind, outcome in rows
        if kind in MEETING_KINDS and outcome == "held"
    )
    y: Counter[tuple[int, dt.date]] = Counter()
    for rep, moment in created:
        local = moment.replace(tzinfo=dt.UTC).astimezone(NY).date()
        if (rep, week(local)) in worked:
            y[(rep, week(local))] += 1
    expected = Counter((float(x[w]), float(y[w])) for w in worked)
    assert {(p.activity, p.outcome): p.rep_weeks for p in result.points} == dict(expected)
    assert result.rep_weeks == len(worked) > 100
    assert result.supported or result.reason  # either an estimate or why not
    engine.dispose()


@pytest.mark.slow
def test_imported_data_through_the_cli(zoho: str) -> None:
    runner = CliRunner()
    shown = runner.invoke(
        cli_app, ["--db", zoho, "tipping", "meetings_held", "--as-of", "2021-04-19"]
    )
    assert shown.exit_code == 0, shown.output
    assert "Tipping point of Meetings held for Opportunities created, all teams" in shown.output
    assert "Lag measured" in shown.output
    data = json.loads(
        runner.invoke(
            cli_app,
            [
                "--db",
                zoho,
                "tipping",
                "calls",
                "--outcome",
                "deals_won",
                "--as-of",
                "2021-04-19",
                "--json",
            ],
        ).output
    )
    assert data["metric"] == "calls" and data["lag_measured"] is True
    # Calls are recorded from Sunday 2021-02-14 only: the weeks from Feb 15 to Apr 12 (nine,
    # eleven reps) are read, not the year of weeks before them as weeks without calls.
    assert (data["recorded_from"], data["measured_from"]) == (
        {"calls": "2021-02-14"},
        "2021-02-15",
    )
    assert len(data["lags"]) == 5 and 40 < data["rep_weeks"] <= 9 * 11
    assert data["supported"] or data["reason"]
