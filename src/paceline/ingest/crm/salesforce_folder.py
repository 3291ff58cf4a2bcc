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

An export that cannot import whole has two ways forward short of re-exporting, both said by
the user, never assumed: `--skip FILE` leaves a file out (a second file for an object, or an
object the export cannot give, such as deals without CreatedDate), and `--owner NAME` credits
every row of a file that has no OwnerId column to that rep. `plan_folder` decides all of it
before anything is written (which files, which are left out and why, which rows go to the
named owner) and checks every file it keeps, so the plan a user is shown is what happens: a
refused file refuses the whole folder, never half of it.
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
    export_object,
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


@dataclass(frozen=True)
class LeftOut:
    """A file of the folder that is not imported, and why (today always the user's --skip)."""

    file: str
    object: str | None  # the object it holds, when the file says (None: not an export file)
    reason: str


@dataclass(frozen=True)
class FolderPlan:
    """What a folder import will do, decided and checked before anything is written."""

    folder: Path
    files: dict[str, Path]  # object -> its file, every one opened and its columns checked
    left_out: list[LeftOut]
    owner: str = ""  # the --owner rep
    owner_files: list[str] = field(default_factory=list)  # files whose rows all go to it
    # The deal, task and event files whose OwnerId names each row's owner: --owner credits
    # none of their rows, said once for the folder (not once per file).
    owner_unused: list[str] = field(default_factory=list)

    @property
    def wanted(self) -> list[str]:
        return [obj for obj in IMPORT_ORDER if obj in self.files]

    @property
    def left_objects(self) -> set[str]:
        return {item.object for item in self.left_out if item.object}


@dataclass
class FolderImport:
    """What a folder import did: one result per object file, in the order imported."""

    folder: str
    results: list[tuple[str, ImportResult]] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # objects the folder has no file for
    stopped_after: str | None = None  # the object whose failed import stopped the rest
    left_out: list[LeftOut] = field(default_factory=list)  # files not imported, and why
    owner: str = ""  # the rep credited with every row of `owner_files` (--owner)
    owner_files: list[str] = field(default_factory=list)
    owner_unused: list[str] = field(default_factory=list)  # as `FolderPlan.owner_unused`

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


def plan_folder(
    settings: Settings,
    folder: Path,
    options: ImportOptions | None = None,
    skip: tuple[str, ...] = (),
    owner: str = "",
) -> FolderPlan:
    """Which files of `folder` are imported, which are left out (`skip`: file names) and
    which have every row credited to `owner`; every kept file is opened and its columns
    checked, so an ImportFileError here means nothing was written."""
    options = options or ImportOptions()
    skip = tuple(dict.fromkeys(skip))  # a file named twice is left out once
    names = {p.name for p in folder.iterdir() if p.is_file()}
    unknown = [name for name in skip if name not in names]
    if unknown:
        raise ImportFileError(
            f"--skip {unknown[0]}: no file of that name in {folder} (name a file, e.g. "
            f"{', '.join(sorted(names)[:4]) or 'Task.csv'})"
        )
    owner = " ".join(owner.split())
    skipped = frozenset(skip)
    files = find_export(folder, skip=skipped)
    wanted = [obj for obj in IMPORT_ORDER if obj in files]
    if not wanted:
        raise ImportFileError(
            f"{folder}: no Salesforce export files (looked for "
            f"{', '.join(f'{o}.csv' for o in IMPORT_ORDER)} and SFDX tree .json files"
            f"{', less the ones --skip names' if skip else ''})"
        )
    check_stages(files, settings)
    read = ReadOptions(encoding=options.encoding or "utf-8-sig")
    owners = _owners(files, read, owner)
    owner_files, owner_unused = [], []
    for obj in wanted:  # every file opens and has its columns, or nothing is written
        table = open_export(files[obj], read, owners)
        if table.fixed_owner:
            owner_files.append(files[obj].name)
        elif table.owner_ignored and table.sobject.owner_required:
            owner_unused.append(files[obj].name)
        table.close()
    left_out = [LeftOut(name, export_object(folder / name), "--skip") for name in skip]
    return FolderPlan(folder, files, left_out, owner, owner_files, owner_unused)


def _owners(files: dict[str, Path], read: ReadOptions, owner: str) -> Owners:
    if "User" not in files:
        return Owners(None, fixed=owner)
    return Owners(user_names(files["User"], read), files["User"].name, owner)


def import_folder(
    engine: Engine,
    settings: Settings,
    folder: Path,
    options: ImportOptions | None = None,
    errors_dir: Path | None = None,
    on_file: Callable[[str, Path], None] | None = None,
    plan: FolderPlan | None = None,
) -> FolderImport:
    """Import every Salesforce object file in `folder` as `plan` says (by default: every
    file, none left out, no --owner); see the module docstring."""
    options = options or ImportOptions()
    plan = plan or plan_folder(settings, folder, options)
    files, wanted = plan.files, plan.wanted
    read = ReadOptions(encoding=options.encoding or "utf-8-sig")
    owners = _owners(files, read, plan.owner)
    outcome = FolderImport(
        str(folder),
        absent=[o for o in IMPORT_ORDER if o not in files and o not in plan.left_objects],
        left_out=plan.left_out,
        owner=plan.owner if plan.owner_files else "",
        owner_files=plan.owner_files,
        owner_unused=plan.owner_unused if plan.owner_files else [],
    )
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

    return ImportSource(SOURCE, "Salesforce export folder", open_with_owners, takes_owner=True)


__all__ = [
    "OBJECTS",
    "FolderImport",
    "FolderPlan",
    "LeftOut",
    "check_stages",
    "import_folder",
    "plan_folder",
]
