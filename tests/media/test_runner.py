"""media.runner with a real ffmpeg: its failures become MediaError with ffmpeg's own words, and
a cancelled run leaves no ffmpeg behind (run and run_piped share that supervision)."""

from __future__ import annotations

import asyncio
import os

import pytest

from media import runner
from streaming.errors import MediaError

MISSING = "/nonexistent/b4-runner-input.mp4"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_failed_run_raises_media_error_with_the_stderr_tail(ffmpeg: str) -> None:
    with pytest.raises(MediaError, match="ffmpeg failed: .*b4-runner-input"):
        asyncio.run(runner.run(ffmpeg, ["-hide_banner", "-i", MISSING, "-f", "null", "-"]))


def test_a_failed_piped_run_raises_media_error_with_the_stderr_tail(ffmpeg: str) -> None:
    async def consume(readers: list[asyncio.StreamReader]) -> None:
        assert [await r.read() for r in readers] == [b""]

    with pytest.raises(MediaError, match="ffmpeg failed: .*b4-runner-input"):
        asyncio.run(
            runner.run_piped(
                ffmpeg, lambda fds: ["-hide_banner", "-i", MISSING, "-f", "mp4", f"pipe:{fds[0]}"],
                1, consume,
            )
        )  # fmt: skip


def test_cancelling_a_piped_run_kills_its_ffmpeg(ffmpeg: str) -> None:
    pids: list[int] = []

    async def consume(readers: list[asyncio.StreamReader]) -> None:
        while await readers[0].read(65536):
            pass

    def argv(fds: tuple[int, ...]) -> list[str]:
        return [
            "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
            "testsrc2=size=64x36:rate=10", "-f", "mpegts", f"pipe:{fds[0]}",
        ]  # fmt: skip

    async def main() -> None:
        task = asyncio.create_task(runner.run_piped(ffmpeg, argv, 1, consume, pids.append))
        await asyncio.sleep(1.0)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert pids and not _alive(pids[0])
