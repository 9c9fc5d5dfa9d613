"""An LL-HLS channel end to end: two real origin processes, each with its own real ffmpeg, a
low-latency channel of two small rungs (240p, 180p at 15 fps); what a player fetches from them.

The rules with exact timing, against a channel fed by hand: tests/origin/test_ll_delivery.py.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import av
import httpx
import m3u8
import pytest

from procs.supervisor import Supervisor
from streaming.config import parse
from tests.factories import distribution_doc, write_config
from tests.origin.conftest import start_origin

SEGMENT = 2
FPS = 15
PART_TARGET = 0.5
CHANNEL = {
    "name": "ll", "segment_duration": SEGMENT, "window": 10, "heights": [240, 180],
    "frame_rate": FPS, "low_latency": True, "part_target": PART_TARGET,
}  # fmt: skip
PLAYLIST = "/live/ll/180p/index.m3u8"


@pytest.fixture(scope="module")
def origins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[httpx.Client]]:
    """us-east, then eu-west a segment later (so their ffmpeg runs start at different
    boundaries); clients for both, once each has two complete segments of each rung."""
    tmp = tmp_path_factory.mktemp("ll")
    doc = distribution_doc(regions=("us-east", "eu-west"), live_channels=[CHANNEL])
    config = write_config(tmp / "distribution.toml", doc)
    dist = parse(doc)
    with Supervisor(tmp / "logs") as sup:
        clients = []
        for origin in dist.origins:
            sup.wait_healthy(start_origin(sup, config, origin.region, origin.url, tmp))
            clients.append(httpx.Client(base_url=origin.url, timeout=15))
            time.sleep(SEGMENT + 0.5)
        try:
            for client in clients:
                wait_playlist(client, lambda p: complete(p) >= 2)
            yield clients
        finally:
            for client in clients:
                client.close()


def complete(playlist: m3u8.M3U8) -> int:
    return sum(1 for s in playlist.segments if s.uri)


def wait_playlist(
    client: httpx.Client, ready: Callable[[m3u8.M3U8], bool], path: str = PLAYLIST
) -> m3u8.M3U8:
    for _ in range(300):
        response = client.get(path)
        if response.status_code == 200:
            playlist = m3u8.loads(response.text)
            if ready(playlist):
                return playlist
        time.sleep(0.1)
    raise AssertionError(f"not ready: {client.get('/live').json()}")


def numbered(playlist: m3u8.M3U8) -> dict[int, Any]:
    """msn -> segment, for the complete segments."""
    return {playlist.media_sequence + i: s for i, s in enumerate(playlist.segments) if s.uri}


def decode(data: bytes) -> tuple[int, float, bool]:
    """(video frames, first video frame time in seconds, has audio) of an fMP4 byte string."""
    with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
        has_audio = bool(container.streams.audio)
        frames = list(container.decode(video=0))
    assert frames[0].pts is not None and frames[0].time_base is not None
    return len(frames), float(frames[0].pts * frames[0].time_base), has_audio


def test_playlist_lists_wall_clock_named_parts_within_the_part_target(
    origins: list[httpx.Client],
) -> None:
    """Every LL-HLS tag; segment N = media sequence N = wall clock N*d; parts `N.P.m4s`
    numbered from 0, at most PART-TARGET long, the first of each segment INDEPENDENT."""
    response = origins[0].get(PLAYLIST)
    text, playlist = response.text, m3u8.loads(response.text)
    assert response.headers["cache-control"] == "public, max-age=1"
    assert playlist.part_inf.part_target == PART_TARGET
    control = playlist.server_control
    assert control.can_block_reload == "YES" and control.part_hold_back >= 3 * PART_TARGET
    assert control.can_skip_until == 6 * SEGMENT
    assert playlist.segment_map and playlist.segment_map[0].uri.startswith("init-")
    assert playlist.preload_hint.hint_type == "PART"
    report = playlist.rendition_reports[0]
    assert report.uri == "../240p/index.m3u8" and report.last_msn >= playlist.media_sequence
    assert abs(playlist.media_sequence + len(playlist.segments) - time.time() / SEGMENT) < 3
    for i, segment in enumerate(playlist.segments):
        msn = playlist.media_sequence + i
        assert segment.program_date_time.timestamp() == msn * SEGMENT, text
        if segment.uri:
            assert segment.uri == f"{msn}.m4s" and segment.duration <= SEGMENT + 0.05, text
        if segment.parts:
            names = [f"{msn}.{n}.m4s" for n in range(len(segment.parts))]
            assert [p.uri for p in segment.parts] == names, text
            assert all(p.duration <= PART_TARGET for p in segment.parts), text
            assert segment.parts[0].independent == "YES", text
    assert "#EXT-X-MAP" in text and "#EXT-X-PART:" in text


def test_two_origins_publish_the_same_segments_with_the_same_timestamps(
    origins: list[httpx.Client],
) -> None:
    """Started a segment apart, both list segment N at msn N with the same parts, and its
    frames carry the same wall-clock timestamps: an edge can switch origins mid-stream."""
    east, west = (numbered(wait_playlist(c, lambda p: complete(p) >= 2)) for c in origins)
    common = sorted(set(east) & set(west))
    assert common, (sorted(east), sorted(west))
    for msn in common[-2:]:
        if east[msn].parts and west[msn].parts:
            assert [(p.uri, p.duration) for p in east[msn].parts] == [
                (p.uri, p.duration) for p in west[msn].parts
            ]
        assert east[msn].duration == pytest.approx(west[msn].duration, abs=0.03)
    msn = common[-1]
    starts = []
    for client in origins:
        init = client.get(f"/live/ll/180p/{wait_playlist(client, bool).segment_map[0].uri}")
        segment = client.get(f"/live/ll/180p/{msn}.m4s")
        assert segment.status_code == 200 and segment.headers["content-type"] == "video/iso.segment"
        starts.append(decode(init.content + segment.content)[1])
    assert starts[0] == pytest.approx(msn * SEGMENT, abs=0.05)
    assert starts[1] == pytest.approx(starts[0], abs=0.001)


def test_init_and_parts_and_init_and_segment_decode_to_the_same_frames(
    origins: list[httpx.Client],
) -> None:
    """init + the parts of a segment, concatenated, decode to the segment's 2 s of frames
    (with audio); so does init + the segment."""
    client = origins[0]
    playlist = wait_playlist(client, lambda p: any(s.uri and s.parts for s in p.segments))
    init = client.get(f"/live/ll/180p/{playlist.segment_map[0].uri}")
    assert init.headers["content-type"] == "video/mp4"
    msn, segment = next((n, s) for n, s in reversed(numbered(playlist).items()) if s.parts)
    parts = b"".join(client.get(f"/live/ll/180p/{p.uri}").content for p in segment.parts)
    whole = client.get(f"/live/ll/180p/{msn}.m4s")
    assert whole.headers["cache-control"] == "public, max-age=1209600, immutable"
    for body in (parts, whole.content):
        frames, start, has_audio = decode(init.content + body)
        assert frames == SEGMENT * FPS and has_audio
        assert start == pytest.approx(msn * SEGMENT, abs=0.05)


def test_a_blocking_reload_returns_with_the_hinted_part_and_no_later_one(
    origins: list[httpx.Client],
) -> None:
    client = origins[0]
    before = m3u8.loads(client.get(PLAYLIST).text)
    hint = before.preload_hint.uri
    msn, part = (int(x) for x in hint.removesuffix(".m4s").split("."))
    started = time.monotonic()
    response = client.get(PLAYLIST, params={"_HLS_msn": msn, "_HLS_part": part})
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=3600"
    after = m3u8.loads(response.text)
    assert hint not in [p.uri for s in before.segments for p in s.parts]
    # As soon as it is out: the part after it (a part target later) is not listed yet.
    last = [p.uri for s in after.segments for p in s.parts][-1]
    assert last == hint, (hint, last, waited)
    assert waited < 2 * PART_TARGET + 0.5


def test_the_preload_hinted_part_is_held_then_sent_whole(origins: list[httpx.Client]) -> None:
    """The hinted part does not exist when asked for; the answer is all of it, and it decodes
    after the parts of its segment before it."""
    client = origins[0]
    playlist = m3u8.loads(client.get(PLAYLIST).text)
    hint = playlist.preload_hint.uri
    assert hint not in [p.uri for s in playlist.segments for p in s.parts]
    response = client.get(f"/live/ll/180p/{hint}")
    assert response.status_code == 200 and response.content
    msn, part = (int(x) for x in hint.removesuffix(".m4s").split("."))
    earlier = b"".join(client.get(f"/live/ll/180p/{msn}.{n}.m4s").content for n in range(part))
    init = client.get(f"/live/ll/180p/{playlist.segment_map[0].uri}").content
    frames, start, _ = decode(init + earlier + response.content)
    assert 0 < frames <= (part + 1) * PART_TARGET * FPS
    assert start == pytest.approx(msn * SEGMENT, abs=0.05)


def test_far_ahead_is_refused_and_a_long_playlist_gets_a_delta_update(
    origins: list[httpx.Client],
) -> None:
    client = origins[0]
    playlist = wait_playlist(client, lambda p: complete(p) >= 8)
    newest = max(numbered(playlist))
    refused = client.get(PLAYLIST, params={"_HLS_msn": newest + 3})
    assert refused.status_code == 400 and "beyond the newest" in refused.json()["detail"]
    delta = client.get(PLAYLIST, params={"_HLS_skip": "YES"})
    assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=" in delta.text
    skipped = int(delta.text.split("SKIPPED-SEGMENTS=")[1].split("\n")[0])
    assert m3u8.loads(delta.text).segments[0].uri == f"{playlist.media_sequence + skipped}.m4s"


def test_held_requests_of_many_viewers_all_return(origins: list[httpx.Client]) -> None:
    """Twenty concurrent blocking reloads for the next part are all answered with it."""
    client = origins[1]
    hint = m3u8.loads(client.get(PLAYLIST).text).preload_hint.uri
    msn, part = hint.removesuffix(".m4s").split(".")

    def reload(_: int) -> httpx.Response:
        return client.get(PLAYLIST, params={"_HLS_msn": msn, "_HLS_part": part})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(reload, range(20)))
    assert all(a.status_code == 200 and f'URI="{hint}"' in a.text for a in answers)


def test_a_restarted_ffmpeg_drops_its_unfinished_segment_and_resumes_after_a_gap(
    origins: list[httpx.Client],
) -> None:
    """Kill the channel's ffmpeg mid-segment: that segment is never listed whole (a gap, and
    not served), the next run's first segment carries EXT-X-DISCONTINUITY."""
    client = origins[1]
    playlist = wait_playlist(
        client, lambda p: p.segments[-1].uri is None and 1 <= len(p.segments[-1].parts) <= 2
    )
    cut = playlist.media_sequence + len(playlist.segments) - 1
    pid = client.get("/live").json()["channels"][0]["pid"]
    os.kill(pid, signal.SIGKILL)  # the ffmpeg this test's origin started
    wait_playlist(client, lambda p: any(s.discontinuity and s.uri for s in p.segments))
    text = client.get(PLAYLIST).text
    assert f"#EXT-X-GAP\n#EXTINF:2.00000,\n{cut}.m4s" in text
    assert f"{cut}.0.m4s" not in text
    assert client.get(f"/live/ll/180p/{cut}.m4s").status_code in (404, 503)
    assert client.get("/live").json()["channels"][0]["restarts"] == 1
