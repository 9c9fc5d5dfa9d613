"""The PNG timeline of a report: load, errors, latency, fills by origin, health, fault moments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt  # noqa: E402

STATE_COLORS = {"up": "tab:green", "half-open": "tab:orange", "down": "tab:red"}


def draw(report: dict[str, Any], path: Path) -> Path:
    """Four stacked panels sharing the time axis, a dashed line at every fault."""
    rows = report["timeline"]
    t = [r["t"] + 0.5 for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(11, 10), sharex=True, height_ratios=[2, 2, 2, 1.4])
    load, latency, fills, health = axes

    load.plot(t, [r["requests"] for r in rows], color="tab:blue", label="requests/s")
    load.bar(
        t, [r["errors"] for r in rows], width=0.9, color="tab:red", alpha=0.7, label="errors/s"
    )
    for stall in report["stalls"]:
        load.axvspan(
            stall["start"], stall["start"] + stall["duration"], color="tab:purple", alpha=0.08
        )
    load.set_ylabel("viewer requests")
    load.legend(loc="upper right", fontsize=8)

    for key, style in (("p50_ms", ".-"), ("p99_ms", "x--")):
        latency.plot(
            t, [r[key] if r[key] is not None else float("nan") for r in rows], style, label=key
        )
    latency.set_yscale("log")
    latency.set_ylabel("latency (ms)")
    latency.legend(loc="upper right", fontsize=8)

    regions = sorted({region for r in rows for region in r["fills_by_origin"]})
    bottom = [0] * len(rows)
    for region in regions:
        counts = [r["fills_by_origin"].get(region, 0) for r in rows]
        fills.bar(t, counts, width=0.9, bottom=bottom, label=region)
        bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
    fills.set_ylabel("edge fills by origin")
    if regions:
        fills.legend(loc="upper right", fontsize=8)

    lanes = sorted({(e["pop"], e["subject"]) for e in report["health_events"]})
    for y, (pop, subject) in enumerate(lanes):
        for event in (
            e for e in report["health_events"] if (e["pop"], e["subject"]) == (pop, subject)
        ):
            health.scatter(
                event["at"], y, color=STATE_COLORS.get(event["state"], "gray"), s=30, zorder=3
            )
    health.set_yticks(range(len(lanes)), [f"{pop}→{subject}" for pop, subject in lanes], fontsize=7)
    health.set_ylim(-0.8, max(1, len(lanes)) - 0.2)
    health.set_ylabel("health events")
    health.set_xlabel("seconds since the viewers started")

    for fault in report["faults"]:
        for ax in axes:
            ax.axvline(fault["applied"], color="black", linestyle=":", linewidth=1)
        load.annotate(
            f"{fault['action']} {fault['target']}",
            (fault["applied"], 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
        )
    summary = report["summary"]
    fig.suptitle(
        f"{report['scenario'].get('name', '')}: "
        f"{summary['viewer_visible_errors']} viewer-visible errors, "
        f"{summary['stalls']} stalls, p99 {summary['latency_p99_ms']} ms",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
