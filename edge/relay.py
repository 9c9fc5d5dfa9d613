"""Pass-through for what is never cached (behaviors with max_ttl 0, methods other than GET/HEAD,
private answers): the request, body included, goes to the origin, the answer streams back.

The body is bounded, spooled and hashed by the origin client's signer (edge.origin_auth) before
the origin hears of it: 413 past `edge.max_request_body_bytes`. (Such requests go to the first
origin of the group only, never through the shield.)
"""

from __future__ import annotations

from starlette.types import Receive

from edge.failover import Origins
from edge.fill import Generated, open_origin
from edge.functions.hooks import Hooks
from edge.origins import OriginRequest
from edge.types import Reply, Result, Stream
from edge.viewer import Viewer, request_body

BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


async def relay(
    origins: Origins, viewer: Viewer, request: OriginRequest, receive: Receive | None,
    hooks: Hooks,
) -> Reply:  # fmt: skip
    """Forward one request and stream the answer back, Set-Cookie included; nothing is stored."""
    if receive is not None and viewer.method not in BODYLESS:
        request.body = request_body(receive)
        if length := viewer.headers.get("content-length"):  # else the origin gets it chunked
            request.headers["content-length"] = length
    response = await open_origin(origins, request, hooks.origin_request())
    if isinstance(response, Generated):
        body = b"" if viewer.method == "HEAD" else response.body
        return Reply(response.status, dict(response.headers), body, Result.MISS, "Miss")
    status, headers = response.status, dict(response.headers)
    respond = hooks.origin_response()
    if respond is not None:
        try:
            status, headers = respond(status, headers)
        except BaseException:
            await response.aclose()
            raise
    if response.length is not None:
        headers["content-length"] = str(response.length)
    answer: bytes | Stream = b""
    if viewer.method == "HEAD":
        await response.aclose()
    else:
        answer = Stream(response.chunks(), response.aclose)
    reply = Reply(status, headers, answer, Result.MISS, "Miss", cookies=response.cookies)
    # The origin's own Age stays (reply.age None): nothing here adds to its time in a cache.
    reply.origin_region, reply.fwd_status = response.origin.region, response.status
    return reply
