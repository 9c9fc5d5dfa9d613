"""Live channels: epoch-derived names, restarts of ffmpeg and of the process, expiry."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import m3u8

from media.ladder import live_rungs
from media.live import Channel, ChannelSpec, segment_number
from origin.live_store import LocalLive


def test_segment_number_is_epoch_over_duration() -> None:
    """The 2 s segment ending at wall second 1_800_000_002 is number 1_800_000_000 / 2."""
    assert segment_number(1_800_000_002.0, 2) == 900_000_000
    assert segment_number(1_800_000_001.96, 2) == 900_000_000  # float noise in ffmpeg's list


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


def numbers(playlist: m3u8.M3U8) -> list[int]:
    return [int(s.uri.removesuffix(".ts")) for s in playlist.segments]


def test_channel_keeps_its_window_across_ffmpeg_and_process_restarts(
    ffmpeg: str, tmp_path: Path
) -> None:
    """Killing ffmpeg starts a new run: the playlist keeps the previous run's segments, lists the
    numbers nobody made as gaps (no peers here) and marks the new run with a discontinuity. A new
    Channel on the same store (a restarted origin) resumes that playlist the same way. Listed
    segments all exist; stale files of an earlier process are expired at start."""
    root = tmp_path / "live"
    store = LocalLive(root)
    spec = ChannelSpec("news", "testsrc", 1, 6, live_rungs((90,)), 25)
    now = int(time.time())
    (root / "news" / "90p").mkdir(parents=True)
    (root / "news" / "90p" / f"{now - 100}.ts").write_bytes(b"old")
    (root / "news" / "90p" / f"{now - 3}.ts").write_bytes(b"recent")
    playlist = root / "news" / "90p" / "index.m3u8"

    async def scenario() -> tuple[m3u8.M3U8, m3u8.M3U8, m3u8.M3U8, Channel]:
        channel = Channel(ffmpeg, spec, root / "news", store)
        running = asyncio.create_task(channel.run())
        try:
            first = await wait_playlist(playlist, lambda p: len(p.segments) >= 2)
            assert channel.on_air and channel.status()["pid"] in ffmpeg_children(root)
            for pid in ffmpeg_children(root):
                os.kill(pid, signal.SIGKILL)
            after = await wait_playlist(playlist, lambda p: p.segments[-1].discontinuity)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        assert not ffmpeg_children(root), "cancelling the channel killed its ffmpeg"
        restarted = Channel(ffmpeg, spec, root / "news", store)
        running = asyncio.create_task(restarted.run())
        try:
            await asyncio.sleep(0.3)
            assert not restarted.on_air  # the old window is not served as current
            resumed = await wait_playlist(
                playlist, lambda p: numbers(p)[-1] > numbers(after)[-1] + 1
            )
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        return first, after, resumed, channel

    first, after, resumed, channel = asyncio.run(scenario())
    assert not (root / "news" / "90p" / f"{now - 100}.ts").exists()
    assert (root / "news" / "90p" / f"{now - 3}.ts").exists(), (
        "recent segments stay for late readers"
    )
    assert channel.status()["restarts"] == 1 and channel.status()["gaps"] >= 1
    for seen in (after, resumed):
        listed = numbers(seen)
        assert listed == list(range(listed[0], listed[0] + len(listed))), seen.dumps()
        assert seen.media_sequence == listed[0]
        for segment in seen.segments:
            assert segment.gap_tag or (playlist.parent / segment.uri).is_file(), segment.uri
    assert numbers(first)[-1] in numbers(after), "the previous run stays listed"
    kept = [s for s in after.segments if int(s.uri[:-3]) > numbers(first)[-1]]
    assert any(s.gap_tag for s in kept), after.dumps()  # what the restart missed
    before = {s.uri: bool(s.gap_tag) for s in after.segments}
    carried = [s for s in resumed.segments if s.uri in before]
    assert carried and all(bool(s.gap_tag) == before[s.uri] for s in carried), "resumed as it was"
    new_run = next(s for s in resumed.segments if s.uri not in before and not s.gap_tag)
    assert new_run.discontinuity, resumed.dumps()
    assert (resumed.discontinuity_sequence or 0) >= (after.discontinuity_sequence or 0)


async def wait_playlist(path: Path, ready, timeout: float = 20) -> m3u8.M3U8:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            playlist = m3u8.loads(path.read_text())
            if playlist.segments and ready(playlist):
                return playlist
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} did not get there in {timeout}s")
