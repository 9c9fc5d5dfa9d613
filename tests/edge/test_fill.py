"""Fill verification rules: origin digests and live playlist targets."""

from __future__ import annotations

import base64
import hashlib

import pytest

from edge.fill import Digest, LiveTargets

BODY = b"segment bytes" * 100


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("header", [
    ("content-digest", f"sha-256=:{b64(hashlib.sha256(BODY).digest())}:"),
    ("repr-digest", f"sha-512=:{b64(hashlib.sha512(BODY).digest())}:"),
    ("digest", f"SHA-256={b64(hashlib.sha256(BODY).digest())}"),
    ("content-digest", f"md5=:xxx:, sha-256=:{b64(hashlib.sha256(BODY).digest())}:"),
])  # fmt: skip
def test_known_digests_are_checked_against_the_streamed_body(header: tuple[str, str]) -> None:
    """RFC 9530 Content-/Repr-Digest and the legacy Digest header, sha-256 or sha-512."""
    digest = Digest(dict([header]))
    for start in range(0, len(BODY), 100):
        digest.update(BODY[start : start + 100])
    assert digest.matches()
    wrong = Digest(dict([header]))
    wrong.update(BODY[:-1])
    assert not wrong.matches()


def test_no_or_unknown_digest_accepts_any_body() -> None:
    """Without a digest we can only check the length; unknown algorithms are ignored."""
    for headers in ({}, {"content-digest": "md5=:abc:"}, {"digest": "SHA-256=not base64!"}):
        digest = Digest(headers)
        digest.update(b"anything")
        assert digest.matches()


def test_live_targets_are_remembered_per_directory_and_bounded() -> None:
    """A live playlist's target applies to its directory's segments; old directories age out."""
    targets = LiveTargets(limit=2)
    targets.note("/live/a/index.m3u8", 4.0)
    assert targets.get("/live/a/seg9.ts") == 4.0 and targets.get("/live/b/seg9.ts") is None
    targets.note("/live/b/index.m3u8", 2.0)
    targets.note("/live/c/index.m3u8", 6.0)
    assert targets.get("/live/a/seg9.ts") is None and targets.get("/live/c/x.ts") == 6.0
