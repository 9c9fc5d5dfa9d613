"""Which URLs the load generator accepts."""

from __future__ import annotations

import pytest

from loadtest.targets import base_url, check_targets, is_loopback
from streaming.errors import ConfigError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.8.7", "localhost", "LOCALHOST"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    """localhost and all of 127.0.0.0/8 count as loopback."""
    assert is_loopback(host)
    assert check_targets([f"http://{host}:8201/hls/v1/master.m3u8"])


@pytest.mark.parametrize(
    "host", ["10.0.0.1", "128.0.0.1", "example.com", "::1", "localhost.example.com"]
)
def test_other_hosts_are_refused_without_the_flag(host: str) -> None:
    """Anything else is refused with a message naming the host and the flag."""
    url = f"http://{'[::1]' if host == '::1' else host}:80/hls/v1/master.m3u8"
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_targets([url])
    assert check_targets([url], allow_remote=True) == (url,)


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/x.m3u8", "127.0.0.1:8201/x.m3u8", "http://127.0.0.1:8201/", "http:///x"],
)
def test_malformed_urls_are_refused(url: str) -> None:
    """Only http(s) URLs with a host and a playlist path are targets."""
    with pytest.raises(ConfigError):
        check_targets([url])


def test_no_target_is_an_error() -> None:
    """An empty target list is a clear error, not an idle run."""
    with pytest.raises(ConfigError, match="at least one"):
        check_targets([])


def test_base_url_keeps_scheme_host_and_port() -> None:
    """The /metrics base of a target is its scheme and authority."""
    assert base_url("http://127.0.0.1:8201/hls/v/master.m3u8?x=1") == "http://127.0.0.1:8201"
