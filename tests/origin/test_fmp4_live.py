"""Two origins running one fMP4 live channel (real processes): after a packager restart the
numbers this origin missed are the peer's CMAF segments, byte for byte, and the MPDs agree."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import m3u8

from tests.factories import distribution_doc
from tests.helpers import AUTH, wait_until
from tests.origin.conftest import origin_processes

# A window far longer than a restart under load takes: a slow restart would slide the old run and
# the copies out, leaving nothing to compare.
CHANNEL = {"name": "cmaf", "segment_duration": 1, "window": 30, "heights": [90],
           "frame_rate": 10, "container": "fmp4"}  # fmt: skip


def status(origin: str) -> dict[str, Any]:
    try:
        return dict(httpx.get(f"{origin}/live", headers=AUTH, timeout=2).json()["channels"][0])
    except (httpx.HTTPError, KeyError, IndexError):
        return {}


def playlist(origin: str, rendition: str) -> m3u8.M3U8 | None:
    try:
        response = httpx.get(f"{origin}/live/cmaf/{rendition}/index.m3u8", timeout=2)
    except httpx.HTTPError:
        return None
    return m3u8.loads(response.text) if response.status_code == 200 else None


def _marks(listed: m3u8.M3U8 | None) -> list[int]:
    """Indexes of the segments that start a new run (`#EXT-X-DISCONTINUITY`)."""
    return [i for i, s in enumerate(listed.segments) if s.discontinuity] if listed else []


def test_a_restarted_packager_fills_its_hole_with_the_peers_m4s_and_both_mpds_agree(
    tmp_path: Path,
) -> None:
    doc = distribution_doc(regions=("us-east", "eu-west"), live_channels=[CHANNEL])
    with origin_processes(tmp_path, doc):
        east, west = doc["origins"][0]["url"], doc["origins"][1]["url"]
        for origin in (east, west):
            wait_until(lambda o=origin: status(o).get("on_air"), 30, f"{origin} on air")
        mpds = [httpx.get(f"{o}/live/cmaf/manifest.mpd", timeout=2) for o in (east, west)]
        assert all(m.status_code == 200 for m in mpds)
        assert mpds[0].headers["content-type"] == "application/dash+xml"
        assert mpds[0].content == mpds[1].content
        os.kill(int(status(east)["pid"]), signal.SIGKILL)
        wait_until(lambda: int(status(east).get("filled_from_peers", 0)) >= 2, 20, "copies")
        for rendition in ("90p", "audio_2ch"):
            # Own run | the peer's copies (a run of their own) | the new own run. The copies
            # can be counted before the new run lists its first segment: wait for that too.
            wait_until(lambda r=rendition: len(_marks(playlist(east, r))) >= 2, 20, "the new run")
            listed = playlist(east, rendition)
            assert listed is not None and listed.segment_map[0].uri == f"init_{rendition}.mp4"
            marks = _marks(listed)
            assert len(marks) >= 2, listed.dumps()
            copies = [s.uri for s in listed.segments[marks[0] : marks[-1]] if not s.gap_tag]
            assert copies, listed.dumps()
            for uri in copies:
                a = httpx.get(f"{east}/live/cmaf/{rendition}/{uri}", timeout=2)
                b = httpx.get(f"{west}/live/cmaf/{rendition}/{uri}", timeout=2)
                assert a.status_code == b.status_code == 200, uri
                assert a.headers["content-type"] == "video/iso.segment"
                assert a.content == b.content, uri
