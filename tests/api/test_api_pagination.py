"""Lists under load, on SQLite and PostgreSQL: keyset paging of activities and deals (every row
exactly once, in order, ties on the time included, also while rows are inserted between
pages), the bounds of `limit`, `offset` and `total`, the index the first page is read along
(EXPLAIN), and 503 with Retry-After when the connection pool is exhausted.

The data is built by hand here: one organisation (East: Ana, Ben and their manager Max;
West: Dee) whose activities share a handful of moments, so ties on `occurred_at` are the rule
and ids do not follow time order.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.exc import DBAPIError, OperationalError

from factories import made_app, quick_user, recorded_executions
from paceline.api.deps import SESSION_COOKIE
from paceline.auth.accounts import create_token, start_session
from paceline.config import Settings
from paceline.store import listings
from paceline.store.engine import is_busy, make_engine
from paceline.store.listings import ActivityFilter, Paging
from paceline.store.models import Activity, Deal, Rep, Team
from paceline.store.records import Scope

API = "/api/v1"
BASE = dt.datetime(2026, 11, 2, 9, 0)
# Five moments for 41 activities: most share their time with others.
MOMENTS = [BASE + dt.timedelta(hours=h) for h in (0, 3, 3 * 24, 30 * 24, 31 * 24)]


@dataclass
class Org:
    engine: Engine
    client: TestClient
    tokens: dict[str, str]
    reps: dict[str, int]
    # (occurred_at, id, rep) of every activity stored, in insertion order
    activities: list[tuple[dt.datetime, int, str]]

    def get(self, user: str, path: str, **params: Any) -> Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.client.get(API + path, params=params, headers=headers)

    def add_activity(self, rep: str, at: dt.datetime) -> int:
        with self.engine.begin() as conn:
            new_id = conn.execute(
                insert(Activity).returning(Activity.id), [_activity(self.reps[rep], at)]
            ).scalar_one()
        self.activities.append((at, int(new_id), rep))
        return int(new_id)


def _activity(rep_id: int, at: dt.datetime) -> dict[str, Any]:
    return {
        "rep_id": rep_id,
        "kind": "call",
        "occurred_at": at,
        "local_date": at.date(),
        "outcome": "connected",
        "has_ask": False,
        "engaged": True,
        "source": "manual",
        "created_at": BASE,
        "updated_at": BASE,
    }


def _build(engine: Engine) -> dict[str, int]:
    with engine.begin() as conn:
        east, west = (
            conn.execute(insert(Team).returning(Team.id), [{"name": n}]).scalar_one()
            for n in ("East", "West")
        )
        reps = {}
        for name, team, role in [
            ("Ana", east, "ae"),
            ("Ben", east, "ae"),
            ("Max", east, "manager"),
            ("Dee", west, "ae"),
        ]:
            reps[name] = int(
                conn.execute(
                    insert(Rep).returning(Rep.id),
                    [{"name": name, "team_id": team, "role": role, "source": "manual"}],
                ).scalar_one()
            )
    return reps


def make_org(engine: Engine, settings: Settings) -> Org:
    reps = _build(engine)
    for user, role, rep in [
        ("root", "admin", None),
        ("max", "manager", "Max"),
        ("ana", "rep", "Ana"),
    ]:
        quick_user(engine, user, role, rep)
    tokens = {u: create_token(engine, u, "tests").token for u in ("root", "max", "ana")}
    org = Org(engine, TestClient(made_app(settings, engine)), tokens, reps, [])
    names = ["Ana", "Ben", "Dee", "Ana", "Max", "Dee", "Ben"]
    for i in range(41):  # times jump about, so ids are not in time order
        org.add_activity(names[i % len(names)], MOMENTS[(i * 3) % len(MOMENTS)])
    return org


@pytest.fixture
def org(engine: Engine, settings: Settings) -> Iterator[Org]:
    made = make_org(engine, settings)
    with made.client:
        yield made


def newest_first(rows: list[tuple[dt.datetime, int, str]]) -> list[int]:
    """The ids in the list's promised order: time, then id, both descending."""
    return [row_id for _, row_id, _ in sorted(rows, key=lambda r: (r[0], r[1]), reverse=True)]


