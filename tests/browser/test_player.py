"""The player page in real Chromium against real origins, edges and the portal (private content)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import wait_for
from tests.browser.pages import (
    current_time,
    overlay,
    player_state,
    sign_in_and_play,
    watch_responses,
)
from tests.browser.stack import Stack, portal_stack
from tests.factories import TOKEN
from tests.helpers import upload, wait_state

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, long_clip: Path, browser_ca: Path
) -> Iterator[tuple[Stack, str]]:
    """One topology for the module, with a 20 s video ready in both regions."""
    with portal_stack(tmp_path_factory.mktemp("player"), browser_ca) as stack:
        topology = stack.topology
        video = upload(topology.origin_url("us-east"), long_clip)
        wait_state(topology.origin_url("us-east"), video)
        wait_state(topology.origin_url("eu-west"), video)
        yield stack, video


def test_signed_in_viewer_plays_and_the_overlay_shows_miss_then_hit(
    stack: tuple[Stack, str], page: Page
) -> None:
    """After sign-in the video plays through the deep link's POP: Misses first, Hits on replay."""
    portal, video = stack
    responses = watch_responses(page)
    sign_in_and_play(page, portal.player(f"video={video}&pop=iad"))
    start = wait_for(lambda: current_time(page) > 0 and current_time(page), 20, "playback to start")
    wait_for(lambda: current_time(page) > float(start) + 3, 15, "currentTime to advance 3 s")  # type: ignore[arg-type]
    assert player_state(page)["fatal"] is None and player_state(page)["denied"] is False
    # Over HTTPS with the CA trusted by its pin: the page, every playlist and segment from the
    # edge over HTTP/2, and the portal's cookies are Secure.
    edge = portal.topology.dist.edge_by_pop("iad").viewer_url
    media = [r for r in responses if "/hls/" in r["url"] and "/vendor/" not in r["url"]]
    assert page.url.startswith("https://") and len(media) >= 3
    assert {(r["url"].startswith(edge + "/hls/"), r["protocol"]) for r in media} == {(True, "h2")}
    cookies = [c for c in page.context.cookies() if c["name"].startswith("CloudFront-")]
    assert cookies and all(c["secure"] and c["sameSite"] == "None" for c in cookies)
    first = overlay(page)
    assert {row["pop"] for row in first} == {"iad"}
    assert {row["kind"] for row in first} >= {"master", "playlist", "segment"}
    assert all(row["cache"] == "Miss" and row["origin"] == "us-east" for row in first)

    page.locator("#replay").click()  # same objects again: now the edge has them
    wait_for(
        lambda: sum(r["cache"] == "Hit" for r in overlay(page)) >= 3, 15, "Hit entries after replay"
    )
    hits = [row for row in overlay(page)[len(first) :] if row["kind"] == "segment"]
    assert hits and all(row["cache"] == "Hit" for row in hits)
    # Playback keeps fetching, so read the ratio and the rows in one go, once they agree.
    ratio_and_rows = (
        "() => [document.querySelector('#ratios [data-pop=\"iad\"]').innerText,"
        " document.querySelectorAll('#log tr.entry').length]"
    )

    def consistent() -> re.Match[str] | None:
        text, rows = page.evaluate(ratio_and_rows)
        found = re.search(r"(\d+)% of (\d+)", text)
        return found if found and int(found[2]) == rows else None

    ratio = wait_for(consistent, 10, "the hit ratio to count every overlay row")
    assert isinstance(ratio, re.Match) and 0 < int(ratio[1]) < 100

    edge_wide = page.locator('#ratios [data-pop="iad"] .edge-ratio')
    wait_for(
        lambda: re.search(r"edge: [1-9]\d*% req", edge_wide.inner_text()),
        10,
        "iad's /metrics ratio",
    )

    page.close()  # pagehide sends the last telemetry beacon
    series = 'player_sessions_total{pop="iad",stream="vod"}'
    metrics = f"{portal.portal}/metrics"
    wait_for(
        lambda: series in httpx.get(metrics, verify=portal.verify).text, 10,
        "the startup beacon in /metrics",
    )  # fmt: skip


def test_viewer_without_cookies_sees_access_denied(stack: tuple[Stack, str], page: Page) -> None:
    """Skipping sign-in, the edge answers 403 and the page says access is denied; nothing plays."""
    portal, video = stack
    page.goto(portal.player(f"video={video}&pop=iad"))
    page.locator("#signin-skip").click()
    denied = page.locator("#denied")
    denied.wait_for(state="visible", timeout=10_000)
    assert "Access denied" in denied.inner_text() and "403" in denied.inner_text()
    assert player_state(page)["denied"] is True and current_time(page) == 0
    assert overlay(page)[0]["cache"] == "Error"
    assert page.locator("#signin").is_visible()  # the way out: sign in


