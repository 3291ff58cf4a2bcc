"""The layers contract in pyproject.toml holds, and fails on an arrow back up the flow.

`make lint` runs import-linter on the real imports; these tests plant the arrows the issue
found (analytics and store importing ingest, the API importing the pages, a page importing
the API) into the real import graph and check that each one breaks a contract, so the
contract cannot silently drift into allowing them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.configuration import configure
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
KINDS = {"layers": LayersContract, "forbidden": ForbiddenContract}
configure()  # what `lint-imports` sets up first: the contracts time their checks


def _config() -> dict[str, Any]:
    return dict(tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"])


def _contracts() -> list[Any]:
    config = _config()
    session = {"root_packages": [config["root_package"]]}
    built = []
    for raw in config["contracts"]:
        # import-linter reads a TOML value as its ini form: true is "True"
        options = {
            k: str(v) if isinstance(v, bool) else v
            for k, v in raw.items()
            if k not in {"name", "type"}
        }
        built.append(KINDS[raw["type"]](raw["name"], session, options))
    return built


def _broken(planted: tuple[str, str] | None = None) -> list[str]:
    """Names of the contracts broken by the real imports plus the planted one."""
    graph = grimp.build_graph(
        "paceline",
        cache_dir=None,
        exclude_type_checking_imports=bool(_config().get("exclude_type_checking_imports")),
    )
    if planted is not None:
        graph.add_import(importer=planted[0], imported=planted[1])
    return [c.name for c in _contracts() if not c.check(graph, verbose=False).kept]


def test_the_contract_names_the_layers() -> None:
    layers = next(c for c in _contracts() if isinstance(c, LayersContract))
    tails = [{m.name for m in layer.module_tails} for layer in layers.layers]

    def level(name: str) -> int:
        return next(i for i, layer in enumerate(tails) if name in layer)

    assert level("api") == level("web") < level("services")
    assert level("services") < level("analytics") == level("ingest") < level("store")


def test_the_real_imports_keep_every_contract() -> None:
    assert _broken() == []


@pytest.mark.parametrize(
    "importer, imported",
    [
        ("paceline.analytics.peers", "paceline.ingest.entities"),  # analytics -> ingest
        ("paceline.ingest.importer", "paceline.analytics.metrics"),  # ingest -> analytics
        ("paceline.store.records", "paceline.ingest.mapping"),  # store -> ingest
        ("paceline.api.app", "paceline.web.pages"),  # the API mounting the pages itself
        ("paceline.web.work", "paceline.api.deps"),  # a page reaching into the API
        ("paceline.web.work", "paceline.cli"),  # a page importing the command line
        ("paceline.analytics.plan", "paceline.services.targets"),  # an analysis writing
        ("paceline.web.queries", "paceline.store.models"),  # SQL in a face
    ],
)
def test_an_arrow_back_up_the_flow_breaks_a_contract(importer: str, imported: str) -> None:
    assert _broken((importer, imported)) != []


@pytest.mark.parametrize(
    "importer, imported",
    [
        ("paceline.ingest.importer", "paceline.store.names"),  # down the flow
        ("paceline.cli.web_commands", "paceline.server"),  # the CLI starts the server
        ("paceline.web.queries", "paceline.store.records"),  # the pages' reads
    ],
)
def test_an_arrow_down_the_flow_is_allowed(importer: str, imported: str) -> None:
    assert _broken((importer, imported)) == []
