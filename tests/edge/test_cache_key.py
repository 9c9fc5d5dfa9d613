"""The cache key: an allow-list of query strings and headers, never identity."""

from __future__ import annotations

import pytest

from edge.cache_key import cache_key, forwarded_query
from streaming.config import CacheKeyPolicy


def test_only_listed_query_strings_enter_the_key_in_a_stable_order() -> None:
    """`?b&a` and `?a&b` share an entry; unlisted parameters (sessions, signatures) are dropped."""
    policy = CacheKeyPolicy(query_strings=("a", "b"))
    one = cache_key("GET", "/x.ts", "b=2&a=1&session=s1&Signature=zz", {}, policy)
    two = cache_key("GET", "/x.ts", "a=1&session=s2&b=2", {}, policy)
    assert one == two == "/x.ts|?a=1&b=2"
    assert forwarded_query("b=2&a=1&session=s1", policy) == "a=1&b=2"
    assert cache_key("GET", "/x.ts", "session=1", {}, CacheKeyPolicy()) == "/x.ts"


def test_listed_headers_enter_the_key_and_head_shares_get_options_does_not() -> None:
    """A listed header splits the cache; HEAD uses GET's entry, OPTIONS its own (CloudFront)."""
    policy = CacheKeyPolicy(headers=("Origin",))
    assert cache_key("GET", "/p", "", {"origin": "https://a"}, policy) != cache_key(
        "GET", "/p", "", {"origin": "https://b"}, policy
    )
    assert cache_key("HEAD", "/p", "", {}, policy) == cache_key("GET", "/p", "", {}, policy)
    assert cache_key("OPTIONS", "/p", "", {}, policy) != cache_key("GET", "/p", "", {}, policy)


@pytest.mark.parametrize("header", ["Authorization", "cookie"])
def test_identity_headers_are_refused_in_the_key_policy(header: str) -> None:
    """Authorization and Cookie can never be part of the key: the config fails with a reason."""
    with pytest.raises(ValueError, match="never be part of the cache key"):
        CacheKeyPolicy(headers=(header,))
