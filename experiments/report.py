"""The experiment report: per-second series, key figures, JSON and a short text summary.

Key figures, each computed from what viewers and edges actually saw:
    viewer_visible_errors  failed viewer requests (HTTP >= 400, transport errors, corrupt bodies)
    stalls                 times a real-time viewer's buffer ran dry, and for how long
    time_to_mark_down      fault → the edge reports the origin down (per edge, from its /healthz)
    time_to_recover        restore → the edge reports it up; traffic_back → its first fill again
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from experiments.observe import HealthEvent
from experiments.timeline import Applied
from experiments.viewers import Audience, Sample

OUTAGE_ACTIONS = frozenset(
    {"kill", "pause", "refuse", "drop", "pause-network", "delay", "truncate"}
)
RECOVERY_ACTIONS = frozenset({"restore", "resume", "heal"})


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def per_second(samples: Sequence[Sample], duration: float) -> list[dict[str, Any]]:
    """One row per second: request rate, errors by status, latency p50/p99, fills by origin."""
    buckets: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        buckets[int(sample.start)].append(sample)
    rows = []
    for second in range(int(math.ceil(duration))):
        group = buckets.get(second, [])
        latencies = [s.latency for s in group if not s.error]
        rows.append(
            {
                "t": second,
                "requests": len(group),
                "errors": sum(1 for s in group if s.error),
                "errors_by_status": dict(Counter(_status_label(s) for s in group if s.error)),
                "p50_ms": _ms(percentile(latencies, 50)),
                "p99_ms": _ms(percentile(latencies, 99)),
                "fills_by_origin": dict(
                    Counter(s.origin_region for s in group if s.cache == "Miss" and s.origin_region)
                ),
            }
        )
    return rows


def _status_label(sample: Sample) -> str:
    return str(sample.status) if sample.status else sample.error


def fault_figures(
    applied: Sequence[Applied], events: Sequence[HealthEvent], samples: Sequence[Sample]
) -> list[dict[str, Any]]:
    """Per fault: time until each edge marked the origin down, or up again and filling from it.

    Each fault's window ends where the next fault on the same target begins: a recovery that
    never happened before the next outage is "not observed", not credited to a later one.
    """
    figures = []
    for i, fault in enumerate(applied):
        kind, _, name = fault.target.partition(":")
        until = next((f.applied for f in applied[i + 1 :] if f.target == fault.target), math.inf)
        entry: dict[str, Any] = {**asdict(fault)}
        if kind == "origin" and fault.action in OUTAGE_ACTIONS:
            entry["time_to_mark_down"] = _first(events, name, "down", fault.applied, until)
        elif kind == "origin" and fault.action in RECOVERY_ACTIONS:
            entry["time_to_recover"] = _first(events, name, "up", fault.applied, until)
            back = [
                s.start
                for s in samples
                if fault.applied <= s.start < until
                and s.cache == "Miss"
                and s.origin_region == name
            ]
            entry["traffic_back"] = round(min(back) - fault.applied, 3) if back else None
        elif kind in ("edge", "shield") and fault.action in OUTAGE_ACTIONS:
            pop = name if kind == "edge" else "shield"
            # Who noticed: the observer's own /healthz poll, the steering service, the other POPs.
            entry["time_to_mark_down"] = {
                **{
                    "observer" if k == pop else k: v
                    for k, v in _first(events, "edge", "down", fault.applied, until, pop).items()
                },
                **_first(events, pop, "down", fault.applied, until),
            }
            failed = [
                s.start
                for s in samples
                if fault.applied <= s.start < until and s.error and s.pop == pop
            ]
            entry["viewer_errors_after"] = len(failed)
            if kind == "edge":
                entry["last_viewer_error"] = (
                    round(max(failed) - fault.applied, 3) if failed else None
                )
        elif kind in ("edge", "shield") and fault.action in RECOVERY_ACTIONS:
            pop = name if kind == "edge" else "shield"
            entry["time_to_recover"] = {
                **{
                    "observer" if k == pop else k: v
                    for k, v in _first(events, "edge", "up", fault.applied, until, pop).items()
                },
                **_first(events, pop, "up", fault.applied, until),
            }
            if kind == "edge":  # viewers never talk to a shield; its POPs' health says it is back
                back = [
                    s.start
                    for s in samples
                    if fault.applied <= s.start < until and not s.error and s.pop == pop
                ]
                entry["traffic_back"] = round(min(back) - fault.applied, 3) if back else None
        figures.append(entry)
    return figures


def _first(
    events: Sequence[HealthEvent],
    subject: str,
    state: str,
    after: float,
    until: float = math.inf,
    pop: str | None = None,
) -> dict[str, float]:
    """Seconds from `after` until each POP first reported `subject` in `state` (before `until`)."""
    found: dict[str, float] = {}
    for event in events:
        if pop is not None and event.pop != pop:
            continue
        if event.subject == subject and event.state == state and after - 0.05 <= event.at < until:
            found.setdefault(event.pop, round(max(0.0, event.at - after), 3))
    return found


def origin_requests(totals: dict[str, dict[str, int]], origins: Sequence[str]) -> dict[str, Any]:
    """Requests that reached each real origin, from every edge's counters (a shield's too)."""
    per_origin = {o: sum(edge.get(o, 0) for edge in totals.values()) for o in origins}
    return {"total": sum(per_origin.values()), "by_origin": per_origin, "by_edge": totals}


def build(
    scenario: dict[str, Any],
    audience: Audience,
    applied: Sequence[Applied],
    events: Sequence[HealthEvent],
    duration: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole report as plain JSON-able data."""
    samples = audience.samples
    errors = audience.errors
    ok_latencies = [s.latency for s in samples if not s.error]
    stall_seconds = sum(s.duration for s in audience.stalls)
    summary = {
        "requests": len(samples),
        "viewer_visible_errors": len(errors),
        "error_rate": round(len(errors) / len(samples), 5) if samples else None,
        "errors_by_status": dict(Counter(_status_label(s) for s in errors)),
        "latency_p50_ms": _ms(percentile(ok_latencies, 50)),
        "latency_p99_ms": _ms(percentile(ok_latencies, 99)),
        "stalls": len(audience.stalls),
        "stall_seconds": round(stall_seconds, 3),
        "viewers_with_stalls": len({s.viewer for s in audience.stalls}),
        "skipped_segments": audience.skipped_segments,
        "live_discontinuities": audience.discontinuities,
        "startup_p50_ms": _ms(percentile(audience.startup, 50)),
        "fills_by_origin": dict(
            Counter(s.origin_region for s in samples if s.cache == "Miss" and s.origin_region)
        ),
        "cache_results": dict(Counter(s.cache or "none" for s in samples)),
    }
    return {
        "scenario": scenario,
        "summary": summary,
        "faults": fault_figures(applied, events, samples),
        "health_events": [asdict(e) for e in events],
        "timeline": per_second(samples, duration),
        "stalls": [asdict(s) for s in audience.stalls],
        "errors": [asdict(s) for s in errors[:500]],
        **(extra or {}),
    }


