"""What a manager sees in chromium: findings in words with the statistics one click away,
charts that carry a legend and a true caption, and the plan builder on a phone.

The server is a uvicorn thread over a small seeded demo (12 reps, 3 months), and the browser
is the one the other browser tests share (`browser`, tests/web/conftest.py: one chromium per
xdist worker; a chromium of this file's own cost another launch, some 0.75 CPU s). The rep
whose brief is read is chosen from the analysis itself (one with a weak funnel step, whose
statistics the page must keep behind "How we know").
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine

from factories import served_app, shared_demo, sqlite_copy
from paceline.analytics.diagnose import diagnose_team
from paceline.analytics.roster import list_reps
from paceline.analytics.window import diagnosis_window
from paceline.auth.accounts import add_user
from paceline.config import Settings
from paceline.server import create_app

CHROMIUM = Path("/usr/bin/chromium")
IMAGES = (
    Path(__file__).resolve().parents[2] / "docs" / "images"
    if os.environ.get("PACELINE_DOCS_IMAGES") == "1"
    else Path(__file__).resolve().parent / "screenshots"
)
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does this)",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402  (only once chromium is known to be there)
    Browser,
    Locator,
    Page,
    expect,
)

from browser_org import PASSWORD, Opener, signed_in_pages  # noqa: E402  (likewise)


@dataclass(frozen=True)
class Site:
    url: str
    weak: str  # a rep with a weak funnel step in the default window
    ae: str  # an AE whose revenue equation splits into factors
    engine: Engine  # the database served
    users: dict[str, int]  # user name -> id: admin, manager


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, today: dt.date
) -> Iterator[Site]:
    # the demo the other browser tests copy (`browser_org.seeded_demo`), built once per run
    built = shared_demo(tmp_path_factory, settings, seed=7, reps=12, months=3, today=today)
    engine = sqlite_copy(built.path, tmp_path_factory.mktemp("words"))
    reps = list_reps(engine)
    manager = next(r for r in reps if r.team == "East" and r.role == "manager")
    users = [
        add_user(engine, "admin", PASSWORD, "admin"),
        add_user(engine, "manager", PASSWORD, "manager", rep=manager.name),
    ]
    window = diagnosis_window(settings, settings.diagnose.window, today)
    found = diagnose_team(engine, settings, window)
    weak = next(d.rep for d in found.reps if any(f.kind == "weak_step" for f in d.findings))
    ae = next(
        d.rep
        for d in found.reps
        if d.equation is not None and d.equation.gap is not None and d.role == "ae"
    )

    try:
        with served_app(create_app(settings, engine)) as url:
            yield Site(url, weak, ae, engine, {user.username: user.id for user in users})
    finally:
        engine.dispose()


@pytest.fixture
def open_as(browser: Browser, site: Site) -> Iterator[Opener]:
    """A signed-in page at a viewport size (`browser_org.signed_in_pages`)."""
    with signed_in_pages(browser, site.engine, site.users, site.url) as opener:
        yield opener


# --- words ------------------------------------------------------------------------------------


def test_findings_speak_plainly_and_the_statistics_wait_for_a_click(
    open_as: Opener, site: Site
) -> None:
    page = open_as(LAPTOP, "admin")
    page.goto(f"/diagnose?rep={quote(site.weak)}")
    findings = page.get_by_test_id("findings")
    weak = findings.locator('li[data-kind="weak_step"]').first
    expect(weak).to_contain_text("unlikely to be chance")
    said = findings.inner_text()
    assert "p =" not in said and "p <" not in said, said  # no p-value on the face
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", said), said  # no internal names
    how = weak.get_by_test_id("how-we-know")
    stats = how.locator("p")
    expect(stats).to_be_hidden()  # one click away, not on the page
    how.locator("summary", has_text="How we know").click()
    expect(stats).to_be_visible()
    expect(stats).to_contain_text("p = ")
    expect(stats).to_contain_text("Poisson")


def test_the_funnel_page_keeps_its_p_values_behind_how_we_know(open_as: Opener, site: Site) -> None:
    page = open_as(LAPTOP, "admin")
    page.goto(f"/funnel?rep={quote(site.weak)}")
    headers = page.get_by_test_id("funnel-table").locator("thead th").all_inner_texts()
    assert "p" not in [h.strip() for h in headers], headers
    how = page.get_by_test_id("how-we-know")
    expect(how.locator("ul")).to_be_hidden()
    how.locator("summary").click()
    expect(how.locator("ul")).to_contain_text("p = ")


def test_activity_kinds_read_as_the_configuration_labels_them(open_as: Opener) -> None:
    page = open_as(LAPTOP, "admin")
    page.goto("/quality")
    mix = " ".join(page.get_by_test_id("quality-table").locator("tbody td small").all_inner_texts())
    assert "Phone call" in mix, mix
    assert "_" not in mix and "crm update" not in mix, mix


# --- charts -----------------------------------------------------------------------------------

CHART_PAGES = [
    ("weak", "/diagnose?rep={rep}"),
    ("weak", "/funnel?rep={rep}"),
    ("ae", "/equation?rep={rep}"),
    (None, "/quality"),
    (None, "/when"),
    (None, "/flow"),
    (None, "/forecast"),
    (None, "/leaderboard"),
    (None, "/tipping"),
]


def _texts(locator: Locator) -> list[str]:
    """The text of SVG elements (which have no inner text)."""
    found = locator.evaluate_all("els => els.map(e => e.textContent)")
    return [str(t).strip() for t in found]


@pytest.mark.parametrize(("who", "path"), CHART_PAGES, ids=[p for _, p in CHART_PAGES])
def test_every_chart_has_a_legend_a_scale_and_a_caption(
    open_as: Opener, site: Site, who: str | None, path: str
) -> None:
    page = open_as(LAPTOP, "admin")
    rep = {"weak": site.weak, "ae": site.ae}.get(who or "", "")
    page.goto(path.format(rep=quote(rep)))
    charts = page.locator("[data-figure]")
    assert charts.count() >= 1, path
    for chart in charts.all():
        expect(chart).to_have_attribute("data-rendered", "true")
        name = chart.get_attribute("data-figure")
        legend = _texts(chart.locator(".legend .traces .legendtext"))
        colourbar = chart.locator(".colorbar").count()
        assert [t for t in legend if t] or colourbar, f"{path} {name}: no legend"
        kind = chart.evaluate("el => el._fullData[0].type")
        if kind != "funnel":  # a funnel's bars carry their own numbers, and it has no axis
            ticks = _texts(chart.locator(".xtick text, .ytick text"))
            assert len([t for t in ticks if t]) >= 2, f"{path} {name}: no readable scale"
            size = chart.evaluate(
                "el => Math.min(...Array.from(el.querySelectorAll('.xtick text, .ytick text'))"
                ".map(t => parseFloat(getComputedStyle(t).fontSize)))"
            )
            assert size >= 11, f"{path} {name}: ticks at {size}px"
        caption = chart.evaluate(
            """el => { let n = el.nextElementSibling;
                       while (n && n.tagName === 'SCRIPT') n = n.nextElementSibling;
                       return n && n.tagName === 'P' ? n.textContent : ''; }"""
        )
        assert len(caption.strip()) > 40, f"{path} {name}: no caption under the chart"


def test_the_revenue_equation_legend_and_caption_match_its_colours(
    open_as: Opener, site: Site
) -> None:
    page = open_as(LAPTOP, "admin")
    page.goto(f"/equation?rep={quote(site.ae)}")
    chart = page.get_by_test_id("equation-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    data = chart.evaluate(
        """el => el._fullData.map(t => [t.type, t.name, t.marker && t.marker.color,
                 t.increasing && t.increasing.marker.color,
                 t.decreasing && t.decreasing.marker.color])"""
    )
    waterfall = next(t for t in data if t[0] == "waterfall")
    entries = {t[1]: t[2] for t in data if t[0] == "scatter"}
    above = next(c for n, c in entries.items() if "above the peers' median" in n)
    below = next(c for n, c in entries.items() if "below the peers' median" in n)
    assert waterfall[3] == above and waterfall[4] == below  # the legend says what is drawn
    assert _green(above) and _red(below)
    caption = page.get_by_test_id("equation-caption").inner_text()
    assert "Green bars raise revenue, red bars lower it" in caption
    legend = _texts(chart.locator(".legend .traces .legendtext"))
    assert any("raises revenue" in t for t in legend) and any("lowers" in t for t in legend)


def _rgb(colour: str) -> tuple[int, int, int]:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return r, g, b


def _green(colour: str) -> bool:
    r, g, b = _rgb(colour)
    return g > r and g > b


def _red(colour: str) -> bool:
    r, g, b = _rgb(colour)
    return r > g and r > b


# --- the plan builder on a phone --------------------------------------------------------------


def _sideways(page: Page) -> tuple[int, int]:
    width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return int(width), int(inner)


def test_the_plan_builder_works_on_a_phone_from_the_default_path(open_as: Opener) -> None:
    """A manager on a phone types the goal and the deal size, leaves every rate to history
    (the default), builds the plan and reads it, without scrolling sideways."""
    page = open_as(PHONE, "manager")
    page.goto("/plan")
    assert _sideways(page)[0] <= PHONE["width"]
    expect(page.get_by_label("Measure rates I leave blank from history")).to_be_checked()
    page.get_by_label("Revenue goal for the year").fill("20M")
    page.get_by_label("Average deal size").fill("35k")
    build = page.get_by_role("button", name="Build plan")
    box = build.bounding_box()
    assert box is not None and box["height"] >= 40  # a thumb can hit it
    build.click()
    expect(page.get_by_test_id("plan-error")).to_have_count(0)
    plan = page.get_by_test_id("plan")
    expect(plan).to_be_visible()
    expect(plan).to_contain_text("deals")
    cascade = page.get_by_test_id("cascade")
    expect(cascade.locator('tr[data-metric="deals_won"]')).to_be_visible()
    width, inner = _sideways(page)
    assert width <= inner, f"/plan is {width} px wide in a {inner} px window"
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "plan-phone.png"), full_page=True)
