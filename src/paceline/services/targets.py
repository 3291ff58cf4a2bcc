"""Every write of a target, for every face: a plan's yearly targets, or one set by hand.

The CLI (`plan --save`, `target set`), the API, the admin page and the demo call this module,
and nothing else writes the targets table; the analyses only read it
(`paceline.analytics.targets`, `paceline.analytics.plan.list_targets`). Errors are domain
errors each face translates: `UserInputError` naming the field (CLI: message and exit 1;
API: 422; page: the form again), `InputError` for an unknown rep, and `Forbidden` (CLI: exit
1; API and pages: 403) for a rep whose targets the caller may not set: that question is
asked here, of `paceline.access`, for every target written, not by each face.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from paceline import access
from paceline.access import OPERATOR
from paceline.analytics.plan import PLAN_ORIGIN, Plan
from paceline.analytics.targets import TARGET_KINDS
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar, Period, PeriodKind
from paceline.config import Settings
from paceline.errors import InputError, NotFound, UserInputError, did_you_mean
from paceline.services.audit import actor_of
from paceline.store import audit
from paceline.store.models import Target
from paceline.store.records import RepRef, rep_refs


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
    principal: Principal = OPERATOR,
) -> SetTarget:
    """Set (or override) one rep's target for the period of `period_kind` containing `day`.

    Who may is asked first: a caller out of reach learns nothing from the other checks."""
    target_rep = _target_rep(engine, principal, rep)
    if period_kind not in TARGET_KINDS:
        raise UserInputError(f"period: targets are set per {', '.join(TARGET_KINDS)}")
    try:
        metric_settings = settings.metric(metric)
    except KeyError as exc:
        hint = did_you_mean(metric, (m.name for m in settings.metrics))
        said = f"unknown metric {metric!r}{hint}" if hint else exc.args[0]
        raise UserInputError(f"metric: {said}") from None
    if metric_settings.aggregate == "ratio":
        raise UserInputError(f"metric: {metric!r} is a ratio; set targets on its parts")
    if not math.isfinite(value):
        raise UserInputError(f"value: a target must be a finite number (got {value})")
    if value < 0:
        raise UserInputError(f"value: a target cannot be negative (got {value})")
    period = BusinessCalendar(settings.calendar).period(period_kind, day)
    with engine.begin() as conn:
        rep_id = target_rep.id
        key = (
            Target.rep_id == rep_id,
            Target.metric == metric,
            Target.period_kind == period_kind,
            Target.period_start == period.start,
        )
        old = conn.execute(select(Target.id, Target.value, Target.origin).where(*key)).first()
        row = TargetRow(rep_id, metric, period_kind, period.start, value)
        save_targets(conn, [row])
        target_id = conn.scalar(select(Target.id).where(*key))
        before = None if old is None else {"value": old.value, "origin": old.origin}
        after = {
            "rep_id": rep_id,
            "metric": metric,
            "period_kind": period_kind,
            "period_start": period.start.isoformat(),
            "value": value,
            "origin": row.origin,
        }
        if before is not None:
            after = {k: after[k] for k in before}
        audit.write(conn, actor_of(principal), "target", target_id, "set", before, after)
    return SetTarget(rep=target_rep.name, metric=metric, period=period, value=value)


def _target_rep(engine: Engine, principal: Principal, name: str) -> RepRef:
    """The rep named (any case and spacing), if the caller may set their targets.

    Unknown: an InputError naming the field, suggesting only reps the caller sees (the
    operator at the command line is also told how to add one)."""
    try:
        found = access.find_rep(rep_refs(engine), principal, name)
    except NotFound as exc:
        how = " (add one with `paceline rep add`)" if principal.face == "cli" else ""
        raise InputError("rep", f"{exc.message}{how}") from None
    access.require_set_targets(principal, found)
    return found


@dataclass(frozen=True)
class SavedTargets:
    """What `save_plan_targets` stored."""

    period: Period
    reps: int
    metrics: tuple[str, ...]
    targets: int


def save_plan_targets(
    engine: Engine, plan: Plan, origin: str = PLAN_ORIGIN, principal: Principal = OPERATOR
) -> SavedTargets:
    """Store each rep's yearly targets (full-weight figure x the rep's weight) for the plan,
    for the steps their role owns.

    Yearly targets are stored once and prorated to any shorter period when read; a target set
    for a shorter period (a manager's override) keeps winning over them. The exact values are
    stored, not the rounded ones, so the reps' targets add up to the team's plan.
    """
    if not plan.reps or any(r.rep_id is None for r in plan.reps):
        raise UserInputError(
            "save: the plan is for a head count, not for reps in the database; "
            "plan without a head count to save per-rep targets"
        )
    _require_plan_reps(engine, principal, plan)
    targets = (*plan.steps, plan.revenue_target)
    rows = [
        TargetRow(
            rep_id=rep.rep_id,
            metric=t.metric,
            period_kind="year",
            period_start=plan.period.start,
            value=t.per_rep.year * rep.weight,
            origin=origin,
        )
        for rep in plan.reps
        if rep.rep_id is not None
        for t in targets
        # A rep gets the steps their role owns only (`StepTarget.owners`; () = everyone).
        if t.per_rep is not None and (not t.owners or rep.role in t.owners)
    ]
    with engine.begin() as conn:
        count = save_targets(conn, rows)
        summary = {
            "period_start": plan.period.start.isoformat(),
            "origin": origin,
            "reps": len(plan.reps),
            "targets": count,
        }
        audit.write(conn, actor_of(principal), "target", None, "save plan", None, summary)
    saved = {row.metric for row in rows}
    metrics = tuple(t.metric for t in targets if t.metric in saved)
    return SavedTargets(plan.period, len(plan.reps), metrics, count)


def _require_plan_reps(engine: Engine, principal: Principal, plan: Plan) -> None:
    """Forbidden unless the caller may set the targets of every rep of the plan (the first
    one out of reach is named). A rep gone since the plan was built counts as in no team."""
    refs = {ref.id: ref for ref in rep_refs(engine).values()}
    for rep in plan.reps:
        if rep.rep_id is not None:
            ref = refs.get(rep.rep_id, RepRef(rep.rep_id, rep.name, None, rep.team))
            access.require_set_targets(principal, ref)
