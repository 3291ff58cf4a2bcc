"""Setting targets from the command line: the operator is an admin to the policy
(`paceline.access.OPERATOR`), so a refusal cannot come from a real run; the test makes the
operator a manager of East, or a rep, and checks that `target set` and `plan --save` answer
the policy's refusal (asked by `services.targets`) with the same words as the API's 403 and
the pages' 403, on one line, with exit status 1, and store nothing.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import cli_in
from paceline import access
from paceline.auth.access import Principal
from paceline.config import default_settings
from paceline.store.engine import make_engine
from paceline.store.models import Target
from paceline.store.records import rep_refs


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG", "PACELINE_REP"):
        monkeypatch.delenv(var, raising=False)
    assert cli_in(tmp_path, "init")[0] == 0
    assert cli_in(tmp_path, "rep", "add", "Ana Ruiz", "--team", "East")[0] == 0
    assert cli_in(tmp_path, "rep", "add", "Dee Lowe", "--team", "West")[0] == 0
    return tmp_path


def east_id(workdir: Path) -> int | None:
    engine = make_engine(f"sqlite:///{workdir / 'p.db'}")
    try:
        return rep_refs(engine)["ana ruiz"].team_id
    finally:
        engine.dispose()


def targets(workdir: Path) -> int:
    engine = make_engine(f"sqlite:///{workdir / 'p.db'}")
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Target)) or 0)
    finally:
        engine.dispose()


def test_target_set_for_a_rep_out_of_reach_exits_1(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = Principal(0, "cli", "manager", None, east_id(workdir), face="cli")
    monkeypatch.setattr(access, "OPERATOR", manager)
    code, output = cli_in(workdir, "target", "set", "5", "--rep", "Dee Lowe", "--metric", "calls")
    assert code == 1
    assert output.strip() == "error: not allowed: set targets for rep 'Dee Lowe'"
    assert targets(workdir) == 0
    code, output = cli_in(workdir, "target", "set", "5", "--rep", "ana ruiz", "--metric", "calls")
    assert code == 0, output
    assert output.startswith("target set: Ana Ruiz, calls 5 for the month")
    assert targets(workdir) == 1


def test_plan_save_by_a_rep_exits_1(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan of everyone (East's Ana, West's Dee, by team): Ana is named first."""
    rep = Principal(0, "cli", "rep", None, east_id(workdir), face="cli")
    monkeypatch.setattr(access, "OPERATOR", rep)
    steps = default_settings().funnel.steps
    rates = [f"{u}:{lo}=0.5" for u, lo in itertools.pairwise(steps)]
    args = ["plan", "--revenue", "1000000", "--deal-size", "20000", "--year", "2026", "--save"]
    code, output = cli_in(workdir, *args, *itertools.chain(*(("--rate", r) for r in rates)))
    assert code == 1, output
    assert output.strip() == "error: not allowed: set targets for rep 'Ana Ruiz'"
    assert targets(workdir) == 0
