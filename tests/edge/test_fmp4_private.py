"""Private stays private for CMAF: an fMP4 video's (and an fMP4 live channel's) manifest.mpd,
init segments and .m4s media need its credentials at the edge, as playlists and TS segments do."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.factories import running_topology
from tests.helpers import upload, wait_state
from tests.security.stack import cookie_header, security_doc, video_cookies

pytestmark = pytest.mark.e2e
MPD = "{urn:mpeg:dash:schema:mpd:2011}"


def test_an_fmp4_videos_mpd_init_and_segments_need_its_credentials(
    tmp_path: Path, clip: Path
) -> None:
    """With the video's signed cookies every DASH object is served (typed as DASH/fMP4);
    anonymous viewers and cookies for another video get 403 for each of them."""
    doc = security_doc()
    doc.pop("live_channels")
    doc["origin"] = {"segment_duration": 2.0, "container": "fmp4"}
    with running_topology(tmp_path, doc) as topo:
        origin, edge = topo.origin_url("us-east"), topo.edge_url("iad")
        video = upload(origin, clip)
        other = upload(origin, clip)
        assert wait_state(origin, video)["state"] == "ready"
        assert wait_state(origin, other)["state"] == "ready"
        mine = {"cookie": video_cookies(video)}
        mpd = httpx.get(f"{edge}/hls/{video}/manifest.mpd", headers=mine, timeout=10)
        assert mpd.status_code == 200, mpd.text
        assert mpd.headers["content-type"] == "application/dash+xml"
        paths = [f"/hls/{video}/manifest.mpd"]
        for template in ET.fromstring(mpd.content).iter(f"{MPD}SegmentTemplate"):
            paths.append(f"/hls/{video}/{template.get('initialization')}")
            first = template.get("media", "").replace("$Number%05d$", "00000")
            paths.append(f"/hls/{video}/{first}")
        assert len(paths) == 5  # the MPD, and init + first segment of video and of audio
        for path in paths:
            served = httpx.get(edge + path, headers=mine, timeout=10)
            assert served.status_code == 200, path
            anonymous = httpx.get(edge + path, timeout=10)
            assert anonymous.status_code == 403, path
            assert anonymous.content != served.content
            elsewhere = httpx.get(edge + path, headers={"cookie": video_cookies(other)}, timeout=10)
            assert elsewhere.status_code == 403, path


def test_an_fmp4_live_channels_mpd_init_and_segments_need_the_channels_credentials(
    tmp_path: Path,
) -> None:
    """The same for the classic live channel in fMP4: 403 anonymous, 200 with its cookies."""
    doc = security_doc()
    doc["live_channels"] = [{
        "name": "cmaf", "source": "testsrc", "segment_duration": 1, "window": 6,
        "heights": [90], "frame_rate": 10, "container": "fmp4",
    }]  # fmt: skip
    with running_topology(tmp_path, doc) as topo:
        edge = topo.edge_url("iad")
        mine = {"cookie": cookie_header("*://*/live/cmaf/*")}
        deadline = time.monotonic() + 30
        listed: list[str] = []
        while time.monotonic() < deadline and len(listed) < 2:
            media = httpx.get(f"{edge}/live/cmaf/90p/index.m3u8", headers=mine, timeout=5)
            if media.status_code == 200:
                listed = [line for line in media.text.splitlines() if line.endswith(".m4s")]
            time.sleep(0.3)
        assert listed, "the channel did not go on air"
        paths = [
            "/live/cmaf/manifest.mpd", "/live/cmaf/90p/init_90p.mp4",
            f"/live/cmaf/90p/{listed[0]}", "/live/cmaf/audio_2ch/init_audio_2ch.mp4",
        ]  # fmt: skip
        for path in paths:
            served = httpx.get(edge + path, headers=mine, timeout=10)
            assert served.status_code == 200, path
            anonymous = httpx.get(edge + path, timeout=10)
            assert anonymous.status_code == 403, path
