"""No spelling of a private path, through any behavior prefix, gets a private byte from the edge.

Each family of shapes (tests/security/shapes.py) is sent as raw bytes against every private
object of the stack (VOD master, media playlist, segments, AES key, thumbnails, live playlists
and a live segment), anonymously and with cookies for another video; Hypothesis then mixes the
atoms freely. A leak is judged by content (ledger.py), never by status alone.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.ledger import Ledger, report
from tests.security.probe import Prober
from tests.security.rawhttp import exchange, request
from tests.security.shapes import FAMILIES, Shape, compositions, every_shape
from tests.security.stack import DOMAIN, SecureStack, cookie_header, video_cookies

pytestmark = pytest.mark.e2e


def test_the_detector_recognises_each_private_object_served_with_valid_cookies(
    prober: Prober, stack: SecureStack, ledger: Ledger
) -> None:
    """The positive control: with real cookies every object comes back and is flagged as such
    (if this failed, a 'no leak' verdict below would mean nothing)."""
    host = prober.host("edge")
    for obj in stack.objects:
        owner = obj.path.split("/")[2]
        cookies = (
            cookie_header(f"*://*/live/{owner}/*")
            if obj.path.startswith("/live/")
            else video_cookies(owner)
        )
        x = exchange(stack.address("edge"), request(obj.path, host, headers=[("Cookie", cookies)]))
        assert x.first is not None and x.status == 200, x.describe()
        assert obj.path in ledger.leaks_in(x.first, anonymous=True), obj.path


def shapes_of(stack: SecureStack, family: str, prober: Prober) -> list[Shape]:
    return [
        shape
        for path in stack.paths()
        for shape in every_shape(path, stack.target, stack.other, prober.host("edge"), DOMAIN)
        if shape.family == family
    ]


@pytest.mark.parametrize("family", FAMILIES)
def test_no_spelling_of_a_private_path_leaks_through_the_edge(
    prober: Prober, stack: SecureStack, family: str
) -> None:
    """Every shape of the family, against every private object: no private byte, no 5xx."""
    shapes = shapes_of(stack, family, prober)
    assert shapes
    problems = prober.shapes("edge", shapes)
    assert not problems, report(problems)


@settings(
    max_examples=400, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(data=st.data())
def test_composed_spellings_never_leak_through_the_edge(
    prober: Prober, stack: SecureStack, data: st.DataObject
) -> None:
    shape = data.draw(compositions(stack.paths(), stack.target))
    _, problems = prober.shape("edge", shape)
    assert not problems, report(problems)


@pytest.mark.parametrize(
    ("method", "prefix", "headers"),
    [
        ("HEAD", "", []),
        ("GET", "", [("Range", "bytes=0-15")]),
        ("GET", "", [("Range", "bytes=-64")]),
        (
            "OPTIONS",
            "",
            [("Origin", "http://127.0.0.1:1"), ("Access-Control-Request-Method", "GET")],
        ),
        ("POST", "/api", [("Content-Length", "0")]),
        ("PUT", "/api", [("Content-Length", "0")]),
        ("PATCH", "/api", [("Content-Length", "0")]),
        ("DELETE", "/api", []),
        ("OPTIONS", "/api", []),
        ("GET", "", [("X-Original-URL", "/hls/{T}/poster.jpg"), ("X-Rewrite-URL", "/")]),
        ("GET", "", [("Authorization", "Bearer not-a-jwt")]),
        ("GET", "/api", [("Authorization", "Bearer test-admin-token")]),
    ],
)
def test_other_methods_and_ranges_on_private_objects_are_refused(
    prober: Prober, stack: SecureStack, method: str, prefix: str, headers: list[tuple[str, str]]
) -> None:
    """HEAD, ranges, preflights, writes through the pass-through behavior and rewrite headers:
    none of them carries private bytes out (the cache is warm: every object was just read)."""
    problems = []
    for path in stack.paths():
        sent = [(k, v.replace("{T}", stack.target)) for k, v in headers]
        data = request(prefix + path, prober.host("edge"), method, sent)
        x, found = prober.send("edge", data)
        problems += found
        if x.status == 206:  # a range too short for a fingerprint is still private bytes
            problems.append(prober.ledger.add("leak", "edge", x, "a range of a private object"))
    assert not problems, report(problems)
