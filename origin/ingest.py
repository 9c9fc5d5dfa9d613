"""Ingest: stream a multipart upload straight to disk, enforcing the size limit as bytes arrive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from streaming.errors import BadRequest, PayloadTooLarge

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file, at most


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    size: int


class _FilePart:
    """Callbacks for python-multipart that write the `file` field to `dest` and nothing else."""

    def __init__(self, dest: Path, limit: int) -> None:
        self.dest, self.limit = dest, limit
        self.size = 0
        self.filename: str | None = None
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._writing = False
        self._fh = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._writing = options.get(b"name") == b"file" and self._fh is None
        if self._writing:
            self.filename = options.get(b"filename", b"upload").decode(errors="replace")
            self._fh = self.dest.open("wb")  # type: ignore[assignment]
        self._headers = {}

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._writing:
            return
        self.size += end - start
        if self.size > self.limit:
            raise PayloadTooLarge(f"upload exceeds the limit of {self.limit} bytes")
        self._fh.write(data[start:end])  # type: ignore[attr-defined]

    def on_part_end(self) -> None:
        self._writing = False

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


async def receive(request: Request, dest: Path, limit: int) -> Upload:
    """Write the multipart field `file` of `request` to `dest`; remove it on any failure."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise BadRequest("expected a multipart/form-data body with a 'file' field")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"upload of {declared} bytes exceeds the limit of {limit} bytes")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _FilePart(dest, limit)
    callbacks = {name: getattr(part, name) for name in dir(part) if name.startswith("on_")}
    parser = MultipartParser(options[b"boundary"], callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        part.close()
        dest.unlink(missing_ok=True)
        raise BadRequest(f"malformed multipart body: {exc}") from None
    except BaseException:
        part.close()
        dest.unlink(missing_ok=True)
        raise
    part.close()
    if part.filename is None:
        dest.unlink(missing_ok=True)
        raise BadRequest("the multipart body has no 'file' field")
    return Upload(filename=part.filename, size=part.size)
