"""Admin authentication for every role's control API: a bearer token compared in constant time."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from streaming.config import Secret
from streaming.errors import Forbidden, Unauthorized


def require_admin(request: Request, token: Secret) -> None:
    """Raise Unauthorized without a bearer token, Forbidden with a wrong one."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("the admin token is required (Authorization: Bearer <token>)")
    if not hmac.compare_digest(value.strip().encode(), token.reveal().encode()):
        raise Forbidden("the admin token is not valid")
