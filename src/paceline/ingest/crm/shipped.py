"""Mappings that ship inside the package, by short name (`hubspot:deals`), and the readers
of each source's pipeline definition (for `paceline import stages`).

A user of a supported CRM should not have to find or copy a mapping file: `--mapping
hubspot:deals` names `mappings/hubspot/deals.toml` in this package. A path to a file that
exists always wins, so a file called "hubspot:deals" in the working directory is still read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from paceline.ingest.crm import close
from paceline.ingest.crm.hubspot import read_pipelines
from paceline.ingest.crm.jsonrows import CrmStage
from paceline.ingest.crm.pipedrive import read_stages
from paceline.ingest.mapping import MappingError

MAPPINGS_DIR = Path(__file__).parent / "mappings"

# Import source -> how it reads its CRM's pipeline definition (stage ids, labels, statuses).
PIPELINE_READERS: dict[str, Callable[[Path], list[CrmStage]]] = {
    "hubspot-json": read_pipelines,
    "pipedrive-json": read_stages,
    "close-json": close.read_pipelines,
}


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
