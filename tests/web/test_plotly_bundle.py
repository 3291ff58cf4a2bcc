"""The partial plotly.js the pages load draws every trace type the chart builders use.

The full plotly.js (4.8 MB) took a browser seconds to parse on every cold visit, so the pages
load a partial bundle vendored in the package (src/paceline/web/vendor/plotly): the core plus
scatter, bar, heatmap, funnel and waterfall. plotly.js does not fail on a trace type it lacks,
it leaves the trace out and logs a warning, so a chart that starts using, say, `pie` would
come up empty with every other test green. Three checks close that gap:

- in chromium, the bundle registers exactly the trace types written here by hand (read from
  `Plotly.PlotSchema`, not from the banner the build wrote);
- every `"type"` the chart builders' source gives a trace is one of them (read with `ast`
  against plotly.js 4.1.1's full list of trace types, from its `lib/` folder);
- in chromium, every chart on every chart page of the demo asks only for registered types,
  and is drawn.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from browser_org import log_in, seeded_demo, served, unexpected, watched_page
from paceline.config import Settings

WEB = Path(__file__).resolve().parents[2] / "src" / "paceline" / "web"
BUNDLE = WEB / "vendor" / "plotly" / "plotly.min.js"
LICENCE = WEB / "vendor" / "plotly" / "LICENSE.txt"
# What tools/plotly_bundle/entry.js registers (scatter comes with the core).
BUNDLED = {"scatter", "bar", "heatmap", "funnel", "waterfall"}
# Every trace type of plotly.js 4.1.1 (the files of its lib/ folder, less core, calendars
# and the index bundles): what a builder's "type" must be one of to be a trace at all.
# fmt: off
ALL_TRACES = {
    "bar", "barpolar", "box", "candlestick", "carpet", "choropleth", "choroplethmap", "cone",
    "contour", "contourcarpet", "densitymap", "funnel", "funnelarea", "heatmap", "histogram",
    "histogram2d", "histogram2dcontour", "icicle", "image", "indicator", "isosurface", "mesh3d",
    "ohlc", "parcats", "parcoords", "pie", "quiver", "sankey", "scatter", "scatter3d",
    "scattercarpet", "scattergeo", "scattergl", "scattermap", "scatterpolar", "scatterpolargl",
    "scattersmith", "scatterternary", "splom", "streamtube", "sunburst", "surface", "table",
    "treemap", "violin", "volume", "waterfall",
}
# fmt: on
REGISTERED = "() => Object.keys(Plotly.PlotSchema.get().traces).sort()"
ASKED = """() => Array.from(document.querySelectorAll('[data-figure]')).map(el => ({
  id: el.getAttribute('data-testid') || el.id,
  rendered: el.getAttribute('data-rendered') === 'true',
  types: JSON.parse(document.getElementById(el.getAttribute('data-figure')).textContent)
           .data.map(t => t.type || 'scatter'),
}))"""


def _builder_trace_types() -> dict[str, set[str]]:
    """The string `"type"` values of dict literals in the chart builders that name a trace."""
    found: dict[str, set[str]] = {}
    for module in sorted([WEB / "charts.py", *WEB.glob("*_charts.py")]):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "type"
                    and isinstance(value, ast.Constant)
                    and value.value in ALL_TRACES
                ):
                    found.setdefault(value.value, set()).add(module.name)
    return found


def test_the_bundle_ships_with_its_licence_and_is_partial() -> None:
    assert "MIT License" in LICENCE.read_text(encoding="utf-8")
    head = BUNDLE.read_text(encoding="utf-8")[:300]
    assert "plotly.js v4.1.1" in head and "MIT License" in head
    assert BUNDLE.stat().st_size < 2_000_000  # the full bundle is 4.8 MB


def test_the_chart_builders_use_only_bundled_trace_types() -> None:
    used = _builder_trace_types()
    # The scan sees the builders (a scan that found nothing would pass vacuously).
    assert {"scatter", "bar", "waterfall"} <= used.keys(), used
    missing = {kind: sorted(where) for kind, where in used.items() if kind not in BUNDLED}
    assert not missing, f"add these to tools/plotly_bundle and rebuild: {missing}"


def test_the_bundle_registers_exactly_the_bundled_trace_types(browser: Browser) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<!doctype html><title>bundle</title>")
        page.add_script_tag(path=str(BUNDLE))
        assert set(page.evaluate(REGISTERED)) == BUNDLED
    finally:
        context.close()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, today: dt.date
) -> Iterator[str]:
    demo = seeded_demo(tmp_path_factory, settings, today, reps=12, months=3)
    with served(demo.engine, settings) as url:
        yield url


@pytest.fixture
def page(browser: Browser, site: str) -> Iterator[Page]:
    with watched_page(browser, site, {"width": 1366, "height": 900}) as (opened, problems):
        yield opened
    left = unexpected(problems)
    assert not left, left


def _charts(page: Page) -> list[dict[str, object]]:
    """The page's charts once all are drawn: each one's test id and the trace types asked."""
    for chart in page.locator("[data-figure]").all():
        expect(chart).to_have_attribute("data-rendered", "true")
    charts: list[dict[str, object]] = page.evaluate(ASKED)
    return charts


def test_every_chart_page_draws_with_the_bundle(page: Page) -> None:
    """As the manager: each chart page's charts ask only for registered types and are drawn."""
    log_in(page, "manager", "/leaderboard")
    seen: dict[str, list[str]] = {}
    pages = ["/leaderboard", "/funnel", "/quality", "/when", "/flow", "/tipping", "/forecast"]
    for path in pages:
        page.goto(path if path in ("/leaderboard", "/forecast") else f"{path}?period=90d")
        for chart in _charts(page):
            seen[f"{path} {chart['id']}"] = list(chart["types"])  # type: ignore[call-overload]
    # A rep's waterfall: the equation of the first rep with wins, and their diagnosis.
    page.goto("/equation?period=90d")
    rows = page.get_by_test_id("equation-table").locator("tbody tr")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    closer = next(t for t in texts if "applicable" not in t and "zero" not in t)
    rows.nth(texts.index(closer)).get_by_role("link").click()
    expect(page.get_by_test_id("equation-chart")).to_have_attribute("data-rendered", "true")
    for chart in _charts(page):
        seen[f"/equation {chart['id']}"] = list(chart["types"])  # type: ignore[call-overload]
    registered = set(page.evaluate(REGISTERED))
    assert registered == BUNDLED
    asked = {kind for kinds in seen.values() for kind in kinds}
    assert {"scatter", "bar", "heatmap", "funnel", "waterfall"} <= asked, seen
    assert asked <= registered, seen
