"""The cache key: path plus allow-listed query strings and headers; never viewer identity."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from streaming.config import CacheKeyPolicy


def cache_key(
    method: str, path: str, query: str, headers: dict[str, str], policy: CacheKeyPolicy
) -> str:
    """Build the key; HEAD shares GET's entry, OPTIONS is keyed apart as in CloudFront."""
    parts = [("OPTIONS " if method == "OPTIONS" else "") + path]
    if policy.query_strings and query:
        allowed = set(policy.query_strings)
        kept = sorted((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in allowed)
        if kept:
            parts.append("?" + urlencode(kept))
    for name in policy.headers:
        value = headers.get(name.lower())
        if value is not None:
            parts.append(f"{name.lower()}={value}")
    return "|".join(parts)
