"""What the steered master fetch carries to a POP: signing credentials, a Host that verifies."""

from __future__ import annotations

from steering.credentials import presented_host, upstream
from tests.access import key_group
from tests.factories import distribution

SIGNED = "Policy=eyJ9&Signature=abc~&Key-Pair-Id=K1"


def test_only_signing_cookies_are_forwarded() -> None:
    """CloudFront-* signing cookies go along; session and tracking cookies stay with the viewer."""
    headers = {
        "cookie": "session=s3cret; CloudFront-Policy=p; CloudFront-Signature=s; "
        "CloudFront-Key-Pair-Id=k; CloudFront-Expires=9; CloudFront-Other=x; _ga=1",
        "user-agent": "hls.js", "x-forwarded-for": "203.0.113.9", "origin": "http://player.test",
    }  # fmt: skip
    sent = upstream(distribution(), "/hls/v1/master.m3u8", headers, "").headers
    assert sent["cookie"] == (
        "CloudFront-Expires=9; CloudFront-Policy=p; CloudFront-Signature=s; "
        "CloudFront-Key-Pair-Id=k"
    )
    assert set(sent) == {"cookie"}


def test_the_viewers_address_is_appended_to_x_forwarded_for() -> None:
    """Steering is one more proxy hop; the viewer's country header is not vouched for."""
    dist = distribution()
    headers = {"x-forwarded-for": "198.51.100.7", "cloudfront-viewer-country": "US"}
    sent = upstream(dist, "/hls/v1/master.m3u8", headers, "", "203.0.113.9").headers
    assert sent == {"x-forwarded-for": "198.51.100.7, 203.0.113.9"}
    alone = upstream(dist, "/hls/v1/master.m3u8", {}, "", "203.0.113.9").headers
    assert alone == {"x-forwarded-for": "203.0.113.9"}


def test_a_signed_query_goes_on_exactly_and_an_unsigned_one_not_at_all() -> None:
    """The signature covers the whole URL as the viewer had it; without one nothing is added."""
    dist = distribution()
    assert upstream(dist, "/hls/v1/master.m3u8", {}, f"region=eu&{SIGNED}").query == (
        f"region=eu&{SIGNED}"
    )
    assert upstream(dist, "/hls/v1/master.m3u8", {}, "region=eu&x=1").query == ""


def test_authorization_reaches_the_pop_only_where_a_behavior_reads_bearer_tokens() -> None:
    """Only a private behavior with jwt_bearer reads Authorization; elsewhere it would be a leak."""
    jwt = {"path_pattern": "/hls/*", "target": "all", "trusted_key_groups": ["viewers"],
           "jwt_bearer": True}  # fmt: skip
    plain = {"path_pattern": "*", "target": "all"}
    dist = distribution(behaviors=[jwt, plain], key_groups=[key_group("viewers", "alice")])
    token = {"authorization": "Bearer eyJhbGciOi.x.y"}
    assert upstream(dist, "/hls/v1/master.m3u8", token, "").headers == token
    assert "authorization" not in upstream(distribution(), "/hls/v1/master.m3u8", token, "").headers
    basic = {"authorization": "Basic dXNlcjpwYXNz"}
    assert "authorization" not in upstream(dist, "/hls/v1/master.m3u8", basic, "").headers


def test_the_pop_sees_a_host_the_viewers_credentials_name() -> None:
    """The viewer's Host when it is the distribution's (or it has no names), else its name."""
    names = ("*.cdn.test", "cdn.test")
    assert presented_host(names, "cdn.test") == "cdn.test"
    assert presented_host(names, "eu.cdn.test:8443") == "eu.cdn.test:8443"
    assert presented_host(names, "127.0.0.1:8400") == "cdn.test"
    assert presented_host(("*.cdn.test",), "127.0.0.1:8400") is None
    assert presented_host((), "127.0.0.1:8400") == "127.0.0.1:8400"
    assert presented_host((), "") is None
