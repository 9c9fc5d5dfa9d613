"""A scriptable HTTP/1.1 origin on a loopback socket, for failover tests of the edge's fetch stage.

The edge under test is real (its httpx client, timeouts and parsing); this stub only plays the
misbehaving origin: slow first byte, a stall or a cut mid-body, a status code, a different copy.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from procs.supervisor import free_port

_RANGE = re.compile(r"range: bytes=(\d+)-", re.IGNORECASE)


@dataclass
class Behaviour:
    status: int = 200
    body: bytes = b""
    ttfb: float = 0.0  # seconds before the status line
    cut_after: int | None = None  # close the connection after this many body bytes
    stall_after: int | None = None  # stop sending (but keep the connection) after this many
    ranges: bool = True  # honour `Range: bytes=N-` with a 206


@dataclass
class StubOrigin:
    behaviour: Behaviour
    port: int = field(default_factory=free_port)
    requests: list[str] = field(default_factory=list)  # request heads received, in order
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if (task := asyncio.current_task()) is not None:
            self.handlers.add(task)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                self.requests.append(head)
                if not await self._answer(head, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _answer(self, head: str, writer: asyncio.StreamWriter) -> bool:
        b = self.behaviour
        await asyncio.sleep(b.ttfb)
        body, status, extra = b.body, b.status, ""
        if head.startswith("GET /healthz"):
            body, status = b"{}", (200 if b.status < 500 else b.status)
        elif (match := _RANGE.search(head)) and b.ranges and status == 200:
            start = int(match.group(1))
            extra = f"Content-Range: bytes {start}-{len(body) - 1}/{len(body)}\r\n"
            body, status = body[start:], 206
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode())
        limit = min(x for x in (b.cut_after, b.stall_after, len(body)) if x is not None)
        writer.write(body[:limit])
        await writer.drain()
        if b.stall_after is not None and limit < len(body):
            await asyncio.sleep(30)
            return False
        return not (b.cut_after is not None and limit < len(body))


@asynccontextmanager
async def stub_origins(*behaviours: Behaviour) -> AsyncIterator[list[StubOrigin]]:
    stubs = [StubOrigin(b) for b in behaviours]
    servers = [await asyncio.start_server(s._serve, "127.0.0.1", s.port) for s in stubs]
    try:
        yield stubs
    finally:
        for server in servers:
            server.close()
        handlers = [t for s in stubs for t in s.handlers if not t.done()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
