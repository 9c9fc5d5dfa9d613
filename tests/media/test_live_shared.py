"""The pieces classic (media.live) and LL-HLS (media.ll_channel) channels share."""

from __future__ import annotations

import asyncio
import time

import pytest

from media.ladder import live_rungs
from media.live import (
    ChannelSpec,
    live_rendition,
    may_be_held,
    next_boundary,
    restart_backoff,
    sleep_to_next_boundary,
)


def test_a_run_starts_on_the_next_segment_boundary_never_the_current_one() -> None:
    assert next_boundary(1000.0, 2) == 1002
    assert next_boundary(1001.99, 2) == 1002
    assert next_boundary(1002.0, 4) == 1004


def test_segments_may_be_held_for_two_windows_and_one_ahead() -> None:
    spec = ChannelSpec(
        "c", "testsrc", segment_duration=2, window=3, rungs=live_rungs((240,)), frame_rate=25
    )
    now = 200.5  # segment 100
    assert [n for n in range(90, 105) if may_be_held(n, now, spec)] == list(range(94, 102))


@pytest.mark.parametrize(
    ("failures", "seconds"), [(1, 1.0), (2, 2.0), (4, 8.0), (5, 10.0), (9, 10.0)]
)
def test_restart_backoff_doubles_up_to_ten_seconds(failures: int, seconds: float) -> None:
    assert restart_backoff(failures) == seconds


def test_a_live_rendition_has_an_even_width_for_the_aspect_and_adds_muxed_audio() -> None:
    rung = live_rungs((360,))[0]
    entry = live_rendition(rung, 4 / 3, 96, 25)
    assert entry.width == 480
    assert entry.peak_bps == (rung.maxrate_kbps + 96) * 1000
    assert entry.average_bps == (rung.video_kbps + 96) * 1000


def test_a_run_sleeps_until_its_boundary_on_the_channel_clock() -> None:
    offset = time.time() - 1001.7  # the channel's clock reads 1001.7 now

    async def main() -> tuple[int, float]:
        began = time.monotonic()
        start = await sleep_to_next_boundary(lambda: time.time() - offset, 2)
        return start, time.monotonic() - began

    start, slept = asyncio.run(main())
    assert start == 1002
    assert slept >= 0.2  # it waited for the boundary (0.3 s away), not just returned it
