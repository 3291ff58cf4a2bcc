"""Mappings that ship inside the package, by short name (`hubspot:deals`).

A user of a supported CRM should not have to find or copy a mapping file: `--mapping
hubspot:deals` names `mappings/hubspot/deals.toml` in this package. A path to a file that
exists always wins, so a file called "hubspot:deals" in the working directory is still read.
"""

from __future__ import annotations

from pathlib import Path

from paceline.ingest.mapping import MappingError

MAPPINGS_DIR = Path(__file__).parent / "mappings"


def shipped_mappings() -> list[str]:
    """Every shipped mapping's short name, e.g. "hubspot:deals", sorted."""
    return sorted(f"{p.parent.name}:{p.stem}" for p in MAPPINGS_DIR.glob("*/*.toml"))


def mapping_path(given: str) -> Path:
    """The mapping file `given` names: an existing file, or a shipped mapping "crm:name"."""
    path = Path(given)
    if path.is_file():
        return path
    crm, colon, name = given.partition(":")
    if colon and crm and name and "/" not in given and "\\" not in given:
        shipped = MAPPINGS_DIR / crm / f"{name}.toml"
        if shipped.is_file():
            return shipped
        raise MappingError(
            f"--mapping {given!r}: no shipped mapping of that name; shipped: "
            f"{', '.join(shipped_mappings())}"
        )
    raise MappingError(f"--mapping {given!r}: no such file")
