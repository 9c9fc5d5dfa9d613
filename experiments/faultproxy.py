"""A loopback TCP proxy between edges and one origin that injects network faults on demand.

Faults are switched at run time by the experiment timeline (or a test):

    delay(s)        every response byte arrives `s` seconds later (time to first byte and idle gaps)
    refuse()        stop listening: new connections are refused (ECONNREFUSED)
    drop()          reset every open connection and each new one right after accept (ECONNRESET)
    truncate(n)     forward `n` response bytes per connection, then reset it (a body cut mid-way)
    pause()         accept but forward nothing, like a SIGSTOPped host behind a live kernel
    heal()          back to a transparent proxy

The proxy knows nothing about HTTP; it only moves bytes, which is what a broken network does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field

CHUNK = 64 * 1024


@dataclass
class ProxyStats:
    """Counters a report or a test reads to confirm a fault really hit the wire."""

    connections: int = 0
    refused: int = 0
    reset: int = 0
    truncated: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    down_bytes: int = 0

    def abort(self) -> None:
        """Close both sides with a TCP reset so the peer sees ECONNRESET, not a clean EOF."""
        for writer in (self.client, self.upstream):
            if writer is not None:
                _reset(writer)
        for task in self.tasks:
            task.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Listens on `listen` and forwards to `upstream`, both loopback (host, port) pairs."""

    def __init__(self, name: str, listen: tuple[str, int], upstream: tuple[str, int]) -> None:
        self.name, self.listen, self.upstream = name, listen, upstream
        self.stats = ProxyStats()
        self._delay = 0.0
        self._dropping = False
        self._truncate_after: int | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.listen[0]}:{self.listen[1]}"

    @property
    def state(self) -> str:
        """One word for reports: the fault currently applied."""
        if self._server is None:
            return "refusing"
        if not self._flowing.is_set():
            return "paused"
        if self._dropping:
            return "dropping"
        if self._truncate_after is not None:
            return f"truncating@{self._truncate_after}"
        return f"delay {self._delay:g}s" if self._delay else "healthy"

    async def start(self) -> None:
        """Listen (again); a proxy that is already listening is left alone."""
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, self.listen[0], self.listen[1], reuse_address=True
            )

    async def close(self) -> None:
        """Stop listening and reset every connection; used at the end of an experiment."""
        await self._stop_listening()
        for conn in list(self._connections):
            conn.abort()
        self._flowing.set()
        # Let every handler finish now rather than be cancelled at loop shutdown.
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=2.0)

    def delay(self, seconds: float) -> None:
        self._delay = max(0.0, seconds)

    async def refuse(self) -> None:
        await self._stop_listening()

    def drop(self) -> None:
        self._dropping = True
        for conn in list(self._connections):
            self.stats.reset += 1
            conn.abort()

    def truncate(self, after_bytes: int) -> None:
        self._truncate_after = max(0, after_bytes)

    def pause(self) -> None:
        self._flowing.clear()

    async def heal(self) -> None:
        """Remove every fault: listen, forward, no delay, no resets, no truncation."""
        self._delay, self._dropping, self._truncate_after = 0.0, False, None
        self._flowing.set()
        await self.start()

    async def _stop_listening(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            # Do not await wait_closed(): since 3.12 it waits for every handler to finish.

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(writer)
        self.stats.connections += 1
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        if self._dropping:
            self.stats.reset += 1
            conn.abort()
            return
        self._connections.add(conn)
        try:
            await self._flowing.wait()
            try:
                up_reader, conn.upstream = await asyncio.open_connection(*self.upstream)
            except OSError:
                # The origin itself is gone: the edge sees a reset, as from a dead host's kernel.
                self.stats.refused += 1
                conn.abort()
                return
            conn.tasks = [
                asyncio.create_task(self._pipe(reader, conn.upstream, conn, downstream=False)),
                asyncio.create_task(self._pipe(up_reader, writer, conn, downstream=True)),
            ]
            await asyncio.gather(*conn.tasks, return_exceptions=True)
        finally:
            self._connections.discard(conn)
            for side in (writer, conn.upstream):
                if side is not None and not side.is_closing():
                    side.close()

    async def _pipe(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        conn: _Connection,
        downstream: bool,
    ) -> None:
        """Copy one direction; the response direction carries the delay and the truncation."""
        loop = asyncio.get_running_loop()
        try:
            while data := await src.read(CHUNK):
                due = loop.time() + (self._delay if downstream else 0.0)
                await self._flowing.wait()
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                await self._flowing.wait()
                if downstream and self._truncate_after is not None:
                    room = self._truncate_after - conn.down_bytes
                    if len(data) >= room:
                        dst.write(data[: max(0, room)])
                        with contextlib.suppress(ConnectionError):
                            await dst.drain()
                        self.stats.truncated += 1
                        conn.abort()
                        return
                dst.write(data)
                await dst.drain()
                if downstream:
                    conn.down_bytes += len(data)
                    self.stats.bytes_down += len(data)
                else:
                    self.stats.bytes_up += len(data)
            if dst.can_write_eof():
                dst.write_eof()
        except (ConnectionError, OSError):
            conn.abort()
