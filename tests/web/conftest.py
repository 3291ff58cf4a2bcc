"""The browser the browser tests drive: Debian's chromium through Playwright, launched once
per test session (once per xdist worker), not once per test file.

Playwright's sync API marks its event loop as running in the main thread between its calls;
a test that then calls `asyncio.run()` would fail. So the loop is marked running only while a
test that asked for `browser` runs, and cleared after it: the other tests a worker runs
between the browser tests see no loop. Without chromium the browser tests are skipped, with
that reason (`.ci/run` installs it with apt-get).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from browser_org import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="session")
def _chromium() -> Iterator[tuple[Browser, asyncio.AbstractEventLoop]]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    # An assertion waits as long as an action does (the contexts' 15 s, not Playwright's 5 s):
    # a page drawing its Plotly charts on a loaded machine is slow, not wrong.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        loop = asyncio.get_running_loop()  # Playwright's, marked running between its calls
        asyncio._set_running_loop(None)
        try:
            yield launched, loop
        finally:
            asyncio._set_running_loop(loop)
            launched.close()


@pytest.fixture
def browser(_chromium: tuple[Browser, asyncio.AbstractEventLoop]) -> Iterator[Browser]:
    """The worker's chromium, for one test."""
    launched, loop = _chromium
    asyncio._set_running_loop(loop)  # what Playwright's sync calls expect
    try:
        yield launched
    finally:
        asyncio._set_running_loop(None)  # what every other test expects
