"""LL-HLS delivery rules against a channel fed by hand (no ffmpeg): when a held request
returns, what it answers after its bounded wait, and which requests are refused at once.

The same rules against a real origin process and real ffmpeg: tests/origin/test_ll_live.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import m3u8
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from media.ladder import live_rungs
from media.live import ChannelSpec
from media.ll_channel import LLChannel
from media.ll_playlist import Part
from origin.ll_delivery import BLOCKING_POLICY, FILE_POLICY, PLAYLIST_POLICY, serve_ll
from streaming.http import install_error_handler

pytestmark = pytest.mark.anyio

N = 900_000_000
RUNG = "180p"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def put(channel: LLChannel, number: int, index: int, last: bool = False) -> None:
    """Publish part `index` of `number` (and the whole segment after its `last` part)."""
    state = channel.rungs[RUNG]
    state.files[f"{number}.{index}.m4s"] = f"part {number}.{index}".encode()
    state.playlist.add_part(number, Part(index, 0.5, index == 0), "init-a.mp4", "a")
    if last:
        state.files[f"{number}.m4s"] = b"segment"
        state.playlist.complete()
    channel.master, channel.on_air = "#EXTM3U\n", True
    channel.notify()


def channel_with(segments: int) -> LLChannel:
    """1 s segments of two 0.5 s parts (10 fps, 5 frames a part): holds last 3 s."""
    spec = ChannelSpec("ll", "testsrc", 1, 10, live_rungs((180,)), 10)
    channel = LLChannel("", spec, 0.5)
    for number in range(N, N + segments):
        put(channel, number, 0)
        put(channel, number, 1, last=True)
    return channel


@pytest.fixture
async def served() -> AsyncIterator[tuple[LLChannel, httpx.AsyncClient]]:
    channel = channel_with(10)
    app = FastAPI()
    install_error_handler(app)

    @app.get("/live/ll/{relpath:path}")
    async def live(relpath: str, request: Request) -> Response:
        return await serve_ll(channel, relpath, request)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://origin.test") as client:
        yield channel, client


async def test_a_blocking_reload_returns_when_its_part_is_listed_and_not_before(
    served: tuple[LLChannel, httpx.AsyncClient],
) -> None:
    channel, client = served
    plain = await client.get(f"/live/ll/{RUNG}/index.m3u8")
    assert plain.headers["cache-control"] == PLAYLIST_POLICY
    hint = m3u8.loads(plain.text).preload_hint.uri
    assert hint == f"{N + 10}.0.m4s"
    held = asyncio.create_task(
        client.get(f"/live/ll/{RUNG}/index.m3u8?_HLS_msn={N + 10}&_HLS_part=0")
    )
    await asyncio.sleep(0.4)
    assert not held.done()
    put(channel, N + 10, 0)
    response = await asyncio.wait_for(held, 1.0)
    assert response.status_code == 200 and response.headers["cache-control"] == BLOCKING_POLICY
    assert f'URI="{N + 10}.0.m4s"' in response.text
    # Without _HLS_part: until the segment is complete, whatever parts come meanwhile.
    whole = asyncio.create_task(client.get(f"/live/ll/{RUNG}/index.m3u8?_HLS_msn={N + 10}"))
    await asyncio.sleep(0.3)
    assert not whole.done()
    put(channel, N + 10, 1, last=True)
    response = await asyncio.wait_for(whole, 1.0)
    assert response.status_code == 200 and f"\n{N + 10}.m4s\n" in response.text
    # One already there returns at once.
    ready = await client.get(f"/live/ll/{RUNG}/index.m3u8?_HLS_msn={N + 3}&_HLS_part=1")
    assert ready.status_code == 200


async def test_a_held_reload_gives_up_with_503_after_three_target_durations(
    served: tuple[LLChannel, httpx.AsyncClient],
) -> None:
    _, client = served
    started = time.monotonic()
    response = await client.get(f"/live/ll/{RUNG}/index.m3u8?_HLS_msn={N + 11}&_HLS_part=0")
    waited = time.monotonic() - started
    assert response.status_code == 503 and "not out after 3 s" in response.json()["detail"]
    assert 2.9 <= waited < 10


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (f"_HLS_msn={N + 12}", "more than 2 segments beyond the newest"),
        ("_HLS_msn=abc", "not a non-negative integer"),
        ("_HLS_msn=-1", "not a non-negative integer"),
        (f"_HLS_msn={N}&_HLS_part=x", "not a non-negative integer"),
        ("_HLS_part=0", "needs _HLS_msn"),
        (f"_HLS_msn={N}&_HLS_part=50", "a segment has 2 parts"),
        ("_HLS_skip=NO", "YES or v2"),
    ],
)
async def test_bad_or_too_far_blocking_requests_are_refused_at_once(
    served: tuple[LLChannel, httpx.AsyncClient], query: str, reason: str
) -> None:
    _, client = served
    started = time.monotonic()
    response = await client.get(f"/live/ll/{RUNG}/index.m3u8?{query}")
    assert response.status_code == 400 and reason in response.json()["detail"]
    assert time.monotonic() - started < 1


async def test_delta_update_skips_old_segments(
    served: tuple[LLChannel, httpx.AsyncClient],
) -> None:
    """10 segments of 1 s, CAN-SKIP-UNTIL 6 s: YES and v2 leave out the oldest 4."""
    _, client = served
    for value in ("YES", "v2"):
        response = await client.get(f"/live/ll/{RUNG}/index.m3u8?_HLS_skip={value}")
        assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=4" in response.text
        assert m3u8.loads(response.text).segments[0].uri == f"{N + 4}.m4s"


async def test_the_preload_hinted_part_is_held_until_it_exists_then_sent_whole(
    served: tuple[LLChannel, httpx.AsyncClient],
) -> None:
    channel, client = served
    held = asyncio.create_task(client.get(f"/live/ll/{RUNG}/{N + 10}.0.m4s"))
    await asyncio.sleep(0.4)
    assert not held.done()
    put(channel, N + 10, 0)
    response = await asyncio.wait_for(held, 1.0)
    assert response.status_code == 200 and response.content == f"part {N + 10}.0".encode()
    assert response.headers["cache-control"] == FILE_POLICY
    assert response.headers["content-type"] == "video/iso.segment"
    # One that never comes: 503 after the bounded wait; far ahead or unknown: 404 at once.
    never = await client.get(f"/live/ll/{RUNG}/{N + 10}.1.m4s")
    assert never.status_code == 503 and "not out after" in never.json()["detail"]
    assert (await client.get(f"/live/ll/{RUNG}/{N + 50}.0.m4s")).status_code == 404
    assert (await client.get(f"/live/ll/{RUNG}/{N + 10}.7.m4s")).status_code == 404
    assert (await client.get("/live/ll/720p/index.m3u8")).status_code == 404
    ranged = await client.get(f"/live/ll/{RUNG}/{N}.m4s", headers={"range": "bytes=0-2"})
    assert ranged.status_code == 206 and ranged.content == b"seg"
