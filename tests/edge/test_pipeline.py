"""The edge pipeline against a real edge process and a scripted origin on loopback."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest

from tests.edge.stack import (
    Answer,
    EdgeStack,
    ScriptedOrigin,
    Seen,
    wait_for,
)

pytestmark = pytest.mark.e2e

SEGMENT = {"content-type": "video/mp2t", "cache-control": "public, max-age=1209600, immutable"}


def unique(name: str) -> str:
    return f"/t/{name}-{os.urandom(4).hex()}"


def test_miss_then_hit_with_age_and_edge_headers(stack: EdgeStack, origin: ScriptedOrigin) -> None:
    """First request is a Miss from the origin, the next a Hit with Age; both carry edge headers."""
    path = unique("seg") + ".ts"
    origin.route(path, Answer(headers=SEGMENT, body=b"x" * 5000))
    first = httpx.get(stack.url() + path)
    time.sleep(1.1)
    second = httpx.get(stack.url() + path)
    assert (
        first.headers["x-cache"] == "Miss from iad" and second.headers["x-cache"] == "Hit from iad"
    )
    assert first.content == second.content == b"x" * 5000
    assert int(second.headers["age"]) >= 1
    for response in (first, second):
        assert response.headers["via"] == "1.1 iad (streaming-cdn)"
        assert response.headers["x-edge-location"] == "iad"
        assert response.headers["x-origin-region"] == "us-east"
        assert len(response.headers["x-request-id"]) >= 20
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert origin.count(path) == 1


def test_cold_segment_with_100_concurrent_viewers_is_fetched_once(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """100 viewers on a cold 1 MB segment: exactly one origin fetch, every viewer
    gets every byte.
    """
    path = unique("cold") + ".ts"
    body = os.urandom(1024 * 1024)
    origin.route(path, Answer(headers=SEGMENT, body=body, delay=0.3, gap=0.01))

    async def viewers() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=20) as client:
            return await asyncio.gather(*(client.get(stack.url() + path) for _ in range(100)))

    responses = asyncio.run(viewers())
    assert origin.count(path) == 1
    assert all(r.status_code == 200 and r.content == body for r in responses)
    results = sorted(r.headers["x-cache"] for r in responses)
    assert results.count("Miss from iad") == 1 and results.count("Hit from iad") == 99


def test_followers_receive_bytes_before_the_origin_finishes(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """A viewer joining an in-flight fill gets the first bytes while the origin is still sending."""
    path = unique("trickle") + ".ts"
    body = os.urandom(256 * 1024)
    origin.route(path, Answer(headers=SEGMENT, body=body, chunk=16 * 1024, gap=0.1))  # ~1.6 s

    async def run() -> tuple[float, float, bytes]:
        async with httpx.AsyncClient(timeout=20) as client:
            leader = asyncio.create_task(client.get(stack.url() + path))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            async with client.stream("GET", stack.url() + path) as follower:
                assert follower.headers["x-cache"] == "Hit from iad"
                chunks = follower.aiter_bytes()
                first = await chunks.__anext__()
                first_at = time.monotonic() - started
                rest = b"".join([c async for c in chunks])
            done_at = time.monotonic() - started
            await leader
            return first_at, done_at, first + rest

    first_at, done_at, received = asyncio.run(run())
    assert received == body
    assert first_at < done_at / 2, (first_at, done_at)
    assert origin.count(path) == 1


def test_origin_dying_mid_body_caches_nothing_and_next_viewer_gets_whole_object(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """The origin resets after half the body: that viewer sees a broken response, nothing is
    cached, the next viewer triggers a new fetch and gets the whole object, then a Hit."""
    path = unique("cut") + ".ts"
    body = os.urandom(600 * 1024)  # above memory_object_bytes: streams through the disk spool
    origin.route(
        path,
        Answer(headers=SEGMENT, body=body, cut_after=300 * 1024),
        Answer(headers=SEGMENT, body=body),
    )
    with pytest.raises(httpx.HTTPError):
        httpx.get(stack.url() + path, timeout=10)
    second = httpx.get(stack.url() + path, timeout=10)
    third = httpx.get(stack.url() + path, timeout=10)
    assert second.headers["x-cache"] == "Miss from iad" and second.content == body
    assert third.headers["x-cache"] == "Hit from iad" and third.content == body
    assert origin.count(path) == 2


def test_short_body_against_content_length_is_never_cached(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """A small body the origin ends early (fewer bytes than Content-Length) is not committed."""
    path = unique("short") + ".ts"
    origin.route(path, Answer(headers=SEGMENT, body=b"a" * 1000, cut_after=400),
                 Answer(headers=SEGMENT, body=b"a" * 1000))  # fmt: skip
    with pytest.raises(httpx.HTTPError):
        httpx.get(stack.url() + path, timeout=10)
    assert httpx.get(stack.url() + path).headers["x-cache"] == "Miss from iad"
    assert origin.count(path) == 2


def test_body_not_matching_the_origin_digest_is_not_cached(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """An origin Content-Digest that does not match the body: the viewer's response
    is cut, no Hit.
    """
    import base64
    import hashlib

    path = unique("digest") + ".ts"
    good = b"g" * 2000
    right = base64.b64encode(hashlib.sha256(good).digest()).decode()
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    origin.route(
        path,
        Answer(headers={**SEGMENT, "content-digest": f"sha-256=:{wrong}:"}, body=good),
        Answer(headers={**SEGMENT, "content-digest": f"sha-256=:{right}:"}, body=good),
    )
    with pytest.raises(httpx.HTTPError):
        httpx.get(stack.url() + path, timeout=10)
    assert httpx.get(stack.url() + path).headers["x-cache"] == "Miss from iad"
    assert httpx.get(stack.url() + path).headers["x-cache"] == "Hit from iad"


def test_expired_object_revalidates_with_etag_and_304_is_a_refresh_hit(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """After max-age the edge asks with If-None-Match; a 304 refreshes the copy (RefreshHit)."""
    path = unique("reval") + ".json"

    def answer(seen: Seen) -> Answer:
        headers = {"content-type": "application/json", "cache-control": "max-age=1", "etag": '"v1"'}
        if seen.headers.get("if-none-match") == '"v1"':
            return Answer(304, headers)
        return Answer(headers=headers, body=b'{"v": 1}')

    origin.handler(path, answer)
    assert httpx.get(stack.url() + path).headers["x-cache"] == "Miss from iad"
    time.sleep(1.2)
    refreshed = httpx.get(stack.url() + path)
    again = httpx.get(stack.url() + path)
    assert (
        refreshed.headers["x-cache"] == "RefreshHit from iad" and refreshed.content == b'{"v": 1}'
    )
    assert again.headers["x-cache"] == "Hit from iad"
    assert [s.headers.get("if-none-match") for s in origin.seen(path)] == [None, '"v1"']


def test_stale_if_error_serves_the_expired_copy_while_the_origin_fails(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Origin 503 after expiry: the stale copy within stale-if-error is served (RefreshHit, Age),
    the origin is not asked again during the error TTL, and past the bound the error shows."""
    path = unique("sie") + ".json"
    fresh = Answer(
        headers={
            "content-type": "application/json",
            "cache-control": "max-age=1, stale-if-error=3",
        },
        body=b"ok",
    )
    origin.route(path, fresh, Answer(503, {"content-type": "text/plain"}, b"down"))
    assert httpx.get(stack.url() + path).content == b"ok"
    time.sleep(1.2)
    stale = httpx.get(stack.url() + path)
    assert stale.status_code == 200 and stale.content == b"ok"
    assert stale.headers["x-cache"] == "RefreshHit from iad" and int(stale.headers["age"]) >= 1
    asked = origin.count(path)
    assert httpx.get(stack.url() + path).content == b"ok"
    assert origin.count(path) == asked  # backed off for the error TTL instead of hammering
    time.sleep(3.0)  # past max-age + stale-if-error: the back-off no longer applies
    gone = httpx.get(stack.url() + path)
    assert gone.status_code == 503 and gone.headers["x-cache"] == "Error from iad"


