"""The tipping point: the weekly level of an activity where its returns start to diminish.

A manager setting a weekly meetings target wants the level below which results suffer and
above which one more meeting buys little. This module estimates it from rep-weeks of history:
for every selling rep and full ISO week, x = the activity's weekly total and y = the outcome's
total `lag` weeks later (opportunities created the same week, deals won a month later, ...).

Why this model, the continuous piecewise-linear ("hinge") regression

    E[y | x] = a + b1 * min(x, k) + b2 * max(x - k, 0):

- it answers the question in its own terms: k *is* the tipping point, b1 and b2 *are* the
  marginal returns below and above it ("each meeting below 8 brings 0.35 opportunities, each
  one above it 0.01"). A saturating curve (y = c * (1 - exp(-x / s))) bends everywhere and has
  no level to name; its "90% of the plateau" is a convention, not an estimate;
- it is fitted exactly, not searched for: for every gap between two neighbouring observed
  levels the best continuous hinge is either the crossing point of the two least-squares lines
  fitted on each side (when that crossing falls inside the gap) or one of the two levels
  (Hudson, 1966). Every candidate comes from running sums over the distinct levels, so one
  fit costs a few NumPy operations whatever the number of rep-weeks, and the bootstraps below
  run hundreds of fits, all at once, in a fraction of a second;
- k is sought between the 10th and 90th percentiles of x, so a bend is never placed where a
  handful of extreme weeks would be all that decides the slope beyond it.

Deciding honestly that there is no bend. The hinge always fits at least as well as a straight
line, and choosing k from the data makes the naive F-test far too eager, so the improvement is
judged against what chance gives: a sup-F test (Hansen, 1996) whose null distribution comes
from a wild *cluster* bootstrap of the straight-line fit (each rep's residuals scaled by one
random weight, which keeps both the Poisson-like spread and the correlation of a rep's weeks;
Webb's six-point weights, because a team has few reps). A straight line that fits about as
well (p above 1 - confidence) is reported as "no curvature". A bend where returns *rise*
(b2 >= b1), or no rise below it (b1 <= 0), is not a tipping point either; nor is one whose
interval for b1 reaches zero, since then the data cannot show that results suffer below it.

Intervals. Rep-weeks of one rep are not independent (a strong rep is strong every week), so
the intervals come from a cluster bootstrap: reps are resampled with replacement, keeping each
rep's weeks together, the hinge is refitted on each resample, and the percentile interval at
`confidence` is reported for k, b1 and b2. Seeded from the configuration: the same data always
gives the same interval. On simulated data with a planted knee (40 reps x 40 weeks) the 90%
interval holds the knee in about 93% of seeds (tests/analytics/test_tipping.py).

The lag, when not configured, is measured: the lag in 0..max_lag_weeks whose hinge explains
the most variance, compared on the same activity weeks for every lag. Picking the best of
several lags makes a bend easier to find by chance, so the curvature p-value is multiplied by
the number of lags compared (Bonferroni). The lag is then held fixed in the bootstrap (the
intervals do not include the uncertainty of that choice).

Which rep-weeks count: selling reps of the team (default everyone) and roles (default: the
roles whose reps do the activity *and* get the outcome: at least a tenth of the busiest role's
weekly average of each, so SDRs, who call a lot but own no opportunities, do not flatten an
AE curve); weeks from the rep's start date to their end date, in which the rep logged some
activity that a metric counts (a week with nothing logged is leave or absence, not a week of
zero effort), and whose outcome week is complete. A metric of the daily rollup whose
records start late (`step_rules.recording_start`: calls imported from February in a year of
meetings) is read from its first full week recorded: the weeks before are not weeks of zero
calls, and counted as such they drew the Zoho export's 104 of 166 rep-weeks at zero calls
with 270 opportunities in them. Weekly totals are aggregated in the
database: activity counts and sums from the daily rollup, distinct counts from the
activities, deal metrics from the deals dated in the business time zone; a week is an ISO
week of business-local days.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Connection, Engine, Select, case, func, literal, select

from paceline.analytics.late_entry import as_of_end, entered_before
from paceline.analytics.metric_sql import (
    activity_filter,
    deal_credit_column,
    deal_date_column,
    deal_filter,
    is_additive_activity_metric,
    needs_contact,
)
from paceline.analytics.metrics import utc_bounds
from paceline.analytics.peers import diagnosis_reps
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import RosterRep
from paceline.analytics.step_rules import metric_recording_start
from paceline.analytics.window import Window
from paceline.calendar import BusinessCalendar
from paceline.config import MetricSettings, Settings, TippingSettings
from paceline.errors import UserInputError, did_you_mean
from paceline.store.models import Activity, Contact, Deal, MetricDay, Rep

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

EDGE_SHARE = 0.10  # k is sought between these percentiles of the activity (and 1 - this)
MIN_LEVELS = 4  # distinct weekly levels of the activity a bend needs (3 parameters + 1)
ROLE_SHARE = 0.10  # a role counts by default at this share of the busiest role's average
MAX_LAG = 26
_BATCH_CELLS = 4_000_000  # resamples x rep-weeks handled per NumPy batch (memory bound)
_TINY = 1e-9
# Webb's six-point weights for the wild cluster bootstrap: with few reps (clusters) the usual
# +-1 weights give only 2^reps distinct resamples (32 for a five-rep team), these 6^reps.
WEBB_WEIGHTS = np.array(
    [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)]
)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A bootstrap percentile interval."""

    low: float
    high: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high


@dataclass(frozen=True)
class HingeFit:
    """y = intercept + slope_below * min(x, k) + slope_above * max(x - k, 0), least squares."""

    tipping_point: float  # k
    intercept: float
    slope_below: float
    slope_above: float
    sse: float  # residual sum of squares
    sst: float  # total sum of squares about the mean

    @property
    def r_squared(self) -> float | None:
        return 1.0 - self.sse / self.sst if self.sst > 0 else None

    def expected(self, x: float) -> float:
        k = self.tipping_point
        return self.intercept + self.slope_below * min(x, k) + self.slope_above * max(x - k, 0.0)


@dataclass(frozen=True)
class LineFit:
    """The straight line y = intercept + slope * x: what "no curvature" falls back to."""

    intercept: float
    slope: float
    sse: float
    sst: float

    @property
    def r_squared(self) -> float | None:
        return 1.0 - self.sse / self.sst if self.sst > 0 else None


