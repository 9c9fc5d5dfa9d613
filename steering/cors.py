"""The edges' CORS on every steering response, and the edges' answer to a preflight.

A browser player on another site reads the steered master, `/steering.json` and `/edges`, and
follows `/steer/...` redirects, so steering answers with the same headers the POPs would
(`streaming.cors`, over the distribution's `cors` settings). Credentials are allowed where the
POP would allow them: for the path a redirect or the steered master stands for, that path's
behavior; for steering's own documents, whenever any behavior is private (a player that sends
cookies to the POPs sends them here too).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from steering.credentials import behavior_for
from streaming.config import Distribution
from streaming.cors import Cors


class SteeringCors:
    """ASGI middleware: CORS headers on responses (errors too), 204 to preflights."""

    def __init__(self, app: ASGIApp, dist: Distribution) -> None:
        self.app, self.behaviors = app, dist.behaviors
        self.cors = Cors(dist.cors)
        self._any_private = any(b.trusted_key_groups for b in dist.behaviors)

    def credentials(self, path: str) -> bool:
        """Whether a credentialed request for `path` on steering may be read by the page."""
        if path.startswith("/steer/"):
            path = path.removeprefix("/steer")
        elif not path.startswith("/hls/"):
            return self._any_private
        return bool(behavior_for(self.behaviors, path).trusted_key_groups)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.cors.enabled:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin, credentials = headers.get("origin"), self.credentials(scope["path"])
        asked = headers.get("access-control-request-method")
        if self.cors.is_preflight(scope["method"], origin, asked):
            answer = {**self.cors.preflight_headers(origin, credentials), "vary": "Origin",
                      "content-length": "0"}  # fmt: skip
            raw = [(k.encode(), v.encode()) for k, v in answer.items()]
            await send({"type": "http.response.start", "status": 204, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return
        extra = self.cors.response_headers(origin, credentials)

        async def decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.update(extra)
                vary = [v.strip() for v in out.get("vary", "").split(",") if v.strip()]
                if "origin" not in (v.lower() for v in vary):
                    out["vary"] = ", ".join([*vary, "Origin"])
            await send(message)

        await self.app(scope, receive, decorated)
