"""The test suite's own layout: builders shared through `factories`, never test file to test file.

A test file that imports another one runs that file's module-level code (and drags its fixtures
along) and breaks when the other file moves; the shared builders live in `tests/factories.py`
and the shared fixtures in `tests/conftest.py`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src" / "paceline"
# What the Makefile's `test` target greps for to find the files of the tests marked `dated`.
DATED_FILE_MARK = "mark.dated"


def _test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in the file (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _is_test_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last in {"conftest", "helpers"}


# A module an import names is written on the logical line that starts with `import` or `from`
# (only backslashes continue it: `import (...)` is not Python, and the names in `from x import
# (...)` are not modules). A file with no such line naming a test module is not parsed:
# parsing all of tests/ took some 1.8 CPU s of each run, and 7 of its 238 files hold one.
MAY_IMPORT_A_TEST_MODULE = re.compile(
    r"\b(?:from|import)\b(?:[^\n\\]|\\[\s\S])*?\b(?:test_\w*|conftest|helpers)\b"
)


def _test_modules_imported(path: Path) -> list[str]:
    """The test modules (or conftest) `path` imports, in name order."""
    if MAY_IMPORT_A_TEST_MODULE.search(path.read_text("utf-8")) is None:
        return []
    return sorted(module for module in _imported_modules(path) if _is_test_module(module))


def offending_imports(files: list[Path]) -> list[str]:
    """`file: module` for each import of a test module (or conftest) by a file under tests/."""
    return [
        f"{path.relative_to(TESTS)}: {module}"
        for path in files
        for module in _test_modules_imported(path)
    ]


def test_no_test_file_imports_another() -> None:
    assert offending_imports(_test_files()) == []


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from test_funnel import quick_user\n", True),
        ("def f():\n    import test_web\n", True),
        ("from conftest import ZOHO_EXPORT\n", True),
        ("from tests.analytics.test_funnel import quick_user\n", True),
        ("from factories import quick_user\nimport pytest\n", False),
        ("from paceline.analytics import funnel\n", False),
        ("import os, \\\n    test_funnel\n", True),
        ("from \\\n    tests.web.test_web import client\n", True),
        ("if True: import os; import conftest\n", True),
        ("from factories import (\n    build_team,\n)\n\ndef test_x():\n    pass\n", False),
    ],
)
def test_the_check_catches_a_test_file_import(tmp_path: Path, source: str, caught: bool) -> None:
    """The check itself, on planted files: it would fail the suite on each of these imports,
    however the line is split (the files it leaves unparsed hold none)."""
    target = tmp_path / "test_planted.py"
    target.write_text(source, encoding="utf-8")
    assert bool(_test_modules_imported(target)) is caught


def test_test_folders_mirror_the_packages() -> None:
    """Each folder of tests/ is named for a package of src/paceline (tests/analytics/ ...),
    except tests/faults/: the fault-injection suite (marked `faults`), which crosses them."""
    folders = {
        p.name
        for p in TESTS.iterdir()
        if p.is_dir() and p.name not in {"__pycache__", "screenshots", "faults"}
    }
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert folders and folders <= packages, folders - packages


def test_every_test_marked_dated_is_in_a_file_that_names_the_marker(
    request: pytest.FixtureRequest,
) -> None:
    """`make test` runs the tests marked `dated` again at four days, each day collecting only
    the test files in which `mark.dated` appears (`grep -l`; collecting the whole suite cost
    each day more than its tests, and the word `dated` alone matched five files with no
    dated test). A test marked some other way (by a hook, say) would be left out of those
    days without a word: this fails instead. Checked on the tests this run collected, which
    in `make test` is all of them."""
    marked = {item.path for item in request.session.items if item.get_closest_marker("dated")}
    unnamed = [
        str(path.relative_to(TESTS))
        for path in sorted(marked)
        if DATED_FILE_MARK not in path.read_text("utf-8")
    ]
    assert unnamed == []
