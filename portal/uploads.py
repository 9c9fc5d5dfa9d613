"""Uploads from the browser: the multipart body streams through to a healthy origin.

The portal holds the admin token's check, the browser never talks to an origin directly, and the
body is forwarded chunk by chunk as it arrives (never held whole in memory).
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

from streaming.config import Origin, Secret
from streaming.errors import BadRequest, OriginError

# Packaging starts after the body arrived; the origin answers 202 quickly, so only the body's
# transfer is slow, and that is bounded by the browser's upload speed, not by a timeout here.
UPLOAD_TIMEOUT = httpx.Timeout(None, connect=2.0)


async def forward(
    request: Request, client: httpx.AsyncClient, origin: Origin, token: Secret
) -> JSONResponse:
    """Stream the viewer's multipart upload to `origin`; relay its answer with the region added."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest("expected a multipart/form-data body with a 'file' field")
    headers = {"content-type": content_type, "authorization": f"Bearer {token.reveal()}"}
    if length := request.headers.get("content-length"):
        headers["content-length"] = length
    try:
        answer = await client.post(
            f"{origin.url}/videos",
            content=request.stream(),
            headers=headers,
            timeout=UPLOAD_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise OriginError(f"origin {origin.region} failed during the upload: {exc!r}") from None
    try:
        body = answer.json()
    except ValueError:
        raise OriginError(
            f"origin {origin.region} answered {answer.status_code} without JSON"
        ) from None
    if answer.status_code == 202:
        body = {**body, "region": origin.region, "status_url": f"/api/videos/{body['id']}"}
    return JSONResponse(body, status_code=answer.status_code)
