"""Admission at the Origin Shield tier: one edge process (role `shield`) between POPs and origins.

POPs ask the shield before the origins (edge.failover orders it first), so their misses meet in
its cache and collapser and reach the origins once for all POPs; when the shield is down,
failover takes the POPs straight to the origins. The shield answers POPs only: each POP signs its
shield requests (the origin-access-control HMAC keyed with the distribution's admin token), and
the shield skips viewer checks for a signed request, since the POP already ran them.
"""

from __future__ import annotations

from edge.authorize import Access, ViewerFacts
from streaming import origin_access
from streaming.config import Distribution, Secret
from streaming.errors import AccessDenied


def signing_secret(dist: Distribution) -> Secret:
    """What POPs sign shield requests with: a secret every process of the distribution holds."""
    return dist.admin_token


def admit(dist: Distribution, facts: ViewerFacts, now: float) -> Access:
    """At the shield: accept a request signed by a POP of the distribution, else AccessDenied."""
    target = facts.raw_path + (f"?{facts.raw_query}" if facts.raw_query else "")
    pop = origin_access.verify(signing_secret(dist), facts.method, target, facts.headers, now)
    if pop not in {e.pop for e in dist.pops}:
        raise AccessDenied("unknown_pop", f"{pop!r} is not a POP of this distribution")
    return Access(facts.raw_query)
