"""The player page with CloudFront cookies already in the browser (signed elsewhere, e.g. by
`streaming sign cookies`): valid ones play at once, refused ones say why and offer sign-in."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page

from streaming import keys
from streaming.policy import Policy
from streaming.signing import Signer
from streaming.viewer_access import video_resource
from tests.browser.conftest import wait_for
from tests.browser.pages import current_time, player_state
from tests.browser.stack import Stack, portal_stack
from tests.helpers import upload, wait_state

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, long_clip: Path, browser_ca: Path
) -> Iterator[tuple[Stack, str]]:
    with portal_stack(tmp_path_factory.mktemp("player-cookies"), browser_ca) as stack:
        origin = stack.topology.origin_url("us-east")
        video = upload(origin, long_clip)
        wait_state(origin, video)
        yield stack, video


def demo_signer(stack: Stack) -> Signer:
    """The demo's signing key, read from its state file as the portal's login reads it."""
    signing = json.loads(stack.state.read_text())["signing"]
    private = keys.load_private_key(Path(signing["private_key"]))
    return Signer(signing["key_pair_id"], private, signing["hash"])


def preset_cookies(context: BrowserContext, stack: Stack, resource: str, expires: int) -> None:
    """Cookies for the edge's host, set before the page opens, as another tool would have."""
    cookies = demo_signer(stack).cookies(Policy(resource, expires))
    edge = stack.topology.dist.edge_by_pop("iad").viewer_url  # https, where the player goes
    context.add_cookies([{"name": n, "value": v, "url": edge} for n, v in cookies.items()])  # type: ignore[misc]


def test_valid_preset_cookies_play_without_sign_in(
    stack: tuple[Stack, str], context: BrowserContext, page: Page
) -> None:
    portal, video = stack
    preset_cookies(context, portal, video_resource(video), int(time.time()) + 600)
    page.goto(portal.player(f"video={video}&pop=iad"))
    start = wait_for(lambda: current_time(page) > 0 and current_time(page), 20, "playback to start")
    wait_for(lambda: current_time(page) > float(start) + 2, 15, "currentTime to advance 2 s")  # type: ignore[arg-type]
    assert not page.locator("#signin").is_visible()  # never offered, never clicked
    state = player_state(page)
    assert state["denied"] is False and state["fatal"] is None
    assert state["access"] == {"status": 200, "reason": None}


@pytest.mark.parametrize(
    ("resource", "expires_in", "reason", "says"),
    [
        ("other", 600, "resource_not_covered", "for another video"),
        ("this", -60, "expired", "have expired"),
        (None, 0, "missing", "Sign in to play"),
    ],
)
def test_refused_cookies_say_why_and_offer_sign_in(
    stack: tuple[Stack, str],
    context: BrowserContext,
    page: Page,
    resource: str | None,
    expires_in: int,
    reason: str,
    says: str,
) -> None:
    portal, video = stack
    if resource is not None:
        covered = video_resource(video if resource == "this" else "someothervideo")
        preset_cookies(context, portal, covered, int(time.time()) + expires_in)
    page.goto(portal.player(f"video={video}&pop=iad"))
    page.locator("#signin").wait_for(state="visible", timeout=10_000)
    assert says in page.locator("#signin-text").inner_text()
    assert player_state(page)["access"] == {"status": 403, "reason": reason}
    assert current_time(page) == 0
    page.locator("#signin-button").click()  # the way out still works
    wait_for(lambda: current_time(page) > 1, 20, "playback after sign-in")
