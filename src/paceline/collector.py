"""Fewer runs of the cyclic garbage collector while work that allocates a lot runs.

An import allocates millions of short-lived containers (rows, records, batches) and holds
a batch of them at a time: at Python's default thresholds (700, 10, 10) the collector ran
every 700 allocations and scanned each surviving record again and again, about a third of a
fresh import's CPU time (benchmarks/README.md, import_throughput). A page of a thousand
scorecards and a leaderboard builds some 20,000 small result objects: there the collector
was 5% of the page's instructions (benchmarks/README.md, tracking). Reference counting still
frees everything at once; only garbage in cycles waits longer. Generations 1 and 2 keep
Python's own thresholds (raising them too measured no faster for an import), so a server
doing this work in threads still makes full collections as often, relative to young ones,
as it always did.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The collector's thresholds (generation 0, 1, 2) while such work runs.
FEWER_COLLECTIONS = (50_000, 10, 10)


class _Collections:
    """The thresholds raised while at least one such block runs in the process (they may run
    in threads at once: the last one to end puts back what was there before the first)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.saved: tuple[int, int, int] = gc.get_threshold()


_COLLECTIONS = _Collections()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the garbage collector's thresholds to at least `FEWER_COLLECTIONS` for the
    block (never lowering one set higher), and put them back after it, whatever happens.
    Also a decorator (`@fewer_collections()`), for a whole function."""
    state = _COLLECTIONS
    with state.lock:
        if state.running == 0:
            state.saved = gc.get_threshold()
            gc.set_threshold(
                *(max(now, ours) for now, ours in zip(state.saved, FEWER_COLLECTIONS, strict=True))
            )
        state.running += 1
    try:
        yield
    finally:
        with state.lock:
            state.running -= 1
            if state.running == 0:
                gc.set_threshold(*state.saved)
