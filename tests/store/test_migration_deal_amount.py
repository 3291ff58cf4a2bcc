"""Migration 0014: deal and stage-history amounts may be NULL (unknown), and nothing stored
before changes; the downgrade writes unknown amounts back as 0, the only value 0010 holds.

On SQLite both copy the deal table (batch mode); with foreign keys enforced, dropping the old
copy cascaded to every stage-history row (found by this test: the history came back empty).
An activity linked to a deal must survive too."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from factories import add_rep, at, put_activity, put_deal
from paceline.config import Settings
from paceline.store.migrate import current_revision, downgrade, head_revision, upgrade
from paceline.store.models import Activity, Deal, DealStageHistory


def amounts(engine: Engine) -> tuple[list[object], list[object]]:
    with engine.connect() as conn:
        deals = conn.execute(select(Deal.amount).order_by(Deal.id)).scalars().all()
        history = (
            conn.execute(select(DealStageHistory.amount).order_by(DealStageHistory.id))
            .scalars()
            .all()
        )
    return [None if a is None else float(a) for a in deals], [
        None if a is None else float(a) for a in history
    ]


def test_amounts_become_nullable_and_back(engine: Engine, settings: Settings) -> None:
    cy = add_rep(engine, settings, "Cy", "ae")
    put_deal(engine, cy, "unknown", None, at(7, 1), history=[("proposal", at(7, 1))])
    put_deal(engine, cy, "zero", 0, at(7, 1), history=[("proposal", at(7, 1))])
    some = put_deal(engine, cy, "some", 1250, at(7, 1), history=[("proposal", at(7, 1))])
    put_activity(engine, cy, at(7, 2), deal_id=some)
    assert amounts(engine) == ([None, 0.0, 1250.0], [None, 0.0, 1250.0])

    downgrade(engine, "0013")
    engine.dispose()
    assert current_revision(engine) == "0013"
    assert amounts(engine) == ([0.0, 0.0, 1250.0], [0.0, 0.0, 1250.0])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE deal SET amount = NULL"))

    upgrade(engine)
    engine.dispose()
    assert current_revision(engine) == head_revision(engine)
    assert amounts(engine) == ([0.0, 0.0, 1250.0], [0.0, 0.0, 1250.0])  # zeros stay zeros
    with engine.begin() as conn:
        conn.execute(text("UPDATE deal SET amount = NULL WHERE name = 'unknown'"))
    assert amounts(engine)[0] == [None, 0.0, 1250.0]
    with engine.connect() as conn:
        assert conn.execute(select(Activity.deal_id)).scalar_one() == some
