"""Request bodies held back until they are whole: bounded, hashed, then sent from a temp file.

An origin request's signature covers the SHA-256 of its body, and a header cannot follow the
body (no trailers), so a viewer's body is received completely before the origin hears of it:
in memory up to `MEMORY_BYTES`, then in an anonymous temporary file that disappears when closed.
The size is checked as bytes arrive, so a body over the limit costs at most the limit.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator

import httpx

from streaming.errors import PayloadTooLarge

MEMORY_BYTES = 1024 * 1024
READ_BYTES = 256 * 1024


class Spool(httpx.AsyncByteStream):
    """One request body: `fill` it (at most `limit` bytes), then send it as the request stream."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0
        self._hash = hashlib.sha256()
        self._file = tempfile.SpooledTemporaryFile(max_size=MEMORY_BYTES)  # noqa: SIM115

    async def fill(self, chunks: AsyncIterable[bytes]) -> None:
        """Take the whole body from `chunks`; PayloadTooLarge as soon as it passes the limit."""
        async for chunk in chunks:
            self.size += len(chunk)
            if self.size > self.limit:
                raise PayloadTooLarge(
                    f"request body exceeds this edge's limit of {self.limit} bytes"
                )
            self._hash.update(chunk)
            self._file.write(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._file.seek(0)
        while chunk := self._file.read(READ_BYTES):
            yield chunk

    def close(self) -> None:
        self._file.close()

    async def aclose(self) -> None:
        self.close()
