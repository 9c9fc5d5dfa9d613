"""Whether and how long a response may be stored: RFC 9111 with CloudFront's TTL table on top.

Each rule is a small function; `decide` combines them into a `Freshness`:
1. storage (RFC 9111 §3): `no-store`, `private`, a request with `Authorization` (§3.5), `Vary: *`,
   statuses: any final status with explicit freshness, else only the heuristically cacheable
   ones and CloudFront's error statuses;
2. the directives the edge obeys: the first valid targeted field (our own, `CDN-Cache-Control`
   (RFC 9213), `Surrogate-Control`), else `Cache-Control`;
3. freshness lifetime (§4.2.1): s-maxage, max-age, Expires − Date, else the behavior's default
   TTL, else a heuristic 10 % of the time since Last-Modified (§4.2.2);
4. age (§4.2.3): apparent and corrected age from `Date` and upstream `Age`;
5. operator policy: min/max TTL clamp the lifetime, a MinTTL > 0 stores even `private` and
   `no-store` answers (CloudFront), and the HLS rules (segment/manifest TTLs, a live playlist at
   most half its target duration, an LL-HLS one half its PART-TARGET unless it answers a blocking
   reload, an error to a held LL-HLS request a moment) override the origin;
6. stale windows: stale-while-revalidate / stale-if-error, none under must-revalidate,
   proxy-revalidate or s-maxage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from edge import ll_hls
from streaming import cache_control
from streaming.config import TTLPolicy
from streaming.hls import Kind, PlaylistType, dash_update_period, playlist_facts

# CloudFront applies its Default TTL to these statuses only.
DEFAULT_TTL_STATUS = frozenset({200, 203, 300, 301, 410})
# RFC 9110 §15.1: statuses a cache may store with heuristic freshness.
HEURISTIC_STATUS = frozenset({200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501})
# CloudFront caches these errors always, and these others only when the origin says max-age.
ERROR_STATUS = frozenset({404, 414, 500, 501, 502, 503, 504})
ERROR_STATUS_IF_TOLD = frozenset({400, 403, 405, 412, 415})
NO_STALE = ("must-revalidate", "proxy-revalidate", "s-maxage")
# RFC 9110 §15: the statuses this cache understands (for `must-understand`, RFC 9111 §5.2.2.3).
UNDERSTOOD_STATUS = frozenset({
    200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 307, 308, 400, 401, 402, 403,
    404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500,
    501, 502, 503, 504, 505,
})  # fmt: skip
UNCACHEABLE_ALWAYS = frozenset({"no-store", "private"})
SHARED_WITH_AUTHORIZATION = frozenset({"public", "s-maxage", "must-revalidate"})
HEURISTIC_FRACTION = 0.1
HEURISTIC_MAX = 86400.0  # a day, as common caches bound it


@dataclass(frozen=True, slots=True)
class Freshness:
    """Seconds fresh (0: stored but revalidated before each reuse), the two stale windows after
    that, and the age the response already had when it arrived."""

    ttl: float
    swr: float = 0.0
    sie: float = 0.0
    age: float = 0.0
    store: bool = True


NOT_STORED = Freshness(0.0, store=False)


@dataclass(frozen=True, slots=True)
class Exchange:
    """What the storage rules need of the request and the timing of one origin exchange."""

    authorization: bool = False  # the viewer's request carried Authorization
    # A viewer's own Cache-Control (no-cache, no-store, max-age) is not obeyed, as CloudFront and
    # other CDNs do: no viewer can make the edge skip its cache and load the origin at will.
    request_time: float = 0.0
    response_time: float = 0.0


def directives(headers: Mapping[str, str], targeted: tuple[str, ...] = ()) -> dict[str, str | None]:
    """The cache directives this edge obeys: the first targeted field present (RFC 9213: our
    `<name>-Cache-Control`, then `CDN-Cache-Control`) if it parses to something, else
    Cache-Control."""
    for name in targeted:
        value = headers.get(name)
        if value is not None and (parsed := cache_control.parse_targeted(value)) is not None:
            return parsed  # an invalid targeted field is ignored as a whole (RFC 9213 §2.1)
    return cache_control.parse(headers.get("cache-control"))


def shareable(headers: Mapping[str, str], targeted: tuple[str, ...] = ()) -> bool:
    """False when the origin marked the answer for one viewer only (never collapse those)."""
    return not ({"private", "no-store"} & directives(headers, targeted).keys())


def initial_age(headers: Mapping[str, str], exchange: Exchange) -> float:
    """RFC 9111 §4.2.3 corrected initial age (a malformed Age is ignored, §5.1)."""
    age_value = cache_control.parse_age(headers.get("age")) or 0.0
    date = cache_control.parse_http_date(headers.get("date"))
    # HTTP dates count whole seconds: so does the response time here, or a Date written a
    # fraction of a second ago would add a second of apparent age.
    apparent = max(0.0, math.floor(exchange.response_time) - date) if date is not None else 0.0
    delay = max(0.0, exchange.response_time - exchange.request_time)
    return max(apparent, age_value + delay)


def explicit_lifetime(
    found: Mapping[str, str | None], headers: Mapping[str, str], exchange: Exchange
) -> float | None:
    """s-maxage, then max-age, then Expires − Date (a malformed Expires means expired)."""
    for name in ("s-maxage", "max-age"):
        value = cache_control.seconds(dict(found), name)
        if value is not None:
            return value
    if "expires" not in headers:
        return None
    expires = cache_control.parse_http_date(headers.get("expires"))
    if expires is None:
        return 0.0
    date = cache_control.parse_http_date(headers.get("date"))
    return max(0.0, expires - (date if date is not None else exchange.response_time))


def heuristic_lifetime(status: int, headers: Mapping[str, str], exchange: Exchange) -> float:
    """10 % of the time since Last-Modified, for heuristically cacheable statuses only."""
    if status not in HEURISTIC_STATUS:
        return 0.0
    modified = cache_control.parse_http_date(headers.get("last-modified"))
    if modified is None:
        return 0.0
    date = cache_control.parse_http_date(headers.get("date"))
    since = (date if date is not None else exchange.response_time) - modified
    return min(max(0.0, since * HEURISTIC_FRACTION), HEURISTIC_MAX)


def storable(
    status: int, found: Mapping[str, str | None], headers: Mapping[str, str],
    exchange: Exchange, policy: TTLPolicy,
) -> bool:  # fmt: skip
    """RFC 9111 §3 for a shared cache, with CloudFront's MinTTL > 0 override of private and
    no-store (behind the edge's own access control)."""
    if status < 200 or status == 206:
        return False
    if "must-understand" in found:  # it replaces no-store for a cache that knows the status
        return status in UNDERSTOOD_STATUS
    if "*" in {v.strip() for v in headers.get("vary", "").split(",")}:
        return False  # Vary: * never matches a later request
    if policy.min_ttl <= 0 and ("no-store" in found or _unqualified(found, "private")):
        return False
    # §3.5: a response to an authenticated request is not shared unless it says so.
    return not exchange.authorization or bool(
        {"public", "s-maxage", "must-revalidate"} & found.keys()
    )


def hls_override(
    kind: Kind, live: float | None, policy: TTLPolicy, ttl: float,
    part: float | None = None, blocking: bool = False,
) -> float:  # fmt: skip
    """Configured manifest/segment TTLs win; live and EVENT playlists never outlive target/2,
    an LL-HLS one never a fraction of its PART-TARGET, but for a blocking reload's answer: it
    holds the part it was asked for whenever it is served, so it is kept as long as allowed.

    `live` is the target duration when the object is a live or EVENT media playlist, `part`
    its PART-TARGET when it has parts.
    """
    if kind is Kind.SEGMENT and policy.segment_ttl is not None:
        return policy.segment_ttl
    if kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST):
        if policy.manifest_ttl is not None:
            ttl = policy.manifest_ttl
        if live is not None and not blocking:
            ttl = min(ttl, live / 2)
            if part is not None:
                ttl = min(ttl, part * ll_hls.PLAYLIST_FRACTION)
    return ttl


