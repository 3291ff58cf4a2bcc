"""The web pages, server side: who may see what, CSRF, cookies, rate limits, and each form.

One small demo organisation (12 reps, 4 months up to the clock's now: noon of the test day)
is built per test session and copied for each test, so tests that write cannot disturb each
other. The pages read the clock, which the tests set (see conftest), so this module runs at
several days (`dated`).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from pathlib import Path
from typing import get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import WEB_PASSWORD, Org, csrf_of, demo_login, made_app, recorded_statements
from paceline import clock
from paceline.analytics.pacing import Status
from paceline.analytics.scorecard import rep_scorecard
from paceline.auth.accounts import MAX_FAILURES_PER_USER
from paceline.calendar import BusinessCalendar
from paceline.cli.track_commands import STATUS_TEXT
from paceline.config import Settings
from paceline.store.models import Activity, Deal, Target
from paceline.web.common import STATUS_LABELS

pytestmark = pytest.mark.dated


def login_with_form(client: TestClient, username: str, password: str = WEB_PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token (from the next page)."""
    client.cookies.clear()
    form = client.get("/login")
    reply = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return csrf_of(client.get("/tokens").text)


def cell(html: str, metric: str) -> float:
    """The 'actual' cell of a metric's scorecard row."""
    row = re.search(rf'data-metric="{metric}">(.*?)</tr>', html, re.S)
    assert row, f"no {metric} row"
    actual = re.search(r'class="num actual">([^<]*)<', row.group(1))
    assert actual
    return float(actual.group(1).replace(",", ""))


# --- the organisation ----------------------------------------------------------------------


def test_the_organisation_ends_at_the_clocks_now(db: Engine, settings: Settings) -> None:
    """The organisation is built up to the clock's now (noon of the test day in New York,
    17:00 UTC in winter), as `paceline demo` builds on the clock's day: no call logged and
    no deal opened later that day, which every page without an upper time bound (the
    activity list, the TV board) would show as if it had happened."""
    now = clock.now(BusinessCalendar(settings.calendar).zone)
    cut = now.astimezone(dt.UTC).replace(tzinfo=None)  # the tables' naive UTC
    with db.connect() as conn:
        last_activity = conn.scalar(select(func.max(Activity.occurred_at)))
        last_deal = conn.scalar(select(func.max(Deal.created_at)))
    assert last_activity is not None and last_activity <= cut
    assert last_deal is not None and last_deal <= cut


# --- logging in -----------------------------------------------------------------------------


