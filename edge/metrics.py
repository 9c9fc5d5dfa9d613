"""Prometheus metrics for one edge POP, in a registry of its own (tests run several edges).

Counters are bumped on the request path; cache sizes, evictions, hit ratios and in-flight
counts are read from their owners at scrape time, so the hit path pays nothing for them.

A POP of several worker processes (`streaming edge --workers N`) keeps its counters and
histograms in prometheus_client's multiprocess files, summed at scrape time, so every worker
answers /metrics for the whole POP. The values owned by other objects are published by each
worker into multiprocess gauges (`publish`): every second, and when a sibling is scraped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CACHE_RESULTS = ("Hit", "RefreshHit", "Miss")
ORIGIN_STATES = ("up", "down", "half-open")
DISK_MEASURES = {
    "objects": "edge_cache_objects", "bytes": "edge_cache_bytes",
    "capacity": "edge_cache_capacity_bytes",
}  # fmt: skip


class EdgeMetrics:
    """Every series the edge exports; `snapshot` supplies the values read at scrape time."""

    def __init__(
        self, pop: str, snapshot: Callable[[], dict[str, Any]], shared: Path | None = None,
        worker: int = 0,
    ) -> None:  # fmt: skip
        """`shared`: the directory of the POP's multiprocess files, `worker` this worker's
        number (a restarted worker continues its own files)."""
        if shared is not None:  # this process serves one POP: the switch is process-wide
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
            values.ValueClass = values.MultiProcessValue(lambda: worker)
        self.shared = shared
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
        # (behavior, status, result) → its two counter children; bounded by the config's
        # behaviors, the statuses the edge answers and the results.
        self._children: dict[tuple[str, int, str], tuple[Any, Any]] = {}
        self.lookup_bytes = {result: 0 for result in CACHE_RESULTS}
        self._snapshot = _Snapshot(self, snapshot)
        r.register(self._snapshot)
        self._published = _Published(r) if shared is not None else None

    def observe(self, behavior: str, status: int, result: str, sent: int, cached: bool) -> None:
        """Count one finished viewer request."""
        children = self._children.get((behavior, status, result))
        if children is None:  # `labels()` validates and hashes its arguments on every call
            children = (
                self.requests.labels(behavior, str(status), result),
                self.bytes_sent.labels(behavior, result),
            )
            self._children[(behavior, status, result)] = children
        children[0].inc()
        children[1].inc(sent)
        if cached and result in self.lookups:
            self.lookups[result] += 1
            self.lookup_bytes[result] += sent

    def ratio(self, counts: Mapping[str, float]) -> float:
        total = sum(counts.values())
        return (counts["Hit"] + counts["RefreshHit"]) / total if total else 0.0

    def render(self) -> bytes:
        if self.shared is None:
            return generate_latest(self.registry)
        self.publish()
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=str(self.shared))
        families = {family.name: family for family in merged.collect()}
        # The same names as one process exports: the disk tier is a `tier` of the cache gauges.
        disk = families.pop("edge_cache_disk", None)
        for sample in disk.samples if disk is not None else ():
            target = families.get(DISK_MEASURES[sample.labels["measure"]])
            if target is not None:
                target.add_sample(target.name, {"tier": "disk"}, sample.value)
        ratio = GaugeMetricFamily(
            "edge_cache_hit_ratio", "Share of cacheable requests (or bytes) served from cache.",
            labels=["basis"],
        )  # fmt: skip
        for basis, name in (
            ("requests", "edge_cache_lookups"),
            ("bytes", "edge_cache_lookup_bytes"),
        ):
            counts = {r: 0.0 for r in CACHE_RESULTS}
            family = families.pop(name, None)
            for sample in family.samples if family is not None else ():
                counts[sample.labels["result"]] += sample.value
            ratio.add_metric([basis], self.ratio(counts))
        return generate_latest(_Families([*families.values(), ratio]))

    def publish(self) -> None:
        """Put this worker's scrape-time values into the POP's multiprocess gauges."""
        if self._published is not None:
            self._published.set(self, self._snapshot.values())


class _Snapshot(Collector):
    """Gauges and counters owned by other objects, read when Prometheus scrapes."""

    def __init__(self, metrics: EdgeMetrics, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._metrics, self._snapshot = metrics, snapshot

    def describe(self) -> list[Metric]:
        return []  # names are fixed; this keeps registration from calling collect() early

    def values(self) -> dict[str, Any]:
        return self._snapshot()

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


class _Families(Collector):
    """Already collected families, for `generate_latest`."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class _Published:
    """The scrape-time values as multiprocess gauges, each merged the way it means: a worker's
    own memory tier and fills add up; the shared disk tier and origin states are the same in
    every worker (max); the invalidation sequence is the POP's least caught-up worker (min)."""

    def __init__(self, r: CollectorRegistry) -> None:
        self.objects = Gauge("edge_cache_objects", "Objects per cache tier.", ("tier",),
                             registry=r, multiprocess_mode="livesum")  # fmt: skip
        self.size = Gauge("edge_cache_bytes", "Bytes used per cache tier.", ("tier",),
                          registry=r, multiprocess_mode="livesum")  # fmt: skip
        self.capacity = Gauge("edge_cache_capacity_bytes", "Capacity per tier.", ("tier",),
                              registry=r, multiprocess_mode="livesum")  # fmt: skip
        self.disk = Gauge("edge_cache_disk", "The shared disk tier.", ("measure",),
                          registry=r, multiprocess_mode="max")  # fmt: skip
        self.evictions = Counter("edge_cache_evictions", "Evictions per tier.", ("tier",),
                                 registry=r)  # fmt: skip
        self.in_flight = Gauge("edge_origin_fetches_in_flight", "Origin fetches now.",
                               registry=r, multiprocess_mode="livesum")  # fmt: skip
        self.fills = Gauge("edge_fills_in_flight", "Objects being filled now.",
                           registry=r, multiprocess_mode="livesum")  # fmt: skip
        self.health = Gauge("edge_origin_state",
                            "1 for the circuit state each origin is in (up, down, half-open).",
                            ("origin", "state"), registry=r, multiprocess_mode="max")  # fmt: skip
        self.sequence = Gauge("edge_invalidation_sequence", "Last invalidation sequence applied.",
                              registry=r, multiprocess_mode="min")  # fmt: skip
        self.lookups = Gauge("edge_cache_lookups", "Cacheable requests by result.", ("result",),
                             registry=r, multiprocess_mode="livesum")  # fmt: skip
        self.lookup_bytes = Gauge("edge_cache_lookup_bytes", "Their body bytes by result.",
                                  ("result",), registry=r, multiprocess_mode="livesum")  # fmt: skip
        self._evicted: dict[str, int] = {}

    def set(self, metrics: EdgeMetrics, snap: dict[str, Any]) -> None:
        for tier, stats in snap["cache"].items():
            if tier == "disk":  # one directory for all workers: not summed
                for measure in ("objects", "bytes", "capacity"):
                    self.disk.labels(measure).set(stats[measure])
            else:
                self.objects.labels(tier).set(stats["objects"])
                self.size.labels(tier).set(stats["bytes"])
                self.capacity.labels(tier).set(stats["capacity"])
            grew = stats["evictions"] - self._evicted.get(tier, 0)
            if grew > 0:
                self.evictions.labels(tier).inc(grew)
            self._evicted[tier] = stats["evictions"]
        self.in_flight.set(snap["in_flight"])
        self.fills.set(snap["fills"])
        for origin_id, member in snap.get("origins", {}).items():
            for state in ORIGIN_STATES:
                self.health.labels(origin_id, state).set(1.0 if member["state"] == state else 0.0)
        self.sequence.set(snap["sequence"])
        for result in CACHE_RESULTS:
            self.lookups.labels(result).set(metrics.lookups[result])
            self.lookup_bytes.labels(result).set(metrics.lookup_bytes[result])
