"""wrk runs (pinned to the client core) and the numbers parsed from its report."""

from __future__ import annotations

import re
import statistics
import subprocess
from dataclasses import dataclass

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    mb_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx plus socket errors
    cpu_us_per_request: float = float("nan")  # server CPU time per response: robust to noise


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    """Requests/sec, Transfer/sec, the 50%/99% latency lines and error counts of `wrk --latency`."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", output)
    mb = float(transfer.group(1)) * _BYTES[transfer.group(2)] / 1e6 if transfer else float("nan")
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket:
        errors += sum(int(g) for g in socket.groups())
    return WrkResult(rps, mb, _ms(p50.group(1)) if p50 else float("nan"),
                     _ms(p99.group(1)) if p99 else float("nan"), errors)  # fmt: skip


def run(binary: str, url: str, cpu: str, seconds: float, connections: int = 16,
        headers: dict[str, str] | None = None, threads: int = 1) -> WrkResult:  # fmt: skip
    """One wrk run with `threads` threads pinned to `cpu` (a core list, e.g. "1" or "0,1")."""
    argv = ["taskset", "-c", cpu, binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s",
            "--latency"]  # fmt: skip
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=seconds + 30, check=True
    )
    return parse(done.stdout)


def median_of(results: list[WrkResult]) -> WrkResult:
    """The run with the median requests/s (so its latencies belong to the same run)."""
    ordered = sorted(results, key=lambda r: r.requests_per_s)
    middle = ordered[len(ordered) // 2]
    return WrkResult(
        statistics.median(r.requests_per_s for r in results), middle.mb_per_s, middle.p50_ms,
        middle.p99_ms, sum(r.errors for r in results),
        statistics.median(r.cpu_us_per_request for r in results),
    )  # fmt: skip


@dataclass(frozen=True)
class Spread:
    """Interleaved runs of one target: the median run (its latencies), and the range."""

    median: WrkResult
    rps_min: float
    rps_max: float
    cpu_min: float
    cpu_max: float
    runs: int

    def as_dict(self) -> dict[str, float]:
        return {
            **self.median.__dict__, "rps_min": self.rps_min, "rps_max": self.rps_max,
            "cpu_min": self.cpu_min, "cpu_max": self.cpu_max, "runs": self.runs,
        }  # fmt: skip


def spread(results: list[WrkResult]) -> Spread:
    """min/median/max of requests/s and of server CPU per request over `results`."""
    rps = [r.requests_per_s for r in results]
    cpu = [r.cpu_us_per_request for r in results]
    return Spread(median_of(results), min(rps), max(rps), min(cpu), max(cpu), len(results))
