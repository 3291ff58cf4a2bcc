"""Analyses on a read replica: the aggregates' refresh runs on the primary, the reads on the
replica (`store.engine.read_engine`, `rollup.ensure_rollup`).

A second PostgreSQL database stands in for the replica. It receives nothing from the primary,
which is how a replica that has not replayed a write yet looks, so each value read says where
it was read: the hand-built tracking team is written to both, then Ben gets 4 more
conversations on the primary only and 1 more on the stand-in only (Ben has 5 in November,
`factories.build_tracking_team`). Read through the replica, Ben has 5: the stand-in's
aggregates, never refreshed there (its own extra call stays marked, not counted); the
primary's marks are gone and the primary itself reads 9.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select
from typer.testing import CliRunner

from factories import (
    AS_OF,
    api_tokens,
    bearer,
    build_tracking_team,
    calls_on,
    made_app,
    migrated_pg_template,
    pg_copy,
    recorded_statements,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import team_scorecards
from paceline.cli import app
from paceline.config import Settings
from paceline.store.engine import primary_of, read_engine
from paceline.store.models import Activity, RollupDirty, RollupState


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _conversations(engine: Engine, settings: Settings, rep: str) -> float | None:
    cards = team_scorecards(engine, settings, "month", AS_OF, "East").reps
    card = next(c for c in cards if c.rep == rep)
    return {line.metric: line.pace.actual for line in card.lines}["conversations"]


def _add_calls(engine: Engine, rep_id: int, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Activity), calls_on(rep_id, dt.date(2026, 11, 17), n, "conversation"))


def _marks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(RollupDirty)) or 0)


@pytest.fixture
def primary_and_stand_in(
    pg_engine: Engine, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, Engine]]:
    """(primary, stand-in replica), both holding the tracking team, as the module says."""
    ids = build_tracking_team(pg_engine, settings)
    for stand_in in pg_copy(migrated_pg_template(tmp_path_factory)):
        assert build_tracking_team(stand_in, settings) == ids
        ensure_rollup(stand_in, settings)
        _add_calls(pg_engine, ids["Ben"], 4)
        _add_calls(stand_in, ids["Ben"], 1)
        yield pg_engine, stand_in


def test_refresh_on_the_primary_reads_on_the_replica(
    primary_and_stand_in: tuple[Engine, Engine],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primary, stand_in = primary_and_stand_in
    monkeypatch.setenv("PACELINE_READ_DB", _url(stand_in))
    reads = read_engine(settings, primary)
    assert primary_of(reads) is primary and primary_of(primary) is primary
    try:
        assert _conversations(reads, settings, "Ben") == 5
        assert _marks(primary) == 0  # refreshed there (it had the team's and Ben's 4 marked)
        with primary.connect() as conn:
            assert conn.scalar(select(RollupState.fingerprint)) is not None
        assert _marks(stand_in) == 1  # never refreshed: a replica cannot be written
        assert _conversations(primary, settings, "Ben") == 9
    finally:
        reads.dispose()


def test_no_read_url_reads_the_database_itself(
    pg_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert read_engine(settings, pg_engine) is pg_engine
    monkeypatch.setenv("PACELINE_READ_DB", _url(pg_engine))  # the same database: no second pool
    assert read_engine(settings, pg_engine) is pg_engine


def test_cli_and_api_analyses_read_the_replica(
    primary_and_stand_in: tuple[Engine, Engine],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`paceline scorecard` and the API's team and rep scorecards read Ben's 5 from the
    replica; the refresh ran on the primary."""
    primary, stand_in = primary_and_stand_in
    monkeypatch.setenv("PACELINE_DB", _url(primary))
    monkeypatch.setenv("PACELINE_READ_DB", _url(stand_in))
    found = CliRunner().invoke(
        app, ["scorecard", "--team", "East", "--as-of", AS_OF.isoformat(), "--json"]
    )
    assert found.exit_code == 0, found.output
    ben = next(c for c in json.loads(found.output)["reps"] if c["rep"] == "Ben")
    assert _actual(ben, "conversations") == 5
    assert _marks(primary) == 0 and _marks(stand_in) == 1
    token = api_tokens(primary, {"root": ("admin", None)})["root"]
    client = TestClient(made_app(settings, primary))
    answer = client.get(
        "/api/v1/scorecard/team",
        params={"team": "East", "as_of": AS_OF.isoformat()},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    ben = next(c for c in answer.json()["reps"] if c["rep"] == "Ben")
    assert _actual(ben, "conversations") == 5
    # A rep's card: the access check reads who may see whom on the primary, the card the
    # replica (without one, both are read on the card's connection).
    replica = client.app.state.paceline.reads
    with recorded_statements(primary) as on_primary, recorded_statements(replica) as on_replica:
        answer = client.get(
            "/api/v1/scorecard",
            params={"rep": "Ben", "as_of": AS_OF.isoformat()},
            headers=bearer(token),
        )
    assert answer.status_code == 200, answer.text
    rosters = {
        name: sum(s.startswith("SELECT rep.id, rep.name, rep.team_id") for s in statements)
        for name, statements in [("primary", on_primary), ("replica", on_replica)]
    }
    assert rosters == {"primary": 1, "replica": 0}
    assert _actual(answer.json(), "conversations") == 5


def _actual(card: dict[str, Any], metric: str) -> Any:
    return {line["metric"]: line["pace"]["actual"] for line in card["lines"]}[metric]
