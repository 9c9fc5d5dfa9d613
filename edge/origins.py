"""Fetching from origins: member order by region, failover, a fetch cap, streamed bodies.

The only module that touches httpx: its exceptions become OriginError / OriginTimeout here,
both when a response is opened and while its body streams.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from edge.classify import Route
from edge.failover import (
    OVERLAP,
    RESUMABLE_METHODS,
    Splice,
    candidates,
    health_failure,
    resume_headers,
    resume_start,
)
from edge.health import Checker, Health
from edge.shield import ORIGIN_REGION_HEADER, shield_origin
from streaming.config import Distribution, Edge, HealthPolicy, Origin, OriginGroup
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
    # Set by Origins for a resumable GET: opens the rest of the body on another member.
    resume: (
        Callable[
            [OriginResponse, int, bytes, OriginError, frozenset[str]],
            Awaitable[tuple[OriginResponse, Splice]],
        ]
        | None
    ) = field(default=None, repr=False)
    _replacements: list[OriginResponse] = field(default_factory=list, repr=False)

    def kept_headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k in KEPT_HEADERS}

    async def chunks(self) -> AsyncIterator[bytes]:
        """The raw body as it arrives (no decoding). A stream that breaks is resumed from another
        member when that member verifiably has the same object (edge.failover), each member at
        most once; otherwise the break raises OriginError, so a short body never passes as whole."""
        current, splice, received, tail = self, None, 0, b""
        broken: set[str] = set()
        stream = current._response.aiter_raw(CHUNK)
        while True:
            try:
                with _translate(current.origin):
                    raw = await anext(stream, None)
            except OriginError as exc:
                if self.resume is None or self.length is None:
                    raise
                broken.add(current.origin.id)
                current, splice = await self.resume(current, received, tail, exc, frozenset(broken))
                self._replacements.append(current)
                stream = current._response.aiter_raw(CHUNK)
                continue
            if raw is None:
                break
            chunk = splice.feed(raw) if splice is not None else raw  # raises on a different copy
            if chunk:
                received += len(chunk)
                tail = (tail + chunk)[-OVERLAP:]
                yield chunk
        if splice is not None and not splice.verified:
            raise OriginError(f"origin {current.origin.id} ended inside the resume overlap")

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                for replacement in self._replacements:
                    await replacement._response.aclose()
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
        self._shield = shield_origin(dist, edge)  # POPs send misses to the shield first
        self._order = {b.target: self._ordered(b.target) for b in dist.behaviors}
        self._groups = {b.target: dist.group(b.target) for b in dist.behaviors}
        policies = _health_policies(dist, self._shield)
        self.health = Health(policies)
        watched = [*dist.origins, *([self._shield] if self._shield else [])]
        self.checker = Checker(
            self.health, [(o.id, o.url, policies[o.id]) for o in watched], self.probe
        )
        self._slots = asyncio.Semaphore(dist.edge.max_origin_fetches)
        self.in_flight = 0
        self.via = f"1.1 {edge.pop} (streaming-cdn)"
        # Installed by the pipeline (edge.boundary): refuses a request before it is signed.
        self.guard: Callable[[OriginRequest], None] | None = None

    def _ordered(self, target: str) -> tuple[Origin, ...]:
        members = self._dist.group_members(target)
        group = self._dist.group(target)
        if group is not None and group.order == "nearest":
            # Nearest first: this edge's region, then the configured order (a stable sort).
            members = tuple(sorted(members, key=lambda o: o.region != self._edge.region))
        return (self._shield, *members) if self._shield is not None else members

    def members(self, target: str) -> tuple[Origin, ...]:
        return self._order[target]

    async def open(self, request: OriginRequest) -> OriginResponse:
        """Open a response from the first member that answers acceptably, failing over on
        connection errors, timeouts and the group's failover status codes (GET/HEAD/OPTIONS)."""
        if self.guard is not None:
            self.guard(request)
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

    async def _open_failover(
        self, request: OriginRequest, group: OriginGroup | None
    ) -> OriginResponse:
        """Members in order, known-down ones skipped (edge.failover); the last failover-status
        answer is returned when no member does better, as CloudFront returns the secondary's."""
        failover = set(group.failover_status_codes) if group else set()
        members = self.members(request.target)
        if request.method not in FAILOVER_METHODS:
            members = self._dist.group_members(request.target)[:1]  # never retried, never shielded
        last_error: OriginError | None = None
        held: OriginResponse | None = None
        for origin in candidates(members, self.health):
            try:
                response = await self._open_one(origin, group, request)
            except OriginError as exc:
                self.health.failed(origin.id, exc.detail)
                log.warning("%s; trying the next origin", exc.detail)
                last_error = exc
                continue
            if health_failure(response.status):
                self.health.failed(origin.id, f"HTTP {response.status}")
            else:
                self.health.succeeded(origin.id)
            if held is not None:
                await held.aclose()
            held = response
            if response.status in failover:
                log.warning("origin %s answered %s; failing over", origin.id, response.status)
                continue
            if request.method in RESUMABLE_METHODS and response.status == 200 and response.length:
                response.resume = functools.partial(
                    self._resume, request, group, members, response.length
                )
            return response
        if held is not None:
            return held
        raise last_error or OriginError("no origin configured")

    async def _resume(
        self,
        request: OriginRequest,
        group: OriginGroup | None,
        members: tuple[Origin, ...],
        total: int,
        broken: OriginResponse,
        received: int,
        tail: bytes,
        error: OriginError,
        exclude: frozenset[str],
    ) -> tuple[OriginResponse, Splice]:
        """Open the rest of a broken body on another member, verified by edge.failover."""
        self.health.failed(broken.origin.id, error.detail)
        log.warning(
            "%s after %d bytes of %s; resuming from the next origin",
            error.detail,
            received,
            request.path,
        )
        ranged = OriginRequest(request.target, request.method, request.path, request.query,
                               resume_headers(request.headers, received, len(tail)))  # fmt: skip
        others = tuple(o for o in members if o.id not in exclude)
        for origin in candidates(others, self.health):
            try:
                response = await self._open_one(origin, group, ranged)
            except OriginError as exc:
                self.health.failed(origin.id, exc.detail)
                continue
            try:
                start = resume_start(
                    origin.id,
                    response.status,
                    response.headers.get("content-range"),
                    response.length,
                    received - len(tail),
                    total,
                )
            except OriginError:
                await response._response.aclose()
                raise
            self.health.succeeded(origin.id)
            return response, Splice(origin.id, received, tail, start)
        raise error

    async def probe(self, url: str, path: str, timeout: float) -> str | None:
        """One active health check (edge.health.Checker): None when healthy, else why not."""
        try:
            response = await self._client.get(url + path, timeout=timeout)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return None if response.status_code == 200 else f"HTTP {response.status_code}"

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
        # The path is decoded (ASGI); encode it once more so the origin sees what the viewer sent.
        url = (
            origin.url
            + quote(request.path, safe=PATH_SAFE)
            + (f"?{request.query}" if request.query else "")
        )
        started = time.monotonic()
        attempts = group.attempts if group and request.body is None else 1
        for attempt in range(1, attempts + 1):
            outgoing = self._client.build_request(
                request.method,
                url,
                headers=self.origin_headers(origin, request),
                content=request.body,
                timeout=httpx.Timeout(read, connect=connect),
            )
            with _translate(origin):
                try:
                    response = await self._client.send(outgoing, stream=True)
                    break
                except (httpx.ConnectError, httpx.ConnectTimeout):
                    if attempt == attempts:
                        raise
        headers = {
            k.lower(): v for k, v in response.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "set-cookie"
        }  # fmt: skip
        if origin is self._shield and (region := response.headers.get(ORIGIN_REGION_HEADER)):
            origin = origin.model_copy(
                update={"region": region}
            )  # the region that really filled it
        cookies = response.headers.get_list("set-cookie")
        length = response.headers.get("content-length")
        chunked = "chunked" in response.headers.get("transfer-encoding", "").lower()
        size = int(length) if length and length.isdigit() and not chunked else None
        return OriginResponse(
            response.status_code, headers, cookies, size, origin, started, response
        )


def _health_policies(dist: Distribution, shield: Origin | None) -> dict[str, HealthPolicy]:
    """Each origin's health policy comes from the first group listing it (else the defaults)."""
    policies = {o.id: HealthPolicy() for o in dist.origins}
    for group in reversed(dist.origin_groups):
        for member in group.members:
            policies[member] = group.health
    if shield is not None:
        policies[shield.id] = dist.origin_groups[0].health if dist.origin_groups else HealthPolicy()
    return policies
