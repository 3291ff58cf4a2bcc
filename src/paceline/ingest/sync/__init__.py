"""Live CRM syncs: `paceline sync SOURCE` pulls what changed through the CRM's REST API and
imports it exactly as a saved export would be imported.

How a sync runs (`run_sync`):

1. It records itself (`sync_run`, status running) and reads the source's cursors: per
   object (deals, calls ...), the latest modification time the last finished sync fetched.
2. **Fetch.** The connector pages through the API, asking only for records changed since
   each cursor (everything on a first or `--full` sync), and saves the pages in a private
   temporary folder in the layout of that CRM's export folder (`deals.json`, `owners.json`
   ...). Rate limits and transient failures are retried (`http.Client`); a request that
   fails for good fails the sync here, before anything is written.
3. **Import.** Each saved file is imported by the CRM's import source (`hubspot-json` ...,
   found through the import-source plugin seam) with its shipped mapping (`hubspot:deals`
   ...): the same checks, row accounting, errors files, `import_run` records and
   idempotency as `paceline import folder`. A record fetched twice is `unchanged`.
4. **Finish.** Only when every import ended `done` do the cursors move, in the same
   transaction that records the sync `done`; otherwise the sync is `failed` with the
   reason and the cursors stay, so the next sync fetches the same changes again (and the
   imports, being idempotent, double nothing).

A connector is declared on its import source (`ImportSource.sync`), so a plugin adds a
connector the way it adds a reader.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from paceline.errors import UserInputError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from paceline.config import Settings
    from paceline.ingest.accounting import ImportResult
    from paceline.ingest.crm.shipped import FolderStep
    from paceline.ingest.sources import ImportSource
    from paceline.ingest.sync.http import Client, Sleep


@dataclass
class Fetched:
    """What a connector's fetch brought: the files to import, in order, and the cursors the
    sync may move to once they are imported."""

    steps: list[FolderStep] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)  # object -> new high-water mark
    records: int = 0


class Connector(Protocol):
    """A CRM's live sync: where its API is, how it authenticates, and how it fetches."""

    name: str  # what `paceline sync` takes: "hubspot"
    base_url: str
    token_env: str  # the environment variable holding the token, by default

    def client(self, token: str, base_url: str, sleep: Sleep) -> Client:
        """An HTTP client authenticated with `token`."""
        ...

    def fetch(
        self, client: Client, cursors: dict[str, str], folder: Path, page_size: int
    ) -> Fetched:
        """Save the records changed since `cursors` (all of them for a missing cursor) into
        `folder`, in the CRM's export-folder layout; raise `SyncHttpError` on a failure."""
        ...


@dataclass
class SyncResult:
    """One sync: its record, what was fetched and what each import did."""

    source: str
    run_id: int
    full: bool
    status: str = "running"
    failure: str | None = None
    fetched: int = 0
    requests: int = 0
    waited_seconds: float = 0.0
    cursors_before: dict[str, str] = field(default_factory=dict)
    cursors_after: dict[str, str] = field(default_factory=dict)
    imports: list[ImportResult] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        names = ("read", "inserted", "updated", "unchanged", "duplicate", "skipped", "rejected")
        return {n: sum(getattr(r, n) for r in self.imports) for n in names}


def write_page_file(path: Path, envelope: str, records: list[dict[str, Any]]) -> None:
    """Save fetched records as one response page (`{"results": [...]}`), which the CRM's
    import source reads like a saved API answer."""
    path.write_text(json.dumps({envelope: records}), "utf-8")


def token_for(connector: Connector, settings: Settings) -> str:
    """The API token, from the environment variable the configuration names (default the
    connector's); never from the configuration file, never printed."""
    configured = settings.sync.get(connector.name)
    variable = (configured.token_env if configured else None) or connector.token_env
    value = os.environ.get(variable, "").strip()
    if not value:
        raise UserInputError(
            f"sync {connector.name}: no API token: set the environment variable {variable}"
        )
    return value


def run_sync(
    engine: Engine,
    settings: Settings,
    connector: Connector,
    reader_for: Callable[[str], ImportSource],
    full: bool = False,
    errors_dir: Path | None = None,
    sleep: Sleep | None = None,
) -> SyncResult:
    """Fetch what changed, import it, move the cursors: see the module docstring."""
    import time

    from paceline.ingest.crm.shipped import resolve_mapping
    from paceline.ingest.csvfile import ImportFileError
    from paceline.ingest.importer import ImportOptions, import_file
    from paceline.ingest.mapping import MappingError
    from paceline.ingest.sync.http import SyncHttpError
    from paceline.store import syncs

    configured = settings.sync.get(connector.name)
    token = token_for(connector, settings)
    base_url = (configured.base_url if configured else None) or connector.base_url
    page_size = configured.page_size if configured else 100
    folder_for_errors = errors_dir or Path((configured.errors_dir if configured else None) or ".")
    before = {} if full else syncs.cursors(engine, connector.name)
    run_id = syncs.start_run(engine, connector.name, full)
    result = SyncResult(connector.name, run_id, full, cursors_before=dict(before))
    client = connector.client(token, base_url, sleep or time.sleep)
    failure: str | None = None
    moved: dict[str, str] = {}
    try:
        # The folder's name says which sync it was, in each import_run's file name.
        prefix = f"paceline-sync-{connector.name}-run{run_id}-"
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            staging = Path(tmp)
            try:
                fetched = connector.fetch(client, dict(before), staging, page_size)
            except SyncHttpError as exc:
                failure = f"fetching: {exc}"
                fetched = None
            finally:
                result.requests, result.waited_seconds = client.requests, client.waited
            if fetched is not None:
                result.fetched = fetched.records
                syncs.add_fetched(engine, run_id, fetched.records, client.requests)
                for step in fetched.steps:
                    mapping = resolve_mapping(step.mapping)
                    name = Path(step.file).stem
                    options = ImportOptions(
                        errors_path=folder_for_errors / f"{connector.name}-{name}.errors.csv",
                        pipelines=staging / step.pipelines if step.pipelines else None,
                        owners=staging / step.owners if step.owners else None,
                    )
                    reader = reader_for(mapping.reader or "csv")
                    try:
                        done = import_file(
                            engine, settings, staging / step.file, step.entity, mapping,
                            options, None, reader,
                        )  # fmt: skip
                    except (ImportFileError, MappingError, UserInputError) as exc:
                        failure = f"importing {name}: {exc}"
                        break
                    done.file = f"{connector.name}:{name}"
                    result.imports.append(done)
                    if done.failure is not None:
                        failure = f"importing {name}: {done.failure}"
                        break
                moved = fetched.cursors
    except BaseException as exc:
        failure = failure or f"stopped by an error: {type(exc).__name__}: {exc}"
        _finish(engine, result, failure, {})
        raise
    finally:
        client.close()
    _finish(engine, result, failure, moved)
    return result


def _finish(engine: Engine, result: SyncResult, failure: str | None, moved: dict[str, str]) -> None:
    from paceline.store import syncs

    totals = result.totals()
    counts = {"rows_read" if k == "read" else k: v for k, v in totals.items()}
    counts.update(fetched=result.fetched, requests=result.requests)
    syncs.finish_run(engine, result.run_id, result.source, counts, moved, failure)
    result.status = "failed" if failure else "done"
    result.failure = failure
    result.cursors_after = dict(result.cursors_before)
    if not failure:
        result.cursors_after.update(moved)
