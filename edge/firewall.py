"""WAF-style viewer rules checked first: request size limits, denied addresses, denied paths."""

from __future__ import annotations

import ipaddress

from edge.classify import compile_pattern
from streaming.config import Firewall as FirewallSettings
from streaming.errors import AccessDenied, HeadersTooLarge, URITooLong


class Firewall:
    """Compiled once from the distribution's `firewall` section."""

    def __init__(self, settings: FirewallSettings) -> None:
        self.settings = settings
        self._networks = tuple(ipaddress.ip_network(c, strict=False) for c in settings.deny_cidrs)
        self._paths = tuple(compile_pattern(p) for p in settings.deny_paths)

    def check_size(self, target_bytes: int, header_bytes: int) -> None:
        """414 past `max_url_bytes` of request target, 431 past `max_header_bytes` of headers."""
        if target_bytes > self.settings.max_url_bytes:
            raise URITooLong(f"the URL is longer than {self.settings.max_url_bytes} bytes")
        if header_bytes > self.settings.max_header_bytes:
            raise HeadersTooLarge(f"the headers exceed {self.settings.max_header_bytes} bytes")

    def check(self, client_ip: str, path: str) -> None:
        """403 `ip_denied` or `path_denied` when a deny rule matches."""
        if self._networks:
            try:
                address = ipaddress.ip_address(client_ip)
            except ValueError:
                address = None
            if address is not None and any(address in net for net in self._networks):
                raise AccessDenied("ip_denied", "requests from this address are blocked")
        if any(pattern.fullmatch(path) for pattern in self._paths):
            raise AccessDenied("path_denied", "this path is blocked by a firewall rule")
