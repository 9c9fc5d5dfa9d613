"""The Origin Shield tier: one edge process (role `shield`) between every POP and the origins.

POPs list the shield as the first member of every origin group, so their misses meet in its
cache and collapser and reach the origins once for all POPs; when the shield is down, failover
takes the POPs straight to the origins. The shield answers POPs only: each POP signs its shield
requests (the origin-access-control HMAC keyed with the distribution's admin token), and the
shield skips viewer checks for a signed request, since the POP already ran them.
"""

from __future__ import annotations

from edge.authorize import Access, ViewerFacts
from streaming import origin_access
from streaming.config import Distribution, Edge, Origin, Secret
from streaming.errors import AccessDenied

ORIGIN_REGION_HEADER = "x-origin-region"


def shield_origin(dist: Distribution, edge: Edge) -> Origin | None:
    """The shield as an origin member for POP `edge`, or None (no shield, or this is the shield)."""
    shield = dist.shield
    if shield is None or edge.role == "shield":
        return None
    return Origin(id=shield.pop, region=shield.region, url=shield.url)


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
