"""Authorize a viewer request, before the cache is consulted.

Cheapest and broadest first: size limits → Host → viewer protocol policy → firewall → geo →
rate limit → signed URL, signed cookies or JWT bearer on behaviors with trusted key groups.
Each refusal is a StreamingError (403 with a reason, 414, 429, 431); the pipeline renders it
with `X-Cache: Error from <pop>`. Signing parameters never go further than this stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from urllib.parse import quote

from starlette.requests import cookie_parser

from edge.classify import Route
from edge.firewall import Firewall
from edge.geo import CountryLookup, check_country, lookup_for
from edge.ratelimit import RateLimiter, SharedRateLimiter
from streaming import bearer
from streaming.config import Distribution, Edge
from streaming.errors import AccessDenied, Misdirected
from streaming.keys import KeyRing
from streaming.signing import (
    URL_PARAMS,
    Credentials,
    Grant,
    SignedRequest,
    Verifier,
    credentials,
    split_query,
)

OWN_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
PATH_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 pchar: what a client sends unencoded
COOKIE_MEMO = 4096  # Cookie headers whose signing values are remembered, each of at most
MEMO_BYTES = 4096  # bytes (CloudFront's signing cookies take about 1 KB)


class ViewerLike(Protocol):
    """The viewer request as the pipeline holds it (edge.viewer.Viewer)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def client_ip(self) -> str: ...
    @property
    def scheme(self) -> str: ...


class ViewerFacts:
    """What access control reads from a viewer request, raw (as the viewer sent it).

    Built per request, so what only some rules read is computed on first use: the cookies (only
    behaviors with key groups read them) and the re-encoded path (memoised per path)."""

    __slots__ = ("method", "scheme", "host", "raw_query", "client_ip", "headers", "header_bytes",
                 "_path", "_raw_path", "_cookies")  # fmt: skip

    def __init__(
        self, method: str, scheme: str, host: str, raw_path: str | None, raw_query: str,
        client_ip: str, headers: Mapping[str, str], cookies: Mapping[str, str] | None = None,
        header_bytes: int | None = None, path: str = "",
    ) -> None:  # fmt: skip
        """`raw_path` None: `path` (decoded) re-encoded when first read."""
        self.method, self.scheme, self.host = method, scheme, host
        self.raw_query, self.client_ip, self.headers = raw_query, client_ip, headers
        self.header_bytes = (
            header_bytes if header_bytes is not None
            else sum(len(k) + len(v) for k, v in headers.items())
        )  # fmt: skip
        self._path, self._raw_path, self._cookies = path, raw_path, cookies

    @classmethod
    def of(cls, viewer: ViewerLike, raw_path: str | None = None) -> ViewerFacts:
        """From the pipeline's viewer; without the raw path, the decoded one is re-encoded."""
        headers = viewer.headers
        size = getattr(viewer, "head_bytes", None)
        return cls(
            viewer.method, viewer.scheme, headers.get("host", ""), raw_path, viewer.query,
            viewer.client_ip, headers, None, size, viewer.path,
        )  # fmt: skip

    @property
    def raw_path(self) -> str:
        if self._raw_path is None:
            path = self._path
            self._raw_path = _encoded(path) if len(path) <= MEMO_BYTES else _encode(path)
        return self._raw_path

    @property
    def cookies(self) -> Mapping[str, str]:
        if self._cookies is None:
            self._cookies = cookie_parser(self.headers.get("cookie", ""))
        return self._cookies

    def url(self, query: str) -> str:
        """The resource URL a signer would have signed: scheme and host as the viewer used them."""
        return f"{self.scheme}://{self.host}{self.raw_path}" + (f"?{query}" if query else "")


def _encode(path: str) -> str:
    """A decoded path as a client sends it."""
    return quote(path, safe=PATH_SAFE)


_encoded = lru_cache(maxsize=4096)(_encode)  # players repeat the same paths


@dataclass(frozen=True, slots=True)
class Access:
    """The outcome: the query to use from here on, the grant if signed, or a redirect."""

    query: str
    grant: Grant | None = None
    redirect: tuple[int, str] | None = None


