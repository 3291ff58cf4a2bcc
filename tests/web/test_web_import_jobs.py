"""The web import runs in the background with progress, and refuses a too-large upload.

The import is held between its batches by a gate (the writer's `write`, wrapped: the first
batch commits, then waits), so "while it runs" is a certain moment, not a race: the progress
page then shows exactly the first batch (10,000 rows, the default batch size) read and
written. Released, it finishes on its own thread; the same page shows the report and the
errors file. A file over `[web] import_max_mb` is answered 413 whether it says its length or
comes chunked, and nothing is written (no run, no row).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine

from factories import Site, count_rows, csrf_of, make_site
from paceline.config import Settings, WebSettings
from paceline.ingest import writers
from paceline.ingest.accounting import DEFAULT_BATCH_SIZE
from paceline.services.reps import add_rep
from paceline.store.models import Activity, ImportRun
from paceline.web.import_jobs import ImportJob
from paceline.web.state import ImportFiles

REP = "Nova Quinn"
ROWS = 12_000  # a first batch of 10,000, then 2,000 and one bad row


def activities_csv(rows: int, bad: int = 1) -> bytes:
    lines = ["external_id,rep,kind,occurred_at"]
    for i in range(rows):
        day, minute = divmod(i, 600)
        lines.append(
            f"x{i},{REP},call,2026-10-{1 + day % 28:02d} {8 + minute // 60:02d}:{minute % 60:02d}"
        )
    lines += [f"bad{i},{REP},telepathy,2026-10-05 09:00" for i in range(bad)]
    return ("\n".join(lines) + "\n").encode()


def _site(engine: Engine, settings: Settings, **web: Any) -> Site:
    add_rep(engine, settings, REP, "ae")
    changed = settings.model_copy(update={"web": WebSettings(**web)})
    return make_site(engine, changed, {"root": ("admin", None)})


def _form(site: Site) -> dict[str, str]:
    csrf = csrf_of(site.page("root", "/import").text)
    return {"csrf": csrf, "entity": "activities", "source": "webjob"}


def counts(html: str) -> dict[str, int]:
    return {
        k: int(v.replace(",", "")) for k, v in re.findall(r'data-count="(\w+)">([\d,]+)<', html)
    }


def _job(site: Site, page_url: str) -> ImportJob:
    """The job behind the run page `page_url`, in the application's process."""
    job = site.client.app.state.web.jobs.get(int(page_url.rsplit("/", 1)[1]))
    assert isinstance(job, ImportJob)
    return job


@dataclass
class Gate:
    held: threading.Event  # the first batch is committed and the import waits
    release: threading.Event


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    """Hold every import after its first committed batch until released."""
    gate = Gate(threading.Event(), threading.Event())
    written = writers.Writer.write
    batches: list[int] = []

    def write(self: writers.Writer, batch: list[Any]) -> None:
        written(self, batch)
        batches.append(len(batch))
        if len(batches) == 1:
            gate.held.set()
            assert gate.release.wait(60), "the test never released the import"

    monkeypatch.setattr(writers.Writer, "write", write)
    yield gate
    gate.release.set()


