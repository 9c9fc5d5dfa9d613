"""The telemetry collector: beacons become Prometheus series; bad beacons get 400 with a reason."""

from __future__ import annotations

import json

import pytest
from prometheus_client import generate_latest

from portal.telemetry import MAX_BEACON_BYTES, PlayerMetrics, parse_beacon
from streaming.errors import BadRequest


def beacon(*events: dict[str, object], pop: str = "iad", st: str = "v") -> bytes:
    return json.dumps(
        {"sid": "s-1", "cid": "v0123456789abcdef", "st": st, "pop": pop, "events": list(events)}
    ).encode()


def value(metrics: PlayerMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_events_become_counters_and_histograms() -> None:
    """Startup, rebuffers, switches, errors and samples land in their series, labelled by POP."""
    metrics = PlayerMetrics(("iad", "fra"))
    metrics.record(parse_beacon(beacon(
        {"ev": "startup", "ms": 850},
        {"ev": "rebuffer", "ms": 1200, "rid": "abc_-123"},
        {"ev": "rebuffer", "ms": 300},
        {"ev": "switch", "br": 2500, "from_br": 800},
        {"ev": "switch", "br": 800, "from_br": 2500},
        {"ev": "error", "type": "networkError", "details": "fragLoadError", "fatal": False},
        {"ev": "sample", "bl": 4000, "br": 800, "mtp": 12000},
    )))  # fmt: skip
    vod = {"pop": "iad", "stream": "vod"}
    assert value(metrics, "player_sessions_total", **vod) == 1
    assert value(metrics, "player_startup_seconds_sum", **vod) == pytest.approx(0.85)
    assert value(metrics, "player_rebuffers_total", **vod) == 2
    assert value(metrics, "player_rebuffer_seconds_total", **vod) == pytest.approx(1.5)
    assert value(metrics, "player_bitrate_switches_total", **vod, direction="up") == 1
    assert value(metrics, "player_bitrate_switches_total", **vod, direction="down") == 1
    assert value(metrics, "player_errors_total", **vod, type="networkError", fatal="false") == 1
    assert value(metrics, "player_buffer_seconds_sum", **vod) == pytest.approx(4.0)
    assert value(metrics, "player_throughput_bits_per_second_sum", **vod) == pytest.approx(12e6)
    assert value(metrics, "player_sessions_total", pop="fra", stream="vod") == 0


def test_live_sessions_are_labelled_live() -> None:
    """`st: l` (CMCD stream type live) separates live from VOD sessions."""
    metrics = PlayerMetrics(("iad",))
    metrics.record(parse_beacon(beacon({"ev": "startup", "ms": 100}, st="l")))
    assert value(metrics, "player_sessions_total", pop="iad", stream="live") == 1
    assert b'player_sessions_total{pop="iad",stream="live"} 1.0' in generate_latest(
        metrics.registry
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "invalid beacon"),
        (beacon({"ev": "startup", "ms": 1}, pop="mars"), "unknown POP 'mars'"),
        (beacon({"ev": "teleport"}), "invalid beacon: events.0"),
        (beacon({"ev": "startup", "ms": -5}), "invalid beacon: events.0.startup.ms"),
        (beacon({"ev": "error", "type": "x", "details": "y", "fatal": 1}), "events.0.error.type"),
        (beacon({"ev": "error", "type": "mediaError", "details": "a{}", "fatal": 1}), "details"),
        (beacon(), "invalid beacon: events"),
        (beacon({"ev": "startup", "ms": 1}).replace(b'"s-1"', b'"' + b"x" * 65 + b'"'), "sid"),
        (b"x" * (MAX_BEACON_BYTES + 1), "larger than"),
    ],
)  # fmt: skip
def test_bad_beacons_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    """Malformed or unbounded input never reaches a label: 400 naming the field."""
    metrics = PlayerMetrics(("iad",))
    with pytest.raises(BadRequest) as caught:
        metrics.record(parse_beacon(body))
    assert reason in caught.value.detail
    assert value(metrics, "player_sessions_total", pop="iad", stream="vod") == 0
