"""The cache key: path plus allow-listed query strings and headers; never viewer identity.

What is in the key is also what reaches the origin on a cached behavior, so a response can
never depend on something the key does not distinguish.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from edge import ll_hls
from streaming.config import CacheKeyPolicy
from streaming.hls import kind_of


def forwarded_query(query: str, policy: CacheKeyPolicy, playlist: bool = False) -> str:
    """The allow-listed query strings, sorted by name so `?a&b` and `?b&a` share an entry;
    with `query_strings = "all"` the whole query string as the viewer sent it. A playlist
    keeps its LL-HLS `_HLS_*` directives whatever the allow-list (edge.ll_hls)."""
    if not query:
        return ""
    if policy.query_strings == ("*",):
        return query
    allowed = set(policy.query_strings)
    if not allowed:
        return urlencode(ll_hls.directives(query)) if playlist else ""
    if playlist:
        allowed.update(ll_hls.DIRECTIVES)
    kept = sorted((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in allowed)
    return urlencode(kept)


def cache_key(
    method: str, path: str, query: str, headers: dict[str, str], policy: CacheKeyPolicy
) -> str:
    """Build the key; HEAD shares GET's entry, OPTIONS is keyed apart as in CloudFront."""
    parts = [("OPTIONS " if method == "OPTIONS" else "") + path]
    playlist = "_HLS_" in query and ll_hls.is_playlist(kind_of(path))
    if kept := forwarded_query(query, policy, playlist):
        parts.append("?" + kept)
    for name in policy.headers:
        value = headers.get(name.lower())
        if value is not None:
            parts.append(f"{name.lower()}={value}")
    return "|".join(parts)
