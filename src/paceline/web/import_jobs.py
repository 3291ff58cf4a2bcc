"""The web import: a size limit on the upload, and the import itself in a background thread.

Why: a large file imported inside the request held it for 106 s (the browser, a proxy or a
load balancer gives up first) and a 200 MB upload was read whole before anything looked at
its size. Now:
- `UploadLimit` answers 413 with a page saying the limit (`[web] import_max_mb`) as soon as
  the request says its length is over it, or as soon as the body read so far is (a chunked
  upload says no length), before the rest is read and before anything is written;
- `ImportJobs` runs `ingest.importer.import_file`, the CLI's import with the same write path
  and guarantees, in a thread of the server process that outlives the request. The request
  waits only for the file-level checks (header, mapping, encoding: an unusable file is still
  refused on the form, with nothing written) and, for a few seconds, for the end; then it
  sends the browser to the run's page, which reads the progress every batch records in the
  `import_run` row (rows read, written, rejected), so any worker process can show it, and
  shows the full report with the errors file once the import is done.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paceline.errors import UserInputError
from paceline.ingest.accounting import IgnoredOwner
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.importer import ImportResult
from paceline.ingest.mapping import MappingError
from paceline.web.common import render

log = logging.getLogger(__name__)

LIMITED_PATHS = frozenset({"/import"})
MB = 1024 * 1024
KEPT_JOBS = 200  # finished jobs remembered (their reports and errors files), newest first


def upload_limit_bytes(scope: Scope) -> int:
    """The configured limit of the application serving `scope`."""
    state = scope["app"].state.paceline
    return int(state.settings.web.import_max_mb * MB)


class UploadLimit:
    """ASGI middleware: a POST to the import page larger than the limit is answered 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in LIMITED_PATHS
        ):
            await self.app(scope, receive, send)
            return
        limit = upload_limit_bytes(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit, declared)
            return
        received = 0
        over = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True  # stop reading: the app sees a client that went away
                    return {"type": "http.disconnect"}
            return message

        async def held(message: Message) -> None:
            if not over:  # the app's answer to a cut-off body is replaced by the 413
                await send(message)

        await self.app(scope, counted, held)
        if over:
            await self._refuse(scope, receive, send, limit, None)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, limit: int, size: int | None
    ) -> None:
        response = render(
            Request(scope, receive),
            "error.html",
            None,  # who asks is not looked up: that would need the session, read later
            {"title": "File too large", "message": too_large_message(limit, size)},
            status=413,
            headers={"Connection": "close"},  # the rest of the body is never read
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_large_message(limit: int, size: int | None) -> str:
    """What the 413 page says: the size (when the request said it) and the limit."""
    what = f"The file is {size / MB:,.1f} MB" if size is not None else "The file is"
    return (
        f"{what} larger than the {_mb(limit)} MB an upload may be here; nothing was "
        "imported. Import it with `paceline import` on the server, or split it; an admin can "
        "raise the limit ([web] import_max_mb)."
    )


def _mb(size: int) -> str:
    mb = size / MB
    return f"{mb:,.0f}" if mb >= 10 else f"{mb:.3g}"


@dataclass
class ImportJob:
    """One web import running (or run) in this process."""

    file_name: str
    folder: Path
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    run_id: int | None = None
    result: ImportResult | None = None
    error: str | None = None  # the file was refused before its run began (nothing written)
    errors_token: str | None = None
    # The rep every row is credited to (the form's Owner, the file having no OwnerId), known
    # before the first write, so the run's page says it while the import runs.
    owner: str = ""
    # The rep named on the form but not used (the file names its owners), said likewise.
    owner_ignored: IgnoredOwner | None = None


Work = Callable[[Callable[[int], None]], ImportResult]


@dataclass
class ImportJobs:
    """The imports this process runs in background threads, by their run's id."""

    _jobs: OrderedDict[int, ImportJob] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(
        self,
        work: Work,
        file_name: str,
        folder: Path,
        upload: Path,
        finished: Callable[[ImportJob], None],
    ) -> ImportJob:
        """Run `work(on_start)` in a thread; the upload is deleted when it ends, and
        `finished(job)` is called then (to offer the errors file)."""
        job = ImportJob(file_name, folder)

        def on_start(run_id: int) -> None:
            job.run_id = run_id
            with self._lock:
                self._jobs[run_id] = job
                while len(self._jobs) > KEPT_JOBS:
                    self._jobs.popitem(last=False)
            job.started.set()

        def run() -> None:
            try:
                job.result = work(on_start)
                job.result.file = file_name  # the uploaded name, not the server's path
                finished(job)
            except (ImportFileError, MappingError, UserInputError) as exc:
                job.error = str(exc)
            except Exception as exc:  # recorded "failed" on the run by the importer
                log.exception("web import of %s failed", file_name)
                job.error = f"the import stopped: {exc}"
            finally:
                upload.unlink(missing_ok=True)
                if job.run_id is None:  # refused before it began: nothing to offer
                    shutil.rmtree(folder, ignore_errors=True)
                job.started.set()
                job.done.set()

        # Not a daemon: a server asked to stop lets a running import finish its file.
        threading.Thread(target=run, name=f"paceline-import {file_name}").start()
        return job

    def get(self, run_id: int) -> ImportJob | None:
        with self._lock:
            return self._jobs.get(run_id)
