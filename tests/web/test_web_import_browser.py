"""The web import in a real browser: upload, watch the progress, see the report; and a
calendar (.ics) upload, with its rejected event named and the "Whose rows are these?" field.

Chromium (Playwright) uploads a 12,001-row file to a uvicorn server running the application
in a thread of this process. The import is held after its first committed batch (the
writer's `write`, wrapped), so the browser is certain to see the progress page with exactly
10,000 rows read and written; released, the page refreshes itself to the report, and the
errors file downloads with the one bad row.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from factories import (
    GOOGLE_ICS,
    IMPORTED_AT,
    OUTLOOK_ICS,
    REPS_CSV,
    SHARED_DATA,
    count_rows,
    served_app,
)
from paceline import clock
from paceline.auth.accounts import add_user
from paceline.config import Settings, WebSettings
from paceline.ingest import writers
from paceline.ingest.importer import ImportOptions, import_csv
from paceline.server import create_app
from paceline.services.reps import add_rep
from paceline.store.models import Activity, Rep

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PASSWORD = "correct-horse-battery"
REP = "Nova Quinn"
ROWS = 12_000
# How long the browser may take to see what the page will show: a guard, not an estimate.
# Playwright's `expect` gives up after 5 s, and a refresh every 2 s, the rest of the import
# and a page load by chromium take longer than that on a loaded machine.
PATIENCE_MS = 300_000

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does this)",
        allow_module_level=True,
    )

from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def site(sqlite_engine: Engine, settings: Settings) -> Iterator[str]:
    add_rep(sqlite_engine, settings, REP, "ae")
    add_user(sqlite_engine, "admin", PASSWORD, "admin")
    quick = settings.model_copy(update={"web": WebSettings(import_wait_seconds=0)})
    with served_app(create_app(quick, sqlite_engine)) as url:
        yield url


def _file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "rep", "kind", "occurred_at"])
    for i in range(ROWS):
        day, minute = divmod(i, 600)
        when = f"2026-10-{1 + day % 28:02d} {8 + minute // 60:02d}:{minute % 60:02d}"
        writer.writerow([f"x{i}", REP, "call", when])
    writer.writerow(["bad", REP, "telepathy", "2026-10-05 09:00"])
    return out.getvalue().encode()


def test_upload_then_progress_then_the_report(
    site: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    held, release = threading.Event(), threading.Event()
    written = writers.Writer.write
    batches: list[int] = []

    def write(self: writers.Writer, batch: list[Any]) -> None:
        written(self, batch)
        batches.append(len(batch))
        if len(batches) == 1:
            held.set()
            assert release.wait(60)

    monkeypatch.setattr(writers.Writer, "write", write)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=site, accept_downloads=True).new_page()
            page.set_default_timeout(30_000)
            page.goto("/import")
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page).to_have_url(re.compile(r"/import$"))
            page.get_by_label("CSV file").set_input_files(
                {"name": "calls.csv", "mimeType": "text/csv", "buffer": _file()}
            )
            page.get_by_role("button", name="Import").click()

            expect(page).to_have_url(re.compile(r"/import/runs/\d+$"))
            assert held.wait(60)
            # The page refreshes itself every two seconds, and shows the held import from the
            # first refresh after the batch (no reload here: one raced the page's own refresh,
            # and the browser aborted it under load).
            progress = page.get_by_test_id("import-progress")
            expect(progress).to_contain_text(
                "10,000 rows read, 10,000 written, 0 rejected", timeout=PATIENCE_MS
            )
            expect(page.locator('[data-count="read"]')).to_have_text("10,000")
            assert count_rows(sqlite_engine, Activity) == 10_000

            release.set()  # the page refreshes itself until the report is ready
            accounting = page.get_by_test_id("accounting")
            expect(page.get_by_text("Every row is accounted for")).to_be_visible(
                timeout=PATIENCE_MS
            )
            expect(accounting.locator('[data-count="read"]')).to_have_text("12,001")
            expect(accounting.locator('[data-count="inserted"]')).to_have_text("12,000")
            expect(accounting.locator('[data-count="rejected"]')).to_have_text("1")
            expect(page.get_by_text("Every row is accounted for")).to_be_visible()
            with page.expect_download() as download:
                page.get_by_test_id("errors-download").click()
            rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
            assert rows[1][:2] == [str(ROWS + 2), "kind"]
        finally:
            release.set()
            browser.close()
    assert count_rows(sqlite_engine, Activity) == ROWS


@pytest.fixture
def calendar_site(sqlite_engine: Engine, settings: Settings, tmp_path: Path) -> Iterator[str]:
    """Ana and Ben with their e-mails (the reps a calendar names by address), an admin, and
    a page that waits for the report; the clock at the calendar's import moment."""
    reps = tmp_path / "users.csv"
    reps.write_text(REPS_CSV, "utf-8")
    options = ImportOptions(errors_path=tmp_path / "reps.errors.csv")
    assert import_csv(sqlite_engine, settings, reps, "reps", options=options).inserted == 2
    add_user(sqlite_engine, "admin", PASSWORD, "admin")
    patient = settings.model_copy(update={"web": WebSettings(import_wait_seconds=300)})
    with clock.frozen(IMPORTED_AT), served_app(create_app(patient, sqlite_engine)) as url:
        yield url


