"""Report figures from recorded samples, health events and faults."""

from __future__ import annotations

import json
from pathlib import Path

from experiments import plot, report
from experiments.observe import HealthEvent
from experiments.timeline import Applied
from experiments.viewers import Audience, Sample, Stall


def sample(
    start: float,
    *,
    error: str = "",
    status: int = 200,
    cache: str = "Miss",
    region: str = "us-east",
    latency: float = 0.01,
    pop: str = "iad",
) -> Sample:
    return Sample(
        start,
        latency,
        0,
        "segment",
        "/hls/v/180p/seg_000.ts",
        pop,
        status,
        100,
        cache,
        region,
        error,
    )


def audience() -> Audience:
    crowd = Audience()
    crowd.samples = [
        sample(0.5),
        sample(1.2, latency=0.05),
        sample(8.1, error="HTTP 502", status=502, cache="Error", region=""),
        sample(8.4, region="eu-west"),
        sample(12.0, region="eu-west", cache="Hit"),
        sample(21.0),
    ]
    crowd.stalls = [Stall(0, 8.2, 0.4)]
    return crowd


FAULTS = [
    Applied(8.0, 8.01, "kill", "origin:us-east", "SIGKILL"),
    Applied(20.0, 20.3, "restore", "origin:us-east", "restarted"),
]
EVENTS = [
    HealthEvent(8.31, "iad", "us-east", "down"),
    HealthEvent(8.52, "fra", "us-east", "down"),
    HealthEvent(20.9, "iad", "us-east", "half-open"),
    HealthEvent(21.4, "iad", "us-east", "up"),
]


def test_key_figures_count_what_viewers_and_edges_saw() -> None:
    """Errors, stalls, fills by origin, time to mark down, time to recover and traffic back."""
    built = report.build({"name": "t"}, audience(), FAULTS, EVENTS, 25)
    s = built["summary"]
    assert (s["requests"], s["viewer_visible_errors"], s["errors_by_status"]) == (6, 1, {"502": 1})
    assert s["fills_by_origin"] == {"us-east": 3, "eu-west": 1}
    assert (s["stalls"], s["stall_seconds"]) == (1, 0.4)
    kill, restore = built["faults"]
    assert kill["time_to_mark_down"] == {"iad": 0.3, "fra": 0.51}
    assert restore["time_to_recover"] == {"iad": 1.1}
    assert restore["traffic_back"] == 0.7
    row = built["timeline"][8]
    assert (row["requests"], row["errors"], row["fills_by_origin"]) == (2, 1, {"eu-west": 1})
    assert len(built["timeline"]) == 25


def test_percentile_is_nearest_rank() -> None:
    """p50 of 1..10 is 5 and p99 is 10; no values gives None."""
    values = [float(v) for v in range(10, 0, -1)]
    assert (
        report.percentile(values, 50),
        report.percentile(values, 99),
        report.percentile([], 50),
    ) == (5.0, 10.0, None)


def test_files_json_text_and_png_are_written(tmp_path: Path) -> None:
    """report.json round-trips, the summary names the figures, the PNG is a real image."""
    built = report.build({"name": "t"}, audience(), FAULTS, EVENTS, 25)
    files = report.write(built, tmp_path)
    assert json.loads(files["json"].read_text())["summary"]["viewer_visible_errors"] == 1
    summary = files["text"].read_text()
    assert (
        "1 viewer-visible errors" in summary
        and "time to mark down: iad 0.30s, fra 0.51s" in summary
    )
    png = plot.draw(built, tmp_path / "timeline.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_a_recovery_is_not_credited_to_a_later_fault() -> None:
    """heal, then truncate at once: the heal's recovery is 'not observed', not the later one."""
    faults = [
        Applied(6, 6.0, "delay", "origin:us-east", ""),
        Applied(14, 14.0, "heal", "origin:us-east", ""),
        Applied(14, 14.01, "truncate", "origin:us-east", ""),
        Applied(22, 22.0, "heal", "origin:us-east", ""),
    ]
    events = [HealthEvent(7.5, "iad", "us-east", "down"), HealthEvent(23.4, "iad", "us-east", "up")]
    figures = report.fault_figures(faults, events, [])
    assert figures[0]["time_to_mark_down"] == {"iad": 1.5}
    assert figures[1]["time_to_recover"] == {} and figures[3]["time_to_recover"] == {"iad": 1.4}


def test_origin_requests_count_only_real_origins_across_edges() -> None:
    """POP→shield requests are not origin requests; the shield's and POPs' direct ones are."""
    totals = {
        "iad": {"shield": 40, "us-east": 2},
        "fra": {"shield": 38, "us-east": 1},
        "shield": {"us-east": 30},
    }
    counted = report.origin_requests(totals, ["us-east", "eu-west"])
    assert counted["total"] == 33 and counted["by_origin"] == {"us-east": 33, "eu-west": 0}