def flat(pages: list[list[int]]) -> list[int]:
    return [i for page in pages for i in page]


def walk(org: Org, user: str, path: str, limit: int, **params: Any) -> list[list[int]]:
    """Every page's ids, following `next` until it is null."""
    pages: list[list[int]] = []
    cursor = None
    while True:
        asked = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        answer = org.get(user, path, **asked)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not advance"


# --- walking the lists ----------------------------------------------------------------------


def test_walking_every_page_returns_every_activity_once_in_order(org: Org) -> None:
    expected = newest_first(org.activities)
    assert len(expected) == 41 and len(set(MOMENTS)) == 5  # ties everywhere
    pages = walk(org, "root", "/activities", limit=4)
    assert [len(p) for p in pages] == [4] * 10 + [1]
    assert [i for p in pages for i in p] == expected
    # A page size that divides the count exactly: the last full page says there is no more.
    with org.engine.begin() as conn:
        conn.execute(insert(Activity), [_activity(org.reps["Ben"], MOMENTS[2])] * 4)
    pages = walk(org, "root", "/activities", limit=5)
    assert [len(p) for p in pages] == [5] * 9
    assert len({i for p in pages for i in p}) == 45


def test_scoped_and_filtered_walks(org: Org) -> None:
    east = [r for r in org.activities if r[2] in ("Ana", "Ben", "Max")]
    # A manager sees their team's; a rep their own; filters keep the cursor order.
    assert flat(walk(org, "max", "/activities", limit=3)) == newest_first(east)
    anas = [r for r in org.activities if r[2] == "Ana"]
    assert flat(walk(org, "ana", "/activities", limit=2)) == newest_first(anas)
    wests = [r for r in org.activities if r[2] == "Dee"]
    assert flat(walk(org, "root", "/activities", limit=3, team="West")) == newest_first(wests)
    day = MOMENTS[2].date()
    on_day = [r for r in org.activities if r[0].date() == day]
    walked = flat(walk(org, "root", "/activities", limit=3, **{"from": day, "to": day}))
    assert walked == newest_first(on_day) and walked


def test_rows_inserted_between_pages_are_neither_repeated_nor_skipping_others(org: Org) -> None:
    at_start = {row_id for _, row_id, _ in org.activities}
    time_of = {row_id: at for at, row_id, _ in org.activities}
    seen: list[int] = []
    cursor = None
    inserted = 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        body = org.get("root", "/activities", **params).json()
        seen += [item["id"] for item in body["items"]]
        for item in body["items"]:
            time_of.setdefault(item["id"], dt.datetime.fromisoformat(item["occurred_at"][:19]))
        cursor = body["next"]
        if cursor is None:
            break
        last = time_of[seen[-1]]
        # Newer than anything, at the very time of the page's last row (a tie with a higher
        # id: it sorts before the cursor), and older than the cursor (it may show up later).
        for at in (MOMENTS[-1] + dt.timedelta(days=1), last, last - dt.timedelta(minutes=1)):
            new_id = org.add_activity("Ben", at)
            time_of[new_id] = at
            inserted += 1
    assert inserted >= 3 * 8
    assert len(seen) == len(set(seen)), "an activity was listed twice"
    assert at_start <= set(seen), f"skipped: {sorted(at_start - set(seen))}"
    keys = [(time_of[i], i) for i in seen]
    assert keys == sorted(keys, reverse=True)  # still newest first across the pages


