"""Key material and signed-request builders shared by the access-control tests."""

from __future__ import annotations

from functools import cache
from typing import Any

from streaming import keys
from streaming.keys import KeyKind, KeyRing, PrivateKeyType
from streaming.signing import Hash, SignedRequest, Signer, credentials, split_query


def private_key(name: str, kind: KeyKind = "rsa") -> PrivateKeyType:
    """One generated key per (name, kind) per test process: RSA generation is not free."""
    return _generated(name, kind)


@cache
def _generated(name: str, kind: KeyKind) -> PrivateKeyType:
    return keys.generate(kind)


def public_pem(name: str, kind: KeyKind = "rsa") -> str:
    return keys.public_pem(private_key(name, kind).public_key())


def signer(name: str, kind: KeyKind = "rsa", hash: Hash = "SHA1") -> Signer:
    return Signer(key_id(name, kind), private_key(name, kind), hash)


def key_id(name: str, kind: KeyKind = "rsa") -> str:
    return keys.key_id(private_key(name, kind).public_key())


def key_group(group_id: str, *names: str | tuple[str, KeyKind]) -> dict[str, Any]:
    """A key group document holding the public keys of `names` as inline PEM."""
    entries = []
    for entry in names:
        name, kind = (entry, "rsa") if isinstance(entry, str) else entry
        entries.append({"id": key_id(name, kind), "public_key": public_pem(name, kind)})
    return {"id": group_id, "keys": entries}


def ring(*groups: dict[str, Any]) -> KeyRing:
    from streaming.config import KeyGroup

    return KeyRing.from_config(tuple(KeyGroup.model_validate(g) for g in groups))


def request_for(
    signed_url: str, client_ip: str = "127.0.0.1", cookies: dict[str, str] | None = None
) -> SignedRequest:
    """The facts an edge extracts from a viewer request for `signed_url` (and its cookies)."""
    base, _, query = signed_url.partition("?")
    params, rest = split_query(query)
    return SignedRequest(
        base + (f"?{rest}" if rest else ""), client_ip, credentials(params, cookies or {})
    )
