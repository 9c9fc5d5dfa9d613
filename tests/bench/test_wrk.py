"""Parsing wrk's report (the numbers every hit workload is judged by)."""

from __future__ import annotations

import math

from bench.wrk import WrkResult, median_of, parse, spread

OUTPUT = """Running 4s test @ http://127.0.0.1:8201/hls/v/360p/index.m3u8
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   521.33us  101.02us   3.10ms   89.12%
    Req/Sec    30.12k     1.01k   31.50k    80.00%
  Latency Distribution
     50%  510.00us
     75%  560.00us
     90%  620.00us
     99%    1.20ms
  120480 requests in 4.00s, 52.30MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:  30120.45
Transfer/sec:     13.07MB
"""


def test_throughput_latency_and_errors_are_read() -> None:
    """Requests/s, MB/s, p50/p99 in ms, and non-2xx plus socket errors."""
    r = parse(OUTPUT)
    assert r.requests_per_s == 30120.45
    assert math.isclose(r.mb_per_s, 13.07 * 1024**2 / 1e6)
    assert r.p50_ms == 0.51 and r.p99_ms == 1.2
    assert r.errors == 6


def test_a_clean_run_has_no_errors_and_missing_lines_are_nan() -> None:
    """Without error lines errors is 0; without --latency the percentiles are NaN."""
    r = parse("Requests/sec:  100.0\nTransfer/sec:  1.00GB\n")
    assert r.errors == 0 and math.isnan(r.p50_ms) and r.mb_per_s == 1024**3 / 1e6


def test_median_run_keeps_its_own_latencies() -> None:
    """The median by requests/s is reported with that run's latencies; errors add up."""
    runs = [
        WrkResult(100, 1, 5, 50, 0, 30),
        WrkResult(300, 3, 1, 10, 1, 10),
        WrkResult(200, 2, 2, 20, 0, 20),
    ]
    m = median_of(runs)
    assert (m.requests_per_s, m.p99_ms, m.errors, m.cpu_us_per_request) == (200, 20, 1, 20)


def test_spread_keeps_the_median_run_and_the_range_of_requests_and_cpu() -> None:
    """Interleaved rounds are reported as the median run with min and max of both measures."""
    runs = [
        WrkResult(100, 1, 5, 50, 0, 30),
        WrkResult(300, 3, 1, 10, 0, 10),
        WrkResult(200, 2, 2, 20, 0, 25),
    ]
    s = spread(runs)
    assert (s.median.requests_per_s, s.median.p99_ms, s.median.cpu_us_per_request) == (200, 20, 25)
    assert (s.rps_min, s.rps_max, s.cpu_min, s.cpu_max, s.runs) == (100, 300, 10, 30, 3)
    assert s.as_dict()["rps_max"] == 300 and s.as_dict()["requests_per_s"] == 200
