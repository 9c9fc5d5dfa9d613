"""Whole runs against real edge processes: bounds, cache fills, workers and player pace."""

from __future__ import annotations

import time

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


def test_realtime_viewers_report_startup_without_rebuffering(cold_video: list[str]) -> None:
    """At player pace, viewers keep only the buffer goal ahead: few requests, a startup time
    per session and no rebuffering against healthy local edges."""
    p = plan(
        cold_video,
        viewers=4,
        duration=2.5,
        pace=Pace(realtime=True, buffer_goal=2.0),
        rendition="abr",
    )
    r = report.summarize(p, run(p))
    viewers = r["viewers"]
    assert viewers["sessions"] == 4 and viewers["startup_ms"]["count"] == 4
    assert viewers["startup_ms"]["p95"] < 2000
    assert viewers["rebuffer_events"] == 0 and viewers["rebuffer_ratio"] == 0.0
    assert r["errors"] == 0 and r["requests"] < 60  # paced, not a stress loop
