"""Origin access control on the edge side: every request to an origin carries the edge's HMAC.

Installed as the `auth` of the edge's one origin client, so fetches, revalidations, health
checks and pass-through requests are all signed without any of them knowing about it. The
signature covers the body's SHA-256, so a body bound for an origin (the pass-through relay's)
is first spooled whole and bounded by `edge.max_request_body_bytes` (edge.spool), then signed
and sent from the spool: what is hashed is exactly what goes out.
"""

from __future__ import annotations

import hashlib
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Generator

import httpx

from edge.spool import Spool
from streaming import origin_access
from streaming.config import Distribution, Edge, Secret, TlsSettings
from streaming.errors import PayloadTooLarge

Address = tuple[str, str, int]


def _address(url: httpx.URL) -> Address:
    return (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))


class OriginSigning(httpx.Auth):
    """Signs requests addressed to an origin that has an `access_secret` and bounds the body of
    every request addressed to an origin; requests to anything else pass as they are."""

    def __init__(
        self, dist: Distribution, edge: Edge, clock: Callable[[], float] = time.time
    ) -> None:
        self._secrets: dict[Address, Secret | None] = {}
        for origin in dist.origins:
            scheme = origin.url.split("://", 1)[0]
            self._secrets[(scheme, origin.host, origin.port)] = origin.access_secret
        if (shield := dist.shield) is not None and edge.role == "pop":
            # The Origin Shield answers POPs only; they sign with the distribution's secret.
            self._secrets[(shield.url.split("://", 1)[0], shield.host, shield.port)] = (
                dist.admin_token
            )
        self._edge_id, self._clock = edge.pop, clock
        self._limit = dist.edge.max_request_body_bytes

    def _bound(self, size: int) -> None:
        if size > self._limit:
            raise PayloadTooLarge(
                f"request body of {size} bytes exceeds this edge's limit of {self._limit} bytes"
            )

    def _check_declared(self, request: httpx.Request) -> None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit():
            self._bound(int(declared))

    def _sign(self, request: httpx.Request, secret: Secret | None, content_sha256: str) -> None:
        if secret is not None:
            target = request.url.raw_path.decode("latin-1")
            request.headers.update(
                origin_access.sign(
                    secret, request.method, target, self._edge_id, self._clock(), content_sha256
                )
            )

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        address = _address(request.url)
        if address not in self._secrets:
            yield request
            return
        self._check_declared(request)
        try:
            body: bytes | None = request.content  # bytes bodies (and none) are known up front
        except httpx.RequestNotRead:
            body = None
        if body is not None:
            self._bound(len(body))
            self._sign(request, self._secrets[address], hashlib.sha256(body).hexdigest())
            yield request
            return
        spool = Spool(self._limit)
        try:
            await spool.fill(request.stream)  # type: ignore[arg-type]
            request.stream = spool
            request.headers["content-length"] = str(spool.size)
            request.headers.pop("transfer-encoding", None)
            self._sign(request, self._secrets[address], spool.sha256)
            yield request  # the response's headers arrive only after the whole body was sent
        finally:
            spool.close()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Synchronous clients (tools, tests): the body is read into memory, then signed."""
        address = _address(request.url)
        if address in self._secrets:
            self._check_declared(request)
            body = request.read()
            self._bound(len(body))
            self._sign(request, self._secrets[address], hashlib.sha256(body).hexdigest())
        yield request


def origin_verify(tls: TlsSettings) -> ssl.SSLContext | bool:
    """Origin protocol policy: verify https:// origins against the configured CA,
    else the system's.
    """
    return ssl.create_default_context(cafile=tls.ca_file) if tls.ca_file else True
