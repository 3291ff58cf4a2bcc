"""Mappings that ship inside the package, by short name (`hubspot:deals`), and the layout of
each CRM's export folder (`paceline import folder`).

A user of a supported CRM should not have to find or copy a mapping file: `--mapping
hubspot:deals` names `mappings/hubspot/deals.toml` in this package. A path to a file that
exists always wins, so a file called "hubspot:deals" in the working directory is still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paceline.ingest.mapping import Entity, MappingError

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
        raise MappingError(f"--crm {crm!r}: known: {', '.join(FOLDERS)}")
    found = [(step, folder / step.file) for step in FOLDERS[crm] if (folder / step.file).is_file()]
    if not found:
        names = ", ".join(step.file for step in FOLDERS[crm])
        raise MappingError(f"{folder}: none of the {crm} export files is there ({names})")
    for step, _path in found:
        if step.pipelines and step.entity == "deals" and not (folder / step.pipelines).is_file():
            raise MappingError(
                f"{folder}: {step.file} needs {step.pipelines} (the pipeline definition) next to it"
            )
    return found
