"""HTTP/1.1 over a bare socket: the server sees exactly the bytes a test writes.

httpx (and every other client) normalises paths, percent-encoding and framing; an attacker does
not. `exchange` writes raw bytes, reads until the server closes or goes quiet, and parses every
response it got, so a test can tell one answer from a smuggled second one.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class Exchange:
    """What happened on one connection after `sent` was written."""

    sent: bytes
    responses: list[RawResponse] = field(default_factory=list)
    closed: bool = False  # the server closed (or reset) the connection
    elapsed: float = 0.0
    error: str | None = None  # a reset or refused connection, by name
    leftover: bytes = b""  # bytes that did not parse as a complete response

    @property
    def first(self) -> RawResponse | None:
        return self.responses[0] if self.responses else None

    @property
    def status(self) -> int | None:
        return self.responses[0].status if self.responses else None

    def describe(self) -> str:
        """One line for a report: the request line sent and the statuses received."""
        line = self.sent.split(b"\r\n", 1)[0][:200].decode("latin-1")
        got = ",".join(str(r.status) for r in self.responses) or self.error or "no response"
        return f"{line!r} -> {got}"


def exchange(
    address: tuple[str, int], data: bytes, timeout: float = 5.0, quiet: float | None = None
) -> Exchange:
    """Send `data`, then read until EOF, `timeout` in all, or `quiet` seconds without bytes."""
    result = Exchange(data)
    started = time.monotonic()
    buffer = bytearray()
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.sendall(data)
            deadline = started + timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(min(left, quiet) if quiet else left)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    break
                if not chunk:
                    result.closed = True
                    break
                buffer += chunk
    except ConnectionResetError:
        result.closed, result.error = True, "ConnectionResetError"
    except OSError as exc:  # refused, broken pipe: the server would not take these bytes
        result.closed, result.error = True, type(exc).__name__
    result.elapsed = time.monotonic() - started
    result.responses, result.leftover = parse_responses(bytes(buffer))
    return result


def request(
    target: str | bytes,
    host: str,
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    close: bool = True,
) -> bytes:
    """A request with `target` byte for byte as given (no encoding, no normalisation)."""
    raw_target = target.encode("latin-1") if isinstance(target, str) else target
    lines = [method.encode() + b" " + raw_target + b" HTTP/1.1", b"Host: " + host.encode()]
    for name, value in headers or []:
        lines.append(f"{name}: {value}".encode("latin-1"))
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def parse_responses(data: bytes) -> tuple[list[RawResponse], bytes]:
    """Every complete response in `data` (1xx skipped), and what is left over."""
    responses: list[RawResponse] = []
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        lines = data[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            break
        status = int(parts[1])
        headers = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in lines[1:])]
        rest = data[end + 4 :]
        response = RawResponse(status, headers, b"")
        if 100 <= status < 200:
            data = rest
            continue
        encoding = (response.header("transfer-encoding") or "").lower()
        length = response.header("content-length")
        if "chunked" in encoding:
            body, rest, complete = _dechunk(rest)
            response.body = body
            if not complete:
                responses.append(response)
                return responses, rest
        elif length is not None and length.isdigit():
            response.body, rest = rest[: int(length)], rest[int(length) :]
        elif status in (204, 304):
            pass
        else:
            response.body, rest = rest, b""
        responses.append(response)
        data = rest
    return responses, data


def _dechunk(data: bytes) -> tuple[bytes, bytes, bool]:
    body = bytearray()
    while True:
        end = data.find(b"\r\n")
        if end < 0:
            return bytes(body), data, False
        size_text = data[:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(body), data, False
        data = data[end + 2 :]
        if size == 0:
            trailer_end = data.find(b"\r\n")
            while trailer_end > 0:  # skip trailer fields up to the empty line
                data = data[trailer_end + 2 :]
                trailer_end = data.find(b"\r\n")
            return bytes(body), data[2:] if trailer_end == 0 else data, True
        if len(data) < size + 2:
            return bytes(body + data), b"", False
        body += data[:size]
        data = data[size + 2 :]
