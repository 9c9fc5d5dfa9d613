"""Cookies the viewers send: verbatim, or signed with the project's signer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from loadtest.credentials import headers_for, parse_cookie_header, resource_for, signer_for
from streaming import keys
from streaming.config import KeyGroup, PublicKey
from streaming.errors import AccessDenied, ConfigError
from streaming.signing import SignedRequest, Verifier, credentials

MASTER = "http://127.0.0.1:8201/hls/v123/master.m3u8"


def test_cookie_option_is_parsed_into_pairs() -> None:
    """`a=1; b=2` becomes a Cookie header with both pairs; a pair without = is refused."""
    assert parse_cookie_header("a=1; b=x=y") == {"a": "1", "b": "x=y"}
    assert headers_for(MASTER, "a=1", None, 60)["cookie"] == "a=1"
    with pytest.raises(ConfigError, match="--cookie"):
        parse_cookie_header("novalue")


def test_signed_cookies_cover_the_presentation_only(tmp_path: Path) -> None:
    """Signed cookies verify for every object of the video (the login's resource) and no other."""
    private = keys.generate("rsa")
    key_file = tmp_path / "k.pem"
    keys.write_private_key(private, key_file)
    kid = keys.key_id(private.public_key())
    ring = keys.KeyRing.from_config(
        (
            KeyGroup(
                id="viewers",
                keys=(PublicKey(id=kid, public_key=keys.public_pem(private.public_key())),),
            ),
        )
    )
    cookie = headers_for(MASTER, None, signer_for(key_file, kid), 600)["cookie"]
    jar = parse_cookie_header(cookie)
    verifier = Verifier(ring)
    found = credentials({}, jar)
    segment = "http://127.0.0.1:8201/hls/v123/360p/seg_00001.ts"
    grant = verifier.verify(SignedRequest(segment, "127.0.0.1", found), ("viewers",), time.time())
    assert grant.via == "cookie" and grant.custom
    with pytest.raises(AccessDenied):
        verifier.verify(
            SignedRequest("http://127.0.0.1:8201/hls/other/master.m3u8", "127.0.0.1", found),
            ("viewers",),
            time.time(),
        )
    assert resource_for(MASTER) == "*://*/*/v123/*"  # exactly what the portal's login signs
    assert resource_for("http://h/live/news/master.m3u8") == "*://*/live/news/*"


def test_signing_needs_a_key_pair_id(tmp_path: Path) -> None:
    """--sign-key without --key-pair-id is a clear error."""
    with pytest.raises(ConfigError, match="--key-pair-id"):
        signer_for(tmp_path / "k.pem", None)
