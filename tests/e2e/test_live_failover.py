"""Live through an edge while the primary's packager and then its whole process are killed.

Two origins run the channel, the edge is pinned to us-east with the default failover statuses
(no 404). Watchers poll the playlist, through the edge and from us-east directly, and GET every
segment each lists, every cycle: a listed segment must never be missing, and the playlist through
the edge must keep advancing. After each restart us-east lists the previous segments, the numbers
it missed copied from eu-west, and a discontinuity.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest

from tests.factories import Topology, distribution_doc, running_topology
from tests.helpers import AUTH, wait_until

pytestmark = pytest.mark.e2e
CHANNEL = {"name": "news", "segment_duration": 1, "window": 6, "heights": [90], "frame_rate": 10}
PLAYLIST = "/live/news/90p/index.m3u8"


@dataclass
class Watcher:
    """Polls one playlist URL and GETs every segment it lists, in a thread, until stopped."""

    base: str
    headers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    playlist_statuses: dict[int, int] = field(default_factory=dict)
    discontinuities: set[str] = field(default_factory=set)  # origin regions that showed one
    longest_still: float = 0.0  # the longest time the newest listed number did not change
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        newest, since = None, time.monotonic()
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=3) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(PLAYLIST)
                except httpx.TransportError:
                    response = None  # the origin itself is down: nothing is listed
                if response is not None:
                    code = response.status_code
                    self.playlist_statuses[code] = self.playlist_statuses.get(code, 0) + 1
                if response is not None and response.status_code == 200:
                    playlist = m3u8.loads(response.text)
                    if any(s.discontinuity for s in playlist.segments):
                        self.discontinuities.add(response.headers.get("x-origin-region", "origin"))
                    listed = playlist.segments[-1].uri if playlist.segments else None
                    if listed != newest:
                        newest, since = listed, time.monotonic()
                    self._check(client, playlist, response.headers.get("x-origin-region", ""))
                self.longest_still = max(self.longest_still, time.monotonic() - since)
                self._stop.wait(0.3)

    def _check(self, client: httpx.Client, playlist: m3u8.M3U8, region: str) -> None:
        for segment in playlist.segments:
            if segment.gap_tag:
                continue
            try:
                status = client.get(f"/live/news/90p/{segment.uri}").status_code
            except httpx.TransportError:
                continue  # killed between the playlist and this request
            if status != 200:
                self.problems.append(f"{segment.uri} listed by {region or 'it'}: {status}")

    def stop(self) -> None:
        self._stop.set()


@contextmanager
def watching(*watchers: Watcher) -> Iterator[None]:
    threads = [threading.Thread(target=w.run, daemon=True) for w in watchers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for watcher in watchers:
            watcher.stop()
        for thread in threads:
            thread.join(10)


def status(origin: str) -> dict[str, Any]:
    """The channel's status on one origin (None while the process is down)."""
    try:
        channels = httpx.get(f"{origin}/live", headers=AUTH, timeout=2).json()["channels"]
    except httpx.HTTPError:
        return {}
    return dict(channels[0])


def listed(origin: str) -> m3u8.M3U8 | None:
    try:
        response = httpx.get(origin + PLAYLIST, headers=AUTH, timeout=2)
    except httpx.HTTPError:
        return None
    return m3u8.loads(response.text) if response.status_code == 200 else None


def warm(origin: str) -> bool:
    playlist = listed(origin)
    return playlist is not None and len(playlist.segments) >= 2


def resumed_with_copies(origin: str) -> bool:
    """On air again, with a discontinuity and segments copied from the peer for its hole."""
    playlist, state = listed(origin), status(origin)
    return (
        playlist is not None
        and bool(state.get("on_air"))
        and int(state.get("filled_from_peers", 0)) >= 1
        and any(s.discontinuity for s in playlist.segments)
    )


@pytest.fixture
def live_pair(tmp_path: Path) -> Iterator[Topology]:
    doc = distribution_doc(regions=("us-east", "eu-west"), live_channels=[CHANNEL])
    doc["origin_groups"][0]["order"] = "pinned"
    with running_topology(tmp_path, doc) as topology:
        for region in ("us-east", "eu-west"):
            wait_until(lambda r=region: warm(topology.origin_url(r)), 30, f"{region} on air")
        yield topology


def test_killed_packager_and_origin_keep_every_listed_segment_and_mark_discontinuities(
    live_pair: Topology,
) -> None:
    """SIGKILL us-east's ffmpeg, then its whole process group, and restart it on the same data:
    through the edge no playlist or listed segment is ever missing and the playlist keeps
    advancing; us-east itself never lists what it cannot serve, fills its holes from eu-west
    and shows the discontinuity of each restart."""
    us_east = live_pair.origin_url("us-east")
    edge = Watcher(live_pair.edge_url("iad"))
    direct = Watcher(us_east, dict(AUTH))
    with watching(edge, direct):
        time.sleep(1.0)
        packager = status(us_east)
        os.kill(int(packager["pid"]), signal.SIGKILL)
        wait_until(lambda: resumed_with_copies(us_east), 15, "us-east to resume after ffmpeg")
        assert status(us_east)["restarts"] == 1 and status(us_east)["pid"] != packager["pid"]
        time.sleep(1.0)

        child = live_pair.child("origin-us-east")
        os.killpg(child.pid, signal.SIGKILL)  # the origin and its ffmpeg
        child.process.wait()
        time.sleep(1.5)  # eu-west publishes what us-east misses
        fresh = live_pair.supervisor.start(child.name, child.argv, child.health_url)
        live_pair.supervisor.wait_healthy(fresh)
        wait_until(lambda: resumed_with_copies(us_east), 20, "the restarted us-east on air")
        time.sleep(3.0)  # a few more cycles on the restarted origin

    assert edge.problems == [] and direct.problems == []
    assert set(edge.playlist_statuses) == {200}, edge.playlist_statuses
    assert "us-east" in edge.discontinuities, "the edge served us-east's discontinuity"
    assert edge.longest_still < 3.0, "the playlist through the edge kept advancing"
    assert direct.playlist_statuses.get(404, 0) == 0, direct.playlist_statuses
