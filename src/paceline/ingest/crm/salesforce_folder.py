"""One command for a whole Salesforce export folder: every object file, in dependency order.

`paceline import salesforce DIR` finds the User, Account, Contact, Opportunity,
OpportunityHistory, Task and Event files of an export (CSV or SFDX tree JSON) and imports
them in that order, each through the ordinary import with its shipped mapping, so owners
exist before what they own, and deals before their history and activities. Every file keeps
the import's guarantees (row accounting, errors file, whole batches, idempotent re-runs);
the folder's summary adds them up.

Before anything is written, every file is opened and checked (its object's columns), and
when the export holds the stage picklist (OpportunityStage.csv) its stages are checked
against the configuration: a folder that cannot import whole does not import half.
A file that fails (every row rejected, or more than --max-rejected) stops the import there,
as the files after it depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine

from paceline.config import Settings
from paceline.ingest.accounting import ImportOptions, ImportResult
from paceline.ingest.crm.salesforce import (
    IMPORT_ORDER,
    OBJECTS,
    SOURCE,
    Owners,
    find_export,
    open_export,
    picklist_stages,
    stages_toml,
    user_names,
)
from paceline.ingest.crm.shipped import resolve_mapping
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.entities import slug
from paceline.ingest.importer import import_file
from paceline.ingest.sources import ImportSource, ReadOptions, RowTable

COUNTS = ("read", "inserted", "updated", "unchanged", "duplicate", "skipped", "rejected")


@dataclass
class FolderImport:
    """What a folder import did: one result per object file, in the order imported."""

    folder: str
    results: list[tuple[str, ImportResult]] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # objects the folder has no file for
    stopped_after: str | None = None  # the object whose failed import stopped the rest

    @property
    def totals(self) -> dict[str, int]:
        return {name: sum(getattr(r, name) for _, r in self.results) for name in COUNTS}

    @property
    def failed(self) -> bool:
        return self.stopped_after is not None


def check_stages(folder_files: dict[str, Path], settings: Settings) -> None:
    """Refuse a folder whose stage picklist has stages the configuration lacks, before any
    write, with the `[[stages]]` entries that would make it importable."""
    picklist = folder_files.get("OpportunityStage")
    if picklist is None:
        return
    stages = picklist_stages(picklist)
    missing = [s.label for s in stages if slug(s.label) not in settings.stage_status]
    if not missing:
        return
    raise ImportFileError(
        f"{picklist.name}: {len(missing)} Salesforce stage(s) are not stages of the "
        f"configuration: {', '.join(missing)}. Put these entries in paceline.toml in place "
        "of its [[stages]] (or map the stages in a copy of the salesforce:Opportunity "
        f"mapping), then import again:\n\n{stages_toml(stages, slug)}\n"
    )


def import_folder(
    engine: Engine,
    settings: Settings,
    folder: Path,
    options: ImportOptions | None = None,
    errors_dir: Path | None = None,
    on_file: Callable[[str, Path], None] | None = None,
) -> FolderImport:
    """Import every Salesforce object file in `folder`; see the module docstring."""
    options = options or ImportOptions()
    files = find_export(folder)
    wanted = [obj for obj in IMPORT_ORDER if obj in files]
    if not wanted:
        raise ImportFileError(
            f"{folder}: no Salesforce export files (looked for "
            f"{', '.join(f'{o}.csv' for o in IMPORT_ORDER)} and SFDX tree .json files)"
        )
    check_stages(files, settings)
    read = ReadOptions(encoding=options.encoding or "utf-8-sig")
    owners = (
        Owners(user_names(files["User"], read), files["User"].name)
        if "User" in files
        else Owners(None)
    )
    for obj in wanted:  # every file opens and has its columns, or nothing is written
        open_export(files[obj], read, owners).close()
    outcome = FolderImport(str(folder), absent=[o for o in IMPORT_ORDER if o not in files])
    errors_dir = errors_dir or Path.cwd()
    for obj in wanted:
        path = files[obj]
        if on_file is not None:
            on_file(obj, path)
        reader = _reader_with(owners)
        mapping = resolve_mapping(f"{SOURCE}:{obj}")
        result = import_file(
            engine,
            settings,
            path,
            mapping.entity,
            mapping,
            replace(options, errors_path=errors_dir / f"{obj}.errors.csv"),
            None,
            reader,
        )
        outcome.results.append((obj, result))
        if result.failure is not None:
            outcome.stopped_after = obj
            break
    return outcome


def _reader_with(owners: Owners) -> ImportSource:
    """A reader of either layout that resolves owners from the folder's User file."""

    def open_with_owners(path: Path, options: ReadOptions) -> RowTable:
        return open_export(path, options, owners)

    return ImportSource(SOURCE, "Salesforce export folder", open_with_owners)


__all__ = ["OBJECTS", "FolderImport", "check_stages", "import_folder"]
