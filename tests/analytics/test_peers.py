"""Peer groups and the sums over a rep's peers that a team's diagnosis reads once per group."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import Engine

from factories import recorded_executions
from paceline.analytics.metrics import metric_totals
from paceline.analytics.peers import (
    PeerIndex,
    PeerSums,
    compared_ids,
    compared_totals,
    diagnosis_reps,
    peers_of,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import RosterRep
from paceline.analytics.shared import shared_reads
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings


def _roster() -> list[RosterRep]:
    # East has four SDRs (peers from the team), West two (too few: peers from every SDR),
    # and one AE, alone in the organisation.
    return [
        RosterRep(1, "Ann", "sdr", "East", None),
        RosterRep(2, "Ben", "sdr", "East", None),
        RosterRep(3, "Cas", "sdr", "East", None),
        RosterRep(4, "Dee", "sdr", "East", None),
        RosterRep(5, "Eve", "sdr", "West", None),
        RosterRep(6, "Fay", "sdr", "West", None),
        RosterRep(7, "Gus", "ae", "West", None),
    ]


def test_peer_index_gives_peers_of() -> None:
    reps = _roster()
    index = PeerIndex(reps)
    for rep in reps:
        assert index(rep) == peers_of(rep, reps)
    assert [r.id for r in index(reps[0])] == [2, 3, 4]
    assert [r.id for r in index(reps[4])] == [1, 2, 3, 4, 6]
    assert index(reps[6]) == []


def test_reps_without_a_team_are_compared_with_the_whole_role() -> None:
    """No team is not a team: Hal, Ivy, Jo and Kit (SDRs imported without one) have no team
    to take peers from, so each is set beside every other SDR of the organisation (the
    four East, the two West and the other three without a team), not beside the three other
    teamless reps alone as if "no team" were a team of four."""
    teamless = [RosterRep(i, name, "sdr", None, None) for i, name in [(8, "Hal"), (9, "Ivy")]]
    teamless += [RosterRep(10, "Jo", "sdr", None, None), RosterRep(11, "Kit", "sdr", None, None)]
    reps = [*_roster(), *teamless]
    index = PeerIndex(reps)
    expected = [1, 2, 3, 4, 5, 6, 9, 10, 11]
    assert [r.id for r in peers_of(teamless[0], reps)] == expected
    assert [r.id for r in index(teamless[0])] == expected
    values = {r.id: float(r.id) for r in reps}
    sums = PeerSums(index, lambda rep_id, _: values[rep_id])
    assert sums.fsum(teamless[0], "x") == sum(expected)
    assert compared_ids(teamless[:1], reps) == sorted([8, *expected])
    assert [r.id for r in index(reps[0])] == [2, 3, 4]  # East keeps its own


def test_peer_sums_are_fsum_over_the_peers_to_the_last_bit() -> None:
    reps = _roster()
    # Values whose float sums depend on the order and on rounding: 0.1 + 0.2, a huge value
    # next to small ones, a negative.
    values = {1: 0.1, 2: 0.2, 3: 1e16, 4: 3.3, 5: -7.7, 6: 1 / 3, 7: 2.5}
    sums = PeerSums(PeerIndex(reps), lambda rep_id, _: values[rep_id])
    index = PeerIndex(reps)
    for rep in reps:
        peers = index(rep)
        assert sums.fsum(rep, "x") == math.fsum(values[p.id] for p in peers), rep.name
        expected = sum(values[p.id] for p in peers)
        assert sums.plain_sum(rep, "x") == expected, rep.name
    # Ben's peers are Ann, Cas and Dee: fsum(0.1, 1e16, 3.3) rounds the exact sum once.
    assert sums.fsum(reps[1], "x") == 1e16 + 4.0


def test_plain_sum_of_whole_numbers_is_the_group_total_less_the_rep() -> None:
    reps = _roster()
    values = {1: 10.0, 2: 7.0, 3: 0.0, 4: 5.0, 5: 2.0, 6: 1.0, 7: 4.0}
    sums = PeerSums(PeerIndex(reps), lambda rep_id, _: values[rep_id])
    assert sums.plain_sum(reps[0], "x") == 12.0  # Ben, Cas, Dee
    assert sums.plain_sum(reps[4], "x") == 23.0  # Ann..Dee and Fay: every SDR but Eve
    assert sums.plain_sum(reps[6], "x") == 0  # the AE has no peers


def test_a_rep_outside_the_roster_is_compared_with_the_whole_group() -> None:
    reps = _roster()
    values = {1: 1.0, 2: 2.0, 3: 4.0, 4: 8.0, 5: 16.0, 6: 32.0, 7: 64.0, 9: 128.0}
    sums = PeerSums(PeerIndex(reps), lambda rep_id, _: values[rep_id])
    newcomer = RosterRep(9, "Ida", "sdr", "East", None)
    assert sums.fsum(newcomer, "x") == 15.0
    assert sums.plain_sum(newcomer, "x") == 15.0


def test_compared_ids_are_the_reps_in_scope_and_their_peers() -> None:
    reps = _roster()
    # Ann's peers are East's SDRs; Eve's every SDR; Gus has none.
    assert compared_ids([reps[0]], reps) == [1, 2, 3, 4]
    assert compared_ids([reps[4]], reps) == [1, 2, 3, 4, 5, 6]
    assert compared_ids([reps[6]], reps) == [7]
    assert compared_ids([reps[0], reps[6]], reps) == [1, 2, 3, 4, 7]
    # A rep outside the roster is wanted with the whole group of its role and team.
    newcomer = RosterRep(9, "Ida", "sdr", "East", None)
    assert compared_ids([newcomer], reps) == [1, 2, 3, 4, 9]
    # Among two reps only, neither has enough peers: each is the other's.
    assert compared_ids([reps[0]], reps[:2]) == [1, 2]


def test_compared_totals_read_each_metric_once_and_equal_metric_totals(
    db: Engine, settings: Settings, today: dt.date
) -> None:
    ensure_rollup(db, settings)
    window = diagnosis_window(settings, "180d", today)
    with db.connect() as conn:
        everyone = diagnosis_reps(conn, settings, window)
        ids = compared_ids(everyone[:1], everyone)
        first, second = ["calls", "conversations"], ["connect_rate", "meetings_set"]
        expected = [
            metric_totals(conn, settings, names, window.start, window.end, ids)
            for names in (first, second)
        ]
        assert any(expected[0].values.values()) and any(expected[1].values.values())
        with shared_reads(), recorded_executions(db) as executions:
            got = [compared_totals(conn, settings, names, window, ids) for names in (first, second)]
            again = compared_totals(conn, settings, [*second, *first], window, ids)
    statements = [tuple(parameters) for _, parameters in executions]
    assert got == expected
    assert again.values == {
        r: {**expected[0].values.get(r, {}), **expected[1].values.get(r, {})}
        for r in sorted({*expected[0].values, *expected[1].values})
    }
    # connect_rate is conversations / calls: only meetings_set was left to read, once (the
    # metrics each statement binds, however often and in whatever order it binds them).
    # The 180 days hold whole months: each set is read as its first days, its whole months
    # and its last month (metrics._spanning_totals), three statements binding the same set.
    names = {"calls", "conversations", "meetings_set"}
    assert [tuple(sorted({v for v in bound if v in names})) for bound in statements] == [
        *[("calls", "conversations")] * 3,
        *[("meetings_set",)] * 3,
    ]