def live_target(body: bytes) -> float | None:
    """The target duration of a live or EVENT media playlist (a live DASH manifest: its update
    period), None for VOD and masters."""
    if not body.startswith(b"#EXTM3U"):
        return dash_update_period(body)
    facts = playlist_facts(body)
    if facts.type is PlaylistType.VOD or not facts.target_duration:
        return None
    return facts.target_duration


def stale_windows(
    found: Mapping[str, str | None], policy: TTLPolicy, ttl: float, live: bool, max_stale: float
) -> tuple[float, float]:
    """The origin's stale-while-revalidate / stale-if-error, else the policy's, bounded; none at
    all when the origin forbids serving stale (must-revalidate, proxy-revalidate, s-maxage)."""
    if any(name in found for name in NO_STALE):
        return 0.0, 0.0
    swr = cache_control.seconds(dict(found), "stale-while-revalidate")
    sie = cache_control.seconds(dict(found), "stale-if-error")
    swr = policy.stale_while_revalidate if swr is None else swr
    sie = policy.stale_if_error if sie is None else sie
    if live:
        swr = min(swr, ttl)  # a live playlist may lag at most one TTL behind while refreshing
    return min(swr, max_stale), min(sie, max_stale)


def error_ttl(
    status: int, explicit: float | None, minimum: float, kind: Kind, target: float | None
) -> float | None:
    """max(error minimum, the origin's explicit lifetime); a live segment's 404 at most one
    target duration; None when CloudFront would not cache this error (a 400-class it keeps only
    when the origin gives a lifetime)."""
    if status in ERROR_STATUS_IF_TOLD and explicit is None:
        return None
    ttl = max(minimum, explicit or 0.0)
    if status == 404 and kind is Kind.SEGMENT and target is not None:
        ttl = min(ttl, target)  # it may be published within the next target duration
    return ttl


