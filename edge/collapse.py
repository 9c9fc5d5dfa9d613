"""Request collapsing: one origin fetch per key, its bytes streamed to every waiting viewer.

A `Fill` is an object being received. Viewers read it from any offset while it grows: from
the chunk list when the body is small enough for memory, else from the spool file through
`os.pread` on a shared descriptor. The last chunk is held back until the fill is verified
(length and digest), so a viewer never receives a complete-looking response for a body the
cache rejected.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from edge.cache import Entry
from streaming.errors import OriginError, StreamingError

READ_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class Head:
    """The origin's status line and headers, known before the body."""

    status: int
    headers: dict[str, str]
    length: int | None
    origin_region: str
    shareable: bool  # False for private/no-store answers: waiters fetch for themselves


@dataclass(frozen=True, slots=True)
class Refreshed:
    """The origin answered 304: the cached entry is current again."""

    entry: Entry


class Fill:
    """One origin response being received; many viewers may stream it at once."""

    def __init__(self, key: str, path: str) -> None:
        self.key, self.path = key, path
        self.head: asyncio.Future[Head | Refreshed] = asyncio.get_running_loop().create_future()
        self.received = 0
        self.done = False
        self.error: StreamingError | None = None
        self.entry: Entry | None = None  # set when the complete body was committed
        self._chunks: list[bytes] | None = None
        self._fd: int | None = None
        self.spool: Path | None = None
        self._holders = 0  # viewers that may still read the body (see hold/release)
        self._changed = asyncio.Event()

    # -- producer side -------------------------------------------------------------------
    def begin(self, head: Head, in_memory: bool, spool: tuple[Path, int] | None) -> None:
        """Headers arrived: buffer the body in memory, in a spool file, or both."""
        self._chunks = [] if in_memory else None
        if spool is not None:
            self.spool, self._fd = spool
        self.head.set_result(head)

    def refreshed(self, entry: Entry) -> None:
        self.head.set_result(Refreshed(entry))
        self.done = True

    def append(self, chunk: bytes) -> None:
        if self._chunks is not None:
            self._chunks.append(chunk)
        if self._fd is not None:
            os.write(self._fd, chunk)
        self.received += len(chunk)
        self._notify()

    def body(self) -> bytes | None:
        """The whole body when it was buffered in memory."""
        return b"".join(self._chunks) if self._chunks is not None else None

    def finish(self, error: StreamingError | None = None) -> None:
        """The body ended (or broke): release waiting readers."""
        if not self.head.done():
            self.head.set_exception(error or OriginError("origin closed before answering"))
            self.head.exception()  # retrieved here so an unobserved failure is not logged
        self.error = error
        self.done = True
        self._notify()
        self._maybe_close()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- consumer side -------------------------------------------------------------------
    async def wait_head(self) -> Head | Refreshed:
        return await asyncio.shield(self.head)

    async def wait_done(self) -> None:
        while not self.done:
            await self._changed.wait()

    async def stream(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes [start, end] (inclusive) as they arrive; raises OriginError if the fill breaks."""
        head = self.head.result()
        assert isinstance(head, Head)
        pos = start
        while end is None or pos <= end:
            limit = self.received if end is None else min(self.received, end + 1)
            verified = self.done and self.error is None
            if not verified and head.length is not None and self.received >= head.length:
                limit = min(limit, head.length - 1)  # the last byte waits for verification
            if pos < limit:
                data = self._read(pos, limit)
                pos += len(data)
                yield data
                continue
            if self.done:
                if self.error is not None:
                    raise self.error
                return
            await self._changed.wait()

    def hold(self) -> None:
        """A viewer got this fill: keep its spool readable until it calls `release`."""
        self._holders += 1

    def release(self) -> None:
        self._holders -= 1
        self._maybe_close()

    def _read(self, start: int, stop: int) -> bytes:
        if self._chunks is not None:
            return _slice(self._chunks, start, stop)
        assert self._fd is not None
        return os.pread(self._fd, min(stop - start, READ_CHUNK), start)

    def _maybe_close(self) -> None:
        if self.done and self._holders <= 0 and self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if self.entry is None and self.spool is not None:
                self.spool.unlink(missing_ok=True)  # not committed: nobody will read it again


def _slice(chunks: list[bytes], start: int, stop: int) -> bytes:
    """Bytes [start, stop) of a chunk list, copying only when a range spans chunks."""
    offset = 0
    parts: list[bytes] = []
    for chunk in chunks:
        end = offset + len(chunk)
        if end > start and offset < stop:
            lo, hi = max(start - offset, 0), min(stop - offset, len(chunk))
            parts.append(chunk if (lo, hi) == (0, len(chunk)) else chunk[lo:hi])
        if end >= stop:
            break
        offset = end
    return parts[0] if len(parts) == 1 else b"".join(parts)


class Collapser:
    """One in-flight fill per key; the fetch outlives any single viewer that disconnects."""

    def __init__(self) -> None:
        self._inflight: dict[str, Fill] = {}
        self.collapsed = 0  # viewers that joined another viewer's fetch
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._inflight)

    def get(self, key: str) -> Fill | None:
        return self._inflight.get(key)

    def join(
        self, key: str, path: str, produce: Callable[[Fill], Awaitable[None]]
    ) -> tuple[Fill, bool]:
        """The fill for `key`, started by this call unless one is in flight: (fill, joined).

        The caller holds the fill and must `release()` it once it no longer reads the body.
        """
        fill = self._inflight.get(key)
        if fill is not None:
            self.collapsed += 1
            fill.hold()
            return fill, True
        fill = Fill(key, path)
        fill.hold()
        self._inflight[key] = fill

        async def run() -> None:
            try:
                await produce(fill)
            finally:
                if not fill.done:
                    fill.finish(OriginError("fill ended without finishing"))
                if self._inflight.get(key) is fill:
                    del self._inflight[key]

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return fill, False

    async def drain(self) -> None:
        """Cancel fills still running at shutdown."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
