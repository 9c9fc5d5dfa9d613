"""An emulated Low-Latency HLS viewer (draft-pantos-hls-rfc8216bis §6.2.5), as hls.js's
lowLatencyMode plays: after one plain load of the media playlist it asks for the next part with
a blocking reload (`_HLS_msn=M&_HLS_part=P`, held by the origin until the part exists), fetches
the preload-hinted part at the same time (held too), then every listed part it does not have.

Latency to the live edge is measured per part: the wall clock when the part's last byte arrived
minus the EXT-X-PROGRAM-DATE-TIME of its first frame — the age of the newest media this viewer
holds, the least glass-to-glass a player with no buffer could show.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import m3u8

from loadtest.client import Fetch

PART_KIND, BLOCKING_KIND = "part", "blocking_playlist"

# get(url, keep_body, kind) → the fetch, None once the run's budget is spent.
Get = Callable[[str, bool, str], Awaitable[Fetch | None]]


def is_low_latency(media: m3u8.M3U8) -> bool:
    """A playlist with parts that the server lets clients block on."""
    control = media.server_control
    return (
        media.part_inf is not None
        and control is not None
        and (str(control.can_block_reload or "").upper() == "YES")
    )


@dataclass(frozen=True, slots=True)
class Part:
    url: str
    msn: int
    index: int
    duration: float
    start: float | None  # EXT-X-PROGRAM-DATE-TIME of its first frame (epoch seconds)


@dataclass(frozen=True, slots=True)
class Edge:
    """What one load of an LL playlist says: its parts, the hint, and what to block on next."""

    parts: tuple[Part, ...]
    hint: str | None
    next_msn: int
    next_part: int
    part_target: float


def edge_of(media: m3u8.M3U8, url: str) -> Edge:
    """The parts a playlist lists (newest last) and the (msn, part) of the next one."""
    parts: list[Part] = []
    start: float | None = None
    msn = media.media_sequence or 0
    next_msn, next_part = msn, 0
    for i, segment in enumerate(media.segments):
        msn = (media.media_sequence or 0) + i
        stamped = segment.program_date_time  # (m3u8 drops the tag of a segment in progress)
        if stamped is not None:
            start = stamped.timestamp()
        offset = 0.0
        for index, part in enumerate(segment.parts):
            at = start + offset if start is not None else None
            parts.append(Part(urljoin(url, part.uri), msn, index, float(part.duration), at))
            offset += float(part.duration)
        if segment.uri:  # a whole segment: the next part opens the next segment
            next_msn, next_part = msn + 1, 0
            if start is not None:
                start += float(segment.duration or 0)
        else:  # the segment in progress: its next part
            next_msn, next_part = msn, len(segment.parts)
    hint = media.preload_hint
    hint_url = urljoin(url, hint.uri) if hint is not None and hint.hint_type == "PART" else None
    target = float(media.part_inf.part_target) if media.part_inf is not None else 1.0
    return Edge(tuple(parts), hint_url, next_msn, next_part, target)


def blocking_url(url: str, msn: int, part: int) -> str:
    """The media playlist URL asking for part `part` of segment `msn` (its query replaced)."""
    base = url.split("?", 1)[0]
    return f"{base}?_HLS_msn={msn}&_HLS_part={part}"


class LowLatencyPlayer:
    """Follows one LL media playlist until the budget is spent, fetching every new part once.

    `on_part(part, arrived)` is told of each part once both its bytes (at wall clock `arrived`)
    and its place are known: a hinted part arrives before a playlist lists its start.
    """

    def __init__(
        self, get: Get, budget_open: Callable[[], bool], on_part: Callable[[Part, float], None]
    ) -> None:
        self.get, self.budget_open, self.on_part = get, budget_open, on_part
        self.have: set[str] = set()  # parts asked for
        self._unplaced: dict[str, float] = {}  # hinted part → when it arrived, until listed

    async def play(self, url: str, media: m3u8.M3U8) -> None:
        edge = edge_of(media, url)
        # Start near the live edge, as hls.js does (PART-HOLD-BACK is about three parts).
        await self._fetch_new(edge.parts[-3:])
        while self.budget_open():
            hint = edge.hint if edge.hint is not None and edge.hint not in self.have else None
            hinted = asyncio.ensure_future(self._hinted(hint)) if hint else None
            fetch = await self.get(blocking_url(url, edge.next_msn, edge.next_part), True,
                                   BLOCKING_KIND)  # fmt: skip
            if hinted is not None:
                await hinted
            if fetch is None:
                return
            if not fetch.ok:  # 503 after the origin's bounded hold, or an error: ask again soon
                await asyncio.sleep(edge.part_target)
                fetch = await self.get(url, True, BLOCKING_KIND)
                if fetch is None:
                    return
            if fetch.ok:
                edge = edge_of(m3u8.loads(fetch.body.decode("utf-8", "replace"), uri=url), url)
                await self._fetch_new(edge.parts)

    async def _hinted(self, url: str) -> None:
        """The preload-hinted part, asked for before it exists (the origin holds it)."""
        self.have.add(url)
        fetch = await self.get(url, False, PART_KIND)
        if fetch is not None and fetch.ok:
            self._unplaced[url] = time.time()

    async def _fetch_new(self, parts: tuple[Part, ...]) -> None:
        for part in parts:
            if (arrived := self._unplaced.pop(part.url, None)) is not None:
                self.on_part(part, arrived)
            if part.url in self.have:
                continue
            self.have.add(part.url)
            fetch = await self.get(part.url, False, PART_KIND)
            if fetch is None:
                return
            if fetch.ok:
                self.on_part(part, time.time())
