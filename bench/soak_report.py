"""The `## Edge soak` section of docs/performance.md, from the figures `bench.soak` measured."""

from __future__ import annotations

from typing import Any

from bench.soak import HEADROOM_MB

COLUMNS = ("start MB", "max MB", "end MB", "second half min / median / max MB",
           "slope, second half MB/min", "slope, whole run MB/min")  # fmt: skip


def _row(label: str, f: dict[str, Any]) -> str:
    late = f["second_half_min_median_max_mb"]
    spread = " / ".join(str(v) for v in late) if late else "–"
    return (
        f"| {label} | {f['start_mb']} | {f['max_mb']} | {f['end_mb']} | {spread} | "
        f"**{f['slope_mb_per_min_second_half']}** | {f['slope_mb_per_min_all']} |"
    )


def _cache(s: dict[str, Any]) -> tuple[str, float]:
    """(what the tiers held at the end, the disk tier's bytes: the working set the viewers
    fetched, as long as the disk tier evicted nothing)."""
    c = s["edge_cache"]

    def disk(measure: str, tier_label: str) -> float:  # a POP publishes the shared disk apart
        return float(c.get(f"edge_cache_disk{{{measure}}}", c.get(tier_label, 0.0)))

    on_disk = disk("bytes", "edge_cache_bytes{disk}")
    text = (
        f"memory tiers {c.get('edge_cache_objects{memory}', 0):.0f} objects, "
        f"{c.get('edge_cache_bytes{memory}', 0.0) / 1e6:.1f} MB (summed over the workers), "
        f"{c.get('edge_cache_evictions_total{memory}', 0):,.0f} memory evictions; disk tier "
        f"{disk('objects', 'edge_cache_objects{disk}'):.0f} objects, {on_disk / 1e6:.1f} MB, "
        f"{c.get('edge_cache_evictions_total{disk}', 0):,.0f} evictions"
    )
    return text, on_disk


def section(results: dict[str, Any]) -> list[str]:
    """Markdown lines: the command, date and load, the RSS table per worker and the verdicts."""
    s, env = results["soak"], results["environment"]
    cache, working_set = _cache(s)
    workers = s["per_worker"]
    lines = [
        "## Edge soak",
        "",
        f"Measured {env['date']} on {env['cpus']} cores ({env['cpu']}) by `{env['command']}`; "
        f"load average before/after: {env['load_before']} / {env['load_after']} (a shared "
        "machine).",
        f"{s['viewers']} real-time ABR viewers spread over {s['videos']} videos of "
        f"{s['video_seconds']} s (720p source, the origin's ladder) for {s['seconds']:.0f} s "
        f"against our edge ({s['server']}, `--workers {s['workers']}` on cores {s['cores']}, "
        f"memory tier {s['tier_mib']:g} MiB per worker). The viewers fetched "
        f"{working_set / 1e6:.1f} MB of distinct objects (the disk tier at the end), more than "
        "a worker's memory tier holds, so its LRU evicts and refills throughout. RSS of each "
        f"worker process sampled every {s['every_s']:g} s:",
        "",
        "| RSS | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
        *[_row(f"worker (pid {pid})", f) for pid, f in workers.items()],
        _row(f"sum of the {len(workers)} workers", s["sum"]),
        _row("largest worker at each sample", s["max"]),
        "",
        f"- RSS per worker ≤ memory tier + {HEADROOM_MB} MB ({s['bound_mb']:g} MB): "
        f"{'met' if s['within_bound'] else 'NOT met'} (largest worker {s['max']['max_mb']} MB).",
        f"- Slope over the second half: worst worker **{s['slope_worst_mb_per_min']} MB/min**, "
        f"the sum {s['sum']['slope_mb_per_min_second_half']} MB/min. The parent process "
        f"(forks and restarts the workers, serves nothing): at most {s['parent_max_mb']} MB.",
        f"- {s['requests']:,} requests ({s['bytes'] / 1e9:.1f} GB) for {s['unique_objects']} "
        f"objects, {s['errors']} errors, hit ratio {s['hit_ratio']}, rebuffer ratio "
        f"{s['rebuffer_ratio']}, startup p95 {s['startup_p95_ms']} ms. At the end: {cache}.",
    ]
    if s["workers_seen"] > s["workers"]:
        lines.append(
            f"- {s['workers_seen']} worker pids for {s['workers']} workers: a worker was "
            "restarted during the run (its rows start late)."
        )
    return lines
