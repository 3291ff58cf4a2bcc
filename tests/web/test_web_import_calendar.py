"""Calendars on the web Import page: an .ics file uploads and imports like a CSV file, through
the calendar import source (the reps, the internal domains and the zone come to the source
through the import, not through the page), with the same row accounting, reasons and errors
file as `paceline import calendar`. Before 2026-12-07 the page refused every .ics file.

The files are the hand-written exports of tests/factories.py (their meetings are worked out
in tests/test_faces_calendar_sheets.py), imported as of IMPORTED_AT, the clock set to it.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from factories import (
    GOOGLE_ICS,
    IMPORTED_AT,
    OUTLOOK_ICS,
    REPS_CSV,
    count_rows,
    csrf_of,
    import_page_client,
    migrated_sqlite_copy,
)
from paceline import clock
from paceline.config import Settings, WebSettings
from paceline.ingest.importer import ImportOptions, import_csv
from paceline.store.models import Activity, ImportRun, Rep

NO_REP = (
    "no rep: no rep has the e-mail of the organiser or an attendee; import the reps with "
    "their e-mails, or name the calendar&#39;s owner (--rep, or the Import page&#39;s “Whose "
    "rows are these?”)"
)


def _counts(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-count="(\w+)">([\d,]+)<', html))


@pytest.fixture
def page(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, settings: Settings
) -> tuple[Engine, TestClient, str]:
    """An empty organisation with Ana and Ben (and their e-mails), an admin on its Import page
    (the page's HTML), the clock at the import's moment."""
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    reps = tmp_path / "users.csv"
    reps.write_text(REPS_CSV, "utf-8")
    options = ImportOptions(errors_path=tmp_path / "reps.errors.csv")
    assert import_csv(engine, settings, reps, "reps", options=options).inserted == 2
    # The page waits for the report however loaded the machine (the default is 5 s).
    patient = settings.model_copy(update={"web": WebSettings(import_wait_seconds=300)})
    client, html = import_page_client(engine, patient)
    return engine, client, html


def _upload(client: TestClient, html: str, name: str, text: str, **fields: str) -> str:
    data = {"csrf": csrf_of(html), "entity": "activities", "allow_new_reps": "yes", **fields}
    content = text.replace("\n", "\r\n").encode()
    with clock.frozen(IMPORTED_AT):
        answer = client.post("/import", data=data, files={"file": (name, content, "text/calendar")})
    return answer.text if answer.status_code == 200 else f"{answer.status_code} {answer.text}"


def test_a_calendar_imports_on_the_import_page(page: tuple[Engine, TestClient, str]) -> None:
    engine, client, html = page
    assert ".ics" in html and 'name="owner"' in html and "calendar_owner" not in html
    # Ana's Google export: 17 occurrences read up to Saturday noon (Acme weekly 2, standups
    # 3, and 12 single events); 11 meetings held, 6 skipped (a cancelled standup, the
    # offsite, the declined pitch, the cancelled demo, focus time, the one still going).
    report = _upload(client, html, "ana.ics", GOOGLE_ICS)
    assert _counts(report) == {
        "read": "17", "inserted": "11", "updated": "0", "unchanged": "0", "duplicate": "0",
        "skipped": "6", "rejected": "0",
    }  # fmt: skip
    assert "Every row is accounted for" in report and "source calendar" in report
    # The Outlook export: Ben's Pacific-time meeting, and the strangers' with no rep.
    report = _upload(client, html, "team.ics", OUTLOOK_ICS)
    assert (_counts(report)["inserted"], _counts(report)["rejected"]) == ("1", "1")
    reasons = re.search(r'data-testid="rejected-by-reason">(.*?)</table>', report, re.S)
    assert reasons is not None
    assert (
        f'<td class="num">1</td><td></td><td>{NO_REP}</td><td>team.ics, event '
        "&#39;strangers@outlook&#39; at 2026-11-02 09:00 PST (dave@unknown.test, "
        "eve@other.test)</td>"
    ) in reasons.group(1)
    link = re.search(r'href="(/import/errors/[^"]+)"', report)
    assert link is not None
    errors = list(csv.reader(io.StringIO(client.get(link.group(1)).text)))
    assert errors[1][2].startswith(
        "team.ics, event 'strangers@outlook' at 2026-11-02 09:00 PST: no rep:"
    )
    # Named its owner, the strangers' meeting is Ben's; Ben's own meeting is unchanged.
    again = _upload(client, html, "team.ics", OUTLOOK_ICS, owner="ben okafor")
    assert (_counts(again)["inserted"], _counts(again)["unchanged"]) == ("1", "1")
    with engine.connect() as conn:
        owners = conn.execute(
            select(Rep.name, Activity.notes).join(Rep, Activity.rep_id == Rep.id)
        ).all()
    assert ("Ben Okafor", "Strangers") in owners and len(owners) == 13


def test_a_bad_calendar_is_refused_on_the_form_and_leaves_nothing(
    page: tuple[Engine, TestClient, str],
) -> None:
    """A file that is no calendar, an owner who is no rep, a calendar imported as deals: each
    is said on the form (422, the page, not JSON) before anything is written or recorded."""
    engine, client, html = page
    refused = _upload(client, html, "team.ics", "this is not a calendar\n")
    assert refused.startswith("422") and "team.ics: not an iCalendar file" in refused
    assert 'name="entity"' in refused
    nobody = _upload(client, html, "team.ics", OUTLOOK_ICS, owner="Nobody")
    assert nobody.startswith("422")
    # The page's own field, not the command line's --rep the web user never saw.
    assert (
        "no rep named &#39;Nobody&#39;, named in the field “Whose rows are these?” of this "
        "page as the rep whose calendar it is; name an existing rep, or leave it empty"
    ) in nobody
    assert "--rep" not in nobody
    deals = _upload(client, html, "team.ics", OUTLOOK_ICS, entity="deals")
    assert deals.startswith("422")
    assert (
        "the mapping is for activities, not deals (the calendar source&#39;s own, for team.ics)"
    ) in deals
    assert count_rows(engine, Activity) == 0
    assert count_rows(engine, ImportRun) == 1  # the reps' import, no other


def test_whose_rows_is_refused_for_a_file_that_names_its_reps(
    page: tuple[Engine, TestClient, str],
) -> None:
    """One field, "Whose rows are these?", serves a calendar and a Salesforce file; given
    for a plain CSV file, whose rows name their own rep, it is refused on the form with the
    reason, the answer kept to correct, and nothing written or recorded (before 2026-12-08
    the page had a separate Calendar owner, which a CSV file silently ignored)."""
    engine, client, html = page
    assert html.count('name="owner"') == 1 and "Calendar owner" not in html
    calls = "external_id,rep,kind,occurred_at\nc1,Ana Ruiz,call,2026-11-02 10:00\n"
    refused = _upload(client, html, "calls.csv", calls, owner="  Ben   Okafor ")
    assert refused.startswith("422")
    assert (
        "Whose rows are these? &#39;Ben Okafor&#39;: a file read as csv names each row&#39;s "
        "rep itself (its rep or owner column), so no rep can be given for it; leave the "
        "field empty."
    ) in refused
    assert 'name="owner" value="  Ben   Okafor "' in refused
    assert count_rows(engine, Activity) == 0
    assert count_rows(engine, ImportRun) == 1  # the reps' import, no other


def test_a_calendar_is_read_from_a_day_with_the_company_domains_given(
    page: tuple[Engine, TestClient, str],
) -> None:
    """The page's “Meetings since” and “Your company's e-mail domains” are the command
    line's `--since` and `--internal-domain` (the page had neither before 2026-12-08). Ana's
    export from Sunday 1 November (midnight in New York, still EDT: 04:00 UTC) holds 7
    occurrences: the Halloween call began at 23:30 on the 31st and is left out. Held: the
    Sunday dinner and Acme weekly #3 (Bob, acme.test), the late call and the West coast
    dinner (Peter, initech.test), Acme with Ben (Frank, acme.test); skipped: the Offsite
    (all-day) and the meeting still going. With acme.test one of the company's domains
    (beside paceline.test), the three with only acme.test guests are internal meetings."""
    engine, client, html = page
    assert 'name="since" type="date"' in html and 'name="internal_domain"' in html
    report = _upload(
        client, html, "ana.ics", GOOGLE_ICS, since="2026-11-01",
        internal_domain=" Paceline.test,  @acme.test ",
    )  # fmt: skip
    assert _counts(report) == {
        "read": "7", "inserted": "5", "updated": "0", "unchanged": "0", "duplicate": "0",
        "skipped": "2", "rejected": "0",
    }  # fmt: skip
    with engine.connect() as conn:
        held = conn.execute(
            select(Activity.notes, Activity.kind).order_by(Activity.occurred_at)
        ).all()
    assert [tuple(row) for row in held] == [
        ("Sunday dinner", "internal_meeting"),
        ("Acme weekly", "internal_meeting"),
        ("Late call", "meeting"),
        ("West coast dinner", "meeting"),
        ("Acme with Ben", "internal_meeting"),
    ]


@pytest.mark.parametrize(
    ("name", "fields", "said"),
    [
        (
            "calls.csv",
            {"since": "2026-11-01"},
            "“Meetings since” &#39;2026-11-01&#39;: only a calendar (.ics) takes it; a file "
            "read as csv is imported whole, with the reps and accounts it names. Leave the "
            "field empty",
        ),
        (
            "calls.csv",
            {"internal_domain": "acme.test"},
            "“Your company&#39;s e-mail domains” &#39;acme.test&#39;: only a calendar (.ics) "
            "takes it",
        ),
        (
            "ana.ics",
            {"since": "1 Nov 2026"},
            "“Meetings since” &#39;1 Nov 2026&#39;: not a date; write it as YYYY-MM-DD",
        ),
        (
            "ana.ics",
            {"internal_domain": "acme.test, ana@paceline.test"},
            "“Your company&#39;s e-mail domains” &#39;ana@paceline.test&#39;: not an e-mail "
            "domain; write the part after the @, e.g. acme.com",
        ),
    ],
)
def test_the_calendar_options_are_refused_where_they_cannot_be_read(
    page: tuple[Engine, TestClient, str], name: str, fields: dict[str, str], said: str
) -> None:
    """A day or a domain given for a CSV file (which would import every row whatever was
    said), a day that is no date, an e-mail address for a domain: each is refused on the
    form, the value kept to correct, nothing written or recorded."""
    engine, client, html = page
    calls = "external_id,rep,kind,occurred_at\nc1,Ana Ruiz,call,2026-11-02 10:00\n"
    text = GOOGLE_ICS if name.endswith(".ics") else calls
    refused = _upload(client, html, name, text, **fields)
    assert refused.startswith("422") and said in refused, refused[:300]
    for field, value in fields.items():
        assert f'name="{field}"' in refused and f'value="{value}"' in refused
    assert count_rows(engine, Activity) == 0
    assert count_rows(engine, ImportRun) == 1  # the reps' import, no other
