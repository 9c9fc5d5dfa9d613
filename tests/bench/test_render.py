"""The benchmark's report: per-core and all-cores tables and the ratios judged against the goals."""

from __future__ import annotations

from typing import Any

from bench.__main__ import ratios, render
from bench.wrk import WrkResult, spread


def figures(rps: list[float], cpu: list[float]) -> dict[str, Any]:
    results = [WrkResult(r, 1.0, 1.0, 2.0, 0, c) for r, c in zip(rps, cpu, strict=True)]
    return {**spread(results).as_dict(), "rounds": [r.__dict__ for r in results]}


def target(name: str, rps: float, cpu: float) -> dict[str, Any]:
    return {"name": name, "segment": figures([rps, rps * 2], [cpu, cpu]),
            "playlist": figures([rps * 10, rps * 12], [cpu / 5, cpu / 4])}  # fmt: skip


ENV = {
    "date": "2026-12-02", "cpus": 2, "cpu": "x", "python": "3.11", "nginx": "nginx", "wrk": "wrk",
    "varnish": "no Varnish", "runs": 2, "seconds": 8, "flash": 200, "mixed": 50,
    "mixed_seconds": 8, "load_before": "1", "load_after": "2", "command": "python -m bench",
}  # fmt: skip
OBJECTS = {"segment": "/s.ts", "segment_bytes": 1, "playlist": "/p.m3u8", "playlist_bytes": 1}


def test_ratios_compare_the_same_rounds_and_judge_each_goal() -> None:
    t = {"ours-granian": target("ours", 240, 300), "nginx": target("nginx", 200, 400)}
    lines = ratios(t, "ours-granian")
    segment = next(line for line in lines if "segment hit" in line)
    assert "**1.20x** nginx requests/s (rounds 1.20–1.20), goal ≥ 1.2x: met" in segment
    assert "server CPU per request **0.75x** its, goal ≤ 1.0x: met" in segment


def test_the_report_has_per_core_and_all_cores_tables_and_says_when_the_flag_is_missing() -> None:
    t = {"ours-granian": target("ours (granian)", 240, 300), "nginx": target("nginx", 200, 400)}
    every = {"workers": 2, "cores": "0,1", "targets": {
        "ours": target("ours (granian, 2 workers)", 400, 330),
        "nginx": target("nginx (2 workers)", 380, 380),
    }}  # fmt: skip
    md = render({"targets": t, "objects": OBJECTS, "environment": ENV, "all_cores": every})
    assert md.startswith("## Edge benchmark") and "by `python -m bench`" in md
    assert "| 1 MB segment hit, req/s | 360 (240–480) | 300 (200–400) |" in md
    assert "with 2 workers is 1.10x one worker's" in md
    assert "goal ≥" not in md.split("All cores")[1].split("- ours, segment hit")[0]
    missing = render({"targets": t, "objects": OBJECTS, "environment": ENV, "all_cores": None})
    assert "not run (`streaming edge` has no `--workers` flag here)" in missing
