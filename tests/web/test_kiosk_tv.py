"""The TV board's pages and celebrations, and kiosk links (SQLite and PostgreSQL).

On the two-role team of `test_leaderboard_fair` (East: SDRs Eve 30, Ana 20, Ben 12
conversations in November; AEs Cy 6, Dan 3), with the clock at noon in New York on
Wednesday 2026-11-18.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from board_org import build_two_roles, calls_rows
from factories import made_app
from paceline import clock
from paceline.auth.accounts import add_user, create_token, principal_of, start_session
from paceline.auth.kiosks import create_kiosk_link, kiosk_team, revoke_kiosk_link
from paceline.callers import SESSION_COOKIE
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.errors import Forbidden
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.models import Activity, KioskLink

NOON_NY = dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def site(engine: Engine, settings: Settings) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    ids = build_two_roles(engine, settings)
    ids["Wes"] = add_rep(engine, settings, "Wes", "sdr", team="West")
    add_rep(engine, settings, "Meg", "manager", team="East")
    users = {
        "admin": add_user(engine, "admin", PASSWORD, "admin"),
        "meg": add_user(engine, "meg", PASSWORD, "manager", rep="Meg"),
        "ben": add_user(engine, "ben", PASSWORD, "rep", rep="Ben"),
    }
    sessions = {name: start_session(engine, u.id) for name, u in users.items()}
    with clock.frozen(NOON_NY), TestClient(made_app(settings, engine)) as client:
        yield client, {"ids": ids, "sessions": sessions}


def _login(client: TestClient, sessions: dict[str, tuple[str, str]], user: str) -> str:
    cookie, csrf = sessions[user]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    return csrf


def _names(html: str) -> list[str]:
    return re.findall(r'data-testid="tv-name">([^<]+)<', html)


def test_tv_pages_rotate_and_mark_you(site: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = site
    _login(client, data["sessions"], "ben")
    first = client.get("/leaderboard/tv?metric=conversations&period=month&top=3&refresh=20")
    assert first.status_code == 200
    assert _names(first.text) == ["Eve", "Ana", "Ben"]  # the SDRs' board, top 3
    assert "page 1 of 2" in first.text
    refresh = re.search(r'http-equiv="refresh" content="([^"]+)"', first.text)
    assert refresh is not None
    assert refresh.group(1).startswith("20;url=/leaderboard/tv?")
    assert "page=2" in refresh.group(1) and "top=3" in refresh.group(1)
    assert re.search(r'class="tv-row you"[^>]*>\s*<span class="tv-rank">3<', first.text)
    second = client.get("/leaderboard/tv?metric=conversations&period=month&top=3&page=2")
    assert _names(second.text) == ["Cy", "Dan"]
    assert "page=1" in second.text.split('http-equiv="refresh"')[1].split(">")[0]
    # The widest bar is the leader's; the others in proportion (78% of the track at most).
    widths = re.findall(r'class="tv-fill" style="width: ([0-9.]+)%"', first.text)
    assert [float(w) for w in widths] == [78.0, 52.0, 31.2]  # 30, 20, 12 conversations


def test_tv_by_target_lists_only_the_ranked(site: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = site
    _login(client, data["sessions"], "admin")
    page = client.get("/leaderboard/tv?metric=conversations&period=month&by=target&team=East")
    assert _names(page.text) == ["Ben", "Ana"]  # Eve has no target: counted, not ranked
    values = re.findall(r'data-testid="tv-value">([^<]+)<', page.text)
    assert values == ["46%", "15%"]  # 12/26 and 20/130
    assert "1 not ranked" in page.text
    assert "% of own target" in page.text


def test_tv_celebrates_the_last_minutes(
    engine: Engine, site: tuple[TestClient, dict[str, Any]]
) -> None:
    client, data = site
    fresh = calls_rows(data["ids"]["Ana"], dt.date(2026, 11, 18), 1, "meeting_set")
    fresh[0]["occurred_at"] = dt.datetime(2026, 11, 18, 16, 55)  # 5 minutes ago
    stale = calls_rows(data["ids"]["Ben"], dt.date(2026, 11, 18), 1, "meeting_set")
    stale[0]["occurred_at"] = dt.datetime(2026, 11, 18, 16, 40)  # 20: past the 15 minutes
    with engine.begin() as conn:
        conn.execute(insert(Activity), fresh + stale)
    _login(client, data["sessions"], "meg")
    page = client.get("/leaderboard/tv?metric=conversations&period=month").text
    wins = page.split('data-testid="tv-wins"', 1)[1].split("</ul>", 1)[0]
    assert "Ana" in wins and "meetings set" in wins and "11:55" in wins  # New York time
    assert "Ben" not in wins
    assert re.search(
        r'class="tv-row win"[^>]*>\s*<span class="tv-rank">\d+</span>\s*'
        r'<span class="tv-name" data-testid="tv-name">Ana',
        page,
    )


def test_kiosk_link_opens_its_tv_board_only(
    engine: Engine, settings: Settings, site: tuple[TestClient, dict[str, Any]]
) -> None:
    client, _ = site
    made = create_kiosk_link(engine, "east", "floor")
    assert made.team == "East" and made.path.startswith("/kiosk/pk_")
    with engine.connect() as conn:
        stored = conn.execute(select(KioskLink.token_hash)).scalar_one()
    assert stored == hashlib.sha256(made.token.encode()).hexdigest() != made.token
    client.cookies.clear()
    board = client.get(made.path + "?metric=conversations&period=month&team=West")
    assert board.status_code == 200
    assert "Team East" in board.text and "Wes" not in board.text  # the team is the link's
    assert "leave TV view" not in board.text and "Log out" not in board.text
    assert board.headers["Referrer-Policy"] == "no-referrer"
    # The link is no session and no API token: everything else refuses it.
    client.cookies.set(SESSION_COOKIE, made.token)
    for path in ("/leaderboard", "/leaderboard/tv", "/team", "/scorecard", "/kiosks"):
        reply = client.get(path, follow_redirects=False)
        assert reply.status_code in (303, 307) and "/login" in reply.headers["location"], path
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {made.token}"}
    for path in ("/leaderboard?metric=conversations", "/reps", "/teams"):
        assert client.get("/api/v1" + path, headers=bearer).status_code == 401, path
    assert client.get(made.path + "/../team").status_code in (303, 307, 404)
    assert client.get("/kiosk/pk_guess").status_code == 404
    # Revoked: refused at once, with the same answer as a guess.
    revoke_kiosk_link(engine, made.id)
    assert client.get(made.path).status_code == 404
    assert kiosk_team(engine, made.token) is None


def test_kiosk_page_for_managers_of_the_team(
    engine: Engine, site: tuple[TestClient, dict[str, Any]]
) -> None:
    client, data = site
    csrf = _login(client, data["sessions"], "meg")
    made = client.post("/kiosks", data={"csrf": csrf, "team": "East", "name": "floor"})
    assert made.status_code == 200
    url = re.search(r'value="(http://testserver/kiosk/pk_[^"]+)"', made.text)
    assert url is not None
    assert "<td>floor</td>" in client.get("/kiosks").text  # listed, its secret not shown
    assert url.group(1).split("/kiosk/")[1] not in client.get("/kiosks").text
    west = client.post("/kiosks", data={"csrf": csrf, "team": "West", "name": "x"})
    assert west.status_code == 422 and "not allowed" in west.text
    with engine.connect() as conn:
        meg = principal_of(conn, 2)  # users in the order made: admin, meg, ben
    with pytest.raises(Forbidden):
        create_kiosk_link(engine, "West", "x", meg)
    link_id = re.search(r'action="/kiosks/(\d+)/revoke"', client.get("/kiosks").text)
    assert link_id is not None
    gone = client.post(f"/kiosks/{link_id.group(1)}/revoke", data={"csrf": csrf})
    assert gone.status_code == 200 and "revoked" in gone.text
    client.cookies.clear()
    assert client.get(url.group(1).removeprefix("http://testserver")).status_code == 404
    _login(client, data["sessions"], "ben")
    assert client.get("/kiosks").status_code == 403
    token = create_token(engine, "ben", "t").token
    client.cookies.clear()
    refused = client.get("/kiosk/" + token)
    assert refused.status_code == 404  # an API token is not a kiosk link either


def test_kiosk_commands(tmp_path: Any, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'kiosk.db'}"
    build_two_roles(make_engine(url), settings)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli_app, ["--db", url, "kiosk", *args])

    made = run("create", "--team", "East", "--name", "sales floor")
    assert made.exit_code == 0, made.output
    path = re.search(r"/kiosk/pk_\S+", made.output)
    assert path is not None
    listed = run("list")
    assert "sales floor" in listed.output and path.group(0) not in listed.output
    assert run("create", "--team", "Eest").exit_code == 1
    assert "did you mean" in run("create", "--team", "Eest").output.lower()
    assert run("revoke", "1").exit_code == 0
    again = run("revoke", "1")
    assert again.exit_code == 1 and "no active link 1" in again.output


def test_api_ranks_as_the_cli_does(engine: Engine, site: tuple[TestClient, dict[str, Any]]) -> None:
    client, _ = site
    token = create_token(engine, "admin", "t").token
    bearer = {"Authorization": f"Bearer {token}"}
    params = {"metric": "conversations", "period": "month", "as_of": "2026-11-18"}
    improved = client.get(
        "/api/v1/leaderboard", params={**params, "by": "improved"}, headers=bearer
    ).json()
    assert (improved["comparable_start"], improved["comparable_end"]) == (
        "2026-10-01",
        "2026-10-20",
    )
    assert [(r["rep"], r["rank"], r["change"]) for r in improved["rows"]] == [
        ("Ben", 1, 2.0),
        ("Ana", 2, 1.0),
        ("Eve", None, None),  # nothing in the comparable stretch: apart
        ("Wes", None, None),  # West's SDR (an admin sees every team): nothing at all
        ("Dan", 1, 2.0),
        ("Cy", 2, 0.0),
    ]
    together = client.get(
        "/api/v1/leaderboard", params={**params, "by": "target", "role": "all"}, headers=bearer
    ).json()
    assert together["groups"] == ["all"]
    assert [r["rep"] for r in together["rows"] if r["rank"] == 1] == ["Ben", "Cy"]
    bad = client.get("/api/v1/leaderboard", params={**params, "by": "luck"}, headers=bearer)
    assert bad.status_code == 422
