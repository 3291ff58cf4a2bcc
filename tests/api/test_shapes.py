"""The records' answers are derived from the records (`paceline.api.shapes`), never copied.

Planted records stand in for the store's: whatever fields a record has, its answer has,
written as the API writes them (a stored moment with `Z`, an amount as a number), unless the
answer names a field it leaves out; and an exclusion or an addition that names the wrong
field is refused at import, so a rename cannot leave it stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from typing import Any, Literal

import pytest

from paceline.api.shapes import RecordOut, page_model, record_model


@dataclasses.dataclass(frozen=True)
class Visit:
    id: int
    rep_id: int
    at: dt.datetime  # naive UTC, as the store keeps it
    day: dt.date
    amount: Decimal | None
    note: str | None = dataclasses.field(metadata={"description": "What was said."})


@dataclasses.dataclass(frozen=True)
class VisitPage:
    items: list[Visit]
    total: int
    cursor: object | None


VISIT = Visit(
    7, 3, dt.datetime(2026, 12, 7, 9, 30), dt.date(2026, 12, 7), Decimal("22700.50"), None
)


def published(model: type[RecordOut]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization")


def answer(value: RecordOut) -> Any:
    return json.loads(value.model_dump_json())


def test_every_field_of_the_record_is_answered_as_the_api_writes_it() -> None:
    out = record_model(Visit, "VisitOut")
    assert list(published(out)["properties"]) == ["id", "rep_id", "at", "day", "amount", "note"]
    assert answer(out.of(VISIT)) == {
        "id": 7,
        "rep_id": 3,
        "at": "2026-12-07T09:30:00Z",
        "day": "2026-12-07",
        "amount": 22700.5,
        "note": None,
    }
    schema = published(out)
    assert schema["title"] == "VisitOut"
    assert schema["properties"]["amount"]["anyOf"] == [{"type": "number"}, {"type": "null"}]
    assert schema["properties"]["at"]["format"] == "date-time"
    assert schema["properties"]["note"]["description"] == "What was said."
    assert set(schema["required"]) == {"id", "rep_id", "at", "day", "amount", "note"}


def test_a_field_the_record_gains_is_answered_without_touching_the_answer() -> None:
    """What a hand-copied model forgot: the record grows, its answer grows with it."""
    grown = dataclasses.make_dataclass(
        "Visit",
        [(f.name, f.type) for f in dataclasses.fields(Visit)] + [("channel", str)],
        frozen=True,
    )
    grown.__module__ = __name__
    out = record_model(grown, "VisitOut")
    value = grown(**dataclasses.asdict(VISIT), channel="phone")
    assert "channel" in published(out)["required"]
    assert answer(out.of(value))["channel"] == "phone"


def test_left_out_and_added_fields_are_named_and_remembered() -> None:
    out = record_model(
        Visit, "VisitOut", leave_out={"rep_id"}, add={"selling": (bool, "Counted as selling.")}
    )
    got = answer(out.of(VISIT, selling=True))
    assert list(got) == ["id", "at", "day", "amount", "note", "selling"]
    assert got["selling"] is True
    assert out.record is Visit
    assert (out.left_out, out.added) == ({"rep_id"}, {"selling"})
    assert published(out)["properties"]["selling"]["description"] == "Counted as selling."


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"leave_out": {"team_id"}}, "Visit has no field team_id"),
        ({"types_": {"kind": str}}, "Visit has no field kind"),
        ({"add": {"note": (str, "again")}}, "Visit already has note"),
    ],
)
def test_naming_a_field_the_record_does_not_have_is_refused(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        record_model(Visit, "VisitOut", **options)


def test_a_field_without_an_answer_type_is_refused() -> None:
    @dataclasses.dataclass
    class Loose:
        anything: Any

    with pytest.raises(TypeError, match="no answer type"):
        record_model(Loose, "LooseOut")


def test_times_as_stored_and_a_narrower_published_type() -> None:
    """The audit log's times stay as stored (naive), as its CLI prints them; a field may be
    published narrower than its annotation (`face` is one of four words)."""
    out = record_model(
        Visit, "VisitOut", utc=False, types_={"note": Literal["hello", "bye"] | None}
    )
    assert answer(out.of(VISIT))["at"] == "2026-12-07T09:30:00"
    assert published(out)["properties"]["note"]["anyOf"][0]["enum"] == ["hello", "bye"]


def test_an_aware_moment_is_written_in_utc() -> None:
    out = record_model(Visit, "VisitOut")
    paris = dt.timezone(dt.timedelta(hours=1))
    aware = dataclasses.replace(VISIT, at=dt.datetime(2026, 12, 7, 10, 30, tzinfo=paris))
    assert answer(out.of(aware))["at"] == "2026-12-07T09:30:00Z"


def test_a_page_answers_its_items_as_their_answers() -> None:
    out = record_model(Visit, "VisitOut", leave_out={"rep_id", "day", "amount", "note"})
    page = page_model(VisitPage, "VisitPage", out, types_={"cursor": str | None})
    got = answer(page.of(VisitPage([VISIT], 1, object()), cursor="abc"))
    assert got == {"items": [{"id": 7, "at": "2026-12-07T09:30:00Z"}], "total": 1, "cursor": "abc"}
    schema = published(page)
    assert schema["properties"]["items"]["items"] == {"$ref": "#/$defs/VisitOut"}
