"""Live channels: epoch-derived names and playlists, restart after ffmpeg dies, expiry."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import m3u8

from media.ladder import live_rungs
from media.live import Channel, ChannelSpec, media_playlist, segment_number


def test_segment_number_is_epoch_over_duration() -> None:
    """The 2 s segment ending at wall second 1_800_000_002 is number 1_800_000_000 / 2."""
    assert segment_number(1_800_000_002.0, 2) == 900_000_000
    assert segment_number(1_800_000_001.96, 2) == 900_000_000  # float noise in ffmpeg's list


def test_media_playlist_sequence_is_the_first_number_with_dates_from_it() -> None:
    """MEDIA-SEQUENCE = first segment number; PROGRAM-DATE-TIME = number × duration (UTC)."""
    text = media_playlist([(900_000_000, 2.0), (900_000_001, 2.0)], 2)
    playlist = m3u8.loads(text)
    assert playlist.media_sequence == 900_000_000 and playlist.target_duration == 2
    assert playlist.playlist_type is None and not playlist.is_endlist
    assert [s.uri for s in playlist.segments] == ["900000000.ts", "900000001.ts"]
    assert playlist.segments[0].program_date_time.timestamp() == 1_800_000_000
    assert "#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:02.000Z" in text


def ffmpeg_children(marker: Path) -> list[int]:
    """Our own ffmpeg children writing under `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and str(marker).encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_channel_restarts_after_ffmpeg_dies_and_never_lists_a_gap(
    ffmpeg: str, tmp_path: Path
) -> None:
    """Killing the channel's ffmpeg starts a new run; the playlist continues with later numbers
    and lists only consecutive segments; stale files of an earlier process are expired at start."""
    root = tmp_path / "news"
    spec = ChannelSpec("news", "testsrc", 1, 6, live_rungs((90,)), 25)
    now = int(time.time())
    (root / "90p").mkdir(parents=True)
    (root / "90p" / f"{now - 100}.ts").write_bytes(b"old")
    (root / "90p" / f"{now - 3}.ts").write_bytes(b"recent")
    playlist = root / "90p" / "index.m3u8"

    async def scenario() -> tuple[m3u8.M3U8, m3u8.M3U8, Channel]:
        channel = Channel(ffmpeg, spec, root)
        running = asyncio.create_task(channel.run())
        try:
            first = await wait_playlist(playlist, lambda p: len(p.segments) >= 2)
            for pid in ffmpeg_children(root):
                os.kill(pid, signal.SIGKILL)
            newest = first.segments[-1].uri
            after = await wait_playlist(
                playlist, lambda p: newest not in [s.uri for s in p.segments]
            )
            return first, after, channel
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    first, after, channel = asyncio.run(scenario())
    assert not (root / "90p" / f"{now - 100}.ts").exists()
    assert (root / "90p" / f"{now - 3}.ts").exists(), "recent segments stay for late readers"
    assert channel.status()["restarts"] == 1
    numbers = [int(s.uri.removesuffix(".ts")) for s in after.segments]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert after.media_sequence == numbers[0] > int(first.segments[-1].uri.removesuffix(".ts"))
    assert not ffmpeg_children(root), "cancelling the channel killed its ffmpeg"


async def wait_playlist(path: Path, ready, timeout: float = 20) -> m3u8.M3U8:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            playlist = m3u8.loads(path.read_text())
            if playlist.segments and ready(playlist):
                return playlist
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} did not get there in {timeout}s")
