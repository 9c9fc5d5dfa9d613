"""Interop with the npm library aws-cloudfront-sign: what it produces verifies, or is refused
with a reason. Every URL and cookie here is made by the real library under node."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from streaming.errors import AccessDenied
from streaming.signing import Verifier, b64decode, b64encode
from tests.access import key_group, key_id, request_for, ring
from tests.npm_signing import npm_sign

TRUSTED = ("viewers",)
NOW = int(time.time())  # the library refuses to sign an expiry in the past, so time is real
LATER = NOW + 3600
MS = LATER * 1000  # its expireTime is in milliseconds
SHORT = NOW + 600
MASTER = "https://cdn.demo.test/hls/v1/master.m3u8"


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(ring(key_group("viewers", "alice", ("eve", "ecdsa"))))


@pytest.fixture(scope="module")
def signed() -> dict[str, object]:
    """One node run for the module's RSA credentials, by name."""
    jobs = {
        "url": {"kind": "url", "url": MASTER, "ms": MS},
        "query": {"kind": "url", "url": MASTER + "?lang=en", "ms": MS},
        "ip": {"kind": "url", "url": MASTER, "ms": MS, "ip": "10.1.2.0/24"},
        "ip6": {"kind": "url", "url": MASTER, "ms": MS, "ip": "2001:db8::/32"},
        "space": {"kind": "url", "url": "https://cdn.demo.test/hls/a b.ts", "ms": MS},
        "short": {"kind": "url", "url": MASTER, "ms": SHORT * 1000},
        "cookies": {"kind": "cookies", "url": "https://cdn.demo.test/hls/v1/*", "ms": MS},
        "ip_cookies": {
            "kind": "cookies", "url": "https://cdn.demo.test/hls/*", "ms": MS, "ip": "10.0.0.0/8",
        },
    }  # fmt: skip
    return dict(zip(jobs, npm_sign(list(jobs.values())), strict=True))


def url_of(signed: dict[str, object], name: str) -> str:
    value = signed[name]
    assert isinstance(value, str)
    return value


def denied(verifier: Verifier, url: str, now: float = NOW, **kw: object) -> AccessDenied:
    with pytest.raises(AccessDenied) as info:
        verifier.verify(request_for(url, **kw), TRUSTED, now)  # type: ignore[arg-type]
    return info.value


def test_its_url_carries_both_expires_and_policy_and_verifies(
    verifier: Verifier, signed: dict[str, object]
) -> None:
    """Expires + Policy + Signature + Key-Pair-Id: accepted, the policy's expiry granted."""
    url = url_of(signed, "url")
    params = parse_qs(urlsplit(url).query)
    assert set(params) == {"Expires", "Policy", "Signature", "Key-Pair-Id"}
    assert params["Expires"] == [str(LATER)]
    grant = verifier.verify(request_for(url), TRUSTED, NOW)
    assert (grant.key_pair_id, grant.via, grant.expires, grant.custom) == (
        key_id("alice"), "url", LATER, True,
    )  # fmt: skip
    assert denied(verifier, url, LATER).reason == "expired"
    other = url.replace("master.m3u8", "other.m3u8")
    assert denied(verifier, other).reason == "resource_not_covered"


def test_the_viewers_own_query_is_part_of_the_signed_resource(
    verifier: Verifier, signed: dict[str, object]
) -> None:
    """`?lang=en` was in the URL it signed: kept, it verifies; changed, it is not covered."""
    url = url_of(signed, "query")
    assert verifier.verify(request_for(url), TRUSTED, NOW).expires == LATER
    assert denied(verifier, url.replace("lang=en", "lang=de")).reason == "resource_not_covered"


def test_the_policy_wins_over_an_expires_that_disagrees(
    verifier: Verifier, signed: dict[str, object]
) -> None:
    """Expires is not signed beside a Policy: edited either way it neither grants nor denies."""
    url = url_of(signed, "url")
    earlier = url.replace(f"Expires={LATER}", f"Expires={NOW - 600}")
    assert verifier.verify(request_for(earlier), TRUSTED, NOW).expires == LATER
    short = url_of(signed, "short")
    extended = short.replace(f"Expires={SHORT}", f"Expires={LATER}")
    assert extended != short
    assert denied(verifier, extended, SHORT).reason == "expired"
    garbled = url.replace(f"Expires={LATER}", "Expires=soon")
    assert verifier.verify(request_for(garbled), TRUSTED, NOW).expires == LATER


