"""Which URLs a load test may hit: loopback only unless the operator says otherwise."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from streaming.errors import ConfigError

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def is_loopback(host: str) -> bool:
    """True for `localhost` and any address in 127.0.0.0/8."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host) in LOOPBACK
    except ValueError:
        return False


def check_targets(urls: list[str] | tuple[str, ...], allow_remote: bool = False) -> tuple[str, ...]:
    """Validate http(s) URLs; refuse non-loopback hosts unless `allow_remote` is set."""
    if not urls:
        raise ConfigError("loadtest: give at least one master playlist URL")
    checked: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"loadtest: not an http(s) URL: {url!r}")
        if not parts.path or parts.path == "/":
            raise ConfigError(f"loadtest: {url!r} has no playlist path (e.g. /hls/ID/master.m3u8)")
        if not allow_remote and not is_loopback(parts.hostname):
            raise ConfigError(
                f"loadtest: {parts.hostname} is not loopback (127.0.0.0/8 or localhost); "
                "pass --allow-remote to load-test another machine you operate"
            )
        checked.append(url)
    return tuple(checked)


def base_url(url: str) -> str:
    """scheme://host:port of a URL: where that server's /metrics lives."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
