"""Real headless Chromium (Debian's package, never a downloaded build) driven by Playwright."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from media.samples import make_clip
from tests.browser.chromium import launch, nss_home
from tests.tls import make_ca

VIEWPORT = {"width": 1400, "height": 860}


@pytest.fixture(scope="session")
def browser_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local CA every browser-test stack's certificates come from (`ca.pem` in it)."""
    out = tmp_path_factory.mktemp("browser-pki")
    make_ca(out)
    return out


@pytest.fixture(scope="session")
def browser_home(browser_ca: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `$HOME` every test Chromium runs with: its NSS database trusts `browser_ca`."""
    return nss_home(browser_ca / "ca.pem", tmp_path_factory.mktemp("browser-home"))


@pytest.fixture(scope="module")
def browser(clip: Path, long_clip: Path, browser_home: Path) -> Iterator[Browser]:
    """One Chromium per module. Playwright's sync API keeps an event loop running in this
    thread while it is up, so it must stop before other modules' asyncio/anyio tests run, and
    the clips are made before it starts (the ffmpeg helpers call asyncio.run)."""
    with sync_playwright() as playwright:
        browser = launch(playwright, browser_home)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: no cookies, no storage, no cache."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    return page


@pytest.fixture(scope="session")
def long_clip(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s at 320x180: long enough that playback is still fetching when a test breaks something."""
    out = tmp_path_factory.mktemp("browser-media") / "long.mp4"
    return asyncio.run(make_clip(ffmpeg, out, seconds=20, width=320, height=180))


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.2) -> object:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
