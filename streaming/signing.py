"""CloudFront-compatible signed URLs and cookies: the signer and the verifier side by side.

The wire format is CloudFront's (docs/access-control.md): a canned policy rebuilt from `Expires`
and the URL, or a custom policy carried as `Policy` (which wins over an `Expires` beside it);
RSA PKCS#1 v1.5 or ECDSA over the policy bytes with SHA-1 (the default) or SHA-256
(`Hash-Algorithm=SHA256`); both in base64 with the `+`→`-`, `=`→`_`, `/`→`~` alphabet.
Signed-URL parameters win over `CloudFront-*` cookies.

Verification is a pure function of the request facts, the key ring and the clock. Every failure
is `AccessDenied` with one of the `REASONS`; nothing the viewer sends can raise anything else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from streaming.errors import AccessDenied
from streaming.keys import KeyRing, PrivateKeyType, PublicKeyType
from streaming.policy import Policy, canned_policy

REASONS = (
    "missing", "malformed", "unknown_key", "bad_signature", "expired", "not_yet_valid",
    "ip_not_allowed", "resource_not_covered",
)  # fmt: skip
URL_PARAMS = ("Expires", "Policy", "Signature", "Key-Pair-Id")
SIGNING_PARAMS = (*URL_PARAMS, "Hash-Algorithm")
COOKIE_PREFIX = "CloudFront-"
MAX_VALUE = 8192  # longer credentials are rejected before any decoding
MEMO_URL_BYTES = 2048  # longer URLs are matched against a policy's resource every time
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}
Hash = Literal["SHA1", "SHA256"]


def b64encode(data: bytes) -> str:
    """CloudFront's URL-safe base64: standard base64 with `+`→`-`, `=`→`_`, `/`→`~`."""
    return base64.b64encode(data).decode().replace("+", "-").replace("=", "_").replace("/", "~")