@dataclass(frozen=True)
class RepWeeks:
    """The samples: one activity level and outcome per rep-week, with the rep it belongs to."""

    activity: FloatArray
    outcome: FloatArray
    rep: IntArray  # any integer label per rep; the bootstrap resamples these

    def __len__(self) -> int:
        return len(self.activity)

    @property
    def reps(self) -> int:
        return len(np.unique(self.rep))


@dataclass(frozen=True)
class Estimate:
    """The statistics of one set of rep-weeks; `reason` says why it is not `supported`."""

    supported: bool
    reason: str | None
    rep_weeks: int
    reps: int
    fit: HingeFit | None  # the best hinge (also when refused for its shape or p-value)
    line: LineFit | None
    curvature_p_value: float | None  # sup-F test of the hinge against the line
    tipping_interval: Interval | None
    slope_below_interval: Interval | None
    slope_above_interval: Interval | None
    resamples: int  # bootstrap resamples that gave a fit


@dataclass(frozen=True)
class LagFit:
    """How well the hinge explains the outcome `lag_weeks` after the activity."""

    lag_weeks: int
    rep_weeks: int  # compared on the same activity weeks for every lag
    r_squared: float | None


@dataclass(frozen=True)
class ScatterPoint:
    """Rep-weeks at one (activity, outcome) pair: the scatter, without names."""

    activity: float
    outcome: float
    rep_weeks: int


@dataclass(frozen=True)
class CurvePoint:
    activity: float
    outcome: float


@dataclass(frozen=True)
class TippingPoint:
    """The weekly level of `metric` past which `outcome` stops rising much, or why not.

    When `supported` is false, `reason` says why ("only 45 rep-weeks (need 80)", "no
    curvature: ...") and the estimate fields are None; `line_*` still describe the straight
    line when one could be fitted.
    """

    metric: str
    metric_label: str
    outcome: str
    outcome_label: str
    team: str | None  # None: every team
    roles: list[str]
    roles_given: bool  # False: chosen as the roles that do the activity and get the outcome
    as_of: dt.date
    first_week: dt.date  # Monday of the first activity week read
    last_week: dt.date  # Monday of the last full week (the last outcome week)
    lag_weeks: int
    lag_measured: bool
    lags: list[LagFit]  # the lags compared when measured (empty when configured)
    lags_compared: int  # lags fitted to choose it (0 when configured); p is corrected for them
    confidence: float
    bootstrap: int  # resamples asked for
    resamples: int  # resamples that gave a fit
    reps: int
    rep_weeks: int
    min_rep_weeks: int
    supported: bool
    reason: str | None
    tipping_point: float | None
    tipping_interval: Interval | None
    slope_below: float | None  # outcome per extra unit of activity below the tipping point
    slope_below_interval: Interval | None
    slope_above: float | None  # ... and above it
    slope_above_interval: Interval | None
    intercept: float | None
    r_squared: float | None
    curvature_p_value: float | None
    line_intercept: float | None
    line_slope: float | None
    line_r_squared: float | None
    rep_weeks_below: int  # rep-weeks at or below the tipping point (0 when none)
    rep_weeks_above: int
    recommended_target: int | None  # the tipping point rounded up to a whole activity
    expected_at_target: float | None  # outcome per week expected at that level
    activity_range: Interval | None  # the lowest and highest weekly level seen
    points: list[ScatterPoint]
    # Deals without an amount that the weekly sums of amounts (the outcome, or the activity
    # when it is one) left out over the rep-weeks fitted: those sums are of known amounts only.
    amounts_unknown: int = 0
    # The Monday of the first activity week read when the activity or the outcome is
    # recorded only from later than `first_week` (None: from `first_week`), and the first
    # day each such metric is recorded (`step_rules.recording_start`).
    measured_from: dt.date | None = None
    recorded_from: dict[str, dt.date] = field(default_factory=dict)

    @property
    def last_day(self) -> dt.date:
        """The Sunday that ends the history read."""
        return self.last_week + dt.timedelta(days=6)

    @property
    def unit_label(self) -> str:
        """One unit of the activity, for "per ..." phrases: "meeting held" for "Meetings held"."""
        words = self.metric_label.lower().split() or [self.metric]
        at = 0 if words[0].endswith("s") and len(words[0]) > 3 else len(words) - 1
        word = words[at]
        if word.endswith("ies"):
            words[at] = word[:-3] + "y"
        elif word.endswith("s") and not word.endswith("ss"):
            words[at] = word[:-1]
        return " ".join(words)

    @property
    def curve(self) -> list[CurvePoint]:
        """The fitted hinge over the levels seen (three points draw it exactly); the straight
        line when no tipping point is supported; empty when nothing was fitted."""
        if self.activity_range is None:
            return []
        low, high = self.activity_range.low, self.activity_range.high
        if self.tipping_point is not None:
            xs = [low, self.tipping_point, high]
            return [CurvePoint(x, self._hinge(x)) for x in xs]
        if self.line_intercept is None or self.line_slope is None:
            return []
        a, b = self.line_intercept, self.line_slope
        return [CurvePoint(x, a + b * x) for x in (low, high)]

    def _hinge(self, x: float) -> float:
        k = self.tipping_point or 0.0
        return (
            (self.intercept or 0.0)
            + (self.slope_below or 0.0) * min(x, k)
            + (self.slope_above or 0.0) * max(x - k, 0.0)
        )


# --- the statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sorted:
    """Samples sorted by activity level, with where each distinct level starts."""

    x: FloatArray
    y: FloatArray
    rep: IntArray  # 0..reps-1
    levels: FloatArray
    starts: IntArray
    reps: int


def _sorted(samples: RepWeeks) -> _Sorted:
    order = np.argsort(samples.activity, kind="stable")
    x = np.asarray(samples.activity, dtype=np.float64)[order]
    y = np.asarray(samples.outcome, dtype=np.float64)[order]
    _, rep = np.unique(np.asarray(samples.rep)[order], return_inverse=True)
    levels, starts = np.unique(x, return_index=True)
    return _Sorted(x, y, rep.astype(np.int64), levels, starts.astype(np.int64), int(rep.max()) + 1)


