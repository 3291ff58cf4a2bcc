"""Targets: stored per rep, metric and period; read for any period, prorated by business days.

A plan saves yearly (or quarterly) targets; scorecards ask for a week or a month. Rather than
store every slice, a period's target is derived from the stored targets that cover it, in
proportion to business days: a month with 21 of the year's 250 business days carries 21/250 of
the yearly target. A target stored for exactly that period wins over any derivation, so a
manager can override one month without touching the plan.

This module only reads; storing targets (a plan's, or one set by hand) is
`paceline.services.targets`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import CompoundSelect, Connection, Select, bindparam, select, union_all

from paceline.calendar import PERIOD_KINDS, BusinessCalendar, Period, PeriodKind
from paceline.store.models import Target

TARGET_KINDS: tuple[PeriodKind, ...] = tuple(k for k in PERIOD_KINDS if k != "day")
# The longest period of each kind: a stored target starting earlier cannot overlap.
_LONGEST: dict[str, dt.timedelta] = {
    "week": dt.timedelta(days=7),
    "month": dt.timedelta(days=31),
    "quarter": dt.timedelta(days=92),
    "year": dt.timedelta(days=366),
}


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
    params = {
        "metrics": list(metrics),
        "end": period.end,
        **{f"after_{kind}": period.start - span for kind, span in _LONGEST.items()},
    }
    if rep_ids is None:
        read = conn.execute(_STORED, params).all()
    else:
        read = conn.execute(_STORED_FOR_REPS, {**params, "rep_ids": list(rep_ids)}).all()
    # A target stored for exactly this period (the common case) is answered as it is read,
    # without calendar arithmetic; the others are kept to derive from.
    result: dict[tuple[int, str], float] = {}
    stored: dict[tuple[int, str], dict[str, list[tuple[dt.date, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for rep_id, metric, kind, start, value in read:
        if kind == period.kind and start == period.start:
            result.setdefault((rep_id, metric), value)
        else:
            stored[(rep_id, metric)][kind].append((start, value))
    preference = _preference(period.kind)
    for key, by_kind in stored.items():
        if key in result:
            continue
        for kind in preference:
            if kind not in by_kind:
                continue
            derived = _prorated(calendar, period, kind, by_kind[kind])
            if derived is not None:
                result[key] = derived
                break
    return result


def _stored(for_reps: bool) -> CompoundSelect[int, str, str, dt.date, float]:
    """The stored targets that may overlap a period: those of the metrics (`metrics`)
    starting before its end (`end`) and, per kind, less than that kind's longest period
    before its start (`after_week`, ...); built once, the days bound as parameters.

    One SELECT per kind glued by UNION ALL (the kinds never overlap), each a range of the
    (kind, start) index, rather than one WHERE with an OR per kind, which SQLite answered by
    collecting every match's row id first (3,600 targets of a page: 4.5 -> 3.6 ms, measured).
    A kind's rows come in the same (start) order either way."""

    def one(kind: str) -> Select[int, str, str, dt.date, float]:
        query = select(
            Target.rep_id, Target.metric, Target.period_kind, Target.period_start, Target.value
        ).where(
            Target.period_kind == kind,
            Target.period_start > bindparam(f"after_{kind}"),
            Target.period_start < bindparam("end"),
            Target.metric.in_(bindparam("metrics", expanding=True)),
        )
        if for_reps:
            query = query.where(Target.rep_id.in_(bindparam("rep_ids", expanding=True)))
        return query

    return union_all(*(one(kind) for kind in _LONGEST))


_STORED = _stored(for_reps=False)
_STORED_FOR_REPS = _stored(for_reps=True)


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
