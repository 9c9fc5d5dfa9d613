"""The live channel in real Chromium: plays through an edge with signed cookies, keeps advancing,
also while the origin it plays from loses its packager and then its whole process."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import m3u8
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import wait_for
from tests.browser.pages import current_time, overlay, player_state, sign_in_and_play
from tests.browser.stack import Stack, portal_stack
from tests.helpers import AUTH

pytestmark = pytest.mark.e2e
CHANNEL = {"name": "news", "heights": [180], "frame_rate": 10, "segment_duration": 2}


def published(origin: str, segments: int = 3) -> bool:
    """True once the origin's live playlist lists `segments` segments (the channel is warm)."""
    try:
        master = m3u8.loads(httpx.get(f"{origin}/live/news/master.m3u8", timeout=2).text)
        if not master.playlists:
            return False
        media = httpx.get(f"{origin}/live/news/{master.playlists[0].uri}", timeout=2)
    except httpx.HTTPError:
        return False
    return media.status_code == 200 and len(m3u8.loads(media.text).segments) >= segments


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, browser_ca: Path) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("live")
    with portal_stack(tmp, browser_ca, live_channels=[CHANNEL]) as stack:
        for origin in stack.topology.dist.origins:
            url = origin.url
            wait_for(lambda: published(url), 40, f"the channel on origin {origin.region}")  # noqa: B023
        yield stack


def test_live_channel_plays_and_keeps_advancing(stack: Stack, page: Page) -> None:
    """?live=<channel> plays through the edge; playback and playlist reloads keep going."""
    sign_in_and_play(page, stack.player("live=news&pop=fra"))
    start = float(wait_for(lambda: current_time(page), 20, "live playback to start"))  # type: ignore[arg-type]
    reloads = sum(row["kind"] == "playlist" for row in overlay(page))
    wait_for(lambda: current_time(page) > start + 6, 20, "live playback to advance 6 s")
    assert player_state(page)["fatal"] is None and player_state(page)["denied"] is False
    rows = overlay(page)
    assert sum(row["kind"] == "playlist" for row in rows) > reloads  # the live playlist is re-read
    assert {row["pop"] for row in rows} == {"fra"}
    assert all(row["cache"] in ("Hit", "Miss", "RefreshHit") for row in rows)


def channel_status(origin: str) -> dict[str, object]:
    try:
        return dict(httpx.get(f"{origin}/live", headers=AUTH, timeout=2).json()["channels"][0])
    except (httpx.HTTPError, ValueError):
        return {}


def test_live_playback_continues_through_a_packager_kill_and_an_origin_restart(
    stack: Stack, page: Page
) -> None:
    """fra plays from eu-west. SIGKILL its ffmpeg: the player goes on over the discontinuity;
    SIGKILL the eu-west process and restart it: the edge serves us-east meanwhile, then eu-west
    again, whose discontinuities are counted differently, and hls.js never stops with a fatal
    error."""
    west = stack.topology.origin_url("eu-west")
    sign_in_and_play(page, stack.player("live=news&pop=fra"))
    start = float(wait_for(lambda: current_time(page), 20, "live playback to start"))  # type: ignore[arg-type]
    os.kill(int(channel_status(west)["pid"]), signal.SIGKILL)  # type: ignore[call-overload]
    wait_for(lambda: channel_status(west).get("restarts") == 1, 10, "the packager restart")
    wait_for(lambda: current_time(page) > start + 8, 25, "playback past the packager restart")

    child = stack.topology.child("origin-eu-west")
    os.killpg(child.pid, signal.SIGKILL)
    assert child.process is not None
    child.process.wait()
    resumed, rows = current_time(page), len(overlay(page))
    fresh = stack.topology.supervisor.start(child.name, child.argv, child.health_url)
    stack.topology.supervisor.wait_healthy(fresh)
    wait_for(lambda: channel_status(west).get("on_air"), 20, "eu-west on air again")
    wait_for(lambda: current_time(page) > resumed + 8, 25, "playback past the origin restart")
    assert player_state(page)["fatal"] is None, player_state(page)
    later = overlay(page)[rows:]
    assert any(r["kind"] == "playlist" and r["origin"] == "eu-west" for r in later), later[-5:]
