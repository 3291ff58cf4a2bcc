"""The one write path of an activity (`paceline.services.activities`), below every face.

Hand-built: Ana (East) and Dee (West), an admin and Ana as a rep. The business zone is
America/New_York (UTC-5 in November); "now" is fixed at 2026-11-18 17:00 UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select

from paceline.auth.access import Principal
from paceline.config import Settings
from paceline.errors import Forbidden, InputError, NotFound, UserInputError
from paceline.services import activities
from paceline.services.activities import Entry, Writer
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

NOW = dt.datetime(2026, 11, 18, 17, 0)


@pytest.fixture
def people(engine: Engine, settings: Settings) -> dict[str, Writer]:
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    add_rep(engine, settings, "Dee", "sdr", team="West")
    east = activities.records.rep_refs(engine)["ana"].team_id
    principals = {
        "admin": Principal(1, "root", "admin", None, None),
        "ana": Principal(2, "ana", "rep", ana, east),
    }
    return {k: Writer.of(engine, settings, p, now=NOW) for k, p in principals.items()}


def row(engine: Engine, activity_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        found = conn.execute(select(Activity).where(Activity.id == activity_id)).one()
    return dict(found._mapping)


def logged(writer: Writer, **values: Any) -> int:
    entry = {"rep": "Ana", "kind": "call", "occurred_at": dt.datetime(2026, 11, 17, 23, 30)}
    return activities.create(writer, Entry(**(entry | values))).id


def test_an_edit_keeps_what_it_does_not_change(engine: Engine, people: dict[str, Writer]) -> None:
    """Engaged said by the rep (no outcome implies it) survives an edit of the notes."""
    ana = people["ana"]
    activity_id = logged(ana, engaged=True, notes="first", account="Acme")
    before = row(engine, activity_id)
    assert (before["engaged"], before["local_date"]) == (True, dt.date(2026, 11, 17))
    activities.edit(ana, activity_id, {"notes": "called back"})
    after = row(engine, activity_id)
    assert after["notes"] == "called back" and after["engaged"] is True
    kept = ("kind", "outcome", "has_ask", "occurred_at", "local_date", "account_id", "rep_id")
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}


def test_a_new_outcome_decides_engaged_unless_engaged_is_given(
    engine: Engine, people: dict[str, Writer]
) -> None:
    ana = people["ana"]
    activity_id = logged(ana, engaged=True)
    activities.edit(ana, activity_id, {"outcome": "no_answer"})  # not an engaged outcome
    assert row(engine, activity_id)["engaged"] is False
    activities.edit(ana, activity_id, {"outcome": "meeting_set"})  # engaged, implies an Ask
    assert (row(engine, activity_id)["engaged"], row(engine, activity_id)["has_ask"]) == (
        True,
        True,
    )
    activities.edit(ana, activity_id, {"outcome": "conversation", "engaged": True})
    assert row(engine, activity_id)["engaged"] is True


def test_the_local_day_follows_a_changed_time(engine: Engine, people: dict[str, Writer]) -> None:
    ana = people["ana"]
    activity_id = logged(ana)  # 23:30 in New York on the 17th: 04:30 UTC on the 18th
    assert row(engine, activity_id)["occurred_at"] == dt.datetime(2026, 11, 18, 4, 30)
    activities.edit(ana, activity_id, {"occurred_at": dt.datetime(2026, 11, 16, 9, 0)})
    moved = row(engine, activity_id)
    assert (moved["occurred_at"], moved["local_date"]) == (
        dt.datetime(2026, 11, 16, 14, 0),
        dt.date(2026, 11, 16),
    )


def test_a_bad_edit_names_the_field_and_writes_nothing(
    engine: Engine, people: dict[str, Writer]
) -> None:
    ana = people["ana"]
    activity_id = logged(ana, notes="first")
    before = row(engine, activity_id)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"kind": "telepathy", "notes": "x"}, "kind"),
        ({"outcome": "held", "notes": "x"}, "outcome"),  # a call is not a held meeting
        ({"occurred_at": dt.datetime(2027, 3, 1), "notes": "x"}, "occurred_at"),
        ({"kind": None}, "kind"),
        ({"source": "crm"}, "source"),
    ]
    for changes, field in bad:
        with pytest.raises(InputError) as caught:
            activities.edit(ana, activity_id, changes)
        assert caught.value.field == field, changes
    assert row(engine, activity_id) == before


def test_out_of_reach_is_refused_and_writes_nothing(
    engine: Engine, people: dict[str, Writer]
) -> None:
    admin, ana = people["admin"], people["ana"]
    with pytest.raises(Forbidden):
        logged(ana, rep="Dee")
    dees = logged(admin, rep="Dee")
    with pytest.raises(NotFound):  # another rep's activity: not found, not "forbidden"
        activities.edit(ana, dees, {"notes": "mine now"})
    with pytest.raises(NotFound):
        activities.delete(ana, dees)
    mine = logged(ana)
    with pytest.raises(Forbidden):  # moving one's own activity to someone out of reach
        activities.edit(ana, mine, {"rep": "Dee"})
    with engine.connect() as conn:
        assert conn.execute(
            select(Activity.rep_id, Activity.notes).order_by(Activity.id)
        ).all() == [
            (row(engine, dees)["rep_id"], None),
            (row(engine, mine)["rep_id"], None),
        ]


def test_delete_and_undo_put_it_back_exactly(engine: Engine, people: dict[str, Writer]) -> None:
    admin, ana = people["admin"], people["ana"]
    activity_id = logged(ana, outcome="conversation", account="Acme")
    before = row(engine, activity_id)
    stash = activities.delete(ana, activity_id)
    with engine.connect() as conn:
        assert conn.scalar(select(Activity.id).where(Activity.id == activity_id)) is None
    dees = activities.delete(admin, logged(admin, rep="Dee"))
    with pytest.raises(Forbidden):  # Ana cannot put Dee's activity back
        activities.undo(ana, dees)
    assert activities.undo(ana, stash) == activity_id
    assert row(engine, activity_id) == before
    with pytest.raises(UserInputError, match="cannot undo"):
        activities.undo(ana, stash)
