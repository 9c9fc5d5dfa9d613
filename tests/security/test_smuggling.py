"""Ambiguous framing never smuggles a second request past the first.

Each case wraps an anonymous request for a private playlist inside the framing of an outer
request (Content-Length against Transfer-Encoding, duplicate lengths, obs-fold, bare LF, bad
chunk sizes, ...), sent as raw bytes. The server must answer the outer request alone (a 400, or
its answer and then close) and never the inner one; no answer may carry a private byte or be a
5xx. The plainly pipelined pair is the control: there a second answer is expected, which shows
the reader would see one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.security import known
from tests.security.ledger import report
from tests.security.probe import Component, Prober
from tests.security.stack import SecureStack

pytestmark = pytest.mark.e2e

Build = Callable[[str, str, bytes], bytes]  # (request line start, host, inner) -> raw bytes


def _head(start: str, host: str, *fields: str, eol: str = "\r\n") -> bytes:
    return (eol.join([f"{start} HTTP/1.1", f"Host: {host}", *fields]) + eol + eol).encode()


def _chunked_then(inner: bytes) -> bytes:
    return b"0\r\n\r\n" + inner


CASES: dict[str, Build] = {
    "CL.TE": lambda s, h, i: _head(
        s, h, f"Content-Length: {len(_chunked_then(i))}", "Transfer-Encoding: chunked"
    ) + _chunked_then(i),
    "TE.CL": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked", "Content-Length: 4"
    ) + f"{len(i):x}\r\n".encode() + i + b"\r\n0\r\n\r\n",
    "duplicate CL": lambda s, h, i: _head(
        s, h, "Content-Length: 0", f"Content-Length: {len(i)}"
    ) + i,
    "CL list": lambda s, h, i: _head(s, h, f"Content-Length: 0, {len(i)}") + i,
    "CL plus sign": lambda s, h, i: _head(s, h, f"Content-Length: +{len(i)}") + i,
    "CL hex": lambda s, h, i: _head(s, h, f"Content-Length: 0x{len(i):x}") + i,
    "CL negative": lambda s, h, i: _head(s, h, "Content-Length: -1") + i,
    "CL huge": lambda s, h, i: _head(s, h, "Content-Length: 99999999999999999999999") + i,
    "TE xchunked": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: xchunked", f"Content-Length: {len(_chunked_then(i))}"
    ) + _chunked_then(i),
    "TE space before colon": lambda s, h, i: _head(
        s, h, "Transfer-Encoding : chunked", f"Content-Length: {len(_chunked_then(i))}"
    ) + _chunked_then(i),
    "TE twice": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked", "Transfer-Encoding: identity",
        f"Content-Length: {len(_chunked_then(i))}",
    ) + _chunked_then(i),
    "TE chunked, identity": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked, identity", f"Content-Length: {len(_chunked_then(i))}"
    ) + _chunked_then(i),
    "obs-fold TE": lambda s, h, i: _head(
        s, h, f"Content-Length: {len(_chunked_then(i))}", "X-A: b", " Transfer-Encoding: chunked"
    ) + _chunked_then(i),
    "obs-fold TE value": lambda s, h, i: _head(
        s, h, f"Content-Length: {len(_chunked_then(i))}", "Transfer-Encoding:", " chunked"
    ) + _chunked_then(i),
    "bare LF": lambda s, h, i: _head(
        s, h, f"Content-Length: {len(_chunked_then(i))}", "Transfer-Encoding: chunked", eol="\n"
    ) + _chunked_then(i),
    "bare LF inside a field": lambda s, h, i: _head(
        s, h, f"X-A: b\nContent-Length: {len(i)}"
    ) + i,
    "bare CR inside a field": lambda s, h, i: _head(
        s, h, f"X-A: b\rContent-Length: {len(i)}"
    ) + i,
    "NUL in a field": lambda s, h, i: _head(s, h, f"X-A: b\x00Content-Length: {len(i)}") + i,
    "chunk size not hex": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked"
    ) + b"zz\r\nhello\r\n0\r\n\r\n" + i,
    "chunk size negative": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked"
    ) + b"-1\r\nhello\r\n0\r\n\r\n" + i,
    "chunk size overflow": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked"
    ) + b"ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n" + i,
    "chunk size 0x prefix": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked"
    ) + b"0x5\r\nhello\r\n0\r\n\r\n" + i,
    "chunk longer than said": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked"
    ) + b"2\r\nhello\r\n0\r\n\r\n" + i,
    "chunk without CRLF": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked"
    ) + b"5\r\nhello0\r\n\r\n" + i,
    "HTTP/1.0 with TE": lambda s, h, i: _head(
        s, h, "Transfer-Encoding: chunked", f"Content-Length: {len(_chunked_then(i))}"
    ).replace(b"HTTP/1.1", b"HTTP/1.0", 1) + _chunked_then(i),
    "space in field name": lambda s, h, i: _head(s, h, f"Content Length: {len(i)}") + i,
    "Expect 100-continue": lambda s, h, i: _head(
        s, h, "Expect: 100-continue", f"Content-Length: {len(_chunked_then(i))}",
        "Transfer-Encoding: chunked",
    ) + _chunked_then(i),
}  # fmt: skip
# Where the smuggling starts: a request each component reads a body for, or ignores one on.
OUTER: dict[Component, tuple[str, ...]] = {
    "edge": ("POST /api/videos", "POST /videos", "GET /hls/{T}/poster.jpg"),
    "origin": ("POST /videos", "GET /healthz"),
}


def _cases() -> list[object]:
    return [
        known.param((component, outer, name), f"{component} {name}", f"{component}-{outer}-{name}")
        for component, outers in OUTER.items()
        for outer in outers
        for name in CASES
    ]


def inner_request(stack: SecureStack, host: str) -> bytes:
    """An anonymous request for the target's master playlist: refused if it is ever seen."""
    return f"GET /hls/{stack.target}/master.m3u8 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


@pytest.mark.parametrize("case", _cases())
def test_ambiguous_framing_answers_the_outer_request_only(
    prober: Prober, stack: SecureStack, case: tuple[Component, str, str]
) -> None:
    component, outer, name = case
    host = prober.host(component)
    data = CASES[name](outer.replace("{T}", stack.target), host, inner_request(stack, host))
    x, problems = prober.send(component, data, timeout=6, quiet=0.5, requests=2)
    prober.ledger.note_case("smuggling", f"{component} {outer} {name}", x)
    assert not problems, report(problems)
    assert len(x.responses) <= 1, f"the smuggled request was answered: {x.describe()}"
    assert x.status == 400 or x.closed, f"neither refused nor closed: {x.describe()}"


@pytest.mark.parametrize("component", ["edge", "origin"])
def test_plain_pipelining_gets_two_answers_so_a_smuggled_one_would_be_seen(
    prober: Prober, stack: SecureStack, component: Component
) -> None:
    host = prober.host(component)
    first = f"GET /hls/{stack.target}/poster.jpg HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    x, problems = prober.send(component, first + inner_request(stack, host), quiet=1.0, requests=2)
    assert not problems, report(problems)
    assert len(x.responses) == 2 and x.responses[1].status == 403, x.describe()
