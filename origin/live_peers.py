"""Copies of live segments from the other regions' origins, for the numbers a restart missed.

Every origin names segment N alike, so a peer's `N.ts` fills this origin's hole at N. Peers are
asked in configured order with the admin token (as replication does), each through its own live
playlist: only numbers it lists, and not as gaps, are fetched. A peer that is down, slow or off
air is skipped; whatever no peer has stays a gap.
"""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import httpx

from media.commands import PLAYLIST_NAME
from media.live import PeerSegment
from media.live_window import parse
from streaming.config import Origin, Secret

log = logging.getLogger("origin.live_peers")

TIMEOUT = httpx.Timeout(2.0, connect=0.5)


class LivePeers:
    """`media.live.Peers` over HTTP: the peer origins' /live routes."""

    def __init__(self, peers: tuple[Origin, ...], token: Secret, client: httpx.AsyncClient) -> None:
        self.peers, self._token, self._client = peers, token, client

    async def fetch(self, channel: str, rung: str, numbers: range, dest: Path) -> list[PeerSegment]:
        """Copies of `numbers` from the first peer that lists each, downloaded into `dest`."""
        wanted, found = set(numbers), []
        for peer in self.peers:
            if not wanted:
                break
            try:
                copies = await self._from(peer, channel, rung, wanted, dest)
            except (httpx.HTTPError, OSError, ValueError) as exc:
                log.warning("live %s/%s: peer %s cannot fill (%s)", channel, rung, peer.id, exc)
                continue
            found += copies
            wanted -= {copy.number for copy in copies}
        return sorted(found, key=lambda copy: copy.number)

    async def _from(
        self, peer: Origin, channel: str, rung: str, wanted: set[int], dest: Path
    ) -> list[PeerSegment]:
        auth = {"authorization": f"Bearer {self._token.reveal()}"}
        base = f"{peer.url}/live/{channel}/{rung}"
        response = await self._client.get(f"{base}/{PLAYLIST_NAME}", headers=auth, timeout=TIMEOUT)
        if response.status_code != 200:
            return []  # off air there too (503 while warming up)
        # Runs named after the peer and its discontinuity numbers: copies of one peer run are
        # one stream, and never the same run as this origin's own.
        window = parse(response.text, f"{peer.id}:")
        # fMP4 (CMAF) channels list N.m4s after their EXT-X-MAP; the copies are on the wall clock.
        suffix = ".m4s" if "#EXT-X-MAP:" in response.text else ".ts"
        copies = []
        for segment in window.segments:
            if segment.gap or segment.number not in wanted:
                continue
            body = await self._client.get(
                f"{base}/{segment.number}{suffix}", headers=auth, timeout=TIMEOUT
            )
            if body.status_code != 200:
                continue
            file = dest / f"{segment.number}{suffix}"
            await anyio.Path(file).write_bytes(body.content)
            copies.append(PeerSegment(segment.number, segment.duration, segment.run, file))
        return copies
