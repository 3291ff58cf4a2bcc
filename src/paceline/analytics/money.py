"""Money sums exact to the cent on every database.

Why: amounts are stored as NUMERIC(16, 2). PostgreSQL adds them exactly, but SQLite keeps
them as binary floating point (REAL), so its SUM() drifts (ten deals of 3,000,207.05 add up
to 30,002,070.500000004), and any later sum of such floats in Python drifts again. Every
analysis sums amounts through here instead:

- `money_sum` is a SQL SUM typed as the column's NUMERIC(16, 2). PostgreSQL returns a
  Decimal as it is; on SQLite, whose driver returns a float, SQLAlchemy's Numeric result
  processor (`processors.to_decimal_processor_factory`, fed the type's scale) turns the float
  into a Decimal through "%.2f", i.e. rounds it to the cent. A bare SUM() over an expression
  that lost the column's type (a CASE, a COALESCE with a float, a subquery's arithmetic)
  would hand the float through unrounded.
- `money_total` adds amounts already read (floats or Decimals) in Python and rounds the
  total to the cent once; `cents` rounds one figure (a total made in NumPy, say), and
  `optional_cents` one that may be None. Money an analysis derives (an amount times a
  chance, a rate times days) is rounded by them where its result is built, so every face
  shows the result's cents.

Averages divide an exact total (see `money_average`), so a mean of cents is not a mean of
drifted floats. Rounding is to the nearest cent, half to even, as Decimal does by default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, func, type_coerce

from paceline.config import MetricSettings

MONEY_SCALE = 2  # the stored amounts' scale: NUMERIC(16, 2)
MONEY = Numeric(16, MONEY_SCALE)


def money_sum(column: ColumnElement[Any]) -> ColumnElement[Decimal]:
    """SUM(column) read back as a Decimal exact to the cent, on SQLite as on PostgreSQL."""
    return func.sum(type_coerce(column, MONEY), type_=MONEY)


def sums_amounts(metric: MetricSettings) -> bool:
    """Whether a metric is a sum of deal amounts (revenue, pipeline created): money, whose
    totals over reps are rounded to the cent."""
    return (metric.source, metric.aggregate, metric.field) == ("deals", "sum", "amount")


def cents(value: float | Decimal | None) -> float:
    """One money figure as the float nearest its value rounded to the cent (None: 0).

    Floats are what the result types hold; the float nearest a number of cents prints as
    those cents (30002070.5), where a drifted one prints its error (30002070.499999996)."""
    if value is None:
        return 0.0
    return float(round(Decimal(value), MONEY_SCALE))


def optional_cents(value: float | Decimal | None) -> float | None:
    """`cents` for a money figure that may be absent (None stays None: unavailable, not 0).

    Why: an analysis's money results (a forecast's expected revenue, a backtest's weighted
    pipeline) are products and quotients of amounts (12345.678901...); rounded here, once,
    at the analysis's boundary, the JSON, the downloads and the page all show the same cents.
    """
    return None if value is None else cents(value)


def money_total(values: Iterable[float | Decimal | None]) -> float:
    """The sum of amounts, rounded to the cent once (None counts for nothing).

    `math.fsum` adds the floats without accumulating error, so the only error left is each
    amount's own (under a millionth of a cent), which the rounding removes."""
    return cents(math.fsum(float(v) for v in values if v is not None))


def money_average(total: float | Decimal, count: int) -> float | None:
    """The average amount: the exact (cent-rounded) total divided by the count, None for
    none. Dividing the Decimal total keeps 3,000,207.05 from reading 3,000,207.0500000003."""
    if count <= 0:
        return None
    return float(Decimal(str(cents(total))) / count)
