"""Metric definitions (configuration data) compiled to SQL expressions.

Every filter a metric may declare becomes a boolean SQL expression over `activity` (joined to
`contact` only when a metric asks about the person spoken to), so aggregation always runs in
the database. Nothing here knows about periods or reps: callers add those.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    true,
)

from paceline.analytics.late_entry import not_entered_after_close
from paceline.config import MetricSettings, Settings
from paceline.store.models import Activity, Contact, Deal


def outreach_condition(
    settings: Settings, only: Iterable[str] | None = None
) -> ColumnElement[bool]:
    """An outreach attempt: an activity of a selling-eligible kind, Ask or not (of the kinds
    in `only`, when given: those whose engagement is recorded, for an engagement rate).

    Rates of what outreach achieves are read per attempt, because many CRMs record an Ask
    only on the calls that connected: unanswered dials are attempts but not selling."""
    kinds = sorted(settings.selling_kinds if only is None else settings.selling_kinds & set(only))
    return Activity.kind.in_(kinds) if kinds else false()


def selling_condition(settings: Settings) -> ColumnElement[bool]:
    """The seeds' rule: a selling-eligible kind, with an Ask when the rule needs one."""
    if not settings.selling_kinds:
        return false()
    eligible = outreach_condition(settings)
    return and_(eligible, Activity.has_ask) if settings.selling.require_ask else eligible


def needs_contact(metric: MetricSettings) -> bool:
    return metric.decision_maker is not None or metric.seniority is not None


def activity_filter(settings: Settings, metric: MetricSettings) -> ColumnElement[bool]:
    """All of the metric's activity filters, ANDed; `true()` when it has none."""
    parts: list[ColumnElement[bool]] = []
    if metric.kinds is not None:
        parts.append(Activity.kind.in_(metric.kinds))
    if metric.outcomes is not None:
        parts.append(Activity.outcome.in_(metric.outcomes))
    if metric.selling is not None:
        selling = selling_condition(settings)
        parts.append(selling if metric.selling else not_(selling))
    if metric.has_ask is not None:
        parts.append(Activity.has_ask.is_(metric.has_ask))
    if metric.engaged is not None:
        parts.append(Activity.engaged.is_(metric.engaged))
    if metric.connected is not None:
        connected = _in_or_false(Activity.outcome, sorted(settings.connected_outcomes))
        parts.append(connected if metric.connected else or_(Activity.outcome.is_(None), ~connected))
    if metric.decision_maker is not None:
        is_dm = Contact.is_decision_maker.is_(True)
        parts.append(is_dm if metric.decision_maker else or_(Contact.id.is_(None), ~is_dm))
    if metric.seniority is not None:
        parts.append(_in_or_false(Contact.seniority, metric.seniority))
    return and_(true(), *parts) if parts else true()


def activity_measure(metric: MetricSettings) -> ColumnElement[float]:
    """What one matching activity contributes: 1 for counts, the field's value for sums."""
    if metric.aggregate == "sum":
        return _coalesce_zero(getattr(Activity, metric.field or "duration_min"))
    return literal(1)


def activity_case(settings: Settings, metric: MetricSettings) -> ColumnElement[float]:
    """The per-row term a SUM() over activities adds up for an additive metric."""
    return case((activity_filter(settings, metric), activity_measure(metric)), else_=0)


def deal_filter(metric: MetricSettings, zone: ZoneInfo) -> ColumnElement[bool]:
    """The deals a deal metric counts. One dated by creation leaves out the deals entered in
    the CRM after they closed (`late_entry`): a migration of old, closed deals is not that
    day's opportunities created or sourced (their close still counts where a metric is
    dated by close). Every path reading a deal metric (scorecards, leaderboards, the
    tipping point, the funnel, the step rules) goes through here; none is rolled up."""
    status = Deal.status == metric.status if metric.status is not None else true()
    if metric.date == "closed_at":
        return status
    return and_(status, not_entered_after_close(zone))


def deal_credit_column(metric: MetricSettings) -> ColumnClause[int | None] | ColumnClause[int]:
    return Deal.sourced_by_id if metric.credit == "sourced_by" else Deal.rep_id


def deal_date_column(
    metric: MetricSettings,
) -> ColumnClause[dt.datetime | None] | ColumnClause[dt.datetime]:
    return Deal.closed_at if metric.date == "closed_at" else Deal.created_at


def is_additive_activity_metric(metric: MetricSettings) -> bool:
    """Counts and sums of activities add up across days, so the daily rollup serves them."""
    return metric.source == "activities" and metric.aggregate in ("count", "sum")


def _in_or_false(column: ColumnClause[str | None], values: list[str]) -> ColumnElement[bool]:
    return column.in_(values) if values else false()


def _coalesce_zero(column: ColumnClause[float | None]) -> ColumnElement[float]:
    return func.coalesce(column, 0.0)
