"""The README documents the generic CSV columns the code really accepts, entity by entity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paceline.ingest.entities import ENTITY_FIELDS, required_fields
from paceline.ingest.mapping import ENTITIES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


@pytest.mark.parametrize("entity", ENTITIES)
def test_generic_columns_are_documented(entity: str) -> None:
    section = README.split(f"**{entity}**", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `(\w+)` \| (yes)? *\|", section, flags=re.MULTILINE)
    assert [name for name, _ in rows] == [f.name for f in ENTITY_FIELDS[entity]]  # type: ignore[index]
    assert [name for name, req in rows if req] == required_fields(entity)  # type: ignore[arg-type]


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```", 2)[1]
    assert "make demo" in first_block and "make test" in first_block
