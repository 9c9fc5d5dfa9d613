"""Fetching from origins: member order by region, failover, and httpx errors translated once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from streaming.config import Distribution, Edge, Origin, OriginGroup
from streaming.errors import OriginError, OriginTimeout

log = logging.getLogger("edge.origins")

# Only these reach the origin: identity (cookies, Authorization) and viewer ranges stay at the edge.
FORWARDED_HEADERS = ("user-agent",)
KEPT_HEADERS = (
    "content-type", "cache-control", "expires", "etag", "last-modified", "content-encoding",
    "content-language", "access-control-allow-origin",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fetched:
    """A complete origin response."""

    status: int
    headers: dict[str, str]
    body: bytes
    origin: Origin


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
    """The edge's view of the distribution's origins: ordered members and a shared client."""

    def __init__(self, dist: Distribution, edge: Edge, client: httpx.AsyncClient) -> None:
        self._dist, self._edge, self._client = dist, edge, client
        self._order = {
            b.target: self._ordered(b.target) for b in dist.behaviors
        }

    def _ordered(self, target: str) -> tuple[Origin, ...]:
        members = self._dist.group_members(target)
        group = self._dist.group(target)
        if group is None or group.order == "pinned":
            return members
        # Nearest first: this edge's region, then the configured order (a stable sort).
        return tuple(sorted(members, key=lambda o: o.region != self._edge.region))

    def members(self, target: str) -> tuple[Origin, ...]:
        return self._order[target]

    async def fetch(
        self, target: str, method: str, path: str, query: str, headers: dict[str, str]
    ) -> Fetched:
        """Fetch from the first member that answers acceptably, failing over on errors."""
        group = self._dist.group(target)
        failover = set(group.failover_status_codes) if group else set()
        forwarded = {k: v for k, v in headers.items() if k in FORWARDED_HEADERS}
        forwarded["via"] = f"1.1 {self._edge.pop} (streaming-cdn)"
        last_error: OriginError | None = None
        members = self.members(target)
        for origin in members:
            try:
                result = await self._fetch_one(origin, group, method, path, query, forwarded)
            except OriginError as exc:
                log.warning("%s; trying the next origin", exc.detail)
                last_error = exc
                continue
            if result.status in failover and origin is not members[-1]:
                log.warning("origin %s answered %s; failing over", origin.id, result.status)
                continue
            return result
        assert last_error is not None or not members
        raise last_error or OriginError("no origin configured")

    async def _fetch_one(
        self, origin: Origin, group: OriginGroup | None, method: str, path: str, query: str,
        headers: dict[str, str],
    ) -> Fetched:  # fmt: skip
        connect = group.connect_timeout if group else 2.0
        read = group.response_timeout if group else 10.0
        url = origin.url + path + (f"?{query}" if query else "")
        with _translate(origin):
            response = await self._client.request(
                method, url, headers=headers,
                timeout=httpx.Timeout(read, connect=connect),
            )  # fmt: skip
        kept = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
        return Fetched(response.status_code, kept, response.content, origin)
