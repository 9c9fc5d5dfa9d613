"""HTTP/2 cleartext on the edge's plain port: the same boundary, with no request line to parse.

granian (HTTP mode `auto`) answers the HTTP/2 preface on the port documented as plain HTTP/1.1,
so every shape is sent again as an HTTP/2 stream, and the pseudo-headers an HTTP/1.1 request
cannot forge (`:scheme`, `:authority`, repeated `:path`) are attacked on their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.access import signer
from tests.security import h2client
from tests.security.h2client import Headers, request_headers
from tests.security.ledger import Finding, report
from tests.security.probe import Prober
from tests.security.shapes import every_shape
from tests.security.stack import DOMAIN, SecureStack, video_cookies

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def h2c(prober: Prober, stack: SecureStack) -> Iterator[None]:
    speaks = h2client.speaks_h2c(stack.address("edge"))
    prober.ledger.note("edge_answers_h2c_on_its_plain_port", speaks)
    if not speaks:
        pytest.skip("the edge does not answer HTTP/2 cleartext: nothing to attack here")
    yield


def _send(
    prober: Prober, requests: list[tuple[Headers, bool]], batch: int = h2client.BATCH
) -> list[Finding]:
    streams = h2client.exchange(prober.stack.address("edge"), [h for h, _ in requests], batch=batch)
    prober.ledger.count(connections=-(-len(streams) // batch))
    problems = []
    if batch == 1:  # the named tricks: how each was answered, for the summary
        for stream in streams:
            answer = (
                "RST_STREAM" if stream.reset else str(stream.response and stream.response.status)
            )
            prober.ledger.put("h2c", repr(stream.sent)[:160], answer)
    for stream, (_, anonymous) in zip(streams, requests, strict=True):
        found = prober.ledger.check_answer("edge", stream.describe(), stream.response, anonymous)
        problems += found
    return problems


def test_no_spelling_of_a_private_path_leaks_over_http2(
    h2c: None, prober: Prober, stack: SecureStack
) -> None:
    authority = prober.host("edge")
    foreign = (b"cookie", video_cookies(stack.other).encode())
    requests = []
    for path in stack.paths():
        for shape in every_shape(path, stack.target, stack.other, authority, DOMAIN):
            headers = request_headers(shape.target, authority)
            requests.append((headers + [foreign] if shape.foreign else headers, not shape.foreign))
    problems = _send(prober, requests)
    assert not problems, report(problems)


def test_http2_cannot_claim_https_for_a_cleartext_connection(
    h2c: None, prober: Prober, stack: SecureStack
) -> None:
    """A canned URL signed for https:// is refused over h2c, whatever `:scheme` says; the same
    URL signed for http:// plays (the control)."""
    authority = prober.host("edge")
    path = f"/hls/{stack.target}/master.m3u8"
    expires = int(time.time()) + 300
    answers = {}
    for scheme in ("https", "http"):
        url = signer("alice").signed_url(f"{scheme}://{authority}{path}", expires=expires)
        query = url.split("?", 1)[1]
        (stream,) = h2client.exchange(
            stack.address("edge"), [request_headers(f"{path}?{query}", authority, scheme)]
        )
        answers[scheme] = stream
    assert answers["http"].response is not None and answers["http"].response.status == 200
    https = answers["https"]
    prober.ledger.check_answer("edge", https.describe(), https.response, anonymous=False)
    assert https.reset or (https.response is not None and https.response.status == 403), (
        f"{https.describe()}: the edge believed :scheme https on a cleartext connection"
    )


def test_pseudo_header_tricks_carry_nothing_private(
    h2c: None, prober: Prober, stack: SecureStack
) -> None:
    authority = prober.host("edge")
    master = f"/hls/{stack.target}/master.m3u8".encode()
    poster = f"/hls/{stack.target}/poster.jpg".encode()
    base = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", authority.encode())]
    tricks: list[Headers] = [
        base + [(b":path", poster), (b":path", master)],  # two paths: which one is authorized?
        base + [(b":path", master), (b":path", poster)],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", master)],  # no authority
        base + [(b":path", master), (b"host", b"evil.example")],
        base + [(b":path", b"/api" + master)],
        base + [(b":path", master), (b"transfer-encoding", b"chunked")],  # illegal in HTTP/2
        base + [(b":path", master), (b"connection", b"keep-alive")],
        base + [(b":path", master), (b"Cookie", b"x=y")],  # upper case: illegal in HTTP/2
        base + [(b":path", master), (b":status", b"200")],
        base + [(b":path", b"*")],
        base + [(b":path", b"hls" + master[4:])],  # no leading slash
        base + [(b":path", master + b" HTTP/1.1\r\nX: y")],
        [(b":method", b"CONNECT"), (b":authority", authority.encode())],
        [(b":method", b"CONNECT"), (b":protocol", b"websocket"), (b":scheme", b"http"),
         (b":authority", authority.encode()), (b":path", master)],
    ]  # fmt: skip
    problems = _send(prober, [(t, True) for t in tricks], batch=1)  # errors may end a connection
    assert not problems, report(problems)
