"""How long a response may be cached: CloudFront's TTL table plus HLS-aware rules.

Each rule is a small function; `decide` combines them into a `Freshness` (ttl and the two
stale windows). Playlists and segments get different rules because the kind is known from
the path before any byte is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streaming import cache_control
from streaming.config import TTLPolicy
from streaming.hls import Kind, PlaylistType, playlist_facts

CACHEABLE_STATUS = frozenset({200, 203, 300, 301, 410})
# CloudFront caches these errors always, and these others only when the origin says max-age.
ERROR_STATUS = frozenset({404, 414, 500, 501, 502, 503, 504})
ERROR_STATUS_IF_TOLD = frozenset({400, 403, 405, 412, 415})
UNCACHEABLE_DIRECTIVES = frozenset({"no-store", "no-cache", "private"})


@dataclass(frozen=True, slots=True)
class Freshness:
    """Seconds fresh, then seconds a stale copy may be served while refreshing / on errors."""

    ttl: float
    swr: float = 0.0
    sie: float = 0.0


NOT_CACHED = Freshness(0.0)


def _clamp(value: float, policy: TTLPolicy) -> float:
    return min(max(value, policy.min_ttl), policy.max_ttl)


def shareable(headers: Mapping[str, str]) -> bool:
    """False when the origin marked the answer for one viewer only (never collapse those)."""
    directives = cache_control.parse(headers.get("cache-control"))
    return not ({"private", "no-store"} & directives.keys())


def origin_ttl(headers: Mapping[str, str], policy: TTLPolicy, now: float) -> float:
    """CloudFront's table: s-maxage, then max-age, then Expires, else the default TTL."""
    directives = cache_control.parse(headers.get("cache-control"))
    if UNCACHEABLE_DIRECTIVES & directives.keys():
        return policy.min_ttl
    for name in ("s-maxage", "max-age"):
        value = cache_control.seconds(directives, name)
        if value is not None:
            return _clamp(value, policy)
    expires = cache_control.parse_http_date(headers.get("expires"))
    if expires is not None:
        return _clamp(max(0.0, expires - now), policy)
    return max(policy.min_ttl, policy.default_ttl)


def hls_override(kind: Kind, live: float | None, policy: TTLPolicy, ttl: float) -> float:
    """Configured manifest/segment TTLs win; live and EVENT playlists never outlive target/2.

    `live` is the target duration when the object is a live or EVENT media playlist.
    """
    if kind is Kind.SEGMENT and policy.segment_ttl is not None:
        return policy.segment_ttl
    if kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST):
        if policy.manifest_ttl is not None:
            ttl = policy.manifest_ttl
        if live is not None:
            ttl = min(ttl, live / 2)
    return ttl


def live_target(body: bytes) -> float | None:
    """The target duration of a live or EVENT media playlist, None for VOD and masters."""
    if not body.startswith(b"#EXTM3U"):
        return None
    facts = playlist_facts(body)
    if facts.type is PlaylistType.VOD or not facts.target_duration:
        return None
    return facts.target_duration


def stale_windows(
    headers: Mapping[str, str], policy: TTLPolicy, ttl: float, live: bool, max_stale: float
) -> tuple[float, float]:
    """The origin's stale-while-revalidate / stale-if-error, else the policy's, bounded."""
    directives = cache_control.parse(headers.get("cache-control"))
    swr = cache_control.seconds(directives, "stale-while-revalidate")
    sie = cache_control.seconds(directives, "stale-if-error")
    swr = policy.stale_while_revalidate if swr is None else swr
    sie = policy.stale_if_error if sie is None else sie
    if live:
        swr = min(swr, ttl)  # a live playlist may lag at most one TTL behind while refreshing
    return min(swr, max_stale), min(sie, max_stale)


def error_ttl(
    status: int, headers: Mapping[str, str], minimum: float, kind: Kind, target: float | None
) -> float:
    """max(error minimum, origin max-age); a live segment's 404 at most one target duration."""
    directives = cache_control.parse(headers.get("cache-control"))
    told = cache_control.seconds(directives, "s-maxage")
    if told is None:
        told = cache_control.seconds(directives, "max-age")
    if status in ERROR_STATUS_IF_TOLD and told is None:
        return 0.0
    ttl = max(minimum, told or 0.0)
    if status == 404 and kind is Kind.SEGMENT and target is not None:
        ttl = min(ttl, target)  # it may be published within the next target duration
    return ttl


def decide(
    status: int, headers: Mapping[str, str], body: bytes, kind: Kind, policy: TTLPolicy,
    now: float, *, error_minimum: float | None = None, target: float | None = None,
    max_stale: float = 3600.0,
) -> Freshness:  # fmt: skip
    """How long to cache this origin response (ttl 0 means do not cache).

    `error_minimum` is a custom error response's caching TTL for this status; `target` the
    target duration of the live playlist this object belongs to, when the edge has seen one.
    """
    if not policy.caching:
        return NOT_CACHED
    if status in ERROR_STATUS or status in ERROR_STATUS_IF_TOLD:
        minimum = policy.error_ttl if error_minimum is None else error_minimum
        return Freshness(error_ttl(status, headers, minimum, kind, target))
    if status not in CACHEABLE_STATUS:
        return NOT_CACHED
    live = live_target(body) if kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST) else None
    ttl = hls_override(kind, live, policy, origin_ttl(headers, policy, now))
    if ttl <= 0:
        return NOT_CACHED
    swr, sie = stale_windows(headers, policy, ttl, live is not None, max_stale)
    return Freshness(ttl, swr, sie)
