"""The diagnosis's aggregates give exactly the raw activities' answers, on awkward data.

Window "month" as of Wednesday 2026-11-18 (local days Nov 1-18, New York, so in November
17:00 UTC is noon on the same local day). SDRs Ana, Ben, Cy (East) set meetings; AE Dee
(East) holds them; AE Eve (West) proposes and wins.

Hand-built shapes, each with its figure counted by hand:
- **straddle**: on account S, Dee holds a meeting on Nov 4 at 14:00 and 21:00 UTC (one day
  cell spanning 14:00-21:00); Ben sets the meeting at 16:00. Meetings set -> held for
  everyone: t0 = 16:00, and the first held at or after it is 21:00 (not the cell's first
  event, 14:00): 5 hours, 0.2 days.
- **out of order**: on account W, a meeting held Nov 5 before any meeting set, the set on
  Nov 9 17:00, held again Nov 12 17:00: 3.0 days.
- **time zones**: account Z's calls were stored with the dates of two zones (the first,
  Nov 7 20:00 UTC, dated Nov 8 as in Tokyo; the second, Nov 8 01:00 UTC, dated Nov 7 as
  in New York), so its day cells overlap in time. Calls -> meetings set (the set on Nov 10
  17:00): from the earlier instant, Nov 7 20:00, 69 hours = 2.9 days (from the first cell
  by date, Nov 8 01:00, it would be 64 hours = 2.7).
- **date-only**: account D's call and meeting set carry only a date (local midnight, 05:00
  UTC) on Nov 6: 0 hours.
- **same day**: account Q, two calls at 13:00 and 15:00 and the set at 15:00 on Nov 10: 2 hours.
Then the data changes after a refresh (an outcome edited, a row deleted, a row moved to
another rep, day and account, a re-import of unchanged rows, a contact's seniority) and
every analysis is compared again with the raw path (`aggregates.raw_reads`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update

from factories import build_migration_in_a_month, recorded_statements
from paceline.analytics import aggregates, rollup
from paceline.analytics.diagnose import diagnose_rep, diagnose_team
from paceline.analytics.equation import revenue_equation
from paceline.analytics.flow import pipeline_flow
from paceline.analytics.forecast import forecast
from paceline.analytics.funnel import funnel
from paceline.analytics.quality import busy_vs_productive
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.stalled import stalled_deals
from paceline.analytics.window import Window, diagnosis_window
from paceline.config import MetricSettings, Settings
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade
from paceline.store.models import Account, Activity, Contact, Deal, KindMonth, ProspectStep

AS_OF = dt.date(2026, 11, 18)


def at(day: int, hour: int = 17, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour)


def row(
    rep: int,
    when: dt.datetime,
    kind: str,
    outcome: str,
    account: int | None,
    local: dt.date | None = None,
    contact: int | None = None,
    ask: bool = True,
) -> dict[str, Any]:
    """An activity; its local date is New York's (winter: UTC - 5) unless given."""
    return {
        "rep_id": rep,
        "account_id": account,
        "contact_id": contact,
        "kind": kind,
        "occurred_at": when,
        "local_date": local or (when - dt.timedelta(hours=5)).date(),
        "outcome": outcome,
        "has_ask": ask,
        "engaged": outcome in ("meeting_set", "held"),
        "duration_min": 10.0,
        "source": "test",
        "external_id": f"x{when.isoformat()}-{rep}-{account}-{kind}-{outcome}-{local}",
    }


