"""One emulated HLS viewer: master → rendition → media playlist (reloaded when live) → segments;
an LL-HLS playlist is followed part by part with blocking reloads (loadtest.ll_player).

In real time the viewer keeps `buffer_goal` seconds ahead of a simulated playhead, as hls.js
does, so startup time and rebuffering can be estimated; in stress mode it fetches as fast as it
can. A viewer plays the presentation again from the master until the run's budget is spent.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import m3u8

from loadtest.abr import Abr
from loadtest.client import Client, Fetch
from loadtest.ll_player import LowLatencyPlayer, Part, is_low_latency
from loadtest.stats import Recorder
from streaming.hls import kind_of

LIVE_EDGE_SEGMENTS = 3  # hls.js liveSyncDurationCount: start this many segments behind the edge


@dataclass(frozen=True, slots=True)
class Target:
    """A master playlist URL on one edge and the headers (cookies) a viewer sends there."""

    url: str
    headers: dict[str, str]

    @property
    def edge(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class Pace:
    """How a viewer spends its time: `realtime` (player pace) or `stress` (back to back)."""

    realtime: bool
    buffer_goal: float = 30.0
    retry_delay: float = 1.0


# uvloop's (libuv's) timers have millisecond granularity and may wake a sleep up to a
# millisecond before its deadline; without this slack a viewer sleeping until the end of the run
# would wake "before" it and start one more session.
TIMER_SLACK = 0.002


class Budget:
    """The run's bounds: a deadline and a request count shared by a process's viewers."""

    def __init__(self, deadline: float, max_requests: int | None) -> None:
        self.deadline, self.remaining = deadline, max_requests

    def take(self) -> bool:
        """Spend one request; False once the deadline passed or the count is used up."""
        if time.monotonic() >= self.deadline - TIMER_SLACK:
            return False
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True

    def left(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def open(self) -> bool:
        return time.monotonic() < self.deadline - TIMER_SLACK and (
            self.remaining is None or self.remaining > 0
        )


class Playback:
    """A playhead over downloaded media seconds: counts startup time and stalls."""

    def __init__(self, opened: float) -> None:
        self.opened = opened
        self.startup: float | None = None
        self.position = 0.0
        self.buffered = 0.0
        self.clock = opened
        self.stalled_since: float | None = None
        self.stalls = 0
        self.stall_time = 0.0

    def advance(self, now: float) -> None:
        if self.startup is None or self.stalled_since is not None:
            return
        if self.position + (now - self.clock) >= self.buffered:
            self.stalled_since = self.clock + (self.buffered - self.position)
            self.position = self.buffered
            self.stalls += 1
        else:
            self.position += now - self.clock
        self.clock = now

    def add(self, seconds: float, now: float) -> None:
        """A segment of `seconds` arrived at `now`: playback starts or resumes."""
        self.advance(now)
        self.buffered += seconds
        if self.startup is None:
            self.startup, self.clock = now - self.opened, now
        elif self.stalled_since is not None:
            self.stall_time += now - self.stalled_since
            self.stalled_since, self.clock = None, now

    def ahead(self, now: float) -> float:
        self.advance(now)
        return self.buffered - self.position

    def close(self, now: float, ended: bool) -> None:
        """End the session; a stall still open is counted unless the media simply ended."""
        self.advance(now)
        if self.stalled_since is not None:
            if ended:
                self.stalls -= 1  # running out at the end of a VOD is not a rebuffer
            else:
                self.stall_time += now - self.stalled_since


@dataclass(slots=True)
class Segment:
    url: str
    duration: float
    sequence: int


def _segments(playlist: m3u8.M3U8, url: str) -> list[Segment]:
    first = playlist.media_sequence or 0
    return [
        Segment(urljoin(url, s.uri), float(s.duration or 0), first + i)
        for i, s in enumerate(playlist.segments)
    ]


class Viewer:
    """Plays the presentation at `target` until the budget is spent."""

    def __init__(
        self, client: Client, target: Target, pace: Pace, rendition: str | int, budget: Budget,
        recorder: Recorder,
    ) -> None:  # fmt: skip
        self.client, self.target, self.pace, self.rendition = client, target, pace, rendition
        self.budget, self.recorder = budget, recorder

    async def run(self) -> None:
        while self.budget.open:
            if not await self.session():
                await asyncio.sleep(min(self.pace.retry_delay, max(0.0, self.budget.left())))

    async def _get(self, url: str, keep_body: bool, kind: str = "") -> Fetch | None:
        if not self.budget.take():
            return None
        fetch = await self.client.get(url, self.target.headers, keep_body)
        kind = kind or kind_of(urlsplit(url).path).value
        self.recorder.request(kind, self.target.edge, urlsplit(url).path, fetch)
        return fetch

    async def _playlist(self, url: str) -> m3u8.M3U8 | None:
        fetch = await self._get(url, keep_body=True)
        if fetch is None or not fetch.ok:
            return None
        return m3u8.loads(fetch.body.decode("utf-8", "replace"), uri=url)

    async def session(self) -> bool:
        """One playback from the master; False when it could not start (an error to back off)."""
        playback = Playback(time.monotonic())
        master = await self._playlist(self.target.url)
        if master is None:
            return False
        if master.is_variant:
            variants = sorted(master.playlists, key=lambda v: v.stream_info.bandwidth or 0)
            urls = [urljoin(self.target.url, v.uri) for v in variants]
            abr = Abr(tuple(v.stream_info.bandwidth or 0 for v in variants), self.rendition)
        else:
            urls, abr = [self.target.url], Abr((0,), "lowest")
        rung = abr.initial()
        ended = await self._play(urls, rung, abr, playback)
        playback.close(time.monotonic(), ended)
        self.recorder.session(
            playback.startup, playback.stalls, playback.stall_time, playback.position
        )
        return playback.startup is not None

    async def _play(self, urls: list[str], rung: int, abr: Abr, playback: Playback) -> bool:
        """Fetch segments in order, reloading live playlists; True when the media ended."""
        media = await self._playlist(urls[rung])
        if media is None:
            return False
        live = not media.is_endlist
        if live and is_low_latency(media):
            await self._play_low_latency(urls[rung], media, playback)
            return False
        segments = _segments(media, urls[rung])
        target = float(media.target_duration or 2)
        next_seq = (
            segments[max(0, len(segments) - LIVE_EDGE_SEGMENTS)].sequence
            if live and segments
            else (segments[0].sequence if segments else 0)
        )
        reloaded = time.monotonic()
        while self.budget.open:
            pending = [s for s in segments if s.sequence >= next_seq]
            if pending:
                segment = pending[0]
                if self.pace.realtime:
                    wait = playback.ahead(time.monotonic()) - self.pace.buffer_goal
                    if wait > 0:
                        await asyncio.sleep(min(wait, max(0.0, self.budget.left())))
                        continue
                fetch = await self._get(segment.url, keep_body=False)
                if fetch is None:
                    return False
                if fetch.ok:
                    playback.add(segment.duration, time.monotonic())
                    abr.sample(fetch.size, fetch.elapsed)
                    next_seq = segment.sequence + 1
                    choice = abr.choose()
                    if (
                        choice != rung
                        and (switched := await self._playlist(urls[choice])) is not None
                    ):
                        rung, segments = choice, _segments(switched, urls[choice])
                        self.recorder.switches += 1
                elif not live:
                    next_seq = (
                        segment.sequence + 1
                    )  # a player skips a failed VOD segment after retries
                continue
            if not live:
                if self.pace.realtime:  # watch the rest of the buffer before leaving
                    await asyncio.sleep(
                        min(playback.ahead(time.monotonic()), max(0.0, self.budget.left()))
                    )
                return True
            # Live: reload at the target duration, as players do (RFC 8216 6.3.4).
            await asyncio.sleep(
                max(0.0, min(reloaded + target - time.monotonic(), self.budget.left()))
            )
            reloaded = time.monotonic()
            fresh = await self._playlist(urls[rung])
            if fresh is not None:
                segments = _segments(fresh, urls[rung])
                live = not fresh.is_endlist
        return False

    async def _play_low_latency(self, url: str, media: m3u8.M3U8, playback: Playback) -> None:
        """LL-HLS: blocking reloads and parts (loadtest.ll_player), on one rendition."""

        def on_part(part: Part, arrived: float) -> None:
            playback.add(part.duration, time.monotonic())
            if part.start is not None:
                self.recorder.live_latency.append(arrived - part.start)

        player = LowLatencyPlayer(self._get, lambda: self.budget.open, on_part)
        await player.play(url, media)
