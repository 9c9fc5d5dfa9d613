"""The only module that talks HTTP for the load generator (aiohttp; see docs/performance.md for
why not httpx: about 20x more requests per second per core on loopback)."""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass
from types import TracebackType

import aiohttp


@dataclass(frozen=True, slots=True)
class Fetch:
    """One completed (or failed) request as a viewer saw it."""

    status: str  # "200", "404", ... or a transport failure: "timeout", "connect", "certificate"
    started: float  # time.monotonic() when the request was sent
    ttfb: float  # seconds to the response head
    elapsed: float  # seconds to the last body byte
    size: int  # body bytes received
    body: bytes  # kept for playlists only
    x_cache: str  # "Hit", "Miss", "RefreshHit", "Error" ... or "" when the header is absent
    reason: str = ""  # an error body's `reason` (or `error` code): "missing", "expired", ...

    @property
    def ok(self) -> bool:
        return self.status == "200"


MAX_ERROR_BODY = 4096  # error bodies are small JSON; read no more of anything else


def error_reason(body: bytes) -> str:
    """`{"error": "access_denied", "reason": "missing", ...}` → "missing"; "" if not such JSON."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    return str(parsed.get("reason") or parsed.get("error") or "")[:64]


def cache_result(header: str | None) -> str:
    """`Hit from iad` → `Hit` (CloudFront's `Hit from cloudfront` shape)."""
    return header.split(" ", 1)[0] if header else ""


class Client:
    """A pooled HTTP/1.1 client; one per worker process, shared by its viewers."""

    def __init__(self, connections: int, timeout: float, ca_file: str = "") -> None:
        # HTTPS edges are verified against the system's CAs, or only `ca_file` (the demo's CA).
        tls = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._connector = aiohttp.TCPConnector(
            limit=max(1, connections), ttl_dns_cache=300, ssl=tls
        )
        self._session = aiohttp.ClientSession(
            connector=self._connector,
            timeout=aiohttp.ClientTimeout(total=timeout),
            cookie_jar=aiohttp.DummyCookieJar(),  # credentials are sent explicitly per target
        )

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._session.close()

    async def get(self, url: str, headers: dict[str, str], keep_body: bool) -> Fetch:
        """GET `url`; segment bodies are counted and dropped, playlists are kept."""
        started = time.monotonic()
        ttfb = 0.0
        size = 0
        body = b""
        reason = ""
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                ttfb = time.monotonic() - started
                status = str(response.status)
                x_cache = cache_result(response.headers.get("x-cache"))
                if response.status >= 400:
                    head = await response.content.read(MAX_ERROR_BODY)
                    size = len(head)
                    reason = error_reason(head)
                elif keep_body:
                    body = await response.read()
                    size = len(body)
                else:
                    async for chunk in response.content.iter_any():
                        size += len(chunk)
        except TimeoutError:
            status, x_cache = "timeout", ""
        except aiohttp.ClientConnectorCertificateError:  # before its parent class
            status, x_cache = "certificate", ""
        except aiohttp.ClientConnectorError:
            status, x_cache = "connect", ""
        except aiohttp.ClientPayloadError:
            status, x_cache = "truncated", ""
        except aiohttp.ClientError as exc:
            status, x_cache = type(exc).__name__, ""
        elapsed = time.monotonic() - started
        return Fetch(status, started, ttfb, elapsed, size, body, x_cache, reason)

    async def text(self, url: str) -> str | None:
        """GET a small text resource (a /metrics page); None when it is absent or unreachable."""
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                return await response.text() if response.status == 200 else None
        except (TimeoutError, aiohttp.ClientError):
            return None
