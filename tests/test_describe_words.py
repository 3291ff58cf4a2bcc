"""The diagnosis in a sales manager's words (`paceline.describe`), against hand-built findings.

Each finding below is built by hand, with the numbers a manager would see; the sentences must
say what the numbers mean ("very unlikely to be chance") with configuration labels, and keep
the statistics (p-values, the test, the log shares) for the "How we know" text only.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from paceline.analytics.compare import RateComparison
from paceline.analytics.diagnose import Finding
from paceline.analytics.equation import Factor
from paceline.config import Settings
from paceline.describe import (
    Words,
    alert_rule_text,
    chance_text,
    deals_measured_zero_text,
    evidence_text,
    finding_stats,
    finding_text,
    not_counted_short,
    p_text,
    tipping_unknown_text,
)


def _step(previous: str, metric: str, comparison: RateComparison) -> Any:
    return SimpleNamespace(previous=previous, metric=metric, comparison=comparison)


def _brief(**parts: Any) -> Any:
    """A diagnosis with only the parts a finding's wording reads."""
    base: dict[str, Any] = {
        "alerts": [],
        "funnel": SimpleNamespace(steps=[]),
        "equation": None,
        "quality": None,
    }
    return SimpleNamespace(**(base | parts))


# 3 deals won from 51 proposals against the peers' 53 from 146: 5.9% against 36%.
PROPOSALS = RateComparison(rep_from=51, rep_to=3, peer_from=146, peer_to=53, p_value=4.3e-47)


@pytest.mark.parametrize(
    ("p", "words"),
    [
        (4.3e-47, "very unlikely to be chance"),
        (0.0009, "very unlikely to be chance"),
        (0.008, "unlikely to be chance"),
        (0.05, "could be chance"),
        (0.4, "quite possibly chance"),
        (None, "nothing to test"),
    ],
)
def test_chance_in_words(p: float | None, words: str) -> None:
    assert chance_text(p) == words


def test_a_weak_step_is_said_in_words_and_its_statistics_are_kept_apart(
    settings: Settings,
) -> None:
    brief = _brief(funnel=SimpleNamespace(steps=[_step("proposals", "deals_won", PROPOSALS)]))
    finding = Finding("weak_step", "proposals->deals_won", 3 / 51, 53 / 146, 4.3e-47, count=51)
    said = finding_text(settings, brief, finding)
    assert said == (
        "Weak step proposals sent → deals won: 5.9% against the peers' 36%, a gap very"
        " unlikely to be chance"
    )
    assert "p =" not in said and "e-47" not in said
    how = finding_stats(settings, brief, finding)
    assert how is not None
    assert "3 deals won from 51 proposals sent, against the peers' 53 from 146" in how
    assert "p = 4.3e-47" in how
    assert "Poisson" in how


def test_the_factor_holding_revenue_back_is_said_in_its_unit_and_its_logs_are_kept_apart(
    settings: Settings,
) -> None:
    # 3 wins from 1,582 selling activities (0.19%) against a median of 0.82%.
    factors = [
        Factor("prospects", "Prospects", 276, 262, 0.05),
        Factor("activities_per_prospect", "Selling activities per prospect", 5.73, 6.85, -0.18),
        Factor("wins_per_activity", "Wins per selling activity", 0.0019, 0.0082, -1.46),
        Factor("revenue_per_win", "Revenue per win", 21_400, 37_600, -0.56),
    ]
    brief = _brief(equation=SimpleNamespace(factors=factors, gap=-2.15, revenue=64_100))
    finding = Finding("holding_back", "wins_per_activity", 0.0019, 0.0082)
    said = finding_text(settings, brief, finding)
    assert said == (
        "What holds revenue back most: wins per selling activity (0.19% against the peers'"
        " median 0.82%)"
    )
    assert "log" not in said and "gap" not in said
    how = finding_stats(settings, brief, finding)
    assert how is not None
    assert "wins per selling activity \u22121.46" in how and "gap \u22122.15" in how


def test_an_idle_rep_is_not_said_to_lack_selling_activity_on_selling_activities(
    settings: Settings,
) -> None:
    import datetime as dt

    alert = SimpleNamespace(
        rule="no_selling",
        metric="selling_activities",
        metric_label="Selling activities",
        business_days=4,
        since=dt.date(2026, 11, 30),
    )
    brief = _brief(alerts=[alert])
    finding = Finding("alert", "no_selling", metric="selling_activities")
    said = finding_text(settings, brief, finding)
    assert said == "No selling activity for 4 business days (since 2026-11-30)"
    assert finding_stats(settings, brief, finding) is None
    assert alert_rule_text(settings, "no_selling", "selling_activities") == "No selling activity"
    assert alert_rule_text(settings, "behind_pace", "meetings_set") == "Behind pace: meetings set"


def test_a_behind_pace_alert_keeps_its_chance_for_how_we_know(settings: Settings) -> None:
    alert = SimpleNamespace(
        rule="behind_pace",
        metric="conversations",
        metric_label="Conversations",
        trailing_days=15,
        since=None,
    )
    finding = Finding("alert", "behind_pace", 59, 148, 2e-9, metric="conversations")
    brief = _brief(alerts=[alert])
    said = finding_text(settings, brief, finding)
    assert said == (
        "Behind pace on conversations: 59 against 148 expected over the last 15 business days"
    )
    assert finding_stats(settings, brief, finding) == (
        "Chance of a figure this low if the rep were working at target pace: p = 2.0e-09;"
        " the alert needs under p = 0.001."
    )


