"""`streaming loadtest`: wire targets, credentials and the plan, show progress, print the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.live import Live

from loadtest import report as report_module
from loadtest.abr import parse_rendition
from loadtest.credentials import headers_for, signer_for
from loadtest.diagnosis import diagnose
from loadtest.player import Pace, Target
from loadtest.run import Plan, Progress, run
from loadtest.targets import base_url, check_targets
from streaming.errors import ConfigError
from streaming.viewer_access import signer_from_state

console = Console()


def read_state(state_path: Path) -> dict[str, Any]:
    """The state file `streaming demo` writes."""
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--demo: cannot read a demo state from {state_path} ({exc})") from None
    if not isinstance(state, dict):
        raise ConfigError(f"--demo: {state_path} is not a demo state")
    return state


def demo_targets(state: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Master URLs on every edge and the /metrics bases of every server of a running demo."""
    try:
        edges = [e["url"] for e in state["edges"]]
        # /metrics on each edge's plain-HTTP listener (a demo over HTTPS names it `http_url`).
        plain = [e.get("http_url", e["url"]) for e in state["edges"]]
        origins = [o["url"] for o in state["origins"]]
        master = state["videos"][0]["master_path"]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"--demo: the demo state lacks its edges or video ({exc})") from None
    return [f"{edge}{master}" for edge in edges], plain + origins


def trusted_ca(cacert: Path | None, state: dict[str, Any] | None) -> str:
    """The CA file HTTPS targets are verified against: --cacert, else the demo's, else none
    (the system's CAs)."""
    if cacert is None and state is not None and state.get("ca_file"):
        cacert = Path(state["ca_file"])
    if cacert is None:
        return ""
    if not cacert.is_file():
        raise ConfigError(f"--cacert: no such CA file {cacert}")
    return str(cacert)


def _line(p: Progress) -> str:
    elapsed = max(p["elapsed"], 1e-9)
    return (
        f"{p['elapsed']:6.1f}s  viewers {p['active']:.0f}  requests {p['requests']:.0f} "
        f"({p['requests'] / elapsed:.0f}/s)  {p['bytes'] / elapsed / 1e6:.1f} MB/s  "
        f"hits {p['hits']:.0f}  errors {p['errors']:.0f}"
    )


def run_loadtest(
    urls: list[str], demo: Path | None, viewers: int, duration: float, max_requests: int | None,
    ramp_up: float, mode: str, rendition: str, buffer_goal: float, timeout: float, workers: int,
    cookie: str | None, sign_key: Path | None, key_pair_id: str | None, allow_remote: bool,
    metrics_urls: list[str], json_path: Path | None, plot_path: Path | None,
    cacert: Path | None = None,
) -> dict[str, object]:  # fmt: skip
    """Run the load test described by the CLI options and print its report."""
    scraped = list(metrics_urls)
    signer = signer_for(sign_key, key_pair_id)
    state = None
    if demo is not None:
        state = read_state(demo)
        demo_urls, demo_metrics = demo_targets(state)
        urls = list(urls) + demo_urls
        scraped += demo_metrics
        if signer is None and cookie is None:
            # Private demo content: viewers sign in with the demo's key, as the portal's login.
            signer = signer_from_state(state)
    checked = check_targets(urls, allow_remote)
    if mode not in ("realtime", "stress"):
        raise ConfigError(f"--mode: expected realtime or stress, not {mode!r}")
    if scraped:
        check_targets([f"{u}/metrics" for u in scraped], allow_remote)
    lifetime = duration + 3600
    targets = tuple(Target(u, headers_for(u, cookie, signer, lifetime)) for u in checked)
    plan = Plan(
        targets=targets, viewers=viewers, duration=duration, max_requests=max_requests,
        ramp_up=ramp_up, pace=Pace(realtime=mode == "realtime", buffer_goal=buffer_goal),
        rendition=parse_rendition(rendition), timeout=timeout,
        metrics=tuple(dict.fromkeys(scraped or [base_url(u) for u in checked])),
        ca_file=trusted_ca(cacert, state),
    )  # fmt: skip
    with Live(console=console, refresh_per_second=4, transient=True) as live:
        outcome = run(plan, workers, lambda p: live.update(_line(p)))
    report = report_module.summarize(plan, outcome)
    report_module.render(report, console)
    if json_path is not None:
        report_module.write_json(report, json_path)
        console.print(f"JSON report: {json_path}")
    if plot_path is not None:
        report_module.plot(report, plot_path)
        console.print(f"plot: {plot_path}")
    if (why := diagnose(report)) is not None:
        # One unwrapped line, so a terminal, CI log or grep sees the whole cause.
        console.print(f"load test failed: {why}", soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(1)
    return report