def test_a_calendar_uploads_and_reports(calendar_site: str, sqlite_engine: Engine) -> None:
    """An .ics file chosen in the browser imports on the page (before 2026-12-07 the page
    refused it): the Outlook export's strangers' meeting is rejected with its event named;
    named the calendar's owner, Ben takes it. Counts from tests/test_faces_calendar_sheets.py:
    two events read, Ben's Pacific-time meeting inserted."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=calendar_site).new_page()
            page.set_default_timeout(PATIENCE_MS)
            page.goto("/import")
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page).to_have_url(re.compile(r"/import$"), timeout=PATIENCE_MS)
            ics = OUTLOOK_ICS.replace("\n", "\r\n").encode()
            upload = {"name": "team.ics", "mimeType": "text/calendar", "buffer": ics}
            page.get_by_label("CSV file").set_input_files(upload)
            page.get_by_role("button", name="Import").click()

            expect(page).to_have_url(re.compile(r"/import/runs/\d+$"), timeout=PATIENCE_MS)
            accounting = page.get_by_test_id("accounting")

            def counted(name: str, rows: str) -> None:
                found = accounting.locator(f'[data-count="{name}"]')
                expect(found).to_have_text(rows, timeout=PATIENCE_MS)

            counted("read", "2")
            counted("inserted", "1")
            counted("rejected", "1")
            expect(page.get_by_test_id("rejected-by-reason")).to_contain_text(
                "team.ics, event 'strangers@outlook' at 2026-11-02 09:00 PST "
                "(dave@unknown.test, eve@other.test)",
                timeout=PATIENCE_MS,
            )

            page.get_by_label("Whose rows are these?").fill("Ben Okafor")
            page.get_by_label("CSV file").set_input_files(upload)
            page.get_by_role("button", name="Import").click()
            counted("unchanged", "1")  # first: the last report also said 1 inserted
            counted("inserted", "1")
            counted("rejected", "0")
        finally:
            browser.close()
    assert count_rows(sqlite_engine, Activity) == 2


def test_a_calendar_is_read_from_the_day_and_with_the_domains_typed(
    calendar_site: str, sqlite_engine: Engine
) -> None:
    """The page's date field “Meetings since” and “Your company's e-mail domains” (new on
    2026-12-08, the command line's `--since` and `--internal-domain`), filled in the
    browser: Ana's export from 1 November reads 7 occurrences and holds 5 meetings, the 3
    with only acme.test guests internal (worked out in test_web_import_calendar.py)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=calendar_site).new_page()
            page.set_default_timeout(PATIENCE_MS)
            page.goto("/import")
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page).to_have_url(re.compile(r"/import$"), timeout=PATIENCE_MS)
            page.get_by_label("Meetings since").fill("2026-11-01")
            page.get_by_label("Your company's e-mail domains").fill("paceline.test, acme.test")
            ics = GOOGLE_ICS.replace("\n", "\r\n").encode()
            page.get_by_label("CSV file").set_input_files(
                {"name": "ana.ics", "mimeType": "text/calendar", "buffer": ics}
            )
            page.get_by_role("button", name="Import").click()
            expect(page).to_have_url(re.compile(r"/import/runs/\d+$"), timeout=PATIENCE_MS)
            accounting = page.get_by_test_id("accounting")
            for name, rows in (("read", "7"), ("inserted", "5"), ("skipped", "2")):
                found = accounting.locator(f'[data-count="{name}"]')
                expect(found).to_have_text(rows, timeout=PATIENCE_MS)
        finally:
            browser.close()
    with sqlite_engine.connect() as conn:
        kinds = conn.execute(
            select(Activity.kind, func.count()).group_by(Activity.kind)
        ).all()  # fmt: skip
    assert dict(kinds) == {"internal_meeting": 3, "meeting": 2}