def b64decode(text: str) -> bytes:
    """Reverse `b64encode`; anything that is not strict base64 is `AccessDenied("malformed")`."""
    raw = text.replace("-", "+").replace("_", "=").replace("~", "/")
    try:
        return base64.b64decode(raw.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        raise AccessDenied("malformed", "a signing value is not valid base64") from None


class Signer:
    """Signs URLs and cookies with one private key under its public key id."""

    def __init__(self, key_pair_id: str, private_key: PrivateKeyType, hash: Hash = "SHA1") -> None:
        self.key_pair_id, self._key, self.hash = key_pair_id, private_key, hash

    def __repr__(self) -> str:
        return f"Signer(key_pair_id={self.key_pair_id!r}, hash={self.hash!r})"

    def sign(self, message: bytes) -> bytes:
        """The raw signature: PKCS#1 v1.5 for RSA, DER-encoded ECDSA for EC keys."""
        algorithm = HASHES[self.hash]()
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(message, padding.PKCS1v15(), algorithm)
        return self._key.sign(message, ec.ECDSA(algorithm))

    def _tail(self) -> list[tuple[str, str]]:
        return [("Hash-Algorithm", "SHA256")] if self.hash == "SHA256" else []

    def signed_url(
        self, url: str, *, expires: int | None = None, policy: Policy | None = None
    ) -> str:
        """`url` plus Expires|Policy, Signature, Key-Pair-Id (botocore's order), Hash-Algorithm."""
        if (expires is None) == (policy is None):
            raise ValueError("pass exactly one of expires (canned) or policy (custom)")
        if policy is None:
            assert expires is not None
            message = canned_policy(url, expires)
            params = [("Expires", str(expires))]
        else:
            message = policy.to_json()
            params = [("Policy", b64encode(message))]
        params += [("Signature", b64encode(self.sign(message))), ("Key-Pair-Id", self.key_pair_id)]
        query = "&".join(f"{k}={v}" for k, v in params + self._tail())
        return url + ("&" if "?" in url else "?") + query

    def cookies(self, policy: Policy) -> dict[str, str]:
        """Custom-policy cookies: CloudFront-Policy, -Signature, -Key-Pair-Id (-Hash-Algorithm)."""
        message = policy.to_json()
        return self._cookies([("Policy", b64encode(message))], message)

    def canned_cookies(self, url: str, expires: int) -> dict[str, str]:
        """Canned-policy cookies for exactly `url`: CloudFront-Expires, -Signature, -Key-Pair-Id."""
        return self._cookies([("Expires", str(expires))], canned_policy(url, expires))

    def _cookies(self, first: list[tuple[str, str]], message: bytes) -> dict[str, str]:
        pairs = first + [
            ("Signature", b64encode(self.sign(message))),
            ("Key-Pair-Id", self.key_pair_id),
        ]
        return {COOKIE_PREFIX + k: v for k, v in pairs + self._tail()}


@dataclass(frozen=True, slots=True)
class Credentials:
    """The signing values a request carried, from its query string or its cookies."""

    via: Literal["url", "cookie"]
    values: Mapping[str, str]


def split_query(query: str) -> tuple[dict[str, list[str]], str]:
    """Signing parameters out of a raw query; the rest keeps its order and encoding exactly."""
    found: dict[str, list[str]] = {}
    kept: list[str] = []
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        if name in SIGNING_PARAMS:
            found.setdefault(name, []).append(unquote(value))
        else:
            kept.append(part)
    return found, "&".join(kept)


def credentials(
    signing_params: Mapping[str, list[str]], cookies: Mapping[str, str]
) -> Credentials | None:
    """URL mode when any of Expires/Policy/Signature/Key-Pair-Id is in the query, else cookies."""
    if any(name in signing_params for name in URL_PARAMS):
        if any(len(v) > 1 for v in signing_params.values()):
            raise AccessDenied("malformed", "a signing parameter appears more than once")
        return Credentials("url", {k: v[0] for k, v in signing_params.items()})
    values = {
        name: cookies[COOKIE_PREFIX + name]
        for name in SIGNING_PARAMS
        if COOKIE_PREFIX + name in cookies
    }
    if not any(name in values for name in URL_PARAMS):
        return None
    return Credentials("cookie", values)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The facts verification needs: the resource URL as the viewer used it, minus signing
    parameters, the client address and the credentials found."""

    url: str
    client_ip: str
    credentials: Credentials | None


@dataclass(frozen=True, slots=True)
class Grant:
    """A verified viewer: which key signed, how the credentials came, when they expire."""

    key_pair_id: str
    via: Literal["url", "cookie", "bearer"]
    expires: int
    custom: bool


def verify_signature(key: PublicKeyType, signature: bytes, message: bytes, hash: str) -> bool:
    algorithm = HASHES[hash]()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), algorithm)
        else:
            key.verify(signature, message, ec.ECDSA(algorithm))
    except (InvalidSignature, ValueError):
        return False
    return True


class Verifier:
    """Checks signed requests against a key ring; verified signatures are remembered (LRU) so a
    returning viewer costs a dict lookup, while key trust, time, IP and resource are checked
    every time.

    Two levels: the exact credential strings a viewer sent (its cookies are the same on every
    request) → the policy they were verified for, which skips base64 decoding and hashing; and
    (key id, hash, policy bytes) → signature, for the same policy arriving in another encoding.
    """

    def __init__(self, ring: KeyRing, cache_size: int = 4096) -> None:
        self.ring, self.cache_size = ring, cache_size
        self._verified: OrderedDict[bytes, tuple[bytes, Policy]] = OrderedDict()
        self._granted: OrderedDict[tuple[object, ...], tuple[str, Policy]] = OrderedDict()
        self._covers: dict[tuple[str, str], bool] = {}

    def verify(self, request: SignedRequest, trusted: tuple[str, ...], now: float) -> Grant:
        """Return a Grant or raise AccessDenied with one of REASONS; never anything else."""
        creds = request.credentials
        if creds is None or not creds.values.get("Key-Pair-Id"):
            raise AccessDenied("missing", "missing Key-Pair-Id query parameter or cookie value")
        values = creds.values
        # A canned policy is rebuilt from the URL: the URL is part of what was verified.
        seen = (tuple(values.items()), "" if "Policy" in values else request.url)
        granted = self._granted.get(seen) if self.cache_size else None
        if granted is not None:
            key_id, policy = granted
            key = self.ring.get(key_id)
            if key is None or not key.groups.intersection(trusted):
                raise AccessDenied("unknown_key", "the key is not in a trusted key group")
            self._check_conditions(policy, request, now)
            return Grant(key_id, creds.via, policy.date_less_than, "Policy" in values)
        if any(len(v) > MAX_VALUE for v in values.values()):
            raise AccessDenied("malformed", f"a signing value is longer than {MAX_VALUE} bytes")
        hash_name = values.get("Hash-Algorithm", "SHA1")
        if hash_name not in HASHES:
            raise AccessDenied("malformed", f"unsupported Hash-Algorithm {hash_name[:16]!r}")
        if not ("Expires" in values or "Policy" in values) or not values.get("Signature"):
            raise AccessDenied("malformed", "need Signature and an Expires or a Policy")
        key = self.ring.get(values["Key-Pair-Id"])
        if key is None or not key.groups.intersection(trusted):
            raise AccessDenied("unknown_key", "the key is not in a trusted key group")
        signature = b64decode(values["Signature"])
        if "Policy" in values:
            # Expires beside a Policy (aws-cloudfront-sign adds both) is not signed: the policy
            # alone decides, as in CloudFront, so an edited Expires can neither grant nor deny.
            message = b64decode(values["Policy"])
        else:
            expires = values["Expires"]
            if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
                raise AccessDenied("malformed", "Expires is not an epoch time in seconds")
            message = canned_policy(request.url, int(expires))
        policy = self._verified_policy(key.id, key.key, hash_name, message, signature)
        self._remember(self._granted, seen, (key.id, policy))
        self._check_conditions(policy, request, now)
        return Grant(key.id, creds.via, policy.date_less_than, "Policy" in values)

    def _check_conditions(self, policy: Policy, request: SignedRequest, now: float) -> None:
        """`_check_conditions`, with the resource match remembered per (resource, URL): a
        viewer's one wildcard policy is matched against the same few URLs again and again."""
        covered = (policy.resource or "", request.url)
        known = self._covers.get(covered)
        if known is None:
            known = policy.covers(request.url)
            if self.cache_size and len(request.url) <= MEMO_URL_BYTES:
                if len(self._covers) >= self.cache_size:
                    self._covers.clear()
                self._covers[covered] = known
        _check_conditions(policy, request, now, covers=known)

    def _remember(
        self, lru: OrderedDict[tuple[object, ...], tuple[str, Policy]], key: tuple[object, ...],
        value: tuple[str, Policy],
    ) -> None:  # fmt: skip
        if not self.cache_size:
            return
        lru[key] = value
        if len(lru) > self.cache_size:
            lru.popitem(last=False)

    def _verified_policy(
        self, key_id: str, key: PublicKeyType, hash_name: str, message: bytes, signature: bytes
    ) -> Policy:
        cache_key = hashlib.sha256(
            b"\0".join((key_id.encode(), hash_name.encode(), message))
        ).digest()
        cached = self._verified.get(cache_key)
        if cached is not None and hmac.compare_digest(cached[0], signature):
            self._verified.move_to_end(cache_key)
            return cached[1]
        if not verify_signature(key, signature, message, hash_name):
            raise AccessDenied("bad_signature", "the signature does not match the policy")
        policy = Policy.from_json(message)
        self._verified[cache_key] = (signature, policy)
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return policy


def _check_conditions(
    policy: Policy, request: SignedRequest, now: float, covers: bool | None = None
) -> None:
    if now >= policy.date_less_than:
        raise AccessDenied("expired", "the signed URL or cookie has expired")
    if policy.date_greater_than is not None and now <= policy.date_greater_than:
        raise AccessDenied("not_yet_valid", "the signed URL or cookie is not valid yet")
    if policy.source_ip is not None and not policy.allows_ip(request.client_ip):
        raise AccessDenied("ip_not_allowed", "the policy does not allow this client address")
    if not (policy.covers(request.url) if covers is None else covers):
        raise AccessDenied("resource_not_covered", "the policy does not cover this URL")
