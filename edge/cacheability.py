"""How long a response may be cached: CloudFront's TTL table plus HLS-aware rules.

Each rule is a small function; `decide` applies them in order.
"""

from __future__ import annotations

from collections.abc import Mapping

from streaming import cache_control
from streaming.config import TTLPolicy
from streaming.hls import Kind, PlaylistType, playlist_facts

CACHEABLE_STATUS = frozenset({200, 203, 300, 301, 410})
ERROR_STATUS = frozenset({400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504})


def _clamp(value: float, policy: TTLPolicy) -> float:
    return min(max(value, policy.min_ttl), policy.max_ttl)


def origin_ttl(headers: Mapping[str, str], policy: TTLPolicy, now: float) -> float:
    """CloudFront's table: s-maxage, then max-age, then Expires, else the default TTL."""
    directives = cache_control.parse(headers.get("cache-control"))
    if {"no-store", "no-cache", "private"} & directives.keys():
        return policy.min_ttl
    for name in ("s-maxage", "max-age"):
        value = cache_control.seconds(directives, name)
        if value is not None:
            return _clamp(value, policy)
    expires = cache_control.parse_http_date(headers.get("expires"))
    if expires is not None:
        return _clamp(max(0.0, expires - now), policy)
    return max(policy.min_ttl, policy.default_ttl)


def hls_override(kind: Kind, body: bytes, policy: TTLPolicy, ttl: float) -> float:
    """Configured manifest/segment TTLs win; live and EVENT playlists never outlive target/2."""
    if kind is Kind.SEGMENT and policy.segment_ttl is not None:
        return policy.segment_ttl
    if kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST):
        if policy.manifest_ttl is not None:
            ttl = policy.manifest_ttl
        facts = playlist_facts(body)
        if facts.type is not PlaylistType.VOD and facts.target_duration:
            ttl = min(ttl, facts.target_duration / 2)
    return ttl


def decide(
    status: int, headers: Mapping[str, str], body: bytes, kind: Kind, policy: TTLPolicy, now: float
) -> float:
    """Seconds to cache this origin response (0 means do not cache)."""
    if status in ERROR_STATUS:
        return policy.error_ttl
    if status not in CACHEABLE_STATUS:
        return 0.0
    return hls_override(kind, body, policy, origin_ttl(headers, policy, now))
