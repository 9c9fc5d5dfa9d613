"""Key material for signed URLs and cookies: generation, PEM files, ids and the key ring.

A `PublicKey.public_key` in the distribution file is either PEM text (it starts with
`-----BEGIN`) or the path of a PEM file; `streaming.config.load` resolves relative paths against
the directory of the config file. Keys are read when an edge builds its key ring, so an origin or
a config check never needs the files. Accepted keys are what CloudFront accepts: RSA 2048 bits
or more, and ECDSA on P-256.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from streaming.config import KeyGroup
from streaming.errors import ConfigError
from streaming.secret_files import write_private

PublicKeyType = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKeyType = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyKind = Literal["rsa", "ecdsa"]

PEM_MARKER = "-----BEGIN"


def generate(kind: KeyKind = "rsa") -> PrivateKeyType:
    """A new private key of the kind CloudFront accepts: RSA-2048 or ECDSA P-256."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def private_pem(key: PrivateKeyType) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: PublicKeyType) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: PublicKeyType) -> str:
    """A stable CloudFront-style public key id (`K` + 13 base32 chars) derived from the key."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "K" + base64.b32encode(hashlib.sha256(der).digest()).decode()[:13]


def write_private_key(key: PrivateKeyType, path: Path) -> None:
    """Write `key` as PEM readable by its owner only (mode 0600), even if the file existed."""
    write_private(path, private_pem(key))


def load_private_key(path: Path) -> PrivateKeyType:
    """Read a private key PEM, or raise ConfigError saying which file and why."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"cannot read private key {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{path}: only RSA and ECDSA private keys can sign")
    _check_strength(key.public_key(), str(path))
    return key


def load_public_key(value: str, where: str = "public_key") -> PublicKeyType:
    """PEM text or the path of a PEM file → a public key; ConfigError names `where` on failure."""
    if value.lstrip().startswith(PEM_MARKER):
        data = value.encode()
    else:
        try:
            data = Path(value).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"{where}: cannot read public key file {value} ({exc.strerror}); "
                "create one with `streaming keys generate`"
            ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: not a PEM public key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ConfigError(f"{where}: only RSA and ECDSA public keys are supported")
    _check_strength(key, where)
    return key


def _check_strength(key: PublicKeyType, where: str) -> None:
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise ConfigError(f"{where}: RSA keys must have at least 2048 bits, not {key.key_size}")
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError(f"{where}: ECDSA keys must use P-256, not {key.curve.name}")


@dataclass(frozen=True, slots=True)
class TrustedKey:
    id: str
    key: PublicKeyType
    groups: frozenset[str]


class KeyRing:
    """Every public key of the distribution by id, with the key groups that hold it."""

    def __init__(self, keys: dict[str, TrustedKey]) -> None:
        self._keys = keys

    @classmethod
    def from_config(cls, groups: tuple[KeyGroup, ...]) -> KeyRing:
        """Load every key of every group once; a key may sit in several groups."""
        loaded: dict[str, PublicKeyType] = {}
        member_of: dict[str, set[str]] = {}
        for g, group in enumerate(groups):
            for k, entry in enumerate(group.keys):
                where = f"key_groups.{g}.keys.{k}.public_key"
                key = load_public_key(entry.public_key, where)
                if entry.id in loaded and loaded[entry.id] != key:
                    raise ConfigError(f"{where}: key id {entry.id!r} names two different keys")
                loaded[entry.id] = key
                member_of.setdefault(entry.id, set()).add(group.id)
        return cls({i: TrustedKey(i, loaded[i], frozenset(member_of[i])) for i in loaded})

    def get(self, key_pair_id: str) -> TrustedKey | None:
        return self._keys.get(key_pair_id)

    def __len__(self) -> int:
        return len(self._keys)


def private_beside(groups: tuple[KeyGroup, ...]) -> tuple[str, Path] | None:
    """(key pair id, private key file) of the first key-group key kept as a `<name>.pub.pem`
    file with its private half `<name>.pem` beside it: how `streaming demo` and `streaming
    secrets` lay out the viewers' key, so a portal can sign with it."""
    for group in groups:
        for entry in group.keys:
            public = Path(entry.public_key)
            if entry.public_key.lstrip().startswith(PEM_MARKER) or not public.name.endswith(
                ".pub.pem"
            ):
                continue
            private = public.with_name(public.name.removesuffix(".pub.pem") + ".pem")
            if private.is_file():
                return entry.id, private
    return None