def test_internal_names_read_as_the_configuration_labels_them(settings: Settings) -> None:
    words = Words(settings)
    assert words.kind("order_chasing") == "Chasing orders or invoices"
    assert words.kind("crm_update") == "CRM update"
    assert words.outcome("meeting_set") == "Meeting set"
    assert words.metric("meetings_set") == "meetings set"
    assert words.flag("low_selling_time") == "Busy, not productive"
    assert words.factor("activities_per_prospect") == "selling activities per prospect"
    assert words.stage("needs_analysis") == "needs analysis"  # no label configured
    assert words.kind("not_configured") == "not configured"


def test_coaching_evidence_words_a_gap_and_stays_quiet_above_the_peers(
    settings: Settings,
) -> None:
    below = SimpleNamespace(
        flag=None, step=["proposals", "deals_won"], comparison=PROPOSALS, volume=None
    )
    assert evidence_text(settings, below) == (  # type: ignore[arg-type]
        "proposals sent → deals won: 5.9% against peers' 36%, very unlikely to be chance"
    )
    above = RateComparison(rep_from=791, rep_to=59, peer_from=2556, peer_to=161, p_value=0.97)
    check = SimpleNamespace(
        flag=None, step=["calls", "meetings_set"], comparison=above, volume=None
    )
    said = evidence_text(settings, check)  # type: ignore[arg-type]
    assert said == "calls → meetings set: 7.5% against peers' 6.3%"  # no "chance" above


def test_p_values_print_in_full_only_in_the_statistics() -> None:
    assert p_text(4.3e-47) == "p = 4.3e-47"
    assert p_text(0.012) == "p = 0.012"


@pytest.mark.parametrize(
    ("stalled_unknown", "open_unknown", "said"),
    [
        (0, 0, "2 stalled deals worth 700 of 700 open"),
        (
            1,
            1,
            "2 stalled deals worth 700 (1 without an amount, not in the sum) of 700 open (1 without"
            " an amount, not in the sum)",
        ),
        (
            0,
            3,
            "2 stalled deals worth 700 of 700 open (3 without an amount, not in the sum)",
        ),
        (
            2,
            1_204,
            "2 stalled deals worth 700 (2 without an amount, not in the sum) of 700 open (1,204"
            " without an amount, not in the sum)",
        ),
    ],
)
def test_stalled_deals_without_an_amount_are_said(
    settings: Settings, stalled_unknown: int, open_unknown: int, said: str
) -> None:
    """Before: "2 stalled deals worth 700 of 700 open" beside a stalled deal with no amount,
    which `paceline stalled` reported and the diagnosis did not; then "(amount not recorded,
    so not in these sums: 1 stalled deal, 1 open deal)" at the end, in words no other face
    used. Each sum now says what it left out, in the words of every face."""
    stalled = SimpleNamespace(without_amount=stalled_unknown, open_without_amount=open_unknown)
    brief = _brief(stalled=stalled)
    finding = Finding("stalled", "deals", 700.0, 700.0, count=2)
    assert finding_text(settings, brief, finding) == said


def test_revenue_per_win_leaves_out_the_wins_without_an_amount(settings: Settings) -> None:
    """A deals-only rep: 6 wins, one with no amount, 15,835 from the other five. Before:
    "(2,639 per win)", 15,835 / 6, as if the unknown win were worth 0."""
    brief = _brief(equation=SimpleNamespace(wins_without_amount=1, measured_from=None))
    finding = Finding("missing_data", "activities", 15_835.0, count=6)
    assert finding_text(settings, brief, finding) == (
        "No activities logged in this window: prospects and selling activity are unknown, not"
        " zero; the deals show 15,835 won in 6 deals (1 with no amount recorded, not in the"
        " sum; 3,167 per win with an amount)"
    )


def test_open_deals_read_on_their_own_measured_zero_are_said() -> None:
    """Deals whose comparison sets saw 1 and 11 closes, none won, and one whose chance rests
    on wins: two deals, won at their posterior means 0.26 and 0.041, 1 time in 4 (1 / 0.26 =
    3.8) to 24 (24.4); one deal alone, in the singular; none, nothing said."""
    deals = [
        SimpleNamespace(none_won_of=k, zero_share=share)
        for k, share in ((1, 0.26), (11, 0.041), (0, 0.0))
    ]
    assert deals_measured_zero_text(deals) == (  # type: ignore[arg-type]
        "; for 2 open deals, none of the 1 to 11 closes of deals open as long was won:"
        " closing in time, each is won 1 time in 4 to 24 (the share's posterior mean, the"
        " scope's other closes its prior), each run drawing its own"
    )
    assert deals_measured_zero_text(deals[:1]).startswith(  # type: ignore[arg-type]
        "; for 1 open deal, none of the 1 close of deals open as long was won: closing in"
        " time, it is won 1 time in 4"
    )
    assert deals_measured_zero_text(deals[2:]) == ""  # type: ignore[arg-type]


def test_the_deals_a_sum_left_out_are_said_small_and_the_tipping_note_agrees_in_number() -> None:
    """The TV board's and the report chart's compact note, and the tipping point's note said
    once for the terminal and the page (it was written out in each, "the rep-weeks read" in
    one and "these rep-weeks" in the other)."""
    assert not_counted_short(0) == ""
    assert not_counted_short(1_200) == "+1,200 without amount"
    assert tipping_unknown_text(0) == ""
    assert tipping_unknown_text(1) == (
        "1 deal in these rep-weeks has no amount: the weekly sums count known amounts only"
    )
    assert tipping_unknown_text(3).startswith("3 deals in these rep-weeks have no amount:")
