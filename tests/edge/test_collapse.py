"""Fills and collapsing in-process: readers stream bytes as they arrive, verified or cut."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.cache.disk import DiskCache
from edge.collapse import Collapser
from edge.fill import Fill, _slice
from edge.types import Head
from streaming.errors import OriginError

HEAD = Head(200, {"content-type": "video/mp2t"}, 12, "us-east", shareable=True)


async def collect(fill: Fill, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in fill.stream(start, end)])


def test_readers_get_bytes_as_they_arrive_and_the_last_byte_after_verification() -> None:
    """A reader has the first chunk before the fill ends, but never the final byte until done."""

    async def run() -> None:
        fill = Fill("k", "/k")
        fill.begin(HEAD, in_memory=True, spool=None)
        reader = fill.stream()
        fill.append(b"abcd")
        assert await reader.__anext__() == b"abcd"
        fill.append(b"efghijkl")  # all 12 bytes arrived, not yet verified
        assert await reader.__anext__() == b"efghijk"
        waiting = asyncio.ensure_future(reader.__anext__())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        fill.finish()
        assert await waiting == b"l"
        await reader.aclose()

    asyncio.run(run())


def test_a_broken_fill_cuts_every_reader_before_the_end() -> None:
    """The origin fails mid-body (or the digest mismatches): readers raise, never complete."""

    async def run() -> None:
        fill = Fill("k", "/k")
        fill.begin(HEAD, in_memory=True, spool=None)
        fill.append(b"0123456789ab")  # complete length, but verification fails
        task = asyncio.ensure_future(collect(fill))
        await asyncio.sleep(0.01)
        fill.finish(OriginError("digest mismatch"))
        with pytest.raises(OriginError):
            await task

    asyncio.run(run())


def test_ranges_stream_from_a_spooled_fill(tmp_path: Path) -> None:
    """A reader of bytes 3..6 gets exactly them from the spool file while it is written."""

    async def run() -> None:
        disk = DiskCache(tmp_path, 1 << 20)
        fill = Fill("k", "/k")
        fill.begin(HEAD, in_memory=False, spool=disk.spool())
        task = asyncio.ensure_future(collect(fill, 3, 6))
        for part in (b"01", b"2345", b"6789ab"):
            fill.append(part)
            await asyncio.sleep(0)
        assert await task == b"3456"  # a range that ends early needs no verification
        fill.finish()
        assert fill.spool is not None and not fill.spool.exists()  # not committed: removed

    asyncio.run(run())


def test_collapser_runs_one_fetch_per_key_and_forgets_it_when_done() -> None:
    """Concurrent joins share one producer; a later join after completion starts a new one."""

    async def run() -> None:
        collapser = Collapser()
        started = 0

        async def produce(fill: Fill) -> None:
            nonlocal started
            started += 1
            fill.begin(Head(200, {}, 3, "", True), in_memory=True, spool=None)
            await asyncio.sleep(0.02)
            fill.append(b"abc")
            fill.finish()

        fills = [collapser.join("k", "/k", produce) for _ in range(5)]
        assert [joined for _, joined in fills] == [False, True, True, True, True]
        bodies = await asyncio.gather(*(wait_body(f) for f, _ in fills))
        assert bodies == [b"abc"] * 5 and started == 1 and collapser.collapsed == 4
        await asyncio.sleep(0)
        assert len(collapser) == 0
        again, joined = collapser.join("k", "/k", produce)
        await again.wait_done()
        assert not joined and started == 2
        await collapser.drain()

    async def wait_body(fill: Fill) -> bytes:
        await fill.wait_head()
        return await collect(fill)

    asyncio.run(run())


def test_slices_span_chunks_without_copying_whole_chunks() -> None:
    """Inner chunks are returned as they are; only a range crossing chunks is joined."""
    chunks = [b"abc", b"def", b"ghi"]
    assert _slice(chunks, 3, 6) is chunks[1]
    assert _slice(chunks, 2, 7) == b"cdefg"
    assert _slice(chunks, 8, 9) == b"i"


def test_a_spooled_fill_stays_readable_for_every_holder_until_released(tmp_path: Path) -> None:
    """A viewer that starts streaming after the fill ended (and after others finished) still
    reads every byte; the spool goes away only when the last holder releases it."""

    async def run() -> None:
        disk = DiskCache(tmp_path, 1 << 20)
        collapser = Collapser()

        async def produce(fill: Fill) -> None:
            fill.begin(HEAD, in_memory=False, spool=disk.spool())
            fill.append(b"0123456789ab")
            fill.finish()

        early, _ = collapser.join("k", "/k", produce)
        late, joined = collapser.join("k", "/k", produce)
        assert joined and late is early
        await early.wait_done()
        assert await collect(early) == b"0123456789ab"
        early.release()
        assert early.spool is not None and early.spool.exists()
        assert await collect(late) == b"0123456789ab"
        late.release()
        assert not early.spool.exists()

    asyncio.run(run())
