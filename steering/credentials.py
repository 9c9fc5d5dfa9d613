"""The viewer's credentials on the steered master fetch: what a POP needs to verify them.

Steering stands in for the distribution's address (DNS in CloudFront), so the POP must see the
request as if the viewer had sent it to the distribution: the signing cookies, the signed URL's
query exactly as signed, and a Host that the credentials' Resource names (an edge builds the
resource as scheme://Host/path). Nothing else the viewer sent is forwarded; `Authorization`
only where the path's behavior accepts JWT bearer tokens, because only then does the POP read it.
Steering is a proxy, so it appends the viewer's address to `X-Forwarded-For`: a POP that lists
steering in `trusted_proxies` then applies IP conditions, geo and rate limits to the viewer, and
one that does not ignores the header. The country header is not passed on: steering cannot
vouch for it (the POP looks the forwarded address up itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from starlette.requests import cookie_parser

from streaming.config import Behavior, Distribution
from streaming.signing import COOKIE_PREFIX, SIGNING_PARAMS, URL_PARAMS, split_query

SIGNING_COOKIES = tuple(COOKIE_PREFIX + name for name in SIGNING_PARAMS)


@dataclass(frozen=True, slots=True)
class Upstream:
    """The headers and raw query string of the fetch from the POP."""

    headers: dict[str, str]
    query: str


@cache
def _pattern(path_pattern: str) -> re.Pattern[str]:
    """CloudFront path-pattern semantics, as the edge compiles them: `*` any run, `?` one."""
    body = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch)
        for ch in path_pattern.lstrip("/")
    )
    return re.compile(f"/?{body}", re.DOTALL)


def behavior_for(behaviors: tuple[Behavior, ...], path: str) -> Behavior:
    """The first behavior whose pattern matches `path` (the last one is always `*`)."""
    return next(b for b in behaviors if _pattern(b.path_pattern).fullmatch(path))


def presented_host(domain_names: tuple[str, ...], viewer_host: str) -> str | None:
    """The Host for the POP: the viewer's own when it is one of the distribution's names (or the
    distribution has none), else the first concrete domain name; None leaves the POP's address.

    A wildcard Resource (`*://*/...`, as the portal's login signs) verifies with any of these.
    """
    host = viewer_host.strip()
    bare = host.rsplit(":", 1)[0].lower() if not host.endswith("]") else host.lower()
    if not domain_names:
        return host or None
    for domain in domain_names:
        name = domain.lower()
        if bare == name or (name.startswith("*.") and bare.endswith(name[1:])):
            return host
    return next((d for d in domain_names if not d.startswith("*.")), None)


def upstream(
    dist: Distribution,
    path: str,
    headers: Mapping[str, str],
    raw_query: str,
    client_ip: str | None = None,
) -> Upstream:
    """The viewer's credentials for `path`, addressed so the POP can verify them."""
    out: dict[str, str] = {}
    if client_ip:
        hops = headers.get("x-forwarded-for", "").strip()
        out["x-forwarded-for"] = f"{hops}, {client_ip}" if hops else client_ip
    if host := presented_host(dist.domain_names, headers.get("host", "")):
        out["host"] = host
    cookies = cookie_parser(headers.get("cookie", ""))
    signing = [f"{name}={cookies[name]}" for name in SIGNING_COOKIES if name in cookies]
    if signing:
        out["cookie"] = "; ".join(signing)
    behavior = behavior_for(dist.behaviors, path)
    authorization = headers.get("authorization", "")
    if (
        behavior.jwt_bearer
        and behavior.trusted_key_groups
        and authorization[:7].lower() == "bearer "
    ):
        out["authorization"] = authorization
    params, _ = split_query(raw_query)
    # A signature covers the whole URL, so a signed query goes on exactly as the viewer sent it.
    query = raw_query if any(name in params for name in URL_PARAMS) else ""
    return Upstream(out, query)
