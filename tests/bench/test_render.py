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


def flash(max_per_object: int, objects: int = 14, edge: int | None = 14) -> dict[str, Any]:
    f = {"viewers": 200, "objects": objects, "origin_requests": objects, "errors": 0,
         "max_per_object": max_per_object, "first_segment_p99_ms": 300.0}  # fmt: skip
    return {**f, "edge_origin_fetches": edge} if edge is not None else f


def test_the_flash_crowd_at_n_2_and_n_4_is_in_the_all_cores_table_and_judged() -> None:
    """The N = 4 run is a column of the all-cores table (flash rows only) and the goal line
    names both N with the proxy's and the edge's /metrics counts."""
    t = {"ours-granian": target("ours (granian)", 240, 300), "nginx": target("nginx", 200, 400)}
    ours = {**target("ours (granian, 2 workers)", 400, 330), "flash": flash(1)}
    nginx = {**target("nginx (2 workers)", 380, 380), "flash": flash(1, 14, None)}
    four = {"name": "ours (granian, 4 workers)", "flash": flash(1), "rss_mb": 400.0}
    every: dict[str, Any] = {"workers": 2, "cores": "0,1", "flash_workers": 4,
                             "targets": {"ours": ours, "nginx": nginx, "ours-flash": four}}
    md = render({"targets": t, "objects": OBJECTS, "environment": ENV, "all_cores": every})
    part = md.split("All cores")[1]
    assert "| ours (granian, 2 workers) | nginx (2 workers) | ours (granian, 4 workers) |" in part
    assert "| flash crowd: origin requests per object (max) | 1 | 1 | 1 |" in part
    assert "| flash crowd: origin fetches (edge /metrics) | 14 | – | 14 |" in part
    assert "| 1 MB segment hit, req/s | 600 (400–800) | 570 (380–760) | – |" in part
    assert (
        "- ours, flash crowd of 200 viewers, 1 origin request per object per POP: N = 2: max 1 "
        "per object, 14 origin requests for 14 objects (14 in the edge's /metrics), 0 errors; "
        "N = 4: max 1 per object" in part
    )
    assert part.rstrip().endswith("— goal met")
    four["flash"] = flash(2, 14, 15)
    md = render({"targets": t, "objects": OBJECTS, "environment": ENV, "all_cores": every})
    assert "N = 4: max 2 per object" in md and md.rstrip().endswith("— goal NOT met")
