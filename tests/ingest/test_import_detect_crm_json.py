"""`paceline import detect` on the real CRM API answers in ../shared/data/crm_samples: the
import source is chosen by the file's content (every JSON source claims .json and sniffs),
and the shipped mapping, or the `import stages` command for a pipeline definition, is named.

Expected answers are listed by hand from PROVENANCE.md (which endpoint each file recorded)
and docs/import.md's table of shipped mappings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from factories import SHARED_DATA
from paceline import plugins
from paceline.cli import app
from paceline.config import Settings
from paceline.ingest.detect import detect

SAMPLES = SHARED_DATA / "crm_samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no samples at {SAMPLES}")
NANGO = "nango-integration-templates"
# file -> (the source that reads it, the mapping or "stages", the entity)
EXPECTED = {
    f"hubspot/{NANGO}/deals.test.json": ("hubspot-json", "hubspot:deals", "deals"),
    f"hubspot/{NANGO}/fetch-pipelines.test.json": ("hubspot-json", "stages", None),
    f"pipedrive/{NANGO}/deals.test.json": ("pipedrive-json", "pipedrive:deals", "deals"),
    f"pipedrive/{NANGO}/activities.test.json": (
        "pipedrive-json",
        "pipedrive:activities",
        "activities",
    ),
    f"pipedrive/{NANGO}/stages.test.json": ("pipedrive-json", "stages", None),
    f"close/{NANGO}/opportunities.test.json": ("close-json", "close:opportunities", "deals"),
    f"close/{NANGO}/activities.test.json": ("close-json", "close:activities", "activities"),
    f"close/{NANGO}/pipelines.test.json": ("close-json", "stages", None),
}


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PACELINE_MAPPINGS", raising=False)
    return tmp_path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_crm_answer_is_read_by_its_source_and_named_its_mapping(
    name: str, settings: Settings, in_tmp: Path
) -> None:
    reader, mapping, entity = EXPECTED[name]
    path = SAMPLES / name
    source = plugins.import_source_for(path)
    assert source.name == reader
    found = detect(path, source, settings)
    assert found.known
    if mapping == "stages":
        assert found.pipeline_stages and found.command == (
            f"paceline import stages {path} --from {reader}"
        )
    else:
        assert (found.mapping, found.entity) == (mapping, entity)
        # The shipped mapping names its reader: the command needs no --from.
        assert found.command == f"paceline import {entity} {path} --mapping {mapping}"
    assert not list(in_tmp.iterdir())  # nothing written for a known layout


def test_the_pipeline_definitions_count_their_stages(settings: Settings, in_tmp: Path) -> None:
    # Counted in the files: HubSpot 7 stages in 1 pipeline, Pipedrive 12, Close 5 statuses.
    files = {
        "hubspot": "fetch-pipelines.test.json",
        "pipedrive": "stages.test.json",
        "close": "pipelines.test.json",
    }
    counts = {}
    for name, file in files.items():
        path = SAMPLES / name / NANGO / file
        counts[name] = detect(path, plugins.import_source_for(path), settings).pipeline_stages
    assert counts == {"hubspot": 7, "pipedrive": 12, "close": 5}


def test_hubspot_tasks_without_the_time_and_status_properties_name_the_closest_mapping(
    settings: Settings, in_tmp: Path
) -> None:
    # The recording asked for neither hs_timestamp nor hs_task_status: hubspot:tasks cannot
    # read it, and detect says what it lacks instead of pretending it fits.
    path = SAMPLES / "hubspot" / NANGO / "tasks.test.json"
    found = detect(path, plugins.import_source_for(path), settings)
    assert not found.known
    closest = found.fits[0]
    assert closest["mapping"] == "hubspot:tasks"
    assert set(closest["missing"]) >= {"hs_timestamp", "hs_task_status"}  # type: ignore[call-overload]


def test_a_json_file_no_crm_source_recognises_is_left_to_csv_as_before(in_tmp: Path) -> None:
    path = in_tmp / "export.json"
    path.write_text('{"rows": [{"a": 1}]}', "utf-8")
    assert plugins.import_source_for(path).name == "csv"
    # --from still names any source, whatever the file's content.
    assert plugins.import_source_for(path, "hubspot-json").name == "hubspot-json"


def test_the_command_prints_the_stages_command_for_a_pipeline_definition(in_tmp: Path) -> None:
    path = SAMPLES / "close" / NANGO / "pipelines.test.json"
    arguments = ["--db", f"sqlite:///{in_tmp}/p.db", "import", "detect", str(path)]
    done = CliRunner().invoke(app, arguments)
    assert done.exit_code == 0, done.output
    assert "close-json pipeline definition with 5 stage(s)" in done.output
    assert "[[stages]]" in done.output
    assert f"paceline import stages {path} --from close-json" in done.output


def test_an_api_answer_no_mapping_reads_is_not_taken_for_generic_columns(
    settings: Settings, in_tmp: Path
) -> None:
    # Pipedrive's GET /v1/pipelines: records with an id and a name, which the generic reps
    # columns (only `name` required) would "fit". No mapping reads pipelines: it is unknown.
    path = SAMPLES / "pipedrive" / NANGO / "pipelines.test.json"
    found = detect(path, plugins.import_source_for(path), settings)
    assert not found.known and found.mapping != "generic"
