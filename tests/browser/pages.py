"""What the browser tests read from the portal's pages."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.browser.conftest import wait_for

ROWS = """() => [...document.querySelectorAll('#log tr.entry')].reverse().map((r) => ({
  kind: r.cells[1].textContent, rendition: r.cells[2].textContent, pop: r.cells[3].textContent,
  cache: r.dataset.cache, origin: r.cells[5].textContent, size: r.cells[6].textContent,
}))"""


def current_time(page: Page) -> float:
    return float(page.evaluate("() => document.getElementById('video').currentTime"))


def overlay(page: Page) -> list[dict[str, str]]:
    """The delivery overlay's fetch rows, oldest first."""
    return list(page.evaluate(ROWS))


def player_state(page: Page) -> dict[str, Any]:
    """What the player page reports: denied, fatal error, startup time, rebuffers."""
    return dict(page.evaluate("() => ({...window.portalPlayer, player: undefined})"))


def sign_in_and_play(page: Page, url: str) -> None:
    page.goto(url)
    page.locator("#signin-button").click()


def plays(
    page: Page, url: str, what: str, *, start_within: float = 40, advance: float = 3,
    advance_within: float = 30,
) -> None:  # fmt: skip
    """Sign in on the player page at `url`; playback starts within `start_within` s, then
    currentTime advances `advance` s more within `advance_within` s, with no fatal error."""
    sign_in_and_play(page, url)
    wait_for(lambda: current_time(page) > 0, start_within, f"{what} to start")
    start = current_time(page)
    wait_for(lambda: current_time(page) > start + advance, advance_within, f"{what} to advance")
    assert player_state(page)["fatal"] is None


def watch_responses(page: Page) -> list[dict[str, str]]:
    """Every response the page receives from now on, as Chromium's DevTools reports it: URL,
    protocol (http/1.1, h2, h3) and security state. Resource Timing hides the protocol of
    cross-origin fetches (the edges send no Timing-Allow-Origin); DevTools does not."""
    seen: list[dict[str, str]] = []
    cdp = page.context.new_cdp_session(page)

    def received(event: dict[str, Any]) -> None:
        response = event["response"]
        seen.append({"url": response["url"], "protocol": response.get("protocol", ""),
                     "security": response.get("securityState", "")})  # fmt: skip

    cdp.on("Network.responseReceived", received)
    cdp.send("Network.enable")
    return seen
