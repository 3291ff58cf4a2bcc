"""Reads shared between the analyses of one diagnosis.

Why: a team's diagnosis runs the funnel, the revenue equation, busy-versus-productive,
coaching and the alerts, each a public analysis that reads who is in scope and, for two of
them, the activities per kind. Each read alone is cheap; done five times over, the roster
and the kind counts were a tenth of a team's diagnosis. Inside `shared_reads()` the same
read with the same arguments is made once and its answer handed to every analysis that asks;
outside it, every read goes to the database as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_SHARED: ContextVar[dict[Hashable, Any] | None] = ContextVar("paceline_shared_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Reads made inside are made once per distinct key (see `once`)."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def once(key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, or inside `shared_reads()` the answer of the first read with this key.

    The key must name everything the answer depends on; the answer must not be changed by
    whoever receives it (lists handed out are copies).
    """
    cache = _SHARED.get()
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    found: T = cache[key]
    return list(found) if isinstance(found, list) else found  # type: ignore[return-value]


def memo(key: Hashable) -> dict[Any, Any]:
    """A dictionary kept under `key` for the whole `shared_reads()` block (a fresh, empty one
    outside it), for a read that is filled piece by piece: each part of a diagnosis adds
    what it asks for and finds what the others already read."""
    return once(("memo", key), dict)
