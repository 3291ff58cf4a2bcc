"""A test the documentation cites as proof exists: `tests/x.py` and `tests/x.py::name` in any
page of docs/ or the README name a file and a test function that are there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)?)`|`(::\w+)`")


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_cited_test_exists() -> None:
    missing = []
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for line in page.read_text("utf-8").splitlines():
            last: Path | None = None  # "`tests/a.py::x`, `::y`": y is in tests/a.py too
            for file, name, bare in CITED.findall(line):
                if file:
                    last = ROOT / file
                    if not last.is_file():
                        missing.append(f"{page.name}: {file}")
                        continue
                name = name or bare
                known = last is not None and last.is_file()
                if name and known and name[2:] not in _functions(last):  # type: ignore[arg-type]
                    missing.append(f"{page.name}: {last}{name}")
    assert missing == []
