"""The accrual curves' history read (`metrics.distinct_firsts_by_period`, every paced rep's
three past periods) is kept in the process under the database's data version
(`rollup.data_version`), so a second scorecard does not run it again, and any write to
activities makes the next one read it afresh. Until 2026-12-08 every scorecard with a
distinct key metric ran it: 65-75 of a 95-108 ms team scorecard on the demo.

Team East of `factories.build_book_callers` as of Wednesday 2026-11-11 (business day 8 of
November's 19): Ava's curve expects 16 of her 20 accounts (August to October each reached 16
of 20 by 8 x 21/19 = 8.84 and 8 x 22/19 = 9.26 business days in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from factories import (
    accounts,
    activity_row,
    build_book_callers,
    business_days,
    paced_on_accounts_with_a_new_role,
)
from paceline.analytics.accrual import forget_history
from paceline.analytics.scorecard import team_scorecards
from paceline.config import Settings
from paceline.store.models import Activity

NOV_11 = dt.date(2026, 11, 11)


@pytest.fixture
def paced(settings: Settings) -> Iterator[Settings]:
    forget_history()
    yield paced_on_accounts_with_a_new_role(settings)
    forget_history()


def _history_reads(engine: Engine) -> list[str]:
    """The history statements run on `engine` from now on (each thing's first day per rep
    and period: the only statement labelling a column `thing`)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "AS thing" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def _ava_expected(engine: Engine, paced: Settings) -> float | None:
    cards = team_scorecards(engine, paced, "month", NOV_11, "East")
    ava = next(card for card in cards.reps if card.rep == "Ava")
    line = next(line for line in ava.lines if line.metric == "accounts_called")
    return line.pace.expected_to_date


def test_a_second_scorecard_does_not_read_the_history_again(
    engine: Engine, paced: Settings
) -> None:
    """The first card reads it (once, or twice with a thin rep's role); the second reads it
    no more and says the same: 16 expected. Read afresh (the kept reads forgotten), 16."""
    build_book_callers(engine, paced)
    reads = _history_reads(engine)
    assert _ava_expected(engine, paced) == pytest.approx(16)
    first = len(reads)
    assert first >= 1
    assert _ava_expected(engine, paced) == pytest.approx(16)
    assert len(reads) == first  # before: one more read per scorecard
    forget_history()
    assert _ava_expected(engine, paced) == pytest.approx(16)
    assert len(reads) > first


def test_a_call_written_into_a_past_month_is_read_by_the_next_scorecard(
    engine: Engine, paced: Settings
) -> None:
    """After a first card, Ava calls 4 new accounts on October's first business day: October
    reaches 20 of 24 by 9.26 business days in (14 on day 1, 20 on day 6, 24 on day 11), so
    her curve at day 8 is (16 + 16 + 20) / (20 + 20 + 24) = 0.8125: 16.25 expected, not 16.
    A history kept past the write would still say 16."""
    ids = build_book_callers(engine, paced)
    assert _ava_expected(engine, paced) == pytest.approx(16)
    october_1 = business_days(paced, dt.date(2026, 10, 1), dt.date(2026, 11, 1))[0]
    new = accounts(engine, 4, "October lead")
    rows = [activity_row(ids["Ava"], october_1, account_id=a, outcome="conversation") for a in new]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    assert _ava_expected(engine, paced) == pytest.approx(20 * 52 / 64)
    assert _ava_expected(engine, paced) == pytest.approx(16.25)  # kept now, and the same
