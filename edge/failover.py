"""Failover across a target's origin members: which to try, in what order, and resuming a body.

`Origins.open` is the fetch stage's one way to an origin: the access guard (edge.boundary), the
per-edge fetch cap, then the members in order, each asked by edge.origins.OriginClient. A POP
asks the Origin Shield first (so POPs' misses meet in one cache), then the group's members
nearest-first unless the group is pinned. GET/HEAD/OPTIONS fail over, as on CloudFront, on
connection errors, timeouts and the group's failover status codes; other methods go to the first
origin only, never through the shield.

`candidates` walks the members in order, skipping the ones health knows are down (no timeout
paid) and claiming a half-open member's single probe slot; when every member is down it falls
back to trying them all, since answering 502 without asking anyone helps no viewer.

A held LL-HLS request (edge.ll_hls: a blocking playlist reload, a part request) waits the group's
`ll_hold_timeout` for its first byte instead of its response timeout. Waiting is what the origin
was asked to do, so neither the wait, nor a hold that runs out (OriginTimeout), nor the origin's
503 when its own bounded hold ends fails over or counts against the origin's health; an origin
that dies mid-hold (its connection breaks) is failed over as any other.

A body that breaks mid-way is resumed from the next member with `Range`, starting `OVERLAP`
bytes early (`ResumingBody`): the resumed response is accepted only when it reports the same
total length and its first bytes equal the ones already received. Regional origins that encode
independently (live) would differ there, and the fill then aborts rather than splice two files.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from edge.health import Checker, Health
from edge.origins import OriginClient, OriginRequest, OriginResponse, Timeouts
from streaming.config import Distribution, Edge, HealthPolicy, Origin, OriginGroup
from streaming.errors import OriginError, OriginTimeout, Unavailable

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("edge.failover")

FAILOVER_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # as CloudFront: others never retry
OVERLAP = 16 * 1024
RESUMABLE_METHODS = frozenset({"GET"})
# The shield's answers name the region whose origin really filled them (edge.deliver sets it).
ORIGIN_REGION_HEADER = "x-origin-region"
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
# Validators of the broken response do not apply to another origin's copy.
DROPPED_ON_RESUME = frozenset({"if-none-match", "if-modified-since", "if-range", "range"})
# An origin's answer when a held LL-HLS request's part did not come within its bounded wait.
HELD_GAVE_UP = 503


class Origins:
    """The edge's view of the distribution's origins: ordered members, failover, a fetch cap."""

    def __init__(self, dist: Distribution, edge: Edge, client: httpx.AsyncClient) -> None:
        self._dist, self._edge, self._client = dist, edge, client
        self._origin_client = OriginClient(client, edge.pop)
        self._shield = shield_origin(dist, edge)  # POPs send misses to the shield first
        self._order = {
            b.target: ordered_members(dist, edge, b.target, self._shield) for b in dist.behaviors
        }
        self._groups = {b.target: dist.group(b.target) for b in dist.behaviors}
        policies = health_policies(dist, self._shield)
        self.health = Health(policies)
        watched = [*dist.origins, *([self._shield] if self._shield else [])]
        self.checker = Checker(
            self.health,
            [(o.id, o.url, policies[o.id]) for o in watched],
            self._origin_client.probe,
        )
        self._slots = asyncio.Semaphore(dist.edge.max_origin_fetches)
        self.in_flight = 0
        # Installed by the pipeline (edge.boundary): refuses a request before it is signed.
        self.guard: Callable[[OriginRequest], None] | None = None

    def members(self, target: str) -> tuple[Origin, ...]:
        return self._order[target]

    async def open(self, request: OriginRequest) -> OriginResponse:
        """Open a response from the first member that answers acceptably, failing over on
        connection errors, timeouts and the group's failover status codes (GET/HEAD/OPTIONS)."""
        if self.guard is not None:
            self.guard(request)
        group = self._groups[request.target]
        timeouts = self.timeouts(request)
        try:
            async with asyncio.timeout(timeouts.response):
                await self._slots.acquire()
        except TimeoutError:
            raise Unavailable("too many concurrent origin fetches at this edge") from None
        self.in_flight += 1
        try:
            response = await self._open_failover(request, group, timeouts)
        except BaseException:
            self._release()
            raise
        response.on_close = self._release
        return response

    def timeouts(self, request: OriginRequest) -> Timeouts:
        """The request's target's timeouts; a held LL-HLS request may wait its hold."""
        timeouts = Timeouts.of(self._groups[request.target], self._dist.edge)
        return timeouts.holding() if request.held else timeouts

    def _release(self) -> None:
        self.in_flight -= 1
        self._slots.release()

    async def _open_failover(
        self, request: OriginRequest, group: OriginGroup | None, timeouts: Timeouts
    ) -> OriginResponse:
        """Members in order, known-down ones skipped; the last failover-status answer is
        returned when no member does better, as CloudFront returns the secondary's."""
        failover = set(group.failover_status_codes) if group else set()
        members = self.members(request.target)
        if request.method not in FAILOVER_METHODS:
            members = self._dist.group_members(request.target)[:1]  # never retried, never shielded
        last_error: OriginError | None = None
        held: OriginResponse | None = None
        for origin in candidates(members, self.health):
            try:
                response = await self._open_member(origin, request, timeouts)
            except OriginError as exc:
                if request.held and isinstance(exc, OriginTimeout):
                    # It waited the whole hold: the part is late, not the origin slow; another
                    # origin would hold as long, and this one is no less healthy for it.
                    self.health.release(origin.id)
                    raise
                self.health.failed(origin.id, exc.detail)
                log.warning("%s; trying the next origin", exc.detail)
                last_error = exc
                continue
            # A held request's 503: the origin's bounded hold ended, a word and not a failure.
            gave_up = request.held and response.status == HELD_GAVE_UP
            if health_failure(response.status) and not gave_up:
                self.health.failed(origin.id, f"HTTP {response.status}")
            else:
                self.health.succeeded(origin.id)
            if held is not None:
                await held.aclose()
            held = response
            if response.status in failover and not gave_up:
                log.warning("origin %s answered %s; failing over", origin.id, response.status)
                continue
            if request.method in RESUMABLE_METHODS and response.status == 200 and response.length:
                response.body = ResumingBody(
                    response, request, members, timeouts, self._origin_client, self.health
                )
            return response
        if held is not None:
            return held
        raise last_error or OriginError("no origin configured")

    async def _open_member(
        self, origin: Origin, request: OriginRequest, timeouts: Timeouts
    ) -> OriginResponse:
        response = await self._origin_client.open(origin, request, timeouts)
        if origin == self._shield and (region := response.headers.get(ORIGIN_REGION_HEADER)):
            response.origin = origin.model_copy(update={"region": region})  # who really filled it
        return response


