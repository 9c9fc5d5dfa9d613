"""A viewer who bypasses the edges and talks to the origin directly gets nothing.

Without an edge's signature (origin access control) and without the admin token, every origin
route refuses (401/403) and carries no private byte or metadata; only `/healthz` stays open,
by design, for process supervisors. Traversal shapes and forged, replayed or stale signatures
get nothing either.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming import origin_access
from streaming.config import Secret, parse
from tests.security import known
from tests.security.ledger import report
from tests.security.probe import Prober
from tests.security.rawhttp import request
from tests.security.shapes import compositions, every_shape
from tests.security.stack import CHANNEL, DOMAIN, ORIGIN_SECRET, SecureStack, security_doc

pytestmark = pytest.mark.e2e

NOBODY = "v00000000deadbeef"  # a well-formed id no video has: writes aim here, never at data
OPEN_BY_DESIGN = {("GET", "/healthz")}
# Every route of the origin app (checked against the app itself below), with the request that
# exercises it: method, path, body. `{T}` is the target video, `{C}` the live channel.
ROUTES: list[tuple[str, str, str, bytes]] = [
    ("GET", "/videos", "/videos", b""),
    ("POST", "/videos", "/videos", b""),
    ("POST", "/videos/uploads", "/videos/uploads", b""),
    ("POST", "/videos/{video_id}/complete", f"/videos/{NOBODY}/complete", b""),
    ("GET", "/videos/{video_id}", "/videos/{T}", b""),
    ("DELETE", "/videos/{video_id}", f"/videos/{NOBODY}", b""),
    ("PUT", "/replicas/{video_id}/files/{relpath}", f"/replicas/{NOBODY}/files/a.ts", b"x"),
    ("POST", "/replicas/{video_id}/commit", f"/replicas/{NOBODY}/commit",
     b'{"filename": "a", "size": 1, "files": ["a.ts"]}'),
    ("DELETE", "/replicas/{video_id}", f"/replicas/{NOBODY}", b""),
    ("GET", "/replicas", "/replicas?from=us-east", b""),
    ("GET", "/metrics", "/metrics", b""),
    ("GET", "/hls/{video_id}/{relpath}", "/hls/{T}/master.m3u8", b""),
    ("HEAD", "/hls/{video_id}/{relpath}", "/hls/{T}/master.m3u8", b""),
    ("GET", "/drm/{video_id}/key", "/drm/{T}/key", b""),
    ("HEAD", "/drm/{video_id}/key", "/drm/{T}/key", b""),
    ("GET", "/live", "/live", b""),
    ("GET", "/live/{channel}/{relpath}", "/live/{C}/master.m3u8", b""),
    ("HEAD", "/live/{channel}/{relpath}", "/live/{C}/master.m3u8", b""),
]  # fmt: skip
# What the origin app serves beside its API routes (FastAPI's schema, unless switched off).
EXTRA = [("GET", "/openapi.json", "/openapi.json", b"")]


def _param(route: tuple[str, str, str, bytes]) -> object:
    return known.param(route, f"origin {route[0]} {route[1]}")


def test_the_route_table_names_every_route_of_the_origin(tmp_path: Path) -> None:
    """A new origin route must be added to ROUTES (and so be attacked) before it ships."""
    from origin.app import create_app

    app = create_app(parse(security_doc()), "us-east", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastAPI warns about GET+HEAD operation ids
        schema = app.openapi()
    served = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    if any(p == "/openapi.json" for p in (getattr(r, "path", None) for r in app.routes)):
        served.add(("GET", "/openapi.json"))
    tested = {(m, p) for m, p, _, _ in ROUTES + EXTRA} | OPEN_BY_DESIGN
    assert served - tested == set(), "untested origin routes"


@pytest.mark.parametrize("route", [_param(r) for r in ROUTES + EXTRA])
def test_every_origin_route_refuses_a_caller_without_signature_or_token(
    prober: Prober, stack: SecureStack, route: tuple[str, str, str, bytes]
) -> None:
    method, _, path, body = route
    target = path.replace("{T}", stack.target).replace("{C}", CHANNEL)
    headers = [("Content-Length", str(len(body)))] if method in ("POST", "PUT") else []
    if body.startswith(b"{"):
        headers.append(("Content-Type", "application/json"))
    x, problems = prober.send(
        "origin", request(target, prober.host("origin"), method, headers) + body
    )
    assert not problems, report(problems)
    assert x.status in (401, 403), f"{x.describe()}: {x.first.body[:200] if x.first else b''!r}"


def test_healthz_stays_open_and_says_nothing_private(prober: Prober) -> None:
    x, problems = prober.send("origin", request("/healthz", prober.host("origin")))
    assert x.status == 200 and not problems, report(problems)


def test_no_spelling_of_a_private_path_leaks_from_the_origin(
    prober: Prober, stack: SecureStack
) -> None:
    """Every shape family against every private object, unsigned: nothing private, no 5xx."""
    shapes = [
        replace(shape, foreign=False)  # cookies mean nothing to an origin: judged as anonymous
        for path in stack.paths()
        for shape in every_shape(path, stack.target, stack.other, prober.host("origin"), DOMAIN)
    ]
    problems = prober.shapes("origin", shapes)
    assert not problems, report(problems)


@settings(
    max_examples=200, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(data=st.data())
def test_composed_spellings_never_leak_from_the_origin(
    prober: Prober, stack: SecureStack, data: st.DataObject
) -> None:
    shape = replace(data.draw(compositions(stack.paths(), stack.target)), foreign=False)
    _, problems = prober.shape("origin", shape)
    assert not problems, report(problems)


def signed(method: str, target: str, now: float, edge: str = "iad") -> list[tuple[str, str]]:
    headers = origin_access.sign(Secret(ORIGIN_SECRET), method, target, edge, now)
    return list(headers.items())


def test_a_correctly_signed_request_is_served_so_refusals_below_mean_something(
    prober: Prober, stack: SecureStack
) -> None:
    target = f"/hls/{stack.target}/master.m3u8"
    data = request(target, prober.host("origin"), headers=signed("GET", target, time.time()))
    x = prober.legitimate("origin", data)
    assert x.status == 200 and x.first is not None, x.describe()
    assert target in prober.ledger.leaks_in(x.first, anonymous=True)


@pytest.mark.parametrize(
    "forgery",
    ["garbage", "other-path", "other-method", "other-query", "encoded", "stale", "future",
     "no-edge", "dot-segment", "lower-hex"],
)  # fmt: skip
def test_forged_replayed_or_stale_signatures_are_refused(
    prober: Prober, stack: SecureStack, forgery: str
) -> None:
    """A signature binds method, raw target (with query) and time: reusing it elsewhere fails."""
    master = f"/hls/{stack.target}/master.m3u8"
    poster = f"/hls/{stack.target}/poster.jpg"
    now = time.time()
    target, headers = {
        "garbage": (master, [("x-cdn-edge", "iad"), ("x-cdn-date", str(int(now))),
                             ("x-cdn-signature", "0" * 64)]),
        "other-path": (master, signed("GET", poster, now)),
        "other-method": (master, signed("HEAD", master, now)),
        "other-query": (master + "?x=1", signed("GET", master, now)),
        "encoded": (master.replace(".m3u8", "%2em3u8"), signed("GET", master, now)),
        "stale": (master, signed("GET", master, now - 3600)),
        "future": (master, signed("GET", master, now + 3600)),
        "no-edge": (master, [h for h in signed("GET", master, now) if h[0] != "x-cdn-edge"]),
        "dot-segment": (f"{poster}/../master.m3u8", signed("GET", poster, now)),
        "lower-hex": (master, [(k, v.upper() if k == "x-cdn-signature" else v)
                               for k, v in signed("GET", master, now)]),
    }[forgery]  # fmt: skip
    x, problems = prober.send("origin", request(target, prober.host("origin"), headers=headers))
    assert not problems, report(problems)
    assert x.status in (400, 403, 404), x.describe()


def test_the_origin_schema_names_no_secret(prober: Prober) -> None:
    """Whatever the origin describes of itself, its secret and admin token are not in it."""
    x, _ = prober.send("origin", request("/openapi.json", prober.host("origin")))
    text = x.first.body.decode("latin-1") if x.first else ""
    assert ORIGIN_SECRET not in text and "test-admin-token" not in text
    if x.status == 200:
        assert json.loads(text)["paths"]
