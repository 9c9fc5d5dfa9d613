"""One request to one origin member: the edge's HTTP client for origins.

`OriginClient.open` sends an `OriginRequest` to one member and returns its `OriginResponse`
with the body unread; `MemberBody` reads that body raw, as it arrives. Which members a request
tries, in what order, and resuming a body that breaks belong to edge.failover.

The httpx boundary of origin fetches: httpx exceptions become OriginError / OriginTimeout here
(`_translate`), both when a response is opened and while its body streams. The other httpx users
in edge/ never read an origin's answer: app.py builds the shared client, origin_auth.py signs its
requests (an httpx.Auth), spool.py is a request body it sends, invalidation.py polls the control
plane, and failover.py names the client type only to hand it here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

import httpx

from edge.classify import Route
from streaming.config import EdgeSettings, Origin, OriginGroup
from streaming.errors import OriginError, OriginTimeout

# Never passed on (RFC 9110 §7.6.1), nor is any header the response's Connection names.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
    "upgrade", "host", "content-length",
})  # fmt: skip
CHUNK = 64 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
PATH_SAFE = "/:@!$&'()*+,;=-._~"


@dataclass(slots=True)
class OriginRequest:
    """What the pipeline asks of an origin; headers are already filtered by the behavior."""

    target: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: AsyncIterator[bytes] | None = None
    accepted: Route | None = None  # the behavior that authorized it (checked by Origins.guard)
    held: bool = False  # the origin may hold it (LL-HLS blocking reload, part): edge.ll_hls


class OriginBody(Protocol):
    """An origin response's body: its chunks as they arrive, then closed."""

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class MemberBody:
    """One member's body straight off the connection (no decoding), httpx errors translated."""

    def __init__(self, origin: Origin, response: httpx.Response, chunk: int | None = CHUNK) -> None:
        self.origin, self._response, self._chunk = origin, response, chunk

    async def chunks(self) -> AsyncIterator[bytes]:
        stream = self._response.aiter_raw(self._chunk)
        while True:
            with _translate(self.origin):
                raw = await anext(stream, None)
            if raw is None:
                return
            yield raw

    async def aclose(self) -> None:
        await self._response.aclose()


@dataclass(slots=True)
class OriginResponse:
    """An opened origin response whose body has not been read yet."""

    status: int
    headers: dict[str, str]  # every end-to-end header but Set-Cookie, lower-case
    cookies: list[str]  # Set-Cookie values, only ever relayed on pass-through behaviors
    length: int | None
    origin: Origin
    started: float
    # One member's body; edge.failover wraps it in a body that resumes on another member.
    body: OriginBody = field(repr=False)
    on_close: Callable[[], None] | None = field(default=None, repr=False)
    _closed: bool = False

    def chunks(self) -> AsyncIterator[bytes]:
        """The raw body as it arrives (no decoding); a break raises OriginError."""
        return self.body.chunks()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                await self.body.aclose()
            finally:
                if self.on_close is not None:
                    self.on_close()


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long one member may take to connect and to answer, and how often to connect."""

    connect: float
    response: float  # to the first byte, and the longest idle gap between body chunks
    attempts: int
    hold: float = 0.0  # to the first byte of a held LL-HLS request (edge.ll_hls)

    @classmethod
    def of(cls, group: OriginGroup | None, settings: EdgeSettings) -> Timeouts:
        """A group's own timeouts; a single-origin target gets the edge's defaults."""
        if group is None:
            return cls(
                settings.origin_connect_timeout, settings.origin_response_timeout, 1,
                settings.origin_ll_hold_timeout,
            )  # fmt: skip
        return cls(group.connect_timeout, group.response_timeout, group.attempts,
                   group.ll_hold_timeout)  # fmt: skip

    def holding(self) -> Timeouts:
        """These timeouts for a held request: the first byte may take the hold timeout."""
        return Timeouts(self.connect, max(self.response, self.hold), self.attempts, self.hold)


@contextmanager
def _translate(origin: Origin) -> Iterator[None]:
    """The only place httpx exceptions of origin fetches exist: they become OriginError /
    OriginTimeout."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise OriginTimeout(f"origin {origin.id} timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise OriginError(f"origin {origin.id} failed ({type(exc).__name__})") from None
    except AttributeError as exc:
        # httpcore reads the peer address of a socket the kernel already closed when the origin
        # dies while the connection opens ('NoneType' object has no attribute 'getpeername'):
        # a lost connection, so the next member is tried, as for any other.
        if "NoneType" not in str(exc):
            raise
        raise OriginError(f"origin {origin.id} failed (connection lost while opening)") from None