def test_a_web_import_runs_on_in_the_background_and_shows_its_progress(
    sqlite_engine: Engine, settings: Settings, gate: Gate
) -> None:
    assert DEFAULT_BATCH_SIZE == 10_000
    site = _site(sqlite_engine, settings, import_wait_seconds=0)
    reply = site.client.post(
        "/import",
        data=_form(site),
        files={"file": ("calls.csv", activities_csv(ROWS), "text/csv")},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text  # answered while the import runs on
    page_url = reply.headers["location"]
    assert re.fullmatch(r"/import/runs/\d+", page_url)

    assert gate.held.wait(60)
    running = site.client.get(page_url)
    assert running.status_code == 200
    assert running.headers["refresh"] == "2"  # the page polls itself
    assert 'data-status="running"' in running.text
    assert counts(running.text) == {
        "read": 10_000,
        "inserted": 10_000,
        "updated": 0,
        "unchanged": 0,
        "duplicate": 0,
        "skipped": 0,
        "rejected": 0,
    }
    assert "10,000 rows read, 10,000 written, 0 rejected so far" in running.text
    assert count_rows(sqlite_engine, Activity) == 10_000  # the first batch, committed

    gate.release.set()
    assert _job(site, page_url).done.wait(60), "the import did not finish"
    done = site.client.get(page_url)
    assert done.status_code == 200 and "refresh" not in done.headers
    assert counts(done.text) == {
        "read": ROWS + 1,
        "inserted": ROWS,
        "updated": 0,
        "unchanged": 0,
        "duplicate": 0,
        "skipped": 0,
        "rejected": 1,
    }
    assert "Every row is accounted for; 1 rejected" in done.text
    link = re.search(r'href="(/import/errors/[^"]+)"', done.text)
    assert link, "no errors file offered"
    errors = site.client.get(link.group(1)).text.splitlines()
    assert errors[0].startswith("line,field,reason") and errors[1].startswith(f"{ROWS + 2},kind,")
    assert count_rows(sqlite_engine, Activity) == ROWS


def test_the_run_page_says_whom_rows_are_credited_to_while_it_runs(
    sqlite_engine: Engine, settings: Settings, gate: Gate
) -> None:
    """A Salesforce Task.csv without OwnerId, the form's Owner "Sam Lee": before its first
    batch is written the import knows every row goes to Sam Lee, and the run's page says
    so while the import is held after that batch."""
    site = _site(sqlite_engine, settings, import_wait_seconds=0)
    tasks = (
        "Id,Subject,ActivityDate,Status,TaskSubtype\n"
        "00T5g0000000001AAA,Call back,2026-11-02,Completed,Call\n"
    )
    form = {**_form(site), "mapping": "shipped:salesforce:Task", "allow_new_reps": "1",
            "owner": "Sam Lee"}  # fmt: skip
    reply = site.client.post(
        "/import",
        data=form,
        files={"file": ("Task.csv", tasks.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    page_url = reply.headers["location"]
    assert gate.held.wait(60)
    running = site.client.get(page_url)
    assert 'data-status="running"' in running.text
    assert "every row is credited to <strong>Sam Lee</strong>" in running.text
    gate.release.set()
    assert _job(site, page_url).done.wait(60), "the import did not finish"
    done = site.client.get(page_url)
    assert "every row is credited to <strong>Sam Lee</strong>" in done.text
    assert counts(done.text)["inserted"] == 1


def test_a_quick_import_answers_with_its_report(sqlite_engine: Engine, settings: Settings) -> None:
    # The form waits for the import up to `import_wait_seconds` (5 s by default) and answers
    # as soon as it ends; a generous bound, so that a loaded machine cannot turn the report
    # into the progress page.
    site = _site(sqlite_engine, settings, import_wait_seconds=120)
    reply = site.client.post(
        "/import",
        data=_form(site),
        files={"file": ("calls.csv", activities_csv(3), "text/csv")},
    )
    assert reply.status_code == 200 and reply.url.path.startswith("/import/runs/")
    assert counts(reply.text)["inserted"] == 3 and counts(reply.text)["rejected"] == 1


def test_the_run_page_polls_until_this_process_has_the_report(
    sqlite_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's record says "done" a moment before the job that ran it has its report (the
    errors file is being offered). Held in that moment, the page keeps polling and does not
    send the user to another process for a report about to be here; then it shows it."""
    offering, release = threading.Event(), threading.Event()
    offer = ImportFiles.offer

    def held_offer(self: ImportFiles, path: Path, download_name: str) -> str:
        offering.set()
        assert release.wait(60), "the test never released the import"
        return offer(self, path, download_name)

    monkeypatch.setattr(ImportFiles, "offer", held_offer)
    site = _site(sqlite_engine, settings, import_wait_seconds=0)
    reply = site.client.post(
        "/import",
        data=_form(site),
        files={"file": ("calls.csv", activities_csv(3), "text/csv")},
        follow_redirects=False,
    )
    page_url = reply.headers["location"]
    try:
        assert offering.wait(60)
        finishing = site.client.get(page_url)
        assert 'data-status="done"' in finishing.text  # the run's record has ended
        assert finishing.headers.get("refresh") == "2"  # and the page polls on
        assert "kept by the server process that ran this import" not in finishing.text
    finally:
        release.set()
    assert _job(site, page_url).done.wait(60), "the import did not finish"
    done = site.client.get(page_url)
    assert "refresh" not in done.headers
    assert counts(done.text)["inserted"] == 3 and counts(done.text)["rejected"] == 1
    assert re.search(r'href="/import/errors/[^"]+"', done.text), "no errors file offered"


def test_an_unusable_file_is_refused_on_the_form_and_nothing_is_written(
    sqlite_engine: Engine, settings: Settings
) -> None:
    site = _site(sqlite_engine, settings)
    reply = site.client.post(
        "/import",
        data=_form(site),
        files={"file": ("calls.csv", b"who,when\nA,B\n", "text/csv")},
    )
    assert reply.status_code == 422 and "missing required column" in reply.text
    assert count_rows(sqlite_engine, ImportRun) == 0


def test_a_run_page_for_no_run_is_not_found_and_is_for_admins(
    sqlite_engine: Engine, settings: Settings
) -> None:
    site = _site(sqlite_engine, settings)
    assert site.page("root", "/import/runs/999").status_code == 404
    assert site.page("root", f"/import/runs/{2**70}").status_code == 404
    site.client.cookies.clear()
    assert site.client.get("/import/runs/1", follow_redirects=False).status_code == 303


def _multipart(form: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "paceline-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in form.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("how", ["with its length", "chunked"])
def test_a_too_large_upload_is_refused_before_it_is_read_and_nothing_is_written(
    sqlite_engine: Engine, settings: Settings, how: str
) -> None:
    site = _site(sqlite_engine, settings, import_max_mb=0.25)  # 256 KiB
    data = activities_csv(12_000)  # about 560 KB
    assert len(data) > 256 * 1024
    body, content_type = _multipart(_form(site), "big.csv", data)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    reply = site.client.post(
        "/import",
        content=body if how == "with its length" else chunks(),
        headers={"Content-Type": content_type},
    )
    assert reply.status_code == 413
    assert "File too large" in reply.text
    assert reply.headers["x-frame-options"] == "DENY"  # a page like any other
    assert "larger than the 0.25 MB an upload may be here" in reply.text
    if how == "with its length":
        assert f"The file is {len(body) / 1024 / 1024:,.1f} MB larger" in reply.text
    assert "[web] import_max_mb" in reply.text and "nothing was imported" in reply.text
    assert count_rows(sqlite_engine, ImportRun) == 0
    assert count_rows(sqlite_engine, Activity) == 0

    small = site.client.post(  # under the limit, the same form imports
        "/import",
        data=_form(site),
        files={"file": ("small.csv", activities_csv(5), "text/csv")},
    )
    assert small.status_code == 200 and counts(small.text)["inserted"] == 5


def test_a_declared_too_large_upload_is_refused_without_reading_its_body(
    sqlite_engine: Engine, settings: Settings
) -> None:
    """At the ASGI level: the 413 goes out before the application asks for one byte."""
    site = _site(sqlite_engine, settings, import_max_mb=1)
    asked: list[str] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        asked.append("receive")
        return {"type": "http.request", "body": b"x" * 65_536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/import",
        "raw_path": b"/import",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", str(200 * 1024 * 1024).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    anyio.run(site.client.app, scope, receive, send)
    assert asked == []
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    page = b"".join(m.get("body", b"") for m in sent[1:]).decode()
    assert "The file is 200.0 MB larger than the 1 MB an upload may be here" in page
    assert count_rows(sqlite_engine, ImportRun) == 0
