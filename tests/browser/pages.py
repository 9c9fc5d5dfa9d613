"""What the browser tests read from the portal's pages."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

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