def build(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    ids = {
        "Ana": add_rep(engine, settings, "Ana", "sdr", team="East"),
        "Ben": add_rep(engine, settings, "Ben", "sdr", team="East"),
        "Cy": add_rep(engine, settings, "Cy", "sdr", team="East"),
        "Dee": add_rep(engine, settings, "Dee", "ae", team="East"),
        "Eve": add_rep(engine, settings, "Eve", "ae", team="West"),
    }
    ana, ben, cy, dee, eve = (ids[n] for n in ("Ana", "Ben", "Cy", "Dee", "Eve"))
    with engine.begin() as conn:
        acc = {
            n: int(conn.execute(insert(Account).values(name=n).returning(Account.id)).scalar_one())
            for n in ("S", "W", "Z", "D", "Q", "E1", "E2", "OLD")
        }
        ids.update({f"acc_{n}": i for n, i in acc.items()})
        vp = int(
            conn.execute(
                insert(Contact)
                .values(name="Vera", account_id=acc["Q"], seniority="vp", is_decision_maker=True)
                .returning(Contact.id)
            ).scalar_one()
        )
        ids["vp"] = vp
        rows = [
            # straddle
            row(dee, at(4, 14), "meeting", "held", acc["S"]),
            row(dee, at(4, 21), "meeting", "held", acc["S"]),
            row(ben, at(4, 16), "call", "meeting_set", acc["S"]),
            # out of order
            row(dee, at(5), "meeting", "held", acc["W"]),
            row(ana, at(9), "call", "meeting_set", acc["W"]),
            row(dee, at(12), "meeting", "held", acc["W"]),
            # time zones: the dates of two zones on one account
            row(cy, at(7, 20), "call", "no_answer", acc["Z"], local=dt.date(2026, 11, 8)),
            row(cy, at(8, 1), "call", "no_answer", acc["Z"], local=dt.date(2026, 11, 7)),
            row(cy, at(10), "call", "meeting_set", acc["Z"]),
            # date-only values
            row(ana, at(6, 5), "call", "no_answer", acc["D"], local=dt.date(2026, 11, 6)),
            row(ana, at(6, 5), "call", "meeting_set", acc["D"], local=dt.date(2026, 11, 6)),
            # same day, with a decision maker
            row(ben, at(10, 13), "call", "no_answer", acc["Q"], contact=vp),
            row(ben, at(10, 15), "call", "no_answer", acc["Q"], contact=vp),
            row(ben, at(10, 15), "call", "meeting_set", acc["Q"], contact=vp),
            # before the window: history the window must not read
            row(ana, at(20, month=10), "call", "meeting_set", acc["OLD"]),
            row(ana, at(3), "call", "conversation", acc["OLD"]),
            # Eve proposes and wins; a meeting without an Ask is not selling
            row(eve, at(2), "meeting", "held", acc["E1"]),
            row(eve, at(4), "proposal", "sent", acc["E1"]),
            row(eve, at(3), "meeting", "held", acc["E2"], ask=False),
            row(eve, at(5), "proposal", "sent", acc["E2"]),
            row(eve, at(6), "admin", "done", None, ask=False),
        ]
        conn.execute(insert(Activity), rows)
        conn.execute(
            insert(Deal),
            [
                _deal(eve, acc["E1"], at(1, month=10), "won", at(11)),
                _deal(eve, acc["E2"], at(7), "open", None),
                _deal(dee, acc["S"], at(5), "open", None),
            ],
        )
    return ids


def _deal(
    rep: int, account: int, created: dt.datetime, status: str, closed: dt.datetime | None
) -> dict[str, Any]:
    return {
        "rep_id": rep,
        "account_id": account,
        "name": f"deal {account}",
        "amount": 10_000,
        "stage": {"open": "proposal", "won": "closed_won"}[status],
        "status": status,
        "created_at": created,
        "closed_at": closed,
        "source": "test",
    }


def with_steps(settings: Settings, *steps: str) -> Settings:
    return settings.model_copy(
        update={"funnel": settings.funnel.model_copy(update={"steps": list(steps)})}
    )


def month(settings: Settings) -> Window:
    return diagnosis_window(settings, "month", AS_OF)


def everyone_days(engine: Engine, settings: Settings) -> list[tuple[str, float | None, int]]:
    result = funnel(engine, settings, month(settings))
    return [(s.metric, s.median_days, s.median_accounts) for s in result.steps[1:]]


# --- hand-computed figures, read from the aggregates ----------------------------------------


def test_a_straddling_day_reads_its_own_events(engine: Engine, settings: Settings) -> None:
    two = with_steps(settings, "meetings_set", "meetings_held")
    ids = build(engine, two)
    # only account S has a set and a held at or after it... and W (set Nov 9, held Nov 12)
    assert everyone_days(engine, two) == [("meetings_held", pytest.approx(1.6), 2)]
    with engine.begin() as conn:
        conn.execute(delete(Activity).where(Activity.account_id == ids["acc_W"]))
    # S alone: 14:00 is before the set at 16:00, so 21:00 answers: 5 hours
    assert everyone_days(engine, two) == [("meetings_held", 0.2, 1)]


def test_out_of_order_steps_count_from_the_first_set(engine: Engine, settings: Settings) -> None:
    two = with_steps(settings, "meetings_set", "meetings_held")
    ids = build(engine, two)
    with engine.begin() as conn:
        conn.execute(delete(Activity).where(Activity.account_id == ids["acc_S"]))
    # W: held Nov 5 comes before the set (Nov 9 17:00); the held of Nov 12 17:00 answers
    assert everyone_days(engine, two) == [("meetings_held", 3.0, 1)]


def test_dates_of_two_zones_read_the_earlier_instant(engine: Engine, settings: Settings) -> None:
    two = with_steps(settings, "calls", "meetings_set")
    ids = build(engine, two)
    keep = {ids["acc_Z"]}
    with engine.begin() as conn:
        conn.execute(delete(Activity).where(Activity.account_id.not_in(keep)))
    ensure_rollup(engine, two)
    with engine.connect() as conn:
        ordered = conn.scalar(
            select(ProspectStep.ordered).where(
                ProspectStep.metric == "calls", ProspectStep.account_id == ids["acc_Z"]
            )
        )
    assert ordered is False  # its day cells overlap in time
    assert everyone_days(engine, two) == [("meetings_set", 2.9, 1)]


def test_date_only_and_same_day_events(engine: Engine, settings: Settings) -> None:
    two = with_steps(settings, "calls", "meetings_set")
    ids = build(engine, two)
    keep = {ids["acc_D"], ids["acc_Q"]}
    with engine.begin() as conn:
        conn.execute(delete(Activity).where(Activity.account_id.not_in(keep)))
    # D: 0 hours; Q: first call 13:00, set 15:00: 2 hours; median of (0, 2) hours = 1 hour
    assert everyone_days(engine, two) == [("meetings_set", 0.0, 2)]


def test_prospects_and_mix_by_hand(engine: Engine, settings: Settings) -> None:
    ids = build(engine, settings)
    window = month(settings)
    eve = next(r for r in revenue_equation(engine, settings, window).reps if r.rep == "Eve")
    # selling with an account in November: E1 (held, proposal), E2 (proposal; held no Ask)
    assert (eve.prospects, eve.selling_activities, eve.wins) == (2, 3, 1)
    quality = {q.rep: q for q in busy_vs_productive(engine, settings, window).reps}
    assert quality["Eve"].activity_mix == {"meeting": 2, "proposal": 2, "admin": 1}
    assert quality["Ana"].activity_mix == {"call": 4}  # OLD's October set is outside
    assert ids["Ana"]


def _three_meetings_in_one_cell(engine: Engine, settings: Settings) -> tuple[int, MetricSettings]:
    """Dee's meetings held on account S on Nov 4 at 14:00 and 21:00 UTC (one day cell), plus
    one at 18:00 added here; the account's id and the step."""
    ids = build(engine, settings)
    s = ids["acc_S"]
    with engine.begin() as conn:
        conn.execute(insert(Activity), [row(ids["Dee"], at(4, 18), "meeting", "held", s)])
    ensure_rollup(engine, settings)
    return s, aggregates.aggregated_steps(settings)["meetings_held"]


def test_the_latest_event_before_a_moment_inside_a_day_comes_from_its_events(
    engine: Engine, settings: Settings
) -> None:
    """Dee's meetings held on S on Nov 4 (14:00 and 21:00 UTC, one day cell) plus one at
    18:00 added here. The latest at or before 19:00 is 18:00, inside the cell, which only
    the cell's own events tell; at or before 22:00 it is the cell's last, 21:00; before
    13:00 there is none. With the history starting at 15:00 (inside the cell), 14:00 is
    outside it: nothing at or before 16:00."""
    s, held = _three_meetings_in_one_cell(engine, settings)

    def latest(moment: dt.datetime, start: dt.datetime = at(1, 0)) -> dt.datetime | None:
        with engine.connect() as conn:
            times = aggregates.event_times(
                conn, settings, held, select(Account.id), start, at(18, 0), {s: [moment]}
            )
        before = [t for t in times.get(s, []) if t <= moment]
        return max(before) if before else None

    assert latest(at(4, 19)) == at(4, 18)
    assert latest(at(4, 22)) == at(4, 21)
    assert latest(at(4, 13)) is None
    assert latest(at(4, 16), start=at(4, 15)) is None
    assert latest(at(4, 19), start=at(4, 15)) == at(4, 18)


def test_cells_read_once_for_a_span_answer_each_window_as_by_hand(
    engine: Engine, settings: Settings
) -> None:
    """The backtest reads a step's day cells once for all its cut-offs (`SpanCells`), then
    each cut-off's window takes its own: the same hand-worked answers as above, from one
    read, and a window outside the span read is refused rather than answered short."""
    s, held = _three_meetings_in_one_cell(engine, settings)
    span = aggregates.SpanCells(select(Account.id), at(1, 0), at(18, 0))

    def latest(moment: dt.datetime, start: dt.datetime = at(1, 0)) -> dt.datetime | None:
        with engine.connect() as conn:
            times = span(conn, settings, held, start, at(18, 0), {s: [moment]})
        before = [t for t in times.get(s, []) if t <= moment]
        return max(before) if before else None

    with recorded_statements(engine) as statements:
        assert latest(at(4, 22)) == at(4, 21)  # the cell's last: no read of its events
        assert latest(at(4, 13)) is None
        cell_reads = [sql for sql in statements if "prospect_day" in sql]
        assert latest(at(4, 19)) == at(4, 18)  # inside the cell: its own events are read
        assert latest(at(4, 16), start=at(4, 15)) is None
        assert latest(at(4, 19), start=at(4, 15)) == at(4, 18)
    assert len(cell_reads) == 1  # the span's cells, once
    assert [sql for sql in statements if "prospect_day" in sql] == cell_reads
    with pytest.raises(ValueError, match="outside the span"), engine.connect() as conn:
        span(conn, settings, held, at(1, 0), at(19, 0), {s: [at(4, 19)]})


# --- the aggregates against the raw path, on every analysis ---------------------------------


def analyses(engine: Engine, settings: Settings) -> dict[str, Any]:
    window = month(settings)
    wide = diagnosis_window(settings, "90d", AS_OF)
    found: dict[str, Any] = {
        "everyone": funnel(engine, settings, window),
        "everyone 90d": funnel(engine, settings, wide),
        "team East": funnel(engine, settings, window, team="East"),
        "equation": revenue_equation(engine, settings, window),
        "quality": busy_vs_productive(engine, settings, wide),
        "stalled": stalled_deals(engine, settings, AS_OF),
        "team diagnosis": diagnose_team(engine, settings, window, "East"),
        "flow": pipeline_flow(engine, settings, wide),
        "flow East": pipeline_flow(engine, settings, window, team="East"),
        "forecast": forecast(engine, settings, "quarter", AS_OF),
    }
    for rep in ("Ana", "Ben", "Cy", "Dee", "Eve"):
        found[f"funnel {rep}"] = funnel(engine, settings, window, rep=rep)
    found["brief Ben"] = diagnose_rep(engine, settings, window, "Ben")
    return found


def assert_same_as_raw(engine: Engine, settings: Settings) -> None:
    read = analyses(engine, settings)
    with aggregates.raw_reads():
        raw = analyses(engine, settings)
    for name, value in read.items():
        assert value == raw[name], name


def test_every_analysis_equals_the_raw_path(engine: Engine, settings: Settings) -> None:
    build(engine, settings)
    assert_same_as_raw(engine, settings)


def test_changes_after_a_refresh_reach_the_aggregates(engine: Engine, settings: Settings) -> None:
    ids = build(engine, settings)
    assert_same_as_raw(engine, settings)  # refreshed once
    with engine.begin() as conn:
        # an edited outcome: Ana's set on W becomes a no-answer
        conn.execute(
            update(Activity)
            .where(Activity.account_id == ids["acc_W"], Activity.outcome == "meeting_set")
            .values(outcome="no_answer", engaged=False)
        )
        # a deleted row: Dee's 21:00 meeting on S
        conn.execute(delete(Activity).where(Activity.occurred_at == at(4, 21)))
        # a row moved to another rep, day and account
        conn.execute(
            update(Activity)
            .where(Activity.occurred_at == at(10, 13))
            .values(rep_id=ids["Ana"], local_date=dt.date(2026, 11, 2), account_id=ids["acc_D"])
        )
        # the decision maker is no longer one
        conn.execute(update(Contact).values(is_decision_maker=False, seniority="staff"))
    assert_same_as_raw(engine, settings)
    two = with_steps(settings, "meetings_set", "meetings_held")
    # S's only held left is 14:00, before the set; W's set is gone: nobody reached "held"
    assert everyone_days(engine, two) == [("meetings_held", None, 0)]


def test_a_migration_of_closed_deals_reads_as_the_raw_path(
    engine: Engine, settings: Settings
) -> None:
    """Deal steps are read from the deals on either path, so a migration of closed deals
    (`factories.build_migration_in_a_month`) is left out of opportunities created on both,
    and so are the changes of a deal's dates after a refresh. By hand, November to the 18th,
    everyone: 5 opportunities created (Ana's New open, New won, Same day, Just under, No
    date; 11 read by creation alone, before 2026-12-07). Then "Old win" is re-dated to its
    real creation (Nov 4 17:00, the day of its close: counted) and "Ben old 1" closes on
    Nov 20 instead (after its creation: no late entry): 7."""
    upgrade(engine)
    build_migration_in_a_month(engine, settings)
    steps = with_steps(settings, "meetings_set", "opportunities_created")

    def read() -> dict[str, Any]:
        return {
            "everyone": funnel(engine, steps, month(settings)),
            "Ana": funnel(engine, steps, month(settings), rep="Ana"),
            "flow": pipeline_flow(engine, settings, month(settings)),
            "forecast": forecast(engine, settings, "quarter", AS_OF),
        }

    def created() -> float:
        found = read()
        with aggregates.raw_reads():
            assert read() == found
        return found["everyone"].steps[1].count

    assert created() == 5
    with engine.begin() as conn:
        conn.execute(update(Deal).where(Deal.name == "Old win").values(created_at=at(4)))
        conn.execute(update(Deal).where(Deal.name == "Ben old 1").values(closed_at=at(20)))
    assert created() == 7


def test_a_reimport_of_the_same_rows_changes_nothing(engine: Engine, settings: Settings) -> None:
    build(engine, settings)
    before = analyses(engine, settings)
    with engine.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(Activity))]
        for r in rows:
            del r["id"]
        conn.execute(delete(Activity))
        conn.execute(insert(Activity), rows[::-1])  # the same rows again, new ids, reversed
        assert conn.scalar(select(func.count()).select_from(Activity)) == len(rows)
    assert analyses(engine, settings) == before
    assert_same_as_raw(engine, settings)


