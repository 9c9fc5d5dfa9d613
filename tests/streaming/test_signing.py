"""Signed URLs and cookies: botocore interoperability, every failure reason, rotation, caching."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from streaming.errors import AccessDenied
from streaming.policy import Policy
from streaming.signing import Verifier, b64decode, b64encode
from tests.access import key_group, key_id, private_key, request_for, ring, signer

NOW = 1_800_000_000
LATER = NOW + 3600
TRUSTED = ("viewers",)


def botocore_signer(name: str) -> CloudFrontSigner:
    """The AWS SDK's signer with the SHA-1 RSA callback its docs prescribe."""
    key = private_key(name)
    return CloudFrontSigner(key_id(name), lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA1()))  # type: ignore[union-attr, call-arg]


def at(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


@pytest.fixture
def verifier() -> Verifier:
    return Verifier(ring(key_group("viewers", "alice", ("eve", "ecdsa"))))


def denied(verifier: Verifier, url: str, now: float = NOW, **kw: object) -> str:
    with pytest.raises(AccessDenied) as info:
        verifier.verify(request_for(url, **kw), TRUSTED, now)  # type: ignore[arg-type]
    return info.value.reason


def test_botocore_canned_url_is_accepted(verifier: Verifier) -> None:
    """A canned URL from botocore's CloudFrontSigner verifies, with the viewer's query kept."""
    url = botocore_signer("alice").generate_presigned_url(
        "https://cdn.demo.test/hls/v1/master.m3u8?lang=en", date_less_than=at(LATER)
    )
    grant = verifier.verify(request_for(url), TRUSTED, NOW)
    assert (grant.key_pair_id, grant.via, grant.expires, grant.custom) == (
        key_id("alice"),
        "url",
        LATER,
        False,
    )


def test_botocore_custom_url_with_wildcard_and_ip_is_accepted(verifier: Verifier) -> None:
    """A botocore custom policy (wildcard resource, CIDR, start time) verifies for a covered URL."""
    boto = botocore_signer("alice")
    policy = boto.build_policy(
        "https://cdn.demo.test/hls/v1/*",
        at(LATER),
        date_greater_than=at(NOW - 60),
        ip_address="10.1.0.0/16",
    )
    url = boto.generate_presigned_url(
        "https://cdn.demo.test/hls/v1/720p/seg_00003.ts", policy=policy
    )
    grant = verifier.verify(request_for(url, client_ip="10.1.2.3"), TRUSTED, NOW)
    assert grant.custom and grant.expires == LATER


def test_our_policy_json_is_byte_identical_to_botocores() -> None:
    """Policy.to_json emits what botocore.build_policy emits, so both sides sign the same bytes."""
    boto = botocore_signer("alice")
    ours = Policy("https://h/p/*", LATER, NOW, ipaddress.IPv4Network("192.0.2.0/24")).to_json()
    assert ours == boto.build_policy("https://h/p/*", at(LATER), at(NOW), "192.0.2.0/24").encode()
    assert (
        Policy("https://h/x?y=1", LATER).to_json()
        == boto.build_policy("https://h/x?y=1", at(LATER)).encode()
    )


def test_our_canned_url_equals_botocores_for_an_rsa_sha1_key() -> None:
    """PKCS#1 v1.5 is deterministic, so our canned URL must be botocore's, character
    for character.
    """
    url = "https://cdn.demo.test/hls/v1/master.m3u8"
    assert signer("alice").signed_url(url, expires=LATER) == botocore_signer(
        "alice"
    ).generate_presigned_url(url, date_less_than=at(LATER))


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
@pytest.mark.parametrize("hash", ["SHA1", "SHA256"])
def test_our_urls_and_cookies_verify_for_each_key_type_and_hash(kind: str, hash: str) -> None:
    """RSA-2048 and ECDSA P-256 keys with SHA-1 or SHA-256 (Hash-Algorithm) sign URLs
    and cookies.
    """
    verifier = Verifier(ring(key_group("viewers", ("k", kind))))  # type: ignore[arg-type]
    ours = signer("k", kind, hash)  # type: ignore[arg-type]
    url = ours.signed_url("https://cdn.demo.test/a.ts", expires=LATER)
    assert ("Hash-Algorithm=SHA256" in url) == (hash == "SHA256")
    assert verifier.verify(request_for(url), TRUSTED, NOW).via == "url"
    cookies = ours.cookies(Policy("https://cdn.demo.test/*", LATER))
    assert ("CloudFront-Hash-Algorithm" in cookies) == (hash == "SHA256")
    assert (
        verifier.verify(
            request_for("https://cdn.demo.test/b.ts", cookies=cookies), TRUSTED, NOW
        ).via
        == "cookie"
    )


def test_sha256_signature_without_hash_algorithm_is_a_bad_signature(verifier: Verifier) -> None:
    """Dropping Hash-Algorithm=SHA256 makes the edge check SHA-1, which must fail."""
    url = signer("alice", hash="SHA256").signed_url("https://cdn.demo.test/a.ts", expires=LATER)
    assert denied(verifier, url.replace("&Hash-Algorithm=SHA256", "")) == "bad_signature"


def test_canned_cookies_cover_exactly_one_url(verifier: Verifier) -> None:
    """Canned cookies sign one URL: that URL passes, its sibling fails the signature check."""
    cookies = signer("alice").canned_cookies("https://cdn.demo.test/hls/v1/master.m3u8", LATER)
    assert set(cookies) == {"CloudFront-Expires", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    verifier.verify(
        request_for("https://cdn.demo.test/hls/v1/master.m3u8", cookies=cookies), TRUSTED, NOW
    )
    assert (
        denied(verifier, "https://cdn.demo.test/hls/v1/other.m3u8", cookies=cookies)
        == "bad_signature"
    )


def test_signed_url_parameters_take_precedence_over_cookies(verifier: Verifier) -> None:
    """With any signing parameter in the query, valid cookies are not consulted (CloudFront)."""
    cookies = signer("alice").cookies(Policy("https://cdn.demo.test/*", LATER))
    assert denied(verifier, "https://cdn.demo.test/a.ts?Expires=1", cookies=cookies) == "missing"
    assert (
        denied(verifier, "https://cdn.demo.test/a.ts?Signature=x&Key-Pair-Id=K", cookies=cookies)
        == "malformed"
    )


FRESH = "https://cdn.demo.test/a.ts"


@pytest.mark.parametrize(
    ("make_url", "reason"),
    [
        (lambda: FRESH, "missing"),
        (lambda: FRESH + "?Expires=1&Signature=abc", "missing"),
        (lambda: signer("alice").signed_url(FRESH, expires=LATER) + "&Expires=2", "malformed"),
        (
            lambda: (
                signer("alice")
                .signed_url(FRESH, expires=LATER)
                .replace("Signature=", "Signature=%")
            ),
            "malformed",
        ),
        (
            lambda: FRESH + f"?Expires=soon&Signature=AAAA&Key-Pair-Id={key_id('alice')}",
            "malformed",
        ),
        (
            lambda: FRESH + f"?Signature=AAAA&Key-Pair-Id={key_id('alice')}",
            "malformed",
        ),
        (
            lambda: FRESH + f"?Policy=e30_&Expires=1&Signature=AAAA&Key-Pair-Id={key_id('alice')}",
            "bad_signature",
        ),
        (
            lambda: signer("alice").signed_url(FRESH, expires=LATER) + "&Hash-Algorithm=MD5",
            "malformed",
        ),
        (lambda: signer("mallory").signed_url(FRESH, expires=LATER), "unknown_key"),
        (
            lambda: signer("alice").signed_url(FRESH, expires=LATER).replace("a.ts?", "a.ts?x=1&"),
            "bad_signature",
        ),
        (lambda: signer("alice").signed_url(FRESH, expires=LATER) + "&added=1", "bad_signature"),
        (lambda: signer("alice").signed_url(FRESH, expires=NOW), "expired"),
        (
            lambda: signer("alice").signed_url(FRESH, policy=Policy("*", LATER, NOW + 60)),
            "not_yet_valid",
        ),
        (
            lambda: signer("alice").signed_url(
                FRESH, policy=Policy("*", LATER, source_ip=ipaddress.IPv4Network("10.0.0.0/8"))
            ),
            "ip_not_allowed",
        ),
        (
            lambda: signer("alice").signed_url(
                FRESH, policy=Policy("https://cdn.demo.test/b*", LATER)
            ),
            "resource_not_covered",
        ),
        (
            lambda: signer("alice").signed_url(FRESH, policy=Policy("https://other.test/*", LATER)),
            "resource_not_covered",
        ),
    ],
    ids=[
        "no-credentials",
        "no-key-pair-id",
        "duplicate-parameter",
        "bad-base64",
        "expires-not-a-number",
        "neither-expires-nor-policy",
        "expires-beside-a-forged-policy",
        "unknown-hash",
        "unknown-key",
        "query-changed",
        "param-added-after-signing",
        "expired",
        "not-yet-valid",
        "ip-not-allowed",
        "path-not-covered",
        "host-not-covered",
    ],
)
def test_each_failure_has_its_machine_readable_reason(
    verifier: Verifier, make_url, reason: str
) -> None:  # type: ignore[no-untyped-def]
    """Every way a signed URL can be wrong yields AccessDenied with its own short reason."""
    assert denied(verifier, make_url()) == reason


def test_malformed_policy_json_is_rejected_after_a_valid_signature(verifier: Verifier) -> None:
    """A correctly signed but nonsensical policy is `malformed`, not a crash."""
    url = FRESH + "?Policy=" + b64encode(b'{"Statement":[]}')
    sig = b64encode(signer("alice").sign(b'{"Statement":[]}'))
    assert denied(verifier, f"{url}&Signature={sig}&Key-Pair-Id={key_id('alice')}") == "malformed"


def test_key_outside_the_behaviors_trusted_groups_is_unknown() -> None:
    """A key that exists but only in another group does not open this behavior."""
    verifier = Verifier(ring(key_group("viewers", "alice"), key_group("partners", "bob")))
    url = signer("bob").signed_url(FRESH, expires=LATER)
    assert verifier.verify(request_for(url), ("partners",), NOW).key_pair_id == key_id("bob")
    with pytest.raises(AccessDenied) as info:
        verifier.verify(request_for(url), TRUSTED, NOW)
    assert info.value.reason == "unknown_key"


def test_key_rotation_never_rejects_a_valid_viewer() -> None:
    """Add the new key, sign with it, retire the old one: each step accepts every
    live credential.
    """
    old_url = signer("old").signed_url(FRESH, expires=LATER)
    new_url = signer("new").signed_url(FRESH, expires=LATER)
    before = Verifier(ring(key_group("viewers", "old")))
    during = Verifier(ring(key_group("viewers", "old", "new")))
    after = Verifier(ring(key_group("viewers", "new")))
    before.verify(request_for(old_url), TRUSTED, NOW)
    during.verify(request_for(old_url), TRUSTED, NOW)
    during.verify(request_for(new_url), TRUSTED, NOW)
    after.verify(request_for(new_url), TRUSTED, NOW)
    with pytest.raises(AccessDenied, match="trusted key group"):
        after.verify(request_for(old_url), TRUSTED, NOW)


def test_cached_signature_still_checks_time_ip_resource_and_signature_bytes(
    verifier: Verifier,
) -> None:
    """A remembered policy skips the crypto, never the per-request checks or a changed signature."""
    policy = Policy(
        "https://cdn.demo.test/hls/*", LATER, source_ip=ipaddress.IPv4Network("10.0.0.0/8")
    )
    cookies = signer("alice").cookies(policy)
    verifier.verify(
        request_for("https://cdn.demo.test/hls/a.ts", "10.0.0.1", cookies), TRUSTED, NOW
    )
    assert len(verifier._verified) == 1
    assert (
        denied(
            verifier, "https://cdn.demo.test/hls/a.ts", LATER, client_ip="10.0.0.1", cookies=cookies
        )
        == "expired"
    )
    assert (
        denied(verifier, "https://cdn.demo.test/hls/a.ts", client_ip="11.0.0.1", cookies=cookies)
        == "ip_not_allowed"
    )
    assert (
        denied(verifier, "https://cdn.demo.test/x.ts", client_ip="10.0.0.1", cookies=cookies)
        == "resource_not_covered"
    )
    forged = dict(cookies, **{"CloudFront-Signature": b64encode(b"\0" * 256)})
    assert (
        denied(verifier, "https://cdn.demo.test/hls/a.ts", client_ip="10.0.0.1", cookies=forged)
        == "bad_signature"
    )


def test_verified_cache_is_bounded() -> None:
    """The LRU of verified policies never grows past its size."""
    verifier = Verifier(ring(key_group("viewers", "alice")), cache_size=3)
    for i in range(6):
        url = signer("alice").signed_url(f"https://cdn.demo.test/{i}.ts", expires=LATER)
        verifier.verify(request_for(url), TRUSTED, NOW)
    assert len(verifier._verified) == 3 and len(verifier._granted) == 3


def test_remembered_credentials_are_still_refused_by_an_untrusted_group() -> None:
    """The exact credentials verified once skip decoding and hashing next time, but the key's
    trust is checked against each behavior's groups every time."""
    verifier = Verifier(ring(key_group("viewers", "alice")))
    url = signer("alice").signed_url("https://cdn.demo.test/hls/a.ts", expires=LATER)
    verifier.verify(request_for(url), TRUSTED, NOW)
    assert len(verifier._granted) == 1
    with pytest.raises(AccessDenied) as info:
        verifier.verify(request_for(url), ("editors",), NOW)
    assert info.value.reason == "unknown_key"


def test_url_safe_base64_uses_cloudfronts_alphabet() -> None:
    """`+`, `=` and `/` become `-`, `_` and `~`, and decoding reverses it."""
    data = bytes([0xFB, 0xFF, 0xBF, 0xFE])
    encoded = b64encode(data)
    assert not {"+", "=", "/"} & set(encoded) and {"-", "_", "~"} & set(encoded)
    assert b64decode(encoded) == data
