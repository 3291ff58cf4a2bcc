"""The documentation keeps up with the code.

Every command and option of the `paceline` CLI, every configuration key, every endpoint of
the JSON API, every plugin hook and every environment variable the code reads is named in
docs/, and
configuration.md names no key that is gone.
The lists come from the code itself (the Typer app, the pydantic settings models, the source
text), so a new command, option or key fails here, by name, until it is documented. Links
between the documents point at files and headings that exist, inside the repository.
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel

from paceline import hookspecs
from paceline.api.app import API_PREFIX
from paceline.cli import app
from paceline.config import Settings, default_settings
from paceline.server import create_app
from paceline.store.engine import make_engine

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
CONFIG_DOC = DOCS / "configuration.md"
API_DOC = DOCS / "web-and-api.md"
PLUGINS_DOC = DOCS / "plugins.md"
README = ROOT / "README.md"
MARKDOWN_FILES = sorted(
    [README, ROOT / "CHANGELOG.md", ROOT / "benchmarks" / "README.md", *DOCS.glob("*.md")]
)
# The README says what Paceline is and how to start; detail belongs in docs/.
README_MAX_BYTES = 8_000


def _docs_text() -> str:
    return "\n".join(path.read_text("utf-8") for path in sorted(DOCS.glob("*.md")))


# --- commands and options -------------------------------------------------------------------


def _commands() -> dict[str, Any]:
    """Every command path ("import deals") -> its click command, groups included."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        if path:
            found[" ".join(path)] = command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


COMMANDS = _commands()
OPTIONS = [
    (path, option)
    for path, command in COMMANDS.items()
    if not getattr(command, "commands", None)
    for param in command.params
    if param.param_type_name == "option"
    for option in [*param.opts, *param.secondary_opts]
    if option.startswith("--")
]


def test_the_walk_finds_commands_and_subcommands() -> None:
    """A guard on the helper: it must see top-level commands and those of the sub-apps."""
    assert {"init", "scorecard", "forecast", "import", "import deals", "token revoke"} <= set(
        COMMANDS
    )
    assert ("log", "--not-engaged") in OPTIONS


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_command_is_documented(path: str) -> None:
    mentioned = re.search(rf"paceline {re.escape(path)}(?![\w-])", _docs_text())
    assert mentioned, f"`paceline {path}` is not mentioned anywhere in docs/"


def _reference_row(path: str) -> str | None:
    """The row of cli.md's command table for this command, if any."""
    pattern = rf"^\| `paceline {re.escape(path)}(?: [A-Z_]+)*` \|.*$"
    row = re.search(pattern, CLI_DOC.read_text("utf-8"), flags=re.MULTILINE)
    return row.group(0) if row else None


@pytest.mark.parametrize(("path", "option"), OPTIONS, ids=[f"{p} {o}" for p, o in OPTIONS])
def test_option_is_in_the_command_reference(path: str, option: str) -> None:
    row = _reference_row(path)
    assert row is not None, f"docs/cli.md has no reference row for `paceline {path}`"
    assert re.search(rf"`[^`]*(?<![\w-]){re.escape(option)}(?![\w-])[^`]*`", row), (
        f"`paceline {path} {option}` is not in its row of docs/cli.md"
    )


# --- configuration keys ---------------------------------------------------------------------


