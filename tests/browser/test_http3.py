"""The player in real Chromium forced onto QUIC for one edge: HTTP/3 end to end, the CA trusted
through the NSS database as for HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.chromium import launch
from tests.browser.conftest import VIEWPORT, wait_for
from tests.browser.pages import (
    current_time,
    overlay,
    player_state,
    sign_in_and_play,
    watch_responses,
)
from tests.browser.stack import Stack, portal_stack
from tests.helpers import upload, wait_state

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, long_clip: Path, browser_ca: Path
) -> Iterator[tuple[Stack, str]]:
    with portal_stack(tmp_path_factory.mktemp("http3"), browser_ca) as stack:
        origin = stack.topology.origin_url("us-east")
        video = upload(origin, long_clip)
        wait_state(origin, video)
        yield stack, video


@pytest.fixture(scope="module")
def quic_browser(stack: tuple[Stack, str], browser_home: Path) -> Iterator[Browser]:
    """Chromium that speaks only QUIC to edge iad's HTTPS origin (no Alt-Svc round first)."""
    edge = urlsplit(stack[0].topology.dist.edge_by_pop("iad").viewer_url).netloc
    args = ("--enable-quic", f"--origin-to-force-quic-on={edge}")
    with sync_playwright() as playwright:
        browser = launch(playwright, browser_home, args)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def quic_page(quic_browser: Browser) -> Iterator[Page]:
    context = quic_browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        yield context.new_page()
    finally:
        context.close()


def test_chromium_plays_through_the_edge_over_http3(
    stack: tuple[Stack, str], quic_page: Page
) -> None:
    """Every playlist and segment from edge iad arrived over h3 (DevTools' protocol), with the
    portal's signed cookies; Misses first, as over HTTP/2."""
    portal, video = stack
    responses = watch_responses(quic_page)
    sign_in_and_play(quic_page, portal.player(f"video={video}&pop=iad"))
    start = wait_for(lambda: current_time(quic_page) > 0 and current_time(quic_page), 20,
                     "playback to start over HTTP/3")  # fmt: skip
    wait_for(lambda: current_time(quic_page) > float(start) + 2, 15, "currentTime to advance")  # type: ignore[arg-type]
    assert player_state(quic_page)["fatal"] is None
    edge = portal.topology.dist.edge_by_pop("iad").viewer_url
    media = [r for r in responses if r["url"].startswith(edge + "/hls/")]
    assert len(media) >= 3 and {r["protocol"] for r in media} == {"h3"}
    assert any(row["kind"] == "segment" and row["cache"] == "Miss" for row in overlay(quic_page))
