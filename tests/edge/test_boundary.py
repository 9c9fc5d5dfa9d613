"""The access boundary: rewrites, error pages and path shapes never reach stricter behaviors."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.boundary import Requirement, _overlap, check_path, reachable
from streaming.config import Behavior, load
from streaming.errors import InvalidPath
from streaming.policy import Policy
from tests.access import key_group, signer
from tests.edge.stack import Answer, EdgeStack, ScriptedOrigin, edge_doc, edge_stack

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = b"private segment bytes"
PASS_THROUGH = {"min_ttl": 0, "default_ttl": 0, "max_ttl": 0}


def behavior(pattern: str, groups: tuple[str, ...] = (), **extra: Any) -> Behavior:
    return Behavior.model_validate(
        {"path_pattern": pattern, "target": "all", "trusted_key_groups": groups, **extra}
    )


@pytest.mark.parametrize(
    "path",
    ["/a/../hls/x", "/a/./b", "/..", "/a//b", "//a", "/a\\b", "/a\x00b", "/a\nb", "relative"],
)
def test_paths_not_in_normal_form_are_refused(path: str) -> None:
    with pytest.raises(InvalidPath):
        check_path(path)


@pytest.mark.parametrize("raw", [b"/a%2fb", b"/a%2Fb", b"/a%5cb", b"/a%00"])
def test_encoded_separators_in_the_raw_target_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidPath):
        check_path("/a/b", raw)


@pytest.mark.parametrize("path", ["/", "/hls/abc/720p/seg_00001.ts", "/a/b/", "/a.b/c..d/e."])
def test_normal_paths_pass(path: str) -> None:
    check_path(path, path.encode())


def test_a_public_behavior_covers_nothing_private() -> None:
    public, viewers = Requirement(frozenset(), False), Requirement(frozenset({"viewers"}), False)
    both = Requirement(frozenset({"viewers", "staff"}), False)
    assert public.covers(public) and viewers.covers(public)
    assert not public.covers(viewers)
    assert viewers.covers(both) and not both.covers(viewers)  # staff keys do not open viewers'
    assert not Requirement(frozenset({"viewers"}), True).covers(viewers)  # a JWT is not a cookie


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("/videos*", "*.m3u8", True),
        ("/videos*", "/hls/*", False),
        ("/*", "/drm/*", True),
        ("/hls/*/poster.jpg", "/hls/*", True),
        ("/a?c", "/abc", True),
        ("/a?c", "/abd", False),
    ],
)
def test_pattern_overlap(a: str, b: str, meet: bool) -> None:
    assert _overlap(a, b) is meet and _overlap(b, a) is meet


def test_the_old_demo_api_behavior_is_reported_at_load() -> None:
    """`/api/*` + strip-prefix reaches every path; each stricter behavior it can reach is named."""
    api = behavior(
        "/api/*", allowed_methods=["GET", "POST"], ttl=PASS_THROUGH,
        functions=[{"event": "origin-request", "name": "strip-prefix",
                    "options": {"prefix": "/api"}}],
    )  # fmt: skip
    table = (api, behavior("/hls/*/poster.jpg"), behavior("/hls/*", ("viewers",)),
             behavior("*", ("viewers",)))  # fmt: skip
    found = reachable(table)
    assert len(found) == 2 and "'/hls/*'" in found[0] and "'*'" in found[1]


def test_the_demo_config_reaches_no_private_behavior_by_rewrite() -> None:
    assert reachable(load(ROOT / "config" / "demo.toml").behaviors) == []


def to_private(ctx: Any, request: Any) -> Any:
    """A viewer-request function that moves `/open/x` onto the private `/hls/x`."""
    request.uri = "/hls/" + request.uri.removeprefix("/open/")
    return request


@pytest.fixture(scope="module")
def guarded(
    origin: ScriptedOrigin, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeStack]:
    doc = edge_doc(origin.url, key_groups=[key_group("viewers", "alice")])
    doc["behaviors"] = [
        {"path_pattern": "/api/*", "target": "all", "ttl": PASS_THROUGH,
         "functions": [{"event": "origin-request", "name": "strip-prefix",
                        "options": {"prefix": "/api"}}]},
        {"path_pattern": "/open/*", "target": "all",
         "functions": [{"event": "viewer-request", "name": "tests.edge.test_boundary:to_private"}]},
        {"path_pattern": "/hls/*", "target": "all", "trusted_key_groups": ["viewers"]},
        {"path_pattern": "*", "target": "all"},
    ]  # fmt: skip
    doc["custom_error_responses"] = [
        {"error_code": 404, "response_page_path": "/hls/secret-page.html"},
        {"error_code": 403, "response_page_path": "/errors/403.html"},
    ]
    with edge_stack(tmp_path_factory.mktemp("boundary"), doc) as s:
        yield s


def cookies(edge: str) -> dict[str, str]:
    policy = Policy(f"{edge}/hls/*", int(time.time()) + 300)
    return {"cookie": "; ".join(f"{k}={v}" for k, v in signer("alice").cookies(policy).items())}


def test_a_strip_prefix_rewrite_into_a_private_behavior_is_refused(
    guarded: EdgeStack, origin: ScriptedOrigin
) -> None:
    origin.route("/hls/v1/seg.ts", Answer(body=PRIVATE))
    origin.route("/errors/403.html", Answer(headers={"content-type": "text/html"}, body=b"nope"))
    before = origin.count("/hls/v1/seg.ts")
    answer = httpx.get(guarded.url() + "/api/hls/v1/seg.ts")
    assert answer.status_code == 403 and PRIVATE not in answer.content
    assert origin.count("/hls/v1/seg.ts") == before  # refused before any origin request
    # The same object with credentials, by its own URL: served.
    allowed = httpx.get(guarded.url() + "/hls/v1/seg.ts", headers=cookies(guarded.url()))
    assert allowed.status_code == 200 and allowed.content == PRIVATE


def test_a_viewer_request_rewrite_into_a_private_behavior_is_refused(
    guarded: EdgeStack, origin: ScriptedOrigin
) -> None:
    origin.route("/hls/v2/seg.ts", Answer(body=PRIVATE))
    warm = httpx.get(guarded.url() + "/hls/v2/seg.ts", headers=cookies(guarded.url()))
    assert warm.status_code == 200  # now cached: a rewritten lookup would hit it
    answer = httpx.get(guarded.url() + "/open/v2/seg.ts")
    assert answer.status_code == 403 and PRIVATE not in answer.content
    assert answer.content == b"nope"  # the 403 page: public, so the boundary lets it through


def test_an_error_page_under_a_private_behavior_is_not_served_to_a_public_request(
    guarded: EdgeStack, origin: ScriptedOrigin
) -> None:
    origin.route("/hls/secret-page.html", Answer(body=PRIVATE))
    origin.route("/gone.txt", Answer(status=404, body=b"missing"))
    answer = httpx.get(guarded.url() + "/gone.txt")
    assert answer.status_code == 404 and PRIVATE not in answer.content
    assert origin.count("/hls/secret-page.html") == 0


def raw_get(edge: EdgeStack, target: str) -> int:
    """Send `target` byte for byte (httpx would normalise it); return the status code."""
    port = int(edge.url().rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        sock.sendall(head.encode())
        head = sock.recv(4096)
    return int(head.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "target",
    ["/api/../hls/v3/seg.ts", "/api/%2e%2e/hls/v3/seg.ts", "/api/x%2f..%2fhls/v3/seg.ts",
     "/api//hls/v3/seg.ts", "/api/x%5c..%5chls/v3/seg.ts"],
)  # fmt: skip
def test_path_shapes_are_refused_before_any_origin_request(
    guarded: EdgeStack, origin: ScriptedOrigin, target: str
) -> None:
    origin.route("/hls/v3/seg.ts", Answer(body=PRIVATE))
    seen = len(origin.requests)
    assert raw_get(guarded, target) in (400, 403, 404)
    assert all("/hls/v3" not in r.path for r in origin.requests[seen:])
