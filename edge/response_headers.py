"""What viewers see of an answer's headers: the behavior's response headers policy (remove,
add, override, security headers) and the targeted cache directives kept to the edge.

RFC 9213: `CDN-Cache-Control` and this CDN's own targeted field steer the edge only; they are
removed before the answer reaches a viewer unless the distribution forwards them.
"""

from __future__ import annotations

from edge.functions.builtin import DEFAULT_SECURITY_HEADERS
from streaming.config import EdgeSettings, ResponseHeadersPolicy


class ViewerHeaders:
    """Applies one distribution's header rules to replies, compiled once."""

    def __init__(self, settings: EdgeSettings) -> None:
        self.hidden = (
            frozenset() if settings.forward_cdn_cache_control
            else frozenset(n.lower() for n in settings.cdn_cache_control)
        )  # fmt: skip

    def apply(self, headers: dict[str, str], policy: ResponseHeadersPolicy) -> None:
        """Change `headers` in place (before the edge adds its own)."""
        for name in self.hidden:
            headers.pop(name, None)
        for name in policy.remove:
            headers.pop(name.lower(), None)
        if policy.security_headers:
            for name, value in DEFAULT_SECURITY_HEADERS.items():
                headers.setdefault(name, value)
        for name, value in policy.add.items():
            headers.setdefault(name.lower(), value)
        for name, value in policy.override.items():
            headers[name.lower()] = value