def test_a_refresh_that_puts_days_out_of_order(engine: Engine, settings: Settings) -> None:
    two = with_steps(settings, "calls", "meetings_set")
    ids = build(engine, two)
    with engine.begin() as conn:
        conn.execute(delete(Activity).where(Activity.account_id != ids["acc_Q"]))
    ensure_rollup(engine, two)  # built: Q's calls are ordered
    cy, zone = ids["Cy"], ids["acc_Z"]
    with engine.begin() as conn:
        conn.execute(
            insert(Activity),
            [
                row(cy, at(7, 20), "call", "no_answer", zone, local=dt.date(2026, 11, 8)),
                row(cy, at(8, 1), "call", "no_answer", zone, local=dt.date(2026, 11, 7)),
                row(cy, at(10), "call", "meeting_set", zone),
            ],
        )
    ensure_rollup(engine, two)  # refreshed: Z's days arrive out of order
    with engine.connect() as conn:
        flags = dict(
            conn.execute(
                select(ProspectStep.account_id, ProspectStep.ordered).where(
                    ProspectStep.metric == "calls"
                )
            ).all()
        )
    assert flags == {ids["acc_Q"]: True, zone: False}
    # Q: 2 hours; Z: 69 hours; median 35.5 hours = 1.5 days
    assert everyone_days(engine, two) == [("meetings_set", 1.5, 2)]
    assert_same_as_raw(engine, settings)


