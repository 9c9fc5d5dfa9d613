"""Request bodies read with a limit, after the caller was checked, never parsed unbounded.

FastAPI reads and JSON-decodes a pydantic body parameter before any dependency or handler code
runs, so an endpoint that authenticates takes the raw `Request`, checks the caller, then calls
`read_json`. Every limit applies twice: to the declared Content-Length before a byte is read,
and to the bytes counted as they arrive (a chunked body declares no length).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import Message

from streaming.config import first_error
from streaming.errors import BadRequest, PayloadTooLarge

Model = TypeVar("Model", bound=BaseModel)
NO_BODY = 1024  # endpoints that take no body still bound what a client may send them


def check_length(request: Request, limit: int, what: str = "request body") -> None:
    """413 when the declared Content-Length exceeds `limit`; 400 when it is not a number."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not (declared.isascii() and declared.strip().isdigit()):
        raise BadRequest(f"Content-Length {declared[:32]!r} is not a number")
    if int(declared) > limit:
        raise PayloadTooLarge(f"{what} of {int(declared)} bytes exceeds the limit of {limit} bytes")


async def read_body(request: Request, limit: int, what: str = "request body") -> bytes:
    """The whole body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    check_length(request, limit, what)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"{what} exceeds the limit of {limit} bytes")
    return bytes(body)


def parse_json(model: type[Model], body: bytes, what: str = "body") -> Model:
    """Decode and validate `body` as `model`; any problem is one 400 naming the first field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest(f"invalid {what}: {first_error(exc)}") from None


async def read_json(request: Request, model: type[Model], limit: int, what: str = "body") -> Model:
    """`read_body` then `parse_json`: the body is bounded before it is decoded."""
    return parse_json(model, await read_body(request, limit, what), what)


def bounded(request: Request, limit: int, what: str = "request body") -> Request:
    """The same request, its body stream raising 413 past `limit` bytes: for a body that is
    forwarded as it arrives rather than read here."""
    check_length(request, limit, what)
    receive, seen = request.receive, 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(f"{what} exceeds the limit of {limit} bytes")
        return message

    return Request(request.scope, counted)
