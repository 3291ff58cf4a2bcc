"""Result objects -> JSON-ready data. One conversion, shared by the CLI's --json and the API."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Dataclasses become objects with their fields *and* public properties (derived values
    such as a scorecard's status are part of the result a script reads)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in _properties(type(value)):
            data[name] = to_jsonable(getattr(value, name))
        return data
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


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)


def _properties(cls: type) -> list[str]:
    return [
        name
        for klass in reversed(cls.__mro__)
        for name, attribute in vars(klass).items()
        if isinstance(attribute, property) and not name.startswith("_")
    ]
