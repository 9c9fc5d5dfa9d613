"""LL-HLS through real edge processes in front of a scripted origin that holds requests.

Many viewers' blocking reloads of the same (playlist, msn, part) become one held origin request
per POP (across its worker processes too: `make test` runs this with two), a preload-hinted
part is streamed to its waiting viewers as the origin sends it, and an origin that dies
mid-hold is replaced by the next one for every viewer waiting on it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx

from tests.edge.stack import Answer, ScriptedOrigin, edge_doc, edge_stack, scripted_origin

VIEWERS = 20
PLAYLIST_PATH = "/live/demo/180p.m3u8"
PART_PATH = "/live/demo/180p/101.1.m4s"
LL = (
    b"#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n"
    b"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5\n"
    b"#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:100\n"
    b'#EXTINF:2.0,\n180p/100.m4s\n#EXT-X-PART:DURATION=0.5,URI="180p/101.0.m4s"\n'
    b'#EXT-X-PART:DURATION=0.5,URI="180p/101.1.m4s"\n'
    b'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="180p/101.2.m4s"\n'
)
PLAYLIST_HEADERS = {"content-type": "application/vnd.apple.mpegurl", "cache-control": "max-age=60"}
PART_HEADERS = {"content-type": "video/iso.segment", "cache-control": "max-age=86400"}
# Longer than the group's 2 s response timeout (tests.edge.stack.edge_doc): only a held
# request waits it out.
HOLD = 2.5


async def many(url: str, n: int = VIEWERS) -> list[tuple[int, bytes, float, float]]:
    """n concurrent GETs: (status, body, seconds to the first body byte, seconds to the end)."""

    async def one(client: httpx.AsyncClient) -> tuple[int, bytes, float, float]:
        started = time.monotonic()
        first = 0.0
        body = b""
        async with client.stream("GET", url) as response:
            async for chunk in response.aiter_raw():
                if not body:
                    first = time.monotonic() - started
                body += chunk
        return response.status_code, body, first, time.monotonic() - started

    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(timeout=20, limits=limits) as client:
        return await asyncio.gather(*(one(client) for _ in range(n)))


def test_held_blocking_reloads_of_many_viewers_are_one_held_origin_request(
    tmp_path: Path,
) -> None:
    """20 viewers ask for the playlist holding part 101.1 (a behavior that drops query
    strings): the origin holds one request 2.5 s and answers all of them; later viewers are
    hits; another part is another request."""
    with scripted_origin() as origin:
        origin.route(PLAYLIST_PATH, Answer(200, PLAYLIST_HEADERS, LL, delay=HOLD))
        with edge_stack(tmp_path, edge_doc(origin.url)) as stack:
            url = f"{stack.url()}{PLAYLIST_PATH}?_HLS_part=1&_HLS_msn=101"
            answers = asyncio.run(many(url))
            assert [a[:2] for a in answers] == [(200, LL)] * VIEWERS
            seen = origin.seen(PLAYLIST_PATH)
            assert len(seen) == 1
            assert seen[0].query == "_HLS_msn=101&_HLS_part=1"
            assert all(a[3] >= HOLD - 0.1 for a in answers)  # held, not answered from elsewhere
            later = asyncio.run(many(f"{stack.url()}{PLAYLIST_PATH}?_HLS_msn=101&_HLS_part=1"))
            assert [a[:2] for a in later] == [(200, LL)] * VIEWERS
            assert origin.count(PLAYLIST_PATH) == 1  # the blocking answer is kept
            origin.route(PLAYLIST_PATH, Answer(200, PLAYLIST_HEADERS, LL, delay=0.2))
            asyncio.run(many(f"{stack.url()}{PLAYLIST_PATH}?_HLS_msn=101&_HLS_part=2"))
            assert origin.count(PLAYLIST_PATH) == 2


def test_a_preload_hinted_part_is_one_origin_request_streamed_to_every_waiting_viewer(
    tmp_path: Path,
) -> None:
    """The origin holds the hinted part 2.5 s, then sends it over ~1.6 s: every viewer's first
    bytes arrive well before the last ones, all bodies are whole, the origin saw one request."""
    body = bytes(range(256)) * 400  # 100 KiB in five chunks
    with scripted_origin() as origin:
        origin.route(PART_PATH, Answer(200, PART_HEADERS, body, delay=HOLD, chunk=20_480, gap=0.4))
        with edge_stack(tmp_path, edge_doc(origin.url)) as stack:
            answers = asyncio.run(many(f"{stack.url()}{PART_PATH}"))
            assert all(status == 200 and got == body for status, got, _, _ in answers)
            assert origin.count(PART_PATH) == 1
            assert all(first >= HOLD - 0.1 for _, _, first, _ in answers)
            assert all(end - first > 0.6 for _, _, first, end in answers)  # streamed


def test_an_origin_dying_mid_hold_hands_every_held_viewer_the_next_origins_answer(
    tmp_path: Path,
) -> None:
    """The primary holds the blocking reload and dies 1 s in: the held viewers get the
    secondary's playlist, which the secondary was asked for once."""
    primary = ScriptedOrigin()
    primary.start()
    stopped = False
    try:
        primary.route(PLAYLIST_PATH, Answer(200, PLAYLIST_HEADERS, b"never sent", delay=8))
        with scripted_origin() as secondary:
            secondary.route(PLAYLIST_PATH, Answer(200, PLAYLIST_HEADERS, LL, delay=0.5))
            for healthy in (primary, secondary):  # both pass the edge's health checks
                healthy.route("/healthz", Answer(200, {}, b"{}"))
            doc = edge_doc(
                primary.url,
                origins=[
                    {"id": "primary", "region": "us-east", "url": primary.url},
                    {"id": "secondary", "region": "us-east", "url": secondary.url},
                ],
                origin_groups=[{
                    "id": "all", "members": ["primary", "secondary"], "order": "pinned",
                    "response_timeout": 2.0,
                }],
            )  # fmt: skip
            with edge_stack(tmp_path, doc) as stack:
                url = f"{stack.url()}{PLAYLIST_PATH}?_HLS_msn=101&_HLS_part=1"
                killer = threading.Timer(1.0, primary.stop)
                killer.start()
                try:
                    answers = asyncio.run(many(url))
                finally:
                    killer.join()
                    stopped = True
                assert [a[:2] for a in answers] == [(200, LL)] * VIEWERS
                assert primary.count(PLAYLIST_PATH) >= 1
                assert secondary.count(PLAYLIST_PATH) == 1
    finally:
        if not stopped:
            primary.stop()
