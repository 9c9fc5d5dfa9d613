"""Origin access control on the origin side: viewer content answers only edge-signed requests.

Protected are the paths a viewer would play (`PROTECTED_PREFIXES`); the job API, uploads and
replication keep their own admin-token checks, and `/healthz` stays open for process
supervisors (edges sign their health checks anyway, as they sign every origin request).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from streaming import origin_access
from streaming.config import Secret
from streaming.errors import AccessDenied
from streaming.http import error_response

log = logging.getLogger("origin.access")

PROTECTED_PREFIXES = ("/hls/", "/live/", "/drm/", "/thumbnails/")


def target_of(scope: Scope) -> str:
    """The raw request target as the edge signed it: path as sent, plus `?query` if any."""
    raw = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


class OriginAccess:
    """ASGI middleware: 403 for protected paths without a valid edge signature."""

    def __init__(
        self, app: ASGIApp, secret: Secret | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.app, self.secret, self.clock = app, secret, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.secret is None
            or scope["type"] != "http"
            or not scope["path"].startswith(PROTECTED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        try:
            origin_access.verify(
                self.secret, scope["method"], target_of(scope), Headers(scope=scope), self.clock()
            )
        except AccessDenied as exc:
            log.info("refused %s %s: %s", scope["method"], scope["path"], exc.reason)
            await error_response(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)
