"""Deals closed and then reopened, read by one rule (`reopened`) in every deal analysis: a win
(or a loss) counts once, at the deal's final close; as of a day between the two closes the
deal is open, in the stage it was in before the undone close until the reopen.

Hand-built (`factories.build_reopened_deals`, Ana's three deals, New York): "Rewon" (10,000;
qualification Oct 1, proposal Oct 20, won Nov 3, negotiation Nov 10, won Nov 17), "Lost,
reopened" (5,000; qualification Oct 5, lost Nov 4, qualification Nov 12, open) and "Plain
win" (2,000; qualification Oct 15, won Nov 11). Times are 17:00 UTC: 1 pm in New York until
Sunday Nov 1, noon after; a local day's end after Nov 1 is 05:00 UTC the next day.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from factories import at, build_reopened_deals
from paceline.analytics.flow import CountValue, pipeline_flow
from paceline.analytics.metrics import metric_totals
from paceline.analytics.pipeline_history import (
    ForecastScope,
    Snapshot,
    creation_spells,
    revenue_won,
    snapshot,
    stage_spells,
)
from paceline.analytics.reopened import standing_entries, standing_history, undone_close
from paceline.analytics.stalled import StalledReport, stalled_deals
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings, default_config_text, parse_settings
from paceline.store.models import Deal, DealStageHistory

EVERYONE = ForecastScope(None, None, None)
HISTORY_START = dt.datetime(2026, 9, 1, 4)
NOV_6_END = dt.datetime(2026, 11, 7, 5)  # the end of Friday Nov 6, between the closes
NOV_18_END = dt.datetime(2026, 11, 19, 5)  # after every close
THREE_STAYS = parse_settings(
    default_config_text().replace("min_stage_samples = 10", "min_stage_samples = 3")
)


def _snap(engine: Engine, cutoff: dt.datetime) -> Snapshot:
    with engine.connect() as conn:
        return snapshot(conn, EVERYONE, cutoff, HISTORY_START)


def _stalled(engine: Engine, day: dt.date) -> StalledReport:
    return stalled_deals(engine, THREE_STAYS, day, team="East")


# --- the rule ----------------------------------------------------------------------------------


def test_a_close_is_undone_when_followed_or_when_the_deal_is_open_now() -> None:
    assert undone_close("won", followed=True, deal_status="won")  # won, reopened, won again
    assert undone_close("lost", followed=False, deal_status="open")  # reopen not recorded
    assert not undone_close("won", followed=False, deal_status="won")  # the final close
    assert not undone_close("open", followed=True, deal_status="open")
    entries = [("qualification", "open"), ("closed_won", "won"), ("negotiation", "open"),
               ("closed_won", "won")]  # fmt: skip
    assert standing_entries(entries, "won", lambda e: e[1]) == [
        ("qualification", "open"),
        ("negotiation", "open"),
        ("closed_won", "won"),
    ]
    assert standing_entries(entries[:2], "open", lambda e: e[1]) == [("qualification", "open")]
    assert standing_entries(entries[:2], "won", lambda e: e[1]) == entries[:2]


def test_the_sql_form_keeps_the_entries_the_python_form_keeps(engine: Engine) -> None:
    """Rewon loses its Nov 3 win, Lost, reopened its Nov 4 loss; nothing else is dropped
    (10 entries recorded, 8 standing)."""
    build_reopened_deals(engine, parse_settings(default_config_text()))
    with engine.connect() as conn:
        status = dict(conn.execute(select(Deal.id, Deal.status)).all())
        h = DealStageHistory
        recorded = conn.execute(
            select(h.deal_id, h.stage, h.status, h.entered_at).order_by(
                h.deal_id, h.entered_at, h.id
            )
        ).all()
        standing = standing_history(Deal.id.is_not(None))
        kept = conn.execute(
            select(
                standing.c.deal_id, standing.c.stage, standing.c.status, standing.c.entered_at
            ).order_by(standing.c.deal_id, standing.c.entered_at, standing.c.id)
        ).all()
    by_python = []
    for deal_id in sorted(status):
        own = [tuple(r) for r in recorded if r[0] == deal_id]
        by_python += standing_entries(own, status[deal_id], lambda e: e[2])
    assert [tuple(r) for r in kept] == by_python
    assert (len(recorded), len(kept)) == (10, 8)
    assert {(r[1], r[3]) for r in recorded} - {(r[1], r[3]) for r in kept} == {
        ("closed_won", at(11, 3)),
        ("closed_lost", at(11, 4)),
    }


# --- what reads the deal's row: counted once, at the final close ---------------------------


def test_the_deal_metrics_count_a_rewon_deal_once_at_its_final_close(
    engine: Engine, settings: Settings
) -> None:
    """deals_won / revenue: the week of the undone win (Nov 2-8) 0 / 0; Nov 16-18 Rewon,
    1 / 10,000; November 2 / 12,000 (Rewon and Plain win), never 3 / 22,000."""
    ana = build_reopened_deals(engine, settings)["Ana"]
    names = ["deals_won", "revenue"]
    with engine.connect() as conn:
        for start, end, won, revenue in (
            (dt.date(2026, 11, 2), dt.date(2026, 11, 9), 0, 0),
            (dt.date(2026, 11, 16), dt.date(2026, 11, 19), 1, 10_000),
            (dt.date(2026, 11, 1), dt.date(2026, 12, 1), 2, 12_000),
        ):
            totals = metric_totals(conn, settings, names, start, end, [ana])
            assert (totals.get(ana, "deals_won"), totals.get(ana, "revenue")) == (won, revenue)
        assert revenue_won(conn, EVERYONE, at(11, 1), at(12, 1)) == (12_000, 0)


def test_the_flow_counts_the_win_once_and_the_deal_open_between(
    engine: Engine, settings: Settings
) -> None:
    """As of Nov 18, weeks W45 (Nov 2-8), W46 (Nov 9-15), W47 (Nov 16-18):
    won: 0; Plain win 1 / 2,000; Rewon 1 / 10,000 (not in W45 too);
    lost: none (Lost, reopened's Nov 4 loss was undone);
    open at week end: all three, 3 / 17,000; Rewon and Lost, reopened, 2 / 15,000;
    Lost, reopened, 1 / 5,000."""
    build_reopened_deals(engine, settings)
    report = pipeline_flow(engine, settings, diagnosis_window(settings, "14d", at(11, 18).date()))
    assert [w.won for w in report.weeks] == [
        CountValue(0, 0),
        CountValue(1, 2_000),
        CountValue(1, 10_000),
    ]
    assert report.lost == CountValue(0, 0)
    assert [w.open_pipeline for w in report.weeks] == [
        CountValue(3, 17_000),
        CountValue(2, 15_000),
        CountValue(1, 5_000),
    ]


# --- what reads the stage history ------------------------------------------------------------


def test_the_forecast_reads_a_deal_between_its_closes_in_its_open_stage(engine: Engine) -> None:
    """As known at the end of Nov 6: all three deals open; Rewon in proposal since Oct 20,
    Lost, reopened in qualification since Oct 5 (before: both open in no known stage, read by
    age from their creation), Plain win in qualification since Oct 15."""
    build_reopened_deals(engine, parse_settings(default_config_text()))
    snap = _snap(engine, NOV_6_END)
    found = {d.name: (d.stage, d.stage_since) for d in snap.open_deals}
    assert found == {
        "Rewon": ("proposal", at(10, 20)),
        "Lost, reopened": ("qualification", at(10, 5)),
        "Plain win": ("qualification", at(10, 15)),
    }
    assert snap.won == []


def test_the_forecast_learns_the_stays_and_the_cycle_without_the_undone_closes(
    engine: Engine,
) -> None:
    """As known at the end of Nov 18 (Nov 19 05:00 UTC), in elapsed days:
    - proposal: Rewon's Oct 20 -> Nov 10 (the reopen), 21 days, then won 28 days after
      entering it (before: a stay of 14, to the undone win);
    - qualification: Rewon 19 (to proposal, won 47 days in), Plain win 27 (won), Lost,
      reopened Oct 5 -> Nov 12, 38 (before: 30, to the undone loss), then again from Nov 12,
      6.5 days and open;
    - Rewon's cycle: created Oct 1, won Nov 17: 47 days, once."""
    build_reopened_deals(engine, parse_settings(default_config_text()))
    snap = _snap(engine, NOV_18_END)
    stays = stage_spells(snap)
    proposal = stays["proposal"]
    assert (proposal.stay.tolist(), proposal.end.tolist(), proposal.wins) == ([21.0], [28.0], 1)
    qualification = stays["qualification"]
    assert sorted(qualification.stay.tolist()) == [6.5, 19.0, 27.0, 38.0]
    assert qualification.wins == 2
    assert set(stays) == {"qualification", "proposal", "negotiation"}
    cycles = creation_spells(snap)
    assert sorted(zip(cycles.end.tolist(), cycles.won.tolist(), strict=True)) == [
        (27.0, True),
        (44.5, False),
        (47.0, True),
    ]
    assert [d.name for d in snap.won] == ["Rewon", "Plain win"]


def test_stalled_deals_count_a_deal_open_between_its_closes(engine: Engine) -> None:
    """On Friday Nov 6 all three deals are open, 3 / 17,000 (before: 1 / 2,000, Rewon and
    Lost, reopened left out as closed then, while the flow counted them open): Rewon in
    proposal since Oct 20, 13:00 local, 17.458 days to Nov 7 00:00 local (17 days and 11
    hours); Lost, reopened in qualification since Oct 5. No selling activity at all: each
    is stalled."""
    build_reopened_deals(engine, THREE_STAYS)
    report = _stalled(engine, dt.date(2026, 11, 6))
    assert (report.open_deals, report.open_value) == (3, 17_000)
    found = {d.name: d for d in report.deals}
    assert {n: (d.stage, d.stage_since) for n, d in found.items()} == {
        "Rewon": ("proposal", dt.date(2026, 10, 20)),
        "Lost, reopened": ("qualification", dt.date(2026, 10, 5)),
        "Plain win": ("qualification", dt.date(2026, 10, 15)),
    }
    assert found["Rewon"].days_in_stage == pytest.approx(17 + 11 / 24)


def test_stalled_deals_norms_end_a_stay_at_the_reopen(engine: Engine) -> None:
    """On Nov 18 only Lost, reopened is open, in qualification since Nov 12 noon: 6.5 days.
    The finished qualification stays, in local days: Rewon Oct 1 -> Oct 20, 19; Plain win
    Oct 15 1 pm -> Nov 11 noon, 26.958; Lost, reopened Oct 5 1 pm -> Nov 12 noon (the reopen),
    37.958 (before: to the undone loss, Nov 4 noon, 29.958). Their 90th percentile: position
    0.9 x 2 = 1.8, 26.958 + 0.8 x 11 = 35.758 (before: 26.958 + 0.8 x 3 = 29.358). Proposal
    and negotiation have one finished stay each (Rewon's), the undone closes none."""
    build_reopened_deals(engine, THREE_STAYS)
    report = _stalled(engine, dt.date(2026, 11, 18))
    assert (report.open_deals, report.open_value) == (1, 5_000)
    norms = {n.stage: n for n in report.stages}
    assert [(n.stage, n.samples) for n in report.stages] == [
        ("qualification", 3),
        ("proposal", 1),
        ("negotiation", 1),
    ]
    assert norms["qualification"].days == pytest.approx(26 + 23 / 24 + 0.8 * 11)
    [deal] = report.deals
    assert (deal.stage, deal.stage_since, deal.days_in_stage) == (
        "qualification",
        dt.date(2026, 11, 12),
        pytest.approx(6.5),
    )
