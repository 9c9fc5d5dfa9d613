"""The viewer request, read once from the ASGI scope into a small typed value."""

from __future__ import annotations

import itertools
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.types import Receive, Scope

from streaming.errors import BadRequest

_prefix = secrets.token_urlsafe(18)
_serial = itertools.count()


def request_id() -> str:
    """A request id unique across the POP's processes and restarts: a random prefix drawn per
    process, then a counter (an ASCII id a viewer may quote; it grants nothing, as in
    CloudFront). A counter instead of 24 fresh random bytes per request: the getrandom call
    and its encoding were a visible share of a hit."""
    return f"{_prefix}{next(_serial):010x}"


def _reseed() -> None:
    global _prefix, _serial
    _prefix, _serial = secrets.token_urlsafe(18), itertools.count()


os.register_at_fork(after_in_child=_reseed)  # forked workers never share a prefix


@dataclass(slots=True)
class Viewer:
    """What the stages need from a viewer request; edge functions may rewrite path and headers."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", " (Cookie "; ")
    client_ip: str  # the peer, or the client trusted proxies name (resolved in edge.forwarded)
    client_port: int  # 0 when the client is known only from X-Forwarded-For
    http_version: str
    scheme: str
    uri: str = ""  # the path as received, for the access log
    request_id: str = field(default_factory=request_id)
    started: float = field(default_factory=time.monotonic)
    received_at: float = field(default_factory=time.time)
    country: str | None = None
    header_bytes: int = -1  # of `headers` as received (-1: not counted yet, see `head_bytes`)

    @classmethod
    def from_scope(cls, scope: Scope) -> Viewer:
        headers: dict[str, str] = {}
        size = 0
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name not in headers:
                headers[name] = value
                size += len(name) + len(value)
                continue
            # counted as the joined value, as `head_bytes` counts it; HTTP/2 and HTTP/3 clients
            # send one field per cookie, joined with "; " (RFC 9113 §8.2.3, RFC 9114 §4.2.1)
            headers[name] = f"{headers[name]}{'; ' if name == 'cookie' else ', '}{value}"
            size += len(value) + 2
        client = scope.get("client") or ("", 0)
        path = scope["path"]
        query = scope.get("query_string", b"")
        return cls(
            scope["method"], path, query.decode("latin-1") if query else "", headers, client[0],
            client[1], scope.get("http_version", "1.1"), scope.get("scheme", "http"), path,
            header_bytes=size,
        )  # fmt: skip

    @property
    def head_bytes(self) -> int:
        """Bytes of header names and values the viewer sent (the 431 limit's measure)."""
        if self.header_bytes < 0:
            self.header_bytes = sum(len(k) + len(v) for k, v in self.headers.items())
        return self.header_bytes

    def for_page(self, path: str, keep: tuple[str, ...]) -> Viewer:
        """A GET (HEAD for HEAD) of `path` on this viewer's behalf, with only the `keep` headers:
        how the edge fetches a custom error page."""
        return Viewer(
            "HEAD" if self.method == "HEAD" else "GET", path, "",
            {k: v for k, v in self.headers.items() if k in keep},
            self.client_ip, self.client_port, self.http_version, self.scheme,
            uri=path, request_id=self.request_id,
        )  # fmt: skip

    @property
    def range(self) -> str | None:
        return self.headers.get("range")

    @property
    def origin(self) -> str | None:
        return self.headers.get("origin")


async def request_body(receive: Receive) -> AsyncIterator[bytes]:
    """The viewer's request body as it arrives (forwarded to origins on pass-through behaviors).

    A viewer that disconnects mid-body raises BadRequest: ending quietly would hand the origin a
    truncated body as if it were whole (the edge spools and signs a body before sending it).
    """
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("the viewer disconnected before its request body ended")
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            return
