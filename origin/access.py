"""Origin access control on the origin side: one gate in front of every route but `/healthz`.

Who may call what is decided here, before a route runs and before a byte of the body is read:

    /healthz                                   anyone (process supervisors, edge health checks)
    GET/HEAD of content (the delivery routes:  an edge signature or the admin token; anyone
      /hls/..., /drm/.../key, /live, /live/...)  when the origin has no access_secret (OAC off)
    everything else: the API (/videos*,        the admin token, always. An edge signs whatever a
      /replicas/*) and every other method        pass-through behavior forwards, so its signature
                                                 says nothing about who is asking.

A request carrying an edge signature is judged by it, whatever else it carries: one that does not
verify is refused even beside a valid token, and one that does binds its body (the SHA-256 in
`x-cdn-content-sha256`). Then the body is bounded (`body_rule`): a Content-Length over the limit
is 413 before a byte is read; uploads and replica files stream into their route through a
counting, hashing receive channel that raises 413 past the limit and 403 `body_mismatch` in place
of the last chunk, so the route never sees the end of an unverified body and acts on none; every
other body is read whole here (bounded), checked, then handed to the route.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from origin.ingest import MULTIPART_OVERHEAD
from streaming import origin_access
from streaming.admin import require_admin
from streaming.bodies import check_length, read_body
from streaming.config import OriginSettings, Secret
from streaming.errors import (
    AccessDenied,
    HeadersTooLarge,
    PayloadTooLarge,
    StreamingError,
    URITooLong,
)
from streaming.http import error_response

log = logging.getLogger("origin.access")

HEALTH_PATH = "/healthz"
READ_METHODS = frozenset({"GET", "HEAD"})
_REPLICA_FILE = re.compile(r"/replicas/[^/]+/files/.+")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who passed the gate, and the body digest a signed request committed to (else None)."""

    name: str  # "edge <id>", "admin" or "anyone" (OAC off)
    body_sha256: str | None


@dataclass(frozen=True, slots=True)
class BodyRule:
    limit: int
    streamed: bool  # the route reads it as it arrives; otherwise it is read whole here first


def target_of(scope: Scope) -> str:
    """The raw request target as the edge signed it: path as sent, plus `?query` if any."""
    raw = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


def admit(
    request: Request, content: bool, secret: Secret | None, token: Secret, now: float
) -> Caller:
    """Decide from the headers alone who is calling, or raise 401/403 with the reason."""
    method, edge = request.method, None
    if secret is not None and origin_access.is_signed(request.headers):
        edge = origin_access.verify(secret, method, target_of(request.scope), request.headers, now)
    claimed = origin_access.body_sha256(request.headers) if edge is not None else None
    if content and method in READ_METHODS:
        if edge is not None:
            return Caller(f"edge {edge}", claimed)
        if secret is None:
            return Caller("anyone", None)
        if "authorization" not in request.headers:
            raise AccessDenied(
                "unsigned", "this origin answers only requests signed by an edge or the admin"
            )
    require_admin(request, token)
    return Caller("admin", claimed)


def body_rule(method: str, path: str, settings: OriginSettings) -> BodyRule:
    """How large a request's body may be, and whether its route streams it."""
    if method in READ_METHODS:
        return BodyRule(0, streamed=False)
    if method == "POST" and path == "/videos":  # origin.ingest: multipart, straight to disk
        return BodyRule(settings.max_upload_bytes + MULTIPART_OVERHEAD, streamed=True)
    if method == "PUT" and _REPLICA_FILE.fullmatch(path):  # one packaged file of a replica
        return BodyRule(settings.max_upload_bytes, streamed=True)
    return BodyRule(settings.max_api_body_bytes, streamed=False)


class _Metered:
    """A streamed body's receive channel: counts and hashes what arrives, raising 413 past the
    limit and 403 instead of the last chunk when the digest is not the signed one."""

    def __init__(self, receive: Receive, limit: int, claimed: str | None) -> None:
        self._receive, self._limit, self._claimed = receive, limit, claimed
        self._hash = hashlib.sha256()
        self._size = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        chunk = message.get("body", b"")
        self._size += len(chunk)
        if self._size > self._limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {self._limit} bytes")
        if self._claimed is not None:
            self._hash.update(chunk)
            if not message.get("more_body", False) and self._hash.hexdigest() != self._claimed:
                raise origin_access.body_mismatch()
        return message


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields the already-read `body`, then whatever comes next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


MAX_HEADER_FIELDS = 200


def check_size(scope: Scope, settings: OriginSettings) -> None:
    """414 for an oversized request target, 431 for an oversized header block: first, so that
    nothing of an oversized request is looked at (signatures, cookies, routes)."""
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
    if target > settings.max_url_bytes:
        raise URITooLong(f"the request target is longer than {settings.max_url_bytes} bytes")
    headers = scope["headers"]
    size = sum(len(name) + len(value) + 4 for name, value in headers)
    if size > settings.max_header_bytes or len(headers) > MAX_HEADER_FIELDS:
        raise HeadersTooLarge(
            f"the headers exceed {settings.max_header_bytes} bytes or {MAX_HEADER_FIELDS} fields"
        )


def route_matcher(routes: Sequence[BaseRoute]) -> Callable[[Scope], bool]:
    """True for a request whose path is one of `routes` (whatever its method)."""
    return lambda scope: any(route.matches(scope)[0] is not Match.NONE for route in routes)


class OriginAccess:
    """ASGI middleware: authenticate, then bound (and for signed requests verify) the body."""

    def __init__(
        self, app: ASGIApp, secret: Secret | None, token: Secret, settings: OriginSettings,
        content: Callable[[Scope], bool], clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.app, self.secret, self.token, self.settings = app, secret, token, settings
        self.content, self.clock = content, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._gate(scope, receive)
        except ClientDisconnect:
            return  # gone while its body was read: nobody to answer
        except StreamingError as exc:
            reason = exc.reason if isinstance(exc, AccessDenied) else exc.code
            log.info("refused %s %s: %s", scope["method"], scope["path"], reason)
            await error_response(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _gate(self, scope: Scope, receive: Receive) -> Receive:
        """The receive channel the route gets, once the caller and the body's size passed."""
        check_size(scope, self.settings)
        request = Request(scope)
        method = scope["method"]
        caller = admit(request, self.content(scope), self.secret, self.token, self.clock())
        rule = body_rule(method, scope["path"], self.settings)
        check_length(request, rule.limit, f"{method} body")
        if rule.streamed:
            return _Metered(receive, rule.limit, caller.body_sha256)
        if method in READ_METHODS:
            return receive  # no route reads a GET body; a declared one was refused above
        body = await read_body(Request(scope, receive), rule.limit, f"{method} body")
        if caller.body_sha256 is not None and hashlib.sha256(body).hexdigest() != (
            caller.body_sha256
        ):
            raise origin_access.body_mismatch()
        return _replay(body, receive)
