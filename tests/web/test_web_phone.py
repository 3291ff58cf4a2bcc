"""What a rep on a phone and a manager on a laptop see: chromium at 390x844 and 1366x900.

A rep logs a call and checks pace from a phone, so no page of theirs may scroll sideways;
a manager reads the team page, grouped by role, without a column cut off; the charts carry a
legend, keep a weak step visible beside a step above 100%, and say truly which colour is
better; the site can be installed to a home screen. The browser is tests/web/conftest.py's;
the server (uvicorn in a thread over a copy of the seeded SQLite demo) and the watched page
are tests/browser_org.py's.

Screenshots of the phone scorecard and the team page go to docs/images/ with
PACELINE_DOCS_IMAGES=1 (looked at by hand when they change), to tests/web/screenshots/ otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Engine

from browser_org import IMAGES, Opener, seeded_demo, served, signed_in_pages
from paceline.config import Settings
from paceline.web.funnel_charts import CAP

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}


@dataclass(frozen=True)
class Site:
    url: str
    roles: dict[str, str]  # rep name -> role, from the roster as built
    ae: str  # an AE of team East: their meetings held outnumber meetings set
    engine: Engine  # the database served
    users: dict[str, int]  # user name -> id: admin, manager, rep


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, today: dt.date
) -> Iterator[Site]:
    demo = seeded_demo(tmp_path_factory, settings, today, reps=12, months=3)
    ae = next(r for r in demo.reps if r.team == "East" and r.role == "ae")
    with served(demo.engine, settings) as url:
        yield Site(url, {r.name: r.role for r in demo.reps}, ae.name, demo.engine, demo.users)


@pytest.fixture
def open_as(browser: Browser, site: Site) -> Iterator[Opener]:
    """A signed-in page at a viewport size (`browser_org.signed_in_pages`)."""
    with signed_in_pages(browser, site.engine, site.users, site.url) as opener:
        yield opener


def _sideways(page: Page) -> tuple[int, int]:
    """The document's scrollable width and the viewport's: equal when nothing sticks out."""
    width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return int(width), int(inner)


def _charts_drawn(page: Page) -> None:
    for chart in page.locator("[data-figure]").all():
        expect(chart).to_have_attribute("data-rendered", "true")


PAGES = [
    ("rep", "/scorecard"),
    ("rep", "/log"),
    ("rep", "/activities"),
    ("rep", "/leaderboard"),
    ("rep", "/diagnose"),
    ("manager", "/team"),
    ("manager", "/forecast"),
    ("manager", "/funnel"),
    ("manager", "/when"),
    ("admin", "/team"),
]


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
@pytest.mark.parametrize(("user", "path"), PAGES, ids=[f"{u}{p}" for u, p in PAGES])
def test_no_page_scrolls_sideways(
    open_as: Opener, viewport: dict[str, int], user: str, path: str
) -> None:
    page = open_as(viewport, user)
    page.goto(path)
    _charts_drawn(page)
    width, inner = _sideways(page)
    assert width <= inner, f"{path} is {width} px wide in a {inner} px window"


def test_the_phone_scorecard_shows_each_metric_whole(open_as: Opener) -> None:
    page = open_as(PHONE, "rep")
    page.goto("/scorecard?period=month")
    rows = page.get_by_test_id("scorecard").locator("tbody tr")
    assert rows.count() >= 2
    for row in rows.all():
        # The metric, its pace bar, its figures and its status all inside the screen.
        for part in ("th", ".pacebar", "td.actual", "td.status .badge"):
            box = row.locator(part).first.bounding_box()
            assert box is not None and box["width"] > 0, part
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], part
        expect(row.locator("td.actual")).to_be_visible()
        labels = row.locator("td[data-label]").evaluate_all(
            "tds => tds.map(td => getComputedStyle(td, '::before').content)"
        )
        assert '"Target"' in labels and '"Needed per day"' in labels  # figures are labelled
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "phone-scorecard.png"), full_page=True)


def test_logging_from_a_phone_keeps_the_ask(open_as: Opener) -> None:
    page = open_as(PHONE, "rep")
    page.goto("/log")
    submit = page.get_by_role("button", name="Log it")
    box = submit.bounding_box()
    assert box is not None and box["height"] >= 40  # a thumb can hit it
    page.get_by_label("Kind").select_option("call")
    page.get_by_label("Outcome").select_option("conversation")
    page.get_by_label("Asked for a yes/no").check()
    submit.click()
    expect(page.get_by_test_id("logged")).to_contain_text("with an Ask")
    expect(page.get_by_label("Asked for a yes/no")).to_be_checked()  # not reset
    page.get_by_label("Asked for a yes/no").uncheck()
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_test_id("logged")).not_to_contain_text("with an Ask")
    expect(page.get_by_label("Asked for a yes/no")).not_to_be_checked()
    width, inner = _sideways(page)
    assert width <= inner


def test_team_page_groups_reps_by_role_and_fits(open_as: Opener, site: Site) -> None:
    page = open_as(LAPTOP, "admin")
    page.goto("/team")
    tables = page.get_by_test_id("team-table")
    roles = [t.get_attribute("data-role") for t in tables.all()]
    assert roles == ["sdr", "ae", "field"]  # the configuration's role order, each once
    seen: list[str] = []
    for table, role in zip(tables.all(), roles, strict=True):
        names = [n.strip() for n in table.locator("tbody th[scope=row]").all_inner_texts()]
        assert names and all(site.roles[name] == role for name in names), (role, names)
        seen += names
        # No column cut off: the table is no wider than the box it sits in.
        inside = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
        assert inside[0] <= inside[1], (role, inside)
    paced = {name for name, role in site.roles.items() if role in ("sdr", "ae", "field")}
    assert sorted(seen) == sorted(paced)  # everyone, once
    sdr_columns = page.locator('[data-role="sdr"] thead th').all_inner_texts()
    assert "Proposals sent" not in sdr_columns and "Meetings set" in sdr_columns
    ae_columns = page.locator('[data-role="ae"] thead th').all_inner_texts()
    assert "Meetings set" not in ae_columns and "Revenue won" in ae_columns
    width, inner = _sideways(page)
    assert width <= inner
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "team-by-role.png"), full_page=True)


def test_rep_funnel_chart_has_a_legend_and_keeps_small_steps_visible(
    open_as: Opener, site: Site
) -> None:
    page = open_as(LAPTOP, "admin")
    page.goto(f"/diagnose?rep={site.ae}")
    chart = page.get_by_test_id("diagnose-funnel-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    legend = _texts(chart.locator(".legend .traces .legendtext"))
    assert "peers" in legend and any(t.startswith(site.ae) for t in legend), legend
    # Bars: the subject's and the peers', one pair per step. The step held-per-set converts
    # above 100% for an AE (they hold meetings the SDRs set); it must not flatten the rest.
    page.goto(f"/funnel?rep={site.ae}")
    held = page.locator('[data-testid="funnel-table"] tr[data-metric="meetings_held"] td').nth(1)
    assert float(held.inner_text().rstrip("%")) > 100
    chart = page.get_by_test_id("conversion-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    heights = [
        float(h)
        for h in chart.locator("g.point path").evaluate_all(
            "paths => paths.map(p => p.getBoundingClientRect().height)"
        )
    ]
    drawn = [h for h in heights if h > 0]
    # The bars are drawn to a scale that stops at CAP: the tallest is a cut bar (its true
    # value above CAP), and every bar's height is its value up to CAP, so the weakest step
    # keeps its share of CAP, not of the true maximum (which would flatten it to a sliver).
    traces = chart.evaluate("el => el.data.map(t => [t.y, t.customdata])")
    shown = [(y, true) for ys, trues in traces for y, true in zip(ys, trues, strict=True) if y]
    assert max(true for _, true in shown) > CAP  # the page has a step above the scale
    assert max(y for y, _ in shown) == CAP
    smallest = min(y for y, _ in shown)
    assert drawn and min(drawn) / max(drawn) == pytest.approx(smallest / CAP, rel=0.05), heights
    values = _texts(chart.locator("text.bartext"))
    assert any("▲" in v for v in values), values  # the cut bar says its true value


def _texts(locator: Locator) -> list[str]:
    """The text of SVG elements (which have no inner text)."""
    found = locator.evaluate_all("els => els.map(e => e.textContent)")
    return [str(t).strip() for t in found]


def test_when_to_sell_caption_matches_the_colours(open_as: Opener) -> None:
    page = open_as(LAPTOP, "manager")
    page.goto("/when")
    chart = page.get_by_test_id("when-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    scale = chart.evaluate("el => el._fullData[0].colorscale")
    low, high = _luminance(scale[0][1]), _luminance(scale[-1][1])
    caption = page.get_by_test_id("when-caption").inner_text()
    assert "Darker blue is a higher connect rate" in caption
    assert high < low  # the highest rate is drawn darkest, as the caption says
    assert not chart.evaluate("el => el._fullData[0].reversescale")


def _luminance(colour: str) -> float:
    if colour.startswith("#"):
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (int(float(v)) for v in re.findall(r"[\d.]+", colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_site_installs_to_a_home_screen(open_as: Opener) -> None:
    page = open_as(PHONE, "rep")
    page.goto("/scorecard")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href is not None
    reply = page.request.get(href)
    assert reply.ok and reply.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(reply.body())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        image = page.request.get(icon["src"])
        assert image.ok and image.headers["content-type"] == icon["type"], icon
    assert page.locator('meta[name="theme-color"]').count() == 1


def test_static_files_arrive_compressed_and_cached(open_as: Opener) -> None:
    page = open_as(LAPTOP, "manager")
    answers: dict[str, dict[str, str]] = {}
    page.on("response", lambda r: answers.__setitem__(r.url, r.all_headers()))
    page.goto("/funnel")
    _charts_drawn(page)
    plotly = next(url for url in answers if "/vendor/plotly/plotly.min.js?v=" in url)
    css = next(url for url in answers if "/static/paceline.css?v=" in url)
    for url in (plotly, css):
        headers = answers[url]
        assert headers.get("content-encoding") == "gzip", url
        assert "max-age=31536000" in headers["cache-control"], url
        assert "immutable" in headers["cache-control"], url
    sizes = page.evaluate(
        """() => performance.getEntriesByType('resource')
              .filter(e => e.name.includes('plotly.min.js'))
              .map(e => [e.encodedBodySize, e.decodedBodySize])"""
    )
    encoded, decoded = sizes[0]
    assert encoded < decoded / 2, sizes  # about 0.4 MB on the wire for 1.2 MB of script
