"""Two regional origins as real processes: replicated VOD byte for byte, deletes everywhere,
live channels with the same names, and ffmpeg as an external client."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import m3u8
import pytest

from procs.supervisor import Supervisor
from tests.factories import distribution_doc
from tests.helpers import AUTH, hls_paths, upload, wait_state
from tests.origin.conftest import origin_processes

LIVE = {"name": "news", "segment_duration": 1, "window": 6, "heights": [180]}


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """us-east and eu-west origins running the same live channel; yields their URLs."""
    doc = distribution_doc(
        regions=("us-east", "eu-west"), origin={"segment_duration": 2.0}, live_channels=[LIVE]
    )
    with origin_processes(tmp_path_factory.mktemp("regions"), doc) as sup:
        assert isinstance(sup, Supervisor)
        yield doc["origins"][0]["url"], doc["origins"][1]["url"]


def every_path(base: str, video_id: str) -> list[str]:
    extras = [
        f"/hls/{video_id}/{name}" for name in ("poster.jpg", "thumbnails.jpg", "thumbnails.vtt")
    ]
    return hls_paths(base, f"/hls/{video_id}/master.m3u8") + extras


def test_replica_region_serves_every_file_byte_identical(
    regions: tuple[str, str], clip: Path
) -> None:
    """Replicated, eu-west serves playlists, segments, poster, sprite, VTT and key identically."""
    east, west = regions
    with clip.open("rb") as fh:
        response = httpx.post(
            f"{east}/videos?encryption=aes-128", files={"file": ("c.mp4", fh)}, headers=AUTH
        )
    video_id = response.json()["id"]
    wait_state(east, video_id)
    wait_state(west, video_id)
    for path in every_path(east, video_id) + [f"/drm/{video_id}/key"]:
        a, b = httpx.get(east + path), httpx.get(west + path)
        assert a.status_code == b.status_code == 200, path
        assert a.content == b.content, path
    assert httpx.get(f"{west}/videos/{video_id}", headers=AUTH).json()["encryption"] == "aes-128"


def test_delete_in_one_region_removes_the_video_everywhere(
    regions: tuple[str, str], clip: Path
) -> None:
    """DELETE on the packaging origin also removes the replica in the other region."""
    east, west = regions
    video_id = upload(east, clip)
    wait_state(east, video_id)
    wait_state(west, video_id)
    assert httpx.delete(f"{east}/videos/{video_id}", headers=AUTH).status_code == 204
    deadline = time.monotonic() + 10
    while (
        httpx.get(f"{west}/videos/{video_id}", headers=AUTH).status_code != 404
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert httpx.get(f"{west}/videos/{video_id}", headers=AUTH).status_code == 404
    assert httpx.get(f"{west}/hls/{video_id}/master.m3u8").status_code == 404


def live_playlist(base: str) -> tuple[m3u8.M3U8, httpx.Response]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = httpx.get(f"{base}/live/news/180p/index.m3u8")
        if response.status_code == 200:
            playlist = m3u8.loads(response.text)
            if len(playlist.segments) >= 3:
                return playlist, response
        time.sleep(0.2)
    raise AssertionError(f"{base} has no live playlist with 3 segments")


def test_two_origins_publish_the_same_live_names_and_sequence_numbers(
    regions: tuple[str, str],
) -> None:
    """Independently packaged, both regions number segments from the wall clock identically."""
    east, west = regions
    a, response = live_playlist(east)
    b, _ = live_playlist(west)
    numbered_a = {a.media_sequence + i: s.uri for i, s in enumerate(a.segments)}
    numbered_b = {b.media_sequence + i: s.uri for i, s in enumerate(b.segments)}
    common = set(numbered_a) & set(numbered_b)
    assert len(common) >= 2, (numbered_a, numbered_b)
    for number in common:
        assert numbered_a[number] == numbered_b[number] == f"{number}.ts"
    for segment in a.segments:
        assert segment.program_date_time.timestamp() == int(segment.uri.removesuffix(".ts")) * 1
    assert response.headers["cache-control"] == "public, max-age=0"  # ≤ half of a 1 s target
    master = httpx.get(f"{east}/live/news/master.m3u8")
    assert (
        master.status_code == 200 and master.text == httpx.get(f"{west}/live/news/master.m3u8").text
    )
    segment = httpx.get(f"{west}/live/news/180p/{b.segments[-1].uri}")
    assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    assert "immutable" in segment.headers["cache-control"]
    channels = httpx.get(f"{east}/live").json()["channels"]
    assert (
        channels[0]["channel"] == "news" and channels[0]["master_path"] == "/live/news/master.m3u8"
    )


def read_with_ffmpeg(ffmpeg: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-xerror",
        "-i",
        url,
        *extra,
        "-map",
        "0",
        "-f",
        "null",
        "-",
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_ffmpeg_reads_vod_masters_end_to_end_without_errors(
    regions: tuple[str, str], clip: Path, ffmpeg: str
) -> None:
    """ffmpeg as a player decodes every rendition of a clear and an AES-128 video, error-free."""
    east, _ = regions
    clear = upload(east, clip)
    with clip.open("rb") as fh:
        secret = httpx.post(
            f"{east}/videos?encryption=aes-128", files={"file": ("c.mp4", fh)}, headers=AUTH
        ).json()["id"]
    for video_id in (clear, secret):
        wait_state(east, video_id)
        result = read_with_ffmpeg(ffmpeg, f"{east}/hls/{video_id}/master.m3u8")
        assert result.returncode == 0 and result.stderr == "", result.stderr


def test_ffmpeg_reads_the_live_master_without_errors(regions: tuple[str, str], ffmpeg: str) -> None:
    """The live master and its sliding-window playlist play in ffmpeg for two seconds."""
    east, _ = regions
    live_playlist(east)
    result = read_with_ffmpeg(ffmpeg, f"{east}/live/news/master.m3u8", "-t", "2")
    assert result.returncode == 0 and result.stderr == "", result.stderr
