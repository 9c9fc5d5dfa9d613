"""Fetching from origins: member order by region, failover, a fetch cap, streamed bodies.

The only module that touches httpx: its exceptions become OriginError / OriginTimeout here,
both when a response is opened and while its body streams.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from streaming.config import Distribution, Edge, Origin, OriginGroup
from streaming.errors import OriginError, OriginTimeout, Unavailable

log = logging.getLogger("edge.origins")

# What a cached object keeps of the origin's headers; Set-Cookie and hop-by-hop never.
KEPT_HEADERS = frozenset({
    "content-type", "cache-control", "expires", "etag", "last-modified", "content-encoding",
    "content-language", "content-disposition", "access-control-allow-origin", "vary",
    "content-digest", "repr-digest", "digest",
})  # fmt: skip
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
    "upgrade", "host", "content-length",
})  # fmt: skip
FAILOVER_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # as CloudFront: others never retry
CHUNK = 64 * 1024


@dataclass(slots=True)
class OriginRequest:
    """What the pipeline asks of an origin; headers are already filtered by the behavior."""

    target: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: AsyncIterator[bytes] | None = None


@dataclass(slots=True)
class OriginResponse:
    """An opened origin response whose body has not been read yet."""

    status: int
    headers: dict[str, str]  # every non-hop-by-hop header but Set-Cookie, lower-case
    cookies: list[str]  # Set-Cookie values, only ever relayed on pass-through behaviors
    length: int | None
    origin: Origin
    started: float
    _response: httpx.Response = field(repr=False)
    on_close: Callable[[], None] | None = field(default=None, repr=False)
    _closed: bool = False

    def kept_headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k in KEPT_HEADERS}

    async def chunks(self) -> AsyncIterator[bytes]:
        """The raw body as it arrives (no decoding); a broken stream raises OriginError."""
        with _translate(self.origin):
            async for chunk in self._response.aiter_raw(CHUNK):
                if chunk:
                    yield chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                await self._response.aclose()
            finally:
                if self.on_close is not None:
                    self.on_close()


@contextmanager
def _translate(origin: Origin) -> Iterator[None]:
    """The only place httpx exceptions exist: they become OriginError / OriginTimeout."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise OriginTimeout(f"origin {origin.id} timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise OriginError(f"origin {origin.id} failed ({type(exc).__name__})") from None


class Origins:
    """The edge's view of the distribution's origins: ordered members, one client, a cap."""

    def __init__(self, dist: Distribution, edge: Edge, client: httpx.AsyncClient) -> None:
        self._dist, self._edge, self._client = dist, edge, client
        self._order = {b.target: self._ordered(b.target) for b in dist.behaviors}
        self._groups = {b.target: dist.group(b.target) for b in dist.behaviors}
        self._slots = asyncio.Semaphore(dist.edge.max_origin_fetches)
        self.in_flight = 0
        self.via = f"1.1 {edge.pop} (streaming-cdn)"

    def _ordered(self, target: str) -> tuple[Origin, ...]:
        members = self._dist.group_members(target)
        group = self._dist.group(target)
        if group is None or group.order == "pinned":
            return members
        # Nearest first: this edge's region, then the configured order (a stable sort).
        return tuple(sorted(members, key=lambda o: o.region != self._edge.region))

    def members(self, target: str) -> tuple[Origin, ...]:
        return self._order[target]

    async def open(self, request: OriginRequest) -> OriginResponse:
        """Open a response from the first member that answers acceptably, failing over on
        connection errors, timeouts and the group's failover status codes (GET/HEAD/OPTIONS)."""
        group = self._groups[request.target]
        timeout = group.response_timeout if group else 10.0
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout)
        except TimeoutError:
            raise Unavailable("too many concurrent origin fetches at this edge") from None
        self.in_flight += 1
        try:
            response = await self._open_failover(request, group)
        except BaseException:
            self._release()
            raise
        response.on_close = self._release
        return response

    def _release(self) -> None:
        self.in_flight -= 1
        self._slots.release()

    async def _open_failover(self, request: OriginRequest, group: OriginGroup | None) -> OriginResponse:
        failover = set(group.failover_status_codes) if group else set()
        members = self.members(request.target)
        if request.method not in FAILOVER_METHODS:
            members = members[:1]
        last_error: OriginError | None = None
        for origin in members:
            try:
                response = await self._open_one(origin, group, request)
            except OriginError as exc:
                log.warning("%s; trying the next origin", exc.detail)
                last_error = exc
                continue
            if response.status in failover and origin is not members[-1]:
                log.warning("origin %s answered %s; failing over", origin.id, response.status)
                await response.aclose()
                continue
            return response
        raise last_error or OriginError("no origin configured")

    def origin_headers(self, origin: Origin, request: OriginRequest) -> dict[str, str]:
        """The headers one origin receives: the request's plus the edge's own Via.

        Per-origin additions (e.g. signing for origin access control) belong here.
        """
        headers = dict(request.headers)
        headers["via"] = self.via
        return headers

    async def _open_one(
        self, origin: Origin, group: OriginGroup | None, request: OriginRequest
    ) -> OriginResponse:
        connect = group.connect_timeout if group else 2.0
        read = group.response_timeout if group else 10.0
        url = origin.url + request.path + (f"?{request.query}" if request.query else "")
        started = time.monotonic()
        outgoing = self._client.build_request(
            request.method, url, headers=self.origin_headers(origin, request), content=request.body,
            timeout=httpx.Timeout(read, connect=connect),
        )  # fmt: skip
        with _translate(origin):
            response = await self._client.send(outgoing, stream=True)
        headers = {
            k.lower(): v for k, v in response.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "set-cookie"
        }  # fmt: skip
        cookies = response.headers.get_list("set-cookie")
        length = response.headers.get("content-length")
        chunked = "chunked" in response.headers.get("transfer-encoding", "").lower()
        size = int(length) if length and length.isdigit() and not chunked else None
        return OriginResponse(response.status_code, headers, cookies, size, origin, started, response)
