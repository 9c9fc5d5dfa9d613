"""What a run recorded: per-request facts, per-second buckets and per-session viewer experience.

A `Recorder` lives in each worker process; `snapshot()` turns it into plain JSON-able data so the
parent can `merge` the workers' snapshots into one before `summarize` computes the report figures.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from loadtest.client import Fetch

Snapshot = dict[str, Any]


class Recorder:
    """Accumulates every request and playback session of one process."""

    def __init__(self, started: float) -> None:
        self.started = started  # time.monotonic() of the run's start
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.ttfb: dict[str, list[float]] = defaultdict(list)
        self.bytes: Counter[str] = Counter()
        self.status: Counter[str] = Counter()
        self.x_cache: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()  # "403 missing", "connect" ... → count
        self.fills: Counter[str] = Counter()  # "edge path" → responses marked Miss
        self.objects: set[str] = set()  # unique paths requested
        self.seconds: dict[int, list[float]] = {}  # second → [requests, bytes, errors, latency sum]
        self.startup: list[float] = []
        self.stalls = 0
        self.stall_time = 0.0
        self.played = 0.0
        self.sessions = 0
        self.switches = 0
        self.live_latency: list[float] = []  # LL-HLS: part arrival − its PROGRAM-DATE-TIME (s)

    @property
    def requests(self) -> int:
        return sum(self.status.values())

    @property
    def errors(self) -> int:
        return sum(n for s, n in self.status.items() if not s.startswith(("2", "3")))

    def request(self, kind: str, edge: str, path: str, fetch: Fetch) -> None:
        """Record one request of object `kind` for `path` on the edge at base URL `edge`."""
        self.status[fetch.status] += 1
        ok = fetch.status.startswith(("2", "3"))
        if not ok:
            self.failures[f"{fetch.status} {fetch.reason}".strip()] += 1
        if ok:
            self.latency[kind].append(fetch.elapsed)
            self.ttfb[kind].append(fetch.ttfb)
            self.bytes[kind] += fetch.size
        if fetch.x_cache:
            self.x_cache[fetch.x_cache] += 1
            if fetch.x_cache == "Miss":
                self.fills[f"{edge} {path}"] += 1
        self.objects.add(path)
        second = int(fetch.started + fetch.elapsed - self.started)
        bucket = self.seconds.setdefault(second, [0, 0, 0, 0.0])
        bucket[0] += 1
        bucket[1] += fetch.size if ok else 0
        bucket[2] += 0 if ok else 1
        bucket[3] += fetch.elapsed

    def session(self, startup: float | None, stalls: int, stall_time: float, played: float) -> None:
        """Record one playback session (stalls are only meaningful at player pace)."""
        self.sessions += 1
        if startup is not None:
            self.startup.append(startup)
        self.stalls += stalls
        self.stall_time += stall_time
        self.played += played

    def snapshot(self) -> Snapshot:
        return {
            "latency": dict(self.latency), "ttfb": dict(self.ttfb), "bytes": dict(self.bytes),
            "status": dict(self.status), "x_cache": dict(self.x_cache),
            "failures": dict(self.failures), "fills": dict(self.fills),
            "objects": sorted(self.objects),
            "seconds": {str(k): v for k, v in self.seconds.items()},
            "startup": self.startup, "stalls": self.stalls, "stall_time": self.stall_time,
            "played": self.played, "sessions": self.sessions, "switches": self.switches,
            "live_latency": self.live_latency,
        }  # fmt: skip


def merge(snapshots: list[Snapshot]) -> Snapshot:
    """Combine the snapshots of several workers into one."""
    out: Snapshot = {
        "latency": defaultdict(list), "ttfb": defaultdict(list), "bytes": Counter(),
        "status": Counter(), "x_cache": Counter(), "failures": Counter(), "fills": Counter(),
        "objects": set(),
        "seconds": {}, "startup": [], "stalls": 0, "stall_time": 0.0, "played": 0.0,
        "sessions": 0, "switches": 0, "live_latency": [],
    }  # fmt: skip
    for snap in snapshots:
        for name in ("latency", "ttfb"):
            for kind, values in snap[name].items():
                out[name][kind].extend(values)
        for name in ("bytes", "status", "x_cache", "failures", "fills"):
            out[name].update(snap.get(name, {}))
        out["objects"].update(snap["objects"])
        for second, bucket in snap["seconds"].items():
            into = out["seconds"].setdefault(second, [0, 0, 0, 0.0])
            for i, value in enumerate(bucket):
                into[i] += value
        out["startup"].extend(snap["startup"])
        out["live_latency"].extend(snap.get("live_latency", []))
        for name in ("stalls", "stall_time", "played", "sessions", "switches"):
            out[name] += snap[name]
    out["objects"] = sorted(out["objects"])
    for name in ("latency", "ttfb", "bytes", "status", "x_cache", "failures", "fills"):
        out[name] = dict(out[name])
    return out


def distribution_ms(values: list[float]) -> dict[str, float]:
    """count, p50, p95, p99 and max of durations in seconds, as milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}

    def at(q: float) -> float:
        return round(ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1] * 1000, 2)

    return {"count": len(ordered), "p50": at(50), "p95": at(95), "p99": at(99), "max": at(100)}
