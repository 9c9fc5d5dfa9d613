"""`streaming experiment SCENARIO`: a failover experiment from topology to report.

Loads the scenario (a file or a shipped name), applies the command's overrides and hands it to
`experiments.runner`: its own topology (origins behind fault proxies, edges, an optional shield
and steering) or, with `--state`, a running `streaming demo` (process faults only). Then writes
report.json, summary.txt and timeline.png.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rich.console import Console

from experiments import plot, report, runner
from experiments.scenario import load

console = Console()


def run_experiment(name: str, out: Path | None, state: Path | None, viewers: int | None) -> Path:
    """Load the scenario, run it, write the report files; returns the report directory."""
    scenario = load(name)
    if viewers is not None:
        scenario = scenario.model_copy(
            update={"viewers": scenario.viewers.model_copy(update={"count": viewers})}
        )
    out = out or Path(".experiments") / f"{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"experiment [bold]{scenario.name}[/]: {scenario.description}")
    if state is not None:
        result = asyncio.run(runner.against_demo(scenario, state, out))
    else:
        result = asyncio.run(runner.with_topology(scenario, out))
    files = report.write(result, out)
    png = plot.draw(result, out / "timeline.png")
    console.print(report.text(result), highlight=False)
    console.print(f"\nreport: {files['json']}  summary: {files['text']}  plot: {png}")
    return out
