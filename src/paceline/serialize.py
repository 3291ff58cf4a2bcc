"""Result objects -> JSON-ready data. One conversion, shared by the CLI's --json and the API,
and the shape of what it gives, which the API publishes as each answer's schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import json
import types
import typing
from collections import abc
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model


def to_jsonable(value: Any) -> Any:
    """Dataclasses become objects with their fields *and* public properties (derived values
    such as a scorecard's status are part of the result a script reads)."""
    kind: Any = type(value)
    if kind in _AS_IS:
        return value
    names = _dataclass_names(kind)
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    return value


# Values that are their own JSON (exactly these types: a subclass, an enum say, takes the
# long way as before). An API answer holds thousands of them.
_AS_IS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _dataclass_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's fields, then its public properties, in output order (None: not a
    dataclass); worked out once per class, not once per value."""
    if not dataclasses.is_dataclass(cls):
        return None
    return (*(f.name for f in dataclasses.fields(cls)), *_properties(cls))


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)


def _properties(cls: type) -> list[str]:
    return [
        name
        for klass in reversed(cls.__mro__)
        for name, attribute in vars(klass).items()
        if isinstance(attribute, property) and not name.startswith("_")
    ]


# --- the shape of `to_jsonable`'s output ------------------------------------------------------

_PLAIN: dict[Any, Any] = {
    str: str,
    int: int,
    float: float,
    bool: bool,
    type(None): type(None),
    Decimal: float,
    Path: str,
    dt.datetime: dt.datetime,
    dt.date: dt.date,
}
_SEQUENCE_ORIGINS = {list, set, frozenset, abc.Sequence, abc.Set}
_MAPPING_ORIGINS = {dict, abc.Mapping}


@functools.cache
def json_model(cls: type) -> type[BaseModel]:
    """What `to_jsonable` makes of an instance of the dataclass `cls`, as a Pydantic model.

    Derived from the type hints, never written by hand, so the API's published schema is the
    result type's: every field and public property (a property's return annotation is its
    type), nested dataclasses as their own models, a Decimal as a number, a date as an ISO
    string, a tuple or set as an array, a dict as an object keyed by text; a field's
    `metadata["description"]` is its published description. Every key is
    required and no other is allowed: the schema says exactly what the answer holds. Only
    the schema is used: the JSON itself stays `to_jsonable`'s (the API does not re-serialise
    it), so the CLI's --json and the API cannot drift apart.
    """
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {
        f.name: (json_type(hints[f.name]), Field(description=f.metadata.get("description")))
        for f in dataclasses.fields(cls)
    }
    for name in _properties(cls):
        getter = getattr(cls, name).fget
        returns = typing.get_type_hints(getter).get("return")
        if returns is None:
            raise TypeError(f"{cls.__qualname__}.{name}: a property needs a return annotation")
        fields[name] = (json_type(returns), Field(description=_doc(getter.__doc__)))
    model: type[BaseModel] = create_model(
        cls.__name__,
        __config__=ConfigDict(extra="forbid"),
        __doc__=_class_doc(cls),
        __module__=cls.__module__,
        **fields,
    )
    return model


def json_type(hint: Any) -> Any:
    """The type of what `to_jsonable` makes of a value of type `hint` (see `json_model`)."""
    if hint in _PLAIN:
        return _PLAIN[hint]
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return json_model(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return hint
    if origin in (Union, types.UnionType):
        return Union[tuple(json_type(a) for a in args)]  # noqa: UP007 (built from a tuple)
    if origin in _MAPPING_ORIGINS:
        return dict[str, json_type(args[1])]  # type: ignore[misc]
    if origin in _SEQUENCE_ORIGINS:
        return list[json_type(args[0])]  # type: ignore[misc]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return list[json_type(args[0])]  # type: ignore[misc]
        return tuple[tuple(json_type(a) for a in args)]  # type: ignore[misc]
    raise TypeError(f"no JSON shape for {hint!r}: give the field a concrete type")


def _class_doc(cls: type) -> str | None:
    """The class docstring, but not the signature `dataclass` writes when there is none."""
    doc = cls.__doc__ or ""
    return None if doc.startswith(f"{cls.__name__}(") else _doc(doc)


def _doc(doc: str | None) -> str | None:
    return inspect.cleandoc(doc) if doc else None
