"""The demo's login: signed cookies for one video or one live channel, for a limited time.

Like a paid-content site behind CloudFront: the viewer's entitlement is checked here, then the
portal sets custom-policy `CloudFront-*` cookies that every edge verifies with the key group's
public key. A video's policy covers `/<anything>/<id>/*` (playlists, segments, thumbnails under
/hls/<id>/ and the AES key under /drm/<id>/); a live channel's covers `/live/<channel>/*`.
The portal mounts `login_router`; `signer_from_state` (streaming.viewer_access, shared with the
load generator) reads the demo state's `signing` section.
Both routes are public (a visitor logs in before it has anything), so their bodies are small and
bounded, and a malformed one is a 400 with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from streaming import keys, paths
from streaming.bodies import NO_BODY, read_body, read_json
from streaming.config import Distribution
from streaming.errors import AccessDenied, BadRequest, NotFound
from streaming.policy import Policy
from streaming.signing import Signer
from streaming.viewer_access import live_resource, video_resource
from streaming.viewer_access import signer_from_state as signer_from_state  # re-exported

MAX_TTL = 24 * 3600
MAX_LOGIN_BYTES = 4 * 1024  # {"video": <id>, "ttl": <seconds>} is a few dozen bytes


class Entitlements(Protocol):
    """Decides whether this request may watch `stream` (a video id or `live/<channel>`)."""

    async def allowed(self, request: Request, stream: str) -> bool: ...


class EveryoneForTheDemo:
    """The demo has no accounts: every visitor is entitled, only for a limited time."""

    async def allowed(self, request: Request, stream: str) -> bool:
        return True


class LoginRequest(BaseModel):
    video: Annotated[str, Field(max_length=128)] | None = None
    live: Annotated[str, Field(max_length=128)] | None = None
    ttl: Annotated[int, Field(le=MAX_TTL * 365)] | None = None


def signer_from_key_groups(dist: Distribution) -> Signer | None:
    """Without a demo state (docker-compose): the viewers' private key beside its public one."""
    found = keys.private_beside(dist.key_groups)
    return Signer(found[0], keys.load_private_key(found[1]), "SHA1") if found else None


def resource_for(dist: Distribution, video: str | None, live: str | None) -> tuple[str, str]:
    """(stream name, Resource pattern) for exactly one of a video id or a live channel."""
    if (video is None) == (live is None):
        raise BadRequest('log in to exactly one stream: {"video": <id>} or {"live": <channel>}')
    if video is not None:
        paths.video_id(video)
        return video, video_resource(video)
    channels = {c.name for c in dist.live_channels}
    if live not in channels:
        raise NotFound(f"no live channel {live!r}")
    return f"live/{live}", live_resource(str(live))


def login_router(
    dist: Distribution,
    signer: Signer,
    ttl: int = 3600,
    entitlements: Entitlements | None = None,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """`POST /api/login` → Set-Cookie for one stream; `POST /api/logout` clears the cookies."""
    router = APIRouter()
    entitled = entitlements or EveryoneForTheDemo()

    @router.post("/api/login")
    async def login(request: Request) -> JSONResponse:
        body = await read_json(request, LoginRequest, MAX_LOGIN_BYTES, "login")
        stream, resource = resource_for(dist, body.video, body.live)
        if not await entitled.allowed(request, stream):
            raise AccessDenied("not_entitled", f"this viewer may not watch {stream}")
        seconds = min(body.ttl or ttl, ttl, MAX_TTL)
        if seconds <= 0:
            raise BadRequest("ttl must be positive")
        expires = int(clock()) + seconds
        cookies = signer.cookies(Policy(resource, expires))
        response = JSONResponse(
            {"stream": stream, "resource": resource, "expires": expires, "cookies": sorted(cookies)}
        )
        for name, value in cookies.items():
            _set(response, request, name, value)
        return response

    @router.post("/api/logout", status_code=204)
    async def logout(request: Request) -> Response:
        await read_body(request, NO_BODY)  # takes no body; a client still may not send a large one
        response = Response(status_code=204)
        for name in ("Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm", "Expires"):
            response.delete_cookie(f"CloudFront-{name}", path="/")
        return response

    return router


def _set(response: Response, request: Request, name: str, value: str) -> None:
    """Session cookies, HttpOnly; over HTTPS also Secure with SameSite=None so players on other
    sites can send them (withCredentials); over plain HTTP (the laptop demo) SameSite=Lax."""
    https = request.url.scheme == "https"
    response.set_cookie(
        name, value, path="/", httponly=True, secure=https, samesite="none" if https else "lax"
    )
