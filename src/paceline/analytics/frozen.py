"""Building many small frozen result objects fast.

A page of scorecards builds a few thousand `Pace` and `MetricLine` objects and a thousand
leaderboard rows. A frozen dataclass's generated `__init__` sets each field through
`object.__setattr__` looked up by name, field by field (its own `__setattr__` refuses): for
these classes about half the time of a line. `builder(cls)` returns a constructor taking every
field by position that stores them straight into the slots, giving an object equal in every
way to `cls(*values)` (same class, same fields; no `__post_init__` is skipped: classes with
one are refused) at about half the cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """A positional constructor for a frozen, slotted dataclass: `builder(C)(*values)` equals
    `C(*values)`, every field given (defaults do not apply)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ a builder would skip")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if any(not f.init for f in fields):
        raise TypeError(f"{cls.__name__} has fields its __init__ does not take")
    names = [f.name for f in fields]
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    scope.update((f"set_{i}", cls.__dict__[name].__set__) for i, name in enumerate(names))
    body = "".join(f"    set_{i}(self, {name})\n" for i, name in enumerate(names))
    source = f"def build({', '.join(names)}):\n    self = new(cls)\n{body}    return self\n"
    exec(source, scope)  # as `dataclasses` builds an __init__: one statement per field
    built: Callable[..., T] = scope["build"]
    built.__qualname__ = f"builder({cls.__qualname__})"
    return built