def decide(
    status: int, headers: Mapping[str, str], body: bytes, kind: Kind, policy: TTLPolicy,
    exchange: Exchange, *, error_minimum: float | None = None, target: float | None = None,
    max_stale: float = 3600.0, targeted: tuple[str, ...] = (), held: bool = False,
) -> Freshness:  # fmt: skip
    """Whether to store this origin response, and its freshness.

    `error_minimum` is a custom error response's caching TTL for this status; `target` the
    target duration of the live playlist this object belongs to, when the edge has seen one;
    `held` says the origin may have held the request (edge.ll_hls: a blocking reload, a part).
    """
    if not policy.caching:
        return NOT_STORED
    found = directives(headers, targeted)
    if not storable(status, found, headers, exchange, policy):
        return NOT_STORED
    age = initial_age(headers, exchange)
    explicit = explicit_lifetime(found, headers, exchange)
    if status in ERROR_STATUS or status in ERROR_STATUS_IF_TOLD:
        minimum = policy.error_ttl if error_minimum is None else error_minimum
        ttl = error_ttl(status, explicit, minimum, kind, target)
        if ttl is None:
            return NOT_STORED
        if held:  # the part is due any moment: its 503/404 must not outlive it
            ttl = min(ttl, ll_hls.HELD_ERROR_TTL)
        return Freshness(ttl, age=age) if ttl > 0 else NOT_STORED
    if explicit is None and "public" not in found and status not in HEURISTIC_STATUS:
        return NOT_STORED  # a status not heuristically cacheable, with no explicit freshness
    if _unqualified(found, "no-cache") or UNCACHEABLE_ALWAYS & found.keys():
        ttl = policy.min_ttl  # CloudFront: MinTTL, which is 0 (revalidate each time) by default
    else:
        if explicit is not None:
            lifetime = explicit
        elif policy.default_ttl > 0 and status in DEFAULT_TTL_STATUS:
            lifetime = policy.default_ttl  # CloudFront's Default TTL stands in for a heuristic
        else:
            lifetime = heuristic_lifetime(status, headers, exchange)
        ttl = min(max(lifetime, policy.min_ttl), policy.max_ttl)
    live = live_target(body) if kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST) else None
    part = ll_hls.part_target(body) if live is not None else None
    ttl = hls_override(kind, live, policy, ttl, part, held and ll_hls.is_playlist(kind))
    swr, sie = stale_windows(found, policy, ttl, live is not None, max_stale)
    if ttl <= 0 and not _has_validator(headers):
        return NOT_STORED  # never fresh and nothing to revalidate with: it could not be reused
    return Freshness(ttl, swr, sie, age)


def _unqualified(found: Mapping[str, str | None], name: str) -> bool:
    """`no-cache` / `private` on the whole response; with field names (`no-cache="Set-Cookie"`)
    they only keep those fields from being stored (edge.cacheability.withheld)."""
    return name in found and not found[name]


def withheld(headers: Mapping[str, str], targeted: tuple[str, ...] = ()) -> frozenset[str]:
    """Header fields a shared cache must not store: those named by qualified `no-cache` and
    `private` (RFC 9111 §5.2.2.4, §5.2.2.7)."""
    found = directives(headers, targeted)
    names: set[str] = set()
    for directive in ("no-cache", "private"):
        if value := found.get(directive):
            names |= {n.strip().lower() for n in value.split(",") if n.strip()}
    return frozenset(names)


def _has_validator(headers: Mapping[str, str]) -> bool:
    return "etag" in headers or "last-modified" in headers
