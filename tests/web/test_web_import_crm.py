"""The web Import page takes what `paceline import` takes from a CRM: a shipped mapping picked
from a list (`crm:Object`), the mapping's own reader (a JSON export for a JSON source, not
CSV), its companion files, and the same validation and error reporting as the command line.
It used to read every upload as CSV and offered only the mapping files found on disk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from factories import SHARED_DATA, csrf_of, import_page_client
from paceline.config import Settings, default_config_text, parse_settings
from paceline.ingest.writers import CLOSED_BEFORE_CREATED
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Deal, Rep

# Close's won status is labelled "Won": a stage the configuration must have.
WON_STAGE = '\n[[stages]]\nname = "won"\nstatus = "won"\nprobability = 1.0\n'


def _counts(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-count="(\w+)">([\d,]+)<', html))


def _admin_client(tmp_path: Path, settings: Settings) -> tuple[Engine, TestClient, str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    client, page = import_page_client(engine, settings)
    return engine, client, csrf_of(page)


def test_the_shipped_mappings_are_offered(tmp_path: Path, settings: Settings) -> None:
    _, client, _ = _admin_client(tmp_path, settings)
    page = client.get("/import").text
    for name in ("salesforce:Opportunity", "hubspot:deals", "close:opportunities"):
        assert f'<option value="shipped:{name}">{name} (shipped)</option>' in page
    assert 'name="pipelines_file"' in page and 'name="owners_file"' in page


def test_a_close_json_export_is_read_with_its_mapping_reader(tmp_path: Path) -> None:
    """Two Close opportunities (the JSON of GET /v1/opportunity/): one won at 1,234,567
    cents, one without a value (stored with its amount unknown)."""
    settings = parse_settings(default_config_text() + WON_STAGE, origin="test")
    engine, client, csrf = _admin_client(tmp_path, settings)
    won = {
        "id": "oppo_1", "lead_name": "Acme", "user_name": "Ana Ruiz", "lead_id": "lead_1",
        "status_type": "won", "status_label": "Won", "annualized_value": 1234567,
        "date_created": "2026-05-01T10:00:00+00:00", "date_won": "2026-06-30",
        "date_lost": None,
    }  # fmt: skip
    body = json.dumps({"data": [won, won | {"id": "oppo_2", "annualized_value": None}]})
    reply = client.post(
        "/import",
        data={"csrf": csrf, "entity": "deals", "mapping": "shipped:close:opportunities",
              "allow_new_reps": "1"},
        files={"file": ("opportunities.json", body.encode(), "application/json")},
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert (_counts(reply.text)["inserted"], _counts(reply.text)["rejected"]) == ("2", "0")
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Deal.external_id, Deal.amount)).all())
    assert {k: None if v is None else float(v) for k, v in stored.items()} == {
        "oppo_1": 12345.67,
        "oppo_2": None,
    }


def test_a_salesforce_file_reports_its_warnings_and_refusals_as_the_cli_does(
    tmp_path: Path, settings: Settings
) -> None:
    """Opportunity.csv rows: won, closed 2026-03-10 but created 2026-04-02 (kept, counted as
    a warning); open in a stage the configuration lacks (refused, named)."""
    engine, client, csrf = _admin_client(tmp_path, settings)
    rows = (
        "Id,Name,StageName,Amount,CloseDate,CreatedDate,OwnerId,IsClosed,IsWon\n"
        "0065g0000000001AAA,Late,Closed Won,5000,2026-03-10,2026-04-02T10:00:00.000+0000,"
        "0055g0000000001AAA,true,true\n"
        "0065g0000000002AAA,Odd,Discovery,100,2026-05-01,2026-02-01T10:00:00.000+0000,"
        "0055g0000000001AAA,false,false\n"
    )
    reply = client.post(
        "/import",
        data={"csrf": csrf, "entity": "deals", "mapping": "shipped:salesforce:Opportunity",
              "allow_new_reps": "1"},
        files={"file": ("Opportunity.csv", rows.encode(), "text/csv")},
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert (_counts(reply.text)["inserted"], _counts(reply.text)["rejected"]) == ("1", "1")
    assert f"1 rows: {CLOSED_BEFORE_CREATED}" in reply.text
    assert "unknown stage &#39;Discovery&#39;" in reply.text
    with engine.connect() as conn:
        assert conn.execute(select(Deal.name)).scalars().all() == ["Late"]


def test_an_unknown_shipped_mapping_is_explained(tmp_path: Path, settings: Settings) -> None:
    _, client, csrf = _admin_client(tmp_path, settings)
    unknown = client.post(
        "/import",
        data={"csrf": csrf, "entity": "deals", "mapping": "shipped:salesforce:Nothing"},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert unknown.status_code == 422
    assert "no shipped mapping &#39;salesforce:Nothing&#39;" in unknown.text


HACKATHON_TASKS = SHARED_DATA / "crm_samples" / "salesforce" / "stomita-tdx2025-hackathon"


def test_a_salesforce_file_without_owner_id_takes_the_owner_named_on_the_form(
    tmp_path: Path, settings: Settings
) -> None:
    """The hackathon's Task.csv (83 done tasks, no OwnerId): refused without an owner, as
    the command line refuses it; with the form's Owner every row is that rep's, the page
    says so, and the 83 tasks naming deals not imported are a counted warning."""
    path = HACKATHON_TASKS / "Task.csv"
    if not path.is_file():
        pytest.skip(f"the Salesforce samples are not at {path.parent}")
    engine, client, csrf = _admin_client(tmp_path, settings)
    form = {"csrf": csrf, "entity": "activities", "mapping": "shipped:salesforce:Task",
            "allow_new_reps": "1"}  # fmt: skip
    refused = client.post("/import", data=form, files={"file": ("Task.csv", path.read_bytes())})
    assert refused.status_code == 422
    said = (
        "or credit every row to one rep: name that rep in the field “Whose rows are these?” "
        "of this page"
    )
    assert said in refused.text
    assert "--owner" not in refused.text and "--skip" not in refused.text
    reply = client.post(
        "/import",
        data={**form, "owner": " sfdata "},
        files={"file": ("Task.csv", path.read_bytes())},
    )
    assert reply.status_code == 200, reply.text
    assert (_counts(reply.text)["inserted"], _counts(reply.text)["rejected"]) == ("83", "0")
    assert 'data-testid="import-owner"' in reply.text and "<strong>sfdata</strong>" in reply.text
    assert "83 rows: warning: deal not imported" in reply.text
    assert "(e.g. &#39;0060000000000001&#39;)" in reply.text
    with engine.connect() as conn:
        assert conn.execute(select(Rep.name)).scalars().all() == ["sfdata"]


ORMDEMO_TASKS = SHARED_DATA / "crm_samples" / "salesforce" / "sfdc-assets-ormdemo"


def test_an_owner_named_for_a_file_with_owner_id_is_said_to_be_unused(
    tmp_path: Path, settings: Settings
) -> None:
    """The ormdemo's Task.csv has OwnerId (158 tasks, one done, owned by user
    0051U000003DQo8QAG; no User export beside it). "Whose rows are these?" answered Ben
    Okafor: the file's OwnerId wins, as on the command line, and the page says the answer was
    not used and why (it used to say nothing: the user believed the task was Ben's)."""
    path = ORMDEMO_TASKS / "Task.csv"
    if not path.is_file():
        pytest.skip(f"the Salesforce samples are not at {path.parent}")
    engine, client, csrf = _admin_client(tmp_path, settings)
    reply = client.post(
        "/import",
        data={
            "csrf": csrf,
            "entity": "activities",
            "mapping": "shipped:salesforce:Task",
            "allow_new_reps": "1",
            "owner": "Ben  Okafor",
        },
        files={"file": ("Task.csv", path.read_bytes())},
    )
    assert reply.status_code == 200, reply.text
    counted = _counts(reply.text)
    assert (counted["inserted"], counted["skipped"], counted["rejected"]) == ("1", "157", "0")
    assert 'data-testid="import-owner"' not in reply.text
    assert (
        "“Whose rows are these?” was not used: every row names its owner in OwnerId. The rows "
        "are credited to the reps the file names, not to <strong>Ben Okafor</strong>."
    ) in reply.text
    assert "--owner" not in reply.text
    with engine.connect() as conn:
        assert conn.execute(select(Rep.name)).scalars().all() == [
            "salesforce user 0051U000003DQo8QAG"
        ]
