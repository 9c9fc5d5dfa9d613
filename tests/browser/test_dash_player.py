"""The DASH page in real Chromium: Shaka Player plays an fMP4 video's manifest.mpd (and the fMP4
live channel's) through an edge over HTTPS with signed cookies, and hls.js plays the very same
segments from the master."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import wait_for
from tests.browser.pages import current_time, plays, sign_in_and_play, watch_responses
from tests.browser.stack import Stack, portal_stack
from tests.helpers import AUTH, wait_state

pytestmark = pytest.mark.e2e
# The classic live channel in fMP4: small and slow so two origins' encoders stay cheap.
CHANNEL = {"name": "cmaf", "heights": [180], "frame_rate": 10, "segment_duration": 2,
           "container": "fmp4"}  # fmt: skip
# The factory's behaviors plus config/demo.toml's private, briefly cached /drm/* for AES keys
# (portal_stack makes every behavior but the default `*` need signed cookies).
BEHAVIORS = [
    {"path_pattern": "/drm/*", "target": "all",
     "ttl": {"min_ttl": 5, "default_ttl": 30, "max_ttl": 60}},
    {"path_pattern": "/hls/*.m3u8", "target": "all",
     "ttl": {"min_ttl": 0, "default_ttl": 2, "max_ttl": 86400}},
    {"path_pattern": "/hls/*", "target": "all"},
    {"path_pattern": "*", "target": "all"},
]  # fmt: skip


def upload_fmp4(origin: str, clip: Path, query: str = "") -> str:
    with clip.open("rb") as fh:
        response = httpx.post(
            f"{origin}/videos?container=fmp4{query}", files={"file": (clip.name, fh)},
            headers=AUTH, timeout=30,
        )  # fmt: skip
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def encrypted(stack: tuple[Stack, str], long_clip: Path) -> str:
    """An fMP4 video with AES-128 (encrypted by the packager), ready in us-east."""
    origin = stack[0].topology.origin_url("us-east")
    video = upload_fmp4(origin, long_clip, "&encryption=aes-128")
    assert wait_state(origin, video)["state"] == "ready"
    return video


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, long_clip: Path, browser_ca: Path
) -> Iterator[tuple[Stack, str]]:
    """The private HTTPS topology with a 20 s fMP4 video ready in both regions and the fMP4
    live channel on air."""
    tmp = tmp_path_factory.mktemp("dash")
    with portal_stack(tmp, browser_ca, live_channels=[CHANNEL], behaviors=BEHAVIORS) as stack:
        topology = stack.topology
        video = upload_fmp4(topology.origin_url("us-east"), long_clip)
        assert wait_state(topology.origin_url("us-east"), video)["state"] == "ready"
        wait_state(topology.origin_url("eu-west"), video)
        wait_for(lambda: on_air(topology.origin_url("us-east")), 40, "the live channel")
        yield stack, video


def on_air(origin: str) -> bool:
    """The origin serves the channel's MPD and lists three segments (a player has a window)."""
    try:
        mpd = httpx.get(f"{origin}/live/cmaf/manifest.mpd", timeout=2)
        media = httpx.get(f"{origin}/live/cmaf/180p/index.m3u8", timeout=2)
    except httpx.HTTPError:
        return False
    return mpd.status_code == 200 and media.text.count("#EXTINF") >= 3


def dash_state(page: Page) -> dict[str, object]:
    return dict(page.evaluate("() => window.dashPlayer"))


def test_shaka_plays_the_vod_mpd_through_an_edge_from_the_fmp4_segments(
    stack: tuple[Stack, str], page: Page
) -> None:
    """After sign-in currentTime advances with no Shaka error; the MPD, init and .m4s segments
    all came from the edge over HTTP/2 (none from the origin, none as TS)."""
    portal, video = stack
    responses = watch_responses(page)
    sign_in_and_play(page, f"{portal.portal}/dash?video={video}&pop=iad")
    wait_for(lambda: current_time(page) > 0, 30, "DASH playback to start")
    start = current_time(page)
    wait_for(lambda: current_time(page) > start + 3, 20, "currentTime to advance 3 s")
    state = dash_state(page)
    assert state["fatal"] is None and state["errors"] == [] and state["loaded"] is True
    edge = portal.topology.dist.edge_by_pop("iad").viewer_url
    assert state["manifest"] == f"{edge}/hls/{video}/manifest.mpd"
    media = [r for r in responses if f"/hls/{video}/" in r["url"]]
    names = {r["url"].rsplit("/", 1)[-1].rsplit(".", 1)[-1] for r in media}
    assert {"mpd", "mp4", "m4s"} <= names and "ts" not in names and "m3u8" not in names
    assert {(r["url"].startswith(edge + "/hls/"), r["protocol"]) for r in media} == {(True, "h2")}


def test_shaka_plays_the_live_mpd_through_an_edge(stack: tuple[Stack, str], page: Page) -> None:
    """The dynamic MPD of the fMP4 live channel plays live (isLive), currentTime advances on the
    wall-clock timeline, no Shaka error; MPD, init and .m4s all came through the edge."""
    portal, _ = stack
    responses = watch_responses(page)
    sign_in_and_play(page, f"{portal.portal}/dash?live=cmaf&pop=iad")
    wait_for(lambda: current_time(page) > 0, 40, "live DASH playback to start")
    start = current_time(page)
    # Media time is wall-clock seconds (segment N starts at N*d): the playhead is near now.
    assert abs(start - time.time()) < 30
    wait_for(lambda: current_time(page) > start + 3, 30, "live currentTime to advance 3 s")
    state = dash_state(page)
    assert state["fatal"] is None and state["errors"] == [] and state["loaded"] is True
    assert "live" in (page.locator("#status").text_content() or "")
    edge = portal.topology.dist.edge_by_pop("iad").viewer_url
    assert state["manifest"] == f"{edge}/live/cmaf/manifest.mpd"
    media = [r for r in responses if "/live/cmaf/" in r["url"]]
    names = {r["url"].rsplit("/", 1)[-1].rsplit(".", 1)[-1] for r in media}
    assert {"mpd", "mp4", "m4s"} <= names and "ts" not in names
    assert all(r["url"].startswith(edge + "/live/") for r in media)


@pytest.mark.parametrize("query", ["video={video}", "live=cmaf"])
def test_hls_js_plays_the_same_fmp4_segments_from_the_master(
    stack: tuple[Stack, str], page: Page, query: str
) -> None:
    """The HLS player page on the fMP4 VOD and live channel: EXT-X-MAP init + .m4s, no TS."""
    portal, video = stack
    responses = watch_responses(page)
    plays(page, portal.player(f"{query.format(video=video)}&pop=iad"), "HLS playback")
    names = {r["url"].rsplit("/", 1)[-1].rsplit(".", 1)[-1] for r in responses}
    assert {"m3u8", "mp4", "m4s"} <= names and "ts" not in names


def test_hls_js_decrypts_aes_128_fmp4_segments_through_an_edge(
    stack: tuple[Stack, str], encrypted: str, page: Page
) -> None:
    """Whole-segment AES-128 on fMP4: hls.js fetches the key from the edge and plays."""
    portal, _ = stack
    responses = watch_responses(page)
    plays(page, portal.player(f"video={encrypted}&pop=iad"), "encrypted fMP4 playback")
    urls = [r["url"] for r in responses]
    assert any(u.endswith(f"/drm/{encrypted}/key") for u in urls)
    assert any(u.endswith(".m4s") for u in urls)
