"""Origin access control signatures: what the edge signs is what the origin accepts,
nothing else.
"""

from __future__ import annotations

import hashlib

import pytest

from streaming import origin_access
from streaming.config import Secret
from streaming.errors import AccessDenied

SECRET = Secret("origin-secret")
NOW = 1_800_000_000.0


def test_signed_request_verifies_and_names_the_edge() -> None:
    """Headers from sign() verify for the same method and target and return the edge id."""
    headers = origin_access.sign(SECRET, "GET", "/hls/v1/master.m3u8?x=1", "iad", NOW)
    assert (
        origin_access.verify(SECRET, "GET", "/hls/v1/master.m3u8?x=1", headers, NOW + 10) == "iad"
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h: {}, "unsigned"),
        (lambda h: {**h, "x-cdn-date": "yesterday"}, "malformed"),
        (lambda h: {**h, "x-cdn-date": str(int(NOW) - 301)}, "stale"),
        (lambda h: {**h, "x-cdn-date": str(int(NOW) + 301)}, "stale"),
        (lambda h: {**h, "x-cdn-edge": "fra"}, "bad_signature"),
        (lambda h: {**h, "x-cdn-signature": "0" * 64}, "bad_signature"),
        (lambda h: {**h, "x-cdn-signature": "é"}, "bad_signature"),
    ],
    ids=["unsigned", "bad-date", "too-old", "from-the-future", "other-edge", "forged", "non-ascii"],
)
def test_unsigned_stale_or_tampered_requests_are_refused(change, reason: str) -> None:  # type: ignore[no-untyped-def]
    """Each way a request can fail OAC yields AccessDenied with its reason."""
    headers = change(origin_access.sign(SECRET, "GET", "/hls/a.ts", "iad", NOW))
    with pytest.raises(AccessDenied) as info:
        origin_access.verify(SECRET, "GET", "/hls/a.ts", headers, NOW)
    assert info.value.reason == reason


def test_signature_binds_method_target_and_secret() -> None:
    """A signature does not carry over to another method, path, query or secret."""
    headers = origin_access.sign(SECRET, "GET", "/hls/a.ts", "iad", NOW)
    for secret, method, target in [
        (SECRET, "HEAD", "/hls/a.ts"), (SECRET, "GET", "/hls/b.ts"), (SECRET, "GET", "/hls/a.ts?x"),
        (Secret("other"), "GET", "/hls/a.ts"),
    ]:  # fmt: skip
        with pytest.raises(AccessDenied):
            origin_access.verify(secret, method, target, headers, NOW)


BODY = b'{"filename": "a.mp4", "size": 1, "files": []}'
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()


def test_signature_binds_the_body_digest() -> None:
    """A POST signed over one body's SHA-256 verifies with that digest and names it; another
    digest in the header (a replayed signature with a new body) is `bad_signature`."""
    headers = origin_access.sign(SECRET, "POST", "/videos", "iad", NOW, BODY_SHA256)
    assert origin_access.verify(SECRET, "POST", "/videos", headers, NOW) == "iad"
    assert origin_access.body_sha256(headers) == BODY_SHA256
    swapped = {**headers, origin_access.CONTENT_HEADER: hashlib.sha256(b"other").hexdigest()}
    with pytest.raises(AccessDenied) as info:
        origin_access.verify(SECRET, "POST", "/videos", swapped, NOW)
    assert info.value.reason == "bad_signature"


def test_no_digest_header_means_the_empty_body() -> None:
    """GETs sign the empty body; dropping the header from a signed body-carrying request
    does not verify, and a digest that is not lower-case hex SHA-256 is `malformed`."""
    get = origin_access.sign(SECRET, "GET", "/hls/a.ts", "iad", NOW)
    assert get[origin_access.CONTENT_HEADER] == origin_access.EMPTY_SHA256
    without = {k: v for k, v in get.items() if k != origin_access.CONTENT_HEADER}
    assert origin_access.verify(SECRET, "GET", "/hls/a.ts", without, NOW) == "iad"
    post = origin_access.sign(SECRET, "POST", "/videos", "iad", NOW, BODY_SHA256)
    dropped = {k: v for k, v in post.items() if k != origin_access.CONTENT_HEADER}
    for headers, reason in [
        (dropped, "bad_signature"),
        ({**post, origin_access.CONTENT_HEADER: BODY_SHA256.upper()}, "malformed"),
        ({**post, origin_access.CONTENT_HEADER: "x" * 64}, "malformed"),
    ]:
        with pytest.raises(AccessDenied) as info:
            origin_access.verify(SECRET, "POST", "/videos", headers, NOW)
        assert info.value.reason == reason
