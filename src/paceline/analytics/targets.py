"""Targets: stored per rep, metric and period; read for any period, prorated by business days.

A plan saves yearly (or quarterly) targets; scorecards ask for a week or a month. Rather than
store every slice, a period's target is derived from the stored targets that cover it, in
proportion to business days: a month with 21 of the year's 250 business days carries 21/250 of
the yearly target. A target stored for exactly that period wins over any derivation, so a
manager can override one month without touching the plan.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from paceline.calendar import PERIOD_KINDS, BusinessCalendar, Period, PeriodKind
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.ingest.entities import default_role
from paceline.ingest.manual import existing_rep_id
from paceline.ingest.resolve import RepResolver
from paceline.store.models import Target

TARGET_KINDS: tuple[PeriodKind, ...] = tuple(k for k in PERIOD_KINDS if k != "day")
# The longest period of each kind: a stored target starting earlier cannot overlap.
_LONGEST: dict[str, dt.timedelta] = {
    "week": dt.timedelta(days=7),
    "month": dt.timedelta(days=31),
    "quarter": dt.timedelta(days=92),
    "year": dt.timedelta(days=366),
}


@dataclass(frozen=True)
class TargetRow:
    rep_id: int
    metric: str
    period_kind: PeriodKind
    period_start: dt.date
    value: float
    origin: str = "manual"


@dataclass(frozen=True)
class SetTarget:
    """What `set_target` stored, for the face to confirm."""

    rep: str
    metric: str
    period: Period
    value: float


def save_targets(conn: Connection, rows: Iterable[TargetRow]) -> int:
    """Insert or replace targets (same rep, metric and period); returns how many."""
    payload = [
        {
            "rep_id": r.rep_id,
            "metric": r.metric,
            "period_kind": r.period_kind,
            "period_start": r.period_start,
            "value": r.value,
            "origin": r.origin,
        }
        for r in rows
    ]
    if not payload:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Target)
    statement = statement.on_conflict_do_update(
        index_elements=["rep_id", "metric", "period_kind", "period_start"],
        set_={"value": statement.excluded.value, "origin": statement.excluded.origin},
    )
    conn.execute(statement, payload)
    return len(payload)


def set_target(
    engine: Engine,
    settings: Settings,
    rep: str,
    metric: str,
    period_kind: PeriodKind,
    day: dt.date,
    value: float,
) -> SetTarget:
    """Set (or override) one rep's target for the period of `period_kind` containing `day`."""
    if period_kind not in TARGET_KINDS:
        raise UserInputError(f"period: targets are set per {', '.join(TARGET_KINDS)}")
    try:
        metric_settings = settings.metric(metric)
    except KeyError as exc:
        raise UserInputError(f"metric: {exc.args[0]}") from None
    if metric_settings.aggregate == "ratio":
        raise UserInputError(f"metric: {metric!r} is a ratio; set targets on its parts")
    if not math.isfinite(value):
        raise UserInputError(f"value: a target must be a finite number (got {value})")
    if value < 0:
        raise UserInputError(f"value: a target cannot be negative (got {value})")
    period = BusinessCalendar(settings.calendar).period(period_kind, day)
    with engine.begin() as conn:
        rep_id = existing_rep_id(conn, RepResolver(conn, default_role(settings)), rep)
        save_targets(conn, [TargetRow(rep_id, metric, period_kind, period.start, value)])
    return SetTarget(rep=rep, metric=metric, period=period, value=value)


def period_targets(
    conn: Connection,
    calendar: BusinessCalendar,
    period: Period,
    metrics: Collection[str],
    rep_ids: Collection[int] | None = None,
) -> dict[tuple[int, str], float]:
    """Each (rep, metric)'s target for `period`, exact or derived by business days.

    Preference, most specific first: a target stored for exactly this period; else shorter
    stored periods that together cover every business day (three months make a quarter);
    else the shortest longer period (a year's share of a month). Each stored target
    contributes its business-day share of the overlap.
    """
    if not metrics:
        return {}
    query = select(
        Target.rep_id, Target.metric, Target.period_kind, Target.period_start, Target.value
    ).where(
        Target.metric.in_(list(metrics)),
        Target.period_start < period.end,
        or_(
            *(
                and_(Target.period_kind == kind, Target.period_start > period.start - span)
                for kind, span in _LONGEST.items()
            )
        ),
    )
    if rep_ids is not None:
        query = query.where(Target.rep_id.in_(list(rep_ids)))
    stored: dict[tuple[int, str], dict[str, list[tuple[dt.date, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for rep_id, metric, kind, start, value in conn.execute(query):
        stored[(rep_id, metric)][kind].append((start, value))
    result: dict[tuple[int, str], float] = {}
    preference = _preference(period.kind)
    for key, by_kind in stored.items():
        exact = next(
            (v for start, v in by_kind.get(period.kind, []) if start == period.start), None
        )
        if exact is not None:  # the common case, answered without calendar arithmetic
            result[key] = exact
            continue
        for kind in preference:
            if kind not in by_kind:
                continue
            derived = _prorated(calendar, period, kind, by_kind[kind])
            if derived is not None:
                result[key] = derived
                break
    return result


def _preference(kind: PeriodKind) -> list[PeriodKind]:
    """Kinds to derive a `kind` target from: itself, shorter ones, then longer ones."""
    if kind not in TARGET_KINDS:
        return list(TARGET_KINDS)
    at = TARGET_KINDS.index(kind)
    return [kind, *reversed(TARGET_KINDS[:at]), *TARGET_KINDS[at + 1 :]]


def _prorated(
    calendar: BusinessCalendar,
    period: Period,
    kind: PeriodKind,
    targets: list[tuple[dt.date, float]],
) -> float | None:
    """The business-day share of `targets` falling in `period`, or None if they leave gaps."""
    covered = 0
    total = 0.0
    for source_start, value in targets:
        source = calendar.period(kind, source_start)
        if source == period:  # stored for exactly this period: as stored, even without days
            return value
        start, end = max(source.start, period.start), min(source.end, period.end)
        if start >= end:
            continue
        overlap = calendar.business_days(start, end)
        days = calendar.business_days(source.start, source.end)
        covered += overlap
        total += value * overlap / days if days else 0.0
    needed = calendar.business_days(period.start, period.end)
    if covered < needed or (needed == 0 and covered == 0 and not targets):
        return None
    return total