class OriginClient:
    """Sends one request to one member over the edge's shared client (it adds only Via)."""

    def __init__(self, client: httpx.AsyncClient, pop: str) -> None:
        self._client = client
        self.via = f"1.1 {pop} (streaming-cdn)"

    def origin_headers(self, origin: Origin, request: OriginRequest) -> dict[str, str]:
        """The headers one origin receives: the request's plus the edge's own Via.

        Per-origin additions (e.g. signing for origin access control) belong here.
        """
        headers = dict(request.headers)
        headers["via"] = self.via
        return headers

    async def open(
        self, origin: Origin, request: OriginRequest, timeouts: Timeouts
    ) -> OriginResponse:
        """The member's answer, body unread; connection failures are retried `attempts` times
        (a request with a body is sent once), then raise OriginError / OriginTimeout."""
        # The path is decoded (ASGI); encode it once more so the origin sees what the viewer sent.
        url = (
            origin.url
            + quote(request.path, safe=PATH_SAFE)
            + (f"?{request.query}" if request.query else "")
        )
        started = time.monotonic()
        response = await self._send(origin, request, url, timeouts)
        hop = HOP_BY_HOP | {
            t.strip().lower() for t in response.headers.get("connection", "").split(",")
        }
        headers = {
            k.lower(): v for k, v in response.headers.items()
            if k.lower() not in hop and k.lower() != "set-cookie"
        }  # fmt: skip
        cookies = response.headers.get_list("set-cookie")
        length = response.headers.get("content-length")
        chunked = "chunked" in response.headers.get("transfer-encoding", "").lower()
        size = int(length) if length and length.isdigit() and not chunked else None
        # A held body (an LL-HLS part sent as the encoder makes it) is passed on as each read
        # returns: whole chunks would keep its first bytes until CHUNK of them had come.
        chunk = None if request.held else CHUNK
        return OriginResponse(
            response.status_code, headers, cookies, size, origin, started,
            MemberBody(origin, response, chunk),
        )  # fmt: skip

    async def _send(
        self, origin: Origin, request: OriginRequest, url: str, timeouts: Timeouts
    ) -> httpx.Response:
        """Connection failures are retried `attempts` times (a request with a body is sent
        once). An idempotent request that breaks on a reused connection (its previous answer
        overran its length, the origin closed it idle) is sent once more on a fresh one."""
        attempts = timeouts.attempts if request.body is None else 1
        reused_retry = request.body is None and request.method in IDEMPOTENT
        attempt = 0
        while True:
            attempt += 1
            outgoing = self._client.build_request(
                request.method, url, headers=self.origin_headers(origin, request),
                content=request.body,
                timeout=httpx.Timeout(timeouts.response, connect=timeouts.connect),
            )  # fmt: skip
            with _translate(origin):
                try:
                    return await self._client.send(outgoing, stream=True)
                except (httpx.ConnectError, httpx.ConnectTimeout):
                    if attempt >= attempts:
                        raise
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    if not reused_retry:
                        raise
                    reused_retry = False  # once: the pool hands out a fresh connection now

    async def probe(self, url: str, path: str, timeout: float) -> str | None:
        """One active health check (edge.health.Checker): None when healthy, else why not."""
        try:
            response = await self._client.get(url + path, timeout=timeout)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return None if response.status_code == 200 else f"HTTP {response.status_code}"
