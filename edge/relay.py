"""Pass-through for what is never cached (behaviors with max_ttl 0, methods other than GET/HEAD,
private answers): the request, body included, goes to the origin, the answer streams back.

The body is bounded, spooled and hashed by the origin client's signer (edge.origin_auth) before
the origin hears of it: 413 past `edge.max_request_body_bytes`. A body that arrives with a
signed digest (a POP's request at the shield) must match it, or the request is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from starlette.types import Receive

from edge.deliver import edge_headers
from edge.functions.hooks import Hooks
from edge.origins import OriginRequest, Origins
from edge.types import Reply, Result, Stream
from edge.viewer import Viewer, request_body
from streaming import origin_access

BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _matching(chunks: AsyncIterator[bytes], claimed: str) -> AsyncIterator[bytes]:
    """The body as it arrives, raising 403 `body_mismatch` at its end unless its SHA-256 is
    `claimed` (the spool holds it until then, so nothing of it has reached an origin)."""
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != claimed:
        raise origin_access.body_mismatch()


async def relay(
    origins: Origins, pop: str, viewer: Viewer, request: OriginRequest, receive: Receive | None,
    hooks: Hooks,
) -> Reply:  # fmt: skip
    """Forward one request and stream the answer back, Set-Cookie included; nothing is stored."""
    if receive is not None and viewer.method not in BODYLESS:
        request.body = request_body(receive)
        if (claimed := viewer.headers.get(origin_access.CONTENT_HEADER)) is not None:
            request.body = _matching(request.body, claimed)
        if length := viewer.headers.get("content-length"):  # else the origin gets it chunked
            request.headers["content-length"] = length
    hook = hooks.origin_request()
    if hook is not None:
        outcome = hook(request)
        if isinstance(outcome, tuple):
            status, headers, body = outcome
            headers = {**headers, **edge_headers(pop, Result.MISS, viewer, "", 0)}
            headers["content-length"] = str(len(body))
            return Reply(
                status, headers, b"" if viewer.method == "HEAD" else body, Result.MISS, "Miss"
            )
        request = outcome
    response = await origins.open(request)
    status, headers = response.status, dict(response.headers)
    respond = hooks.origin_response()
    if respond is not None:
        try:
            status, headers = respond(status, headers)
        except BaseException:
            await response.aclose()
            raise
    headers.update(edge_headers(pop, Result.MISS, viewer, response.origin.region, 0))
    if response.length is not None:
        headers["content-length"] = str(response.length)
    if viewer.method == "HEAD":
        await response.aclose()
        return Reply(status, headers, b"", Result.MISS, "Miss", cookies=response.cookies)
    stream = Stream(response.chunks(), response.aclose)
    return Reply(status, headers, stream, Result.MISS, "Miss", cookies=response.cookies)
