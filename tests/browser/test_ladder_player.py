"""hls.js in real Chromium plays a portrait 5.1 upload through an edge: stereo by default,
the 5.1 rendition when asked, both AES-128 encrypted.

The test page is served at the edge's own origin (Playwright answers that one URL), so every
playlist, segment and key request is a same-origin request to the real edge process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from media.samples import make_clip
from tests.browser.conftest import wait_for
from tests.factories import distribution_doc, running_topology
from tests.helpers import AUTH, wait_state

pytestmark = pytest.mark.e2e

HLS_JS = Path(__file__).resolve().parents[2] / "node_modules" / "hls.js" / "dist" / "hls.min.js"
PAGE = """<!doctype html><html><body><video id="v" muted playsinline></video>
<script>%s</script>
<script>
const video = document.getElementById('v');
const hls = new Hls({ maxBufferLength: 2 });
window.seen = { levels: [], tracks: [], audio: [], errors: [] };
hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => {
  seen.levels = d.levels.map((l) => [l.width, l.height, l.videoCodec]);
});
hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, (_, d) => {
  seen.tracks = d.audioTracks.map((t) => [t.name, t.channels, t.default]);
});
hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
  if (d.frag.type === 'audio') seen.audio.push(d.frag.url);
});
hls.on(Hls.Events.ERROR, (_, d) => seen.errors.push([d.details, d.fatal]));
hls.loadSource('%s');
hls.attachMedia(video);
video.play();
window.hls = hls;
</script></body></html>"""


@pytest.fixture(scope="module")
def master_url(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One origin and one edge; a 4 s 360x640 5.1 clip, AES-128, a 360/240 ladder."""
    tmp = tmp_path_factory.mktemp("ladder-player")
    clip = asyncio.run(
        make_clip(ffmpeg, tmp / "phone.mp4", seconds=4, width=360, height=640, channels=6)
    )
    ladder = [{"short_side": 360, "video_kbps": 730}, {"short_side": 240, "video_kbps": 400}]
    doc = distribution_doc(origin={"segment_duration": 1.0, "ladder": ladder})
    with running_topology(tmp, doc) as topology:
        origin = topology.origin_url("us-east")
        with clip.open("rb") as fh:
            response = httpx.post(
                f"{origin}/videos", params={"encryption": "aes-128"},
                files={"file": (clip.name, fh)}, headers=AUTH, timeout=30,
            )  # fmt: skip
        assert response.status_code == 202, response.text
        video = str(response.json()["id"])
        wait_state(origin, video)
        yield f"{topology.edge_url('iad')}/hls/{video}/master.m3u8"


def test_hls_js_plays_portrait_stereo_by_default_then_switches_to_5_1(
    master_url: str, page: Page
) -> None:
    """Both portrait rungs and both audio tracks are offered; playback starts on stereo (the
    DEFAULT, what a player without 5.1 keeps) and goes on after switching to 5.1."""
    test_page = master_url.rsplit("/hls/", 1)[0] + "/ladder-test.html"
    html = PAGE % (HLS_JS.read_text(), master_url)
    page.route(test_page, lambda route: route.fulfill(content_type="text/html", body=html))
    page.goto(test_page)

    def seen() -> dict[str, list[list[object]]]:
        return dict(page.evaluate("() => window.seen"))

    def playing_past(seconds: float) -> bool:
        return bool(page.evaluate(f"() => document.getElementById('v').currentTime > {seconds}"))

    wait_for(lambda: playing_past(0.3), 20, "playback to start")
    assert sorted(seen()["levels"]) == [[240, 426, "avc1.4d4015"], [360, 640, "avc1.4d401e"]]
    assert seen()["tracks"] == [["Stereo", "2", True], ["5.1", "6", False]]
    assert seen()["audio"] and all("/audio_2ch/" in url for url in seen()["audio"])
    size = page.evaluate(
        "() => [document.getElementById('v').videoWidth, document.getElementById('v').videoHeight]"
    )
    assert size in ([360, 640], [240, 426])

    page.evaluate("() => { window.hls.audioTrack = 1; }")
    wait_for(
        lambda: any("/audio_6ch/" in url for url in seen()["audio"]), 15, "a 5.1 audio segment"
    )
    wait_for(lambda: playing_past(3.0), 20, "playback to go on with 5.1")
    assert not [error for error in seen()["errors"] if error[1]], seen()["errors"]