def test_pages_send_you_to_log_in_and_back(client: TestClient) -> None:
    reply = client.get("/team?period=week", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=%2Fteam%3Fperiod%3Dweek"
    form = client.get(reply.headers["location"])
    assert 'name="next" value="/team?period=week"' in form.text
    done = client.post(
        "/login",
        data={
            "username": "manager",
            "password": WEB_PASSWORD,
            "csrf": csrf_of(form.text),
            "next": "/team?period=week",
        },
        follow_redirects=False,
    )
    assert done.headers["location"] == "/team?period=week"


def test_session_cookie_flags(client: TestClient) -> None:
    form = client.get("/login")
    reply = client.post(
        "/login",
        data={"username": "rep", "password": WEB_PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    cookie = next(
        c for c in reply.headers.get_list("set-cookie") if c.startswith("paceline_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "path=/" in flags
    assert "secure" not in flags  # plain http: a Secure cookie would never come back


def test_session_cookie_is_secure_over_https(db: Engine, settings: Settings) -> None:
    with TestClient(made_app(settings, db), base_url="https://testserver") as secure:
        form = secure.get("/login")
        reply = secure.post(
            "/login",
            data={"username": "rep", "password": WEB_PASSWORD, "csrf": csrf_of(form.text)},
            follow_redirects=False,
        )
    cookie = next(
        c for c in reply.headers.get_list("set-cookie") if c.startswith("paceline_session=")
    )
    assert "secure" in cookie.lower()


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    reply = client.post("/login", data={"username": "rep", "password": WEB_PASSWORD, "csrf": "x"})
    assert reply.status_code == 403
    assert "paceline_session" not in reply.cookies
    client.cookies.clear()  # no double-submit cookie at all
    reply = client.post("/login", data={"username": "rep", "password": WEB_PASSWORD, "csrf": "x"})
    assert reply.status_code == 403


def test_wrong_password_then_rate_limit(client: TestClient) -> None:
    for _ in range(MAX_FAILURES_PER_USER):
        form = client.get("/login")
        reply = client.post(
            "/login",
            data={"username": "rep", "password": "wrong-password", "csrf": csrf_of(form.text)},
        )
        assert reply.status_code == 401
        assert "Wrong user name or password" in reply.text
    form = client.get("/login")
    reply = client.post(
        "/login", data={"username": "rep", "password": WEB_PASSWORD, "csrf": csrf_of(form.text)}
    )
    assert reply.status_code == 429
    assert int(reply.headers["Retry-After"]) > 0
    assert "Too many failed logins" in reply.text
    assert "paceline_session" not in reply.cookies


def test_next_never_leaves_the_site(client: TestClient) -> None:
    form = client.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in form.text
    reply = client.post(
        "/login",
        data={
            "username": "rep",
            "password": WEB_PASSWORD,
            "csrf": csrf_of(form.text),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert reply.headers["location"] == "/"


def test_logout_needs_csrf_and_ends_the_session(client: TestClient) -> None:
    csrf = login_with_form(client, "rep")
    assert client.post("/logout", data={"csrf": "nope"}).status_code == 403
    old = dict(client.cookies)
    reply = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert reply.status_code == 303
    client.cookies.update(old)  # a stolen copy of the cookie is useless now
    assert client.get("/scorecard", follow_redirects=False).headers["location"].startswith("/login")


# --- who sees what --------------------------------------------------------------------------

PAGES = [
    "/scorecard",
    "/team",
    "/leaderboard",
    "/leaderboard/tv",
    "/plan",
    "/log",
    "/activities",
    "/import",
    "/users",
    "/tokens",
]
ALLOWED = {
    "rep": {"/scorecard", "/leaderboard", "/leaderboard/tv", "/log", "/activities", "/tokens"},
    "manager": set(PAGES) - {"/import", "/users"},
    "admin": set(PAGES),
}


@pytest.mark.parametrize("role", ["rep", "manager", "admin"])
def test_each_page_renders_for_the_right_roles(client: TestClient, role: str) -> None:
    demo_login(client, role)
    for page in PAGES:
        reply = client.get(page)
        expected = 200 if page in ALLOWED[role] else 403
        assert reply.status_code == expected, (role, page, reply.text[:300])
        assert reply.headers["content-type"].startswith("text/html")
        assert "Content-Security-Policy" in reply.headers
        assert not re.search(r'(src|href)="(https?:)?//', reply.text), f"external link on {page}"


def test_navigation_follows_the_role(client: TestClient) -> None:
    demo_login(client, "rep")
    page = client.get("/leaderboard").text
    assert 'href="/scorecard"' in page
    assert 'href="/team"' not in page
    assert 'href="/import"' not in page
    demo_login(client, "admin")
    page = client.get("/leaderboard").text
    assert 'href="/import"' in page and 'href="/users"' in page and 'href="/team"' in page


def test_rep_sees_own_scorecard_and_is_refused_others(client: TestClient, org: Org) -> None:
    demo_login(client, "rep")
    own = client.get("/scorecard")
    assert own.status_code == 200
    assert "My scorecard" in own.text and org.east_rep in own.text
    assert 'data-metric="meetings_set"' in own.text
    assert client.get(f"/reps/{org.west_rep_id}").status_code == 403  # another team
    refused = client.get(f"/reps/{org.east_teammate_id}")  # a teammate
    assert refused.status_code == 403
    assert "not allowed" in refused.text
    assert client.get("/team").status_code == 403
    assert client.get("/reps/999999").status_code == 404


def test_manager_sees_own_team_only(client: TestClient, org: Org) -> None:
    demo_login(client, "manager")
    team = client.get("/team")
    assert team.status_code == 200
    assert "Team East" in team.text and org.east_rep in team.text
    assert org.west_rep not in team.text
    assert client.get(f"/reps/{org.east_rep_id}").status_code == 200
    assert client.get(f"/reps/{org.west_rep_id}").status_code == 403
    assert client.get("/team?team=West").status_code == 403
    assert client.get("/leaderboard?team=West").status_code == 403
    assert client.get("/team?team=Nowhere").status_code == 404


def test_admin_sees_every_team(client: TestClient, org: Org) -> None:
    demo_login(client, "admin")
    everyone = client.get("/team")
    assert "All teams" in everyone.text
    assert org.east_rep in everyone.text and org.west_rep in everyone.text
    west = client.get("/team?team=West")
    assert west.status_code == 200 and org.east_rep not in west.text
    assert client.get(f"/reps/{org.west_rep_id}?period=week").status_code == 200


def test_team_page_lists_alerted_reps_first(client: TestClient) -> None:
    demo_login(client, "admin")
    page = client.get("/team").text
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    flags = ["has-alert" in row for row in body.split("<tr")[1:]]
    assert flags == sorted(flags, reverse=True)
    assert any(flags), "the demo plants reps who are behind"


def test_status_badges_say_every_status_in_words(client: TestClient) -> None:
    """'Too few to tell' (short, but chance could explain it) is a status of its own, shown
    in words on the page and in the legend, never as a raw code."""
    assert set(get_args(Status)) == set(STATUS_LABELS) == set(STATUS_TEXT)
    demo_login(client, "admin")
    page = client.get("/team").text
    badges = re.findall(r'<span class="badge status-(\w+)">([^<]+)</span>', page)
    assert ("unclear", "Too few to tell") in badges  # the legend at least
    for code, words in badges:
        if code in STATUS_LABELS and not words.isdigit():  # digits: a count of alerts
            assert words == STATUS_LABELS[code]


def test_team_page_query_count_does_not_grow_with_reps(client: TestClient, db: Engine) -> None:
    demo_login(client, "admin")
    client.get("/team")  # warm the rollup
    with recorded_statements(db) as statements:
        page = client.get("/team")
    assert page.status_code == 200
    alerted = page.text.count('<li class="alert warn">')
    # The whole organisation's scorecards (twice: the page's period and the alerts' month) in
    # a fixed number of grouped queries, plus one per alert ("since when"), never one per rep.
    assert len(statements) <= 24 + 2 * alerted, (len(statements), alerted)


def test_period_switch(client: TestClient) -> None:
    demo_login(client, "rep")
    week = client.get("/scorecard?period=week").text
    quarter = client.get("/scorecard?period=quarter").text
    assert "Week " in week and "Quarter " in quarter
    assert client.get("/scorecard?as_of=notadate").status_code == 422


# --- leaderboard ----------------------------------------------------------------------------


def test_leaderboard_and_tv_view(client: TestClient) -> None:
    demo_login(client, "rep")
    board = client.get("/leaderboard?metric=conversations&period=month")
    assert board.status_code == 200
    assert 'id="leaderboard-figure"' in board.text
    assert "/vendor/plotly/plotly.min.js" in board.text
    assert "team East" in board.text  # a rep sees their own team's board
    tv = client.get("/leaderboard/tv?metric=conversations&period=week&refresh=30")
    assert tv.status_code == 200
    assert '<meta http-equiv="refresh" content="30' in tv.text  # (";url=" the next page)
    assert 'data-testid="tv-board"' in tv.text
    assert 'class="topbar"' not in tv.text  # full screen: no navigation
    assert client.get("/leaderboard?team=West").status_code == 403


def test_leaderboard_reports_bad_input(client: TestClient) -> None:
    demo_login(client, "admin")
    reply = client.get("/leaderboard?metric=conversations&role=astronaut")
    assert reply.status_code == 422  # the role's rule (paceline.params), before the board
    assert "role: &#39;astronaut&#39; is not allowed here" in reply.text


def test_plotly_is_served_locally(client: TestClient) -> None:
    reply = client.get("/vendor/plotly/plotly.min.js")
    assert reply.status_code == 200
    assert "javascript" in reply.headers["content-type"]
    assert len(reply.content) > 1_000_000
    assert client.get("/vendor/plotly/widgetbundle.js").status_code == 404
    assert client.get("/static/paceline.css").status_code == 200


# --- logging activities ---------------------------------------------------------------------


def test_logging_an_activity_moves_the_scorecard(
    client: TestClient, db: Engine, settings: Settings, org: Org
) -> None:
    csrf = demo_login(client, "rep")
    today = BusinessCalendar(settings.calendar).today()
    before = rep_scorecard(db, settings, org.east_rep, "week", today)
    shown = cell(client.get("/scorecard?period=week").text, "meetings_set")
    assert shown == next(x.pace.actual for x in before.lines if x.metric == "meetings_set")
    reply = client.post(
        "/log",
        data={
            "csrf": csrf,
            "kind": "call",
            "outcome": "meeting_set",
            "ask": "yes",
            "account": "Globex Ltd",
            "minutes": "12",
            "notes": "set a demo for Tuesday",
        },
        follow_redirects=False,
    )
    assert reply.status_code == 303
    confirm = client.get(reply.headers["location"])
    assert "Logged <strong>call</strong>" in confirm.text
    assert cell(confirm.text, "meetings_set") == shown + 1  # the week under the form
    assert cell(client.get("/scorecard?period=week").text, "meetings_set") == shown + 1
    # the account is remembered for the next entry
    assert 'id="account" name="account" value="Globex Ltd"' in client.get("/log").text


def test_log_form_names_the_bad_field(client: TestClient) -> None:
    csrf = demo_login(client, "rep")
    reply = client.post("/log", data={"csrf": csrf, "kind": "telepathy"})
    assert reply.status_code == 422
    assert "kind: unknown kind" in reply.text
    reply = client.post("/log", data={"csrf": csrf, "kind": "call", "minutes": "ten"})
    assert reply.status_code == 422
    assert "duration_min" in reply.text


def test_log_needs_csrf(client: TestClient, db: Engine) -> None:
    demo_login(client, "rep")
    with db.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(Activity))
    assert client.post("/log", data={"kind": "call"}).status_code == 403
    assert client.post("/log", data={"kind": "call", "csrf": "forged"}).status_code == 403
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Activity)) == before


def test_rep_cannot_log_for_someone_else(client: TestClient, org: Org) -> None:
    csrf = demo_login(client, "rep")
    reply = client.post("/log", data={"csrf": csrf, "rep": org.west_rep_id, "kind": "call"})
    assert reply.status_code == 403


# --- the activity list ----------------------------------------------------------------------


def _first_activity_id(html: str) -> int:
    found = re.search(r'<tr data-id="(\d+)">', html)
    assert found
    return int(found.group(1))


def test_activity_list_is_scoped_and_filtered(client: TestClient, org: Org, today: dt.date) -> None:
    demo_login(client, "rep")
    page = client.get("/activities?kind=call").text
    rows = re.findall(r'<tr data-id="\d+">(.*?)</tr>', page, re.S)
    assert rows
    assert all(org.east_rep in row and "<td>call</td>" in row for row in rows)
    assert client.get(f"/activities?rep={org.west_rep_id}").status_code == 403
    day = today.isoformat()
    narrowed = client.get(f"/activities?start={day}&end={day}").text
    assert "matching" in narrowed


def test_edit_delete_and_undo(client: TestClient, db: Engine, org: Org) -> None:
    csrf = demo_login(client, "rep")
    activity_id = _first_activity_id(client.get("/activities").text)
    form = client.get(f"/activities/{activity_id}/edit")
    assert form.status_code == 200
    when = re.search(r'name="when" type="datetime-local" value="([^"]+)"', form.text)
    assert when
    saved = client.post(
        f"/activities/{activity_id}/edit",
        data={"csrf": csrf, "kind": "email", "outcome": "replied", "when": when.group(1)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with db.connect() as conn:
        row = conn.execute(select(Activity).where(Activity.id == activity_id)).one()
        assert (row.kind, row.outcome, row.engaged) == ("email", "replied", True)
        columns = dict(row._mapping)

    deleted = client.post(
        f"/activities/{activity_id}/delete",
        data={"csrf": csrf, "back": "/activities"},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    listing = client.get(deleted.headers["location"])
    assert 'data-testid="deleted"' in listing.text
    with db.connect() as conn:
        assert conn.scalar(select(Activity.id).where(Activity.id == activity_id)) is None
    token = re.search(r'name="token" value="([^"]+)"', listing.text)
    assert token
    undone = client.post(
        "/activities/undo", data={"csrf": csrf, "token": token.group(1)}, follow_redirects=False
    )
    assert undone.status_code == 303
    with db.connect() as conn:
        back = conn.execute(select(Activity).where(Activity.id == activity_id)).one()
        assert dict(back._mapping) == columns  # exactly as it was, id and all
    again = client.post("/activities/undo", data={"csrf": csrf, "token": token.group(1)})
    assert again.status_code == 410


def test_editing_only_the_notes_keeps_every_other_field(
    client: TestClient, db: Engine, org: Org
) -> None:
    """The edit form sends every field back; an engaged call with no outcome (engaged was
    said, not implied) must stay engaged when only its notes change, as the API's PATCH does."""
    with db.begin() as conn:
        activity_id = conn.scalar(
            select(Activity.id).where(Activity.rep_id == org.east_rep_id).limit(1)
        )
        conn.execute(
            Activity.__table__.update()
            .where(Activity.id == activity_id)
            .values(kind="call", outcome=None, engaged=True, has_ask=False, notes="old")
        )
        before = dict(
            conn.execute(select(Activity).where(Activity.id == activity_id)).one()._mapping
        )
    csrf = demo_login(client, "rep")
    form = client.get(f"/activities/{activity_id}/edit").text
    when = re.search(r'name="when" type="datetime-local" value="([^"]+)"', form)
    assert when
    account = re.search(r'name="account" value="([^"]*)"', form)
    assert account
    minutes = "" if before["duration_min"] is None else f"{before['duration_min']:g}"
    shown = html.unescape(account.group(1))
    saved = client.post(
        f"/activities/{activity_id}/edit",
        data={"csrf": csrf, "kind": "call", "outcome": "", "account": shown,
              "minutes": minutes, "when": when.group(1), "notes": "called back later"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    with db.connect() as conn:
        after = dict(
            conn.execute(select(Activity).where(Activity.id == activity_id)).one()._mapping
        )
    assert after["notes"] == "called back later"
    assert after["engaged"] is True
    unchanged = ("kind", "outcome", "has_ask", "occurred_at", "local_date", "account_id",
                 "contact_id", "duration_min", "rep_id", "source", "external_id")  # fmt: skip
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


def test_an_unknown_rep_in_a_query_is_not_found_on_both_faces(client: TestClient) -> None:
    """One answer for a rep named in a query who does not exist: 404, on the pages and in the
    API alike (the API names the parameter); a bad value in a body stays a 422."""
    csrf = demo_login(client, "admin")
    assert client.get("/diagnose", params={"rep": "Nobody"}).status_code == 404
    for path in ("/api/v1/activities", "/api/v1/scorecard", "/api/v1/diagnosis"):
        reply = client.get(path, params={"rep": "Nobody"})
        assert reply.status_code == 404, (path, reply.text)
        assert reply.json()["detail"][0]["loc"] == ["query", "rep"], path
    body = client.post(
        "/api/v1/activities",
        json={"rep": "Nobody", "kind": "call"},
        headers={"X-CSRF-Token": csrf},
    )
    assert body.status_code == 422 and body.json()["detail"][0]["loc"] == ["body", "rep"]


def test_undo_belongs_to_whoever_deleted(client: TestClient) -> None:
    csrf = demo_login(client, "admin")
    activity_id = _first_activity_id(client.get("/activities").text)
    deleted = client.post(f"/activities/{activity_id}/delete", data={"csrf": csrf})
    token = re.search(r'name="token" value="([^"]+)"', deleted.text)
    assert token
    other = demo_login(client, "manager")
    reply = client.post("/activities/undo", data={"csrf": other, "token": token.group(1)})
    assert reply.status_code == 410


def test_cannot_edit_or_delete_other_reps_activities(
    client: TestClient, db: Engine, org: Org
) -> None:
    with db.connect() as conn:
        west_activity = conn.scalar(
            select(Activity.id).where(Activity.rep_id == org.west_rep_id).limit(1)
        )
    csrf = demo_login(client, "manager")  # East's manager
    # Another team's record is "not found", as in the API: ids cannot be probed.
    assert client.get(f"/activities/{west_activity}/edit").status_code == 404
    reply = client.post(f"/activities/{west_activity}/delete", data={"csrf": csrf})
    assert reply.status_code == 404
    with db.connect() as conn:
        assert conn.scalar(select(Activity.id).where(Activity.id == west_activity))


# --- plan builder ---------------------------------------------------------------------------


def test_plan_builder_cascade_and_save(client: TestClient, db: Engine) -> None:
    csrf = demo_login(client, "manager")
    form = {
        "csrf": csrf,
        "revenue": "2M",
        "deal_size": "40k",
        "from_history": "yes",
        "rate": ["", "", "80%", "", "25%"],
    }
    built = client.post("/plan", data={**form, "action": "build"})
    assert built.status_code == 200, built.text
    assert 'data-testid="cascade"' in built.text
    assert "= <strong>50</strong> deals" in built.text
    assert "÷ 25.0%" in built.text
    with db.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(Target))
    saved = client.post("/plan", data={**form, "action": "save"})
    assert 'data-testid="plan-saved"' in saved.text
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Target)) > (before or 0)


def test_plan_builder_explains_impossible_rates(client: TestClient) -> None:
    csrf = demo_login(client, "admin")
    reply = client.post(
        "/plan",
        data={"csrf": csrf, "revenue": "70M", "deal_size": "35k", "rate": ["150%"] * 5},
    )
    assert reply.status_code == 422
    assert "must be above 0 and at most 1" in reply.text


def test_plan_builder_is_not_for_reps(client: TestClient) -> None:
    csrf = demo_login(client, "rep")
    assert client.post("/plan", data={"csrf": csrf, "revenue": "1M"}).status_code == 403


# --- import ---------------------------------------------------------------------------------


def _activities_csv(rep: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "rep", "kind", "occurred_at", "outcome", "account"])
    writer.writerow(["w1", rep, "call", "2025-01-06 10:00", "conversation", "Initech"])
    writer.writerow(["w2", rep, "email", "2025-01-06 11:00", "", "Initech"])
    writer.writerow(["w3", rep, "séance", "2025-01-06 12:00", "", ""])
    return out.getvalue().encode()


def test_import_reports_row_accounting_and_errors_file(client: TestClient, org: Org) -> None:
    csrf = demo_login(client, "admin")
    reply = client.post(
        "/import",
        data={"csrf": csrf, "entity": "activities", "source": "webtest"},
        files={"file": ("calls.csv", _activities_csv(org.east_rep), "text/csv")},
    )
    assert reply.status_code == 200, reply.text
    counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', reply.text))
    assert counts["read"] == "3" and counts["inserted"] == "2" and counts["rejected"] == "1"
    assert "Every row is accounted for" in reply.text
    link = re.search(r'href="(/import/errors/[^"]+)"', reply.text)
    assert link
    errors = client.get(link.group(1))
    assert errors.status_code == 200
    rows = list(csv.reader(io.StringIO(errors.text)))
    assert rows[0][:3] == ["line", "field", "reason"]
    assert rows[1][0] == "4" and rows[1][1] == "kind"
    again = client.post(
        "/import",
        data={"csrf": csrf, "entity": "activities", "source": "webtest"},
        files={"file": ("calls.csv", _activities_csv(org.east_rep), "text/csv")},
    )
    counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', again.text))
    assert counts["inserted"] == "0" and counts["unchanged"] == "2"  # nothing doubled


def test_import_with_an_uploaded_mapping(client: TestClient, org: Org) -> None:
    csrf = demo_login(client, "admin")
    data = f"Who,What,When\n{org.east_rep},call,2025-01-07 09:30\n".encode()
    mapping = (
        b'entity = "activities"\nsource = "dialer"\n'
        b'[columns]\nrep = "Who"\nkind = "What"\noccurred_at = "When"\n'
    )
    reply = client.post(
        "/import",
        data={"csrf": csrf, "entity": "activities"},
        files={
            "file": ("dialer.csv", data, "text/csv"),
            "mapping_file": ("dialer.toml", mapping, "application/toml"),
        },
    )
    assert reply.status_code == 200, reply.text
    counts = dict(re.findall(r'data-count="(\w+)">([\d,]+)<', reply.text))
    assert counts["inserted"] == "1"
    assert "source dialer" in reply.text


def test_import_with_a_picked_mapping(
    client: TestClient, org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "mappings"
    (folder / "dialer").mkdir(parents=True)
    (folder / "dialer" / "calls.toml").write_text(
        'entity = "activities"\nsource = "dialer"\n'
        '[columns]\nrep = "Who"\nkind = "What"\noccurred_at = "When"\n'
    )
    monkeypatch.setenv("PACELINE_MAPPINGS", str(folder))
    csrf = demo_login(client, "admin")
    assert (
        '<option value="0:dialer/calls.toml">dialer/calls.toml</option>'
        in client.get("/import").text
    )
    data = f"Who,What,When\n{org.east_rep},call,2025-01-08 09:30\n".encode()
    reply = client.post(
        "/import",
        data={"csrf": csrf, "entity": "activities", "mapping": "0:dialer/calls.toml"},
        files={"file": ("dialer.csv", data, "text/csv")},
    )
    assert reply.status_code == 200, reply.text
    assert dict(re.findall(r'data-count="(\w+)">([\d,]+)<', reply.text))["inserted"] == "1"
    outside = client.post(
        "/import",
        data={"csrf": csrf, "entity": "activities", "mapping": "0:../../etc/passwd"},
        files={"file": ("dialer.csv", data, "text/csv")},
    )
    assert outside.status_code == 422
    assert "no mapping file" in outside.text


def test_an_import_rejecting_every_row_says_it_failed(client: TestClient, org: Org) -> None:
    csrf = demo_login(client, "admin")
    data = f"rep,kind,occurred_at\n{org.east_rep},séance,2025-01-06 12:00\n".encode()
    reply = client.post(
        "/import",
        data={"csrf": csrf, "entity": "activities"},
        files={"file": ("bad.csv", data, "text/csv")},
    )
    assert reply.status_code == 200, reply.text
    assert 'data-testid="import-failed"' in reply.text
    assert "Import failed: every row was rejected (1 of 1)." in reply.text
    assert 'data-testid="rejected-by-reason"' in reply.text


def test_import_explains_an_unusable_file(client: TestClient) -> None:
    csrf = demo_login(client, "admin")
    reply = client.post(
        "/import",
        data={"csrf": csrf, "entity": "activities"},
        files={"file": ("x.csv", b"name;when\nA;B\n", "text/csv")},
    )
    assert reply.status_code == 422
    assert "missing required column" in reply.text


def test_import_is_for_admins(client: TestClient, org: Org) -> None:
    csrf = demo_login(client, "manager")
    reply = client.post(
        "/import",
        data={"csrf": csrf, "entity": "activities"},
        files={"file": ("calls.csv", _activities_csv(org.east_rep), "text/csv")},
    )
    assert reply.status_code == 403
    assert client.get("/import/errors/abcdefghijklmnopqrstuvwx").status_code == 403


# --- users and tokens -----------------------------------------------------------------------


def test_tokens_are_shown_once_and_revocable(client: TestClient) -> None:
    csrf = demo_login(client, "rep")
    made = client.post("/tokens", data={"csrf": csrf, "name": "calendar sync"})
    token = re.search(r'value="(pl_[^"]+)"', made.text)
    assert token
    listing = client.get("/tokens").text
    assert "calendar sync" in listing and token.group(1) not in listing
    token_id = re.search(r'action="/tokens/(\d+)/revoke"', listing)
    assert token_id
    assert client.post(f"/tokens/{token_id.group(1)}/revoke", data={}).status_code == 403
    revoked = client.post(f"/tokens/{token_id.group(1)}/revoke", data={"csrf": csrf})
    assert "revoked" in revoked.text


def test_admin_adds_users(client: TestClient, org: Org) -> None:
    csrf = demo_login(client, "admin")
    reply = client.post(
        "/users",
        data={
            "csrf": csrf,
            "username": "newrep",
            "password": "short",
            "role": "rep",
            "rep": org.west_rep,
        },
    )
    assert reply.status_code == 422 and "password" in reply.text
    reply = client.post(
        "/users",
        data={
            "csrf": csrf,
            "username": "newrep",
            "password": WEB_PASSWORD,
            "role": "rep",
            "rep": org.west_rep,
        },
    )
    assert reply.status_code == 200 and "User newrep added" in reply.text
    login_with_form(client, "newrep")
    assert org.west_rep in client.get("/scorecard").text
