"""The demo gives every role targets for the metrics it owns, conversations included.

Before, only key metrics had targets, so AEs and field reps had no conversation target and a
leaderboard of conversations ranked by % of own target left them out. A small demo (12 reps,
3 months) is built once; the targets are checked against a count made here by hand from the
activity rows (connected calls in the three months before the recent stretch, per business
day, times the month's business days), not against the demo's own totals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from factories import (
    THREE_MONTH_DEMO,
    build_accounts_called_month_by_month,
    build_new_hire_accounts_called,
    paced_on_accounts_called,
    shared_demo,
    sqlite_copy,
)
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.demo import months_before, owned_metrics, recent_start, save_run_rate_targets
from paceline.store.models import Activity, Rep, Target

TODAY = dt.date(2026, 11, 18)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[Engine]:
    """A copy of the small demo, built once per test run (`factories.shared_demo`): the tests
    only read it."""
    built = shared_demo(tmp_path_factory, settings, **THREE_MONTH_DEMO)
    engine = sqlite_copy(built.path, tmp_path_factory.mktemp("targets"))
    yield engine
    engine.dispose()


def test_each_role_owns_its_key_metrics_its_funnel_steps_and_its_conversations(
    settings: Settings,
) -> None:
    assert owned_metrics(settings, "sdr") == [
        "conversations",
        "meetings_set",
        "opportunities_sourced",
        "calls",
    ]
    assert owned_metrics(settings, "ae") == [
        "meetings_held",
        "proposals",
        "deals_won",
        "revenue",
        "conversations",
    ]
    assert owned_metrics(settings, "field")[-1] == "conversations"
    assert owned_metrics(settings, "manager") == []  # not paced


def test_every_selling_rep_has_a_target_for_each_metric_the_role_owns(
    demo: Engine, settings: Settings
) -> None:
    month = BusinessCalendar(settings.calendar).period("month", TODAY)
    with demo.connect() as conn:
        reps = conn.execute(select(Rep.id, Rep.name, Rep.role)).all()
        held = {
            (rep_id, metric)
            for rep_id, metric in conn.execute(
                select(Target.rep_id, Target.metric).where(
                    Target.period_kind == "month", Target.period_start == month.start
                )
            )
        }
    roles = {role for _, _, role in reps}
    assert {"sdr", "ae", "field"} <= roles
    for rep_id, name, role in reps:
        for metric in owned_metrics(settings, role):
            assert (rep_id, metric) in held, (name, role, metric)
    ae = [rep_id for rep_id, _, role in reps if role == "ae"]
    assert all((rep_id, "conversations") in held for rep_id in ae)


def test_an_aes_conversation_target_is_their_own_run_rate(demo: Engine, settings: Settings) -> None:
    calendar = BusinessCalendar(settings.calendar)
    month = calendar.period("month", TODAY)
    recent = recent_start(settings, TODAY)
    since = months_before(recent, 3)
    connected = [o.name for o in settings.outcomes if o.connected]
    with demo.connect() as conn:
        rep_id, start = conn.execute(
            select(Rep.id, Rep.start_date).where(Rep.role == "ae").order_by(Rep.id).limit(1)
        ).one()
        calls = conn.execute(
            select(func.count())
            .select_from(Activity)
            .where(
                Activity.rep_id == rep_id,
                Activity.kind == "call",
                Activity.outcome.in_(connected),
                Activity.local_date >= since,
                Activity.local_date < recent,
            )
        ).scalar_one()
        target = conn.execute(
            select(Target.value).where(
                Target.rep_id == rep_id,
                Target.metric == "conversations",
                Target.period_kind == "month",
                Target.period_start == month.start,
            )
        ).scalar_one()
    worked = calendar.business_days(max(since, start or since), recent)
    expected = calls / worked * calendar.business_days(month.start, month.end)
    assert calls > 0
    assert target == pytest.approx(expected, abs=0.01)


def test_a_distinct_count_target_is_a_months_run_rate(engine: Engine, settings: Settings) -> None:
    """A target of accounts called is a month's, so its run rate adds the accounts called
    month by month: Ana's 3, 5 and 1 in the three month-long slices before the recent
    stretch, 9 over the 65 business days from Jul 29 to Oct 28 (3 in July, 21 in August, 21
    in September less Labor Day, 20 in October), times November's 19 business days:
    9/65 x 19 = 2.63, December's 22: 3.05. Read over the three months at once it was 5 (an
    account called in two months counted once): 5/65 x 19 = 1.46, a target she beat by
    calling the same few accounts. Her calls, a count, are read as before: 11/65 x 19."""
    paced = paced_on_accounts_called(settings)
    ana = build_accounts_called_month_by_month(engine, paced)
    assert recent_start(paced, TODAY) == dt.date(2026, 10, 29)
    save_run_rate_targets(engine, paced, TODAY)
    with engine.connect() as conn:
        targets = {
            (metric, start): value
            for metric, start, value in conn.execute(
                select(Target.metric, Target.period_start, Target.value).where(
                    Target.rep_id == ana, Target.period_kind == "month"
                )
            )
        }
    nov, dec = dt.date(2026, 11, 1), dt.date(2026, 12, 1)
    assert targets[("accounts_called", nov)] == pytest.approx(2.63)
    assert targets[("accounts_called", dec)] == pytest.approx(3.05)
    assert targets[("calls", nov)] == pytest.approx(3.22)


def test_a_new_hires_distinct_target_reads_his_days_by_the_roles_curve(
    engine: Engine, settings: Settings
) -> None:
    """Hal joined for the third slice's last 10 of 22 business days and called 12 accounts.
    Ana's three slices reached 16 of 20 accounts by 10/22 of their business days (10.45,
    9.09 and 10 business days in, between her days 6 and 16), a share of 48/60 = 0.8: his
    12 are a whole slice's 12 / 0.8 = 15, a rate of 15/22 a business day, 15 x 19/22 = 12.95
    accounts in November (19 business days), 15 in December (22). Scaled evenly, as before,
    12/10 a day: 22.8 and 26.4, more than Ana's 17.54 (60 accounts over the slices' 65
    business days, x 19), whose rule is unchanged. His calls are a count, read as before:
    13 over his 10 days, x 19 = 24.7."""
    paced = paced_on_accounts_called(settings)
    ids = build_new_hire_accounts_called(engine, paced)
    save_run_rate_targets(engine, paced, TODAY)
    with engine.connect() as conn:
        targets = {
            (rep_id, metric, start): value
            for rep_id, metric, start, value in conn.execute(
                select(Target.rep_id, Target.metric, Target.period_start, Target.value).where(
                    Target.period_kind == "month"
                )
            )
        }
    nov, dec = dt.date(2026, 11, 1), dt.date(2026, 12, 1)
    hal, ana = ids["Hal"], ids["Ana"]
    assert targets[(hal, "accounts_called", nov)] == pytest.approx(12.95)
    assert targets[(hal, "accounts_called", dec)] == pytest.approx(15.0)
    assert targets[(ana, "accounts_called", nov)] == pytest.approx(17.54)
    assert targets[(hal, "calls", nov)] == pytest.approx(24.7)
