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

Entity = Literal["activities", "deals", "reps", "accounts", "contacts"]
ENTITIES: tuple[Entity, ...] = ("activities", "deals", "reps", "accounts", "contacts")


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
    unit: Literal["minutes", "seconds", "hours"] | None = None
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
        return Mapping.model_validate(data)
    except ValidationError as exc:
        details = "\n".join(
            f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise MappingError(f"{path}: invalid mapping file\n{details}") from exc


def generic_mapping(entity: Entity, header: list[str], fields: list[str]) -> Mapping:
    """The documented generic format: columns named exactly like Paceline's fields."""
    present = [f for f in fields if f in header]
    return Mapping(entity=entity, columns={f: f for f in present})