class ResumingBody:
    """A GET body that, when its member breaks, continues from the next member that verifiably
    has the same object: it owns the members broken so far (each is tried at most once) and the
    splice of the resumed bytes onto the ones already received."""

    def __init__(
        self,
        first: OriginResponse,
        request: OriginRequest,
        members: tuple[Origin, ...],
        timeouts: Timeouts,
        client: OriginClient,
        health: Health,
    ) -> None:
        assert first.length is not None
        self._first, self._origin, self._total = first.body, first.origin, first.length
        self._request, self._members, self._timeouts = request, members, timeouts
        self._client, self._health = client, health
        self._broken: set[str] = set()
        self._replacements: list[OriginResponse] = []

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes in order; raises OriginError when no member can continue it, so a
        short body never passes as whole."""
        origin, splice, received, tail = self._origin, None, 0, b""
        stream = self._first.chunks()
        while True:
            try:
                raw = await anext(stream, None)
            except OriginError as exc:
                self._broken.add(origin.id)
                resumed, splice = await self._resume(origin, received, tail, exc)
                self._replacements.append(resumed)
                origin, stream = resumed.origin, resumed.chunks()
                continue
            if raw is None:
                break
            chunk = splice.feed(raw) if splice is not None else raw  # raises on a different copy
            if chunk:
                received += len(chunk)
                tail = (tail + chunk)[-OVERLAP:]
                yield chunk
        if splice is not None and not splice.verified:
            raise OriginError(f"origin {origin.id} ended inside the resume overlap")

    async def _resume(
        self, broken: Origin, received: int, tail: bytes, error: OriginError
    ) -> tuple[OriginResponse, Splice]:
        """Open the rest of the body on a member not broken yet, checked by `resume_start`."""
        self._health.failed(broken.id, error.detail)
        log.warning(
            "%s after %d bytes of %s; resuming from the next origin",
            error.detail,
            received,
            self._request.path,
        )
        headers = resume_headers(self._request.headers, received, len(tail))
        ranged = replace(self._request, headers=headers, body=None)  # keeps `accepted`
        others = tuple(o for o in self._members if o.id not in self._broken)
        for origin in candidates(others, self._health):
            try:
                response = await self._client.open(origin, ranged, self._timeouts)
            except OriginError as exc:
                self._health.failed(origin.id, exc.detail)
                continue
            try:
                start = resume_start(
                    origin.id,
                    response.status,
                    response.headers.get("content-range"),
                    response.length,
                    received - len(tail),
                    self._total,
                )
            except OriginError:
                await response.aclose()
                raise
            self._health.succeeded(origin.id)
            return response, Splice(origin.id, received, tail, start)
        raise error

    async def aclose(self) -> None:
        for replacement in self._replacements:
            await replacement.aclose()
        await self._first.aclose()


def shield_origin(dist: Distribution, edge: Edge) -> Origin | None:
    """The shield as an origin member for POP `edge`, or None (no shield, or this is the shield)."""
    shield = dist.shield
    if shield is None or edge.role == "shield":
        return None
    return Origin(id=shield.pop, region=shield.region, url=shield.url)


def ordered_members(
    dist: Distribution, edge: Edge, target: str, shield: Origin | None
) -> tuple[Origin, ...]:
    """The members `target`'s requests try, in order: the shield first, then the group."""
    members = dist.group_members(target)
    group = dist.group(target)
    if group is not None and group.order == "nearest":
        # Nearest first: this edge's region, then the configured order (a stable sort).
        members = tuple(sorted(members, key=lambda o: o.region != edge.region))
    return (shield, *members) if shield is not None else members


