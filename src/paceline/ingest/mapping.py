"""Mapping files: how the columns of somebody else's CSV become Paceline fields.

A mapping is TOML, validated like the configuration. It names, per Paceline field, the source
column (or a fixed value, a value map, a unit, a key made of several columns), plus the file's
delimiter, encoding, time zone and date formats. The generic CSV format is simply the mapping
where every field reads the column of the same name.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from paceline.ingest.entity_names import ENTITIES as ENTITIES  # defined alone, so the
from paceline.ingest.entity_names import Entity as Entity  # CLI lists them without Pydantic


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the key."""


class ColumnSpec(BaseModel):
    """Where one Paceline field comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    columns: list[str] | None = Field(default=None, min_length=1)
    value: str | None = None
    map: dict[str, str] = Field(default_factory=dict)
    otherwise: str | None = None
    default: str | None = None
    unit: Literal["minutes", "seconds", "milliseconds", "hours"] | None = None
    # The column holds calendar dates (any time printed with them is ignored): the value
    # counts on the date written, whatever the file's time zone.
    date_only: bool = False

    @model_validator(mode="after")
    def _one_origin(self) -> Self:
        origins = [o for o in (self.column, self.columns, self.value) if o is not None]
        if len(origins) != 1:
            raise ValueError("give exactly one of `column`, `columns` or `value`")
        return self

    @property
    def source_columns(self) -> list[str]:
        if self.column is not None:
            return [self.column]
        return list(self.columns or [])


class Mapping(BaseModel):
    """A whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: Entity
    source: str = Field(default="csv", min_length=1, max_length=64)
    # The import source that reads this mapping's files when --from does not name one: a
    # mapping written against a CRM reader's columns is useless with any other reader.
    reader: str | None = Field(default=None, min_length=1, max_length=64)
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8-sig"
    timezone: str | None = None
    date_formats: list[str] = Field(default_factory=list)
    columns: dict[str, str | ColumnSpec] = Field(default_factory=dict)
    constants: dict[str, str | int | float | bool] = Field(default_factory=dict)
    skip: dict[str, list[str]] = Field(default_factory=dict)

    def specs(self) -> dict[str, ColumnSpec]:
        """Every field's spec, constants included, in one form."""
        specs = {
            name: spec if isinstance(spec, ColumnSpec) else ColumnSpec(column=spec)
            for name, spec in self.columns.items()
        }
        for name, constant in self.constants.items():
            if name in specs:
                raise MappingError(f"field {name!r} is both in [columns] and [constants]")
            text = ("yes" if constant else "no") if isinstance(constant, bool) else str(constant)
            specs[name] = ColumnSpec(value=text)
        return specs


def load_mapping(path: Path) -> Mapping:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot read mapping file: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from exc
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        details = "\n".join(
            f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise MappingError(f"{path}: invalid mapping file\n{details}") from exc
    problems = misplaced_date_only(mapping)
    if problems:
        details = "\n".join(f"  {problem}" for problem in problems)
        raise MappingError(f"{path}: invalid mapping file\n{details}")
    return mapping


def misplaced_date_only(mapping: Mapping) -> list[str]:
    """`date_only = true` on a field that is not a timestamp, one sentence each.

    It would be silently ignored there, and whoever wrote it believed it changed how the
    column is read; so the file is refused rather than imported under a wrong belief.
    Fields the entity does not have are left to the import's unknown-field error."""
    from paceline.ingest.entities import ENTITY_FIELDS  # entities builds on this module

    kinds = {f.name: f.kind for f in ENTITY_FIELDS[mapping.entity]}
    stamped = [name for name, kind in kinds.items() if kind == "timestamp"]
    allowed = (
        f"only for the {mapping.entity} timestamp fields ({', '.join(stamped)})"
        if stamped
        else f"for timestamp fields, and {mapping.entity} have none"
    )
    problems = []
    for name, spec in mapping.columns.items():
        kind = kinds.get(name)
        if not isinstance(spec, ColumnSpec) or not spec.date_only or kind in (None, "timestamp"):
            continue
        read_as = "already read as a calendar date" if kind == "date" else "not a date at all"
        problems.append(
            f"columns.{name}: date_only = true on {_origin(spec)}, but {name} is a "
            f"{kind} field ({read_as}); date_only is {allowed}: remove it"
        )
    return problems


def _origin(spec: ColumnSpec) -> str:
    """Where a field's value comes from, as a mapping's author would name it."""
    if spec.value is not None:
        return f"the constant {spec.value!r}"
    columns = spec.source_columns
    return ("column " if len(columns) == 1 else "columns ") + ", ".join(map(repr, columns))


def generic_mapping(entity: Entity, header: list[str], fields: list[str]) -> Mapping:
    """The documented generic format: columns named like Paceline's fields, in any case.

    A spreadsheet's "Rep" or "KIND" is the field it names; refusing it as a missing column
    sent people to write a mapping for a capital letter. A column named exactly like the field
    wins; two that differ only in case (and none exact) match neither, so the import says
    the column is missing instead of guessing which one was meant."""
    by_lower: dict[str, list[str]] = {}
    for column in header:
        by_lower.setdefault(column.lower(), []).append(column)
    columns: dict[str, str] = {}
    for field in fields:
        if field in header:
            columns[field] = field
        elif len(found := by_lower.get(field, [])) == 1:
            columns[field] = found[0]
    return Mapping(entity=entity, columns=columns)
