"""The cache key: path plus allow-listed query strings and headers; never viewer identity.

What is in the key is also what reaches the origin on a cached behavior, so a response can
never depend on something the key does not distinguish.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from streaming.config import CacheKeyPolicy


def forwarded_query(query: str, policy: CacheKeyPolicy) -> str:
    """The allow-listed query strings, sorted by name so `?a&b` and `?b&a` share an entry;
    with `query_strings = "all"` the whole query string as the viewer sent it."""
    if not policy.query_strings or not query:
        return ""
    if policy.query_strings == ("*",):
        return query
    allowed = set(policy.query_strings)
    kept = sorted((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in allowed)
    return urlencode(kept)


def cache_key(
    method: str, path: str, query: str, headers: dict[str, str], policy: CacheKeyPolicy
) -> str:
    """Build the key; HEAD shares GET's entry, OPTIONS is keyed apart as in CloudFront."""
    parts = [("OPTIONS " if method == "OPTIONS" else "") + path]
    if kept := forwarded_query(query, policy):
        parts.append("?" + kept)
    for name in policy.headers:
        value = headers.get(name.lower())
        if value is not None:
            parts.append(f"{name.lower()}={value}")
    return "|".join(parts)
