"""Origin access control on the edge side: every request to an origin carries the edge's HMAC.

Installed as the `auth` of the edge's one origin client, so fetches, revalidations and health
checks are all signed without any of them knowing about it.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Generator

import httpx

from streaming import origin_access
from streaming.config import Distribution, Edge, Secret, TlsSettings


class OriginSigning(httpx.Auth):
    """Signs requests addressed to an origin that has an `access_secret`; others pass as is."""

    def __init__(
        self, dist: Distribution, edge: Edge, clock: Callable[[], float] = time.time
    ) -> None:
        self._secrets: dict[tuple[str, str, int], Secret] = {}
        for origin in dist.origins:
            if origin.access_secret is not None:
                scheme = origin.url.split("://", 1)[0]
                self._secrets[(scheme, origin.host, origin.port)] = origin.access_secret
        if (shield := dist.shield) is not None and edge.role == "pop":
            # The Origin Shield answers POPs only; they sign with the distribution's secret.
            self._secrets[(shield.url.split("://", 1)[0], shield.host, shield.port)] = (
                dist.admin_token
            )
        self._edge_id, self._clock = edge.pop, clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        secret = self._secrets.get(
            (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        )
        if secret is not None:
            target = url.raw_path.decode("latin-1")
            headers = origin_access.sign(
                secret, request.method, target, self._edge_id, self._clock()
            )
            request.headers.update(headers)
        yield request


def origin_verify(tls: TlsSettings) -> ssl.SSLContext | bool:
    """Origin protocol policy: verify https:// origins against the configured CA,
    else the system's.
    """
    return ssl.create_default_context(cafile=tls.ca_file) if tls.ca_file else True
