"""The four workloads, each run the same way against every cache."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import httpx

from bench import wrk
from bench.fixture import Origin
from bench.targets import Running
from loadtest import report
from loadtest.player import Pace, Target
from loadtest.run import Plan, run


def warm(running: Running, path: str, headers: dict[str, str] | None = None) -> None:
    """Fetch twice; the second response must be a hit, or the hit benchmark would lie."""
    for _ in range(2):
        response = httpx.get(running.url + path, headers=headers, timeout=30)
        response.raise_for_status()
    marker = response.headers.get(running.hit_header, "")
    if not marker.startswith(running.hit_value):
        raise SystemExit(
            f"bench: {running.name} did not cache {path} ({running.hit_header}: {marker!r})"
        )


def hit(
    binary: str, running: Running, path: str, cpu: str, seconds: float, runs: int,
    headers: dict[str, str] | None = None,
) -> wrk.WrkResult:  # fmt: skip
    """Median of `runs` wrk runs on one cached object, with the server's CPU time per request."""
    return wrk.median_of(interleaved(binary, [(running, headers)], path, cpu, seconds, runs)[0])


def interleaved(
    binary: str, targets: list[tuple[Running, dict[str, str] | None]], path: str, cpu: str,
    seconds: float, runs: int, threads: int = 1, connections: int = 16,
) -> list[list[wrk.WrkResult]]:  # fmt: skip
    """`runs` rounds of one wrk run per target in turn (A B A B ...), so a change in the
    machine's load during the rounds falls on every target alike; one result list per target."""
    for running, headers in targets:
        warm(running, path, headers)
    results: list[list[wrk.WrkResult]] = [[] for _ in targets]
    for _ in range(runs):
        for index, (running, headers) in enumerate(targets):
            before = cpu_seconds(running.child.pid)
            result = wrk.run(binary, running.url + path, cpu, seconds, connections, headers,
                             threads)  # fmt: skip
            used = cpu_seconds(running.child.pid) - before
            per_request = used / max(1.0, result.requests_per_s * seconds) * 1e6
            results[index].append(dataclasses.replace(result, cpu_us_per_request=per_request))
    return results


def flash_crowd(
    running: Running, origin: Origin, master: str, viewers: int, seconds: float
) -> dict[str, Any]:
    """`viewers` players start the same cold video at once; origin requests per object."""
    before = origin.counts()
    ours = running.name.startswith("ours")  # its /metrics counts origin fetches too
    plan = Plan(
        targets=(Target(running.url + master, {}),), viewers=viewers, duration=seconds,
        pace=Pace(realtime=False), rendition="abr", timeout=30.0,
        metrics=(running.url,) if ours else (),
    )  # fmt: skip
    outcome = run(plan)
    summary = report.summarize(plan, outcome)
    after = origin.counts()
    objects = outcome.snapshot["objects"]
    per_object = [after.get(p, 0) - before.get(p, 0) for p in objects]
    # The edge's own count from its /metrics (a POP's workers summed), beside the proxy's.
    fetched = summary["origin_requests"]["edge_fetches"]
    edge_count = {"edge_origin_fetches": int(sum(fetched.values()))} if fetched else {}
    return {
        "viewers": viewers,
        "objects": len(objects),
        "origin_requests": sum(per_object),
        "max_per_object": max(per_object, default=0),
        "min_per_object": min(per_object, default=0),
        "requests": summary["requests"],
        "errors": summary["errors"],
        "first_segment_p99_ms": summary["viewers"]["startup_ms"].get("p99"),
        "segment_p99_ms": summary["latency_ms"].get("segment", {}).get("p99"),
        **edge_count,
    }


def mixed(running: Running, master: str, viewers: int, seconds: float) -> dict[str, Any]:
    """Players with ABR looping over a warm video as fast as they can: a realistic request mix."""
    plan = Plan(
        targets=(Target(running.url + master, {}),), viewers=viewers, duration=seconds,
        pace=Pace(realtime=False), rendition="abr", timeout=30.0,
    )  # fmt: skip
    summary = report.summarize(plan, run(plan))
    return {
        "viewers": viewers,
        "requests_per_s": summary["requests_per_s"],
        "mb_per_s": summary["mb_per_s"],
        "errors": summary["errors"],
        "hit_ratio": summary["hit_ratio"],
        "p99_ms": {k: v.get("p99") for k, v in summary["latency_ms"].items()},
    }


def _group(pid: int) -> list[Path]:
    """/proc/<pid> of every process in the process group led by `pid`."""
    return [proc for proc, _ in _group_with_parents(pid)]


def _group_with_parents(pid: int) -> list[tuple[Path, int]]:
    """(/proc/<pid>, parent pid) of every process in the process group led by `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pid:  # fields: state, ppid, pgrp, ...
                found.append((stat.parent, int(fields[1])))
        except (OSError, IndexError, ValueError):
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process group (all threads, all forked workers)."""
    total = 0
    for proc in _group(pid):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _rss_kb(proc: Path) -> int:
    try:
        status = (proc / "status").read_text()
    except OSError:
        return 0  # exited between listing and reading
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rss_mb(pid: int) -> float:
    """Resident memory of a process and every process in its group (Varnish forks a child)."""
    return round(sum(_rss_kb(proc) for proc in _group(pid)) / 1024, 1)


def rss_by_worker(pid: int) -> tuple[dict[int, float], float]:
    """({worker pid: RSS MB}, the parent's RSS MB) of our edge started as the group leader
    `pid`: with `--workers N` the workers are its forked children and the parent serves
    nothing; with one worker the leader itself serves (and the parent figure is 0)."""
    group = _group_with_parents(pid)
    children = {int(proc.name): _rss_kb(proc) for proc, parent in group if parent == pid}
    if not children:
        return {pid: round(_rss_kb(Path(f"/proc/{pid}")) / 1024, 1)}, 0.0
    parent = _rss_kb(Path(f"/proc/{pid}"))
    return {p: round(kb / 1024, 1) for p, kb in children.items()}, round(parent / 1024, 1)
