"""Prometheus metrics of one origin, in a registry of its own, read from their owners at scrape
time: replication backlog and lag per peer (from the outbox), whether each peer answered
the last reconcile, and, with packaging on a queue engine, the queue's depth as last seen by
the dispatcher (the workers' own /metrics count what they packaged: origin.packager_app)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from origin.outbox import Backlog
from origin.queue import Depth
from origin.replicate import PeerView

CONTENT_TYPE = CONTENT_TYPE_LATEST
Snapshot = Callable[[], Mapping[str, tuple[Backlog, PeerView]]]
QueueView = Callable[[], Depth | None]


class _Replication(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        backlog = GaugeMetricFamily(
            "origin_replication_backlog",
            "Publishes and deletes a peer region is still owed (outbox rows).", labels=["peer"],
        )  # fmt: skip
        lag = GaugeMetricFamily(
            "origin_replication_lag_seconds",
            "Age of the oldest outbox row of a peer region (0 when it is owed nothing).",
            labels=["peer"],
        )
        up = GaugeMetricFamily(
            "origin_replication_peer_up",
            "1 when the peer answered the last reconcile and has been reachable since, else 0.",
            labels=["peer"],
        )
        listed = GaugeMetricFamily(
            "origin_replication_last_reconcile_timestamp_seconds",
            "When the peer's inventory was last compared (0: never since start).",
            labels=["peer"],
        )
        now = time.time()
        for peer, (rows, view) in sorted(self._snapshot().items()):
            backlog.add_metric([peer], rows.rows)
            lag.add_metric([peer], 0.0 if rows.oldest is None else max(0.0, now - rows.oldest))
            up.add_metric([peer], 1.0 if view.up else 0.0)
            listed.add_metric([peer], view.listed_at or 0.0)
        yield from (backlog, lag, up, listed)


class _Queue(Collector):
    def __init__(self, view: QueueView) -> None:
        self._view = view

    def collect(self) -> Iterator[Metric]:
        depth = self._view()
        if depth is None:  # packaging in-process: no queue engine
            return
        tasks = GaugeMetricFamily(
            "origin_queue_tasks",
            "Packaging tasks on the queue engine: waiting (queued), leased to a worker "
            "(running), dead-lettered after their last attempt (dead).",
            labels=["state"],
        )
        tasks.add_metric(["queued"], depth.queued)
        tasks.add_metric(["running"], depth.running)
        tasks.add_metric(["dead"], depth.dead)
        yield tasks


class OriginMetrics:
    """Every series the origin exports."""

    def __init__(self, replication: Snapshot, queue: QueueView | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Replication(replication))
        if queue is not None:
            self.registry.register(_Queue(queue))

    def render(self) -> bytes:
        return generate_latest(self.registry)
