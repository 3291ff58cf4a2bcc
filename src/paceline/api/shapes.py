"""The API's answers for stored records, derived from the records' dataclasses.

Why: the answers for reps, deals, activities, teams, users, tokens and the audit log were
written out by hand, a copy of each record's fields, so a field added to a record was
silently missing from the API until someone noticed (issue 12). Here an answer is made from
its record the way the analyses' answers are made from their result types
(`serialize.json_model`): every field of the record is carried, typed by its annotation,
unless the answer names it in `leave_out`; what the API adds (an activity's `selling`) is
named in `add`. The answers keep their published names (`RepOut`, `DealOut`, ...), which
clients generate code from.

One base, `RecordOut`, as the FastAPI full-stack template derives its public shapes from one
base: every answer is filled from its record with `from_attributes`, and remembers which
record it carries and what it leaves out and adds, which the tests read.

Types: a stored moment is naive UTC, so a `datetime` field is written with its offset
(`Z`) unless `utc=False` (the audit log, whose times the CLI's `--json` prints as stored); a
`Decimal` is a number, as `to_jsonable` writes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model


def _mark_utc(moment: dt.datetime) -> dt.datetime:
    """A stored (naive UTC) moment, marked as UTC for output; an aware one, in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


UtcMoment = Annotated[dt.datetime, AfterValidator(_mark_utc)]


class RecordOut(BaseModel):
    """The base of every record's answer: filled from the record's attributes."""

    model_config = ConfigDict(from_attributes=True)

    record: ClassVar[type]
    left_out: ClassVar[frozenset[str]] = frozenset()
    added: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def of(cls, record: object, **computed: Any) -> Self:
        """The answer for `record`, with the values of the fields the API adds."""
        if not computed:
            return cls.model_validate(record)
        return cls.model_validate({**vars(record), **computed})


def record_model(
    record: type,
    name: str,
    *,
    leave_out: Iterable[str] = (),
    add: Mapping[str, tuple[Any, str]] | None = None,
    types_: Mapping[str, Any] | None = None,
    describe: Mapping[str, str] | None = None,
    utc: bool = True,
) -> type[RecordOut]:
    """The answer named `name` for the dataclass `record`: each of its fields, in order,
    but those in `leave_out`, then the fields in `add` (name: (type, description)).

    `types_` publishes a field with a narrower type than the record's annotation (the audit
    log's `face` is one of four words); `describe` gives a field its published description
    (otherwise the record field's `metadata["description"]`). Naming a field the record does
    not have, in any of them, is an error at import: a rename cannot leave a stale exclusion.
    """
    if not (dataclasses.is_dataclass(record) and isinstance(record, type)):
        raise TypeError(f"{record!r} is not a dataclass")
    added = dict(add or {})
    retyped, described = dict(types_ or {}), dict(describe or {})
    left = frozenset(leave_out)
    own = {f.name: f for f in dataclasses.fields(record)}
    _check_names(record, own, left | set(retyped), added)
    hints = typing.get_type_hints(record)
    fields: dict[str, Any] = {}
    for field_name, f in own.items():
        if field_name in left:
            continue
        hint = retyped.get(field_name, hints[field_name])
        description = described.get(field_name, f.metadata.get("description"))
        fields[field_name] = (answer_type(hint, utc=utc), Field(description=description))
    for field_name, (hint, description) in added.items():
        fields[field_name] = (answer_type(hint, utc=utc), Field(description=description))
    model = create_model(name, __base__=RecordOut, __module__=record.__module__, **fields)
    model.record = record
    model.left_out = left
    model.added = frozenset(added)
    return model


def _check_names(
    record: type, own: Mapping[str, object], named: Iterable[str], added: Mapping[str, object]
) -> None:
    unknown = sorted(set(named) - set(own))
    if unknown:
        raise TypeError(f"{record.__qualname__} has no field {', '.join(unknown)}")
    clashing = sorted(set(added) & set(own))
    if clashing:
        raise TypeError(f"{record.__qualname__} already has {', '.join(clashing)}: not added")


def answer_type(hint: Any, *, utc: bool = True) -> Any:
    """The published type of a record field annotated `hint`."""
    if hint is dt.datetime:
        return UtcMoment if utc else dt.datetime
    if hint is Decimal:  # a number, as to_jsonable writes it (pydantic takes the Decimal)
        return float
    if hint in (str, int, float, bool, dt.date, type(None)):
        return hint
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return Union[tuple(answer_type(a, utc=utc) for a in args)]  # noqa: UP007 (a tuple)
    if origin is Literal or origin in (list, dict):
        return hint
    raise TypeError(f"no answer type for {hint!r}: give the field a concrete type")


def many(model: type[BaseModel]) -> Any:
    """`list[model]` for a model made at run time, where mypy takes no variable as a type:
    a list answer's `response_model` and its `Answer`."""
    return types.GenericAlias(list, (model,))


def page_model(
    page: type,
    name: str,
    item: type[BaseModel],
    *,
    leave_out: Iterable[str] = (),
    types_: Mapping[str, Any] | None = None,
    describe: Mapping[str, str] | None = None,
    utc: bool = True,
) -> type[RecordOut]:
    """The answer for one page of a list (`page`, a dataclass with `items`): each of its
    fields, the items as `item` answers."""
    return record_model(
        page,
        name,
        leave_out=leave_out,
        types_={"items": many(item), **(types_ or {})},
        describe=describe,
        utc=utc,
    )
