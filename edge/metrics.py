"""Prometheus metrics for one edge POP, in a registry of its own (tests run several edges).

Counters are bumped on the request path; cache sizes, evictions, hit ratios and in-flight
counts are read from their owners at scrape time, so the hit path pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CACHE_RESULTS = ("Hit", "RefreshHit", "Miss")
ORIGIN_STATES = ("up", "down", "half-open")


class EdgeMetrics:
    """Every series the edge exports; `snapshot` supplies the values read at scrape time."""

    def __init__(self, pop: str, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.pop = pop
        r = self.registry
        self.requests = Counter(
            "edge_requests", "Viewer requests by behavior, status and X-Cache result.",
            ("behavior", "status", "result"), registry=r,
        )  # fmt: skip
        self.bytes_sent = Counter(
            "edge_bytes_sent", "Body bytes sent to viewers.", ("behavior", "result"), registry=r
        )
        self.origin_latency = Histogram(
            "edge_origin_fetch_seconds", "Origin time to first byte (response headers).",
            ("origin",), buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.origin_fetches = Counter(
            "edge_origin_fetches", "Origin responses by origin and status.", ("origin", "status"),
            registry=r,
        )  # fmt: skip
        self.collapsed = Counter(
            "edge_collapsed_waiters", "Viewers served by another viewer's origin fetch.", registry=r
        )
        self.stale = Counter(
            "edge_stale_served", "Stale objects served, by reason.", ("reason",), registry=r
        )
        self.rejected = Counter(
            "edge_fills_rejected", "Origin bodies never cached (truncated, length or digest).",
            ("reason",), registry=r,
        )  # fmt: skip
        self.function_errors = Counter(
            "edge_function_errors",
            "Edge functions that raised or misbehaved.",
            ("event",),
            registry=r,
        )
        self.invalidations = Counter(
            "edge_invalidations_applied", "Invalidation batches applied.", registry=r
        )
        self.invalidated = Counter(
            "edge_invalidated_objects", "Cached objects removed by invalidations.", registry=r
        )
        # Hit-ratio inputs, kept as plain ints so the ratio needs no registry walk.
        self.lookups = {result: 0 for result in CACHE_RESULTS}
        self.lookup_bytes = {result: 0 for result in CACHE_RESULTS}
        r.register(_Snapshot(self, snapshot))

    def observe(self, behavior: str, status: int, result: str, sent: int, cached: bool) -> None:
        """Count one finished viewer request."""
        self.requests.labels(behavior, str(status), result).inc()
        self.bytes_sent.labels(behavior, result).inc(sent)
        if cached and result in self.lookups:
            self.lookups[result] += 1
            self.lookup_bytes[result] += sent

    def ratio(self, counts: dict[str, int]) -> float:
        total = sum(counts.values())
        return (counts["Hit"] + counts["RefreshHit"]) / total if total else 0.0

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Snapshot(Collector):
    """Gauges and counters owned by other objects, read when Prometheus scrapes."""

    def __init__(self, metrics: EdgeMetrics, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._metrics, self._snapshot = metrics, snapshot

    def describe(self) -> list[Metric]:
        return []  # names are fixed; this keeps registration from calling collect() early

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        objects = GaugeMetricFamily(
            "edge_cache_objects", "Objects per cache tier.", labels=["tier"]
        )
        size = GaugeMetricFamily("edge_cache_bytes", "Bytes used per cache tier.", labels=["tier"])
        capacity = GaugeMetricFamily(
            "edge_cache_capacity_bytes", "Capacity per tier.", labels=["tier"]
        )
        evictions = CounterMetricFamily(
            "edge_cache_evictions", "Evictions per tier.", labels=["tier"]
        )
        for tier, stats in snap["cache"].items():
            objects.add_metric([tier], stats["objects"])
            size.add_metric([tier], stats["bytes"])
            capacity.add_metric([tier], stats["capacity"])
            evictions.add_metric([tier], stats["evictions"])
        yield from (objects, size, capacity, evictions)
        ratio = GaugeMetricFamily(
            "edge_cache_hit_ratio", "Share of cacheable requests (or bytes) served from cache.",
            labels=["basis"],
        )  # fmt: skip
        ratio.add_metric(["requests"], self._metrics.ratio(self._metrics.lookups))
        ratio.add_metric(["bytes"], self._metrics.ratio(self._metrics.lookup_bytes))
        yield ratio
        yield GaugeMetricFamily(
            "edge_origin_fetches_in_flight", "Origin fetches now.", value=snap["in_flight"]
        )
        yield GaugeMetricFamily(
            "edge_fills_in_flight", "Objects being filled now.", value=snap["fills"]
        )
        health = GaugeMetricFamily(
            "edge_origin_state",
            "1 for the circuit state each origin is in (up, down, half-open), else 0.",
            labels=["origin", "state"],
        )
        for origin_id, member in snap.get("origins", {}).items():
            for state in ORIGIN_STATES:
                health.add_metric([origin_id, state], 1.0 if member["state"] == state else 0.0)
        yield health
        yield GaugeMetricFamily(
            "edge_invalidation_sequence",
            "Last invalidation sequence applied.",
            value=snap["sequence"],
        )
