"""The TV board's refresh: CPU seconds per `/kiosk/<token>` request, and of its recent wins.

Every TV on a sales floor asks for its board again every `refresh` seconds, all day, so the
CPU one refresh costs the server is paid many times over. The benchmark builds the demo
organisation once (`paceline demo --today 2026-11-20`, 30 reps, 15 months: ~480,000
activities) into `--tv-db` if that file is not there yet, copies it (a kiosk link is written
to the copy, never to the demo), opens a kiosk link for each team, and asks every team's
board `--tv-reps` times in process through the application (Starlette's test client: no
network, no browser), the clock set to `--tv-now`. It reports, per request, the CPU seconds
(`time.process_time`: the machine is shared, and wall time measures the other processes) of
the whole request and of `recent_wins` alone, as the board calls it (the team's reps, the
last `celebrate_minutes`), the median and the smallest of the reps.

Run it against any tree, the one being measured first on the path, e.g.
`PYTHONPATH=/tmp/base/src python benchmarks/tv_board.py` beside
`PYTHONPATH=src python benchmarks/tv_board.py`, alternating, several times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import benchkit

RESULTS = benchkit.ROOT / "benchmarks" / "results" / "tv_board.json"
DEMO_DAY = "2026-11-20"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tv-db", type=Path, default=Path("/tmp/paceline-bench-tv/demo.db"),
        help="tv_board: the demo database (built when missing)",
    )  # fmt: skip
    parser.add_argument("--tv-reps", type=int, default=30, help="tv_board: requests per team")
    parser.add_argument(
        "--tv-now", default=f"{DEMO_DAY}T15:00", help="tv_board: the clock (UTC), mid-afternoon"
    )


def _build_demo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "paceline.cli", "--db", f"sqlite:///{path}", "demo",
         "--today", DEMO_DAY],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _cpu(call: Any, reps: int) -> list[float]:
    spent = []
    for _ in range(reps):
        start = time.process_time()
        call()
        spent.append(time.process_time() - start)
    return spent


def run(args: argparse.Namespace) -> int:
    if not args.tv_db.exists():
        _build_demo(args.tv_db)
    os.environ["PACELINE_TODAY"] = args.tv_now
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from paceline import clock
    from paceline.analytics.leaderboard import recent_wins
    from paceline.auth.kiosks import create_kiosk_link
    from paceline.config import default_settings
    from paceline.server import create_app
    from paceline.store.engine import make_engine
    from paceline.store.models import Rep, Team

    settings = default_settings()
    figures: dict[str, Any] = {"machine": benchkit.machine(), "now": args.tv_now, "teams": {}}
    with tempfile.TemporaryDirectory(prefix="paceline-bench-tv-") as folder:
        copy = Path(folder) / "demo.db"
        shutil.copyfile(args.tv_db, copy)
        engine = make_engine(f"sqlite:///{copy}")
        with engine.connect() as conn:
            teams = {
                str(name): [int(r) for r in conn.scalars(select(Rep.id).where(Rep.team_id == tid))]
                for tid, name in conn.execute(select(Team.id, Team.name).order_by(Team.name))
            }
        now = clock.now(settings.calendar.zone)
        since = now - dt.timedelta(minutes=settings.leaderboard.celebrate_minutes)
        # the base tree's recent_wins had no `until`
        bounded = "until" in inspect.signature(recent_wins).parameters
        extra = {"until": now} if bounded else {}
        client = TestClient(create_app(settings, engine))
        print(f"{'team':<8} {'request ms (median / least)':>28} {'recent wins ms':>16} wins")
        for team, reps in teams.items():
            path = create_kiosk_link(engine, team, "bench").path
            assert client.get(path).status_code == 200  # warm: routes, templates, statements
            requests = _cpu(lambda p=path: client.get(p), args.tv_reps)  # type: ignore[misc]
            wins = recent_wins(engine, settings, settings.celebrated_metrics, since, reps, **extra)
            part = _cpu(
                lambda r=reps: recent_wins(
                    engine, settings, settings.celebrated_metrics, since, r, **extra
                ),
                args.tv_reps,
            )
            row = {
                "request_cpu_ms_median": statistics.median(requests) * 1000,
                "request_cpu_ms_least": min(requests) * 1000,
                "recent_wins_cpu_ms_median": statistics.median(part) * 1000,
                "recent_wins_cpu_ms_least": min(part) * 1000,
                "wins": len(wins),
            }
            figures["teams"][team] = row
            request = f"{row['request_cpu_ms_median']:.1f} / {row['request_cpu_ms_least']:.1f}"
            ms = f"{row['recent_wins_cpu_ms_median']:.1f} / {row['recent_wins_cpu_ms_least']:.1f}"
            print(f"{team:<8} {request:>28} {ms:>16} {len(wins)}")
        engine.dispose()
    benchkit.save(RESULTS, figures)
    return 0


def main(argv: list[str] | None = None) -> int:
    return benchkit.standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
