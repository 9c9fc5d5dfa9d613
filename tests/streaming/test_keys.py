"""Key material: private files written 0600, PEM text or path, CloudFront's key size rules."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from streaming import keys
from streaming.config import KeyGroup
from streaming.errors import ConfigError
from tests.access import key_group, private_key, public_pem


def test_private_key_file_is_owner_only_even_when_it_existed(tmp_path: Path) -> None:
    """A generated private key is written with mode 0600, also over a world-readable file."""
    path = tmp_path / "keys" / "private.pem"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)
    keys.write_private_key(private_key("alice"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.load_private_key(path).public_key() == private_key("alice").public_key()


def test_public_key_is_read_from_pem_text_or_a_file(tmp_path: Path) -> None:
    """`public_key` holds inline PEM or a path; both give the same key."""
    file = tmp_path / "public.pem"
    file.write_text(public_pem("alice"))
    assert keys.load_public_key(public_pem("alice")) == keys.load_public_key(str(file))


def test_missing_key_file_names_the_field_and_the_fix(tmp_path: Path) -> None:
    """A config pointing at a missing key fails at start, naming the field."""
    with pytest.raises(
        ConfigError, match=r"key_groups\.0\.keys\.0\.public_key: cannot read.*keys generate"
    ):
        keys.load_public_key(str(tmp_path / "nope.pem"), "key_groups.0.keys.0.public_key")


def test_weak_rsa_and_other_curves_are_refused() -> None:
    """CloudFront accepts RSA of 2048 bits or more and ECDSA on P-256 only."""
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ConfigError, match="2048"):
        keys.load_public_key(keys.public_pem(weak))
    with pytest.raises(ConfigError, match="P-256"):
        keys.load_public_key(keys.public_pem(other_curve))
    with pytest.raises(ConfigError, match="not a PEM public key"):
        keys.load_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_key_id_is_stable_and_cloudfront_shaped() -> None:
    """The derived id is `K` + 13 base32 characters and depends only on the public key."""
    key = private_key("alice").public_key()
    assert keys.key_id(key) == keys.key_id(keys.load_public_key(keys.public_pem(key)))
    assert len(keys.key_id(key)) == 14 and keys.key_id(key).startswith("K")


def test_ring_knows_every_group_a_key_belongs_to() -> None:
    """A key listed in two groups trusts both; one id naming two keys is a config error."""
    groups = (
        KeyGroup.model_validate(key_group("a", "alice")),
        KeyGroup.model_validate(key_group("b", "alice", "bob")),
    )
    ring = keys.KeyRing.from_config(groups)
    assert len(ring) == 2
    found = ring.get(keys.key_id(private_key("alice").public_key()))
    assert found is not None and found.groups == {"a", "b"}
    clash = key_group("c", "bob")
    clash["keys"][0]["id"] = groups[0].keys[0].id
    with pytest.raises(ConfigError, match="names two different keys"):
        keys.KeyRing.from_config((groups[0], KeyGroup.model_validate(clash)))