def test_a_tampered_policy_is_a_bad_signature(
    verifier: Verifier, signed: dict[str, object]
) -> None:
    """Rewriting the Policy (a later DateLessThan) breaks the signature over it."""
    url = url_of(signed, "url")
    policy = parse_qs(urlsplit(url).query)["Policy"][0]
    longer = b64decode(policy).replace(str(LATER).encode(), str(LATER + 10**6).encode())
    forged = url.replace(policy.replace("~", "%7E"), b64encode(longer).replace("~", "%7E"))
    assert forged != url
    assert denied(verifier, forged).reason == "bad_signature"


def test_its_ip_range_is_the_policys_ip_condition(
    verifier: Verifier, signed: dict[str, object]
) -> None:
    """ipRange: a client inside the CIDR passes, one outside is `ip_not_allowed`."""
    url = url_of(signed, "ip")
    verifier.verify(request_for(url, client_ip="10.1.2.3"), TRUSTED, NOW)
    assert denied(verifier, url, client_ip="10.9.9.9").reason == "ip_not_allowed"


def test_an_ipv6_range_is_refused_as_malformed_with_the_reason(
    verifier: Verifier, signed: dict[str, object]
) -> None:
    """The library signs any ipRange; CloudFront's AWS:SourceIp is IPv4 only, so say so."""
    exc = denied(verifier, url_of(signed, "ip6"), client_ip="2001:db8::1")
    assert exc.reason == "malformed" and "IPv4" in exc.detail


def test_a_url_it_encodes_after_signing_is_not_covered(
    verifier: Verifier, signed: dict[str, object]
) -> None:
    """It signs `a b.ts` but sends `a%20b.ts`: the signed Resource is not the URL requested."""
    url = url_of(signed, "space")
    assert "a%20b.ts?" in url
    assert denied(verifier, url).reason == "resource_not_covered"


def test_its_cookies_open_the_wildcard_resource(
    verifier: Verifier, signed: dict[str, object]
) -> None:
    """CloudFront-Policy/-Signature/-Key-Pair-Id for /hls/v1/*: inside passes, outside not."""
    cookies = signed["cookies"]
    assert isinstance(cookies, dict)
    assert set(cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    seg = "https://cdn.demo.test/hls/v1/720p/seg_00001.ts"
    grant = verifier.verify(request_for(seg, cookies=cookies), TRUSTED, NOW)
    assert (grant.via, grant.expires) == ("cookie", LATER)
    assert denied(verifier, "https://cdn.demo.test/hls/v2/a.ts", cookies=cookies).reason == (
        "resource_not_covered"
    )
    with_ip = signed["ip_cookies"]
    assert isinstance(with_ip, dict)
    verifier.verify(request_for(seg, client_ip="10.0.0.7", cookies=with_ip), TRUSTED, NOW)
    assert denied(verifier, seg, client_ip="192.0.2.1", cookies=with_ip).reason == (
        "ip_not_allowed"
    )


def test_an_ecdsa_key_signed_by_node_verifies() -> None:
    """node signs an EC key with ECDSA-SHA1 (DER), which the edge verifies like CloudFront."""
    verifier = Verifier(ring(key_group("viewers", ("eve", "ecdsa"))))
    (url,) = npm_sign([{"kind": "url", "url": MASTER, "ms": MS}], "eve", "ecdsa")
    assert verifier.verify(request_for(url), TRUSTED, NOW).key_pair_id == key_id("eve", "ecdsa")
    unknown = Verifier(ring(key_group("viewers", "alice")))
    with pytest.raises(AccessDenied) as info:
        unknown.verify(request_for(url), TRUSTED, NOW)
    assert info.value.reason == "unknown_key"
