"""The access log: one JSON object per request, with CloudFront standard-log field names.

Lines are buffered and flushed at least every `FLUSH_SECONDS`, when the buffer grows past
`FLUSH_BYTES`, and at shutdown, so logging costs the hit path one `json.dumps`.

Credentials never reach a line: signing parameters are removed from the query (and from a
Referer's) here, whether or not the request got as far as its signature check, and cookies and
`Authorization` are not fields. The file is created (or narrowed to) mode 0640.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from edge.types import Reply
from edge.viewer import Viewer
from streaming.signing import split_query

FLUSH_SECONDS = 0.5
FLUSH_BYTES = 64 * 1024
FILE_MODE = 0o640  # the owner writes, its group (log shippers) reads, nobody else
# The CloudFront field order; `x-distribution-id` and `x-origin-region` are our additions.
FIELDS = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query",
    "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes",
    "time-taken", "x-edge-response-result-type", "cs-protocol-version", "c-port",
    "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type", "sc-content-len",
    "sc-range-start", "sc-range-end", "x-distribution-id", "x-origin-region",
)  # fmt: skip


def encode(value: str) -> str:
    """CloudFront URL-encodes spaces, control bytes and a few punctuation characters."""
    return quote(value, safe="!$&'()*+,-./:;=?@_") if value else "-"


def without_credentials(query: str) -> str:
    """The raw query minus CloudFront signing parameters (Signature, Policy, Key-Pair-Id...)."""
    return split_query(query)[1] if query else query


def _referer(url: str) -> str:
    """A Referer with signing parameters removed from its query: it can be a signed URL."""
    base, mark, rest = url.partition("?")
    if not mark:
        return url
    query, hash_, fragment = rest.partition("#")
    kept = without_credentials(query)
    return base + (f"?{kept}" if kept else "") + hash_ + fragment


def _open(target: str) -> IO[str]:
    """Append to `target`, created 0640; an existing file wider than that is narrowed."""
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & ~FILE_MODE:
        os.fchmod(fd, mode & FILE_MODE)
    return os.fdopen(fd, "a", encoding="utf-8")


class AccessLog:
    """Writes to a file (appending), to stdout (`-`), or nowhere (empty target)."""

    def __init__(self, target: str) -> None:
        self.enabled = bool(target)
        self._out: IO[str] | None = None
        if target == "-":
            self._out = sys.stdout
        elif target:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            self._out = _open(target)  # closed in close()
        self._buffer: list[str] = []
        self._size = 0
        self._last_flush = time.monotonic()

    def write(self, record: dict[str, Any]) -> None:
        if self._out is None:
            return
        line = json.dumps(record, separators=(",", ":"))
        self._buffer.append(line)
        self._size += len(line) + 1
        if self._size >= FLUSH_BYTES or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._out is None or not self._buffer:
            return
        self._out.write("\n".join(self._buffer) + "\n")
        self._out.flush()
        self._buffer.clear()
        self._size = 0
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        if self._out is not None and self._out is not sys.stdout:
            self._out.close()
        self._out = None


def record(
    *, when: float, pop: str, distribution: str, method: str, host: str, uri: str, query: str,
    status: int, sent: int, header_bytes: int, client_ip: str, client_port: int,
    referer: str, user_agent: str, result: str, detailed: str, request_id: str, protocol: str,
    http_version: str, request_bytes: int, taken: float, first_byte: float, content_type: str,
    content_length: int | None, range_: tuple[int, int] | None, origin_region: str,
) -> dict[str, Any]:  # fmt: skip
    """One log line's fields, named and formatted as in CloudFront standard logs, without
    credentials (a refused request's query still holds its signing parameters)."""
    stamp = datetime.fromtimestamp(when, UTC)
    return {
        "date": stamp.strftime("%Y-%m-%d"), "time": stamp.strftime("%H:%M:%S"),
        "x-edge-location": pop, "sc-bytes": sent + header_bytes, "c-ip": client_ip,
        "cs-method": method, "cs(Host)": host or "-", "cs-uri-stem": encode(uri),
        "sc-status": status, "cs(Referer)": encode(_referer(referer)),
        "cs(User-Agent)": encode(user_agent),
        "cs-uri-query": without_credentials(query) or "-", "x-edge-result-type": result,
        "x-edge-request-id": request_id, "x-host-header": host or "-", "cs-protocol": protocol,
        "cs-bytes": request_bytes, "time-taken": round(taken, 3),
        "x-edge-response-result-type": result, "cs-protocol-version": f"HTTP/{http_version}",
        "c-port": client_port, "time-to-first-byte": round(first_byte, 3),
        "x-edge-detailed-result-type": detailed, "sc-content-type": content_type or "-",
        "sc-content-len": content_length if content_length is not None else "-",
        "sc-range-start": range_[0] if range_ else "-",
        "sc-range-end": range_[1] if range_ else "-",
        "x-distribution-id": distribution, "x-origin-region": origin_region or "-",
    }  # fmt: skip


def line(
    viewer: Viewer, reply: Reply, pop: str, distribution: str, first_byte: float, now: float
) -> dict[str, Any]:
    """The log line for one answered viewer request (`now` is a monotonic clock reading)."""
    headers = reply.headers
    length = headers.get("content-length", "")
    sent_length = viewer.headers.get("content-length", "")
    return record(
        when=viewer.received_at, pop=pop, distribution=distribution, method=viewer.method,
        host=viewer.headers.get("host", ""), uri=viewer.uri, query=viewer.query,
        status=reply.status, sent=reply.sent,
        header_bytes=sum(len(k) + len(v) + 4 for k, v in headers.items()) + 17,
        client_ip=viewer.client_ip, client_port=viewer.client_port,
        referer=viewer.headers.get("referer", ""), user_agent=viewer.headers.get("user-agent", ""),
        result=reply.result.value, detailed=reply.detail or reply.result.value,
        request_id=viewer.request_id, protocol=viewer.scheme, http_version=viewer.http_version,
        request_bytes=int(sent_length) if sent_length.isdigit() else 0,
        taken=now - viewer.started, first_byte=first_byte,
        content_type=headers.get("content-type", ""),
        content_length=int(length) if length.isdigit() else None,
        range_=reply.range, origin_region=headers.get("x-origin-region", ""),
    )  # fmt: skip
