"""The README starts with the two commands; docs/import.md documents the generic CSV columns
the code really accepts, entity by entity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paceline.ingest.entities import ENTITY_FIELDS, required_fields
from paceline.ingest.mapping import ENTITIES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
IMPORT_DOC = (ROOT / "docs" / "import.md").read_text("utf-8")


@pytest.mark.parametrize("entity", ENTITIES)
def test_generic_columns_are_documented(entity: str) -> None:
    section = IMPORT_DOC.split(f"**{entity}**", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `(\w+)` \| (yes)? *\|", section, flags=re.MULTILINE)
    assert [name for name, _ in rows] == [f.name for f in ENTITY_FIELDS[entity]]  # type: ignore[index]
    assert [name for name, req in rows if req] == required_fields(entity)  # type: ignore[arg-type]


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```", 2)[1]
    assert "make demo" in first_block and "make test" in first_block


def test_readme_keeps_a_short_performance_section() -> None:
    """Headline figures and how to reproduce them; the full tables live with the benchmarks."""
    section = README.split("## Performance", 1)[1].split("\n## ", 1)[0]
    assert "make bench" in section and "(benchmarks/README.md)" in section