def test_deals_walk_once_in_order(org: Org) -> None:
    created = [BASE, BASE, BASE + dt.timedelta(days=1), BASE, BASE + dt.timedelta(days=1)]
    rows = []
    with org.engine.begin() as conn:
        for n, at in enumerate(created * 3):
            deal_id = conn.execute(
                insert(Deal).returning(Deal.id),
                [
                    {
                        "rep_id": org.reps["Ana" if n % 2 else "Dee"],
                        "name": f"deal {n}",
                        "amount": 1000,
                        "stage": "prospect",
                        "status": "open",
                        "created_at": at,
                        "source": "manual",
                        "updated_at": BASE,
                    }
                ],
            ).scalar_one()
            rows.append((at, int(deal_id), "Ana" if n % 2 else "Dee"))
    pages = walk(org, "root", "/deals", limit=4)
    assert [len(p) for p in pages] == [4, 4, 4, 3]
    assert flat(pages) == newest_first(rows)
    assert flat(walk(org, "ana", "/deals", limit=2)) == newest_first(
        [r for r in rows if r[2] == "Ana"]
    )
    # An activity cursor is not a deal cursor.
    activity_next = org.get("root", "/activities", limit=1).json()["next"]
    assert _loc(org.get("root", "/deals", cursor=activity_next)) == ["query", "cursor"]


# --- bounds ---------------------------------------------------------------------------------


def _loc(answer: Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    return list(answer.json()["detail"][0]["loc"])


def test_total_is_exact_when_small_null_beyond_the_count_limit(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = org.get("root", "/activities", limit=2).json()
    assert (body["total"], body["limit"], body["offset"]) == (41, 2, 0)
    assert org.get("max", "/activities", limit=2).json()["total"] == 29  # East: 5 in 7, 4 in 6
    monkeypatch.setattr(listings, "COUNT_LIMIT", 40)
    assert org.get("root", "/activities", limit=2).json()["total"] is None
    assert org.get("root", "/activities", limit=2, count="true").json()["total"] == 41
    assert org.get("max", "/activities", limit=2).json()["total"] == 29  # 29 <= 40: counted


def test_offset_is_bounded_and_kept_for_old_clients(org: Org) -> None:
    expected = newest_first(org.activities)
    body = org.get("root", "/activities", limit=5, offset=10).json()
    assert [i["id"] for i in body["items"]] == expected[10:15]
    # The answer's `next` continues where the offset page ended.
    after = org.get("root", "/activities", limit=5, cursor=body["next"]).json()
    assert [i["id"] for i in after["items"]] == expected[15:20]
    assert org.get("root", "/activities", offset=10_000).json()["items"] == []
    assert _loc(org.get("root", "/activities", offset=10_001)) == ["query", "offset"]
    assert _loc(org.get("root", "/activities", limit=501)) == ["query", "limit"]
    assert _loc(org.get("root", "/activities", offset=5, cursor=body["next"])) == [
        "query",
        "offset",
    ]
    for junk in ("zzz", "bm90IGEgY3Vyc29y", "YXxub3QtYS1kYXRlfDE"):
        assert _loc(org.get("root", "/activities", cursor=junk)) == ["query", "cursor"]


# --- the web Activities page -----------------------------------------------------------------


def _page_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)">', html)]


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="(/activities\?[^"]*)" rel="{rel}">', html)
    return None if found is None else found.group(1).replace("&amp;", "&")


