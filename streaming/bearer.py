"""JWT bearer tokens for API clients without cookies, signed with the key groups' keys.

RS256 with an RSA key, ES256 with an ECDSA P-256 key; `kid` names the public key id of the key
group (as `Key-Pair-Id` does for signed URLs). `exp` is required, `nbf` honoured, and an
optional `resource` claim uses the same wildcard pattern as a custom policy's Resource.
"""

from __future__ import annotations

from collections.abc import Mapping

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from streaming.errors import AccessDenied
from streaming.keys import KeyRing, PrivateKeyType
from streaming.policy import resource_matches
from streaming.signing import MAX_VALUE, Grant

LEEWAY = 0


def algorithm_for(key: object) -> str:
    return "RS256" if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) else "ES256"


def issue(
    private_key: PrivateKeyType,
    kid: str,
    expires: int,
    resource: str | None = None,
    **claims: object,
) -> str:
    """A bearer token valid until `expires` (epoch seconds), optionally for one resource pattern."""
    body: dict[str, object] = {"exp": expires, **claims}
    if resource is not None:
        body["resource"] = resource
    return jwt.encode(body, private_key, algorithm=algorithm_for(private_key), headers={"kid": kid})


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def verify(token: str, ring: KeyRing, trusted: tuple[str, ...], url: str, now: float) -> Grant:
    """Return a Grant or raise AccessDenied with the same reasons as signed URLs."""
    if len(token) > MAX_VALUE:
        raise AccessDenied("malformed", "the bearer token is too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AccessDenied("malformed", "the bearer token is not a JWT") from None
    kid = header.get("kid")
    key = ring.get(kid) if isinstance(kid, str) else None
    if key is None or not key.groups.intersection(trusted):
        raise AccessDenied("unknown_key", "the token's kid is not in a trusted key group")
    try:
        claims = jwt.decode(
            token, key.key, algorithms=[algorithm_for(key.key)], leeway=LEEWAY,
            options={
                "require": ["exp"], "verify_exp": False, "verify_nbf": False, "verify_aud": False,
            },
        )  # fmt: skip
    except jwt.InvalidSignatureError:
        raise AccessDenied("bad_signature", "the bearer token signature does not match") from None
    except jwt.PyJWTError:
        raise AccessDenied("malformed", "the bearer token is not valid") from None
    return _check(claims, key.id, url, now)


def _check(claims: dict[str, object], kid: str, url: str, now: float) -> Grant:
    # pyjwt checks time against the wall clock; checking here keeps verification a pure function.
    expires, not_before, resource = claims.get("exp"), claims.get("nbf"), claims.get("resource")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        raise AccessDenied("malformed", "exp must be a number")
    if now >= expires:
        raise AccessDenied("expired", "the bearer token has expired")
    if not_before is not None and (not isinstance(not_before, int | float) or now < not_before):
        raise AccessDenied("not_yet_valid", "the bearer token is not valid yet")
    if resource is not None and (
        not isinstance(resource, str) or not (resource == "*" or resource_matches(resource, url))
    ):
        raise AccessDenied("resource_not_covered", "the bearer token does not cover this URL")
    return Grant(kid, "bearer", int(expires), True)
