"""`frozen.builder`: the same object as the class's own constructor, refused where it could
not be."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from paceline.analytics.accrual import Accrual
from paceline.analytics.frozen import builder
from paceline.analytics.leaderboard import LeaderboardRow
from paceline.analytics.pacing import Pace, new_pace
from paceline.analytics.scorecard import MetricLine, Scorecard
from paceline.calendar import Period


def test_a_built_pace_is_the_constructed_one() -> None:
    values = (3.0, 10.0, 4.5, 3.0 / 4.5, 6.5, 0.7, "unclear")
    built = builder(Pace)(*values)
    made = Pace(*values)
    assert type(built) is Pace
    assert built == made and hash(built) == hash(made)
    assert dataclasses.astuple(built) == values
    assert new_pace(*values) == made
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.actual = 4.0  # type: ignore[misc]


def test_every_field_lands_in_its_own_slot() -> None:
    pace = Pace(1.0, None, None, None, None, None, "no_target")
    accrual = Accrual("rep", 3, (0.5, 1.0))
    parts = ("calls", "Calls", False, pace, "count", 1.5, 2, "Calls", accrual, "win", 3.0)
    line = builder(MetricLine)(*parts)
    assert line == MetricLine(*parts)  # type: ignore[arg-type]
    assert (line.unit, line.dispersion, line.amounts_unknown) == ("count", 1.5, 2)
    assert (line.unrecorded, line.accrual) == ("Calls", accrual)
    assert (line.average_of, line.known) == ("win", 3.0)
    period = Period("month", dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    fields = ("Ana", 7, "East", "sdr", period, dt.date(2026, 11, 18), 19, 13, 6)
    rest = (dt.date(2026, 11, 4), None, [line], 1.2, dt.date(2026, 11, 11), dt.date(2026, 11, 4))
    card = builder(Scorecard)(*fields, *rest)
    assert card == Scorecard(*fields, *rest)
    assert card.status == "no_target"
    assert (card.dispersion, card.end_date, card.left) == (1.2, dt.date(2026, 11, 11), True)
    assert (card.measured_from, card.recorded_from) == (dt.date(2026, 11, 4), dt.date(2026, 11, 4))
    row = tuple(range(20))
    assert builder(LeaderboardRow)(*row) == LeaderboardRow(*row)  # type: ignore[arg-type]


def test_every_field_is_required() -> None:
    with pytest.raises(TypeError):
        builder(Pace)(1.0, 2.0)


def test_classes_a_builder_would_misbuild_are_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        a: int
        b: int = dataclasses.field(init=False, default=0)

    for cls in (NoSlots, NotFrozen, Checked, Derived, int):
        with pytest.raises(TypeError):
            builder(cls)
