"""Admin authentication for every role's control API: a bearer token compared in constant time.

`require_admin` is the one check; `admin_guard` is the same check as a FastAPI dependency, for a
router whose every route is admin-only. A dependency runs before the route's path and query
parameters are validated, but NOT before a pydantic body parameter: FastAPI reads and decodes
the body first. Admin routes that take a body therefore take the raw `Request` and read it with
`streaming.bodies` once the guard has passed.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

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


def admin_guard(token: Secret) -> Callable[[Request], Awaitable[None]]:
    """`require_admin` as a dependency: `APIRouter(dependencies=[Depends(admin_guard(token))])`."""

    async def guard(request: Request) -> None:
        require_admin(request, token)

    return guard
