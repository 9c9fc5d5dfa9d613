"""Who the viewer is: the TCP peer, or, behind trusted proxies, the client they name.

`X-Forwarded-For` and the geo country header (`geo_restriction.country_header`) can be written
by anyone, so they count only when the TCP peer is in `trusted_proxies`, or, at the shield,
when the request is signed by a POP of the distribution (the POP resolved its viewer already).
Then the client is the right-most X-Forwarded-For address that is not itself a trusted proxy:
each proxy appends the peer it saw, so the walk from the right stops at the first hop no
trusted proxy vouches for. A hop that is not an address ends the walk at the proxy that sent
it. From any other peer the country header is dropped and the peer is the client.

`ViewerAddress.scope` runs on the raw ASGI scope before the pipeline, so every stage (firewall,
geo, rate limit, a policy's IpAddress, edge functions, the access log) sees one client address.
The X-Forwarded-For it passes on keeps only the hops left of the client; the pipeline appends
the client itself when it forwards the request, so an origin or the shield reads the client as
the right-most hop.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable

from starlette.types import Scope

from edge import shield
from edge.authorize import ViewerFacts
from edge.viewer import Viewer
from streaming.config import Distribution, Edge
from streaming.errors import AccessDenied

FORWARDED_FOR = b"x-forwarded-for"
MAX_HOPS = 32  # a longer chain is walked from the right this far only

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`, `[::1]:80`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The `trusted_proxies` networks."""

    def __init__(self, cidrs: Iterable[str]) -> None:
        self._networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in net for net in self._networks)

    def client(self, peer: str, forwarded_for: str, peer_trusted: bool) -> tuple[str, str]:
        """(the client address, the X-Forwarded-For hops left of it) for a request from `peer`."""
        hops = [h.strip() for h in forwarded_for.split(",")] if forwarded_for else []
        client, trusted = peer, peer_trusted or self.trusts(parse_address(peer))
        walked = 0
        while trusted and hops and walked < MAX_HOPS:
            hop = parse_address(hops[-1])
            if hop is None:
                break  # not written by a proxy: the last trusted address stays the client
            client, trusted, walked = str(hop), self.trusts(hop), walked + 1
            hops.pop()
        return client, ", ".join(h for h in hops if h)


class ViewerAddress:
    """Rewrites a viewer scope's client and forwarding headers once, before the pipeline."""

    def __init__(
        self, dist: Distribution, edge: Edge, clock: Callable[[], float] = time.time
    ) -> None:
        self.dist, self.clock = dist, clock
        self.proxies = TrustedProxies(dist.trusted_proxies)
        self.is_shield = edge.role == "shield"
        header = dist.geo_restriction.country_header
        self._country = header.lower().encode("latin-1") if header else None
        self._idle = not (self.proxies or self.is_shield or self._country)

    def scope(self, scope: Scope) -> Scope:
        """The scope the pipeline sees: the resolved client; unvouched headers removed."""
        if self._idle:
            return scope
        peer, port = scope.get("client") or ("", 0)
        if not self._vouched(peer, scope):
            if self._country is None:
                return scope
            kept = [(k, v) for k, v in scope["headers"] if k.lower() != self._country]
            return {**scope, "headers": kept}
        forwarded = [v for k, v in scope["headers"] if k.lower() == FORWARDED_FOR]
        if not forwarded:
            return scope
        joined = b", ".join(forwarded).decode("latin-1")
        client, left = self.proxies.client(peer, joined, peer_trusted=True)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != FORWARDED_FOR]
        if left:
            headers.append((FORWARDED_FOR, left.encode("latin-1")))
        return {**scope, "client": (client, port if client == peer else 0), "headers": headers}

    def _vouched(self, peer: str, scope: Scope) -> bool:
        """A trusted proxy's request, or at the shield one a POP signed."""
        if self.proxies.trusts(parse_address(peer)):
            return True
        if not self.is_shield:
            return False
        try:
            shield.admit(self.dist, ViewerFacts.of(Viewer.from_scope(scope)), self.clock())
        except AccessDenied:
            return False  # the pipeline refuses it with the reason
        return True