# --- kind_month: kind_day summed per rep, calendar month and kind ---------------------------

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)

# (rep, month, kind): (activities, asks, engaged, last day), counted by hand from `build`:
# Ana's October set on OLD; her November calls on 3 (conversation), 6 (no answer, set) and
# 9 (set); Ben's set on S (4th) and three calls on Q (10th, one set); Cy's three calls dated
# 7, 8 and 10 (the set); Dee's four meetings held (4th twice, 5th, 12th); Eve's meetings held
# on the 2nd and 3rd (the 3rd without an Ask), proposals on the 4th and 5th, admin on the 6th.
KIND_MONTHS = {
    ("Ana", OCT, "call"): (1, 1, 1, dt.date(2026, 10, 20)),
    ("Ana", NOV, "call"): (4, 4, 2, dt.date(2026, 11, 9)),
    ("Ben", NOV, "call"): (4, 4, 2, dt.date(2026, 11, 10)),
    ("Cy", NOV, "call"): (3, 3, 1, dt.date(2026, 11, 10)),
    ("Dee", NOV, "meeting"): (4, 4, 4, dt.date(2026, 11, 12)),
    ("Eve", NOV, "meeting"): (2, 1, 2, dt.date(2026, 11, 3)),
    ("Eve", NOV, "proposal"): (2, 2, 0, dt.date(2026, 11, 5)),
    ("Eve", NOV, "admin"): (1, 0, 0, dt.date(2026, 11, 6)),
}

