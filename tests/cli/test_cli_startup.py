"""Start-up guard: starting `paceline` must not load the heavy libraries.

Every command used to spend about two seconds of CPU importing SciPy, NumPy, Plotly, Jinja2,
Alembic, argon2 and the whole SQLAlchemy ORM before doing anything. These tests run Python in
a subprocess (a fresh interpreter: this process has long imported everything) and check
*which modules* were imported, never how long it took: a timed test would fail on a loaded
machine and pass on a fast one. `benchmarks/cli_startup.py` measures the time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store import migrate
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade

SRC = Path(__file__).resolve().parents[2] / "src"

# Libraries no command needs before it runs (top-level package names).
NEVER_AT_START = frozenset(
    {
        "scipy",
        "numpy",
        "plotly",
        "pandas",
        "weasyprint",
        "xlsxwriter",
        "jinja2",
        "uvicorn",
        "fastapi",
        "starlette",
        "argon2",
        "alembic",
        "sqlalchemy",
    }
)
# What logging one activity may not load: the analyses' and the web's libraries, and Alembic
# (the schema check reads the migration files' text). SQLAlchemy it needs.
NEVER_FOR_LOG = NEVER_AT_START - {"sqlalchemy"}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PACELINE_TODAY"] = "2026-12-07"
    return env


def imported_by(*args: str) -> set[str]:
    """Top-level names of the packages `python -X importtime ARGS` imported, from the
    importtime report on stderr (one line per module: `import time: self | total | name`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            if module and module != "imported package":
                names.add(module.split(".")[0])
    assert "paceline" in names, "the importtime report was not read"  # the parser works
    return names


def test_importing_the_cli_loads_none_of_the_heavy_libraries() -> None:
    loaded = imported_by("-c", "import paceline.cli")
    assert loaded & NEVER_AT_START == set()
    assert {"typer", "rich"} <= loaded  # what it does need, so the check reads real output


def test_help_loads_none_of_the_heavy_libraries() -> None:
    loaded = imported_by("-m", "paceline.cli", "--help")
    assert loaded & NEVER_AT_START == set()


@pytest.fixture
def rep_db(tmp_path: Path, settings: Settings) -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / 'start.db'}"
    engine = make_engine(url)
    upgrade(engine)
    add_rep(engine, settings, "Ana Ruiz", "sdr")
    return url, engine


def test_log_loads_no_analysis_web_or_migration_library(rep_db: tuple[str, Engine]) -> None:
    url, engine = rep_db
    loaded = imported_by(
        "-m", "paceline.cli", "--db", url, "log", "call", "--rep", "Ana Ruiz", "--at", "2026-12-07"
    )
    assert loaded & NEVER_FOR_LOG == set()
    with engine.connect() as conn:  # and it did log the call
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar_one() == 1


def test_head_read_from_the_migration_files_is_alembics_head(tmp_path: Path) -> None:
    """`is_up_to_date` skips Alembic by reading the files; it must name the same head."""
    engine = make_engine(f"sqlite:///{tmp_path / 'head.db'}")
    assert migrate.head_from_files() == migrate.head_revision(engine)
    assert not migrate.is_up_to_date(engine)  # empty: no alembic_version table
    upgrade(engine)
    assert migrate.is_up_to_date(engine)
    with engine.begin() as conn:  # a database one revision behind
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    assert not migrate.is_up_to_date(engine)
