"""A small HTTP/3 client on aioquic for tests and the TLS benchmark: GETs over one QUIC
connection, verified against a CA file, with the negotiated ALPN to prove h3 was used."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent


@dataclass(frozen=True)
class H3Response:
    status: int
    headers: dict[str, str]  # last value wins; names lower-case
    body: bytes


class H3Client(QuicConnectionProtocol):
    """One QUIC connection; `get` may run concurrently (one stream each)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._h3 = H3Connection(self._quic)
        self._streams: dict[int, tuple[asyncio.Future[list[H3Event]], list[H3Event]]] = {}

    @property
    def alpn(self) -> str | None:
        """The protocol the handshake agreed on ("h3" when this really is HTTP/3)."""
        return self._quic.tls.alpn_negotiated

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3_event in self._h3.handle_event(event):
            if isinstance(h3_event, HeadersReceived | DataReceived):
                waiting = self._streams.get(h3_event.stream_id)
                if waiting is None:
                    continue
                waiting[1].append(h3_event)
                if h3_event.stream_ended and not waiting[0].done():
                    waiting[0].set_result(waiting[1])

    async def get(
        self, authority: str, path: str,
        headers: dict[str, str] | list[tuple[str, str]] | None = None, timeout: float = 10.0,
    ) -> H3Response:  # fmt: skip
        """GET on a new stream; `headers` as a list may repeat a name (one field per cookie,
        as browsers send them over HTTP/3)."""
        stream = self._quic.get_next_available_stream_id()
        request = [(b":method", b"GET"), (b":scheme", b"https"),
                   (b":authority", authority.encode()), (b":path", path.encode())]  # fmt: skip
        fields = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        request += [(k.lower().encode(), v.encode()) for k, v in fields]
        done: asyncio.Future[list[H3Event]] = asyncio.get_running_loop().create_future()
        self._streams[stream] = (done, [])
        self._h3.send_headers(stream, request, end_stream=True)
        self.transmit()
        try:
            events = await asyncio.wait_for(done, timeout)
        finally:
            self._streams.pop(stream, None)
        fields: dict[str, str] = {}
        for e in events:
            if isinstance(e, HeadersReceived):
                fields.update((k.decode(), v.decode()) for k, v in e.headers)
        body = b"".join(e.data for e in events if isinstance(e, DataReceived))
        status = int(fields.pop(":status"))
        return H3Response(status, fields, body)


@asynccontextmanager
async def h3_connect(
    host: str, port: int, ca_file: str, server_name: str | None = None
) -> AsyncIterator[H3Client]:
    """An HTTP/3 connection to host:port, the certificate verified against `ca_file`."""
    config = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
    config.load_verify_locations(ca_file)
    config.server_name = server_name or host
    async with connect(host, port, configuration=config, create_protocol=H3Client) as client:
        assert isinstance(client, H3Client)
        yield client