def health_policies(dist: Distribution, shield: Origin | None) -> dict[str, HealthPolicy]:
    """Each origin's health policy comes from the first group listing it (else the defaults)."""
    policies = {o.id: HealthPolicy() for o in dist.origins}
    for group in reversed(dist.origin_groups):
        for member in group.members:
            policies[member] = group.health
    if shield is not None:
        policies[shield.id] = dist.origin_groups[0].health if dist.origin_groups else HealthPolicy()
    return policies


def candidates(members: tuple[Origin, ...], health: Health) -> Iterator[Origin]:
    """Members to try, in order; admission is claimed lazily, one member at a time."""
    admitted = False
    for origin in members:
        if health.admit(origin.id):
            admitted = True
            yield origin
    if not admitted:
        yield from members


def health_failure(status: int) -> bool:
    """5xx says the origin is unwell; a 4xx failover (403/404) only says it lacks this object."""
    return status >= 500


def resume_headers(headers: dict[str, str], received: int, overlap: int) -> dict[str, str]:
    """The original request's headers asking for the rest of the body, `overlap` bytes early."""
    kept = {k: v for k, v in headers.items() if k.lower() not in DROPPED_ON_RESUME}
    kept["range"] = f"bytes={received - overlap}-"
    return kept


class Splice:
    """Checks a resumed response against what was already received, then passes the rest through.

    `start` is the byte offset the resumed body begins at (0 for a full 200 answer), `tail` the
    last bytes already received, ending at offset `received`.
    """

    def __init__(self, origin: str, received: int, tail: bytes, start: int) -> None:
        self._origin, self._tail = origin, tail
        self._skip = received - len(tail) - start  # bytes before the overlap (a 200 answer)
        self._pending = bytearray()

    @property
    def verified(self) -> bool:
        return self._skip <= 0 and not self._tail

    def feed(self, chunk: bytes) -> bytes:
        """Return the new bytes in `chunk` (after the overlap); raise if the overlap differs."""
        if self._skip > 0:
            dropped = min(self._skip, len(chunk))
            self._skip -= dropped
            chunk = chunk[dropped:]
        if self._tail:
            take = min(len(self._tail), len(chunk))
            if chunk[:take] != self._tail[:take]:
                raise OriginError(
                    f"origin {self._origin} has a different copy; cannot resume the body"
                )
            self._tail, chunk = self._tail[take:], chunk[take:]
        return chunk


def resume_start(
    origin: str,
    status: int,
    content_range: str | None,
    length: int | None,
    asked_from: int,
    total: int,
) -> int:
    """Where a resumed body starts: `asked_from` for a matching 206, 0 for a same-length 200."""
    if status == 206:
        match = _CONTENT_RANGE.match(content_range or "")
        if match and int(match.group(1)) == asked_from and int(match.group(3)) == total:
            return asked_from
        raise OriginError(
            f"origin {origin} answered the resume with {content_range!r}, not {asked_from}-/{total}"
        )
    if status == 200 and length == total:
        return 0
    raise OriginError(f"origin {origin} cannot resume the body (HTTP {status})")
