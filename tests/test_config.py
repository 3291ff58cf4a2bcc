"""Configuration: the shipped defaults are valid, and mistakes are named by key."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from paceline.cli import app
from paceline.config import (
    ConfigError,
    Settings,
    default_config_text,
    default_settings,
    derive,
    load_settings,
    parse_settings,
    resolve_database_url,
)


def test_defaults_follow_the_seeds() -> None:
    s = parse_settings(default_config_text())
    assert {"call", "meeting", "email", "proposal", "networking_event"} <= s.selling_kinds
    assert {"admin", "crm_update", "research", "travel", "order_chasing"}.isdisjoint(
        s.selling_kinds
    )
    assert s.is_selling("call", has_ask=True)
    assert not s.is_selling("call", has_ask=False)  # no Ask, no selling
    assert not s.is_selling("admin", has_ask=True)
    assert s.role("sdr").key_metrics == ["conversations", "meetings_set", "opportunities_sourced"]
    assert s.metric("opportunities_sourced").credit == "sourced_by"
    assert "meetings_set" in s.funnel.steps and "meetings_held" in s.funnel.steps
    assert s.stage_status["closed_won"] == "won"


def _with(replace: str, by: str) -> str:
    text = default_config_text()
    assert replace in text
    return text.replace(replace, by, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('timezone = "America/New_York"', 'timezone = "Mars/Olympus"', "calendar.timezone"),
        ('work_days = ["mon"', 'work_days = ["funday"', "calendar.work_days"),
        ('key_metrics = ["conversations"', 'key_metrics = ["chats"', "roles.sdr.key_metrics"),
        ('kinds = ["call"]', 'kinds = ["carrier_pigeon"]', "metrics.calls.kinds"),
        ('numerator = "conversations"', 'numerator = "nope"', "unknown metric 'nope'"),
        ('aggregate = "sum"\nfield = "amount"', 'aggregate = "sum"', "needs `field`"),
        ("behind = 0.90", "behind = 1.50", "`behind` must not be above `ahead`"),
        ('name = "call"\nlabel', 'name = "Call Me"\nlabel', "kinds['Call Me'].name"),
        ("[pacing]", "[pacing]\nspeed = 3", "pacing.speed"),
        ('steps = ["calls"', 'steps = ["smoke_signals"', "funnel.steps"),
        ('name = "email"', 'name = "call"', "kinds: call defined twice"),
        (
            'weak_step = ["proposals", "deals_won"]',
            'weak_step = ["proposals", "revenue"]',
            "coaching.proposal_coaching.weak_step: revenue is a sum, not a count",
        ),
    ],
)
def test_mistakes_are_named(old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(_with(old, new), origin="paceline.toml")
    assert message in str(excinfo.value)


def test_deal_metrics_cannot_filter_on_activity_fields() -> None:
    bad = _with(
        'date = "closed_at"\nstatus = "won"', 'date = "closed_at"\nstatus = "won"\nkinds = ["call"]'
    )
    with pytest.raises(ConfigError, match="deal metrics cannot filter on kinds"):
        parse_settings(bad)


def test_only_deal_metrics_credit_the_sourcer() -> None:
    bad = _with('kinds = ["call"]\n', 'kinds = ["call"]\ncredit = "sourced_by"\n')
    with pytest.raises(ConfigError, match="only deal metrics can credit"):
        parse_settings(bad)


def test_not_toml() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_settings("[calendar\n")


def test_loading_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PACELINE_CONFIG", raising=False)
    monkeypatch.delenv("PACELINE_DB", raising=False)
    assert load_settings().calendar.timezone == "America/New_York"  # built-in defaults
    (tmp_path / "paceline.toml").write_text(
        _with('timezone = "America/New_York"', 'timezone = "Europe/Paris"')
    )
    settings = load_settings()
    assert settings.calendar.timezone == "Europe/Paris"
    assert resolve_database_url(settings) == "sqlite:///paceline.db"
    monkeypatch.setenv("PACELINE_DB", "sqlite:///env.db")
    assert resolve_database_url(settings) == "sqlite:///env.db"
    assert resolve_database_url(settings, "sqlite:///flag.db") == "sqlite:///flag.db"
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def _with_ratios(*ratios: tuple[str, str, str]) -> str:
    """The defaults plus ratio metrics given as (name, numerator, denominator)."""
    extra = "".join(
        f'\n[[metrics]]\nname = "{name}"\naggregate = "ratio"\n'
        f'numerator = "{numerator}"\ndenominator = "{denominator}"\n'
        for name, numerator, denominator in ratios
    )
    return default_config_text() + extra


@pytest.mark.parametrize(
    ("ratios", "cycle"),
    [
        # a's denominator is b, b's numerator is a
        (
            [("ratio_a", "calls", "ratio_b"), ("ratio_b", "ratio_a", "calls")],
            "ratio_a -> ratio_b -> ratio_a",
        ),
        # a -> b -> c -> a, through numerators and denominators alike
        (
            [
                ("ratio_a", "ratio_b", "calls"),
                ("ratio_b", "calls", "ratio_c"),
                ("ratio_c", "ratio_a", "conversations"),
            ],
            "ratio_a -> ratio_b -> ratio_c -> ratio_a",
        ),
        # a cycle reached only through a ratio outside it: the message names just the cycle
        (
            [
                ("ratio_top", "ratio_a", "calls"),
                ("ratio_a", "ratio_b", "calls"),
                ("ratio_b", "calls", "ratio_a"),
            ],
            "ratio_a -> ratio_b -> ratio_a",
        ),
    ],
)
def test_ratio_cycles_are_rejected(ratios: list[tuple[str, str, str]], cycle: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(_with_ratios(*ratios), origin="paceline.toml")
    message = str(excinfo.value)
    assert "cycle" in message and cycle in message
    assert "ratio_top" not in message


def test_a_ratio_referring_to_itself_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"metrics\.ratio_a: a ratio cannot refer to itself"):
        parse_settings(_with_ratios(("ratio_a", "ratio_a", "calls")))


def test_ratios_sharing_parts_are_not_a_cycle() -> None:
    """A diamond (two ratios over the same ratio, a ratio of ratios) is fine."""
    settings = parse_settings(
        _with_ratios(
            ("ratio_a", "connect_rate", "calls"),
            ("ratio_b", "connect_rate", "ratio_a"),
            ("ratio_c", "ratio_a", "ratio_b"),
        )
    )
    assert settings.metric("ratio_c").denominator == "ratio_b"


def test_derived_values_are_kept_per_configuration_object() -> None:
    # Built once per configuration and key; a copy (even an unchanged one) is another
    # configuration and builds its own, so a value cannot outlive what it was built from.
    settings = default_settings()
    built: list[str] = []

    def build(label: str) -> str:
        built.append(label)
        return label

    first = derive(settings, "k", lambda: build("first"))
    again = derive(settings, "k", lambda: build("again"))
    other_key = derive(settings, "other", lambda: build("other key"))
    copied = derive(settings.model_copy(), "k", lambda: build("copy"))
    assert (first, again, other_key, copied) == ("first", "first", "other key", "copy")
    assert built == ["first", "other key", "copy"]


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """`model` and every configuration model its fields hold (nested, in lists and dicts)."""
    if model in seen:
        return seen
    seen.add(model)
    for info in model.model_fields.values():
        stack: list[object] = [info.annotation]
        while stack:
            annotation = stack.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                _models(annotation, seen)
            stack.extend(typing.get_args(annotation))
    return seen


def test_no_default_factory_is_a_builtin() -> None:
    """Pydantic asks `inspect.signature` whether a default factory takes the validated data;
    for `list`, `dict` or a bound `.copy` that parses the builtin's text signature (tokenize
    and ast, each time), which every command paid at start-up. The factories are functions."""
    models = _models(Settings, set())
    assert len(models) > 20  # the walk found the nested models, not only Settings
    factories = {
        f"{model.__name__}.{name}": info.default_factory
        for model in models
        for name, info in model.model_fields.items()
        if info.default_factory is not None
    }
    assert "CalendarSettings.work_days" in factories and "Settings.stages" in factories
    builtins = {name for name, made in factories.items() if not inspect.isfunction(made)}
    assert builtins == set()


ACCOUNTS_CALLED_TOML = """
[[metrics]]
name = "accounts_called"
label = "Accounts called"
source = "activities"
aggregate = "distinct_count"
field = "account_id"
kinds = ["call"]
"""
IDLE_METRIC = 'metric = "selling_activities"'
ACTIVITY_COUNTS = (
    "activities, selling_activities, calls, conversations, dm_conversations, vp_conversations,"
    " vp_contacts, meetings_set, meetings_held, face_to_face_meetings, proposals"
)


@pytest.mark.parametrize(
    ("metric", "kind"),
    [
        ("accounts_called", "distinct_count of activities"),
        ("selling_minutes", "sum of activities"),
        ("deals_won", "count of deals"),
        ("connect_rate", "ratio"),
    ],
)
def test_the_idle_metric_must_be_a_count_of_activities(metric: str, kind: str) -> None:
    """The no-selling rule reads each rep's days from the rollup of activity counts: any
    other metric there read every rep as idle for a year, silently (before 2026-12-07)."""
    text = _with(IDLE_METRIC, f'metric = "{metric}"') + ACCOUNTS_CALLED_TOML
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(text, origin="paceline.toml")
    assert (
        f"alerts.no_selling.metric: '{metric}' is a {kind}, not a count of activities"
        f' (aggregate = "count", source = "activities")'
    ) in str(excinfo.value)
    assert f"Counts of activities: {ACTIVITY_COUNTS}" in str(excinfo.value)


def test_a_command_with_a_distinct_count_as_the_idle_metric_stops_naming_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "paceline.toml"
    config.write_text(
        _with(IDLE_METRIC, 'metric = "accounts_called"') + ACCOUNTS_CALLED_TOML, "utf-8"
    )
    ran = CliRunner().invoke(
        app, ["--config", str(config), "--db", f"sqlite:///{tmp_path / 'p.db'}", "alerts"]
    )
    assert ran.exit_code == 1
    assert "alerts.no_selling.metric: 'accounts_called' is a distinct_count of activities" in (
        " ".join(ran.output.split())
    )
    assert "Traceback" not in ran.output
    assert not (tmp_path / "p.db").exists()  # stopped before touching the database
