"""CloudFront policy statements: strict parsing and section-wise Resource wildcards."""

from __future__ import annotations

import pytest

from streaming.errors import AccessDenied
from streaming.policy import Policy, resource_matches


@pytest.mark.parametrize(
    ("resource", "url"),
    [
        ("https://cdn.test/hls/v1/*", "https://cdn.test/hls/v1/720p/seg_00001.ts"),
        ("https://cdn.test/hls/v1/*", "https://cdn.test/hls/v1/master.m3u8?lang=en"),
        ("https://cdn.test/hls/v1/seg_0000?.ts", "https://cdn.test/hls/v1/seg_00007.ts"),
        ("*://cdn.test/a.ts", "http://cdn.test/a.ts"),
        ("https://*.test/a.ts", "https://edge.cdn.test/a.ts"),
        ("https://cdn.te*", "https://cdn.test/anything/at/all?x=1"),
        ("*cdn.test", "http://cdn.test/"),
        ("https://cdn.test/x\\?a=*", "https://cdn.test/x?a=42"),
        ("https://cdn.test/x?a=1", "https://cdn.test/x?a=1"),
        (
            "https://d111111abcdef8.cloudfront.net/*game_download.zip*",
            "https://d111111abcdef8.cloudfront.net/example_game_download.zip?license=yes",
        ),
        ("HTTPS://CDN.TEST/a.ts", "https://cdn.test/a.ts"),
    ],
)
def test_resource_wildcards_match_like_cloudfront(resource: str, url: str) -> None:
    """`*` any run and `?` one character inside a section, with the documented implied wildcards."""
    assert resource_matches(resource, url)


@pytest.mark.parametrize(
    ("resource", "url"),
    [
        ("https://cdn.test/hls/v1/*", "https://cdn.test/hls/v2/master.m3u8"),
        ("https://cdn.test/hls/v1/*", "http://cdn.test/hls/v1/master.m3u8"),
        ("https://*.test/a.ts", "https://cdn.test.evil/a.ts"),
        ("https://cdn.test/a*", "https://cdn.test.evil/a.ts"),
        ("https://cdn.test/a.ts", "https://cdn.test/a.ts?x=1"),
        ("https://cdn.test/seg_?.ts", "https://cdn.test/seg_10.ts"),
        ("*cdn.test", "http://cdn.test/a.ts"),
        ("https://cdn.test/hls/A/*", "https://cdn.test/hls/a/x.ts"),
    ],
)
def test_resource_wildcards_never_reach_outside_their_section(resource: str, url: str) -> None:
    """A wildcard in the domain cannot swallow the path, paths are case-sensitive, no query by
    default.
    """
    assert not resource_matches(resource, url)


def test_missing_resource_or_star_covers_everything() -> None:
    """No Resource, or Resource "*", is valid for every URL (as AWS documents)."""
    assert Policy(None, 1).covers("https://a/b?c") and Policy("*", 1).covers("http://x/")


def test_object_form_statement_is_accepted() -> None:
    """AWS's template writes Statement as an object; botocore writes a one-element list."""
    raw = (
        b'{"Statement":{"Resource":"https://a/*","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}}'
    )
    assert Policy.from_json(raw) == Policy("https://a/*", 5)


def test_single_ip_without_prefix_means_slash_32() -> None:
    """`AWS:SourceIp` without a prefix length is one host, like botocore's build_policy."""
    raw = (
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},'
        b'"IpAddress":{"AWS:SourceIp":"192.0.2.7"}}}]}'
    )
    policy = Policy.from_json(raw)
    assert policy.allows_ip("192.0.2.7") and not policy.allows_ip("192.0.2.8")
    assert policy.allows_ip("::ffff:192.0.2.7") and not policy.allows_ip("2001:db8::1")
    assert not policy.allows_ip("not an address")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[]",
        b'{"Statement":[]}',
        b'{"Statement":[{},{}]}',
        b'{"Statement":[{"Condition":{}}]}',
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":true}}}]}',
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":"5"}}}]}',
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":-1}}}]}',
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":1e3}}}]}',
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"Other":{}}}]}',
        b'{"Statement":[{"Resource":7,"Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}',
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"IpAddress":{"AWS:SourceIp":"::1/128"}}}]}',
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"IpAddress":{"AWS:SourceIp":["1.2.3.4"]}}}]}',
        b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5}}}],"Extra":1}',
        b"[" * 100_000,
        b"\xff\xfe\x00",
    ],
)
def test_malformed_policies_are_rejected_as_malformed(raw: bytes) -> None:
    """Anything but one well-typed statement is AccessDenied("malformed"), never another error."""
    with pytest.raises(AccessDenied) as info:
        Policy.from_json(raw)
    assert info.value.reason == "malformed"