def _nested_model(annotation: object) -> type[BaseModel] | None:
    """The settings model inside an annotation such as `X`, `list[X]` or `list[X] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _config_keys() -> tuple[list[str], list[str]]:
    """(sections, leaf keys) of the settings, as dotted paths: `alerts.behind_pace`,
    `alerts.behind_pace.max_chance`; a list of tables (`[[metrics]]`) is a section whose
    keys are `metrics.numerator` and so on."""
    sections: list[str] = []
    keys: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            nested = _nested_model(field.annotation)
            if nested is None:
                keys.append(prefix + name)
            else:
                sections.append(prefix + name)
                walk(nested, f"{prefix}{name}.")

    walk(Settings, "")
    return sections, keys


SECTIONS, KEYS = _config_keys()


def _is_list_of_tables(section: str) -> bool:
    model: type[BaseModel] = Settings
    annotation: object = None
    for part in section.split("."):
        annotation = model.model_fields[part].annotation
        nested = _nested_model(annotation)
        assert nested is not None
        model = nested
    origin = typing.get_origin(annotation)
    return origin is list or (
        origin in (typing.Union, types.UnionType)
        and any(typing.get_origin(a) is list for a in typing.get_args(annotation))
    )


def _flattened_toml_keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in data.items():
        if isinstance(value, dict):
            keys |= _flattened_toml_keys(value, f"{prefix}{name}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                keys |= _flattened_toml_keys(item, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_the_walk_covers_every_key_of_the_shipped_configuration() -> None:
    """A guard on the helper: each key the default paceline.toml sets is among the walked
    keys (it could not be otherwise, as unknown keys are refused, unless the walk missed a
    nested model)."""
    shipped = ROOT / "src" / "paceline" / "defaults" / "paceline.toml"
    data = tomllib.loads(shipped.read_text("utf-8"))
    assert _flattened_toml_keys(data) <= set(KEYS)
    assert "alerts.behind_pace.max_chance" in KEYS and "metrics.numerator" in KEYS
    assert "insight.forecast" in SECTIONS and "coaching" in SECTIONS


@pytest.mark.parametrize("key", KEYS)
def test_configuration_key_is_documented(key: str) -> None:
    assert f"`{key}`" in CONFIG_DOC.read_text("utf-8"), (
        f"configuration key `{key}` is not documented in docs/configuration.md"
    )


@pytest.mark.parametrize("section", SECTIONS)
def test_configuration_section_has_a_heading(section: str) -> None:
    written = f"`[[{section}]]`" if _is_list_of_tables(section) else f"`[{section}]`"
    headings = re.findall(r"^#+ (.*)$", CONFIG_DOC.read_text("utf-8"), flags=re.MULTILINE)
    assert any(written in heading for heading in headings), (
        f"docs/configuration.md has no heading for {written}"
    )


def test_configuration_reference_names_no_unknown_key() -> None:
    """A key renamed or removed in the code must leave the reference too."""
    documented = re.findall(r"^\| `([a-z_.]+)` \|", CONFIG_DOC.read_text("utf-8"), re.MULTILINE)
    assert documented, "no key table found in docs/configuration.md"
    unknown = sorted(set(documented) - set(KEYS))
    assert unknown == [], f"docs/configuration.md documents keys the settings lack: {unknown}"


# --- API endpoints --------------------------------------------------------------------------


PATH_ID = re.compile(r"\{\w+\}")


def _endpoints() -> list[str]:
    """ "GET /activities/{id}" for every operation of the OpenAPI description (path ids as
    `{id}`, the /api/v1 prefix dropped, as web-and-api.md writes them)."""
    paths = create_app(default_settings(), make_engine("sqlite://")).openapi()["paths"]
    return sorted(
        f"{method.upper()} {PATH_ID.sub('{id}', path.removeprefix(API_PREFIX))}"
        for path, operations in paths.items()
        for method in operations
    )


def _documented_endpoints() -> set[str]:
    """Operations written as `GET /deals` or `GET/PATCH/DELETE /deals/{id}` in the API page."""
    found = set()
    for methods, path in re.findall(
        r"`([A-Z]+(?:/[A-Z]+)*) (/[^`\s?]*)", API_DOC.read_text("utf-8")
    ):
        found |= {f"{method} {path}" for method in methods.split("/")}
    return found


@pytest.mark.parametrize("endpoint", _endpoints())
def test_api_endpoint_is_documented(endpoint: str) -> None:
    assert endpoint in _documented_endpoints(), f"`{endpoint}` is not in docs/web-and-api.md"


# --- plugin hooks ---------------------------------------------------------------------------


HOOKS = sorted(
    name
    for name, value in vars(hookspecs).items()
    if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec")
)


def test_the_hook_list_is_not_empty() -> None:
    """A guard on the helper: the marker attribute pluggy sets is the one looked for."""
    assert {"register_import_sources", "register_alert_channels"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hook_is_documented(hook: str) -> None:
    headings = re.findall(r"^#+ (.*)$", PLUGINS_DOC.read_text("utf-8"), flags=re.MULTILINE)
    assert f"`{hook}`" in headings, f"hook `{hook}` has no heading in docs/plugins.md"


# --- environment variables ------------------------------------------------------------------


def _environment_variables(*folders: str) -> list[str]:
    found: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"\bPACELINE_[A-Z_]*[A-Z]\b", path.read_text("utf-8")))
    return sorted(found)


@pytest.mark.parametrize("name", _environment_variables("src", "tests"))
def test_environment_variable_is_documented(name: str) -> None:
    assert name != "PACELINE_" and name in _docs_text(), f"${name} is not documented in docs/"


@pytest.mark.parametrize("name", _environment_variables("benchmarks"))
def test_benchmark_environment_variable_is_documented(name: str) -> None:
    text = (ROOT / "benchmarks" / "README.md").read_text("utf-8")
    assert name in text, f"${name} is not documented in benchmarks/README.md"


# --- the README and the links ---------------------------------------------------------------


def test_readme_stays_short() -> None:
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size:,} bytes: move detail into docs/"


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    anchors = set()
    for heading in re.findall(r"^#+ (.*)$", path.read_text("utf-8"), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text("utf-8"), flags=re.DOTALL)
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("path", MARKDOWN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository_and_resolve(path: Path) -> None:
    broken = []
    for link in _links(path):
        if re.match(r"^[a-z]+://|^mailto:", link):
            continue
        target, _, anchor = link.partition("#")
        resolved = (path.parent / target).resolve() if target else path
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(f"{link} (no such file in the repository)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{link} (no such heading)")
    assert broken == [], f"{path.relative_to(ROOT)}: {broken}"


def test_no_reference_to_files_outside_the_repository() -> None:
    for path in MARKDOWN_FILES:
        assert "../shared/" not in path.read_text("utf-8"), path.relative_to(ROOT)