class Authorizer:
    """Every access rule of the distribution for one POP, compiled once at start."""

    def __init__(
        self,
        dist: Distribution,
        edge: Edge,
        clock: Callable[[], float] = time.time,
        countries: CountryLookup | None = None,
    ) -> None:
        self.dist, self.edge, self.clock = dist, edge, clock
        self.firewall = Firewall(dist.firewall)
        self.countries = countries or lookup_for(dist.geo_restriction)
        self.limiter: RateLimiter | SharedRateLimiter = RateLimiter()  # shared: edge.app
        self.ring = KeyRing.from_config(dist.key_groups)
        self.verifier = Verifier(self.ring)
        self._domains = tuple(d.lower() for d in dist.domain_names)
        self._cookie_credentials: dict[str, Credentials | None] = {}  # Cookie header → values

    def authorize(self, facts: ViewerFacts, route: Route) -> Access:
        """Raise on refusal; otherwise say how the request continues."""
        behavior = route.behavior
        self.firewall.check_size(len(facts.raw_path) + len(facts.raw_query) + 1, facts.header_bytes)
        self._check_host(facts.host)
        if facts.scheme == "http" and behavior.viewer_protocol_policy != "allow-all":
            if behavior.viewer_protocol_policy == "https-only":
                raise AccessDenied("https_required", "this content is only served over HTTPS")
            status = 301 if facts.method in ("GET", "HEAD") else 307
            return Access(facts.raw_query, redirect=(status, self._https_url(facts)))
        self.firewall.check(facts.client_ip, facts.raw_path)
        if self.countries is not None:
            country = self.countries.country(facts.client_ip, facts.headers)
            check_country(self.dist.geo_restriction, country)
        now = self.clock()
        if behavior.rate_limit is not None:
            self.limiter.check(route.index, behavior.rate_limit, facts.client_ip, now)
        if not behavior.trusted_key_groups:
            return Access(facts.raw_query)
        params, rest = split_query(facts.raw_query)
        resource = facts.url(rest)
        trusted = behavior.trusted_key_groups
        token = bearer.bearer_token(facts.headers) if behavior.jwt_bearer else None
        if token is not None and not any(p in params for p in URL_PARAMS):
            return Access(rest, bearer.verify(token, self.ring, trusted, resource, now))
        if any(p in params for p in URL_PARAMS):
            found = credentials(params, facts.cookies)
        else:
            found = self._from_cookies(facts)
        signed = SignedRequest(resource, facts.client_ip, found)
        return Access(rest, self.verifier.verify(signed, trusted, now))

    def _from_cookies(self, facts: ViewerFacts) -> Credentials | None:
        """The signing cookies, remembered per Cookie header: a player sends the same header on
        every request, and parsing every cookie of it was most of a signed hit's extra cost."""
        header = facts.headers.get("cookie", "")
        if header in self._cookie_credentials:
            return self._cookie_credentials[header]
        found = credentials({}, facts.cookies)
        if len(header) <= MEMO_BYTES:  # the memo's size stays bounded whatever viewers send
            if len(self._cookie_credentials) >= COOKIE_MEMO:
                self._cookie_credentials.clear()
            self._cookie_credentials[header] = found
        return found

    def _check_host(self, host_header: str) -> None:
        """With domain names configured, answer only for them and for this edge's own address."""
        if not self._domains:
            return
        host = host_header.lower()
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host in OWN_HOSTS or host == self.edge.host:
            return
        for domain in self._domains:
            if host == domain or (domain.startswith("*.") and host.endswith(domain[1:])):
                return
        raise Misdirected("unknown_host", f"this distribution does not serve {host_header[:64]!r}")

    def _https_url(self, facts: ViewerFacts) -> str:
        host = facts.host.rsplit(":", 1)[0] if not facts.host.endswith("]") else facts.host
        port = self.edge.https_port
        authority = host if port in (None, 443) else f"{host}:{port}"
        query = f"?{facts.raw_query}" if facts.raw_query else ""
        return f"https://{authority}{facts.raw_path}{query}"
