"""Connections that send their headers a byte per second, or nothing at all, and a stopwatch.

Three holds per component: `slow-headers` (a request line, then a header a byte per second),
`idle` (connect, send nothing) and `keep-alive` (one complete request, then silence).

A server that waits forever for the end of a header block lets a handful of clients hold all
its connections (slowloris). Each `Hold` runs in a daemon thread from the start of the session,
so its wait (up to `CAP` seconds) overlaps the rest of the suite; the slow tests collect them.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["slow-headers", "idle", "keep-alive"]
CAP = 40.0  # seconds a hold waits for the server to give up before it gives up itself


def header_timeouts() -> dict[str, float]:
    """What each component is configured to wait for a header block, in seconds.

    The edge runs granian with its default HTTP/1 settings (cli/serve.py); the origin
    runs uvicorn, which has no header timeout: it is held to the edge's figure.
    """
    from granian.http import HTTP1Settings

    edge = HTTP1Settings().header_read_timeout / 1000
    return {"edge": edge, "origin": edge}


@dataclass
class Hold:
    component: str
    kind: Kind
    address: tuple[str, int]
    host: str
    closed_after: float | None = None  # None: still open when the hold gave up
    answer: bytes = b""  # what the server said before closing, if anything
    sent: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def run(self, cap: float = CAP) -> None:
        started = time.monotonic()
        try:
            with socket.create_connection(self.address, timeout=5) as sock:
                if self.kind == "slow-headers":
                    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {self.host}\r\n".encode())
                if self.kind == "keep-alive":  # one whole request, its answer, then silence
                    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
                    self.answer = _recv(sock)[:4096]
                    started = time.monotonic()  # the silence starts after the answer
                tail = b"X-Slow: " + b"a" * 4096
                while time.monotonic() - started < cap:
                    readable, _, _ = select.select([sock], [], [], 1.0)
                    if readable:
                        data = _recv(sock)
                        if data:  # the server spoke (a 408, say): closed is what counts
                            self.answer = (self.answer + data)[:4096]
                            continue
                        self.closed_after = time.monotonic() - started
                        return
                    if self.kind == "slow-headers" and self.sent < len(tail):
                        sock.sendall(tail[self.sent : self.sent + 1])  # one byte per second
                        self.sent += 1
        except OSError:
            self.closed_after = time.monotonic() - started
        finally:
            self.done.set()

    def describe(self) -> str:
        if self.closed_after is None:
            return f"{self.kind} on {self.component}: still open after {CAP:.0f} s ({self.sent} B)"
        first = self.answer.split(b"\r\n", 1)[0]
        said = f", after the answer {first!r}" if self.answer else ", without an answer"
        return f"{self.kind} on {self.component}: closed after {self.closed_after:.1f} s{said}"


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(4096)
    except OSError:
        return b""


def start(targets: dict[str, tuple[str, int]]) -> list[Hold]:
    """A slow-header, an idle and a keep-alive hold against each component, in daemon threads."""
    holds = []
    kinds: tuple[Kind, ...] = ("slow-headers", "idle", "keep-alive")
    for component, address in targets.items():
        for kind in kinds:
            hold = Hold(component, kind, address, f"{address[0]}:{address[1]}")
            threading.Thread(target=hold.run, daemon=True, name=f"hold-{component}").start()
            holds.append(hold)
    return holds
