"""One emulated viewer: the playhead model, and live playback against a sliding-window server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from loadtest.client import Client
from loadtest.player import LIVE_EDGE_SEGMENTS, Budget, Pace, Playback, Target, Viewer
from loadtest.stats import Recorder


def test_playback_starts_with_the_first_segment() -> None:
    """Startup time is the time from opening to the first downloaded segment."""
    p = Playback(opened=100.0)
    p.add(4.0, now=100.3)
    assert p.startup == pytest.approx(0.3) and p.stalls == 0
    assert p.ahead(101.3) == pytest.approx(3.0)


def test_running_dry_is_a_stall_until_the_next_segment() -> None:
    """The playhead stops at the buffered end; the gap until new media counts as rebuffering."""
    p = Playback(opened=0.0)
    p.add(2.0, now=0.0)
    p.add(2.0, now=5.0)  # ran dry at t=2, resumed at t=5
    assert p.stalls == 1 and p.stall_time == pytest.approx(3.0)
    assert p.ahead(5.5) == pytest.approx(1.5)


def test_media_ending_is_not_a_stall_but_an_open_stall_at_the_deadline_is() -> None:
    """Running out at the end of a VOD is the end; running out when the run stops is a stall."""
    ended = Playback(opened=0.0)
    ended.add(2.0, now=0.0)
    ended.close(now=10.0, ended=True)
    assert ended.stalls == 0 and ended.stall_time == 0
    cut = Playback(opened=0.0)
    cut.add(2.0, now=0.0)
    cut.close(now=3.0, ended=False)
    assert cut.stalls == 1 and cut.stall_time == pytest.approx(1.0)


def test_budget_stops_at_the_request_count_and_the_deadline() -> None:
    """take() spends requests until none are left or the deadline has passed."""
    budget = Budget(time.monotonic() + 60, max_requests=2)
    assert budget.take() and budget.take() and not budget.take() and not budget.open
    assert not Budget(time.monotonic() - 1, None).take()


class LiveChannel:
    """A sliding-window live playlist: segment n (1 s) exists from start + n seconds."""

    def __init__(self, window: int = 6) -> None:
        self.start = time.monotonic() - 10  # ten segments already exist
        self.window = window
        self.requests: list[tuple[float, str]] = []
        self.newest_listed: list[int] = []  # per playlist answer

    def newest(self) -> int:
        return int(time.monotonic() - self.start) - 1

    async def master(self, request: web.Request) -> web.Response:
        self.requests.append((time.monotonic(), request.path))
        body = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow.m3u8\n"
        return web.Response(text=body, content_type="application/vnd.apple.mpegurl")

    async def playlist(self, request: web.Request) -> web.Response:
        self.requests.append((time.monotonic(), request.path))
        newest = self.newest()
        self.newest_listed.append(newest)
        first = max(0, newest - self.window + 1)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            "#EXT-X-TARGETDURATION:1",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
        ]
        for n in range(first, newest + 1):
            lines += ["#EXTINF:1.0,", f"seg{n}.ts"]
        return web.Response(
            text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl"
        )

    async def segment(self, request: web.Request) -> web.Response:
        self.requests.append((time.monotonic(), request.path))
        n = int(request.match_info["n"])
        if n > self.newest():
            raise web.HTTPNotFound()
        return web.Response(body=b"\0" * 1000, headers={"X-Cache": "Hit from test"})


@pytest.fixture
async def live() -> AsyncIterator[tuple[LiveChannel, str]]:
    channel = LiveChannel()
    app = web.Application()
    app.router.add_get("/live/master.m3u8", channel.master)
    app.router.add_get("/live/low.m3u8", channel.playlist)
    app.router.add_get("/live/seg{n:\\d+}.ts", channel.segment)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield channel, f"http://127.0.0.1:{port}/live/master.m3u8"
    finally:
        await runner.cleanup()


@pytest.mark.anyio
async def test_live_viewer_starts_behind_the_edge_and_reloads_at_the_target_duration(
    live: tuple[LiveChannel, str],
) -> None:
    """Starts 3 segments behind the live edge, reloads about once per target duration, then
    fetches each new segment once, in order, without stalling."""
    channel, url = live
    recorder = Recorder(time.monotonic())
    budget = Budget(time.monotonic() + 3.5, None)
    async with Client(connections=2, timeout=5) as client:
        viewer = Viewer(
            client, Target(url, {}), Pace(realtime=True, buffer_goal=30), "abr", budget, recorder
        )
        await asyncio.wait_for(viewer.run(), timeout=10)
    newest_at_start = channel.newest_listed[0]  # 9 unless the viewer started late (load)
    segments = [
        int(p[len("/live/seg") : -3]) for _, p in channel.requests if p.startswith("/live/seg")
    ]
    assert segments[0] == newest_at_start - LIVE_EDGE_SEGMENTS + 1
    assert segments == sorted(set(segments)) and len(segments) >= 5
    reloads = [t for t, p in channel.requests if p == "/live/low.m3u8"]
    assert 3 <= len(reloads) <= 5  # the first load plus one per second of a 3.5 s run
    gaps = [b - a for a, b in zip(reloads[1:], reloads[2:], strict=False)]
    assert all(0.9 < gap < 2.0 for gap in gaps), gaps  # one target duration (+ slack for load)
    assert recorder.sessions == 1 and recorder.stalls == 0 and recorder.startup[0] < 0.5
    assert recorder.x_cache["Hit"] == len(segments)