@dataclass(frozen=True)
class _Batch:
    """Fits of many resamples at once, one value per resample (NaN: no fit)."""

    k: FloatArray
    intercept: FloatArray
    slope_below: FloatArray
    slope_above: FloatArray
    sse: FloatArray
    sst: FloatArray
    line_intercept: FloatArray
    line_slope: FloatArray
    line_sse: FloatArray


def _group_sums(s: _Sorted, weight: FloatArray, y: FloatArray) -> tuple[FloatArray, ...]:
    """Per resample and level: weighted count, sum of y and sum of y^2 (arrays (B, m))."""
    return (
        np.add.reduceat(weight, s.starts, axis=1),
        np.add.reduceat(weight * y, s.starts, axis=1),
        np.add.reduceat(weight * y * y, s.starts, axis=1),
    )


def _profile(levels: FloatArray, n: FloatArray, sy: FloatArray, syy: FloatArray) -> _Batch:
    """The exact least-squares hinge (and line) for every resample, from per-level sums.

    Candidates: a knot at each allowed level (a 3-parameter fit from running sums) and, in
    each gap between two allowed levels, the crossing of the two one-sided lines when it
    falls inside the gap (Hudson's exact solution). x and y are centred per resample first,
    so the running sums do not lose precision.
    """
    total = n.sum(axis=1, keepdims=True)
    safe_total = np.where(total > 0, total, 1.0)
    centre_x = (n * levels).sum(axis=1, keepdims=True) / safe_total
    centre_y = sy.sum(axis=1, keepdims=True) / safe_total
    xc = levels[None, :] - centre_x
    sy_c = sy - n * centre_y
    syy_c = syy - 2 * centre_y * sy + n * centre_y**2
    sums = {"n": n, "x": n * xc, "xx": n * xc**2, "y": sy_c, "xy": xc * sy_c, "yy": syy_c}
    left = {key: np.cumsum(value, axis=1) for key, value in sums.items()}
    whole = {key: value[:, -1:] for key, value in left.items()}
    right = {key: whole[key] - left[key] for key in sums}
    allowed = _allowed_knots(n, left["n"], right["n"], safe_total)
    knots = _knot_candidates(xc, left, right, whole, allowed)
    gaps = _gap_candidates(xc, left, right, allowed)
    line = _line(whole)
    return _best(knots, gaps, line, centre_x[:, 0], centre_y[:, 0], whole["yy"][:, 0])


def _allowed_knots(
    n: FloatArray, n_left: FloatArray, n_right: FloatArray, total: FloatArray
) -> BoolArray:
    """Levels between the EDGE_SHARE and 1 - EDGE_SHARE percentiles, with two distinct
    levels (present in the resample) on either side."""
    present = (n > 0).astype(np.int64)
    distinct_left = np.cumsum(present, axis=1)
    distinct_right = present.sum(axis=1, keepdims=True) - distinct_left
    inside = (n_left / total >= EDGE_SHARE) & ((n_right + n) / total >= EDGE_SHARE)
    ok: BoolArray = inside & (distinct_left >= 2) & (distinct_right + present >= 2)
    return ok


_Candidates = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]


def _knot_candidates(
    xc: FloatArray,
    left: dict[str, FloatArray],
    right: dict[str, FloatArray],
    whole: dict[str, FloatArray],
    allowed: BoolArray,
) -> _Candidates:
    """k at each level: u = min(x, k), v = max(x - k, 0) regressed by their running sums."""
    k, n_r = xc, right["n"]
    su = left["x"] + k * n_r
    sv = right["x"] - k * n_r
    suu = left["xx"] + k**2 * n_r
    svv = right["xx"] - 2 * k * right["x"] + k**2 * n_r
    suv = k * right["x"] - k**2 * n_r
    rhs = (
        np.broadcast_to(whole["y"], k.shape),
        left["xy"] + k * right["y"],
        right["xy"] - k * right["y"],
    )
    n = np.broadcast_to(whole["n"], k.shape)
    beta, det = _solve3((n, su, sv, suu, suv, svv), rhs)
    scale = n * suu * svv
    ok = allowed & (det > _TINY * np.where(scale > 0, scale, 1.0)) & (scale > 0)
    sse = whole["yy"] - (beta[0] * rhs[0] + beta[1] * rhs[1] + beta[2] * rhs[2])
    return _masked(ok, k, beta[0], beta[1], beta[2], sse)


def _solve3(
    m: tuple[FloatArray, ...], rhs: tuple[FloatArray, ...]
) -> tuple[tuple[FloatArray, FloatArray, FloatArray], FloatArray]:
    """Solve the symmetric 3x3 systems [[a, b, c], [b, d, e], [c, e, f]] beta = rhs, stacked."""
    a, b, c, d, e, f = m
    co_a, co_b, co_c = d * f - e * e, c * e - b * f, b * e - c * d
    co_d, co_e, co_f = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * co_a + b * co_b + c * co_c
    safe = np.where(np.abs(det) > 0, det, 1.0)
    r0, r1, r2 = rhs
    beta = (
        (co_a * r0 + co_b * r1 + co_c * r2) / safe,
        (co_b * r0 + co_d * r1 + co_e * r2) / safe,
        (co_c * r0 + co_e * r1 + co_f * r2) / safe,
    )
    return beta, det


def _side_line(side: dict[str, FloatArray]) -> tuple[FloatArray, ...]:
    """(intercept, slope, sse, spread of x) of the least-squares line through one side."""
    n = np.where(side["n"] > 0, side["n"], 1.0)
    vxx = side["xx"] - side["x"] ** 2 / n
    vxy = side["xy"] - side["x"] * side["y"] / n
    spread = np.where(vxx > _TINY * (np.abs(side["xx"]) + 1.0), vxx, np.nan)
    slope = vxy / spread
    intercept = (side["y"] - slope * side["x"]) / n
    sse = side["yy"] - side["y"] ** 2 / n - slope * vxy
    return intercept, slope, sse, spread


