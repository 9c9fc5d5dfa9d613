"""HTTP/2 cleartext (prior knowledge) over a bare socket, with header validation switched off.

granian answers HTTP/2 on the edge's plain port as well as HTTP/1.1; there is no request line to
parse there, so `:path`, `:scheme` and `:authority` reach the server as the client chose them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events

from tests.security.rawhttp import RawResponse

Headers = list[tuple[bytes, bytes]]
BATCH = 50  # streams in flight on one connection (granian allows 200)


@dataclass
class Stream:
    sent: Headers
    response: RawResponse | None = None
    reset: bool = False

    def describe(self) -> str:
        path = dict(self.sent).get(b":path", b"")[:200].decode("latin-1")
        got = "RST_STREAM" if self.reset else str(self.response.status if self.response else None)
        return f"h2 {path!r} -> {got}"


def request_headers(path: str, authority: str, scheme: str = "http") -> Headers:
    return [(b":method", b"GET"), (b":scheme", scheme.encode()),
            (b":authority", authority.encode()), (b":path", path.encode("latin-1"))]  # fmt: skip


def speaks_h2c(address: tuple[str, int]) -> bool:
    """Whether the server answers the HTTP/2 connection preface with a SETTINGS frame."""
    with socket.create_connection(address, timeout=3) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        try:
            frame = sock.recv(9)
        except OSError:
            return False
    return len(frame) == 9 and frame[3] == 0x04  # frame type 4: SETTINGS


def exchange(
    address: tuple[str, int], requests: list[Headers], timeout: float = 10, batch: int = BATCH
) -> list[Stream]:
    """Send each header list as one stream, `batch` per connection; every stream's answer (a
    stream the server reset, or dropped with its connection, has none)."""
    streams = [Stream(r) for r in requests]
    for start in range(0, len(streams), batch):
        _batch(address, streams[start : start + batch], timeout)
    return streams


def _batch(address: tuple[str, int], streams: list[Stream], timeout: float) -> None:
    config = h2.config.H2Configuration(
        client_side=True, header_encoding=None,
        validate_outbound_headers=False, normalize_outbound_headers=False,
        validate_inbound_headers=False,
    )  # fmt: skip
    conn = h2.connection.H2Connection(config)
    bodies: dict[int, bytearray] = {}
    by_id: dict[int, Stream] = {}
    with socket.create_connection(address, timeout=timeout) as sock:
        conn.initiate_connection()
        for stream in streams:
            stream_id = conn.get_next_available_stream_id()
            conn.send_headers(stream_id, stream.sent, end_stream=True)
            by_id[stream_id], bodies[stream_id] = stream, bytearray()
        sock.sendall(conn.data_to_send())
        open_ids = set(by_id)
        while open_ids:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            for event in conn.receive_data(data):
                _apply(event, conn, by_id, bodies, open_ids)
            try:
                sock.sendall(conn.data_to_send())
            except OSError:  # the server closed the connection (GOAWAY on a protocol error)
                break
    for stream_id, stream in by_id.items():
        if stream.response is not None:
            stream.response.body = bytes(bodies[stream_id])


def _apply(
    event: h2.events.Event, conn: h2.connection.H2Connection, by_id: dict[int, Stream],
    bodies: dict[int, bytearray], open_ids: set[int],
) -> None:  # fmt: skip
    stream_id = getattr(event, "stream_id", None)
    if isinstance(event, h2.events.ResponseReceived) and stream_id in by_id:
        fields = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
        status = int(dict(fields).get(":status", "0"))
        by_id[stream_id].response = RawResponse(status, fields, b"")
    elif isinstance(event, h2.events.DataReceived) and stream_id in by_id:
        bodies[stream_id] += event.data
        conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
    elif isinstance(event, h2.events.StreamEnded) and stream_id is not None:
        open_ids.discard(stream_id)
    elif isinstance(event, h2.events.StreamReset) and stream_id in by_id:
        by_id[stream_id].reset = True
        open_ids.discard(stream_id)
    elif isinstance(event, h2.events.ConnectionTerminated):
        open_ids.clear()
