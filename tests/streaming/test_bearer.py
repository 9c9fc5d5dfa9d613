"""JWT bearer tokens: RS256/ES256 with key-group keys, the same failure reasons as signed URLs."""

from __future__ import annotations

import jwt
import pytest

from streaming import bearer
from streaming.errors import AccessDenied
from tests.access import key_group, key_id, private_key, ring

NOW = 1_800_000_000
RING = ring(key_group("api", "alice", ("eve", "ecdsa")))
URL = "https://cdn.test/hls/v1/master.m3u8"


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_rs256_and_es256_tokens_from_key_group_keys_are_accepted(kind: str) -> None:
    """A token signed by a trusted key (kid = key id) and not expired grants access."""
    name = "alice" if kind == "rsa" else "eve"
    token = bearer.issue(
        private_key(name, kind), key_id(name, kind), NOW + 60, "https://cdn.test/hls/*"
    )  # type: ignore[arg-type]
    assert jwt.get_unverified_header(token)["alg"] == ("RS256" if kind == "rsa" else "ES256")
    grant = bearer.verify(token, RING, ("api",), URL, NOW)
    assert (grant.key_pair_id, grant.via, grant.expires) == (key_id(name, kind), "bearer", NOW + 60)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: "not-a-jwt", "malformed"),
        (lambda: "x" * 9000, "malformed"),
        (lambda: bearer.issue(private_key("mallory"), key_id("mallory"), NOW + 60), "unknown_key"),
        (lambda: bearer.issue(private_key("mallory"), key_id("alice"), NOW + 60), "bad_signature"),
        (lambda: bearer.issue(private_key("alice"), key_id("alice"), NOW), "expired"),
        (
            lambda: bearer.issue(private_key("alice"), key_id("alice"), NOW + 60, nbf=NOW + 30),
            "not_yet_valid",
        ),
        (
            lambda: bearer.issue(
                private_key("alice"), key_id("alice"), NOW + 60, "https://cdn.test/hls/v2/*"
            ),
            "resource_not_covered",
        ),
        (
            lambda: jwt.encode(
                {"exp": NOW + 60}, "s" * 32, algorithm="HS256", headers={"kid": key_id("alice")}
            ),
            "malformed",
        ),
        (
            lambda: jwt.encode(
                {"sub": "x"},
                private_key("alice"),
                algorithm="RS256",
                headers={"kid": key_id("alice")},
            ),
            "malformed",
        ),
    ],
    ids=[
        "garbage",
        "huge",
        "unknown-kid",
        "wrong-key",
        "expired",
        "nbf",
        "resource",
        "hs256-confusion",
        "no-exp",
    ],
)
def test_bad_tokens_are_denied_with_a_reason(token, reason: str) -> None:  # type: ignore[no-untyped-def]
    """Each bad token maps to one reason; HS256 with a public key as secret is refused."""
    with pytest.raises(AccessDenied) as info:
        bearer.verify(token(), RING, ("api",), URL, NOW)
    assert info.value.reason == reason


def test_bearer_token_is_read_only_from_a_bearer_authorization_header() -> None:
    """`Authorization: Bearer x` yields x; other schemes and empty values yield None."""
    assert bearer.bearer_token({"authorization": "Bearer abc"}) == "abc"
    assert bearer.bearer_token({"authorization": "Basic abc"}) is None
    assert bearer.bearer_token({"authorization": "Bearer "}) is None
    assert bearer.bearer_token({}) is None