Months = dict[tuple[str, dt.date, str], tuple[int, int, int, dt.date]]


def kind_months(engine: Engine, ids: dict[str, int]) -> Months:
    """`kind_month` by rep name."""
    names = {ids[n]: n for n in ("Ana", "Ben", "Cy", "Dee", "Eve")}
    with engine.connect() as conn:
        rows = conn.execute(select(KindMonth)).all()
    return {
        (names[rep], month, kind): (n, asks, engaged, last)
        for rep, month, kind, n, asks, engaged, last in rows
    }


def raw_kind_months(engine: Engine, ids: dict[str, int]) -> Months:
    """The same sums from the activities, by raw SQL per rep, day and kind, folded into
    calendar months here."""
    names = {ids[n]: n for n in ("Ana", "Ben", "Cy", "Dee", "Eve")}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT rep_id, local_date, kind, COUNT(*),"
                " SUM(CASE WHEN has_ask THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN engaged THEN 1 ELSE 0 END)"
                " FROM activity GROUP BY rep_id, local_date, kind"
            )
        ).all()
    months: Months = {}
    for rep, day, kind, n, asks, engaged in rows:
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
        key = (names[rep], day.replace(day=1), kind)
        was = months.get(key, (0, 0, 0, day))
        months[key] = (was[0] + n, was[1] + asks, was[2] + engaged, max(was[3], day))
    return months


