"""Every page and download that takes query parameters answers a bad value with a 422 page
naming the field, the value and what is allowed, with a link to the page with its defaults;
an absent parameter takes the default (`paceline.params`, the API's rules and limits).

Before, several pages fell back silently: the leaderboard ranked by count on `by=bogus` (its
CSV refused it, as the API did), every scorecard, team and leaderboard page and download read
`period=fortnight` as the month, the TV board clamped `refresh=5` to 10 seconds and answered
`top=many` with the API's JSON, the activity list ignored `rep=Ana` and showed nothing for
`kind=telepathy`, the forecast ran its backtest on `backtest=no`.

Data: `report_org`'s hand-built November 2026 (East: Ana Ruiz, Ben Cole, AEs; West: Dee Fox),
read on Wednesday 18 November 2026 (the clock frozen there), by an admin. Proposals month to
date, counted by hand from the days planted: Ana 9, Ben 2, Dee 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from markupsafe import escape
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from browser_org import PASSWORD, log_in, served, unexpected, watched_page
from factories import Site, make_site, migrated_sqlite_copy
from paceline import clock
from paceline.auth.accounts import add_user
from paceline.auth.kiosks import create_kiosk_link
from paceline.store.listings import team_refs
from report_org import SETTINGS, build

AS_OF = dt.date(2026, 11, 18)
DAY = "a day written YYYY-MM-DD, from 1900-01-01 to 2999-12-31"
SCORECARD = "one of week, month, quarter, year"
BOARD = "one of day, week, month, quarter, year"
BY = "one of count, target, improved"
METRICS = "one of " + ", ".join(m.name for m in SETTINGS.metrics)
ROLES = "one of ae, field, manager, sdr, all"
KINDS = "one of " + ", ".join(sorted(SETTINGS.kind_names))
BIG = "9,223,372,036,854,775,807"
AUDITED = "one of activity, deal, target, user, rep, token, import"
CHANNELS = "one of console, email, slack, teams, webhook"  # the built-in alert channels

# (path, the bad query, its field, what is allowed, the page the error links to with its
# defaults); {ana}, {east} and {kiosk} are filled in with the ids and the link made.
BAD: list[tuple[str, dict[str, str], str, str, str]] = [
    ("/reps/{ana}", {"period": "fortnight"}, "period", SCORECARD, "/reps/{ana}"),
    ("/reps/{ana}", {"as_of": "2026-11-31"}, "as_of", DAY, "/reps/{ana}"),
    ("/team", {"period": "fortnight"}, "period", SCORECARD, "/team"),
    ("/team", {"as_of": "3000-01-01"}, "as_of", DAY, "/team"),
    ("/leaderboard", {"metric": "proposals", "by": "bogus"}, "by", BY, "/leaderboard"),
    ("/leaderboard", {"period": "fortnight"}, "period", BOARD, "/leaderboard"),
    ("/leaderboard", {"metric": "bogus"}, "metric", METRICS, "/leaderboard"),
    ("/leaderboard", {"role": "astronaut"}, "role", ROLES, "/leaderboard"),
    ("/leaderboard/tv", {"by": "bogus"}, "by", BY, "/leaderboard/tv"),
    (
        "/leaderboard/tv",
        {"refresh": "5"},
        "refresh",
        "a whole number from 10 to 3,600",
        "/leaderboard/tv",
    ),
    ("/leaderboard/tv", {"top": "many"}, "top", "a whole number from 3 to 40", "/leaderboard/tv"),
    (
        "/leaderboard/tv",
        {"page": "0"},
        "page",
        "a whole number from 1 to 10,000",
        "/leaderboard/tv",
    ),
    ("/kiosk/{kiosk}", {"by": "bogus"}, "by", BY, "/kiosk/{kiosk}"),
    (
        "/kiosk/{kiosk}",
        {"refresh": "soon"},
        "refresh",
        "a whole number from 10 to 3,600",
        "/kiosk/{kiosk}",
    ),
    ("/forecast", {"period": "fortnight"}, "period", "one of month, quarter, year", "/forecast"),
    ("/forecast", {"runs": "50"}, "runs", "a whole number from 100 to 20,000", "/forecast"),
    ("/forecast", {"backtest": "no"}, "backtest", "one of 0, 1", "/forecast"),
    ("/tipping", {"lag": "two"}, "lag", "a whole number from 0 to 26", "/tipping"),
    ("/tipping", {"as_of": "soon"}, "as_of", DAY, "/tipping"),
    ("/activities", {"rep": "Ana"}, "rep", f"a whole number from 1 to {BIG}", "/activities"),
    ("/activities", {"kind": "telepathy"}, "kind", KINDS, "/activities"),
    ("/activities", {"start": "2026-02-30"}, "start", DAY, "/activities"),
    ("/activities", {"saved": "x"}, "saved", f"a whole number from 1 to {BIG}", "/activities"),
    ("/log", {"rep": "Ana"}, "rep", f"a whole number from 1 to {BIG}", "/log"),
    ("/log", {"done": "last"}, "done", f"a whole number from 1 to {BIG}", "/log"),
    ("/audit", {"page": "0"}, "page", "a whole number from 1 to 10,000,000", "/audit"),
    ("/audit", {"entity": "deals"}, "entity", AUDITED, "/audit"),
    ("/diagnose", {"as_of": "soon"}, "as_of", DAY, "/diagnose"),
    ("/funnel", {"as_of": "soon"}, "as_of", DAY, "/funnel"),
    ("/equation", {"as_of": "soon"}, "as_of", DAY, "/equation"),
    ("/quality", {"as_of": "soon"}, "as_of", DAY, "/quality"),
    ("/when", {"as_of": "soon"}, "as_of", DAY, "/when"),
    ("/stalled", {"as_of": "soon"}, "as_of", DAY, "/stalled"),
    ("/flow", {"as_of": "soon"}, "as_of", DAY, "/flow"),
    # free text narrowed the log to "Nothing delivered yet"
    ("/deliveries", {"channel": "slak"}, "channel", CHANNELS, "/deliveries"),
    # the downloads: the same rules, and the link goes to their page
    ("/reps/{ana}/scorecard.csv", {"period": "fortnight"}, "period", SCORECARD, "/reps/{ana}"),
    ("/team/export.xlsx", {"period": "fortnight"}, "period", SCORECARD, "/team"),
    ("/leaderboard/export.csv", {"metric": "proposals", "by": "bogus"}, "by", BY, "/leaderboard"),
    ("/leaderboard/export.csv", {"period": "fortnight"}, "period", BOARD, "/leaderboard"),
    ("/leaderboard/export.xlsx", {"metric": "bogus"}, "metric", METRICS, "/leaderboard"),
    ("/leaderboard/export.csv", {"role": "astronaut"}, "role", ROLES, "/leaderboard"),
    ("/activities/export.csv", {"kind": "telepathy"}, "kind", KINDS, "/activities"),
    (
        "/activities/export.csv",
        {"rep": "Ana"},
        "rep",
        f"a whole number from 1 to {BIG}",
        "/activities",
    ),
    (
        "/forecast/export.csv",
        {"period": "fortnight"},
        "period",
        "one of month, quarter, year",
        "/forecast",
    ),
    (
        "/forecast/export.csv",
        {"seed": "-1"},
        "seed",
        f"a whole number from 0 to {BIG}",
        "/forecast",
    ),
    ("/diagnose/export.csv", {"as_of": "soon"}, "as_of", DAY, "/diagnose"),
    ("/reps/{ana}/report.html", {"week": "last"}, "week", DAY, "/reps/{ana}/report.html"),
    ("/teams/{east}/report.pdf", {"week": "last"}, "week", DAY, "/teams/{east}/report.pdf"),
]

# (path, the defaults written out): the page without them is the page with them.
DEFAULTS: list[tuple[str, dict[str, str]]] = [
    ("/reps/{ana}", {"period": "month"}),
    ("/team", {"period": "month"}),
    ("/leaderboard", {"metric": "meetings_set", "period": "month", "by": "count"}),
    (
        "/leaderboard/tv",
        {"metric": "meetings_set", "period": "week", "by": "count", "refresh": "60", "page": "1"},
    ),
    ("/kiosk/{kiosk}", {"metric": "meetings_set", "period": "week", "refresh": "60"}),
    ("/forecast", {"period": "quarter", "backtest": "0"}),
    ("/reps/{ana}/scorecard.csv", {"period": "month"}),
    ("/team/export.csv", {"period": "month"}),
    ("/leaderboard/export.csv", {"metric": "meetings_set", "period": "month", "by": "count"}),
    ("/forecast/export.csv", {"period": "quarter"}),
]


@pytest.fixture(autouse=True)
def on_the_day() -> Iterator[None]:
    with clock.frozen(AS_OF):
        yield


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, dict[str, str]]]:
    """One read-only organisation for the module (every request here only reads)."""
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path_factory.mktemp("params"))
    with clock.frozen(AS_OF):
        ids = build(engine, SETTINGS)
        made = make_site(engine, SETTINGS, {"root": ("admin", None)})
        kiosk = create_kiosk_link(engine, "East", "floor").token
    names = {"ana": str(ids["ana"]), "east": _team_id(engine), "kiosk": kiosk}
    yield made, names
    engine.dispose()


def _team_id(engine: Engine) -> str:
    return str(next(t.id for t in team_refs(engine) if t.name == "East"))


def _get(site: tuple[Site, dict[str, str]], path: str, query: dict[str, str]) -> Any:
    made, names = site
    url = path.format(**names)
    if url.startswith("/kiosk/"):  # the link is the credential: no session
        made.client.cookies.clear()
        return made.client.get(url, params=query)
    return made.page("root", url, **query)


@pytest.mark.parametrize(
    ("path", "query", "field", "allowed", "page"),
    BAD,
    ids=[f"{p} {'&'.join(f'{k}={v}' for k, v in q.items())}" for p, q, *_ in BAD],
)
def test_a_bad_value_is_a_422_page_naming_it(
    site: tuple[Site, dict[str, str]],
    path: str,
    query: dict[str, str],
    field: str,
    allowed: str,
    page: str,
) -> None:
    reply = _get(site, path, query)
    assert reply.status_code == 422, reply.text[:300]
    assert reply.headers["content-type"].startswith("text/html")
    value = query[field]
    said = f"{field}: {value!r} is not allowed here; use {allowed}."
    assert str(escape(said)) in reply.text
    assert f"<h1>Not a valid {field}</h1>" in reply.text
    link = page.format(**site[1])
    assert f'<a href="{link}" data-testid="defaults-link">' in reply.text
    if not path.startswith("/kiosk/"):
        assert 'class="topbar"' in reply.text  # the site's layout, its navigation


@pytest.mark.parametrize(("path", "defaults"), DEFAULTS, ids=[p for p, _ in DEFAULTS])
def test_an_absent_value_takes_the_default(
    site: tuple[Site, dict[str, str]], path: str, defaults: dict[str, str]
) -> None:
    absent = _get(site, path, {})
    written = _get(site, path, defaults)
    # The forecast cannot learn from two open deals and no win: its page says so (422), the
    # same page either way; every other page and file is there.
    status = 422 if path.startswith("/forecast") else 200
    assert (absent.status_code, written.status_code) == (status, status), absent.text[:300]
    assert absent.content == written.content


DIAGNOSES = ["/diagnose", "/funnel", "/equation", "/quality", "/when", "/flow"]


@pytest.mark.parametrize("path", DIAGNOSES)
def test_a_diagnosis_period_it_cannot_read_is_a_422_on_the_page_with_a_way_back(
    site: tuple[Site, dict[str, str]], path: str
) -> None:
    """The diagnoses' period is the window's rule (`analytics.window`, the API's too): said on
    the page itself, with its filters to correct it and a link to the page with its defaults
    (which it lacked)."""
    reply = _get(site, path, {"period": "fortnight"})
    assert reply.status_code == 422
    said = "period: 'fortnight' is not a period; use week, month, quarter, year (to date)"
    assert str(escape(said)) in reply.text
    assert f'<a href="{path}" data-testid="defaults-link">' in reply.text
    assert _get(site, path, {}).status_code == 200


DIAGNOSIS_PERIOD = (
    "is not a period; did you mean 'month'? Use week, month, quarter, year (to date) or a"
    " number of trailing days such as 90d"
)


@pytest.mark.parametrize("path", [*DIAGNOSES, "/diagnose/export.csv"])
@pytest.mark.parametrize("period", ["Month", "MONTH"])
def test_a_diagnosis_period_is_the_exact_word_as_every_other_parameter(
    site: tuple[Site, dict[str, str]], path: str, period: str
) -> None:
    """ "Month" was read as "month" by the diagnoses alone (the scorecard's, the forecast's and
    the leaderboard's periods refuse it): now a 422 on the page and the download alike,
    naming the words allowed."""
    reply = _get(site, path, {"period": period})
    assert reply.status_code == 422, reply.text[:300]
    assert str(escape(f"period: '{period}' {DIAGNOSIS_PERIOD}")) in reply.text
    assert _get(site, path, {"period": "month"}).status_code == 200


def test_a_tipping_metric_it_cannot_use_is_a_422_on_the_page_with_a_way_back(
    site: tuple[Site, dict[str, str]],
) -> None:
    reply = _get(site, "/tipping", {"metric": "bogus"})
    assert reply.status_code == 422 and "metric: " in reply.text and "bogus" in reply.text
    assert '<a href="/tipping" data-testid="defaults-link">' in reply.text


def test_the_leaderboard_asked_without_period_and_by_ranks_the_month_by_count(
    site: tuple[Site, dict[str, str]],
) -> None:
    """Absent `period` and `by`: the month to date by count, Ana 9 proposals, Ben and Dee 2;
    the CSV the same rows."""
    made, _ = site
    download = made.page("root", "/leaderboard/export.csv", metric="proposals")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert [(r["rank"], r["rep"], float(r["value"])) for r in rows] == [
        ("1", "Ana Ruiz", 9.0),
        ("2", "Ben Cole", 2.0),
        ("2", "Dee Fox", 2.0),
    ]
    assert {(r["period"], r["by"]) for r in rows} == {("2026-11", "count")}


def test_a_page_typed_parameter_is_a_page_and_the_api_keeps_its_json(
    site: tuple[Site, dict[str, str]],
) -> None:
    """A path id that is not a number: a 422 page (it was the API's JSON); the API's answer
    to the same mistake stays JSON naming the field."""
    made, _ = site
    page = made.page("root", "/reps/ana")
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "rep_id: &#39;ana&#39; is not allowed here" in page.text
    flag = made.page("root", "/deliveries", failed="maybe")
    assert flag.status_code == 422 and "failed: &#39;maybe&#39; is not allowed here" in flag.text
    assert 'href="/deliveries" data-testid="defaults-link"' in flag.text
    api = made.api("root", "/leaderboard", metric="proposals", by="bogus")
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["query", "by"]
    kind = made.api("root", "/activities", kind="telepathy")
    assert kind.status_code == 422 and kind.json()["detail"][0]["loc"] == ["query", "kind"]
    assert kind.json()["detail"][0]["msg"] == f"'telepathy' is not allowed; use {KINDS}"


def test_the_browser_shows_the_bad_value_and_a_way_back(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """In chromium: a mistyped leaderboard address shows the message on the site's page, and
    its link opens the board with its defaults (Ana first with 9 proposals)."""
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path_factory.mktemp("params-browser"))
    build(engine, SETTINGS)
    add_user(engine, "admin", PASSWORD, "admin")
    with (
        served(engine, SETTINGS) as url,
        watched_page(browser, url, {"width": 1366, "height": 900}) as (page, problems),
    ):
        log_in(page, "admin", "/leaderboard?metric=proposals&by=best")
        expect(page.get_by_role("heading", name="Not a valid by")).to_be_visible()
        expect(page.get_by_role("alert")).to_have_text(
            "by: 'best' is not allowed here; use one of count, target, improved."
        )
        page.get_by_test_id("defaults-link").click()
        expect(page).to_have_url(re.compile(r"/leaderboard$"))
        page.goto("/leaderboard?metric=proposals")
        expect(page.get_by_role("heading", name="Not a valid by")).to_have_count(0)
        assert not unexpected([p for p in problems if "status of 422" not in p])
