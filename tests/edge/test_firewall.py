"""WAF-style rules: URL and header size limits, denied CIDRs, denied path patterns."""

from __future__ import annotations

import pytest

from edge.firewall import Firewall
from streaming.config import Firewall as Settings
from streaming.errors import AccessDenied, HeadersTooLarge, URITooLong


def test_size_limits_give_414_and_431() -> None:
    """A target past max_url_bytes is 414; headers past max_header_bytes are 431."""
    wall = Firewall(Settings(max_url_bytes=300, max_header_bytes=1024))
    wall.check_size(300, 1024)
    with pytest.raises(URITooLong):
        wall.check_size(301, 0)
    with pytest.raises(HeadersTooLarge):
        wall.check_size(10, 1025)


def test_denied_cidrs_and_paths_are_403_with_reasons() -> None:
    """Addresses inside a denied CIDR (v4 or v6) and paths matching a rule are refused."""
    wall = Firewall(
        Settings(
            deny_cidrs=("203.0.113.0/24", "2001:db8::/32"), deny_paths=("/hls/*/secret*", "*.php")
        )
    )
    for ip, path, reason in [
        ("203.0.113.9", "/hls/v1/master.m3u8", "ip_denied"),
        ("2001:db8::1", "/x", "ip_denied"),
        ("198.51.100.1", "/hls/v1/secret.key", "path_denied"),
        ("198.51.100.1", "/wp-login.php", "path_denied"),
    ]:
        with pytest.raises(AccessDenied) as info:
            wall.check(ip, path)
        assert info.value.reason == reason
    wall.check("198.51.100.1", "/hls/v1/master.m3u8")
    wall.check("garbage", "/hls/v1/master.m3u8")


def test_invalid_cidr_is_a_config_error() -> None:
    """A deny rule that is not an address fails when the config is parsed, naming the entry."""
    with pytest.raises(ValueError, match=r"deny_cidrs\.1"):
        Settings(deny_cidrs=("10.0.0.0/8", "ten.zero"))
