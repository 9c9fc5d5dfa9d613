"""The live channel in real Chromium: plays through an edge with signed cookies, keeps advancing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import m3u8
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import wait_for
from tests.browser.pages import current_time, overlay, player_state, sign_in_and_play
from tests.browser.stack import Stack, portal_stack

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
