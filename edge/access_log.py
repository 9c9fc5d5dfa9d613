"""The access log: one JSON object per request, with CloudFront standard-log field names.

The hit path only keeps the request's facts (`AccessLog.log`: one tuple); they are formatted
when the buffer is flushed, at least every `FLUSH_SECONDS`, past `FLUSH_LINES` requests, and at
shutdown, with what repeats from line to line (the second's date and time, a player's
User-Agent, the paths of a presentation) encoded once. Each flush is one `os.write` of whole
lines to a file opened with O_APPEND, so the N worker processes of a POP can append to one file
without ever interleaving inside a line.

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
from collections.abc import Callable
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _json_str  # type: ignore[attr-defined]
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from edge.types import Reply
from edge.viewer import Viewer
from streaming.signing import split_query

FLUSH_SECONDS = 0.5
FLUSH_LINES = 256  # about 100 KB of lines: one write
MEMO = 4096  # distinct encoded values (paths, user agents, referers) remembered, each of at
MEMO_CHARS = 512  # most this many characters
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


def _open(target: str) -> int:
    """Append to `target`, created 0640; an existing file wider than that is narrowed."""
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & ~FILE_MODE:
        os.fchmod(fd, mode & FILE_MODE)
    return fd


# What `AccessLog.log` keeps of one request until the flush formats it.
Pending = tuple[
    Viewer, str, str, int, int, int, str, str, str, str, int | None, tuple[int, int] | None,
    float, float,
]  # fmt: skip
DASH = '"-"'  # the JSON string "-": CloudFront's empty field


class AccessLog:
    """Writes to a file (appending), to stdout (`-`), or nowhere (empty target)."""

    def __init__(self, target: str) -> None:
        self.enabled = bool(target)
        self._fd: int | None = None
        self._out: IO[str] | None = None
        if target == "-":
            self._out = sys.stdout
        elif target:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            self._fd = _open(target)  # closed in close()
        self._lines: list[str] = []  # formatted lines (`write`)
        self._pending: list[Pending] = []  # requests not formatted yet (`log`)
        self._last_flush = time.monotonic()
        self._second = (-1, "", "")  # (epoch second, date, time) of the last line formatted

    def write(self, record: dict[str, Any]) -> None:
        """Append one line with these fields."""
        if not self.enabled:
            return
        self._lines.append(json.dumps(record, separators=(",", ":")))
        self._maybe_flush()

    def log(
        self, viewer: Viewer, reply: Reply, pop: str, distribution: str, first_byte: float,
        now: float,
    ) -> None:  # fmt: skip
        """Keep one answered request's facts for the next flush (`now`: a monotonic reading);
        the line is the one `line` makes."""
        if not self.enabled:
            return
        headers = reply.headers
        length = headers.get("content-length", "")
        head = reply.head_bytes
        if head < 0:
            head = sum(len(k) + len(v) + 4 for k, v in headers.items())
        self._pending.append((
            viewer, pop, distribution, reply.status, reply.sent, head + 17, reply.result.value,
            reply.detail or reply.result.value, headers.get("content-type", ""),
            headers.get("x-origin-region", ""), int(length) if length.isdigit() else None,
            reply.range, now - viewer.started, first_byte,
        ))  # fmt: skip
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if (
            len(self._pending) + len(self._lines) >= FLUSH_LINES
            or time.monotonic() - self._last_flush >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        """Format what is pending and write every line in one call."""
        self._last_flush = time.monotonic()
        if not self._pending and not self._lines:
            return
        lines = self._lines
        lines += [self._format(p) for p in self._pending]
        self._pending, self._lines = [], []
        data = "\n".join(lines) + "\n"
        if self._out is not None:
            self._out.write(data)
            self._out.flush()
        elif self._fd is not None:
            _write_all(self._fd, data.encode("utf-8"))

    def _format(self, p: Pending) -> str:
        """`json.dumps(line(...), separators=(",", ":"))` of a pending request, faster."""
        (viewer, pop, dist, status, sent, head, result, detailed, content_type, region, length,
         range_, taken, first_byte) = p  # fmt: skip
        when = viewer.received_at
        second = int(when)
        if second != self._second[0]:
            stamp = datetime.fromtimestamp(second, UTC)
            self._second = (second, stamp.strftime("%Y-%m-%d"), stamp.strftime("%H:%M:%S"))
        _, day, clock = self._second
        h = viewer.headers
        sent_length = h.get("content-length", "")
        host = _text(h.get("host", "") or "-")
        query = viewer.query
        return (
            f'{{"date":"{day}","time":"{clock}","x-edge-location":{_text(pop)},'
            f'"sc-bytes":{sent + head},"c-ip":{_text(viewer.client_ip)},'
            f'"cs-method":{_text(viewer.method)},"cs(Host)":{host},'
            f'"cs-uri-stem":{_encoded(viewer.uri)},"sc-status":{status},'
            f'"cs(Referer)":{_referer_field(h.get("referer", ""))},'
            f'"cs(User-Agent)":{_encoded(h.get("user-agent", ""))},'
            f'"cs-uri-query":{_query_field(query) if query else DASH},'
            f'"x-edge-result-type":{_text(result)},'
            f'"x-edge-request-id":{_json_str(viewer.request_id)},"x-host-header":{host},'
            f'"cs-protocol":{_text(viewer.scheme)},'
            f'"cs-bytes":{int(sent_length) if sent_length.isdigit() else 0},'
            f'"time-taken":{_number(taken)},"x-edge-response-result-type":{_text(result)},'
            f'"cs-protocol-version":{_text("HTTP/" + viewer.http_version)},'
            f'"c-port":{viewer.client_port},"time-to-first-byte":{_number(first_byte)},'
            f'"x-edge-detailed-result-type":{_text(detailed)},'
            f'"sc-content-type":{_text(content_type or "-")},'
            f'"sc-content-len":{length if length is not None else DASH},'
            f'"sc-range-start":{range_[0] if range_ else DASH},'
            f'"sc-range-end":{range_[1] if range_ else DASH},'
            f'"x-distribution-id":{_text(dist)},"x-origin-region":{_text(region or "-")}}}'
        )

    def close(self) -> None:
        self.flush()
        if self._fd is not None:
            os.close(self._fd)
        self._fd = self._out = None
        self.enabled = False


def _write_all(fd: int, data: bytes) -> None:
    """One write of whole lines (O_APPEND places it at the end in one piece); the rare short
    write of a full disk or a signal is finished, which only then may split a line."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class _Memo:
    """`fn(value)` remembered for values of at most MEMO_CHARS (a player's paths, its user agent,
    the host): the memo stays small whatever viewers send."""

    def __init__(self, fn: Callable[[str], str]) -> None:
        self.fn, self.known = fn, dict[str, str]()

    def __call__(self, value: str) -> str:
        found = self.known.get(value)
        if found is None:
            found = self.fn(value)
            if len(value) <= MEMO_CHARS:
                if len(self.known) >= MEMO:
                    self.known.clear()
                self.known[value] = found
        return found


_text = _Memo(lambda value: str(_json_str(value)))  # a JSON string, as json.dumps writes it
_encoded = _Memo(lambda value: _text(encode(value)))
_referer_field = _Memo(lambda value: _text(encode(_referer(value))))
_query_field = _Memo(lambda query: _text(without_credentials(query) or "-"))


def _number(seconds: float) -> str:
    return repr(round(seconds, 3))


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
