"""Mapping files shipped inside the package, named `CRM:OBJECT` (e.g. `salesforce:Task`).

A user names a shipped mapping exactly as a file (`--mapping salesforce:Task`); the files
live in `paceline/ingest/crm/mappings/<crm>/<Object>.toml`, so they install with Paceline
and need no checkout of the examples.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from paceline.ingest.mapping import Mapping, MappingError, load_mapping

PACKAGE = "paceline.ingest.crm"


def shipped_mappings() -> dict[str, list[str]]:
    """Every shipped mapping name by CRM: {"salesforce": ["Account", ...]}."""
    root = resources.files(PACKAGE) / "mappings"
    found: dict[str, list[str]] = {}
    for crm in sorted(root.iterdir(), key=lambda p: p.name):
        if crm.is_dir():
            found[crm.name] = sorted(
                f.name.removesuffix(".toml") for f in crm.iterdir() if f.name.endswith(".toml")
            )
    return found


def shipped_mapping_path(name: str) -> Path | None:
    """The file of a shipped mapping `crm:Object`, or None when `name` is not one."""
    crm, sep, obj = name.partition(":")
    if not sep:
        return None
    for known, objects in shipped_mappings().items():
        if known == crm.strip().lower():
            for candidate in objects:
                if candidate.lower() == obj.strip().lower():
                    path = resources.files(PACKAGE) / "mappings" / known / f"{candidate}.toml"
                    return Path(str(path))
    return None


def resolve_mapping(name: str) -> Mapping:
    """A mapping by file path or shipped name; a MappingError says which names exist."""
    path = Path(name)
    if path.is_file():
        return load_mapping(path)
    shipped = shipped_mapping_path(name)
    if shipped is not None:
        return load_mapping(shipped)
    names = [f"{crm}:{obj}" for crm, objects in shipped_mappings().items() for obj in objects]
    raise MappingError(
        f"no mapping file {name!r}, and it is not a shipped mapping (shipped: {', '.join(names)})"
    )
