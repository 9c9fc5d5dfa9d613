"""Emulated HLS viewers: bounded asyncio players that record every request and every stall.

A real-time viewer keeps a few segments of buffer, drains it at wall-clock pace and stalls when
it runs dry; a stress viewer fetches as fast as it can. Failed requests are retried like a
player does (and moved to the next edge when there is one), but each failure is recorded: a
viewer-visible error is any response a player would have had to handle.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import m3u8

from streaming.hls import kind_of


@dataclass(slots=True)
class Sample:
    """One viewer request; `start` is seconds since the run began, status 0 a transport error."""

    start: float
    latency: float
    viewer: int
    kind: str
    path: str
    pop: str
    status: int
    nbytes: int
    cache: str
    origin_region: str
    error: str


@dataclass(slots=True)
class Stall:
    viewer: int
    start: float
    duration: float


@dataclass
class Audience:
    """Everything the viewers saw."""

    samples: list[Sample] = field(default_factory=list)
    stalls: list[Stall] = field(default_factory=list)
    skipped_segments: int = 0
    discontinuities: int = 0  # live: a media sequence that jumped or changed its name
    startup: list[float] = field(default_factory=list)

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.error]


class Pathways(Protocol):
    """Which edge a viewer uses; asked again after a failure on `failed` (an edge URL)."""

    async def choose(self, viewer: int, failed: str | None) -> tuple[str, str]: ...


class StaticPathways:
    """Fixed ordered (pop, url) list: viewer i starts at edge i mod n, moves on after errors."""

    def __init__(self, edges: Sequence[tuple[str, str]], spread: bool = True) -> None:
        self._edges, self._spread = list(edges), spread
        self._current: dict[int, int] = {}

    async def choose(self, viewer: int, failed: str | None) -> tuple[str, str]:
        index = self._current.setdefault(viewer, viewer % len(self._edges) if self._spread else 0)
        if failed is not None and self._edges[index][1] == failed:
            index = self._current[viewer] = (index + 1) % len(self._edges)
        return self._edges[index]


class SteeringPathways:
    """Asks the steering service for the nearest healthy edge of the viewer's region.

    The answer is kept for `ttl` seconds, like a DNS answer. After a failure the viewer asks at
    once and skips the edge that just failed, the way a player switches pathway while the
    steering service has not yet noticed the POP is down.
    """

    def __init__(
        self, steering_url: str, regions: Sequence[str], client: httpx.AsyncClient, ttl: float = 5.0
    ) -> None:
        self._url, self._regions, self._client, self._ttl = steering_url, list(regions), client, ttl
        self._current: dict[int, tuple[str, str]] = {}
        self._asked: dict[int, float] = {}

    async def choose(self, viewer: int, failed: str | None) -> tuple[str, str]:
        current = self._current.get(viewer)
        fresh = time.monotonic() - self._asked.get(viewer, 0.0) < self._ttl
        if current is not None and current[1] != failed and fresh:
            return current
        region = self._regions[viewer % len(self._regions)]
        try:
            response = await self._client.get(
                f"{self._url}/edges", params={"region": region}, timeout=1.0
            )
            edges = [(e["pop"], e["url"]) for e in response.json()["edges"]]
        except (httpx.HTTPError, ValueError, KeyError):
            edges = []
        usable = [e for e in edges if e[1] != failed] or edges or ([current] if current else [])
        if not usable:
            raise RuntimeError("the steering service returned no edge")
        self._current[viewer], self._asked[viewer] = usable[0], time.monotonic()
        return usable[0]


@dataclass(frozen=True, slots=True)
class Load:
    count: int
    duration: float
    mode: str = "realtime"
    content: str = "vod"
    ramp: float = 1.0
    max_requests: int = 50_000
    request_timeout: float = 6.0
    retries: int = 3
    buffer_segments: int = 3


class Player:
    """Runs `load.count` viewers of `master_path` until the duration or the request budget ends."""

    def __init__(
        self,
        load: Load,
        master_path: str,
        pathways: Pathways,
        references: dict[str, str] | None = None,
        headers: dict[str, dict[str, str]] | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.load, self.master_path, self.pathways = load, master_path, pathways
        self.verify = verify  # a demo over HTTPS: a context trusting its CA
        self.references = references or {}
        self.headers = headers or {}  # per edge base URL, e.g. signed cookies for private content
        self.audience = Audience()
        self._requests = 0
        self._t0 = 0.0
        self._t0_mono = 0.0
        self._deadline = 0.0

    @property
    def started_at(self) -> float:
        """Wall-clock time of `start == 0` in the samples."""
        return self._t0

    async def run(self, t0: tuple[float, float] | None = None) -> Audience:
        """Play to the end; `t0` = (wall, monotonic) of second 0, shared with the fault timeline."""
        self._t0, self._t0_mono = t0 or (time.time(), time.monotonic())
        self._deadline = self._t0_mono + self.load.duration
        limits = httpx.Limits(
            max_connections=self.load.count * 2, max_keepalive_connections=self.load.count * 2
        )
        timeout = httpx.Timeout(
            self.load.request_timeout, connect=min(2.0, self.load.request_timeout)
        )
        async with httpx.AsyncClient(limits=limits, timeout=timeout, verify=self.verify) as client:
            viewers = [asyncio.create_task(self._viewer(client, i)) for i in range(self.load.count)]
            await asyncio.gather(*viewers)
        return self.audience

    def remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def since_start(self, monotonic: float) -> float:
        return monotonic - self._t0_mono

    def _running(self) -> bool:
        return time.monotonic() < self._deadline and self._requests < self.load.max_requests

    async def _get(self, client: httpx.AsyncClient, viewer: int, path: str) -> bytes | None:
        """GET with the player's retries; returns the body, or None once the retries are spent."""
        failed: str | None = None
        for attempt in range(self.load.retries + 1):
            if not self._running():
                return None
            try:
                pop, base = await self.pathways.choose(viewer, failed)
            except RuntimeError as exc:  # no edge at all: a player with nowhere to go
                self._record(
                    viewer,
                    path,
                    "",
                    self.since_start(time.monotonic()),
                    0.0,
                    0,
                    b"",
                    str(exc),
                    httpx.Headers(),
                )
                await asyncio.sleep(min(1.0, 0.1 * 2**attempt))
                continue
            self._requests += 1
            body, failed = await self._fetch(client, viewer, pop, base, path), base
            if body is not None:
                return body
            await asyncio.sleep(min(1.0, 0.1 * 2**attempt))
        return None

    async def _fetch(
        self, client: httpx.AsyncClient, viewer: int, pop: str, base: str, path: str
    ) -> bytes | None:
        started = time.monotonic()
        start = self.since_start(started)
        status, body, error, headers = 0, b"", "", httpx.Headers()
        try:
            response = await client.get(base + path, headers=self.headers.get(base))
            status, body, headers = response.status_code, response.content, response.headers
            if status >= 400:
                error = f"HTTP {status}"
            elif (want := self.references.get(path)) and hashlib.sha256(body).hexdigest() != want:
                error = "corrupt body"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        self._record(
            viewer, path, pop, start, time.monotonic() - started, status, body, error, headers
        )
        return None if error else body

    def _record(
        self,
        viewer: int,
        path: str,
        pop: str,
        start: float,
        latency: float,
        status: int,
        body: bytes,
        error: str,
        headers: httpx.Headers,
    ) -> None:
        cache = headers.get("x-cache", "").split(" ", 1)[0]
        self.audience.samples.append(
            Sample(
                start,
                latency,
                viewer,
                kind_of(path).value,
                path,
                headers.get("x-edge-location", pop),
                status,
                len(body),
                cache,
                headers.get("x-origin-region", ""),
                error,
            )
        )

    async def _viewer(self, client: httpx.AsyncClient, viewer: int) -> None:
        await asyncio.sleep(self.load.ramp * viewer / max(1, self.load.count))
        joined = time.monotonic()
        while self._running():
            master = await self._get(client, viewer, self.master_path)
            if master is None:
                continue
            variants = m3u8.loads(master.decode()).playlists
            media_path = (
                _join(self.master_path, variants[viewer % len(variants)].uri)
                if variants
                else self.master_path
            )
            buffer = _Buffer(self, viewer)
            if self.load.content == "live":
                await self._play_live(client, viewer, media_path, buffer, joined)
            else:
                await self._play_vod(client, viewer, media_path, buffer, joined)
            buffer.stop()

    async def _play_vod(
        self,
        client: httpx.AsyncClient,
        viewer: int,
        media_path: str,
        buffer: _Buffer,
        joined: float,
    ) -> None:
        """Play the VOD presentation from the start, and again from the top when it ends."""
        while self._running():
            text = await self._get(client, viewer, media_path)
            if text is None:
                return
            playlist = m3u8.loads(text.decode())
            if playlist.segment_map:
                await self._get(client, viewer, _join(media_path, playlist.segment_map[0].uri))
            for segment in playlist.segments:
                await buffer.room(self.load.buffer_segments * (playlist.target_duration or 2))
                if not self._running():
                    return
                if await self._get(client, viewer, _join(media_path, segment.uri)) is None:
                    self.audience.skipped_segments += self._running()
                    continue
                if buffer.add(segment.duration or 0.0) and joined:
                    self.audience.startup.append(time.monotonic() - joined)
                    joined = 0.0

    async def _play_live(
        self,
        client: httpx.AsyncClient,
        viewer: int,
        media_path: str,
        buffer: _Buffer,
        joined: float,
    ) -> None:
        """Follow a live playlist: reload every target duration, fetch each sequence number once."""
        next_seq: int | None = None
        names: dict[int, str] = {}
        while self._running():
            text = await self._get(client, viewer, media_path)
            if text is None:
                return
            playlist = m3u8.loads(text.decode())
            first = playlist.media_sequence or 0
            segments = list(enumerate(playlist.segments, start=first))
            if next_seq is None:
                next_seq = max(
                    first, first + len(segments) - 3
                )  # join 3 segments from the live end
            elif segments and segments[0][0] > next_seq:
                self.audience.discontinuities += 1
                next_seq = segments[0][0]
            for seq, segment in segments:
                if names.setdefault(seq, segment.uri) != segment.uri:
                    self.audience.discontinuities += 1  # two origins disagree on a segment's name
                if seq < next_seq:
                    continue
                if segment.gap_tag:  # EXT-X-GAP: a player never loads it; the viewer misses it
                    self.audience.skipped_segments += 1
                    next_seq = seq + 1
                    continue
                await buffer.room(self.load.buffer_segments * (playlist.target_duration or 2))
                if await self._get(client, viewer, _join(media_path, segment.uri)) is None:
                    self.audience.skipped_segments += self._running()
                elif buffer.add(segment.duration or 0.0) and joined:
                    self.audience.startup.append(time.monotonic() - joined)
                    joined = 0.0
                next_seq = seq + 1
            await asyncio.sleep(min((playlist.target_duration or 2) / 2, self.remaining()))


