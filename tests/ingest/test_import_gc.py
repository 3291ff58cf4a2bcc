"""While an import runs, the garbage collector's thresholds are raised (its collections cost a
third of a large import's CPU time), and afterwards they are what they were: after a
finished import, a failed one, and once the last of several overlapping imports ends."""

from __future__ import annotations

import gc
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine

from factories import write
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, fewer_collections, import_csv

HEADER = "external_id,rep,kind,occurred_at,duration_min,outcome,has_ask,account,notes"
ROWS = [f"g{i},Ana Ruiz,call,2026-11-0{2 + i},{i},no_answer,no,Acme," for i in range(4)]


pytestmark = pytest.mark.usefixtures("python_gc_thresholds")


def _import(
    engine: Engine, settings: Settings, path: Path, seen: list[tuple[int, ...]], stop: bool
) -> None:
    def progress(_done: int, _total: int) -> None:
        seen.append(gc.get_threshold())
        if stop:
            raise KeyboardInterrupt

    options = ImportOptions(errors_path=path.with_suffix(".errors.csv"), batch_size=2)
    import_csv(engine, settings, path, "activities", options=options, progress=progress)


def test_an_import_raises_the_thresholds_and_puts_them_back(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path / "a.csv", "\n".join([HEADER, *ROWS]) + "\n")
    seen: list[tuple[int, ...]] = []
    _import(engine, settings, path, seen, stop=False)
    # Two batches of two rows each say their progress, and the end once more.
    assert seen == [(50_000, 10, 10)] * 3
    assert gc.get_threshold() == (700, 10, 10)


def test_a_failed_import_puts_them_back_too(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path / "a.csv", "\n".join([HEADER, *ROWS]) + "\n")
    seen: list[tuple[int, ...]] = []
    with pytest.raises(KeyboardInterrupt):
        _import(engine, settings, path, seen, stop=True)
    assert seen[0] == (50_000, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_threshold_set_higher_is_kept_and_overlapping_imports_restore_once() -> None:
    gc.set_threshold(100_000, 5, 20)
    with ExitStack() as first:
        first.enter_context(fewer_collections())
        assert gc.get_threshold() == (100_000, 10, 20)
        second = ExitStack()
        second.enter_context(fewer_collections())
        first.close()  # the first import ends while the second still runs
        assert gc.get_threshold() == (100_000, 10, 20)
        second.close()
    assert gc.get_threshold() == (100_000, 5, 20)