def test_killing_the_primary_origin_mid_playback_keeps_playing(
    stack: tuple[Stack, str], page: Page
) -> None:
    """The demo control kills fra's nearest origin mid-play; the edge fails over, play goes on."""
    portal, video = stack
    page.on(
        "dialog", lambda dialog: dialog.accept(TOKEN)
    )  # the controls ask once for the admin token
    sign_in_and_play(page, portal.player(f"video={video}&pop=fra"))
    wait_for(lambda: current_time(page) > 1, 20, "playback to start")
    before = len(overlay(page))
    try:
        page.locator('[data-name="origin-eu-west"] button[data-action="kill"]').click()
        page.locator('[data-name="origin-eu-west"][data-status="stopped"]').wait_for(timeout=10_000)
        killed_at = current_time(page)
        wait_for(
            lambda: current_time(page) > killed_at + 8, 25, "playback to go on 8 s past the kill"
        )
        assert player_state(page)["fatal"] is None
        after = [row for row in overlay(page)[before:] if row["kind"] == "segment"]
        assert after and all(row["origin"] == "us-east" and row["pop"] == "fra" for row in after)
    finally:
        restore = f"{portal.portal}/api/demo/processes/origin-eu-west/restore"
        httpx.post(
            restore, headers={"authorization": f"Bearer {TOKEN}"}, timeout=30,
            verify=portal.verify,
        )  # fmt: skip
    assert (
        httpx.get(f"{portal.topology.origin_url('eu-west')}/healthz", timeout=5).status_code == 200
    )


def test_uploaded_clip_becomes_playable_on_the_page(
    stack: tuple[Stack, str], page: Page, clip: Path
) -> None:
    """A file dropped on the upload page is uploaded with progress, packaged, and plays there."""
    portal, _ = stack
    page.goto(f"{portal.portal}/upload")
    page.locator("#token").fill(TOKEN)
    dropped = page.evaluate_handle(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], 'dropped.mp4', { type: 'video/mp4' }));
            return transfer;
        }""",
        base64.b64encode(clip.read_bytes()).decode(),
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    wait_for(
        lambda: page.evaluate("() => window.portalUpload.playing"), 60, "the uploaded clip to play"
    )
    wait_for(lambda: current_time(page) > 1, 15, "the uploaded clip's currentTime to advance")
    upload_state = page.evaluate("() => window.portalUpload")
    assert upload_state["error"] is None and upload_state["id"]
    assert "Uploaded dropped.mp4" in page.locator("#upload-label").inner_text()
    assert page.locator("#upload-bar").get_attribute("style") == "width: 100%;"
    assert any(row["kind"] == "segment" for row in overlay(page))


def test_without_a_pop_the_steering_service_picks_the_viewers_nearest(
    stack: tuple[Stack, str], page: Page
) -> None:
    """?region=eu-west and no ?pop: the steering service's nearest healthy POP (fra) serves it."""
    portal, video = stack
    sign_in_and_play(page, portal.player(f"video={video}&region=eu-west"))
    wait_for(lambda: current_time(page) > 1, 20, "playback to start")
    assert {row["pop"] for row in overlay(page)} == {"fra"}
    assert "steering chose fra for region eu-west" in page.locator("#log").inner_text()
    assert page.locator("#pop").input_value() == "fra"


def test_killing_the_edge_mid_playback_moves_the_player_to_another_pop(
    stack: tuple[Stack, str], page: Page
) -> None:
    """The demo control kills the POP in use; the player switches to the next POP and plays on."""
    portal, video = stack
    page.on("dialog", lambda dialog: dialog.accept(TOKEN))
    sign_in_and_play(page, portal.player(f"video={video}&pop=fra"))
    wait_for(lambda: current_time(page) > 1, 20, "playback to start")
    try:
        page.locator('[data-name="edge-fra"] button[data-action="kill"]').click()
        page.locator('[data-name="edge-fra"][data-status="stopped"]').wait_for(timeout=10_000)
        killed_at = current_time(page)
        wait_for(
            lambda: current_time(page) > killed_at + 8, 25, "playback to go on 8 s past the kill"
        )
        assert player_state(page)["fatal"] is None
        assert "edge fra failed" in page.locator("#log").inner_text()
        assert page.locator("#pop").input_value() == "iad"
        assert overlay(page)[-1]["pop"] == "iad"
    finally:
        restore = f"{portal.portal}/api/demo/processes/edge-fra/restore"
        httpx.post(
            restore, headers={"authorization": f"Bearer {TOKEN}"}, timeout=30,
            verify=portal.verify,
        )  # fmt: skip
    assert httpx.get(f"{portal.topology.edge_url('fra')}/healthz", timeout=5).status_code == 200
