"""CORS for browser players: allowed origins echoed, credentials on cookie-protected paths.

Never `Access-Control-Allow-Origin: *` together with credentials, always `Vary: Origin` when
CORS is configured, and the headers go on errors too (a 403 without them surfaces in the
browser as a misleading "CORS error"). Pure header logic over the distribution's `cors`
settings, shared by the edge (per cache behavior) and the steering service (which answers for
the same distribution and must not disagree with it).
"""

from __future__ import annotations

from streaming.config import Behavior, CorsSettings


class Cors:
    """The distribution's CORS settings, with header values encoded once at start."""

    def __init__(self, settings: CorsSettings) -> None:
        self.enabled = bool(settings.allowed_origins)
        self._any = "*" in settings.allowed_origins
        self._origins = frozenset(settings.allowed_origins)
        self._methods = ", ".join(settings.allowed_methods)
        self._headers = ", ".join(settings.allowed_headers)
        self._expose = ", ".join(settings.expose_headers)
        self._max_age = str(settings.max_age)

    def allowed(self, origin: str | None) -> bool:
        return self.enabled and origin is not None and (self._any or origin in self._origins)

    def headers(self, origin: str | None, behavior: Behavior) -> dict[str, str]:
        """Headers for an actual (non-preflight) response to a viewer that sent `Origin`.

        The caller adds `Vary: Origin` to every response, allowed or not, merged with its own.
        """
        return self.response_headers(origin, credentials=bool(behavior.trusted_key_groups))

    def response_headers(self, origin: str | None, credentials: bool) -> dict[str, str]:
        """`headers` for a response that is not one behavior's: credentials said explicitly."""
        if not self.enabled:
            return {}
        out: dict[str, str] = {}
        if self.allowed(origin):
            assert origin is not None
            out["access-control-allow-origin"] = origin
            out["access-control-expose-headers"] = self._expose
            if credentials:
                out["access-control-allow-credentials"] = "true"
        return out

    def is_preflight(self, method: str, origin: str | None, request_method: str | None) -> bool:
        return self.enabled and method == "OPTIONS" and origin is not None and bool(request_method)

    def preflight(self, origin: str | None, behavior: Behavior) -> dict[str, str]:
        """Headers for a 204 answer to an OPTIONS preflight (empty when the origin is refused)."""
        return self.preflight_headers(origin, credentials=bool(behavior.trusted_key_groups))

    def preflight_headers(self, origin: str | None, credentials: bool) -> dict[str, str]:
        """`preflight` with credentials said explicitly."""
        if not self.allowed(origin):
            return {}
        out = self.response_headers(origin, credentials)
        out["access-control-allow-methods"] = self._methods
        out["access-control-allow-headers"] = self._headers
        out["access-control-max-age"] = self._max_age
        return out