class _Buffer:
    """The player's forward buffer in seconds; records a stall whenever it runs dry in play."""

    def __init__(self, player: Player, viewer: int) -> None:
        self._player, self._viewer = player, viewer
        self._level, self._at, self._playing = 0.0, time.monotonic(), False
        self._stalled_since: float | None = None

    def _drain(self) -> None:
        now = time.monotonic()
        if self._playing and self._stalled_since is None:
            self._level -= now - self._at
            if self._level < 0:
                self._stalled_since, self._level = now + self._level, 0.0
        self._at = now

    def add(self, seconds: float) -> bool:
        """A segment arrived; returns True on the first one (playback starts)."""
        self._drain()
        first = not self._playing
        self._playing = True
        if self._stalled_since is not None:
            self._close_stall()
        self._level += seconds
        return first

    async def room(self, target: float) -> None:
        """Real-time viewers wait until the buffer has room; stress viewers never wait."""
        if self._player.load.mode != "realtime":
            return
        self._drain()
        if self._level > target:
            await asyncio.sleep(min(self._level - target, self._player.remaining()))
            self._drain()

    def stop(self) -> None:
        self._drain()
        if self._stalled_since is not None:
            self._close_stall()

    def _close_stall(self) -> None:
        assert self._stalled_since is not None
        start, duration = (
            self._player.since_start(self._stalled_since),
            time.monotonic() - self._stalled_since,
        )
        self._player.audience.stalls.append(Stall(self._viewer, start, duration))
        self._stalled_since = None


def _join(base_path: str, uri: str) -> str:
    if uri.startswith("/"):
        return uri
    return f"{base_path.rsplit('/', 1)[0]}/{uri}"
