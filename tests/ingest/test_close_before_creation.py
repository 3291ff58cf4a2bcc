"""Deals that close before they were created: CRMs' close dates are typed by people, the
creation is the system's timestamp, so a deal entered after it was won (a migration, a late
entry) "closes before it was created". Imports keep it on its close date and count it in the
report as a warning; a person typing such dates (the API) is still refused; and the forecast's
curves leave its unknown sales cycle out, so no duration is negative.

Hand-built rows (business zone America/New_York, the default):
- "Late": won, closed 2026-03-10 (a date), created 2026-04-02T15:00:00Z: entered 23 days late;
- "Same day": won, closed 2026-03-10 (a date), created 2026-03-10T15:00:00Z: a same-day close
  (the date's midnight is before the creation's hour, not a day before): no warning;
- "Normal": won, closed 2026-03-20, created 2026-03-01T15:00:00Z.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from factories import at, east_and_west, make_api, put_deal
from paceline.analytics.pipeline_history import (
    creation_spells,
    forecast_scope,
    snapshot,
    stage_spells,
)
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, import_file
from paceline.ingest.writers import CLOSED_BEFORE_CREATED
from paceline.store.models import Deal

ROWS = (
    "external_id,name,rep,amount,stage,created_at,closed_at\n"
    "d1,Late,Cy,1000,closed_won,2026-04-02T15:00:00Z,2026-03-10\n"
    "d2,Same day,Cy,2000,closed_won,2026-03-10T15:00:00Z,2026-03-10\n"
    "d3,Normal,Cy,3000,closed_won,2026-03-01T15:00:00Z,2026-03-20\n"
)


def test_an_import_keeps_a_deal_closed_before_it_was_created_and_warns(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    east_and_west(engine, settings)
    path = tmp_path / "deals.csv"
    path.write_text(ROWS, "utf-8")
    options = ImportOptions(now=dt.datetime(2026, 7, 1), errors_path=tmp_path / "e.csv")
    result = import_file(engine, settings, path, "deals", None, options)
    assert (result.inserted, result.rejected) == (3, 0)
    assert result.notes == {CLOSED_BEFORE_CREATED: 1}
    with engine.connect() as conn:
        late = conn.execute(
            select(Deal.created_at, Deal.closed_at).where(Deal.external_id == "d1")
        ).one()
    # Both kept as given: the close on March 10 (New York midnight, 04:00 UTC on daylight
    # time), the creation on April 2.
    assert tuple(late) == (dt.datetime(2026, 4, 2, 15), dt.datetime(2026, 3, 10, 4))


def test_a_person_typing_a_close_before_the_creation_is_still_refused(
    engine: Engine, settings: Settings
) -> None:
    api = make_api(engine, settings)
    with api.client:
        made = api.post("max", "/deals", {"rep": "Cy", "name": "Typo", "amount": "10",
                                          "stage": "closed_won",
                                          "created_at": "2026-11-02T09:00:00",
                                          "closed_at": "2026-10-02T09:00:00"})  # fmt: skip
    assert made.status_code == 422, made.text
    assert "closed_at is before created_at" in made.text


def test_the_curves_leave_out_a_deal_entered_after_it_closed(
    engine: Engine, settings: Settings
) -> None:
    """As of July 1 (history from January 1): "Normal" created March 1, won March 20 (19
    days); "Late" won March 10 but created April 2; "Open" created June 1, open (30 days at the
    cut-off). The creation curve learns from Normal and Open only (no negative, no zero-day
    win); Late's 1,000 is still a won size."""
    cy = east_and_west(engine, settings)["Cy"]
    normal = [("proposal", at(3, 1)), ("closed_won", at(3, 20))]
    put_deal(engine, cy, "Normal", 3000, at(3, 1), status="won", stage="closed_won",
             closed=at(3, 20), history=normal)  # fmt: skip
    put_deal(engine, cy, "Late", 1000, at(4, 2), status="won", stage="closed_won",
             closed=at(3, 10), history=[("closed_won", at(3, 10))])  # fmt: skip
    put_deal(engine, cy, "Open", 500, at(6, 1), stage="proposal",
             history=[("proposal", at(6, 1))])  # fmt: skip
    with engine.connect() as conn:
        scope = forecast_scope(conn, None, "Cy")
        snap = snapshot(conn, scope, at(7, 1, hour=4), at(1, 1, hour=5))
    late = {d.name: d for d in snap.deals}["Late"]
    assert late.entered_after_close
    spells = creation_spells(snap)
    assert sorted(spells.stay.tolist()) == [19.0, 30.0 - 13 / 24]
    assert spells.wins == 1
    assert sorted(snap.won_amounts) == [1000.0, 3000.0]


def test_the_curves_keep_a_same_day_close(engine: Engine, settings: Settings) -> None:
    """As of July 1 (history from January 1): "Same day" created March 10 at 15:00 UTC and won
    that day (a close date: midnight, before the hour of creation, less than a day); "Lost"
    created April 1, lost April 11 (10 days); "Normal" won after 19 days. By hand
    (Aalen-Johansen): the same-day win at ~0 days with 3 at risk, 1/3; the loss at 10 days, 2
    at risk, leaves 1/3 open; Normal's win at 19 days adds 1/3: 2/3 won, as 2 of the 3 were.
    Before, a close of zero days was no stay at all: the win vanished, 1/2."""
    cy = east_and_west(engine, settings)["Cy"]
    created, closed = at(3, 10, hour=15), at(3, 10, hour=4)
    put_deal(engine, cy, "Same day", 2000, created, status="won", stage="closed_won",
             closed=closed, history=[("proposal", created), ("closed_won", closed)])  # fmt: skip
    lost = [("proposal", at(4, 1)), ("closed_lost", at(4, 11))]
    put_deal(engine, cy, "Lost", 500, at(4, 1), status="lost", stage="closed_lost",
             closed=at(4, 11), history=lost)  # fmt: skip
    won = [("proposal", at(3, 1)), ("closed_won", at(3, 20))]
    put_deal(engine, cy, "Normal", 3000, at(3, 1), status="won", stage="closed_won",
             closed=at(3, 20), history=won)  # fmt: skip
    with engine.connect() as conn:
        snap = snapshot(conn, forecast_scope(conn, None, "Cy"), at(7, 1, hour=4), at(1, 1, hour=5))
    spells = creation_spells(snap)
    assert (spells.count, spells.wins) == (3, 2)
    assert spells.curve().ever == pytest.approx(2 / 3)
    proposal = stage_spells(snap)["proposal"]
    assert (proposal.count, proposal.wins) == (3, 2)
    assert proposal.curve().ever == pytest.approx(2 / 3)
