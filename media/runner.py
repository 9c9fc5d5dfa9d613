"""Runs ffmpeg: the only module that spawns ffmpeg, and where its failures become MediaError."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

from streaming.errors import ConfigError, MediaError

ProgressCallback = Callable[[float], None]


def ffmpeg_binary(configured: str = "") -> str:
    """The ffmpeg to run: the configured one, else the static build shipped by imageio-ffmpeg."""
    if configured:
        found = shutil.which(configured) or (configured if Path(configured).is_file() else None)
        if not found:
            raise ConfigError(f"origin.ffmpeg: ffmpeg binary {configured!r} not found")
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise ConfigError(
            f"no ffmpeg available (install imageio-ffmpeg or set origin.ffmpeg): {exc}"
        ) from None


async def run(
    binary: str,
    argv: list[str],
    *,
    duration: float | None = None,
    on_progress: ProgressCallback | None = None,
    frames: float | None = None,
    on_start: Callable[[int], None] | None = None,
) -> None:
    """Run ffmpeg to completion, reporting 0..1 progress from `-progress pipe:1` if asked.

    Progress is output time over `duration`; while an output has written nothing yet (a
    sprite sheet appears only at the end) ffmpeg reports that time as N/A, and the frame
    count of the first video output over `frames` is used instead. `on_start` is told the
    process id (a live channel reports it in its status).

    Raises MediaError with the tail of ffmpeg's stderr on a non-zero exit. Cancelling the
    awaiting task kills ffmpeg so no orphan keeps writing.
    """
    process = await asyncio.create_subprocess_exec(
        binary, *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    if on_start is not None:
        on_start(process.pid)

    async def read_progress() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if not on_progress or not value.isdigit():
                continue
            if duration and key == "out_time_us":
                on_progress(min(1.0, int(value) / 1e6 / duration))
            elif frames and key == "frame":
                on_progress(min(1.0, int(value) / frames))

    await _supervise(process, read_progress())


async def _supervise(process: asyncio.subprocess.Process, work: Awaitable[None]) -> None:
    """Await `work` (reading ffmpeg's outputs) beside its stderr, then its exit. Cancelled or
    failing, ffmpeg is killed so no orphan keeps writing; a non-zero exit is a MediaError
    with the tail of its stderr."""
    tail: deque[str] = deque(maxlen=12)

    async def read_errors() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            tail.append(raw.decode(errors="replace").rstrip())

    try:
        await asyncio.gather(work, read_errors())
        code = await process.wait()
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if code != 0:
        reason = " | ".join(line for line in tail if line) or f"exit status {code}"
        raise MediaError(f"ffmpeg failed: {reason}")


PipeConsumer = Callable[[list[asyncio.StreamReader]], Awaitable[None]]


async def run_piped(
    binary: str,
    argv_for: Callable[[tuple[int, ...]], list[str]],
    outputs: int,
    consume: PipeConsumer,
    on_start: Callable[[int], None] | None = None,
) -> None:
    """Run ffmpeg writing `outputs` streams to pipes (`argv_for` gets their fds, for
    `pipe:<fd>`) while `consume` reads them; returns when ffmpeg and `consume` are done.

    Raises MediaError as `run` does; cancelling kills ffmpeg.
    """
    loop = asyncio.get_running_loop()
    pipes = [os.pipe() for _ in range(outputs)]
    writers = tuple(w for _, w in pipes)
    readers: list[asyncio.StreamReader] = []
    transports: list[asyncio.ReadTransport] = []
    try:
        process = await asyncio.create_subprocess_exec(
            binary, *argv_for(writers),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            pass_fds=writers,
        )  # fmt: skip
    finally:
        for w in writers:
            os.close(w)  # the child holds them now: EOF reaches us when it exits
    for r, _ in pipes:
        reader = asyncio.StreamReader(limit=2**24)
        transport, _ = await loop.connect_read_pipe(
            lambda reader=reader: asyncio.StreamReaderProtocol(reader),  # type: ignore[misc]
            os.fdopen(r, "rb", buffering=0),
        )
        readers.append(reader)
        transports.append(transport)
    assert process.stderr is not None
    if on_start is not None:
        on_start(process.pid)
    try:
        await _supervise(process, consume(readers))
    finally:
        for transport in transports:
            transport.close()