def _gap_candidates(
    xc: FloatArray, left: dict[str, FloatArray], right: dict[str, FloatArray], allowed: BoolArray
) -> _Candidates:
    """In the gap after each level: the two one-sided lines, if they cross inside the gap."""
    a_l, b_l, sse_l, spread_l = _side_line(left)
    a_r, b_r, sse_r, spread_r = _side_line(right)
    bend = b_l - b_r
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (a_r - a_l) / np.where(np.abs(bend) > _TINY, bend, np.nan)
    upper = np.concatenate([xc[:, 1:], np.full((xc.shape[0], 1), np.nan)], axis=1)
    next_allowed = np.concatenate([allowed[:, 1:], np.zeros_like(allowed[:, :1])], axis=1)
    with np.errstate(invalid="ignore"):
        ok = allowed & next_allowed & (k > xc) & (k < upper)
    ok &= np.isfinite(spread_l) & np.isfinite(spread_r)
    return _masked(ok, k, a_l, b_l, b_r, sse_l + sse_r)


def _masked(ok: BoolArray, *values: FloatArray) -> _Candidates:
    k, a, b1, b2, sse = (np.where(ok, v, np.nan) for v in values)
    return k, a, b1, b2, np.where(ok, sse, np.inf)


def _line(whole: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray, FloatArray]:
    a, b, sse, _ = _side_line(whole)
    return a[:, 0], b[:, 0], sse[:, 0]


def _best(
    knots: _Candidates,
    gaps: _Candidates,
    line: tuple[FloatArray, FloatArray, FloatArray],
    centre_x: FloatArray,
    centre_y: FloatArray,
    sst: FloatArray,
) -> _Batch:
    """The lowest-SSE candidate per resample, back in the data's own units."""
    k, a, b1, b2, sse = (np.concatenate(pair, axis=1) for pair in zip(knots, gaps, strict=True))
    pick = np.argmin(sse, axis=1)[:, None]
    chosen = [np.take_along_axis(v, pick, axis=1)[:, 0] for v in (k, a, b1, b2, sse)]
    k_c, a_c, b1_c, b2_c, best_sse = chosen
    fitted = np.isfinite(best_sse)
    line_a, line_b, line_sse = line
    return _Batch(
        k=np.where(fitted, k_c + centre_x, np.nan),
        intercept=np.where(fitted, a_c + centre_y - b1_c * centre_x, np.nan),
        slope_below=np.where(fitted, b1_c, np.nan),
        slope_above=np.where(fitted, b2_c, np.nan),
        sse=np.where(fitted, np.maximum(best_sse, 0.0), np.nan),
        sst=sst,
        line_intercept=line_a + centre_y - line_b * centre_x,
        line_slope=line_b,
        line_sse=np.maximum(line_sse, 0.0),
    )


def _fit_batch(s: _Sorted, weight: FloatArray, y: FloatArray) -> _Batch:
    n, sy, syy = _group_sums(s, weight, y)
    return _profile(s.levels, n, sy, syy)


def fit_hinge(
    activity: Sequence[float] | FloatArray, outcome: Sequence[float] | FloatArray
) -> HingeFit | None:
    """The least-squares hinge through the points, or None when no knot can be placed
    (fewer than two distinct levels on either side of every allowed level)."""
    x = np.asarray(activity, dtype=np.float64)
    if len(x) == 0:
        return None
    samples = RepWeeks(x, np.asarray(outcome, dtype=np.float64), np.zeros(len(x), np.int64))
    s = _sorted(samples)
    batch = _fit_batch(s, np.ones((1, len(s.x))), s.y[None, :])
    return _hinge_of(batch, 0)