def text(report: dict[str, Any]) -> str:
    """A short human summary: the key figures, then one line per fault."""
    s = report["summary"]
    name = report["scenario"].get("name", "?")
    lines = [
        f"experiment {name}: {s['requests']} viewer requests, "
        f"{s['viewer_visible_errors']} viewer-visible errors ({_pct(s['error_rate'])})",
        f"  latency p50 {s['latency_p50_ms']} ms, p99 {s['latency_p99_ms']} ms; "
        f"stalls {s['stalls']} ({s['stall_seconds']} s, {s['viewers_with_stalls']} viewers); "
        f"skipped segments {s['skipped_segments']}",
        f"  fills by origin {s['fills_by_origin']}; "
        f"errors by status {s['errors_by_status'] or '{}'}",
    ]
    if requests := report.get("origin_requests"):
        lines.append(
            f"  requests that reached the origins: {requests['total']} {requests['by_origin']}"
        )
    for fault in report["faults"]:
        line = (
            f"  t={fault['applied']:>6.2f}s {fault['action']:<13} {fault['target']:<18} "
            f"{fault['detail']}"
        )
        for key in ("time_to_mark_down", "time_to_recover", "traffic_back", "last_viewer_error"):
            if key in fault:
                line += f"\n{'':12}{key.replace('_', ' ')}: {_fmt(fault[key])}"
        lines.append(line)
    return "\n".join(lines)


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.2f}%"


def _fmt(value: Any) -> str:
    if value is None or value == {}:
        return "not observed"
    if isinstance(value, dict):
        return ", ".join(f"{pop} {seconds:.2f}s" for pop, seconds in value.items())
    return f"{value:.2f}s"


def write(report: dict[str, Any], out: Path) -> dict[str, Path]:
    """report.json and summary.txt in `out` (the PNG is drawn by experiments.plot)."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "report.json", "text": out / "summary.txt"}
    files["json"].write_text(json.dumps(report, indent=2))
    files["text"].write_text(text(report) + "\n")
    return files
