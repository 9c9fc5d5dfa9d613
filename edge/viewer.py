"""The viewer request, read once from the ASGI scope into a small typed value."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.types import Receive, Scope

from streaming.errors import BadRequest


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
    request_id: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    started: float = field(default_factory=time.monotonic)
    received_at: float = field(default_factory=time.time)
    country: str | None = None

    @classmethod
    def from_scope(cls, scope: Scope) -> Viewer:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name not in headers:
                headers[name] = value
            elif name == "cookie":  # HTTP/2 and HTTP/3 clients send one field per cookie
                headers[name] = f"{headers[name]}; {value}"  # RFC 9113 §8.2.3, RFC 9114 §4.2.1
            else:
                headers[name] = f"{headers[name]}, {value}"
        client = scope.get("client") or ("", 0)
        return cls(
            method=scope["method"], path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"), headers=headers,
            client_ip=client[0], client_port=client[1],
            http_version=scope.get("http_version", "1.1"), scheme=scope.get("scheme", "http"),
            uri=scope["path"],
        )  # fmt: skip

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
