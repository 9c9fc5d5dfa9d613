"""Whole runs against real edge processes: bounds, cache fills, workers and player pace."""

from __future__ import annotations

import time

import httpx
import m3u8

from loadtest import report
from loadtest.player import Pace, Target
from loadtest.run import Plan, run


def plan(urls: list[str], **kwargs: object) -> Plan:
    base: dict[str, object] = {"targets": tuple(Target(u, {}) for u in urls), "timeout": 5.0}
    return Plan(**{**base, **kwargs})  # type: ignore[arg-type]


def test_stress_viewers_fetch_every_object_and_each_edge_fills_each_once(
    cold_video: list[str],
) -> None:
    """Eight viewers on a cold video over two edges: no errors, every object requested, and
    each edge reports exactly one Miss per object (collapsing + caching), the rest Hits."""
    p = plan(cold_video, viewers=8, duration=2.0, pace=Pace(realtime=False), rendition="lowest")
    r = report.summarize(p, run(p))
    assert r["errors"] == 0 and r["requests"] > 50
    kinds = set(r["latency_ms"])
    assert {"master", "media_playlist", "segment"} <= kinds
    assert r["objects"]["misses_per_object_per_edge"] == 1.0
    assert r["objects"]["max_misses_for_one_object"] == 1
    assert r["x_cache"]["Miss"] == 2 * r["objects"]["unique"] and r["hit_ratio"] > 0.9


def test_max_requests_bounds_the_run_exactly(cold_video: list[str]) -> None:
    """--max-requests stops the run at that count, long before the duration."""
    started = time.monotonic()
    p = plan(cold_video, viewers=4, duration=30.0, max_requests=40, pace=Pace(realtime=False))
    r = report.summarize(p, run(p))
    assert r["requests"] == 40 and time.monotonic() - started < 10


def test_worker_processes_share_viewers_and_budget(cold_video: list[str]) -> None:
    """Two worker processes split viewers and the request budget; their results are merged."""
    p = plan(cold_video, viewers=4, duration=20.0, max_requests=60, pace=Pace(realtime=False))
    r = report.summarize(p, run(p, workers=2))
    assert r["requests"] == 60 and r["errors"] == 0


def test_realtime_viewers_play_once_at_player_pace(cold_video: list[str]) -> None:
    """At player pace each viewer downloads the short video once, then watches it out: one
    session per viewer with a startup time, no rebuffering, and no request beyond one pass."""
    media_url = cold_video[0].replace("master.m3u8", "") + _only_variant(cold_video[0])
    segments = m3u8.loads(httpx.get(media_url, timeout=10).text).segments
    p = plan(cold_video, viewers=4, duration=2.5, pace=Pace(realtime=True, buffer_goal=30.0))
    r = report.summarize(p, run(p))
    viewers = r["viewers"]
    assert viewers["sessions"] == 4 and viewers["startup_ms"]["count"] == 4
    assert viewers["rebuffer_events"] == 0 and viewers["rebuffer_ratio"] == 0.0
    assert r["errors"] == 0 and r["requests"] == 4 * (
        2 + len(segments)
    )  # master, playlist, segments


def _only_variant(master_url: str) -> str:
    master = m3u8.loads(httpx.get(master_url, timeout=10).text)
    assert len(master.playlists) == 1  # the 320x180 clip gets one rung
    return str(master.playlists[0].uri)