def test_the_activities_page_walks_older_and_back_newer(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paceline.web import work

    monkeypatch.setattr(work, "PER_PAGE", 10)
    with org.engine.connect() as conn:
        user_id = conn.scalar(text("SELECT id FROM app_user WHERE username = 'root'"))
    cookie, _ = start_session(org.engine, int(user_id))
    org.client.cookies.set(SESSION_COOKIE, cookie)
    expected = newest_first(org.activities)
    html = org.client.get("/activities").text
    assert "41 matching" in html and _link(html, "prev") is None
    pages = [_page_ids(html)]
    while (older := _link(html, "next")) is not None:
        html = org.client.get(older).text
        pages.append(_page_ids(html))
    assert flat(pages) == expected and [len(p) for p in pages] == [10, 10, 10, 10, 1]
    # Back from the last page: Newer shows the page before it, then the first.
    back = _link(html, "prev")
    assert back is not None
    html = org.client.get(back).text
    assert _page_ids(html) == expected[30:40]
    assert org.client.get("/activities?older=zzz").status_code == 422


# --- the index --------------------------------------------------------------------------------


def test_the_unfiltered_first_page_is_read_along_the_index_without_a_sort(
    db_url_and_engine: tuple[str, Engine],
) -> None:
    """EXPLAIN the statement the list really runs, on 20,000 activities (enough for
    PostgreSQL's planner to prefer the index over a sequential scan and a sort)."""
    dialect, engine = db_url_and_engine
    reps = _build(engine)
    rows = [
        _activity(reps[name], BASE - dt.timedelta(minutes=7 * n))
        for n, name in zip(range(20_000), ["Ana", "Ben", "Dee"] * 7000, strict=False)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        if dialect == "postgresql":
            conn.execute(text("ANALYZE"))
    with recorded_executions(engine) as recorded:
        page = listings.list_activities(
            engine, Scope(everyone=True), ActivityFilter(), Paging(100), zone=ZoneInfo("UTC")
        )
        assert len(page.items) == 100 and page.total is None
    listing = next(s for s in recorded if "ORDER BY" in s[0])
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = "\n".join(
            " ".join(str(c) for c in row)
            for row in conn.exec_driver_sql(explain + listing[0], listing[1])
        )
    assert "ix_activity_occurred_id" in plan, plan
    if dialect == "sqlite":
        assert "SCAN activity USING INDEX ix_activity_occurred_id" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort
    else:
        assert "Index Scan Backward using ix_activity_occurred_id" in plan, plan
        assert "Sort" not in plan, plan


# --- saturation ---------------------------------------------------------------------------------


def _tiny_pool(engine: Engine) -> Engine:
    """An engine on the same database whose pool holds one connection and waits 0.1 s."""
    url = engine.url.render_as_string(hide_password=False)
    extra: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.scalar(text("SELECT current_schema()"))
        extra["connect_args"] = {"options": f"-csearch_path={schema}"}
    return make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.1, **extra)


def test_an_exhausted_pool_answers_503_with_retry_after(engine: Engine, settings: Settings) -> None:
    _build(engine)
    quick_user(engine, "root", "admin")
    token = create_token(engine, "root", "tests").token
    with engine.connect() as conn:
        user_id = int(conn.scalar(text("SELECT id FROM app_user WHERE username = 'root'")))
    cookie, _ = start_session(engine, user_id)
    tiny = _tiny_pool(engine)
    try:
        with TestClient(made_app(settings, tiny), raise_server_exceptions=False) as client:
            bearer = {"Authorization": f"Bearer {token}"}
            assert client.get(f"{API}/activities", headers=bearer).status_code == 200
            with tiny.connect():  # the pool's one connection, held
                api = client.get(f"{API}/activities", headers=bearer)
                client.cookies.set(SESSION_COOKIE, cookie)
                page = client.get("/activities")
                client.cookies.clear()
            assert api.status_code == 503, api.text
            assert api.headers["Retry-After"] == "2"
            assert api.json() == {"detail": "the server is busy; retry shortly"}
            assert page.status_code == 503
            assert page.headers["Retry-After"] == "2"
            assert "The server is busy" in page.text
            # Released: served again.
            assert client.get(f"{API}/activities", headers=bearer).status_code == 200
    finally:
        tiny.dispose()


def test_only_saturation_is_busy(engine: Engine, tmp_path: Any) -> None:
    """A database locked beyond its busy timeout (SQLite) or a lock timeout (PostgreSQL) is
    saturation; a missing table is a fault (500)."""
    with pytest.raises(DBAPIError) as missing, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_busy(missing.value)
    if engine.dialect.name == "sqlite":
        path = tmp_path / "locked.db"
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN IMMEDIATE")
        impatient = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
        try:
            with pytest.raises(OperationalError) as locked, impatient.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))
        finally:
            holder.rollback()
            holder.close()
            impatient.dispose()
        assert is_busy(locked.value)
    else:
        reps = _build(engine)
        with engine.connect() as holder, engine.connect() as waiter:
            holder.execute(text("SELECT 1 FROM rep WHERE id = :i FOR UPDATE"), {"i": reps["Ana"]})
            waiter.execute(text("SET lock_timeout = '50ms'"))
            with pytest.raises(OperationalError) as locked:
                waiter.execute(
                    text("UPDATE rep SET name = 'Ann' WHERE id = :i"), {"i": reps["Ana"]}
                )
            assert is_busy(locked.value)
