"""The end-of-run report: figures computed once into a JSON-able dict, then shown as tables
and, optionally, drawn as a PNG timeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadtest import metrics
from loadtest.run import Outcome, Plan
from loadtest.stats import distribution_ms
from streaming.hls import is_part

Report = dict[str, Any]


def summarize(plan: Plan, outcome: Outcome) -> Report:
    """Throughput, latency per object kind, errors, cache results, origin load and viewer QoE."""
    snap, wall = outcome.snapshot, max(outcome.wall, 1e-9)
    requests = sum(snap["status"].values())
    total_bytes = sum(snap["bytes"].values())
    hits = sum(n for r, n in snap["x_cache"].items() if r in ("Hit", "RefreshHit"))
    marked = sum(snap["x_cache"].values())
    unique = len(snap["objects"])
    fills = snap["fills"]
    edges = {t.edge for t in plan.targets}
    edge_fetches = metrics.grown(outcome.before, outcome.after, metrics.ORIGIN_FETCH_SERIES)
    origin_served = metrics.grown(outcome.before, outcome.after, metrics.ORIGIN_SERVED_SERIES)
    played, stalled = snap["played"], snap["stall_time"]
    realtime = plan.pace.realtime  # rebuffering only means something at player pace
    return {
        "plan": {
            "targets": [t.url for t in plan.targets], "viewers": plan.viewers,
            "duration_s": plan.duration, "max_requests": plan.max_requests,
            "ramp_up_s": plan.ramp_up, "mode": "realtime" if plan.pace.realtime else "stress",
            "rendition": plan.rendition,
        },
        "wall_s": round(wall, 3),
        "requests": requests,
        "requests_per_s": round(requests / wall, 1),
        "bytes": total_bytes,
        "mb_per_s": round(total_bytes / wall / 1e6, 2),
        "latency_ms": {k: distribution_ms(v) for k, v in sorted(snap["latency"].items())},
        "ttfb_ms": {k: distribution_ms(v) for k, v in sorted(snap["ttfb"].items())},
        "status": dict(sorted(snap["status"].items())),
        "errors": sum(n for s, n in snap["status"].items() if not s.startswith(("2", "3"))),
        "failures": dict(sorted(snap["failures"].items(), key=lambda kv: -kv[1])),
        "x_cache": dict(sorted(snap["x_cache"].items())),
        "hit_ratio": round(hits / marked, 4) if marked else None,
        "objects": {
            "unique": unique,
            # Misses seen by viewers, per object and edge: 1.0 means each edge filled it once.
            "misses_per_object_per_edge": (
                round(sum(fills.values()) / (unique * len(edges)), 3) if unique else None
            ),
            "max_misses_for_one_object": max(fills.values(), default=0),
        },
        "origin_requests": {
            "edge_fetches": edge_fetches, "origin_served": origin_served,
            "edge_fetches_per_object_per_edge": (
                round(sum(edge_fetches.values()) / (unique * len(edge_fetches)), 3)
                if edge_fetches and unique else None
            ),
        },
        "viewers": {
            "sessions": snap["sessions"],
            "startup_ms": distribution_ms(snap["startup"]),
            "rebuffer_events": snap["stalls"] if realtime else None,
            "rebuffer_s": round(stalled, 3) if realtime else None,
            "rebuffer_ratio": (
                round(stalled / (played + stalled), 5) if realtime and played + stalled else None
            ),
            "rendition_switches": snap["switches"],
        },
        "low_latency": low_latency(snap, len(edges)),
        "timeline": [
            {"t": int(t), "requests": b[0], "bytes": b[1], "errors": b[2],
             "mean_latency_ms": round(b[3] / b[0] * 1000, 2) if b[0] else None}
            for t, b in sorted(snap["seconds"].items(), key=lambda kv: int(kv[0]))
        ],
    }  # fmt: skip


def low_latency(snap: dict[str, Any], edges: int) -> Report | None:
    """LL-HLS figures, None when no viewer played parts: latency to the live edge (a part's
    arrival minus its PROGRAM-DATE-TIME) and the origin requests per part per edge (responses
    marked Miss: a viewer collapsed onto another's fetch, in this worker or a sibling, sees Hit)."""
    parts = [p for p in snap["objects"] if is_part(p)]
    if not parts:
        return None
    misses: dict[str, int] = {}
    for key, n in snap["fills"].items():
        _, _, path = key.partition(" ")
        if is_part(path):
            misses[key] = n
    return {
        "live_latency_ms": distribution_ms(snap.get("live_latency", [])),
        "parts": len(parts),
        "origin_requests_per_part_per_edge": round(sum(misses.values()) / (len(parts) * edges), 3),
        "max_origin_requests_for_one_part": max(misses.values(), default=0),
    }


def _ms(d: dict[str, float], key: str) -> str:
    return f"{d[key]:.1f}" if key in d else "-"


def render_low_latency(report: Report, head: Table) -> None:
    """The LL-HLS rows, when viewers played parts."""
    if (ll := report.get("low_latency")) is None:
        return
    latency = ll["live_latency_ms"]
    head.add_row(
        "LL-HLS latency to live edge ms",
        f"p50 {_ms(latency, 'p50')}  p95 {_ms(latency, 'p95')}  max {_ms(latency, 'max')}",
    )
    head.add_row(
        "LL-HLS origin requests/part/edge",
        f"{ll['origin_requests_per_part_per_edge']} over {ll['parts']} parts "
        f"(max {ll['max_origin_requests_for_one_part']})",
    )


def render(report: Report, console: Console) -> None:
    """The report as rich tables."""
    head = Table(title="load test", show_header=False)
    head.add_row("targets", "\n".join(report["plan"]["targets"]))
    head.add_row("viewers / mode", f"{report['plan']['viewers']} / {report['plan']['mode']}")
    head.add_row("wall time", f"{report['wall_s']:.1f} s")
    head.add_row("requests", f"{report['requests']} ({report['requests_per_s']:.1f} req/s)")
    head.add_row("throughput", f"{report['mb_per_s']:.2f} MB/s")
    head.add_row(
        "errors",
        f"{report['errors']}  " + " ".join(f"{s}:{n}" for s, n in report["status"].items()),
    )
    if report["failures"]:
        head.add_row("failures", " ".join(f"{k}:{n}" for k, n in report["failures"].items()))
    ratio = report["hit_ratio"]
    head.add_row("X-Cache", " ".join(f"{r}:{n}" for r, n in report["x_cache"].items()) +
                 (f"  (hit ratio {ratio:.1%})" if ratio is not None else ""))  # fmt: skip
    objects, origin = report["objects"], report["origin_requests"]
    head.add_row(
        "objects",
        f"{objects['unique']} unique, misses/object/edge "
        f"{objects['misses_per_object_per_edge']}, max {objects['max_misses_for_one_object']}",
    )
    if origin["edge_fetches"] or origin["origin_served"]:
        parts = [
            f"{base}: {n:.0f}"
            for base, n in {**origin["edge_fetches"], **origin["origin_served"]}.items()
        ]
        head.add_row("origin requests", "\n".join(parts))
        if origin["edge_fetches_per_object_per_edge"] is not None:
            head.add_row(
                "edge fetches/object/edge", str(origin["edge_fetches_per_object_per_edge"])
            )
    viewers = report["viewers"]
    if viewers["sessions"]:
        startup = viewers["startup_ms"]
        head.add_row("sessions", str(viewers["sessions"]))
        head.add_row(
            "startup ms",
            f"p50 {_ms(startup, 'p50')}  p95 {_ms(startup, 'p95')}  p99 {_ms(startup, 'p99')}",
        )
        if viewers["rebuffer_events"] is not None:
            head.add_row(
                "rebuffering",
                f"{viewers['rebuffer_events']} events, {viewers['rebuffer_s']:.2f} s, "
                f"ratio {viewers['rebuffer_ratio']}",
            )
    render_low_latency(report, head)
    console.print(head)
    kinds = Table(title="latency per object kind (ms, successful requests)")
    for column in ("kind", "count", "p50", "p95", "p99", "max", "ttfb p50"):
        kinds.add_column(column, justify="right" if column != "kind" else "left")
    for kind, d in report["latency_ms"].items():
        ttfb = report["ttfb_ms"].get(kind, {})
        kinds.add_row(
            kind,
            str(d["count"]),
            _ms(d, "p50"),
            _ms(d, "p95"),
            _ms(d, "p99"),
            _ms(d, "max"),
            _ms(ttfb, "p50"),
        )
    console.print(kinds)


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


def plot(report: Report, path: Path) -> None:
    """A PNG with requests/s, MB/s, errors/s and mean latency per second of the run."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    timeline = report["timeline"]
    t = [p["t"] for p in timeline]
    fig, axes = plt.subplots(4, 1, figsize=(9, 9), sharex=True)
    series = (
        ("requests/s", [p["requests"] for p in timeline]),
        ("MB/s", [p["bytes"] / 1e6 for p in timeline]),
        ("errors/s", [p["errors"] for p in timeline]),
        ("mean latency ms", [p["mean_latency_ms"] or 0 for p in timeline]),
    )
    for ax, (label, values) in zip(axes, series, strict=True):
        ax.plot(t, values)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("seconds since start")
    fig.suptitle(f"{report['plan']['viewers']} viewers, {report['plan']['mode']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