def test_kind_months_are_the_hand_counts_and_follow_every_change(
    engine: Engine, settings: Settings
) -> None:
    """Built, then after inserts, edits, deletes, moves across months and a re-import,
    `kind_month` equals the raw activities' sums (and the hand counts where they change)."""
    ids = build(engine, settings)
    ensure_rollup(engine, settings)
    assert kind_months(engine, ids) == KIND_MONTHS == raw_kind_months(engine, ids)
    ana, ben, cy = ids["Ana"], ids["Ben"], ids["Cy"]
    with engine.begin() as conn:
        # inserted: Ben's call on 1 Dec (a month of its own) and Cy's on 30 Sep
        conn.execute(
            insert(Activity),
            [
                row(ben, at(1, 18, month=12), "call", "no_answer", None),
                row(cy, at(30, month=9), "call", "meeting_set", None),
            ],
        )
        # edited: Ana's set on W becomes a video meeting without an Ask
        conn.execute(
            update(Activity)
            .where(Activity.account_id == ids["acc_W"], Activity.rep_id == ana)
            .values(kind="video_meeting", has_ask=False)
        )
        # moved across months and reps: Ana's October set on OLD becomes Cy's on 3 Nov
        conn.execute(
            update(Activity)
            .where(Activity.occurred_at == at(20, month=10))
            .values(rep_id=cy, local_date=dt.date(2026, 11, 3))
        )
        # deleted: Eve's admin, her only one
        conn.execute(delete(Activity).where(Activity.kind == "admin"))
    ensure_rollup(engine, settings)
    months = kind_months(engine, ids)
    assert months == raw_kind_months(engine, ids)
    assert ("Ana", OCT, "call") not in months and ("Eve", NOV, "admin") not in months
    assert months["Ana", NOV, "call"] == (3, 3, 1, dt.date(2026, 11, 6))
    assert months["Ana", NOV, "video_meeting"] == (1, 0, 1, dt.date(2026, 11, 9))
    assert months["Cy", NOV, "call"] == (4, 4, 2, dt.date(2026, 11, 10))
    assert months["Cy", dt.date(2026, 9, 1), "call"] == (1, 1, 1, dt.date(2026, 9, 30))
    assert months["Ben", dt.date(2026, 12, 1), "call"] == (1, 1, 0, dt.date(2026, 12, 1))
    with engine.begin() as conn:  # re-imported: the same rows again, new ids, reversed
        rows = [dict(r._mapping) for r in conn.execute(select(Activity))]
        for r in rows:
            del r["id"]
        conn.execute(delete(Activity))
        conn.execute(insert(Activity), rows[::-1])
    ensure_rollup(engine, settings)
    assert kind_months(engine, ids) == months == raw_kind_months(engine, ids)


