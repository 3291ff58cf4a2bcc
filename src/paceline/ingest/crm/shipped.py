"""Mappings that ship inside the package, named `CRM:OBJECT` (`salesforce:Task`,
`hubspot:deals`), and the layout of each CRM's export folder (`paceline import folder`).

A user of a supported CRM should not have to find or copy a mapping file: `--mapping
salesforce:Task` names `mappings/salesforce/Task.toml` in this package (the object's case
does not matter), so the mappings install with Paceline and need no checkout of the
examples. A path to a file that exists always wins, so a file called "hubspot:deals" in the
working directory is still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paceline.ingest.sources import Entity

if TYPE_CHECKING:  # the mapping's Pydantic models load with the first mapping read: the
    # built-in HubSpot and Pipedrive plugins name FolderStep, and `paceline --help` loads them
    from paceline.ingest.mapping import Mapping

MAPPINGS_DIR = Path(__file__).parent / "mappings"


def shipped_mappings() -> dict[str, list[str]]:
    """Every shipped mapping name by CRM: {"salesforce": ["Account", ...], ...}."""
    found: dict[str, list[str]] = {}
    for path in sorted(MAPPINGS_DIR.glob("*/*.toml")):
        found.setdefault(path.parent.name, []).append(path.stem)
    return {crm: sorted(objects) for crm, objects in sorted(found.items())}


def shipped_names() -> list[str]:
    """Every shipped mapping's full name, e.g. "hubspot:deals", sorted."""
    return [f"{crm}:{obj}" for crm, objects in shipped_mappings().items() for obj in objects]


def shipped_mapping_path(name: str) -> Path | None:
    """The file of the shipped mapping `crm:Object` (any case), or None when there is none."""
    crm, sep, obj = name.partition(":")
    if not sep or "/" in name or "\\" in name:
        return None
    for candidate in shipped_mappings().get(crm.strip().lower(), []):
        if candidate.lower() == obj.strip().lower():
            return MAPPINGS_DIR / crm.strip().lower() / f"{candidate}.toml"
    return None


def mapping_path(given: str) -> Path:
    """The mapping file `given` names: an existing file, or a shipped mapping "crm:Object"."""
    path = Path(given)
    if path.is_file():
        return path
    shipped = shipped_mapping_path(given)
    if shipped is not None:
        return shipped
    if ":" in given and "/" not in given:
        raise _refused(
            f"--mapping {given!r}: no mapping file {given!r}, and it is not a shipped mapping "
            f"(shipped: {', '.join(shipped_names())})"
        )
    raise _refused(f"--mapping {given!r}: no such file")


def resolve_mapping(name: str) -> Mapping:
    """A mapping by file path or shipped name (`mapping_path`), loaded."""
    from paceline.ingest.mapping import load_mapping

    return load_mapping(mapping_path(name))


def _refused(message: str) -> Exception:
    """A `MappingError` (a user's error) saying `message`."""
    from paceline.ingest.mapping import MappingError

    return MappingError(message)


@dataclass(frozen=True)
class FolderStep:
    """One file of a CRM export folder: what it holds and how it imports."""

    file: str  # its name in the folder
    entity: Entity
    mapping: str  # a shipped mapping's short name
    pipelines: str | None = None  # the companion files it reads, by name in the folder
    owners: str | None = None


# Each CRM's export folder, in the order that lets links resolve: reps before what they own,
# accounts and deals before the activities that link to them.
FOLDERS: dict[str, tuple[FolderStep, ...]] = {
    "hubspot": (
        FolderStep("owners.json", "reps", "hubspot:owners"),
        FolderStep("companies.json", "accounts", "hubspot:companies"),
        FolderStep("deals.json", "deals", "hubspot:deals", "pipelines.json", "owners.json"),
        *(
            FolderStep(f"{kind}.json", "activities", f"hubspot:{kind}", None, "owners.json")
            for kind in ("calls", "meetings", "emails", "tasks")
        ),
    ),
    "pipedrive": (
        FolderStep("users.json", "reps", "pipedrive:users"),
        FolderStep("deals.json", "deals", "pipedrive:deals", "stages.json"),
        FolderStep("activities.json", "activities", "pipedrive:activities", None, "users.json"),
    ),
    "close": (
        FolderStep("users.json", "reps", "close:users"),
        FolderStep("opportunities.json", "deals", "close:opportunities"),
        FolderStep("activities.json", "activities", "close:activities"),
    ),
}


def folder_steps(crm: str, folder: Path) -> list[tuple[FolderStep, Path]]:
    """The steps whose file is in `folder`, in order; an error when none is, or when a file
    is there without the companion file it needs."""
    if crm not in FOLDERS:
        raise _refused(f"--crm {crm!r}: known: {', '.join(FOLDERS)}")
    found = [(step, folder / step.file) for step in FOLDERS[crm] if (folder / step.file).is_file()]
    if not found:
        names = ", ".join(step.file for step in FOLDERS[crm])
        raise _refused(f"{folder}: none of the {crm} export files is there ({names})")
    for step, _path in found:
        if step.pipelines and step.entity == "deals" and not (folder / step.pipelines).is_file():
            raise _refused(
                f"{folder}: {step.file} needs {step.pipelines} (the pipeline definition) next to it"
            )
    return found