def fit_line(
    activity: Sequence[float] | FloatArray, outcome: Sequence[float] | FloatArray
) -> LineFit | None:
    """The least-squares straight line, or None when the activity does not vary."""
    x = np.asarray(activity, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    sse = float(np.sum((y - intercept - slope * x) ** 2))
    return LineFit(float(intercept), float(slope), sse, float(np.sum((y - y.mean()) ** 2)))


def _hinge_of(batch: _Batch, i: int) -> HingeFit | None:
    if not np.isfinite(batch.k[i]):
        return None
    return HingeFit(
        tipping_point=float(batch.k[i]),
        intercept=float(batch.intercept[i]),
        slope_below=float(batch.slope_below[i]),
        slope_above=float(batch.slope_above[i]),
        sse=float(batch.sse[i]),
        sst=float(batch.sst[i]),
    )


def _line_of(batch: _Batch, i: int) -> LineFit | None:
    if not np.isfinite(batch.line_slope[i]):
        return None
    return LineFit(
        float(batch.line_intercept[i]),
        float(batch.line_slope[i]),
        float(batch.line_sse[i]),
        float(batch.sst[i]),
    )


def _chunks(total: int, samples: int) -> list[int]:
    size = max(1, _BATCH_CELLS // max(samples, 1))
    return [min(size, total - start) for start in range(0, total, size)]


def _sup_f(batch: _Batch, rep_weeks: int) -> FloatArray:
    """The F statistic of the best hinge against the line (one extra free parameter, k aside)."""
    dof = max(rep_weeks - 4, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = (batch.line_sse - batch.sse) / (batch.sse / dof)
    out: FloatArray = np.where(np.isfinite(stat), stat, np.where(batch.sse == 0, np.inf, np.nan))
    return out


def curvature_p_value(
    s: _Sorted, observed: _Batch, resamples: int, rng: np.random.Generator
) -> float:
    """P(a sup-F this large | a straight line is the truth), by wild cluster bootstrap."""
    observed_f = float(_sup_f(observed, len(s.x))[0])
    if math.isnan(observed_f):
        return 1.0
    fitted = observed.line_intercept[0] + observed.line_slope[0] * s.x
    residual = s.y - fitted
    exceed, drawn = 0, 0
    for size in _chunks(resamples, len(s.x)):
        flips = rng.choice(WEBB_WEIGHTS, size=(size, s.reps))
        y_star = fitted[None, :] + flips[:, s.rep] * residual[None, :]
        stats = _sup_f(_fit_batch(s, np.ones_like(y_star), y_star), len(s.x))
        exceed += int(np.sum(stats >= observed_f - 1e-12 * abs(observed_f)))
        drawn += size
    return (1 + exceed) / (1 + drawn)


def _cluster_bootstrap(s: _Sorted, resamples: int, rng: np.random.Generator) -> _Batch:
    """Refit on resamples of reps drawn with replacement, each rep's weeks kept together."""
    parts: list[_Batch] = []
    for size in _chunks(resamples, len(s.x)):
        counts = rng.multinomial(s.reps, np.full(s.reps, 1.0 / s.reps), size=size)
        weight = counts.astype(np.float64)[:, s.rep]
        parts.append(_fit_batch(s, weight, np.broadcast_to(s.y, weight.shape)))
    return _Batch(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in _Batch.__dataclass_fields__)
    )


def _interval(values: FloatArray, confidence: float) -> Interval | None:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return None
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return Interval(float(low), float(high))


def estimate_tipping(
    samples: RepWeeks,
    config: TippingSettings,
    *,
    activity_label: str = "the activity",
    outcome_label: str = "the outcome",
    lags_compared: int = 1,
) -> Estimate:
    """Fit, test and bootstrap the hinge on rep-weeks; refuse (as data) what they cannot show.

    `lags_compared`: how many lags were tried before these samples were picked as the best;
    the curvature p-value is multiplied by it (Bonferroni), since picking the best of several
    lags makes a bend easier to find by chance.
    """
    count = len(samples)
    empty = refused(samples, "")
    if count < config.min_rep_weeks:
        return replace(empty, reason=f"only {count} rep-weeks (need {config.min_rep_weeks})")
    levels = len(np.unique(samples.activity))
    if levels < MIN_LEVELS:
        return replace(
            empty,
            reason=f"{activity_label} takes only {levels} distinct weekly level"
            f"{'s' if levels != 1 else ''} (need {MIN_LEVELS})",
        )
    s = _sorted(samples)
    observed = _fit_batch(s, np.ones((1, len(s.x))), s.y[None, :])
    fit, line = _hinge_of(observed, 0), _line_of(observed, 0)
    if fit is None:
        reason = f"the weekly levels of {activity_label} are too bunched to place a bend"
        return replace(empty, reason=reason, line=line)
    rng = np.random.default_rng(config.seed)
    p = min(1.0, curvature_p_value(s, observed, config.bootstrap, rng) * max(lags_compared, 1))
    tested = replace(empty, fit=fit, line=line, curvature_p_value=p)
    alpha = 1.0 - config.confidence
    labels = (activity_label, outcome_label)
    shape = _shape_problem(fit, p, alpha, labels, lags_compared)
    if shape is not None:
        return replace(tested, reason=shape)
    boot = _cluster_bootstrap(s, config.bootstrap, rng)
    estimate = replace(
        tested,
        supported=True,
        tipping_interval=_interval(boot.k, config.confidence),
        slope_below_interval=_interval(boot.slope_below, config.confidence),
        slope_above_interval=_interval(boot.slope_above, config.confidence),
        resamples=int(np.sum(np.isfinite(boot.k))),
    )
    below = estimate.slope_below_interval
    if below is None or below.low <= 0:
        shown = "no resample" if below is None else f"{below.low:.3f} to {below.high:.3f}"
        reason = (
            f"no clear rise below the bend: {outcome_label} per unit of {activity_label} below "
            f"{fit.tipping_point:.1f} could be nil ({config.confidence:.0%} interval {shown})"
        )
        return replace(estimate, supported=False, reason=reason)
    return estimate


def refused(samples: RepWeeks, reason: str) -> Estimate:
    """No estimate, for this reason."""
    return Estimate(
        supported=False,
        reason=reason,
        rep_weeks=len(samples),
        reps=samples.reps,
        fit=None,
        line=None,
        curvature_p_value=None,
        tipping_interval=None,
        slope_below_interval=None,
        slope_above_interval=None,
        resamples=0,
    )


def _shape_problem(
    fit: HingeFit, p: float, alpha: float, labels: tuple[str, str], lags: int
) -> str | None:
    """Why the best hinge is not a tipping point, or None when it is one."""
    activity_label, outcome_label = labels
    if p > alpha:
        corrected = f", corrected for {lags} lags compared" if lags > 1 else ""
        return f"no curvature: a straight line fits as well (p = {p:.2g}{corrected})"
    k = f"{fit.tipping_point:.1f}"
    if fit.slope_above >= fit.slope_below:
        return (
            f"returns do not diminish: {outcome_label} rises by {fit.slope_above:.2f} per unit "
            f"of {activity_label} above {k} against {fit.slope_below:.2f} below"
        )
    if fit.slope_below <= 0:
        return f"{outcome_label} does not rise with {activity_label} below {k}"
    return None


# --- the rep-weeks from the database ------------------------------------------------------------


@dataclass(frozen=True)
class _History:
    """Weekly totals of the roster's reps: arrays (reps, weeks)."""

    reps: list[RosterRep]
    weeks: list[dt.date]  # Mondays
    activity: FloatArray
    outcome: FloatArray
    employed: BoolArray  # on staff for the whole week (start and end dates)
    worked: BoolArray  # employed, and logged something that week
    # Deals without an amount left out of each weekly sum of amounts (zeros for other metrics)
    activity_unknown: FloatArray | None = None
    outcome_unknown: FloatArray | None = None
    # Per week: whether the organisation records the activity, and the outcome, through all
    # of it (False before a late recording start); None: every week.
    activity_recorded: BoolArray | None = None
    outcome_recorded: BoolArray | None = None
    recorded_from: dict[str, dt.date] = field(default_factory=dict)

    def samples(self, rows: Sequence[int], lag: int, last_week: int | None = None) -> RepWeeks:
        """Rep-weeks of these reps (row numbers) whose outcome week, `lag` weeks later, is
        complete and on staff; only activity weeks up to `last_week` when given (so that lags
        are compared on the same weeks)."""
        cells = self._cells(rows, lag, last_week)
        if cells is None:
            return RepWeeks(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))
        chosen, row, week = cells
        return RepWeeks(
            self.activity[chosen][row, week],
            self.outcome[chosen][row, week + lag],
            chosen[row],
        )

    def amounts_unknown(self, rows: Sequence[int], lag: int) -> int:
        """Deals without an amount behind the rep-weeks `samples(rows, lag)` reads."""
        cells = self._cells(rows, lag, None)
        if cells is None:
            return 0
        chosen, row, week = cells
        total = 0.0
        if self.activity_unknown is not None:
            total += float(self.activity_unknown[chosen][row, week].sum())
        if self.outcome_unknown is not None:
            total += float(self.outcome_unknown[chosen][row, week + lag].sum())
        return int(total)

    def _cells(
        self, rows: Sequence[int], lag: int, last_week: int | None
    ) -> tuple[IntArray, IntArray, IntArray] | None:
        count = len(self.weeks)
        stop = count - lag if last_week is None else min(last_week + 1, count - lag)
        if stop <= 0 or not rows:
            return None
        chosen = np.array(rows, dtype=np.int64)
        ok = self.worked[chosen, :stop] & self.employed[chosen, lag : lag + stop]
        if self.activity_recorded is not None:
            ok &= self.activity_recorded[None, :stop]
        if self.outcome_recorded is not None:
            ok &= self.outcome_recorded[None, lag : lag + stop]
        row, week = np.nonzero(ok)
        return chosen, row, week


def tipping_point(
    engine: Engine,
    settings: Settings,
    metric: str,
    *,
    outcome: str = "opportunities_created",
    team: str | None = None,
    roles: Sequence[str] | None = None,
    lag_weeks: int | None = None,
    as_of: dt.date | None = None,
) -> TippingPoint:
    """The tipping point of `metric` for `outcome`, from the history before `as_of`.

    Unknown metric, outcome, role or team names, ratio metrics and impossible lags are
    UserInputErrors naming the field; data that cannot support an estimate is a result with
    `supported` false and the reason.
    """
    config = settings.insight.tipping
    activity = _metric(settings, metric, "metric")
    result = _metric(settings, outcome, "outcome")
    if activity.name == result.name:
        raise UserInputError("outcome: must differ from the metric")
    lag = lag_weeks if lag_weeks is not None else config.lag_weeks
    if lag is not None and not 0 <= lag <= MAX_LAG:
        raise UserInputError(f"lag: {lag} weeks; use 0 to {MAX_LAG}")
    asked_roles = _check_roles(settings, roles)
    day = as_of or BusinessCalendar(settings.calendar).today()
    weeks = _history_weeks(day, config.history_weeks)
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        history = _read_history(conn, settings, activity, result, weeks, team, day)
    chosen = asked_roles if asked_roles is not None else _active_roles(history)
    rows = [i for i, r in enumerate(history.reps) if r.role in chosen]
    stored_team = next((r.team for r in history.reps), team) if team is not None else None
    given = asked_roles is not None
    base = _Base(activity, result, stored_team, sorted(chosen), given, day, weeks)
    if lag is not None:
        return _finish(base, history, rows, lag, None, config)
    lags = _compare_lags(history, rows, config)
    best = max(
        (f for f in lags if f.r_squared is not None),
        key=lambda f: (f.r_squared or 0.0, -f.lag_weeks),
        default=None,
    )
    return _finish(base, history, rows, best.lag_weeks if best else 0, lags, config)


@dataclass(frozen=True)
class _Base:
    activity: MetricSettings
    outcome: MetricSettings
    team: str | None
    roles: list[str]
    roles_given: bool
    as_of: dt.date
    weeks: list[dt.date]

    @property
    def labels(self) -> tuple[str, str]:
        """The activity's and the outcome's labels, for sentences."""
        return (
            (self.activity.label or self.activity.name).lower(),
            (self.outcome.label or self.outcome.name).lower(),
        )


def _metric(settings: Settings, name: str, field: str) -> MetricSettings:
    try:
        found = settings.metric(name)
    except KeyError:
        hint = did_you_mean(name, (m.name for m in settings.metrics))
        raise UserInputError(f"{field}: unknown metric {name!r}{hint}") from None
    if found.aggregate == "ratio":
        raise UserInputError(
            f"{field}: {name!r} is a ratio; use a count or sum (such as its numerator "
            f"{found.numerator!r})"
        )
    return found


def _check_roles(settings: Settings, roles: Sequence[str] | None) -> set[str] | None:
    if not roles:
        return None
    selling = {r.name for r in settings.roles if r.key_metrics}
    for role in roles:
        if role not in settings.role_names:
            hint = did_you_mean(role, sorted(settings.role_names))
            raise UserInputError(f"role: unknown role {role!r}{hint}")
        if role not in selling:
            raise UserInputError(f"role: {role!r} is not a selling role (it has no key metrics)")
    return set(roles)


def _history_weeks(as_of: dt.date, count: int) -> list[dt.date]:
    """Mondays of the `count` full ISO weeks before the week of `as_of`."""
    this_monday = as_of - dt.timedelta(days=as_of.weekday())
    return [this_monday - dt.timedelta(weeks=count - i) for i in range(count)]


def _read_history(
    conn: Connection,
    settings: Settings,
    activity: MetricSettings,
    outcome: MetricSettings,
    weeks: list[dt.date],
    team: str | None,
    as_of: dt.date,
) -> _History:
    end = weeks[-1] + dt.timedelta(days=7)
    roster = diagnosis_reps(conn, settings, Window("tipping", weeks[0], end), team)
    ids = [r.id for r in roster]
    row_of = {rep_id: i for i, rep_id in enumerate(ids)}
    shape = (len(ids), len(weeks))
    x, y = np.zeros(shape), np.zeros(shape)
    x_unknown, y_unknown = np.zeros(shape), np.zeros(shape)
    for target, unknown, metric in ((x, x_unknown, activity), (y, y_unknown, outcome)):
        for (rep_id, week), (value, missing) in _weekly(
            conn, settings, metric, weeks, ids, as_of
        ).items():
            target[row_of[rep_id], week] = value
            unknown[row_of[rep_id], week] = missing
    logged = np.zeros(shape, dtype=np.bool_)
    for rep_id, week in _logged_weeks(conn, weeks, ids):
        logged[row_of[rep_id], week] = True
    employed = _employment(conn, roster, weeks)
    worked = logged & employed
    starts = {
        m.name: start
        for m in (activity, outcome)
        if (start := _recording_start(conn, m, weeks)) is not None
    }
    return _History(
        roster,
        weeks,
        x,
        y,
        employed,
        worked,
        x_unknown,
        y_unknown,
        activity_recorded=_recorded_weeks(weeks, starts.get(activity.name)),
        outcome_recorded=_recorded_weeks(weeks, starts.get(outcome.name)),
        recorded_from=starts,
    )


def _recording_start(
    conn: Connection, metric: MetricSettings, weeks: list[dt.date]
) -> dt.date | None:
    """The first day the organisation records a rolled-up activity metric, when that is more
    than a week into the history (`step_rules.metric_recording_start`); None otherwise, and
    for deal metrics and distinct counts (read as recorded throughout)."""
    if not is_additive_activity_metric(metric):
        return None
    end = weeks[-1] + dt.timedelta(days=7)
    return metric_recording_start(conn, metric.name, weeks[0], end)


def _recorded_weeks(weeks: list[dt.date], start: dt.date | None) -> BoolArray | None:
    """Per week, whether all of it is on or after `start` (None: no late start)."""
    if start is None:
        return None
    return np.array([monday >= start for monday in weeks], dtype=np.bool_)


def _employment(conn: Connection, roster: list[RosterRep], weeks: list[dt.date]) -> BoolArray:
    """Whether each rep was on staff for the whole of each week (start to end date)."""
    ids = [r.id for r in roster]
    query = select(Rep.id, Rep.end_date).where(Rep.id.in_(ids), Rep.end_date.is_not(None))
    ends = {int(rep_id): end for rep_id, end in conn.execute(query)} if ids else {}
    mondays = np.array(weeks, dtype="datetime64[D]")
    employed = np.ones((len(roster), len(weeks)), dtype=np.bool_)
    for i, rep in enumerate(roster):
        if rep.start_date is not None:
            employed[i] &= mondays >= np.datetime64(rep.start_date, "D")
        end = ends.get(rep.id)
        if end is not None:
            employed[i] &= mondays + np.timedelta64(6, "D") <= np.datetime64(end, "D")
    return employed


def _week_case(column: Any, bounds: Sequence[Any]) -> ColumnElement[int]:
    """The index of the week [bounds[i], bounds[i + 1]) a value falls in, in SQL."""
    whens = [(column < bound, literal(i)) for i, bound in enumerate(bounds[1:])]
    return case(*whens, else_=None)


def _date_bounds(weeks: list[dt.date]) -> list[dt.date]:
    return [*weeks, weeks[-1] + dt.timedelta(days=7)]


def _weekly(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    weeks: list[dt.date],
    rep_ids: Collection[int],
    as_of: dt.date,
) -> dict[tuple[int, int], tuple[float, int]]:
    """{(rep, week index): (the metric's weekly total, deals a sum of amounts left out for
    want of an amount)}, aggregated in the database; deals as known on `as_of`."""
    if not rep_ids:
        return {}
    if metric.source == "deals":
        query = _deal_weekly(settings, metric, weeks, rep_ids, as_of)
        return {(int(r), int(w)): (float(v or 0), int(n)) for r, w, v, n in conn.execute(query)}
    if is_additive_activity_metric(metric):
        query = _rollup_weekly(metric, weeks, rep_ids)
    else:
        query = _distinct_weekly(settings, metric, weeks, rep_ids)
    return {(int(r), int(w)): (float(v or 0), 0) for r, w, v in conn.execute(query)}


def _rollup_weekly(
    metric: MetricSettings, weeks: list[dt.date], rep_ids: Collection[int]
) -> Select[Any]:
    bounds = _date_bounds(weeks)
    rows = (
        select(
            MetricDay.rep_id.label("rep"),
            _week_case(MetricDay.local_date, bounds).label("week"),
            MetricDay.value.label("value"),
        )
        .where(
            MetricDay.metric == metric.name,
            MetricDay.local_date >= bounds[0],
            MetricDay.local_date < bounds[-1],
            MetricDay.rep_id.in_(list(rep_ids)),
        )
        .subquery()
    )
    return select(rows.c.rep, rows.c.week, func.sum(rows.c.value)).group_by(rows.c.rep, rows.c.week)


def _distinct_weekly(
    settings: Settings, metric: MetricSettings, weeks: list[dt.date], rep_ids: Collection[int]
) -> Select[Any]:
    bounds = _date_bounds(weeks)
    column = getattr(Activity, metric.field or "account_id")
    inner = select(
        Activity.rep_id.label("rep"),
        _week_case(Activity.local_date, bounds).label("week"),
        column.label("value"),
    ).where(
        Activity.local_date >= bounds[0],
        Activity.local_date < bounds[-1],
        Activity.rep_id.in_(list(rep_ids)),
        activity_filter(settings, metric),
    )
    if needs_contact(metric):
        inner = inner.outerjoin(Contact, Contact.id == Activity.contact_id)
    rows = inner.subquery()
    return select(rows.c.rep, rows.c.week, func.count(rows.c.value.distinct())).group_by(
        rows.c.rep, rows.c.week
    )


def _deal_weekly(
    settings: Settings,
    metric: MetricSettings,
    weeks: list[dt.date],
    rep_ids: Collection[int],
    as_of: dt.date,
) -> Select[Any]:
    """Deals by the week of their creation or close, in business-local days, as known at
    the end of `as_of` (`late_entry`): a win of a week read, entered after the as-of day (a
    win logged late), was not in the CRM then, as the scorecards and the forecast read it."""
    bounds = [utc_bounds(settings, day, day)[0] for day in _date_bounds(weeks)]
    credit, dated = deal_credit_column(metric), deal_date_column(metric)
    value = Deal.amount if metric.aggregate == "sum" else literal(1)
    rows = (
        select(credit.label("rep"), _week_case(dated, bounds).label("week"), value.label("value"))
        .where(
            credit.in_(list(rep_ids)),
            dated >= bounds[0],
            dated < bounds[-1],
            entered_before(as_of_end(settings.calendar.zone, as_of)),
            deal_filter(metric, settings.calendar.zone),
        )
        .subquery()
    )
    unknown = func.count() - func.count(rows.c.value)  # NULL only for an unknown amount
    return select(rows.c.rep, rows.c.week, func.sum(rows.c.value), unknown).group_by(
        rows.c.rep, rows.c.week
    )


def _logged_weeks(
    conn: Connection, weeks: list[dt.date], rep_ids: Collection[int]
) -> list[tuple[int, int]]:
    """(rep, week) pairs in which the rep logged any activity a metric counts, from the daily
    rollup: its distinct rep-days first (an index-only read), then their weeks."""
    if not rep_ids:
        return []
    bounds = _date_bounds(weeks)
    days = (
        select(MetricDay.rep_id.label("rep"), MetricDay.local_date.label("day"))
        .where(
            MetricDay.local_date >= bounds[0],
            MetricDay.local_date < bounds[-1],
            MetricDay.rep_id.in_(list(rep_ids)),
        )
        .distinct()
        .subquery()
    )
    query = select(days.c.rep, _week_case(days.c.day, bounds)).distinct()
    return [(int(r), int(w)) for r, w in conn.execute(query)]


def _active_roles(history: _History) -> set[str]:
    """Roles whose reps average at least ROLE_SHARE of the busiest role's weekly activity and
    weekly outcome (over weeks worked)."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for i, rep in enumerate(history.reps):
        worked = history.worked[i]
        entry = totals[rep.role]
        entry[0] += float(history.activity[i][worked].sum())
        entry[1] += float(history.outcome[i][worked].sum())
        entry[2] += float(worked.sum())
    means = {role: (a / w, o / w) for role, (a, o, w) in totals.items() if w > 0}
    if not means:
        return set()
    top_x = max(m[0] for m in means.values())
    top_y = max(m[1] for m in means.values())
    return {
        role
        for role, (mx, my) in means.items()
        if mx > 0 and mx >= ROLE_SHARE * top_x and my >= ROLE_SHARE * top_y
    }


def _compare_lags(history: _History, rows: list[int], config: TippingSettings) -> list[LagFit]:
    """Each lag's hinge R^2 on the same activity weeks (those every lag can be read for)."""
    last = len(history.weeks) - 1 - config.max_lag_weeks
    fits: list[LagFit] = []
    for lag in range(config.max_lag_weeks + 1):
        samples = history.samples(rows, lag, last_week=last)
        fit = fit_hinge(samples.activity, samples.outcome) if len(samples) >= 2 else None
        enough = len(samples) >= config.min_rep_weeks
        r2 = fit.r_squared if fit is not None and enough else None
        fits.append(LagFit(lag, len(samples), r2))
    return fits


def _finish(
    base: _Base,
    history: _History,
    rows: list[int],
    lag: int,
    lags: list[LagFit] | None,
    config: TippingSettings,
) -> TippingPoint:
    """Estimate at this lag (`lags`: the comparison that measured it, None if configured)."""
    samples = history.samples(rows, lag)
    compared = sum(1 for f in lags or [] if f.r_squared is not None)
    estimate = _estimate(base, rows, samples, config, compared)
    fit = estimate.fit if estimate.supported else None
    line = estimate.line
    k = fit.tipping_point if fit else None
    target = math.ceil(k - 1e-9) if k is not None else None
    # k sits exactly on an observed level when the fit says so, give or take rounding.
    below = int(np.sum(samples.activity <= k + 1e-9 * max(1.0, abs(k)))) if k is not None else 0
    return TippingPoint(
        metric=base.activity.name,
        metric_label=base.activity.label or base.activity.name,
        outcome=base.outcome.name,
        outcome_label=base.outcome.label or base.outcome.name,
        team=base.team,
        roles=base.roles,
        roles_given=base.roles_given,
        as_of=base.as_of,
        first_week=base.weeks[0],
        last_week=base.weeks[-1],
        lag_weeks=lag,
        lag_measured=lags is not None,
        lags=lags or [],
        lags_compared=compared,
        confidence=config.confidence,
        bootstrap=config.bootstrap,
        resamples=estimate.resamples,
        reps=estimate.reps,
        rep_weeks=estimate.rep_weeks,
        min_rep_weeks=config.min_rep_weeks,
        supported=estimate.supported,
        reason=estimate.reason,
        tipping_point=k,
        tipping_interval=estimate.tipping_interval if fit else None,
        slope_below=fit.slope_below if fit else None,
        slope_below_interval=estimate.slope_below_interval if fit else None,
        slope_above=fit.slope_above if fit else None,
        slope_above_interval=estimate.slope_above_interval if fit else None,
        intercept=fit.intercept if fit else None,
        r_squared=fit.r_squared if fit else None,
        curvature_p_value=estimate.curvature_p_value,
        line_intercept=line.intercept if line else None,
        line_slope=line.slope if line else None,
        line_r_squared=line.r_squared if line else None,
        rep_weeks_below=below,
        rep_weeks_above=len(samples) - below if k is not None else 0,
        recommended_target=target,
        expected_at_target=fit.expected(float(target)) if fit and target is not None else None,
        activity_range=(
            Interval(float(samples.activity.min()), float(samples.activity.max()))
            if len(samples)
            else None
        ),
        points=_scatter(samples),
        amounts_unknown=history.amounts_unknown(rows, lag),
        measured_from=_measured_from(base, history.recorded_from, lag),
        recorded_from=dict(history.recorded_from),
    )


def _measured_from(base: _Base, starts: dict[str, dt.date], lag: int) -> dt.date | None:
    """The Monday of the first activity week read, when a late recording start moved it: the
    first whole week of the activity recorded, and the week `lag` before the outcome's."""
    firsts = [base.weeks[0]]
    for name, start in starts.items():
        monday = start + dt.timedelta(days=-start.weekday() % 7)  # on or after the start
        firsts.append(monday - dt.timedelta(weeks=lag if name == base.outcome.name else 0))
    first = max(firsts)
    return first if first > base.weeks[0] else None


def _estimate(
    base: _Base, rows: list[int], samples: RepWeeks, config: TippingSettings, compared: int
) -> Estimate:
    """The estimate, or the refusal that comes before any statistics (no reps, no activity)."""
    activity, outcome = base.labels
    if not rows:
        who = f" of team {base.team}" if base.team else ""
        what = (
            f" in roles {', '.join(base.roles)}"
            if base.roles_given
            else f" who log {activity} and get {outcome}"
        )
        return refused(samples, f"no selling reps{who}{what} in the weeks read")
    if len(samples) and not np.any(samples.activity > 0):
        return refused(samples, f"no {activity} logged in the weeks read")
    if len(samples) and not np.any(samples.outcome != 0):
        return refused(samples, f"no {outcome} in the weeks read")
    return estimate_tipping(
        samples, config, activity_label=activity, outcome_label=outcome, lags_compared=compared
    )


def _scatter(samples: RepWeeks) -> list[ScatterPoint]:
    pairs = Counter(zip(samples.activity.tolist(), samples.outcome.tolist(), strict=True))
    return [ScatterPoint(x, y, n) for (x, y), n in sorted(pairs.items())]