SALESFORCE_TASKS = SHARED_DATA / "crm_samples" / "salesforce" / "stomita-tdx2025-hackathon"


def test_one_question_says_whose_rows_for_a_calendar_and_a_salesforce_file(
    calendar_site: str, sqlite_engine: Engine
) -> None:
    """The page asks "Whose rows are these?" once (before 2026-12-08 it had an Owner and a
    Calendar owner side by side, and a user could not tell which applied to their file): the
    answer refused for a plain CSV file, whose rows name their rep, with the reason on the
    form and nothing written; taken as the calendar's owner for an .ics file (the strangers'
    meeting is Ben's: 2 inserted, none rejected); taken as the rep of every row of the
    hackathon's Salesforce Task.csv, which has no OwnerId column (83 tasks, all Ben's)."""
    tasks = SALESFORCE_TASKS / "Task.csv"
    if not tasks.is_file():
        pytest.skip(f"the Salesforce samples are not at {tasks.parent}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=calendar_site).new_page()
            page.set_default_timeout(PATIENCE_MS)
            page.goto("/import")
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page).to_have_url(re.compile(r"/import$"), timeout=PATIENCE_MS)
            expect(page.get_by_label("Calendar owner")).to_have_count(0)
            expect(page.get_by_label(re.compile(r"^Owner\b"))).to_have_count(0)
            whose = page.get_by_label("Whose rows are these?")
            expect(whose).to_have_count(1)

            whose.fill("Ben Okafor")
            plain = b"external_id,rep,kind,occurred_at\nc1,Ana Ruiz,call,2026-11-02 10:00\n"
            page.get_by_label("CSV file").set_input_files(
                {"name": "calls.csv", "mimeType": "text/csv", "buffer": plain}
            )
            page.get_by_role("button", name="Import").click()
            expect(page.get_by_test_id("import-error")).to_contain_text(
                "Whose rows are these? 'Ben Okafor': a file read as csv names each row's rep "
                "itself",
                timeout=PATIENCE_MS,
            )
            assert count_rows(sqlite_engine, Activity) == 0
            expect(whose).to_have_value("Ben Okafor")  # kept on the form, to correct

            ics = OUTLOOK_ICS.replace("\n", "\r\n").encode()
            page.get_by_label("CSV file").set_input_files(
                {"name": "team.ics", "mimeType": "text/calendar", "buffer": ics}
            )
            page.get_by_role("button", name="Import").click()
            expect(page).to_have_url(re.compile(r"/import/runs/\d+$"), timeout=PATIENCE_MS)
            accounting = page.get_by_test_id("accounting")
            expect(accounting.locator('[data-count="inserted"]')).to_have_text("2")
            expect(accounting.locator('[data-count="rejected"]')).to_have_text("0")

            page.get_by_label("Whose rows are these?").fill("Ben Okafor")
            page.get_by_label("Pick a mapping").select_option("shipped:salesforce:Task")
            page.get_by_label("CSV file").set_input_files(str(tasks))
            page.get_by_role("button", name="Import").click()
            expect(page.get_by_test_id("import-owner")).to_contain_text(
                "every row is credited to Ben Okafor", timeout=PATIENCE_MS
            )
            expect(accounting.locator('[data-count="inserted"]')).to_have_text(
                "83", timeout=PATIENCE_MS
            )
        finally:
            browser.close()
    with sqlite_engine.connect() as conn:
        credited = conn.execute(
            select(Rep.name, func.count()).join(Activity, Activity.rep_id == Rep.id)
            .group_by(Rep.name)
        ).all()  # fmt: skip
    assert dict(credited) == {"Ben Okafor": 85}  # Ben's meeting, the strangers', 83 tasks