def test_rebuilding_a_month_of_days_rebuilds_its_kind_months_only(
    engine: Engine, settings: Settings
) -> None:
    ids = build(engine, settings)
    ensure_rollup(engine, settings)
    with engine.begin() as conn:
        conn.execute(update(KindMonth).values(activities=99))
    rollup.rebuild_days(engine, settings, aggregates.DayRange(NOV, dt.date(2026, 12, 1)))
    months = kind_months(engine, ids)
    assert {k: v for k, v in months.items() if k[1] == NOV} == {
        k: v for k, v in KIND_MONTHS.items() if k[1] == NOV
    }
    assert months["Ana", OCT, "call"] == (99, 1, 1, dt.date(2026, 10, 20))


def test_kind_counts_read_whole_months_and_month_to_date_from_the_month_rows(
    engine: Engine, settings: Settings
) -> None:
    """The window 15 Sep - 18 Nov: the September days by day (Ana's call on the 20th; the
    10th is outside), October from its month row (Ana's planted as 50, to show where it was
    read), November from its month rows where they stop before the window's end (Ben's
    planted as 7), else from the days (Cy's call on 25 Nov goes past the end: his 3 calls
    by day, his row planted as 99 is not read). A window inside one month, not from its
    first day, reads the days only."""
    ids = build(engine, settings)
    ana, ben, cy = ids["Ana"], ids["Ben"], ids["Cy"]
    with engine.begin() as conn:
        conn.execute(
            insert(Activity),
            [
                row(ana, at(10, month=9), "call", "no_answer", None),
                row(ana, at(21, month=9), "call", "meeting_set", None),
                row(cy, at(25), "call", "no_answer", None),
            ],
        )
    ensure_rollup(engine, settings)
    with engine.begin() as conn:
        for rep, month, n in ((ana, OCT, 50), (ben, NOV, 7), (cy, NOV, 99)):
            conn.execute(
                update(KindMonth)
                .where(KindMonth.rep_id == rep, KindMonth.month == month)
                .values(activities=n)
            )
    window = (dt.date(2026, 9, 15), dt.date(2026, 11, 19))
    with engine.connect() as conn:
        counts = aggregates.kind_counts(conn, *window, [ana, ben, cy, ids["Eve"]])
        inside = aggregates.kind_counts(conn, dt.date(2026, 11, 4), AS_OF, [ben])
    assert counts == [
        (ana, "call", 1 + 50 + 4, 1 + 1 + 4, 1 + 1 + 2),
        (ben, "call", 7, 4, 2),
        (cy, "call", 3, 3, 1),
        (ids["Eve"], "admin", 1, 0, 0),
        (ids["Eve"], "meeting", 2, 1, 2),
        (ids["Eve"], "proposal", 2, 2, 0),
    ]
    assert inside == [(ben, "call", 4, 4, 2)]
