"""The TLS benchmark's arithmetic and its docs section (the measurement itself is `make`-free:
`python -m bench.tls`)."""

from __future__ import annotations

from bench import doc, h3
from bench.tls import render


def spread(median: float) -> dict[str, float]:
    return {"min": median * 0.9, "median": median, "max": median * 1.1, "p99_ms": 2.0,
            "cpu_us": 100.0, "errors": 0}  # fmt: skip


def protocol(rps: float) -> dict[str, dict[str, float]]:
    one = {"min_rps": rps, "median_rps": rps, "max_rps": rps, "median_mb_s": 1.0,
           "requests": 10, "p50_ms": 1.0, "p99_ms": 2.0}  # fmt: skip
    return {"sequential": one, "concurrent": one}


RESULTS = {
    "objects": {"segment": "/hls/v/720p/s.ts", "segment_bytes": 1000, "playlist": "/hls/v/p.m3u8",
                "playlist_bytes": 100},
    "environment": {"date": "2026-12-01", "cpus": 2, "cpu": "x", "nginx": "nginx", "wrk": "wrk",
                    "seconds": 5, "runs": 3, "h3_runs": 3, "h3_requests": 400, "h3_seconds": 10,
                    "concurrency": 16, "load_before": "1", "load_after": "2"},
    "wrk": {
        "segment hit, HTTPS": {"ours": spread(500), "nginx": spread(1000)},
        "playlist hit, HTTPS": {"ours": spread(1000), "nginx": spread(4000)},
        "segment hit, HTTP": {"ours": spread(1000), "nginx": spread(2000)},
        "playlist hit, HTTP": {"ours": spread(2000), "nginx": spread(8000)},
    },
    "h3": {"segment": {"h2": protocol(40), "h3": protocol(10)},
           "playlist": {"h2": protocol(300), "h3": protocol(330)}},
}  # fmt: skip


def test_the_section_gives_ratios_of_medians_and_the_spread() -> None:
    md = render(RESULTS, "python -m bench.tls")
    assert md.startswith("## Edge TLS\n") and "Measured by `python -m bench.tls`" in md
    row = "| segment hit, HTTPS | 450 / **500** / 550 | 900 / **1,000** / 1,100 | **0.50x** |"
    assert row in md
    assert "TLS cost, segment hits (HTTPS / HTTP requests/s, same process): ours 0.50" in md
    assert "segment hits, h3/h2 median requests/s: back to back **0.25x**" in md
    assert "playlist hits, h3/h2 median requests/s: back to back **1.10x**" in md


def test_rewriting_the_section_keeps_the_other_engineers_sections() -> None:
    existing = "# Performance\n\n## Edge benchmark\n\nnginx figures\n\n## Edge TLS\n\nold\n"
    out = doc.replace_sections(existing, render(RESULTS, "python -m bench.tls"))
    assert "nginx figures" in out and "old" not in out and out.count("## Edge TLS") == 1


def test_round_summaries_take_min_median_max_and_latency_percentiles() -> None:
    rounds = [h3.Round(10, 1.0, 1000, (1.0, 2.0, 3.0)), h3.Round(30, 1.0, 3000, (4.0,)),
              h3.Round(20, 1.0, 2000, ())]  # fmt: skip
    got = h3.summary(rounds)
    assert (got["min_rps"], got["median_rps"], got["max_rps"]) == (10, 20, 30)
    assert got["p50_ms"] == 3.0 and got["p99_ms"] == 4.0 and got["requests"] == 60
