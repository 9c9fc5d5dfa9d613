"""Request bodies for the access-boundary tests: one that records being read, oversized ones."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator

import httpx


class Untouched:
    """A request body (sent chunked) that records whether the server ever asked for it."""

    def __init__(self, body: bytes) -> None:
        self.body, self.read = body, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        yield self.body


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """`total` bytes in chunks, for a chunked body that declares no length."""
    while total > 0:
        yield b"x" * min(size, total)
        total -= size


def declared_only(
    base_url: str, path: str, length: int, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    """POST only the head declaring `length` body bytes and return the answer the server gives
    before a single body byte was sent: (status, JSON body)."""
    url = httpx.URL(base_url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {url.host}:{url.port}",
             f"Content-Length: {length}", "Content-Type: application/json",
             *(f"{k}: {v}" for k, v in (headers or {}).items()), "", ""]  # fmt: skip
    with socket.create_connection((url.host, url.port or 80), timeout=5) as sock:
        sock.sendall("\r\n".join(lines).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += _recv(sock)
        head, _, body = data.partition(b"\r\n\r\n")
        fields = dict(
            line.split(": ", 1) for line in head.decode().lower().split("\r\n")[1:] if ": " in line
        )
        while len(body) < int(fields.get("content-length", "0")):
            body += _recv(sock)
    return int(head.split(b" ", 2)[1]), json.loads(body) if body else {}


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise AssertionError("the server closed the connection without a complete answer")
    return chunk