def test_stale_while_revalidate_answers_at_once_and_refreshes_in_background(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Within stale-while-revalidate the stale body is served immediately; the next is fresh."""
    path = unique("swr") + ".json"
    headers = {
        "content-type": "application/json",
        "cache-control": "max-age=1, stale-while-revalidate=30",
    }
    origin.route(
        path,
        Answer(headers=headers, body=b"old"),
        Answer(headers={**headers, "cache-control": "max-age=30"}, body=b"new", delay=1.5),
    )
    httpx.get(stack.url() + path)
    time.sleep(1.2)
    started = time.monotonic()
    stale = httpx.get(stack.url() + path)
    assert time.monotonic() - started < 1.2  # did not wait for the slow (1.5 s) origin
    assert stale.content == b"old" and stale.headers["x-cache"] == "RefreshHit from iad"
    assert wait_for(lambda: origin.count(path) == 2)  # the background refresh, answered in 1.5 s
    answers: list[httpx.Response] = []
    assert wait_for(
        lambda: answers.append(httpx.get(stack.url() + path)) or answers[-1].content == b"new",
        8,
        0.2,
    ), [(a.content, a.headers["x-cache"]) for a in answers[-5:]]
    assert answers[-1].headers["x-cache"] == "Hit from iad" and origin.count(path) == 2


def test_live_playlist_refreshes_within_half_target_while_segments_stay_cached(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """A live playlist (target 2 s, origin max-age 60) is cached ≤ 1 s; its segment stays a Hit."""
    base = unique("live")
    playlist, segment = f"{base}/index.m3u8", f"{base}/seg1.ts"
    version = iter(range(1, 100))

    def live(seen: Seen) -> Answer:
        n = next(version)
        body = (
            f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{n}\n"
            f"#EXTINF:2.0,\nseg{n}.ts\n"
        )
        return Answer(headers={"content-type": "application/vnd.apple.mpegurl",
                               "cache-control": "max-age=60"},
                      body=body.encode())  # fmt: skip

    origin.handler(playlist, live)
    origin.route(segment, Answer(headers=SEGMENT, body=b"s" * 3000))
    first = httpx.get(stack.url() + playlist)
    httpx.get(stack.url() + segment)
    assert httpx.get(stack.url() + playlist).text == first.text  # within target/2
    time.sleep(1.1)
    refreshed = httpx.get(stack.url() + playlist)
    assert refreshed.text != first.text and "MEDIA-SEQUENCE:2" in refreshed.text
    assert httpx.get(stack.url() + segment).headers["x-cache"] == "Hit from iad"
    assert origin.count(segment) == 1


def test_live_segment_404_is_cached_at_most_one_target_duration(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """A not-yet-published live segment's 404 expires after the target duration (1 s), not 10 s."""
    base = unique("live404")
    body = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:1.0,\nseg1.ts\n"
    origin.route(
        f"{base}/index.m3u8",
        Answer(headers={"content-type": "application/vnd.apple.mpegurl"}, body=body),
    )
    origin.route(f"{base}/seg2.ts", Answer(404, {"content-type": "text/plain"}, b"not yet"),
                 Answer(headers=SEGMENT, body=b"published"))  # fmt: skip
    httpx.get(stack.url() + f"{base}/index.m3u8")
    missing = httpx.get(stack.url() + f"{base}/seg2.ts")
    cached_404 = httpx.get(stack.url() + f"{base}/seg2.ts")
    assert missing.status_code == cached_404.status_code == 404
    assert (
        cached_404.headers["x-cache"] == "Error from iad" and origin.count(f"{base}/seg2.ts") == 1
    )
    time.sleep(1.2)
    assert httpx.get(stack.url() + f"{base}/seg2.ts").content == b"published"


def test_error_responses_are_cached_for_the_error_ttl(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """A VOD 404 is cached (default 10 s): the second viewer does not reach the origin."""
    path = unique("missing") + ".ts"
    origin.route(path, Answer(404, {"content-type": "text/plain"}, b"nope"))
    assert httpx.get(stack.url() + path).status_code == 404
    assert httpx.get(stack.url() + path).status_code == 404
    assert origin.count(path) == 1


def test_cache_key_ignores_unlisted_query_strings_and_cookies(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """`v` is in the key (and forwarded); other parameters and cookies neither key
    nor reach origin.
    """
    path = unique("key") + ".ts"
    origin.route(path, Answer(headers=SEGMENT, body=b"k" * 100))
    httpx.get(stack.url() + path + "?v=1&session=abc", headers={"cookie": "id=alice"})
    same = httpx.get(stack.url() + path + "?session=xyz&v=1", headers={"cookie": "id=bob"})
    other = httpx.get(stack.url() + path + "?v=2")
    assert same.headers["x-cache"] == "Hit from iad" and other.headers["x-cache"] == "Miss from iad"
    sent = origin.seen(path)
    assert [s.query for s in sent] == ["v=1", "v=2"]
    assert all(
        "cookie" not in s.headers and s.headers["accept-encoding"] == "identity" for s in sent
    )


def test_private_answers_are_neither_cached_nor_shared(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Cache-Control: private with min_ttl 0 goes to the origin every time."""
    path = unique("private") + ".json"
    origin.route(
        path,
        Answer(
            headers={"content-type": "application/json", "cache-control": "private"}, body=b"{}"
        ),
    )
    assert httpx.get(stack.url() + path).headers["x-cache"] == "Miss from iad"
    assert httpx.get(stack.url() + path).headers["x-cache"] == "Miss from iad"
    assert origin.count(path) == 2


def test_objects_survive_an_edge_restart_from_the_disk_tier(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """After a restart the index is rebuilt from disk: small and large objects are Hits."""
    small, large = unique("small") + ".ts", unique("large") + ".ts"
    small_body, large_body = os.urandom(10_000), os.urandom(700 * 1024)
    origin.route(small, Answer(headers=SEGMENT, body=small_body))
    origin.route(large, Answer(headers=SEGMENT, body=large_body))
    httpx.get(stack.url() + small)
    httpx.get(stack.url() + large)
    stack.stop_edge()
    stack.start_edge()
    for path, body in ((small, small_body), (large, large_body)):
        again = httpx.get(stack.url() + path)
        assert again.headers["x-cache"] == "Hit from iad" and again.content == body
        assert origin.count(path) == 1


def test_spool_files_do_not_outlive_their_fill(stack: EdgeStack, origin: ScriptedOrigin) -> None:
    """Large uncacheable bodies stream through a spool that is removed afterwards."""
    path = unique("nocache") + ".ts"
    origin.route(
        path,
        Answer(
            headers={"content-type": "video/mp2t", "cache-control": "no-store"},
            body=os.urandom(512 * 1024),
        ),
    )
    assert len(httpx.get(stack.url() + path).content) == 512 * 1024
    tmp = stack.cache_dir() / "tmp"
    assert wait_for(lambda: not [p for p in tmp.iterdir() if p.name.startswith("fill-")], timeout=2)


def test_edge_process_keeps_serving_after_bad_requests(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Malformed ranges and unknown methods get 4xx with a reason; the next request still works."""
    path = unique("robust") + ".ts"
    origin.route(path, Answer(headers=SEGMENT, body=b"r" * 100))
    bad_method = httpx.request("PATCH", stack.url() + path)
    assert bad_method.status_code == 405 and bad_method.json()["error"] == "method_not_allowed"
    assert httpx.get(stack.url() + path, headers={"range": "bytes=500-"}).status_code == 416
    assert httpx.get(stack.url() + path).status_code == 200
